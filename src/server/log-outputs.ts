// Turns the `log` settings of a configuration (docs/cli-and-config.md §1.5,
// §2.1) into the logger's level and destinations, at start-up and again on
// every reload. Two steps, so a reload can check everything before it
// changes anything: prepare() opens what the settings need (and throws if
// the log file cannot be opened), commit() swaps the destinations in.
//
// Syslog is on by default, as in the original; but where the syslog socket
// or the native addon (which sends the datagrams) is missing, pafd says so
// once and logs to the console instead of refusing to start, as the
// original does (conformance S4) — containers rarely have /dev/log.

import { statSync } from 'node:fs';
import type { LogConfig } from '../config/config';
import { SYSLOG_FACILITIES } from '../config/config';
import { addonError, loadNative } from '../transport/native';
import { RotatingLogFile, fileLine } from '../log/file';
import type { LogSink, Logger } from '../log/logger';
import { consoleSink, writtenAtOnce } from '../log/logger';
import type { DatagramSend } from '../log/syslog';
import { datagramTarget, syslogSink } from '../log/syslog';

/** The outside world of the log outputs, replaceable in tests. */
export interface LogDependencies {
  /** The function that sends a datagram, or why there is none. */
  datagram(): DatagramSend | string;
  /** Why the syslog socket at this path cannot be used, or '' if it looks usable. */
  socketProblem(path: string): string;
  stderr: NodeJS.WritableStream;
  pid: number;
}

export const systemLogDependencies: LogDependencies = {
  datagram() {
    const addon = loadNative();
    return addon === null ? addonError : (name, abstract, data) => addon.sendto(name, abstract, data);
  },
  socketProblem(path) {
    try {
      return statSync(path).isSocket() ? '' : 'not a socket';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as NodeJS.ErrnoException).code ?? err);
    }
  },
  stderr: process.stderr,
  pid: process.pid,
};

/** Destinations made for one configuration, not yet in use. */
export interface PreparedLog {
  readonly config: LogConfig;
  readonly sinks: LogSink[];
  readonly file: RotatingLogFile | undefined;
  /** Warnings to log once the new destinations are in place. */
  readonly notes: string[];
}

export class LogOutputs {
  private file: RotatingLogFile | undefined = undefined;
  /** One console sink for the process: it watches stderr for EPIPE once. */
  private consoleOut: LogSink | undefined = undefined;
  /** The settings in use (undefined before the first commit). */
  current: LogConfig | undefined = undefined;
  /** Whether records reach stderr now (asked with -s, or instead of a missing syslog socket). */
  logsToConsole = false;

  constructor(private readonly logger: Logger, private readonly deps: LogDependencies = systemLogDependencies) {}

  /** Opens what `config` needs. Throws an Error with a one-line message if the log file cannot be opened. */
  prepare(config: LogConfig): PreparedLog {
    const sinks: LogSink[] = [];
    const notes: string[] = [];
    let toConsole = config.console;
    let file: RotatingLogFile | undefined;
    if (config.file !== undefined) {
      try {
        file = new RotatingLogFile(config.file, config.fileMaxSize, config.fileBackup,
          (problem) => this.logger.warning(problem));
      } catch (err) {
        throw new Error(`cannot open log file ${config.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const out = file;
      sinks.push((level, message) => out.append(fileLine(level, message), writtenAtOnce(level)));
    }
    if (config.syslog) {
      const sink = this.syslog(config, notes);
      if (sink === undefined) toConsole = true;
      else sinks.push(sink);
    }
    // The console last: a line seen there is already in the file and sent to syslog.
    if (toConsole) sinks.push(this.console());
    return { config, sinks, file, notes };
  }

  /** Puts prepared destinations in place of the current ones. */
  commit(prepared: PreparedLog): void {
    const old = this.file;
    this.logger.setLevel(prepared.config.level);
    this.logger.setSinks(prepared.sinks);
    this.file = prepared.file;
    this.current = prepared.config;
    this.logsToConsole = this.consoleOut !== undefined && prepared.sinks.includes(this.consoleOut);
    if (old !== undefined && old !== prepared.file) old.close();
    for (const note of prepared.notes) this.logger.warning(note);
  }

  apply(config: LogConfig): void { this.commit(this.prepare(config)); }

  /** SIGHUP without a configuration file: start the log file over (after logrotate moved it). */
  reopen(): void { this.file?.reopen(); }

  close(): void {
    this.file?.close();
    this.file = undefined;
  }

  private console(): LogSink {
    this.consoleOut ??= consoleSink(this.deps.stderr);
    return this.consoleOut;
  }

  /** The syslog sink, or undefined (with a note saying why) when syslog cannot be used. */
  private syslog(config: LogConfig, notes: string[]): LogSink | undefined {
    const send = this.deps.datagram();
    const target = datagramTarget(config.syslogSocket);
    const problem = typeof send === 'string' ? send : target.abstract ? '' : this.deps.socketProblem(target.name);
    if (typeof send === 'string' || problem !== '') {
      notes.push(`syslog socket ${config.syslogSocket} cannot be used (${problem}); logging to the console instead`);
      return undefined;
    }
    const logger = this.logger;
    return syslogSink({
      target,
      facility: SYSLOG_FACILITIES.get(config.facility) ?? SYSLOG_FACILITIES.get('daemon')!,
      pid: this.deps.pid,
      send,
      fallback: config.console ? undefined : this.console(),
      onStateChange: (failure) => {
        if (failure === null) logger.info(`syslog socket ${config.syslogSocket} takes records again`);
        else logger.warning(`syslog socket ${config.syslogSocket} refused a record (${failure}); records go to the console until it works again`);
      },
    });
  }
}
