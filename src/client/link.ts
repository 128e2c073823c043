// One link per server of a context (docs/client-library.md §5): it connects,
// greets, brings the server in line with the context's services and
// subscriptions, keeps checking that the server is alive (v3), and on any
// error starts over after a randomized, doubling back-off.
//
//   connecting ──► greeting ──► operational ──detach──► detaching ──► detached
//        ▲             │              │
//        └─ restarting ◄──────────────┘ (any error)
//
// What the server holds is tracked per service and subscription (a
// "relay"). Local changes only mark work; the relay sends one transaction
// at a time per object and looks again when it completes, so a burst of
// modifications ends in one publish of the latest generation.

import type { Props } from '../protocol/props';
import type { ProtocolVersion } from '../protocol/schema';
import { connect } from '../transport/connect';
import type { MessageConnection } from '../transport/types';
import type { ServerEntry } from './domain-files';
import { offeredVersions } from './domain-files';
import { IDLE_FLOOR } from './env';
import type { SourceId } from './merge';
import type { Scheduler } from './scheduler';
import { Task } from './scheduler';
import type { MatchNotification, SubscriptionEvent, TrackEvent } from './wire';
import { WireClient, describeServer } from './wire';

/** Link life-cycle states; `inactive` = the server's version limits exclude 2…3, it is never contacted. */
export type LinkState = 'connecting' | 'greeting' | 'operational' | 'restarting' | 'detaching' | 'detached' | 'closed' | 'inactive';

/** At most this many publish/unpublish/subscribe/unsubscribe transactions in flight per link (§5.3). */
export const MAX_IN_FLIGHT = 32;
/** Detach waits for the unpublish transactions at most this long, plus DETACH_PER_SERVICE per service (§7). */
const DETACH_BASE = 0.5;
const DETACH_PER_SERVICE = 0.001;
/** The next track query is due at half the idle limit, randomized by ±10 %, plus this margin (§5.6). */
const QUERY_JITTER = 0.1;
const QUERY_MARGIN = 0.1;

/** Timing settings of a link; the server entry's idle limits override idleMin/idleMax. */
export interface LinkSettings {
  reconnectMin: number;
  reconnectMax: number;
  idleMin: number;
  idleMax: number;
  /** The addon file for ux:/uxf: (attach's nativeAddon option); default: searched. */
  nativeAddon?: string;
}

/**
 * A link's idle limits: the server entry's, else the context's. The 1 s
 * floor holds for a domain file's minIdleTime too: 0 there would make the
 * hello deadline and the liveness timers fire back to back.
 */
export function linkIdleLimits(server: ServerEntry, settings: LinkSettings): { min: number; max: number } {
  const min = Math.max(IDLE_FLOOR, server.minIdleTime ?? settings.idleMin);
  return { min, max: Math.max(min, server.maxIdleTime ?? settings.idleMax) };
}

/** A service of the context as a link sees it. */
export interface LocalService {
  readonly id: bigint;
  readonly generation: bigint;
  readonly props: Props;
  readonly ttl: number;
}

/** A subscription of the context as a link sees it. */
export interface LocalSubscription {
  readonly id: bigint;
  readonly filter: string | undefined;
}

/** What a link needs from its context. */
export interface LinkHost {
  readonly clientId: bigint;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  service(id: bigint): LocalService | undefined;
  services(): Iterable<LocalService>;
  readonly serviceCount: number;
  subscription(id: bigint): LocalSubscription | undefined;
  subscriptions(): Iterable<LocalSubscription>;
  readonly subscriptionCount: number;
  /** Lowest TTL among the context's services; undefined without services. */
  lowestTtl(): number | undefined;
  /** A notification of a locally active subscription; false = it breaks the match rules (§6.2). */
  match(link: Link, subscriptionId: bigint, match: MatchNotification): boolean;
  /** Everything this link reported is now unconfirmed (§6.3). */
  sourceLost(link: Link): void;
  /** The link became operational or lost its server (reason given). */
  stateChanged(link: Link, reason?: string): void;
  /** A relay transaction finished (for whenSynced). */
  progress(link: Link): void;
  trace(text: string): void;
}

interface ServiceRelay {
  /** Generation the server has from us; undefined until the first publish completed. */
  serverGeneration: bigint | undefined;
  /** A publish or unpublish is in flight. */
  busy: boolean;
}

interface SubscriptionRelay {
  accepted: boolean;
  /** A subscribe (until its accept) or unsubscribe is in flight. */
  busy: boolean;
}

type ConnectTaskMode = 'timeout' | 'reconnect' | 'detach-timeout';
type LivenessMode = 'off' | 'query' | 'reply';

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let nextSource: SourceId = 1;

export class Link {
  /** Identifies this link's reports in the match merger; unique per link object. */
  readonly source: SourceId = nextSource++;
  private linkState: LinkState = 'restarting';
  private client: WireClient | undefined;
  /** Bumped whenever the connection is abandoned, so late callbacks of an old one are ignored. */
  private session = 0;
  private backoff: number | undefined;
  /** Whether the server may hold reports of ours since the last loss (then sourceLost is due). */
  private reported = false;
  private readonly serviceRelays = new Map<bigint, ServiceRelay>();
  private readonly subscriptionRelays = new Map<bigint, SubscriptionRelay>();
  private readonly pendingServices = new Set<bigint>();
  private readonly pendingSubscriptions = new Set<bigint>();
  private inFlight = 0;
  private readonly connectTask = new Task(() => this.onConnectTask());
  private connectMode: ConnectTaskMode = 'timeout';
  private readonly livenessTask = new Task(() => this.onLivenessTask());
  private livenessMode: LivenessMode = 'off';
  private trackAccepted = false;
  private maxIdle: number;
  private readonly idleMin: number;
  private readonly idleMax: number;
  private negotiated: ProtocolVersion | undefined;
  private detachDone: (() => void) | undefined;

  constructor(readonly server: ServerEntry, private readonly host: LinkHost, private readonly settings: LinkSettings) {
    ({ min: this.idleMin, max: this.idleMax } = linkIdleLimits(server, settings));
    this.maxIdle = this.idleMax;
  }

  /** The server's address. */
  get address(): string { return this.server.address; }
  get state(): LinkState { return this.linkState; }
  /** The negotiated version while operational. */
  get version(): ProtocolVersion | undefined { return this.negotiated; }

  /** Starts connecting (once). */
  start(): void {
    if (offeredVersions(this.server) === undefined) {
      this.linkState = 'inactive';
      this.trace('protocol version limits exclude 2..3: never contacted');
      return;
    }
    this.connectNow();
  }

  /** A local service was published, modified or unpublished. */
  serviceChanged(id: bigint): void {
    if (this.linkState === 'operational' || this.linkState === 'detaching') this.reconcileService(id);
  }

  /** A local subscription was added or removed. */
  subscriptionChanged(id: bigint): void {
    if (this.linkState === 'operational') this.reconcileSubscription(id);
  }

  /**
   * The set of local service TTLs changed: recompute the idle limit and
   * pull the next query in if it is now too far away (with the new limit,
   * unlike libpaf: docs/discrepancies.md C11).
   */
  idleLimitChanged(): void {
    this.maxIdle = this.computeMaxIdle();
    if (this.livenessMode === 'query' && this.host.scheduler.remaining(this.livenessTask) > this.maxIdle) this.scheduleQuery();
  }

  /** Whether the server holds exactly the context's services and subscriptions (and the link is up). */
  isSynced(): boolean {
    if (this.linkState === 'inactive') return true;
    if (this.linkState !== 'operational' || this.inFlight > 0 || this.pendingServices.size > 0 || this.pendingSubscriptions.size > 0) return false;
    if (this.serviceRelays.size !== this.host.serviceCount || this.subscriptionRelays.size !== this.host.subscriptionCount) return false;
    for (const s of this.host.services()) {
      if (this.serviceRelays.get(s.id)?.serverGeneration !== s.generation) return false;
    }
    for (const s of this.host.subscriptions()) {
      if (this.subscriptionRelays.get(s.id)?.accepted !== true) return false;
    }
    return true;
  }

  /**
   * Orderly shutdown (§7): an operational link unpublishes what it
   * published (the context has already dropped its services) and calls
   * `done` when that completed or after 0.5 s + 1 ms per service; any
   * other link finishes at once.
   */
  detach(done: () => void): void {
    if (this.linkState !== 'operational') {
      this.shutDown('detached');
      done();
      return;
    }
    this.linkState = 'detaching';
    this.detachDone = done;
    this.connectMode = 'detach-timeout';
    this.host.scheduler.after(this.connectTask, DETACH_BASE + DETACH_PER_SERVICE * this.serviceRelays.size);
    for (const id of [...this.serviceRelays.keys()]) this.reconcileService(id);
    this.checkDetached();
  }

  /** Drops the connection and every timer at once; the link is dead afterwards. */
  close(): void {
    const done = this.detachDone;
    this.detachDone = undefined;
    this.shutDown('closed');
    done?.();
  }

  // ------------------------------------------------------------------
  // Connecting and greeting

  private connectNow(): void {
    const session = ++this.session;
    const desc = describeServer(this.server);
    this.linkState = 'connecting';
    this.connectMode = 'timeout';
    // Connect and hello together must finish within idle_min (§5.2).
    this.host.scheduler.after(this.connectTask, this.idleMin);
    if (this.server.networkNamespace !== undefined) {
      this.trace(`network namespaces are not supported; connecting from the current one instead of ${this.server.networkNamespace}`);
    }
    this.trace('connecting');
    connect(desc.address, {
      ...(desc.tls ? { tls: desc.tls } : {}),
      ...(desc.localAddress !== undefined ? { localAddress: desc.localAddress } : {}),
      ...(this.settings.nativeAddon !== undefined ? { nativeAddon: this.settings.nativeAddon } : {}),
    }).then((conn) => this.connected(session, conn), (err) => this.restart(session, `connect failed: ${errorText(err)}`));
  }

  private connected(session: number, conn: MessageConnection): void {
    if (session !== this.session) {
      conn.close('abandoned');
      return;
    }
    const client = new WireClient(conn, { clientId: this.host.clientId });
    this.client = client;
    client.on('close', (reason) => this.restart(session, reason));
    client.on('message', () => this.activity(session));
    this.linkState = 'greeting';
    const desc = describeServer(this.server);
    client.hello(desc.minVersion, desc.maxVersion)
      .then((version) => this.greeted(session, version), (err) => this.restart(session, `hello failed: ${errorText(err)}`));
  }

  private greeted(session: number, version: ProtocolVersion): void {
    if (session !== this.session) return;
    this.host.scheduler.cancel(this.connectTask);
    this.backoff = undefined;
    this.negotiated = version;
    this.linkState = 'operational';
    this.reported = true;
    this.trace(`operational, protocol version ${version}`);
    if (version === 3) this.openTrack(session);
    for (const s of this.host.services()) this.reconcileService(s.id);
    for (const s of this.host.subscriptions()) this.reconcileSubscription(s.id);
    this.host.stateChanged(this);
    this.host.progress(this);
  }

  /**
   * Any error (§5.4): drop the connection, report the loss of everything
   * this server told us, forget the relay state and reconnect after the
   * back-off (§5.5).
   */
  private restart(session: number, reason: string): void {
    if (session !== this.session) return;
    if (this.linkState === 'detaching') {
      this.finishDetach();
      return;
    }
    if (this.linkState === 'closed' || this.linkState === 'detached' || this.linkState === 'inactive') return;
    const wasOperational = this.linkState === 'operational';
    this.trace(`restarting: ${reason}`);
    this.teardown(reason);
    if (this.reported) {
      this.reported = false;
      this.host.sourceLost(this);
    }
    this.linkState = 'restarting';
    const { reconnectMin, reconnectMax } = this.settings;
    this.backoff = this.backoff === undefined
      ? reconnectMin * (1 + this.host.random())
      : Math.min(reconnectMax, this.backoff * 2);
    this.backoff = Math.max(reconnectMin, this.backoff);
    this.connectMode = 'reconnect';
    this.host.scheduler.after(this.connectTask, this.backoff);
    if (wasOperational) this.host.stateChanged(this, reason);
  }

  private onConnectTask(): void {
    switch (this.connectMode) {
      case 'timeout': this.restart(this.session, `no hello completed within ${this.idleMin} s`); return;
      case 'reconnect': this.connectNow(); return;
      case 'detach-timeout': this.finishDetach(); return;
    }
  }

  /** Forgets the connection and everything tied to it. */
  private teardown(reason: string): void {
    this.session++;
    const client = this.client;
    this.client = undefined;
    client?.close(reason);
    this.negotiated = undefined;
    this.serviceRelays.clear();
    this.subscriptionRelays.clear();
    this.pendingServices.clear();
    this.pendingSubscriptions.clear();
    this.inFlight = 0;
    this.trackAccepted = false;
    this.livenessMode = 'off';
    this.host.scheduler.cancel(this.livenessTask);
    this.host.scheduler.cancel(this.connectTask);
  }

  private shutDown(state: 'closed' | 'detached'): void {
    if (this.linkState === 'closed' || this.linkState === 'detached') return;
    this.teardown(state === 'closed' ? 'context closed' : 'detached');
    this.linkState = state;
  }

  private finishDetach(): void {
    const done = this.detachDone;
    this.detachDone = undefined;
    this.shutDown('detached');
    this.trace('detached');
    done?.();
  }

  private checkDetached(): void {
    if (this.linkState === 'detaching' && this.serviceRelays.size === 0 && this.pendingServices.size === 0) this.finishDetach();
  }

  // ------------------------------------------------------------------
  // Synchronising state (§5.3)

  private reconcileService(id: bigint): void {
    const relay = this.serviceRelays.get(id);
    if (relay?.busy) return;                      // looked at again when it completes
    const local = this.host.service(id);
    if (local !== undefined ? relay?.serverGeneration === local.generation : relay === undefined) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.pendingServices.add(id);
      return;
    }
    const client = this.client!;
    const session = this.session;
    this.inFlight++;
    if (local !== undefined) {
      const r = relay ?? { serverGeneration: undefined, busy: false };
      this.serviceRelays.set(id, r);
      r.busy = true;
      const generation = local.generation;
      client.publish(id, generation, local.props, local.ttl).then(() => {
        if (session !== this.session) return;
        r.serverGeneration = generation;
        this.serviceDone(id, r);
      }, (err) => this.restart(session, `publish of service ${id} failed: ${errorText(err)}`));
    } else {
      relay!.busy = true;
      client.unpublish(id).then(() => {
        if (session !== this.session) return;
        this.serviceRelays.delete(id);
        this.serviceDone(id, relay!);
      }, (err) => this.restart(session, `unpublish of service ${id} failed: ${errorText(err)}`));
    }
  }

  private serviceDone(id: bigint, relay: ServiceRelay): void {
    relay.busy = false;
    this.inFlight--;
    this.reconcileService(id);
    this.transactionDone();
  }

  private reconcileSubscription(id: bigint): void {
    const relay = this.subscriptionRelays.get(id);
    if (relay?.busy) return;
    const local = this.host.subscription(id);
    if (local !== undefined ? relay !== undefined : relay === undefined) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.pendingSubscriptions.add(id);
      return;
    }
    const client = this.client!;
    const session = this.session;
    this.inFlight++;
    if (local !== undefined) {
      const r: SubscriptionRelay = { accepted: false, busy: true };
      this.subscriptionRelays.set(id, r);
      client.subscribe(id, (event) => this.subscriptionEvent(session, id, r, event), local.filter).then(() => {
        if (session !== this.session) return;
        r.accepted = true;
        this.subscriptionDone(id, r);
      }, (err) => this.restart(session, `subscribe ${id} failed: ${errorText(err)}`));
    } else {
      const r = relay!;
      r.busy = true;
      client.unsubscribe(id).then(() => {
        if (session !== this.session) return;
        this.subscriptionRelays.delete(id);
        this.subscriptionDone(id, r);
      }, (err) => this.restart(session, `unsubscribe ${id} failed: ${errorText(err)}`));
    }
  }

  private subscriptionDone(id: bigint, relay: SubscriptionRelay): void {
    relay.busy = false;
    this.inFlight--;
    this.reconcileSubscription(id);
    this.transactionDone();
  }

  private subscriptionEvent(session: number, id: bigint, relay: SubscriptionRelay, event: SubscriptionEvent): void {
    if (session !== this.session) return;
    switch (event.type) {
      case 'match':
        // Notifications still arriving for a subscription dropped locally are not the application's business.
        if (this.host.subscription(id) === undefined) return;
        if (!this.host.match(this, id, event.match)) {
          this.restart(session, `subscription ${id}: ${event.match.matchType} of service ${event.match.serviceId} breaks the match rules`);
        }
        return;
      case 'complete':
        // Expected only as the first half of our own unsubscribe.
        if (!(relay.busy && relay.accepted)) this.restart(session, `the server ended subscription ${id}`);
        return;
      case 'fail':
        if (relay.accepted) this.restart(session, `subscription ${id} failed: ${event.reason ?? 'no reason'}`);
        return;
      default:
    }
  }

  /** Starts queued work now that a transaction slot is free. */
  private transactionDone(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.pendingServices.size > 0) {
      const id = this.pendingServices.values().next().value as bigint;
      this.pendingServices.delete(id);
      this.reconcileService(id);
    }
    while (this.inFlight < MAX_IN_FLIGHT && this.pendingSubscriptions.size > 0) {
      const id = this.pendingSubscriptions.values().next().value as bigint;
      this.pendingSubscriptions.delete(id);
      this.reconcileSubscription(id);
    }
    this.checkDetached();
    this.host.progress(this);
  }

  // ------------------------------------------------------------------
  // Client-side liveness, v3 only (§5.6)

  private computeMaxIdle(): number {
    const ttl = this.host.lowestTtl();
    return ttl === undefined ? this.idleMax : clamp(ttl, this.idleMin, this.idleMax);
  }

  private openTrack(session: number): void {
    const client = this.client!;
    const onEvent = (event: TrackEvent): void => {
      if (session !== this.session) return;
      if (event.type === 'complete') this.restart(session, 'the server completed the track transaction');
      else if (event.type === 'fail') this.restart(session, `track failed: ${event.reason ?? 'no reason'}`);
    };
    client.track(onEvent).then(() => {
      if (session === this.session) this.trackAccepted = true;
    }, (err) => this.restart(session, `track failed: ${errorText(err)}`));
    this.maxIdle = this.computeMaxIdle();
    this.scheduleQuery();
  }

  private scheduleQuery(): void {
    this.livenessMode = 'query';
    const u = (this.host.random() * 2 - 1) * QUERY_JITTER;
    this.host.scheduler.after(this.livenessTask, 0.5 * this.maxIdle * (1 + u) + QUERY_MARGIN);
  }

  private onLivenessTask(): void {
    const session = this.session;
    if (this.livenessMode === 'query') {
      if (!this.trackAccepted) {
        this.restart(session, 'the track transaction was not accepted in time');
        return;
      }
      this.livenessMode = 'reply';
      this.host.scheduler.after(this.livenessTask, 0.5 * this.maxIdle);
      this.client!.trackQuery().then(() => {
        if (session === this.session && this.livenessMode === 'reply') this.scheduleQuery();
      }, () => { /* the connection is gone; its close event restarts the link */ });
    } else if (this.livenessMode === 'reply') {
      this.restart(session, `no reply to a track query within ${0.5 * this.maxIdle} s`);
    }
  }

  /** Anything from the server proves it alive and postpones the next check. */
  private activity(session: number): void {
    if (session !== this.session) return;
    if (this.livenessMode === 'reply') this.host.scheduler.after(this.livenessTask, 0.5 * this.maxIdle);
    else if (this.livenessMode === 'query') this.scheduleQuery();
  }

  private trace(text: string): void {
    this.host.trace(`link ${this.server.address}: ${text}`);
  }
}
