// Seeded pseudo-random numbers for randomized tests, so that a failing
// seed reproduces. A 32-bit linear congruential generator whose output is
// mixed once more by a xor-shift step; plenty for shuffling test inputs.

const MULTIPLIER = 1664525;
const INCREMENT = 1013904223;

/** Returns a function yielding floats in [0, 1), determined by seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, MULTIPLIER) + INCREMENT) >>> 0;
    let x = state ^ (state >>> 16);
    x = Math.imul(x, 0x45d9f3b) >>> 0;
    x ^= x >>> 16;
    return (x >>> 0) / 4294967296;
  };
}
