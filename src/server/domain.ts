// The runtime of one domain: its server sockets, its connections, its
// directory and liveness machinery, and the single event-loop timer that
// serves every deadline of the domain (handshakes, idle limits, orphan
// TTLs). Nothing is shared between domains (semantics.md §9).

import type { Clock } from '../core/clock';
import { Directory } from '../core/directory';
import type { IdleLimits } from '../core/liveness';
import { Liveness } from '../core/liveness';
import type { Limits } from '../core/limits';
import { ResourceLimits } from '../core/limits';
import type { MemoryLimits } from '../core/budget';
import { MemoryBudget } from '../core/budget';
import { Session } from '../core/session';
import type { LogLevel, Logger } from '../log/logger';
import type { Address } from '../transport/address';
import { parseAddress } from '../transport/address';
import { listenTcp } from '../transport/tcp';
import { listenTls } from '../transport/tls';
import { resolveTlsFiles } from '../transport/tls-credentials';
import { listenUtls } from '../transport/utls';
import { listenUx } from '../transport/ux';
import type { TlsFiles } from '../config/config';
import type { MessageConnection, MessageListener } from '../transport/types';
import { ClientConnection } from './connection';
import { DomainCounters, closeCategory } from './metrics';

export interface DomainSettings {
  name?: string;
  sockets: { addr: string; tls?: TlsFiles }[];
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

/** Timer slack: setTimeout has millisecond granularity. */
const TIMER_SLACK_MS = 1;
/**
 * The domain timer fires on slots of this many milliseconds (of the
 * monotonic clock), never earlier than the deadline it serves. With
 * 20,000 tracking clients a deadline falls due about every millisecond;
 * firing per deadline woke the process 1,300 times a second for two
 * track queries each. On 20 ms slots one wake-up handles every deadline
 * of the slot. Being up to 20 ms late is far inside the liveness windows
 * (multiples of 0.05 · max_idle ≥ 50 ms) and the orphan TTLs (seconds).
 */
export const TIMER_SLOT_MS = 20;
/** Connections beyond its client limit a user may hold while connecting (at least). */
const USER_PENDING_CONNECTIONS = 8;

let nextSerial = 1;

export class DomainServer {
  readonly directory: Directory;
  readonly liveness: Liveness;
  /** Every open connection of the domain, handshaked or not. */
  readonly connections = new Set<ClientConnection>();
  /** Open connections per user, hello or not: per-user admission. */
  private readonly userConnections = new Map<string, number>();
  readonly listeners: MessageListener[] = [];
  /** Traffic counters (plain increments; read by the metrics endpoint). */
  readonly counters = new DomainCounters();
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerDue = Infinity;
  private stopping = false;

  constructor(
    readonly settings: DomainSettings,
    readonly clock: Clock,
    readonly log: Logger,
  ) {
    this.directory = new Directory(clock, new ResourceLimits(settings.limits.total, settings.limits.user), new MemoryBudget(settings.memory));
    this.liveness = new Liveness(clock, settings.idle);
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

  private listen(addr: Address, socket: { addr: string; tls?: TlsFiles }): Promise<MessageListener> {
    const accept = (conn: MessageConnection) => this.accept(conn);
    // A rejected certificate (revoked, expired, unknown CA) is worth a
    // warning; other handshake failures are routine (scanners): debug.
    const handshakeFailed = (remote: string, reason: string) => {
      this.counters.connectionClosed('tls-handshake-failed');
      this.log.log(reason.startsWith('peer certificate rejected') ? 'warning' : 'debug',
        `${this.label}TLS handshake with ${remote} failed: ${reason}`);
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
        return listenUx(addr, accept);
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
    // Connection admission (semantics.md §8.3): the total client limit also
    // caps open connections, hello or not. Node cannot leave a connection
    // waiting in the kernel backlog, so the excess one is closed at once.
    const cap = this.settings.limits.total.clients;
    if (cap !== undefined && this.connections.size >= cap) {
      this.log.warning(`${this.label}refusing connection from ${conn.remoteAddress} (user ${conn.user}): ${this.connections.size} connections open, client limit ${cap}`);
      this.counters.connectionClosed('connection-limit');
      conn.close('connection limit reached');
      return;
    }
    // Per-user admission: a user may hold its client limit in live
    // connections plus as many again (at least USER_PENDING_CONNECTIONS)
    // connecting or retrying a hello. Without it one user could fill the
    // total limit above with hellos that fail insufficient-resources (each
    // stays open until its 2 s handshake deadline) and lock everyone else
    // out (docs/RELIABILITY.md).
    const userCap = this.userConnectionCap();
    const held = this.userConnections.get(conn.user) ?? 0;
    if (userCap !== undefined && held >= userCap) {
      this.log.warning(`${this.label}refusing connection from ${conn.remoteAddress} (user ${conn.user}): ${held} connections of this user open, limit ${userCap}`);
      this.counters.connectionClosed('connection-limit');
      conn.close('per-user connection limit reached');
      return;
    }
    this.userConnections.set(conn.user, held + 1);
    let client: ClientConnection | undefined = undefined;
    const session = new Session(nextSerial++, conn.remoteAddress, conn.user, this.clock.wall(), this.clock.now(), (m) => client!.send(m));
    client = new ClientConnection(this, session, conn);
    this.connections.add(client);
    this.liveness.accepted(session);
    this.reschedule();
    this.log.debug(`${this.label}accepted connection from ${conn.remoteAddress} (user ${conn.user})`);
  }

  /** Connections one user may hold at once, or undefined without a per-user client limit. */
  private userConnectionCap(): number | undefined {
    const perUser = this.settings.limits.user.clients;
    return perUser === undefined ? undefined : perUser + Math.max(perUser, USER_PENDING_CONNECTIONS);
  }

  /** Bookkeeping once a connection is gone (called by ClientConnection). */
  closed(client: ClientConnection, reason: string | undefined): void {
    if (!this.connections.delete(client)) return;
    const session = client.session;
    const held = (this.userConnections.get(session.user) ?? 1) - 1;
    if (held > 0) this.userConnections.set(session.user, held);
    else this.userConnections.delete(session.user);
    session.closed = true;
    this.liveness.forget(session);
    const category = closeCategory(reason);
    this.counters.connectionClosed(category);
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
    const next = Math.min(this.liveness.queue.nextKey(), this.directory.orphans.nextKey());
    if (next === Infinity) return;
    const slot = (Math.ceil((next * 1000 + TIMER_SLACK_MS) / TIMER_SLOT_MS) * TIMER_SLOT_MS) / 1000;
    if (slot >= this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = slot;
    const delayMs = Math.max(0, Math.ceil((slot - this.clock.now()) * 1000));
    this.timer = setTimeout(() => this.onTimer(), delayMs);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    this.liveness.fire((session, reason) => session.terminate(reason));
    const expired = this.directory.expireOrphans();
    if (expired) this.log.debug(`${this.label}${expired} orphan service(s) expired`);
    this.reschedule();
  }

  /** Closes every connection (orphaning their services) and every server socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of [...this.connections]) c.close('server shutting down');
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
  }
}
