// Log lines written together. A console on a pipe (journald, a
// supervising parent) and the log file are written synchronously, one
// system call per write: a reconnect storm of 20,000 clients logs two
// lines each, and one write per line cost pafd about 8 % of its CPU in the
// storm (docs/PERFORMANCE.md); gathering a loop turn's lines was not enough,
// as a busy turn often logs one line. Lines below `warning` wait at most
// BATCH_DELAY_MS and leave in one write; a warning or worse is written at
// once, together with what waited before it, so the lines that explain
// trouble are never held back; and whatever waits is written when the
// process exits (the 'exit' event: process.exit, the end of the event
// loop, an uncaught exception).

/** A batch this long is written at once instead of waiting. */
export const MAX_BATCH_CHARS = 64 << 10;
/** How long a line below `warning` may wait for others. */
export const BATCH_DELAY_MS = 50;

const live = new Set<LineBatch>();
let exitHooked = false;

/** Writes whatever waits in every batch now (at exit; tests that read what was logged). */
export function flushLogBatches(): void {
  for (const batch of live) batch.flush();
}

export class LineBatch {
  private pending = '';
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushLogBatches);
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
      setTimeout(this.flushLater, BATCH_DELAY_MS).unref();
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
