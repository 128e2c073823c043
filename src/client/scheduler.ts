// One scheduler per context: every timed thing of the client library
// (reconnects, connect deadlines, track queries, domain-file rescans,
// local orphan expiry of a subscription's matches) is a task in one
// deadline heap, and a single event-loop timer is armed for the earliest
// of them. There is no timer per service or per link.

import type { Clock } from '../core/clock';
import type { Timed } from '../core/timer-queue';
import { TimerQueue } from '../core/timer-queue';

/** A schedulable job; the heap fields are owned by the scheduler. */
export class Task implements Timed {
  due = Infinity;
  heapKey = Infinity;
  heapIndex = -1;
  constructor(readonly run: () => void) {}
  /** Whether the task is waiting to run. */
  get scheduled(): boolean { return this.heapIndex >= 0; }
}

/** Node's setTimeout cannot wait longer than this (2^31−1 ms). */
const MAX_TIMER_MS = 0x7fffffff;

export class Scheduler {
  private readonly queue = new TimerQueue<Task>();
  private timer: NodeJS.Timeout | undefined;
  /** Monotonic time the armed timer fires at. */
  private armedAt = Infinity;
  private running = false;
  private closed = false;

  constructor(readonly clock: Clock) {}

  /** Runs `task` once, `seconds` from now (replacing an earlier schedule of it). */
  after(task: Task, seconds: number): void {
    this.at(task, this.clock.now() + Math.max(0, seconds));
  }

  /** Runs `task` once at monotonic time `due`. */
  at(task: Task, due: number): void {
    if (this.closed) return;
    this.queue.schedule(task, due);
    this.arm();
  }

  cancel(task: Task): void {
    this.queue.cancel(task);
  }

  /** Seconds until `task` runs (Infinity if it is not scheduled). */
  remaining(task: Task): number {
    return task.scheduled ? task.due - this.clock.now() : Infinity;
  }

  /** Runs every task that is due now; the event-loop timer calls this, and so may tests with a manual clock. */
  runDue(): void {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.clock.now();
      for (let task = this.queue.popDue(now); task !== undefined && !this.closed; task = this.queue.popDue(now)) {
        task.run();
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }

  /** Drops every task and the timer. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.closed || this.running) return;
    const next = this.queue.nextKey();
    if (next === this.armedAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = next;
    if (next === Infinity) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((next - this.clock.now()) * 1000)));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedAt = Infinity;
      this.runDue();
    }, ms);
  }
}
