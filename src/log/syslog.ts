// Syslog over a UNIX datagram socket (docs/cli-and-config.md §1.5): one
// datagram per record, `<PRI>pafd[<pid>]: <message>`, PRI being
// facility·8 + the severity of the record's level. No timestamp or host
// name: the local syslog daemon (rsyslog, journald) adds its own, as it
// does for syslog(3). Sending goes through the native addon's sendto(),
// which never blocks: a syslog daemon that cannot keep up loses records
// rather than stalling the server.

import type { LogLevel, LogSink } from './logger';

/** Syslog severities of RFC 5424 for our levels (as Python's SysLogHandler maps them). */
export const SYSLOG_SEVERITY: Readonly<Record<LogLevel, number>> = {
  debug: 7, info: 6, warning: 4, error: 3, critical: 2,
};

/** The program name in every datagram. */
export const SYSLOG_IDENT = 'pafd';

/**
 * Longest message text sent, in UTF-16 units: rsyslog's default maximum
 * message size is 8 KiB, and a stack trace must not make a datagram that
 * the daemon truncates somewhere unpredictable.
 */
export const MAX_SYSLOG_MESSAGE = 8000;

/** `<PRI>pafd[pid]: message`, the message cut to MAX_SYSLOG_MESSAGE. */
export function syslogDatagram(facility: number, level: LogLevel, pid: number, message: string): string {
  const text = message.length > MAX_SYSLOG_MESSAGE ? message.slice(0, MAX_SYSLOG_MESSAGE) : message;
  return `<${facility * 8 + SYSLOG_SEVERITY[level]}>${SYSLOG_IDENT}[${pid}]: ${text}`;
}

/** Where datagrams go: a path, or a Linux abstract name written `@name`. */
export interface DatagramTarget { name: string; abstract: boolean }

export function datagramTarget(socket: string): DatagramTarget {
  return socket.startsWith('@') ? { name: socket.slice(1), abstract: true } : { name: socket, abstract: false };
}

/** One datagram; null on success, else the errno name (the addon's sendto). */
export type DatagramSend = (name: string, abstract: boolean, data: string) => string | null;

export interface SyslogSinkOptions {
  target: DatagramTarget;
  facility: number;
  pid: number;
  send: DatagramSend;
  /** Takes the records syslog refused while it is unreachable (the console), if any. */
  fallback?: LogSink;
  /** Told once when syslog stops taking records (with the errno name) and once when it takes them again (null). */
  onStateChange: (failure: string | null) => void;
}

/**
 * A sink that sends every record to syslog. While sending fails (the
 * daemon restarts, its buffer is full) records go to the fallback sink,
 * and the change of state is reported once each way, not per record.
 */
export function syslogSink(opts: SyslogSinkOptions): LogSink {
  const { target, facility, pid, send, fallback, onStateChange } = opts;
  let failing: string | null = null;
  return (level, message) => {
    const error = send(target.name, target.abstract, syslogDatagram(facility, level, pid, message));
    if (error === null) {
      if (failing !== null) {
        failing = null;
        onStateChange(null);
      }
      return;
    }
    if (fallback) fallback(level, message);
    if (failing === null) {
      failing = error;
      onStateChange(error);
    }
  };
}
