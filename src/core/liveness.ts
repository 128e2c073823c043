// Connection liveness (docs/semantics.md §7): the handshake deadline, the v3
// idle limit with its ACTIVE → TENTATIVE → TIMED_OUT state machine and
// server-initiated track queries. One timer wheel per domain holds every
// connection; a message from a client only moves a number (see
// TimerWheel), so busy clients cost no work there.

import type { Clock } from './clock';
import type { Session } from './session';
import { TimerWheel } from './timer-wheel';

/**
 * A connection must complete hello this long after accept, TLS handshake
 * included (docs/protocol.md §5.3, docs/semantics.md §7.6). The original closes
 * 2–3 s after accept (a 2 s limit checked once a second); real clients
 * rely on the generous end: one whose first hello got no answer retries
 * after its own 2 s timeout, and through a proxy that opened its upstream
 * connection at once the retried hello reaches us about 2.05 s after
 * accept. So 3 s, on the domain's timer slots: closed 3.00–3.02 s.
 */
export const HANDSHAKE_TIMEOUT = 3;
/** The warning timer is armed at U(0.45, 0.55)·max_idle after activity. */
const WARNING_MIN = 0.45;
const WARNING_SPREAD = 0.10;
/** After the warning, the client has this fraction of max_idle to show life. */
const TIMEOUT_FRACTION = 0.5;

export interface IdleLimits { min: number; max: number }

/** Why the liveness machinery wants a connection closed. */
export type ExpiryReason = 'handshake timeout' | 'idle timeout';

export class Liveness {
  readonly queue: TimerWheel<Session>;

  constructor(
    private readonly clock: Clock,
    public idle: IdleLimits,
    private readonly random: () => number = Math.random,
  ) {
    this.queue = new TimerWheel<Session>(clock);
  }

  /** max_idle of docs/semantics.md §7.2: bounded by the lowest TTL bound to the connection. */
  maxIdle(session: Session): number {
    const ttl = session.lowestTtl();
    if (ttl === Infinity) return this.idle.max;
    return Math.min(this.idle.max, Math.max(this.idle.min, ttl));
  }

  /** A transport connection was accepted: start its handshake deadline. */
  accepted(session: Session): void {
    this.queue.schedule(session, session.acceptedMono + HANDSHAKE_TIMEOUT);
  }

  /**
   * The handshake completed. v3 connections get the idle timer; v2 ones
   * rely on transport keepalive and get no timer at all, so an idle v2
   * client costs no wake-ups (docs/discrepancies.md B18 allows either).
   */
  handshaked(session: Session): void {
    session.liveness = 'active';
    session.lastSeen = this.clock.now();
    if (session.version === 3) this.armWarning(session);
    else this.queue.cancel(session);
  }

  /**
   * Any message on a handshaked connection, and after each publish/unpublish;
   * `now` when the caller has read the clock already (the message's reception).
   */
  activity(session: Session, now: number = this.clock.now()): void {
    session.lastSeen = now;
    if (session.liveness === 'timed-out') return;
    session.liveness = 'active';
    if (session.version === 3) this.armWarning(session);
  }

  /**
   * Runs the "warning timer fires" step right away if the connection is
   * ACTIVE: used when a duplicate hello claims this client id (§7.5).
   */
  probe(session: Session): void {
    if (session.version === 3 && session.liveness === 'active') this.warn(session);
  }

  /** A track `reply` inform arrived. Returns false if no query was outstanding (a protocol error). */
  replied(session: Session): boolean {
    const track = session.track;
    if (!track || track.querySentAt === undefined) return false;
    track.latency = this.clock.now() - track.querySentAt;
    track.querySentAt = undefined;
    return true;
  }

  forget(session: Session): void {
    this.queue.cancel(session);
  }

  /** Handles every deadline that has passed; calls expire for each connection to close. */
  fire(expire: (session: Session, reason: ExpiryReason) => void): void {
    const now = this.clock.now();
    for (let s = this.queue.popDue(now); s; s = this.queue.popDue(now)) {
      if (!s.handshaked) expire(s, 'handshake timeout');
      else if (s.liveness === 'active') this.warn(s);
      else {
        s.liveness = 'timed-out';
        expire(s, 'idle timeout');
      }
    }
  }

  private armWarning(session: Session): void {
    const delay = (WARNING_MIN + WARNING_SPREAD * this.random()) * this.maxIdle(session);
    this.queue.schedule(session, session.lastSeen + delay);
  }

  /** The warning step: go TENTATIVE, query a tracking client, give it half of max_idle. */
  private warn(session: Session): void {
    const now = this.clock.now();
    session.liveness = 'tentative';
    const track = session.track;
    if (track && track.querySentAt === undefined) {
      track.querySentAt = now;
      session.send(track.query);
    }
    this.queue.schedule(session, now + TIMEOUT_FRACTION * this.maxIdle(session));
  }
}
