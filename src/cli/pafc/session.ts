// The state of one pafc run: the connection, the version range it
// offers, the track settings, and where output goes. Output comes in two
// kinds: lines of the command being run, and lines that arrive on their
// own (matches, cancelled subscriptions, server track queries). The
// latter are held back while a command runs and shown right after its
// last line, so a command's output is never split by them and the order
// "OK." then matches does not depend on how the server's messages were
// chunked. Every line goes through terminalText: client addresses,
// filters and fail reasons come from the server (and through it from
// other clients), and a control character in them must not reach the
// operator's terminal.

import type { WireClient } from '../../client/wire';
import { terminalText } from '../../log/escape';

/** Where pafc's lines go. */
export interface Sink {
  /** A line of the running command's output. */
  line(text: string): void;
  /** A line that arrived while no command runs (an interactive sink redraws its prompt). */
  notice(text: string): void;
}

/** A version range [min, max]. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export class Session {
  /** Print a line for every track query the server sends (`track verbose`). */
  trackVerbose = false;
  /** Set by `quit`: the reader stops after the current command. */
  quitRequested = false;
  private running = false;
  private readonly held: string[] = [];

  constructor(
    readonly client: WireClient,
    private readonly sink: Sink,
    /** The versions pafc offers in hello (-p, the domain file, or 2–3). */
    readonly offered: VersionRange,
    /** Wall-clock UNIX time in seconds; injectable for tests. */
    readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** A line of the current command's output. */
  say(text: string): void {
    this.sink.line(terminalText(text));
  }

  /** A line arriving on its own: shown now, or after the running command's last line. */
  notify(text: string): void {
    const safe = terminalText(text);
    if (this.running) this.held.push(safe);
    else this.sink.notice(safe);
  }

  /** Marks the start of a command. */
  begin(): void {
    this.running = true;
  }

  /** Marks the end of a command and shows what arrived meanwhile. */
  end(): void {
    this.running = false;
    for (const text of this.held.splice(0)) this.sink.line(text);
  }
}
