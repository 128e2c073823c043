// Summaries of latency samples. Pure.

/**
 * The p-th percentile (0 < p ≤ 100) by the nearest-rank method: the
 * smallest sample with at least p % of the samples at or below it.
 * NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Shortest duration counted, so a figure stays finite (JSON has no Infinity). */
const MIN_DURATION_MS = 1e-6;

/** Operations per second for `operations` done in `ms` milliseconds. */
export function opsPerSecond(operations: number, ms: number): number {
  return (operations * 1000) / Math.max(ms, MIN_DURATION_MS);
}
