// Event-loop lag for the metrics endpoint: how late a timer fires, read
// with performance.now() (sub-microsecond resolution), once a second.
//
// Node's monitorEventLoopDelay samples with a timer of its own every
// `resolution` ms and cannot tell delays below that apart: at its 10 ms
// it reported 10 ms of "lag" for an idle server, and at 1 ms it would
// wake the process a thousand times a second. One probe a second costs
// one wake-up a second while idle (the documented rate), and a stall of
// the loop shows as the lateness of the probe that falls inside it: a
// stall of length L is caught with probability about L / 1 s, and every
// stall of a second or more is caught. Observations go into a histogram
// kept since start, as Prometheus expects (rate() and
// histogram_quantile() over the buckets), plus the largest lateness since
// the previous scrape.

/** Upper bounds (seconds) of the lag buckets; +Inf is implied. The first ones are below 1 ms. */
export const LAG_BUCKETS: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
/** How often the probe fires, ms: the only periodic wake-up metrics add to an idle pafd. */
export const LAG_PROBE_INTERVAL_MS = 1000;

/** A Prometheus-style histogram: per-bucket counts (the last one is +Inf), sum and count. */
export class LagHistogram {
  readonly buckets = new Array<number>(LAG_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;
  /** The largest observation since takeMax() was last called. */
  private max = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LAG_BUCKETS.length && seconds > LAG_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
    if (seconds > this.max) this.max = seconds;
  }

  /** The largest lag since the previous call (a scrape), and start over. */
  takeMax(): number {
    const m = this.max;
    this.max = 0;
    return m;
  }
}

/** What the probe needs from the runtime; replaced in tests. */
export interface ProbeClock {
  now(): number;
  schedule(fn: () => void, ms: number): { unref?: () => unknown };
  cancel(handle: unknown): void;
}

const nodeClock: ProbeClock = {
  now: () => performance.now(),
  schedule: (fn, ms) => setTimeout(fn, ms),
  cancel: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class LagProbe {
  readonly histogram = new LagHistogram();
  private handle: { unref?: () => unknown } | undefined = undefined;
  private due = 0;

  constructor(private readonly clock: ProbeClock = nodeClock, private readonly intervalMs = LAG_PROBE_INTERVAL_MS) {}

  start(): void {
    if (this.handle === undefined) this.arm();
  }

  stop(): void {
    if (this.handle !== undefined) this.clock.cancel(this.handle);
    this.handle = undefined;
  }

  private arm(): void {
    this.due = this.clock.now() + this.intervalMs;
    const handle = this.clock.schedule(() => this.fired(), this.intervalMs);
    // The probe alone never keeps pafd running.
    handle.unref?.();
    this.handle = handle;
  }

  private fired(): void {
    // A timer never fires early by more than the clock's rounding; count that as no lag.
    this.histogram.observe(Math.max(0, this.clock.now() - this.due) / 1000);
    this.arm();
  }
}
