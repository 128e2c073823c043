// Rate limiting of repeated log lines. One connection that sends 20,000
// requests before hello would otherwise write 20,000 lines in two
// seconds; what the operator needs is the first few and a count. A
// LineBudget allows LOG_BURST lines per LOG_WINDOW_S seconds and counts
// the rest; its owner asks for the summary line when a later line comes
// after the window, at a timer, or when the connection closes. Pure: the
// time comes from the caller.

/** Lines of one kind logged per window before the rest are only counted. */
export const LOG_BURST = 5;
/** Length of a window, seconds. */
export const LOG_WINDOW_S = 10;

export interface Suppressed {
  count: number;
  /** Seconds the suppressed lines were spread over, rounded up (1..LOG_WINDOW_S). */
  seconds: number;
}

export class LineBudget {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(private readonly burst: number = LOG_BURST, private readonly window: number = LOG_WINDOW_S) {}

  /** Whether a line may be written now; if not, it is counted. Call summary() first. */
  take(now: number): boolean {
    if (now - this.windowStart >= this.window) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used < this.burst) {
      this.used++;
      return true;
    }
    this.suppressed++;
    return false;
  }

  /**
   * The lines suppressed so far, once their window is over (or at once
   * with `final`, when nothing more will come), and resets the count.
   */
  summary(now: number, final = false): Suppressed | undefined {
    if (this.suppressed === 0) return undefined;
    const elapsed = now - this.windowStart;
    if (!final && elapsed < this.window) return undefined;
    const count = this.suppressed;
    this.suppressed = 0;
    return { count, seconds: Math.min(this.window, Math.max(1, Math.ceil(elapsed))) };
  }
}

/** The summary line's text, e.g. "… 19,874 more like this suppressed in the last 10 s". */
export function suppressedText(s: Suppressed): string {
  return `… ${String(s.count).replace(/\B(?=(\d{3})+$)/g, ',')} more like this suppressed in the last ${s.seconds} s`;
}
