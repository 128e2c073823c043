// Issuing many requests without waiting for each reply. Two shapes: the
// original pafbench's batches (send up to N, wait for all, repeat) and a
// sliding window (keep N outstanding, start the next as each one ends),
// which is what a throughput figure needs.

/** At most this many transactions outstanding on one connection, as in the original pafbench. */
export const MAX_OUTSTANDING = 1024;

/**
 * Runs op(0) … op(count−1) in batches of at most `batch`: each batch is
 * sent at once and waited for before the next starts.
 */
export async function inBatches(count: number, batch: number, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const end = Math.min(count, start + batch);
    const pending: Promise<unknown>[] = [];
    for (let i = start; i < end; i++) pending.push(op(i));
    await Promise.all(pending);
  }
}

/**
 * Runs op(0) … op(count−1) keeping `window` of them outstanding; resolves
 * when all are done, rejects at the first failure (the rest still run).
 */
export function windowed(count: number, window: number, op: (i: number) => Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (count === 0) { resolve(); return; }
    let next = 0;
    let done = 0;
    let failed = false;
    const start = (): void => {
      const i = next++;
      op(i).then(() => {
        if (++done === count) resolve();
        else if (next < count && !failed) start();
      }, (err: unknown) => {
        if (!failed) { failed = true; reject(err); }
      });
    };
    const initial = Math.min(window, count);
    for (let k = 0; k < initial; k++) start();
  });
}

/** Milliseconds since an earlier performance.now(). */
export function elapsedMs(startMs: number): number {
  return performance.now() - startMs;
}
