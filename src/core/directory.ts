// The service directory of one domain: services, clients and subscriptions,
// and every decision the protocol makes about them (docs/semantics.md §1–§6, §8).
// This is where a publish, an unpublish, a subscribe or a disconnect is
// decided. Pure: no sockets, time from an injected clock, output through
// each session's `send`.

import type { Clock } from './clock';
import type { Filter } from './filter';
import { matchFilter } from './filter';
import type { Props } from '../protocol/props';
import { propsEqual } from '../protocol/props';
import { ClientRecord } from './client';
import { ResourceLimits } from './limits';
import type { PropsSize } from './budget';
import { MemoryBudget, countFilterNodes, measureProps, serviceBytes, subscriptionBytes } from './budget';
import { OrphanTimer, Service } from './service';
import type { Session } from './session';
import { Subscription } from './subscription';
import { SubscriptionIndex } from './subscription-index';
import { ServiceIndex } from './service-index';
import { TimerQueue } from './timer-queue';
import { Walk } from './walk';
import { encodeProps, encodeWallTime, envelope } from '../protocol/encode';

export type FailReason =
  | 'no-hello' | 'unsupported-protocol-version' | 'client-id-exists' | 'permission-denied'
  | 'insufficient-resources' | 'track-exists' | 'subscription-id-exists' | 'invalid-filter-syntax'
  | 'non-existent-subscription-id' | 'non-existent-service-id' | 'old-generation'
  | 'same-generation-but-different';

/** Outcome of registering a client at hello time. */
export type RegisterResult =
  | { ok: true }
  | { ok: false; reason: FailReason; existing?: Session };

/** Counters of what happened, for logs, metrics and tests. */
export interface DirectoryStats {
  notifications: number;
  expired: number;
}

/**
 * An orphan's deadline is at most this many seconds away (about 136
 * years): a TTL from the wire may be up to 2^63−1 s, and a deadline must
 * stay a plain, exactly comparable number.
 */
export const MAX_ORPHAN_TTL = 2 ** 32;

/** Orders a burst's services (their publish order). */
const seqOf = (s: Service): number => s.seq;

/**
 * The largest message libpaf, the Python client and the original server
 * can receive (docs/protocol.md §1). A service whose notifications would be
 * larger is refused: every matching subscriber's connection would break.
 */
export const MAX_NOTIFICATION_BYTES = 65535;
const MAX_UINT63_TEXT = '9223372036854775807';
/**
 * Bytes of the largest notification of a service around its serialized
 * props: every number at its longest (orphan-since is a wall-clock time
 * in seconds with a fraction).
 */
const NOTIFICATION_OVERHEAD_BYTES = (`{"ta-cmd":"subscribe","ta-id":${MAX_UINT63_TEXT},"msg-type":"notify","match-type":"appeared",`
  + `"service-id":${MAX_UINT63_TEXT},"generation":${MAX_UINT63_TEXT},"service-props":,"ttl":${MAX_UINT63_TEXT},`
  + `"client-id":${MAX_UINT63_TEXT},"orphan-since":${'9'.repeat(24)}}`).length;
/** UTF-8 bytes one UTF-16 unit of a name or value can take serialized (a \u00XX escape). */
const MAX_BYTES_PER_CHAR = 6;
/** Serialized bytes around a name (quotes, colon, brackets, comma) and a value (quotes or 20 digits, comma). */
const MAX_BYTES_PER_NAME = 6;
const MAX_BYTES_PER_VALUE = 21;

const MATCH_APPEARED = '"match-type":"appeared"';
const MATCH_MODIFIED = '"match-type":"modified"';

export class Directory {
  readonly services = new Map<bigint, Service>();
  readonly clients = new Map<bigint, ClientRecord>();
  readonly subscriptions = new Map<bigint, Subscription>();
  readonly orphans = new TimerQueue<OrphanTimer>();
  readonly stats: DirectoryStats = { notifications: 0, expired: 0 };
  private readonly index = new SubscriptionIndex<Subscription>();
  /** Services by the prop values subscriptions test for equality: initial bursts. */
  private readonly serviceIndex = new ServiceIndex<Service>();
  private nextSeq = 0;
  private orphanCount = 0;

  /**
   * Why the last `insufficient-resources` was answered: the limit or
   * budget, named for the log line of the refusal (set only on refusals).
   */
  refusal = '';
  /** Props serialized by the last tooLargeToNotify that had to (handed to the service: no second encoding). */
  private checkedJson: string | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    readonly limits: ResourceLimits = new ResourceLimits(),
    readonly budget: MemoryBudget = new MemoryBudget(),
  ) {}

  get orphanTotal(): number { return this.orphanCount; }

  // ---------------------------------------------------------------- clients

  /** Step 6 of the hello procedure (docs/protocol.md §5.2): make `session` the live connection of its client id. */
  register(session: Session, clientId: bigint): RegisterResult {
    let client = this.clients.get(clientId);
    if (client?.session) return { ok: false, reason: 'client-id-exists', existing: client.session };
    if (client && client.user !== session.user) return { ok: false, reason: 'permission-denied' };
    if (!this.limits.tryAllocate('clients', session.user)) return this.refuseClient('client limit');
    if (!client) {
      client = new ClientRecord(clientId, session.user);
      this.clients.set(clientId, client);
    }
    client.session = session;
    return { ok: true };
  }

  /**
   * A handshaked connection closed (docs/semantics.md §6.1): its subscriptions
   * vanish silently, its bound services become orphans, its client
   * resource is released. A connection that never completed hello leaves
   * no trace, so callers only pass handshaked sessions.
   */
  disconnect(session: Session): void {
    for (const sub of session.subscriptions.values()) this.dropSubscription(sub);
    session.subscriptions.clear();
    session.open.clear();

    const since = this.clock.wall();
    const now = this.clock.now();
    for (const service of session.services) {
      service.boundTo = undefined;
      const orphan = new OrphanTimer(service, since);
      service.orphan = orphan;
      this.orphanCount++;
      this.orphans.schedule(orphan, now + Math.min(Number(service.ttl), MAX_ORPHAN_TTL));
      this.announceModified(service, service.props);
    }
    session.unbindAll();

    const client = this.clients.get(session.clientId!);
    if (client && client.session === session) {
      client.session = undefined;
      this.limits.release('clients', session.user);
      if (client.disposable) this.clients.delete(client.id);
    }
  }

  // --------------------------------------------------------------- services

  /**
   * The publish decision table (docs/semantics.md §3). Returns a fail reason,
   * or undefined on success. `size` is what decodeProps counted (measured
   * here when absent); a service is charged serviceBytes(size).
   */
  publish(session: Session, id: bigint, generation: bigint, props: Props, ttl: bigint, size?: PropsSize): FailReason | undefined {
    const client = this.clientOf(session);
    const existing = this.services.get(id);

    // Row 1: a new service.
    if (!existing) {
      size ??= measureProps(props);
      if (this.tooLargeToNotify(props, size)) return this.refuse('notification larger than 65535 bytes');
      const json = this.checkedJson;
      if (!this.limits.tryAllocate('services', session.user)) return this.refuse('service limit');
      const bytes = serviceBytes(size);
      const over = this.budget.tryCharge(session.user, 'services', bytes);
      if (over !== undefined) {
        this.limits.release('services', session.user);
        return this.refuse(this.budget.describe(over, session.user));
      }
      const service = new Service(id, generation, props, ttl, client, session.user);
      service.charge = bytes;
      if (json !== undefined) service.primePropsJson(json);
      service.seq = this.nextSeq++;
      this.services.set(id, service);
      this.serviceIndex.added(service);
      client.services.count++;
      service.boundTo = session;
      session.bind(service);
      this.announceAdded(service);
      return undefined;
    }
    const s = existing;
    // Row 2: another user's service.
    if (s.user !== session.user) return 'permission-denied';

    if (generation === s.generation) {
      // Row 3: same generation must mean same data.
      if (ttl !== s.ttl || !propsEqual(props, s.props)) return 'same-generation-but-different';
      if (s.owner !== client) {
        // Row 4: takeover by another client of the same user.
        this.rebind(s, client, session);
        this.announceModified(s, s.props);
      } else if (s.isOrphan) {
        // Row 5: the owner reclaims its orphan (re-bound: fixes B7).
        this.rebind(s, client, session);
        this.announceModified(s, s.props);
      } else {
        // Row 6: idempotent refresh; still make sure of the binding.
        if (s.boundTo !== session) this.rebind(s, client, session);
      }
      return undefined;
    }
    // Row 8: an older generation.
    if (generation < s.generation) return 'old-generation';

    // Row 7: a newer generation is always a modification. New props are
    // checked and charged first: a refusal leaves the service as it was.
    const oldProps = s.props;
    let json: string | undefined;
    if (props !== oldProps) {
      size ??= measureProps(props);
      if (this.tooLargeToNotify(props, size)) return this.refuse('notification larger than 65535 bytes');
      json = this.checkedJson;
      const bytes = serviceBytes(size);
      if (bytes > s.charge) {
        const over = this.budget.tryCharge(s.user, 'services', bytes - s.charge);
        if (over !== undefined) return this.refuse(this.budget.describe(over, s.user));
      } else if (bytes < s.charge) {
        this.budget.release(s.user, 'services', s.charge - bytes);
      }
      s.charge = bytes;
    }
    const ttlChanged = ttl !== s.ttl;
    // A connection's idle limit follows the TTLs bound to it (docs/semantics.md
    // §7.2): unbind under the old TTL, rebind below under the new one.
    if (ttlChanged && s.boundTo) {
      s.boundTo.unbind(s);
      s.boundTo = undefined;
    }
    s.generation = generation;
    s.props = props;
    if (json !== undefined) s.primePropsJson(json);
    s.ttl = ttl;
    if (props !== oldProps) this.serviceIndex.changed(s, oldProps);
    this.rebind(s, client, session);
    this.announceModified(s, oldProps);
    return undefined;
  }

  /** The unpublish decision table (docs/semantics.md §4). */
  unpublish(session: Session, id: bigint): FailReason | undefined {
    const s = this.services.get(id);
    if (!s) return 'non-existent-service-id';
    if (s.user !== session.user) return 'permission-denied';
    const client = this.clientOf(session);
    if (s.owner !== client || s.isOrphan) {
      // Row 3: implicit takeover first, so subscribers see who removed it.
      this.rebind(s, client, session);
      this.announceModified(s, s.props);
    }
    this.remove(s);
    return undefined;
  }

  /** Removes every orphan whose TTL ran out by now, in deadline order (docs/semantics.md §6.2). */
  expireOrphans(): number {
    const now = this.clock.now();
    let n = 0;
    for (let t = this.orphans.popDue(now); t; t = this.orphans.popDue(now)) {
      this.remove(t.service);
      n++;
    }
    this.stats.expired += n;
    return n;
  }

  /** Owner becomes `client`, orphan state cleared, bound to `session`. */
  private rebind(s: Service, client: ClientRecord, session: Session): void {
    if (s.owner !== client) {
      const previous = s.owner;
      previous.services.count--;
      if (previous.disposable) this.clients.delete(previous.id);
      s.owner = client;
      client.services.count++;
    }
    if (s.orphan) {
      this.orphanCount--;
      this.orphans.cancel(s.orphan);
      s.orphan = undefined;
    }
    if (s.boundTo !== session) {
      s.boundTo?.unbind(s);
      s.boundTo = session;
    }
    session.bind(s);
  }

  private remove(s: Service): void {
    this.services.delete(s.id);
    this.serviceIndex.removed(s);
    if (s.orphan) {
      this.orphanCount--;
      this.orphans.cancel(s.orphan);
      s.orphan = undefined;
    }
    s.boundTo?.unbind(s);
    s.boundTo = undefined;
    const owner = s.owner;
    owner.services.count--;
    if (owner.disposable) this.clients.delete(owner.id);
    this.limits.release('services', s.user);
    this.budget.release(s.user, 'services', s.charge);
    this.announceRemoved(s);
  }

  /**
   * Whether a notification of these props could exceed
   * MAX_NOTIFICATION_BYTES. A bound from the counted size settles almost
   * every service at no cost; only props within reach of the limit are
   * serialized to know.
   */
  private tooLargeToNotify(props: Props, size: PropsSize): boolean {
    this.checkedJson = undefined;
    const bound = NOTIFICATION_OVERHEAD_BYTES + 2 + MAX_BYTES_PER_CHAR * size.chars
      + MAX_BYTES_PER_NAME * size.names + MAX_BYTES_PER_VALUE * size.values;
    if (bound <= MAX_NOTIFICATION_BYTES) return false;
    const json = encodeProps(props);
    if (NOTIFICATION_OVERHEAD_BYTES + Buffer.byteLength(json) > MAX_NOTIFICATION_BYTES) return true;
    this.checkedJson = json;
    return false;
  }

  private refuseClient(why: string): { ok: false; reason: 'insufficient-resources' } {
    this.refusal = why;
    return { ok: false, reason: 'insufficient-resources' };
  }

  private refuse(why: string): 'insufficient-resources' {
    this.refusal = why;
    return 'insufficient-resources';
  }

  private clientOf(session: Session): ClientRecord {
    const client = session.clientId === undefined ? undefined : this.clients.get(session.clientId);
    if (!client || client.session !== session) throw new Error('session is not the live connection of a registered client');
    return client;
  }

  // ---------------------------------------------------------- subscriptions

  /**
   * Creates a subscription (docs/protocol.md §6.3); the caller sends `accept`
   * and then steps burst(). Returns the subscription or a fail
   * reason (filter syntax is checked by the caller, before this). `nodes`
   * is the parser's node count (counted here when absent); the
   * subscription is charged subscriptionBytes of its text and nodes.
   */
  subscribe(session: Session, id: bigint, taId: bigint, filter: Filter | null, filterText: string | undefined, nodes?: number): Subscription | FailReason {
    if (this.subscriptions.has(id)) return 'subscription-id-exists';
    if (!this.limits.tryAllocate('subscriptions', session.user)) return this.refuse('subscription limit');
    const bytes = subscriptionBytes(filterText?.length ?? 0, filter === null ? 0 : nodes ?? countFilterNodes(filter));
    const over = this.budget.tryCharge(session.user, 'subscriptions', bytes);
    if (over !== undefined) {
      this.limits.release('subscriptions', session.user);
      return this.refuse(this.budget.describe(over, session.user));
    }
    const sub = new Subscription(id, session, session.clientId!, taId, filter, filterText);
    sub.charge = bytes;
    this.subscriptions.set(id, sub);
    session.subscriptions.set(id, sub);
    session.open.set(taId, 'subscribe');
    this.index.add(sub, filter);
    this.serviceIndex.retain(this.index.guardOf(sub) ?? null);
    return sub;
  }

  /**
   * The initial burst: an `appeared` for every matching service, orphans
   * included, as a walk the caller steps (in one go, or a time slice per
   * turn for a large directory). While it is unfinished, changes to the
   * services it has yet to visit send this subscription nothing: the burst
   * reports them in their state when it gets there (a service removed
   * before then is never reported), so no `modified` or `disappeared`
   * ever comes before a service's `appeared`.
   */
  burst(sub: Subscription): Walk<Service> {
    // The guard the subscription index computed when it filed the subscription.
    const guard = this.index.guardOf(sub) ?? null;
    const candidates = this.serviceIndex.candidates(guard, this.services.values(), this.services.size);
    const walk: Walk<Service> = new Walk<Service>(
      candidates ? candidates.values() : this.services.values(),
      (s) => {
        // Dropped (its connection closed) while the burst was under way.
        if (sub.burst !== walk) return;
        if (sub.filter === null || matchFilter(sub.filter, s.props)) {
          sub.session.send(sub.notifyPrefix + MATCH_APPEARED + this.stateBody(s));
          this.stats.notifications++;
        }
      },
      (s) => this.services.get(s.id) === s,
      () => { if (sub.burst === walk) sub.burst = undefined; },
    );
    sub.burst = walk;
    return walk;
  }

  /**
   * Cancels a subscription (docs/protocol.md §6.4). On success the subscribe
   * transaction is completed here; the caller then completes the
   * unsubscribe transaction, in that order.
   */
  unsubscribe(session: Session, id: bigint): FailReason | undefined {
    const sub = this.subscriptions.get(id);
    if (!sub) return 'non-existent-subscription-id';
    if (sub.session !== session) return 'permission-denied';
    this.dropSubscription(sub);
    session.subscriptions.delete(id);
    session.open.delete(sub.taId);
    session.send(envelope('subscribe', sub.taId, 'complete') + '}');
    return undefined;
  }

  private dropSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub.id);
    sub.burst = undefined;
    this.serviceIndex.release(this.index.guardOf(sub) ?? null);
    this.index.remove(sub);
    this.limits.release('subscriptions', sub.session.user);
    this.budget.release(sub.session.user, 'subscriptions', sub.charge);
  }

  // ---------------------------------------------------------- notifications

  /** Members after "match-type" for appeared/modified: the service's current state. */
  private stateBody(s: Service): string {
    return `,${this.serviceListing(s)}}`;
  }

  private announceAdded(s: Service): void {
    // No subscription at all (a directory being filled): not even a closure.
    if (this.index.size === 0) return;
    let body: string | undefined;
    this.index.forEachCandidate(s.props, (sub) => {
      if (sub.filter !== null && !matchFilter(sub.filter, s.props)) return;
      body ??= MATCH_APPEARED + this.stateBody(s);
      sub.session.send(sub.notifyPrefix + body);
      this.stats.notifications++;
    });
  }

  private announceRemoved(s: Service): void {
    if (this.index.size === 0) return;
    const body = `"match-type":"disappeared","service-id":${s.id}}`;
    this.index.forEachCandidate(s.props, (sub) => {
      if (sub.burst !== undefined && sub.burst.waiting(s, seqOf)) return;
      if (sub.filter !== null && !matchFilter(sub.filter, s.props)) return;
      sub.session.send(sub.notifyPrefix + body);
      this.stats.notifications++;
    });
  }

  /** A MODIFIED change (docs/semantics.md §5): notifications decided on the filter before and after. */
  private announceModified(s: Service, oldProps: Props): void {
    if (this.index.size === 0) return;
    const newProps = s.props;
    let state: string | undefined;
    const stateOf = () => (state ??= this.stateBody(s));
    if (oldProps === newProps || propsEqual(oldProps, newProps)) {
      this.index.forEachCandidate(newProps, (sub) => {
        if (sub.burst !== undefined && sub.burst.waiting(s, seqOf)) return;
        if (sub.filter !== null && !matchFilter(sub.filter, newProps)) return;
        sub.session.send(sub.notifyPrefix + MATCH_MODIFIED + stateOf());
        this.stats.notifications++;
      });
      return;
    }
    const gone = `"match-type":"disappeared","service-id":${s.id}}`;
    this.index.forEachCandidate2(oldProps, newProps, (sub) => {
      if (sub.burst !== undefined && sub.burst.waiting(s, seqOf)) return;
      const before = sub.filter === null || matchFilter(sub.filter, oldProps);
      const after = sub.filter === null || matchFilter(sub.filter, newProps);
      if (after) sub.session.send(sub.notifyPrefix + (before ? MATCH_MODIFIED : MATCH_APPEARED) + stateOf());
      else if (before) sub.session.send(sub.notifyPrefix + gone);
      else return;
      this.stats.notifications++;
    });
  }

  // --------------------------------------------------------------- listings

  /** A service's state as notify members (docs/protocol.md §6.3, §6.6), without envelope or braces. */
  serviceListing(s: Service): string {
    let body = `"service-id":${s.id},"generation":${s.generation},"service-props":${s.propsJson},"ttl":${s.ttl},"client-id":${s.owner.id}`;
    if (s.orphanSince !== undefined) body += `,"orphan-since":${encodeWallTime(s.orphanSince)}`;
    return body;
  }
}
