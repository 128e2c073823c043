// The connections' deadline queue (handshake deadlines, idle limits): a
// timer wheel of fixed slots, each a doubly linked list threaded through
// the items themselves. Filing, moving and removing a connection are O(1)
// and allocate nothing.
//
// Why not the binary heap the orphans use (timer-queue.ts): with 20,000
// tracking clients every track round trip moved a connection through the
// heap two or three times, fifteen levels deep, each level a cache miss
// on another Session; that was 8 % of pafd's idle CPU
// (docs/PERFORMANCE.md). Liveness needs no order among the deadlines of
// one slot: the domain timer fires on slots anyway (domain-timer.ts).
//
// As in the heap, moving a deadline later is lazy: the item stays in its
// slot and is filed again when that slot comes up. A deadline further
// away than the wheel spans waits in the wheel's last slot and is filed
// again from there, so any deadline fits.

export interface Wheeled {
  /** The real deadline, monotonic seconds; Infinity = none. */
  due: number;
  /** Absolute slot the item is filed in, -1 when not queued. Owned by the wheel. */
  wheelSlot: number;
  /** Neighbours in the slot's list. Owned by the wheel. */
  wheelPrev: Wheeled | undefined;
  wheelNext: Wheeled | undefined;
}

/** Slot width: the domain timer's (domain-timer.ts TIMER_SLOT_MS). */
export const WHEEL_SLOT_SECONDS = 0.02;
/** Slots in the wheel (a power of two): 4,096 × 20 ms spans 81.92 s. */
const WHEEL_SLOTS = 4096;
const SLOT_MASK = WHEEL_SLOTS - 1;

export class TimerWheel<T extends Wheeled> {
  private readonly heads: (Wheeled | undefined)[] = new Array<Wheeled | undefined>(WHEEL_SLOTS).fill(undefined);
  private count = 0;
  /**
   * Every filed item is in a slot in [cursor, cursor + WHEEL_SLOTS), so
   * each ring position holds one absolute slot. The cursor is never ahead
   * of the clock: popDue moves it up to the slot of its `now`, and an
   * empty wheel restarts it at the clock's slot.
   */
  private cursor: number;
  /** No item is filed before this slot (a lower bound; exact after nextKey()). */
  private earliest = Infinity;
  /** `now` of the last popDue: what is left of its slot is not due before then. */
  private lastNow = -Infinity;

  constructor(private readonly clock: { now(): number }, private readonly slotSeconds: number = WHEEL_SLOT_SECONDS) {
    this.cursor = this.slotOf(clock.now());
  }

  get size(): number { return this.count; }

  private slotOf(time: number): number { return Math.floor(time / this.slotSeconds); }

  /** Sets item.due and makes sure the item comes up no later than that. */
  schedule(item: T, due: number): void {
    item.due = due;
    const slot = this.slotOf(due);
    if (item.wheelSlot >= 0) {
      if (slot >= item.wheelSlot) return; // lazy: filed again when its slot comes up
      this.unlink(item);
    }
    this.link(item, slot);
  }

  cancel(item: T): void {
    item.due = Infinity;
    if (item.wheelSlot >= 0) this.unlink(item);
  }

  /**
   * When the next item may be due: the start of the earliest slot in use
   * (the domain timer fires at its end), or, for what is left of the
   * slot popDue was last in, that call's time. Infinity when empty.
   */
  nextKey(): number {
    if (this.count === 0) return Infinity;
    return Math.max(this.firstSlot() * this.slotSeconds, this.lastNow);
  }

  /** The earliest slot in use (the wheel is not empty). */
  private firstSlot(): number {
    let slot = Math.max(this.earliest, this.cursor);
    while (this.heads[slot & SLOT_MASK] === undefined) slot++;
    this.earliest = slot;
    return slot;
  }

  /** Removes and returns an item whose deadline is <= now, or undefined; files again what moved later. */
  popDue(now: number): T | undefined {
    this.lastNow = now;
    const nowSlot = this.slotOf(now);
    while (this.count > 0) {
      const slot = this.firstSlot();
      if (slot > nowSlot) return undefined;
      this.cursor = slot;
      let item = this.heads[slot & SLOT_MASK];
      while (item !== undefined) {
        const next = item.wheelNext;
        if (item.due <= now) {
          this.unlink(item);
          return item as T;
        }
        if (this.slotOf(item.due) > slot) {
          // Its deadline moved on (or lies beyond the wheel's span): file it where it belongs now.
          this.unlink(item);
          this.link(item, this.slotOf(item.due));
        }
        item = next;
      }
      // What is left here is due later within the slot `now` is in.
      if (this.heads[slot & SLOT_MASK] !== undefined) return undefined;
    }
    return undefined;
  }

  private link(item: Wheeled, slot: number): void {
    if (this.count === 0) {
      this.cursor = Math.max(this.cursor, this.slotOf(this.clock.now()));
      this.earliest = Infinity;
    }
    // Never before the cursor (an overdue item comes up at the next
    // popDue), never beyond the wheel's span (it waits in the last slot).
    slot = Math.min(Math.max(slot, this.cursor), this.cursor + SLOT_MASK);
    const i = slot & SLOT_MASK;
    const head = this.heads[i];
    item.wheelSlot = slot;
    item.wheelPrev = undefined;
    item.wheelNext = head;
    if (head !== undefined) head.wheelPrev = item;
    this.heads[i] = item;
    this.count++;
    if (slot < this.earliest) this.earliest = slot;
  }

  private unlink(item: Wheeled): void {
    const prev = item.wheelPrev, next = item.wheelNext;
    if (prev !== undefined) prev.wheelNext = next;
    else this.heads[item.wheelSlot & SLOT_MASK] = next;
    if (next !== undefined) next.wheelPrev = prev;
    item.wheelPrev = undefined;
    item.wheelNext = undefined;
    item.wheelSlot = -1;
    this.count--;
  }
}
