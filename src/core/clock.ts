// Time as the core sees it. Deadlines use a monotonic clock so that a wall
// clock step (NTP, an RTC set at boot on a board) cannot expire orphans
// early or keep them forever; times reported to clients (orphan-since,
// connection time) use the wall clock. Tests inject a manual clock.

export interface Clock {
  /** Monotonic seconds, arbitrary origin. */
  now(): number;
  /** UNIX time in seconds (float). */
  wall(): number;
}

export const systemClock: Clock = {
  now: () => performance.now() / 1000,
  wall: () => Date.now() / 1000,
};

/** A clock that only moves when told to; for unit tests. */
export class ManualClock implements Clock {
  constructor(private mono = 1000, private wallOffset = 1_700_000_000) {}
  now(): number { return this.mono; }
  wall(): number { return this.wallOffset + this.mono; }
  advance(seconds: number): void { this.mono += seconds; }
}
