// Time as the core sees it. Deadlines use a monotonic clock so that a wall
// clock step (NTP, an RTC set at boot on a board) cannot expire orphans
// early or keep them forever; times reported to clients (orphan-since,
// connection time) use the wall clock. Tests inject a manual clock.

export interface Clock {
  /** Monotonic seconds, arbitrary origin. */
  now(): number;
  /** UNIX time in seconds (float), microsecond resolution, never earlier than the call. */
  wall(): number;
}

/** What MicrosecondWallClock reads: Date.now()'s milliseconds and a monotonic nanosecond counter. */
export interface WallSources {
  millis(): number;
  nanos(): bigint;
}

/** A calibration gives up waiting for a millisecond edge of millis() after this long. */
const CALIBRATION_LIMIT_NS = 2_000_000n;
/**
 * The interpolated time may lag millis() by up to a millisecond (an edge
 * between the two reads) and lead it by up to one (millis() truncates);
 * anything further off means the wall clock was set: calibrate again.
 */
const AGREEMENT_LOW_US = 1000;
const AGREEMENT_HIGH_US = 2000;

/**
 * UNIX time with microsecond resolution that is never earlier than the
 * moment it is read (clients compare orphan-since with their own
 * microsecond clock read just before they closed). Date.now() counts only
 * milliseconds, so the time is an anchor plus the monotonic time since,
 * rounded up to the microsecond. The anchor is taken where millis() ticks
 * over: the first reading of the new millisecond dates the monotonic
 * reading before it from above, within a few loop iterations. Every read
 * checks the result against millis() and recalibrates if the wall clock
 * was set since; the result is never below millis() itself.
 */
export class MicrosecondWallClock {
  private anchorUs = 0;
  private anchorNs = -1n;

  constructor(private readonly src: WallSources) {}

  /** UNIX seconds. */
  wall(): number {
    return this.wallMicros() / 1e6;
  }

  /** UNIX time in whole microseconds, rounded up. */
  wallMicros(): number {
    if (this.anchorNs < 0n) this.calibrate();
    let ns = this.src.nanos();
    let floorUs = this.src.millis() * 1000;
    let us = this.anchorUs + Number(ns - this.anchorNs) / 1000;
    if (us < floorUs - AGREEMENT_LOW_US || us > floorUs + AGREEMENT_HIGH_US) {
      this.calibrate();
      ns = this.src.nanos();
      floorUs = this.src.millis() * 1000;
      us = this.anchorUs + Number(ns - this.anchorNs) / 1000;
    }
    return Math.max(Math.ceil(us), floorUs);
  }

  /** Takes the anchor at the next millisecond edge of millis() (at most ~1 ms of spinning). */
  private calibrate(): void {
    // Invariant: beforeNs was read before a millis() that returned `first`.
    let beforeNs = this.src.nanos();
    const first = this.src.millis();
    const limit = beforeNs + CALIBRATION_LIMIT_NS;
    for (;;) {
      const ns = this.src.nanos();
      const ms = this.src.millis();
      if (ms !== first) {
        // The edge came after millis() read `first`, which came after
        // beforeNs was read: at beforeNs the time was below ms.
        this.anchorNs = beforeNs;
        this.anchorUs = Math.max(ms, first + 1) * 1000;
        return;
      }
      if (ns >= limit) {
        // millis() does not move: at ns the time is below first + 1 ms.
        this.anchorNs = ns;
        this.anchorUs = (first + 1) * 1000;
        return;
      }
      beforeNs = ns;
    }
  }
}

const processWall = new MicrosecondWallClock({ millis: Date.now, nanos: process.hrtime.bigint });

export const systemClock: Clock = {
  now: () => performance.now() / 1000,
  wall: () => processWall.wall(),
};

/** A clock that only moves when told to; for unit tests. */
export class ManualClock implements Clock {
  constructor(private mono = 1000, private wallOffset = 1_700_000_000) {}
  now(): number { return this.mono; }
  wall(): number { return this.wallOffset + this.mono; }
  advance(seconds: number): void { this.mono += seconds; }
}
