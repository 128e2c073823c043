// The runtime of one domain: its server sockets, its connections, its
// directory and liveness machinery, and the single event-loop timer that
// serves every deadline of the domain (handshakes, idle limits, orphan
// TTLs). Nothing is shared between domains (docs/semantics.md §9).

import type { Clock } from '../core/clock';
import { ConnectionAdmission } from '../core/admission';
import { Directory } from '../core/directory';
import type { IdleLimits } from '../core/liveness';
import { Liveness } from '../core/liveness';
import type { Limits } from '../core/limits';
import { ResourceLimits } from '../core/limits';
import type { MemoryLimits } from '../core/budget';
import { MemoryBudget } from '../core/budget';
import { Session } from '../core/session';
import { logText } from '../log/escape';
import type { LogLevel, Logger } from '../log/logger';
import type { Address } from '../transport/address';
import { parseAddress } from '../transport/address';
import { listenTcp } from '../transport/tcp';
import { listenTls } from '../transport/tls';
import { resolveTlsFiles } from '../transport/tls-credentials';
import { listenUtls } from '../transport/utls';
import { listenUx } from '../transport/ux';
import type { LocalUsers, SocketConfig } from '../config/config';
import type { MessageConnection, MessageListener } from '../transport/types';
import { ClientConnection, WORK_SLICE_MS } from './connection';
import { TimeSlice } from '../core/walk';
import { DomainCounters, closeCategory } from './metrics';
import { DomainTimer } from './domain-timer';

export interface DomainSettings {
  name?: string;
  sockets: SocketConfig[];
  /** Absent: shared (every local client is the user `default`). */
  localUsers?: LocalUsers;
  protocolVersion: { min: number; max: number };
  idle: IdleLimits;
  limits: { total: Limits; user: Limits };
  /** Byte budgets as in effect (configured or derived from the heap: memoryLimitsOf). */
  memory: MemoryLimits;
}

/** How loudly a close is logged, by closeCategory(), for handshaked clients. */
const CLOSE_LEVEL: Readonly<Record<string, LogLevel>> = {
  'peer-closed': 'info', 'idle-timeout': 'info', 'shutdown': 'debug', 'protocol-error': 'warning',
  'output-overflow': 'warning', 'input-overflow': 'warning', 'message-too-large': 'warning', 'internal-error': 'error',
};
/** Before hello, only protocol errors are worth more than debug (scanners and probes are routine). */
const PRE_HELLO_CLOSE_LEVEL: Readonly<Record<string, LogLevel>> = {
  'protocol-error': 'info', 'message-too-large': 'info', 'internal-error': 'error',
};


let nextSerial = 1;

export class DomainServer {
  readonly directory: Directory;
  readonly liveness: Liveness;
  /** Every open connection of the domain, handshaked or not. */
  readonly connections = new Set<ClientConnection>();
  /** Open connections in total and per user, hello or not. */
  private readonly admission = new ConnectionAdmission();
  readonly listeners: MessageListener[] = [];
  /** Traffic counters (plain increments; read by the metrics endpoint). */
  readonly counters = new DomainCounters();
  /** Time slice of one request's listing or burst per turn (reused). */
  readonly slice: TimeSlice;
  /** The one timer serving every deadline of the domain. */
  private readonly timer: DomainTimer;
  private stopping = false;

  constructor(
    readonly settings: DomainSettings,
    readonly clock: Clock,
    readonly log: Logger,
  ) {
    this.directory = new Directory(clock, new ResourceLimits(settings.limits.total, settings.limits.user), new MemoryBudget(settings.memory));
    this.liveness = new Liveness(clock, settings.idle);
    this.slice = new TimeSlice(clock, WORK_SLICE_MS / 1000);
    this.timer = new DomainTimer(clock,
      () => Math.min(this.liveness.queue.nextKey(), this.directory.orphans.nextKey()),
      () => this.onTimer());
  }

  /** Prefix for log lines: the domain name if it has one. */
  get label(): string { return this.settings.name ? `[${this.settings.name}] ` : ''; }

  get protocolRange(): { min: number; max: number } { return this.settings.protocolVersion; }

  /** Binds every socket of the domain; on failure closes what was bound and rejects. */
  async start(): Promise<void> {
    try {
      for (const socket of this.settings.sockets) {
        const addr = parseAddress(socket.addr);
        const listener = await this.listen(addr, socket);
        listener.onAcceptError = (code) => this.log.warning(
          `${this.label}accepting on ${listener.address} failed: ${code}; pausing accepts briefly (logged once until an accept succeeds)`);
        this.listeners.push(listener);
        this.log.info(`${this.label}listening on ${listener.address}`);
      }
      const memory = this.settings.memory;
      this.log.info(`${this.label}memory budget ${memory.total ?? 'unlimited'} bytes, ${memory.user ?? 'unlimited'} per user`);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private listen(addr: Address, socket: SocketConfig): Promise<MessageListener> {
    const accept = (conn: MessageConnection) => this.accept(conn);
    // A rejected certificate (revoked, expired, unknown CA) is worth a
    // warning; other handshake failures are routine (scanners): debug.
    const handshakeFailed = (remote: string, reason: string) => {
      this.counters.connectionClosed('tls-handshake-failed');
      this.log.log(reason.startsWith('peer certificate rejected') ? 'warning' : 'debug',
        `${this.label}TLS handshake with ${logText(remote)} failed: ${logText(reason)}`);
    };
    switch (addr.transport) {
      case 'tcp':
        return listenTcp(addr, accept);
      case 'tls':
        return listenTls(addr, resolveTlsFiles(socket.tls), accept, handshakeFailed);
      case 'utls':
        return listenUtls(addr, resolveTlsFiles(socket.tls), accept, handshakeFailed);
      case 'ux':
      case 'uxf':
        return listenUx(addr, accept, { perUid: this.settings.localUsers === 'per-uid', mode: socket.mode, group: socket.group });
      default:
        return Promise.reject(new Error(`${socket.addr}: transport ${addr.transport} is not supported by this build`));
    }
  }

  /** A transport connection arrived on one of the domain's sockets. */
  accept(conn: MessageConnection): void {
    if (this.stopping) {
      this.counters.connectionClosed('shutdown');
      conn.close('server stopping');
      return;
    }
    // Connection admission (src/core/admission.ts): the total client limit
    // also caps open connections, hello or not, and silent connections
    // take slots of their user's quota, so one user cannot lock others out.
    const { total, user } = this.settings.limits;
    const refusal = this.admission.admit(conn.user, total, user);
    if (refusal) {
      this.log.warning(refusal.scope === 'total'
        ? `${this.label}refusing connection from ${logText(conn.remoteAddress)} (user ${logText(conn.user)}): ${refusal.held} connections open, client limit ${refusal.limit}`
        : `${this.label}refusing connection from ${logText(conn.remoteAddress)} (user ${logText(conn.user)}): ${refusal.held} connections of this user open, limit ${refusal.limit}`);
      this.counters.connectionClosed('connection-limit');
      conn.close(refusal.scope === 'total' ? 'connection limit reached' : 'per-user connection limit reached');
      return;
    }
    let client: ClientConnection | undefined = undefined;
    // The handshake deadline runs from the transport's accept, TLS handshake included (docs/semantics.md §7.6).
    const acceptedMono = this.clock.now() - Math.max(0, conn.setupSeconds ?? 0);
    const session = new Session(nextSerial++, conn.remoteAddress, conn.user, this.clock.wall(), acceptedMono, (m) => client!.send(m));
    client = new ClientConnection(this, session, conn);
    this.connections.add(client);
    this.liveness.accepted(session);
    this.reschedule();
    if (this.log.enabled('debug')) this.log.debug(`${this.label}accepted connection from ${logText(conn.remoteAddress)} (user ${logText(conn.user)})`);
  }

  /** Bookkeeping once a connection is gone (called by ClientConnection). */
  closed(client: ClientConnection, reason: string | undefined): void {
    if (!this.connections.delete(client)) return;
    const session = client.session;
    this.admission.release(session.user);
    session.closed = true;
    this.liveness.forget(session);
    const category = closeCategory(reason);
    this.counters.connectionClosed(category);
    client.flushLogSummaries();
    if (session.handshaked) {
      this.directory.disconnect(session);
      this.log.log(CLOSE_LEVEL[category] ?? 'info', `${this.label}${session.describe()} disconnected: ${reason ?? 'closed'}`);
    } else {
      this.log.log(PRE_HELLO_CLOSE_LEVEL[category] ?? 'debug', `${this.label}${session.describe()} closed before handshake: ${reason ?? 'closed'}`);
    }
    this.reschedule();
  }

  /** Arms the domain's one timer for the earliest deadline, if that is sooner than what is armed. */
  reschedule(): void {
    this.timer.reschedule();
  }

  private onTimer(): void {
    this.liveness.fire((session, reason) => session.terminate(reason));
    const expired = this.directory.expireOrphans();
    if (expired) this.log.debug(`${this.label}${expired} orphan service(s) expired`);
  }

  /** Closes every connection (orphaning their services) and every server socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of [...this.connections]) c.close('server shutting down');
    this.timer.stop();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
  }
}
