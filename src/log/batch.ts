// Log lines of one event-loop turn written together. A console on a pipe
// (journald, a supervising parent) and the log file are written
// synchronously, one system call per write: a reconnect storm of 20,000
// clients logs two lines each, and one write per line cost pafd about 8 %
// of its CPU in the storm (docs/PERFORMANCE.md). Lines below `warning` wait for
// the end of the turn (setImmediate) and leave in one write; a warning or
// worse is written at once, together with what waited before it, so the
// lines that explain trouble are never held back; and whatever waits is
// written when the process exits (the 'exit' event: process.exit, the end
// of the event loop, an uncaught exception).

/** A batch this long is written at once instead of waiting for the turn's end. */
export const MAX_BATCH_CHARS = 64 << 10;

const live = new Set<LineBatch>();
let exitHooked = false;

export class LineBatch {
  private pending = '';
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => { for (const batch of live) batch.flush(); });
    }
  }

  /** Queues `text` (whole lines); `urgent` writes it, and what waited before it, now. */
  add(text: string, urgent: boolean): void {
    this.pending += text;
    if (urgent || this.pending.length >= MAX_BATCH_CHARS) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      // Unreferenced: a batch never keeps the process alive (the exit hook writes it).
      setImmediate(this.flushLater).unref();
    }
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  }

  /** Writes what waits and forgets the batch (its destination is closed). */
  close(): void {
    this.flush();
    live.delete(this);
  }
}
