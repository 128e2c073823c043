// Run settings shared by the property-based tests (test/unit/prop-*): a
// fixed seed so that CI is deterministic; PAF_PROP_SEED replays a reported
// failure or explores another seed, and the long form of the reliability
// run (PAF_RELIABILITY_LONG=1) runs ten times the cases.

const DEFAULT_SEED = 0x5eed;
const SEED = process.env.PAF_PROP_SEED ? Number.parseInt(process.env.PAF_PROP_SEED, 10) : DEFAULT_SEED;
const LONG_FORM_FACTOR = 10;
const SCALE = process.env.PAF_RELIABILITY_LONG === '1' ? LONG_FORM_FACTOR : 1;

/** fast-check parameters for a property checked on `numRuns` cases in the short form. */
export function runs(numRuns: number): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns: numRuns * SCALE };
}
