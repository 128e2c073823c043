// The log file of `-o`/`log_file` (docs/cli-and-config.md §1.5), with the
// size-based rotation of Python's RotatingFileHandler: when a line would
// take the file past its maximum size and backups are kept, the file
// becomes <file>.1 (older backups shift up to <file>.<backups>, the oldest
// is dropped) and a new file starts. Without backups it grows without end.
//
// Writes are synchronous: rotation never races a pending write. Records
// below `warning` wait up to 50 ms and are written together
// (batch.ts: a reconnect storm logs two lines per client); a warning or
// worse goes out at once with what waited before it, and whatever waits
// is written at exit, so the lines before a fatal exit are not lost.

import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { LineBatch } from './batch';

/** Permissions of a new log file (before the umask). */
const LOG_FILE_MODE = 0o644;

export class RotatingLogFile {
  private fd: number;
  private size: number;
  /** Set while writing fails, so the trouble is reported once, not per line. */
  private failing = false;
  private closed = false;

  /**
   * Opens (appending) or creates the file; throws if that is impossible,
   * which at start-up is a fatal configuration error. `onError` hears
   * about later failures (disk full, rotation refused) once per episode.
   */
  constructor(
    readonly path: string,
    readonly maxBytes: number,
    readonly backups: number,
    private readonly onError: (message: string) => void,
  ) {
    this.fd = openSync(path, 'a', LOG_FILE_MODE);
    this.size = fstatSync(this.fd).size;
  }

  private readonly batch = new LineBatch((text) => this.writeBatch(text));

  /** Appends a record (whole lines) at the end of the turn, or now if `urgent` (batch.ts). */
  append(text: string, urgent: boolean): void {
    if (!this.closed) this.batch.add(text, urgent);
  }

  /** A batch that would cross the size limit goes line by line, so each line lands where unbatched it would. */
  private writeBatch(text: string): void {
    if (this.backups > 0 && this.maxBytes > 0 && this.size + Buffer.byteLength(text) > this.maxBytes) {
      for (const line of text.split(/(?<=\n)/)) this.write(line);
    } else {
      this.write(text);
    }
  }

  /** Appends text (one or more whole lines) now, rotating first if it would not fit. */
  write(text: string): void {
    if (this.closed) return;
    if (this.fd < 0) this.openFd();                 // retry after a failed open
    if (this.fd < 0) return;
    const bytes = Buffer.byteLength(text);
    if (this.backups > 0 && this.maxBytes > 0 && this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    try {
      writeSync(this.fd, text);
      this.size += bytes;
      this.failing = false;
    } catch (err) {
      this.fail(`cannot write log file ${this.path}: ${errorCode(err)}`);
    }
  }

  /** Starts over on the path (after an outside rotation moved the file away). */
  reopen(): void {
    if (this.closed) return;
    this.batch.flush();
    this.closeFd();
    this.openFd();
  }

  close(): void {
    if (!this.closed) this.batch.close();
    this.closed = true;
    this.closeFd();
  }

  private rotate(): void {
    this.closeFd();
    try {
      for (let i = this.backups - 1; i >= 1; i--) renameIfPresent(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      renameIfPresent(this.path, `${this.path}.1`);
    } catch (err) {
      // Keep logging into the same file rather than lose records.
      this.fail(`cannot rotate log file ${this.path}: ${errorCode(err)}`);
    }
    this.openFd();
  }

  private openFd(): void {
    try {
      this.fd = openSync(this.path, 'a', LOG_FILE_MODE);
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      this.fd = -1;
      this.fail(`cannot open log file ${this.path}: ${errorCode(err)}`);
    }
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try { closeSync(this.fd); } catch { /* nothing left to save */ }
    this.fd = -1;
  }

  private fail(message: string): void {
    if (this.failing) return;
    this.failing = true;
    // Later, not now: the report is itself a log record, and it must not
    // come back into this file while a rotation is half done.
    queueMicrotask(() => this.onError(message));
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? String(e.message ?? err);
}

/** File lines: an ISO-8601 UTC timestamp, the level and the message. */
export function fileLine(level: string, message: string, now: Date = new Date()): string {
  return `${now.toISOString()} ${level.toUpperCase()} ${message}\n`;
}
