// The systemd service notification protocol (sd_notify(3)), for
// Type=notify and Type=notify-reload units: newline-separated
// `VARIABLE=value` assignments in one datagram to $NOTIFY_SOCKET (a path,
// or an abstract name written with a leading '@'), and watchdog keep-alive
// pings at half of $WATCHDOG_USEC. Datagrams go through the native addon;
// without it pafd warns once and runs unnotified. Outside systemd (no
// NOTIFY_SOCKET) nothing here does anything.

import type { Logger } from '../log/logger';
import type { DatagramSend, DatagramTarget } from '../log/syslog';
import { addonError, loadNative } from '../transport/native';
import { MAX_TIMER_MS } from './domain-timer';

const US_PER_MS = 1000;
/** Pings go out at this fraction of the watchdog interval, as sd_watchdog_enabled(3) advises. */
const WATCHDOG_PING_FRACTION = 0.5;

/** $NOTIFY_SOCKET as a datagram target; undefined if unset or not something we can address. */
export function notifyTarget(value: string | undefined): DatagramTarget | undefined {
  if (value === undefined || value.length < 2) return undefined;
  if (value.startsWith('@')) return { name: value.slice(1), abstract: true };
  if (value.startsWith('/')) return { name: value, abstract: false };
  return undefined;                      // vsock: and other forms are not supported
}

/**
 * Milliseconds between watchdog pings, or undefined when no watchdog is
 * asked of this process: WATCHDOG_USEC must be a positive integer, and
 * WATCHDOG_PID, if set, must be our pid (else the watchdog is meant for
 * another process, e.g. our parent).
 */
export function watchdogPingMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^[0-9]+$/.test(usecText)) return undefined;
  const usec = Number(usecText);
  if (!(usec > 0)) return undefined;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '' && Number(pidText) !== pid) return undefined;
  // Pinging earlier than needed is harmless; an interval beyond setInterval's
  // 2^31−1 ms would become 1 ms and ping in a loop.
  return Math.min(MAX_TIMER_MS, Math.max(1, Math.floor((usec / US_PER_MS) * WATCHDOG_PING_FRACTION)));
}

/** CLOCK_MONOTONIC in microseconds (libuv's hrtime), for RELOADING=1. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

export class SystemdNotifier {
  private watchdog: NodeJS.Timeout | undefined = undefined;
  private failed = false;

  private constructor(
    private readonly target: DatagramTarget,
    private readonly send: DatagramSend,
    private readonly log: Logger,
    private readonly pingMs: number | undefined,
  ) {}

  /**
   * The notifier for this process's environment, or undefined when there
   * is nobody to notify (no NOTIFY_SOCKET) or no way to (no addon: warned).
   */
  static fromEnvironment(
    env: NodeJS.ProcessEnv,
    log: Logger,
    sender: () => DatagramSend | string = defaultSender,
    pid: number = process.pid,
  ): SystemdNotifier | undefined {
    const raw = env.NOTIFY_SOCKET;
    if (raw === undefined || raw === '') return undefined;
    const target = notifyTarget(raw);
    if (target === undefined) {
      log.warning(`NOTIFY_SOCKET=${raw} is not a socket path or abstract name; systemd is not notified`);
      return undefined;
    }
    const send = sender();
    if (typeof send === 'string') {
      log.warning(`NOTIFY_SOCKET is set but notifications cannot be sent (${send}); systemd is not notified`);
      return undefined;
    }
    return new SystemdNotifier(target, send, log, watchdogPingMs(env, pid));
  }

  /** All sockets are bound: READY=1, and the watchdog starts if one is asked for. */
  ready(status: string): void {
    this.notify(`READY=1\nSTATUS=${status}`);
    if (this.pingMs !== undefined && this.watchdog === undefined) {
      this.watchdog = setInterval(() => this.notify('WATCHDOG=1'), this.pingMs);
      // The watchdog shows the event loop turns; it must not be what keeps it turning.
      this.watchdog.unref();
    }
  }

  reloading(): void { this.notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=reloading the configuration`); }

  /** After a reload, whatever its outcome. */
  reloaded(status: string): void { this.notify(`READY=1\nSTATUS=${status}`); }

  stopping(): void {
    this.stopWatchdog();
    this.notify('STOPPING=1\nSTATUS=shutting down');
  }

  stopWatchdog(): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private notify(state: string): void {
    const error = this.send(this.target.name, this.target.abstract, state);
    if (error === null) {
      this.failed = false;
      return;
    }
    // Once per outage, not per watchdog ping.
    if (!this.failed) this.log.warning(`cannot notify systemd at ${this.target.abstract ? '@' : ''}${this.target.name}: ${error}`);
    this.failed = true;
  }
}

function defaultSender(): DatagramSend | string {
  const addon = loadNative();
  return addon === null ? addonError : (name, abstract, data) => addon.sendto(name, abstract, data);
}
