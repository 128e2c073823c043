// The protocol state of one client connection, as the pure core sees it.
// The I/O layer creates one per accepted transport connection and gives it
// a sink for outgoing messages; the core never touches a socket.

import { logText } from '../log/escape';
import type { Wheeled } from './timer-wheel';
import type { Service } from './service';
import type { Subscription } from './subscription';
import type { Command, ProtocolVersion } from '../protocol/schema';

/** Liveness state machine of docs/semantics.md §7.3. */
export type LivenessState = 'active' | 'tentative' | 'timed-out';

export interface TrackState {
  taId: bigint;
  /** The query notify of this transaction, made once: sent every 0.45–0.55 · max_idle for the connection's life. */
  query: string;
  /** Monotonic send time of our outstanding query, or undefined. */
  querySentAt: number | undefined;
  /** Round-trip time of the last answered query, seconds. */
  latency: number | undefined;
}

export class Session implements Wheeled {
  /** Recorded by the first hello, even if that hello fails (docs/protocol.md §5.2). */
  clientId: bigint | undefined = undefined;
  /** Negotiated version once the handshake succeeded, else undefined. */
  version: ProtocolVersion | undefined = undefined;
  /** Transactions that stay open after their request: live subscribes and the track. */
  readonly open = new Map<bigint, Command>();
  /** Services bound to this connection: they become orphans when it closes. */
  readonly services = new Set<Service>();
  /** Subscriptions created on this connection, by subscription id. */
  readonly subscriptions = new Map<bigint, Subscription>();
  track: TrackState | undefined = undefined;

  liveness: LivenessState = 'active';
  /** Monotonic time of the last message received (after the handshake). */
  lastSeen: number;
  closed = false;
  /** Closes the connection from the core's side (liveness expiry); installed by the I/O layer. */
  terminate: (reason: string) => void = () => {};

  /**
   * How many bound services have each TTL. A connection's services
   * usually share one or two TTLs, so the lowest one is found among a
   * few keys instead of by scanning every bound service (which made each
   * unpublish O(services) on a connection holding 10,000 of them).
   */
  private readonly ttlCounts = new Map<number, number>();
  private minTtl: number = Infinity;

  // Wheeled (the liveness timer wheel's membership): handshake deadline
  // before hello, liveness timer after.
  due = Infinity;
  wheelSlot = -1;
  wheelPrev: Wheeled | undefined = undefined;
  wheelNext: Wheeled | undefined = undefined;

  constructor(
    /** Connection id for logs, unique in the process. */
    readonly serial: number,
    /** Remote address as XCM renders it (client-address). */
    readonly address: string,
    /** User id derived from the transport (docs/semantics.md §8.1). */
    readonly user: string,
    /** Wall-clock accept time, seconds. */
    readonly acceptedAt: number,
    /** Monotonic accept time, seconds. */
    readonly acceptedMono: number,
    /** Delivers one serialized message to the peer. */
    readonly send: (message: string) => void,
  ) {
    this.lastSeen = acceptedMono;
  }

  get handshaked(): boolean { return this.version !== undefined; }

  /** Binds a service (idempotent); it becomes an orphan when this connection closes. */
  bind(service: Service): void {
    if (this.services.has(service)) return;
    this.services.add(service);
    const ttl = Number(service.ttl);
    this.ttlCounts.set(ttl, (this.ttlCounts.get(ttl) ?? 0) + 1);
    if (ttl < this.minTtl) this.minTtl = ttl;
  }

  /**
   * Unbinds a service. Its TTL must still be the one it was bound with:
   * a TTL change unbinds first and binds again afterwards.
   */
  unbind(service: Service): void {
    if (!this.services.delete(service)) return;
    const ttl = Number(service.ttl);
    const left = (this.ttlCounts.get(ttl) ?? 1) - 1;
    if (left > 0) {
      this.ttlCounts.set(ttl, left);
      return;
    }
    this.ttlCounts.delete(ttl);
    if (ttl === this.minTtl) {
      let min = Infinity;
      for (const t of this.ttlCounts.keys()) if (t < min) min = t;
      this.minTtl = min;
    }
  }

  /** Forgets every bound service at once (the connection closed). */
  unbindAll(): void {
    this.services.clear();
    this.ttlCounts.clear();
    this.minTtl = Infinity;
  }

  /** Lowest TTL of the services bound to this connection (Infinity if none). */
  lowestTtl(): number {
    return this.minTtl;
  }

  /** Human-readable identity for log lines. */
  describe(): string {
    const id = this.clientId === undefined ? '-' : `0x${this.clientId.toString(16)}`;
    // The address (a ux peer's socket name) and the user (a certificate's
    // SKI) come from the peer: escaped for the log line this ends up in.
    return `client ${id} (${logText(this.address)}, user ${logText(this.user)})`;
  }
}
