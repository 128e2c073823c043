// Leveled logging with pluggable destinations (docs/cli-and-config.md §1.5).
// The console sink writes "<LEVEL>:pafd:<message>" lines to stderr; the
// file and syslog sinks (file.ts, syslog.ts) plug in beside it, and
// server/log-outputs.ts decides which ones a configuration asks for.
// Formatting is skipped entirely for records below the level.

import { oneLine } from './escape';
import { LineBatch } from './batch';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

/** Lines at this level leave at once; the ones below may wait for others (batch.ts). */
export function writtenAtOnce(level: LogLevel): boolean { return SEVERITY[level] >= SEVERITY.warning; }

export type LogSink = (level: LogLevel, message: string) => void;

export class Logger {
  private threshold: number;
  private sinks: readonly LogSink[] = [];

  constructor(level: LogLevel = 'info') {
    this.threshold = SEVERITY[level];
  }

  setLevel(level: LogLevel): void { this.threshold = SEVERITY[level]; }
  /** Replaces every destination at once (a reload never leaves a mix of old and new). */
  setSinks(sinks: readonly LogSink[]): void { this.sinks = [...sinks]; }

  enabled(level: LogLevel): boolean { return SEVERITY[level] >= this.threshold; }

  log(level: LogLevel, message: string): void {
    if (SEVERITY[level] < this.threshold) return;
    // A sink may log about its own trouble (syslog gone); it sees the list as it was.
    // One event, one line: whatever a message was built from, no control
    // character reaches a destination (client text is escaped before, see escape.ts).
    const line = oneLine(message);
    const sinks = this.sinks;
    for (const sink of sinks) sink(level, line);
  }

  debug(message: string): void { this.log('debug', message); }
  info(message: string): void { this.log('info', message); }
  warning(message: string): void { this.log('warning', message); }
  error(message: string): void { this.log('error', message); }
  critical(message: string): void { this.log('critical', message); }
}

/**
 * Console lines on stderr. If the reader of stderr goes away (EPIPE: the
 * terminal or the parent that captured it died), console logging stops
 * for good; a daemon must keep serving without its console.
 */
export function consoleSink(stream: NodeJS.WritableStream = process.stderr): LogSink {
  let broken = false;
  stream.on('error', () => { broken = true; });
  // Lines below warning written together within 50 ms, warnings and worse at once (batch.ts).
  const batch = new LineBatch((text) => { if (!broken) stream.write(text); });
  return (level, message) => {
    if (!broken) batch.add(`${level.toUpperCase()}:pafd:${message}\n`, writtenAtOnce(level));
  };
}
