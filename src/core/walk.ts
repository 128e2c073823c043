// Bounded work per turn: a listing or an initial burst over a large
// directory is a walk over a sequence that stops when its time slice is
// over and goes on in a later turn, so one request cannot hold the event
// loop (and every other client's ping) for as long as it takes.
//
// The walk starts on the live sequence (a Map's iterator): the common
// case, a small directory, finishes in the first slice and copies
// nothing. Only when a slice runs out are the items not yet visited
// copied out, in order; a later step skips those that are gone by then.

import type { Clock } from './clock';

/** Items visited between two looks at the clock. */
export const ITEMS_PER_CHECK = 8;

/** Tells a walk when to stop for this turn. */
export interface Slice {
  over(): boolean;
}

/** A slice that never ends: the walk runs to completion in one step. */
export const WHOLE: Slice = { over: () => false };

/** A slice of `seconds` of the clock, restarted by begin() (one object, reused). */
export class TimeSlice implements Slice {
  private end = 0;
  constructor(private readonly clock: Clock, private readonly seconds: number) {}
  begin(): this {
    this.end = this.clock.now() + this.seconds;
    return this;
  }
  over(): boolean {
    return this.clock.now() >= this.end;
  }
}

/** Work of one request that may span turns. */
export interface Job {
  /** Does a slice of the work; true once all of it is done. */
  step(slice: Slice): boolean;
}

export class Walk<T> implements Job {
  /** Items not visited when the first slice ran out; undefined while on the live sequence. */
  private rest: T[] | undefined = undefined;
  /** Next index into rest. */
  private next = 0;
  private finished = false;

  constructor(
    private readonly items: Iterator<T>,
    /** Handles one item. */
    private readonly visit: (item: T) => void,
    /** Whether an item copied out earlier is still there to visit. */
    private readonly live: (item: T) => boolean,
    /** Runs once after the last item. */
    private readonly done: () => void = () => {},
  ) {}

  step(slice: Slice): boolean {
    if (this.finished) return true;
    let n = 0;
    if (this.rest === undefined) {
      const items = this.items;
      for (let r = items.next(); !r.done; r = items.next()) {
        this.visit(r.value);
        if (++n === ITEMS_PER_CHECK) {
          n = 0;
          if (slice.over()) {
            this.rest = Array.from({ [Symbol.iterator]: () => items });
            if (this.rest.length > 0) return false;
          }
        }
      }
    } else {
      const rest = this.rest;
      while (this.next < rest.length) {
        const item = rest[this.next++]!;
        if (this.live(item)) this.visit(item);
        if (++n === ITEMS_PER_CHECK) {
          n = 0;
          if (this.next < rest.length && slice.over()) return false;
        }
      }
    }
    this.finished = true;
    this.rest = undefined;
    this.done();
    return true;
  }

  /**
   * Whether an item is still waiting for its visit: true only for an item
   * copied out and not visited yet. `key` orders the copied items (they
   * keep the sequence's order), so the check is a binary search.
   */
  waiting(item: T, key: (item: T) => number): boolean {
    const rest = this.rest;
    if (rest === undefined) return false;
    const k = key(item);
    let lo = this.next, hi = rest.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = key(rest[mid]!);
      if (m === k) return rest[mid] === item;
      if (m < k) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
