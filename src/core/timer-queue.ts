// One deadline queue per kind of timed object in a domain (sessions,
// orphaned services): a binary min-heap in which each object sits at most
// once. There is no timer per object; the domain arms a single event-loop
// timer for the earliest deadline of its queues.
//
// Pushing a deadline *later* is the common case (every message from a
// client moves its liveness deadline) and costs O(1): the object keeps its
// old heap position and key, and is re-filed only if it reaches the top
// before its real deadline. Pulling a deadline earlier re-sorts at once.

export interface Timed {
  /** The real deadline, monotonic seconds; Infinity = none. */
  due: number;
  /** Key the heap is ordered by (<= due while queued). Owned by the queue. */
  heapKey: number;
  /** Position in the heap, -1 when not queued. Owned by the queue. */
  heapIndex: number;
}

export class TimerQueue<T extends Timed> {
  private readonly heap: T[] = [];

  get size(): number { return this.heap.length; }

  /** Sets item.due and makes sure the item fires no later than that. */
  schedule(item: T, due: number): void {
    item.due = due;
    if (item.heapIndex >= 0) {
      if (due >= item.heapKey) return; // lazy: re-filed when it surfaces
      item.heapKey = due;
      this.up(item.heapIndex);
      return;
    }
    item.heapKey = due;
    item.heapIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.heapIndex);
  }

  cancel(item: T): void {
    item.due = Infinity;
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop()!;
    item.heapIndex = -1;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
  }

  /** Earliest key; may be earlier than a real deadline (one spurious wake-up at most). */
  nextKey(): number {
    return this.heap.length ? this.heap[0].heapKey : Infinity;
  }

  /** Removes and returns the next item whose real deadline is <= now, or undefined. */
  popDue(now: number): T | undefined {
    while (this.heap.length) {
      const top = this.heap[0];
      if (top.heapKey > now) return undefined;
      if (top.due > top.heapKey) {
        // Deadline moved later: re-file it, so items leave in real deadline order.
        top.heapKey = top.due;
        this.down(0);
        continue;
      }
      this.cancel(top);
      return top;
    }
    return undefined;
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].heapKey <= item.heapKey) break;
      h[i] = h[p];
      h[i].heapIndex = i;
      i = p;
    }
    h[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].heapKey < h[c].heapKey) c++;
      if (h[c].heapKey >= item.heapKey) break;
      h[i] = h[c];
      h[i].heapIndex = i;
      i = c;
    }
    h[i] = item;
    item.heapIndex = i;
  }
}
