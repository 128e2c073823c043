// What a listening socket does when accept fails. The errors that get
// this far (ENFILE, ENOMEM, ENOBUFS, EMFILE once the reserve descriptor is
// spent) are shortages that last a while, and a listener stays readable
// while connections wait in its backlog: accepting again at once would
// spin the event loop on the same error. So the listener stops accepting
// for ACCEPT_PAUSE_MS, and the first error of an episode is reported
// (logged once); an accept that succeeds ends the episode.

/** How long a listener stops accepting after an accept error. */
export const ACCEPT_PAUSE_MS = 250;

export class AcceptGuard {
  private failing = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private closed = false;

  constructor(
    /** Turns accepting on or off; a no-op where the transport cannot pause (Node's net.Server). */
    private readonly setAccepting: (on: boolean) => void,
    /** Called with the errno name of the first accept error of an episode. */
    private readonly report: (code: string) => void,
    private readonly pauseMs = ACCEPT_PAUSE_MS,
  ) {}

  /** A connection was accepted: the next error starts a new episode. */
  accepted(): void {
    this.failing = false;
  }

  failed(code: string): void {
    if (!this.failing) {
      this.failing = true;
      this.report(code);
    }
    if (this.timer !== undefined || this.closed) return;
    this.setAccepting(false);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.setAccepting(true);
    }, this.pauseMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
