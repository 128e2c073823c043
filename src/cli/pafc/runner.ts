// Feeds command lines to the interpreter one at a time, in the order they
// came, whatever their source (the terminal, piped standard input, -c).
// A line that arrives while a command runs waits its turn. The runner is
// done after `quit`, or once its input has ended and every queued line
// has run.

import { executeLine } from './interpreter';
import type { Session } from './session';

export class LineRunner {
  /** Commands that ended with an error line. */
  failures = 0;
  private readonly queue: string[] = [];
  private busy = false;
  private inputEnded = false;
  private finished = false;

  constructor(
    private readonly session: Session,
    /** Called once when the runner is done. */
    private readonly onDone: () => void,
    /** Called whenever every queued line has run and more input may come (an interactive reader prompts). */
    private readonly onIdle: () => void = () => {},
  ) {}

  /** Queues a line. */
  push(line: string): void {
    if (this.finished) return;
    this.queue.push(line);
    void this.drain();
  }

  /** No more lines will come. */
  end(): void {
    this.inputEnded = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy || this.finished) return;
    this.busy = true;
    while (this.queue.length > 0 && !this.session.quitRequested) {
      if (!(await executeLine(this.session, this.queue.shift()!))) this.failures++;
    }
    this.busy = false;
    if (this.session.quitRequested || this.inputEnded) {
      this.finished = true;
      this.onDone();
    } else {
      this.onIdle();
    }
  }
}
