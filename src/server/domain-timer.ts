// The single event-loop timer of a domain: armed for the earliest deadline
// of the domain's queues (handshakes, idle limits, orphan TTLs), on 20 ms
// slots, and never for longer than the platform can wait. A deadline
// beyond that (an orphan with a TTL of weeks) is reached in steps: the
// timer wakes once every ~24.8 days, finds nothing due and re-arms.

import type { Clock } from '../core/clock';

/**
 * The domain timer fires on slots of this many milliseconds (of the
 * monotonic clock), never earlier than the deadline it serves. With
 * 20,000 tracking clients a deadline falls due about every millisecond;
 * firing per deadline woke the process 1,300 times a second for two
 * track queries each. On 20 ms slots one wake-up handles every deadline
 * of the slot. Being up to 20 ms late is far inside the liveness windows
 * (multiples of 0.05 · max_idle ≥ 50 ms) and the orphan TTLs (seconds).
 */
export const TIMER_SLOT_MS = 20;
/** Timer slack: setTimeout has millisecond granularity. */
const TIMER_SLACK_MS = 1;
/**
 * The longest delay setTimeout takes (2^31−1 ms, about 24.8 days). Node
 * turns a longer one into 1 ms with a TimeoutOverflowWarning, so a far
 * deadline armed directly would make the timer fire in a loop.
 */
export const MAX_TIMER_MS = 0x7fffffff;

/** Where the timer is armed: Node's timers, or a fake in unit tests. */
export interface TimerHost {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const nodeTimers: TimerHost = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class DomainTimer {
  private handle: unknown = undefined;
  /** The slot (monotonic seconds) the armed timer serves; Infinity when none is armed. */
  private slot = Infinity;

  constructor(
    private readonly clock: Clock,
    /** Earliest deadline of the domain's queues (monotonic seconds, Infinity = none). */
    private readonly nextDeadline: () => number,
    /** Handles every deadline that has passed. */
    private readonly fire: () => void,
    private readonly host: TimerHost = nodeTimers,
  ) {}

  /** Arms the timer for the earliest deadline, if that is sooner than what is armed. */
  reschedule(): void {
    const next = this.nextDeadline();
    if (next === Infinity) return;
    const slot = (Math.ceil((next * 1000 + TIMER_SLACK_MS) / TIMER_SLOT_MS) * TIMER_SLOT_MS) / 1000;
    if (slot >= this.slot) return;
    if (this.handle !== undefined) this.host.clear(this.handle);
    this.slot = slot;
    // A step short of a far slot wakes up early, finds nothing due and re-arms.
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((slot - this.clock.now()) * 1000)));
    this.handle = this.host.set(() => this.onTimer(), delayMs);
  }

  stop(): void {
    if (this.handle !== undefined) this.host.clear(this.handle);
    this.handle = undefined;
    this.slot = Infinity;
  }

  private onTimer(): void {
    this.handle = undefined;
    this.slot = Infinity;
    this.fire();
    this.reschedule();
  }
}
