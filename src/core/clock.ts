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
 * The interpolated time is at or above millis() (read just after millis())
 * and less than a millisecond ahead of it (millis() truncates); beyond
 * these the wall clock was set (or the anchor is off): anchor again.
 */
const AGREEMENT_HIGH_US = 2000;
/**
 * Spinning for a millisecond edge happens at most this often; in between,
 * a disagreement re-anchors coarsely (never early, at most a millisecond
 * late), and a coarse anchor is made precise again once this has passed.
 */
const CALIBRATION_INTERVAL_NS = 10_000_000_000n;

/**
 * UNIX time with microsecond resolution that is never earlier than the
 * moment it is read (clients compare orphan-since with their own
 * microsecond clock read just before they closed). Date.now() counts only
 * milliseconds, so the time is an anchor plus the monotonic time since,
 * rounded up to the microsecond. The anchor is taken where millis() ticks
 * over: the first reading of the new millisecond dates the monotonic
 * reading before it from above, within a few loop iterations. Every read
 * checks the result against millis() and anchors again if the wall clock
 * was set since (see CALIBRATION_INTERVAL_NS).
 */
export class MicrosecondWallClock {
  private anchorUs = 0;
  private anchorNs = -1n;
  /** When calibrate() last spun (monotonic ns). */
  private calibratedNs = 0n;
  /** The anchor came from a disagreement, not from calibrate(): up to 1 ms late. */
  private coarse = false;

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
    // With a right anchor the time after the millis() read is at or above it.
    const usAfter = this.anchorUs + Number(this.src.nanos() - this.anchorNs) / 1000;
    let us = this.anchorUs + Number(ns - this.anchorNs) / 1000;
    const due = ns - this.calibratedNs >= CALIBRATION_INTERVAL_NS;
    if (usAfter < floorUs || us > floorUs + AGREEMENT_HIGH_US || (this.coarse && due)) {
      if (due) {
        this.calibrate();
        ns = this.src.nanos();
        floorUs = this.src.millis() * 1000;
        us = this.anchorUs + Number(ns - this.anchorNs) / 1000;
      } else {
        // ns was read before millis(): the time then was below the next millisecond.
        this.anchorNs = ns;
        this.anchorUs = floorUs + 1000;
        this.coarse = true;
        us = this.anchorUs;
      }
    }
    // Below floorUs only if a millisecond ended after ns was read: floorUs is then after ns too.
    return Math.max(Math.ceil(us), floorUs);
  }

  /** Takes the anchor at the next millisecond edge of millis() (at most ~1 ms of spinning). */
  private calibrate(): void {
    // Invariant: beforeNs was read before a millis() that returned `first`.
    let beforeNs = this.src.nanos();
    const first = this.src.millis();
    this.calibratedNs = beforeNs;
    this.coarse = false;
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
