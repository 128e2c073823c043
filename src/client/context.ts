// The high-level client API (docs/client-library.md §2): a context per domain
// holds the application's services and subscriptions, keeps one link per
// server of the domain in step with them, and presents the matches of all
// servers as one merged stream per subscription (§6). It runs on the Node
// event loop; callbacks are never made from inside an API call.

import { EventEmitter } from 'node:events';
import { parseAddress } from '../transport/address';
import { nativeError } from '../transport/native';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { FilterSyntaxError, escapeFilterText, parseFilter } from '../core/filter';
import type { Props } from '../protocol/props';
import { propsEqual } from '../protocol/props';
import type { ServerEntry } from './domain-files';
import { diffServers, domainsDirectory, readDomainFile } from './domain-files';
import type { ClientSettings } from './env';
import { IDLE_FLOOR, envTtl, normalizeTtl, readSettings } from './env';
import { PafError, PafErrorCode } from './errors';
import type { LinkHost, LinkSettings, LinkState, LocalService, LocalSubscription } from './link';
import { Link } from './link';
import type { MatchType, MatchView } from './merge';
import { MatchMerger } from './merge';
import type { PropsInput } from './props-input';
import { normalizeProps, propsSizeEstimate } from './props-input';
import { Scheduler, Task } from './scheduler';
import type { MatchNotification } from './wire';
import { randomId } from './wire';

/** Property sets whose size estimate exceeds this are refused (docs/client-library.md §2.4). */
export const MAX_PROPS_SIZE = 32768;
/** Filters longer than this (in characters) are refused. */
export const MAX_FILTER_LENGTH = 8192;

/** What to attach to: a domain name (its domain file is read and rescanned) or an explicit server list. */
export type AttachTarget = string | { servers: readonly (string | ServerEntry)[] };

/** Options of attach(); every timing option defaults to its PAF_* environment variable. */
export interface AttachOptions {
  /** The context's client id (default: random 63-bit). */
  clientId?: bigint;
  /** Domain file directory (default $PAF_DOMAINS or /run/paf/domains.d). */
  domainsDir?: string;
  /** Environment to read PAF_* variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Domain file rescan period in seconds, 0 = never (PAF_RESCAN, default 5). */
  rescan?: number;
  /** First reconnect delay in seconds, before randomization (PAF_RECONNECT_MIN, default 0.01). */
  reconnectMin?: number;
  /** Longest reconnect delay in seconds (PAF_RECONNECT_MAX, default 5). */
  reconnectMax?: number;
  /** Lower bound of the client's idle limit in seconds (PAF_IDLE_MIN, default 4). */
  idleMin?: number;
  /** Upper bound / default of the client's idle limit in seconds (PAF_IDLE_MAX, default 30). */
  idleMax?: number;
  /** TTL of services published without one (default: PAF_TTL read at each publish, else 30 s). */
  ttl?: number;
  /** Trace to stderr (true), to a function, or not at all (default PAF_DEBUG). */
  debug?: boolean | ((line: string) => void);
  /** Time source (tests). */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) for back-off and query jitter (tests). */
  random?: () => number;
  /**
   * Path of the native addon (paf_native.node) for ux:/uxf: servers; only
   * this file is tried. Default: $PAF_NATIVE_ADDON, else searched beside
   * the program and in the installed package (docs/client.md).
   */
  nativeAddon?: string;
  /** Aborts attach() while it reads the domain file: it rejects with PafError ABORTED and the context is closed. */
  signal?: AbortSignal;
}

/** Options of Context.publish(). */
export interface PublishOptions {
  /** Seconds the service survives its publisher as an orphan (≥ 0; default as AttachOptions.ttl). */
  ttl?: number;
}

/** Options of Context.subscribe(). */
export interface SubscribeOptions {
  /** Unsubscribes when the signal fires (an async iteration over the subscription then ends). */
  signal?: AbortSignal;
  /**
   * Also report a change of the service's orphan state alone as
   * `modified` (libpaf never does; default false). orphanSince is set on
   * every event either way.
   */
  orphanEvents?: boolean;
}

/**
 * A merged match, as delivered to a subscription's listener or iterator.
 * Ids and integer property values are bigint and props is a Map, so
 * JSON.stringify cannot take it as it is: use matchEventToJSON().
 */
export interface MatchEvent {
  /** appeared: first seen; modified: new generation (props or TTL); disappeared: gone from every server. */
  type: MatchType;
  /** 63-bit service id. */
  serviceId: bigint;
  /** Current properties (name → values, integers as bigint); for `disappeared` the last ones announced. */
  props: Props;
  /** TTL of the announced generation. */
  ttl: number;
  generation: bigint;
  /**
   * UNIX time the service became an orphan, when no connected server
   * reports it owned (servers we lost contact with count as orphaning
   * it from the moment of the loss).
   */
  orphanSince?: number;
}

/** Receives a subscription's merged matches. */
export type MatchListener = (event: MatchEvent) => void;

/** State of the link to one server. */
export interface ServerStatus {
  address: string;
  state: LinkState;
  /** Negotiated protocol version while connected. */
  version?: number;
}

/** Events of a Context. */
export interface ContextEvents {
  /** The link to a server completed its hello. */
  connected: [address: string, version: number];
  /** An operational link to a server was lost; it reconnects by itself. */
  disconnected: [address: string, reason: string];
}

type ContextState = 'attached' | 'detaching' | 'detached' | 'closed';

function traceTo(option: AttachOptions['debug'], settings: ClientSettings, clientId: bigint): ((line: string) => void) | undefined {
  if (typeof option === 'function') return option;
  if (option ?? settings.debug) return (line) => process.stderr.write(`paf ${clientId}: ${line}\n`);
  return undefined;
}

/** A service published by a context; the handle stays valid (and inert) after unpublish. */
export class Service implements LocalService {
  /** @internal */
  constructor(private readonly ctx: Context, readonly id: bigint, public generation: bigint, public props: Props, public ttl: number) {}

  /** Replaces all properties (see Context.modify). */
  modify(props: PropsInput): void { this.ctx.modify(this.id, props); }
  /** Changes the TTL (see Context.setTtl). */
  setTtl(ttl: number): void { this.ctx.setTtl(this.id, ttl); }
  /** Removes the service from every server (see Context.unpublish). */
  unpublish(): void { this.ctx.unpublish(this.id); }
}

/**
 * A subscription of a context. Besides (or instead of) a listener its
 * events can be consumed with `for await (const ev of subscription)`:
 * without a listener, events are kept from the start until the loop
 * takes them; with one, from the moment the loop starts. Leaving the loop
 * (break, return, throw) unsubscribes; unsubscribe(), an abort of the
 * subscribe signal, detach() and close() end the loop. Events wait in
 * memory while the loop body is busy, so a loop should keep up.
 */
export class Subscription implements LocalSubscription, AsyncIterable<MatchEvent> {
  /** @internal */ active = true;
  /** @internal */ readonly merger: MatchMerger;
  /** @internal */ readonly task: Task;
  /** Events not yet taken by the iterator (from queueHead on); undefined while nothing iterates or buffers. */
  private queue: MatchEvent[] | undefined;
  /** Index of the next event to take: taking one is O(1), however long the backlog. */
  private queueHead = 0;
  /** The iterator's pending next(), if it waits. */
  private waiting: ((result: IteratorResult<MatchEvent>) => void) | undefined;
  private iterated = false;

  /** @internal */
  constructor(private readonly ctx: Context, readonly id: bigint, readonly filter: string | undefined,
    listener: MatchListener | undefined, options: SubscribeOptions, onDeadline: (sub: Subscription) => void) {
    if (listener === undefined) this.queue = [];
    this.merger = new MatchMerger((type, view) => {
      if (!this.active) return;
      const event = toEvent(type, view);
      if (listener !== undefined) deliver(listener, event);
      this.offer(event);
    }, { orphanEvents: options.orphanEvents ?? false });
    this.task = new Task(() => onDeadline(this));
  }

  /** Stops the subscription; its listener is not called again and an iteration over it ends. */
  unsubscribe(): void {
    if (this.active) this.ctx.unsubscribe(this.id);
  }

  /** @internal The context dropped the subscription: end an iteration. */
  ended(): void {
    this.active = false;
    this.queue = undefined;
    this.queueHead = 0;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }

  /** The merged events, one at a time; see the class comment. Only one iteration per subscription. */
  [Symbol.asyncIterator](): AsyncIterator<MatchEvent> {
    if (this.iterated) throw new PafError(PafErrorCode.INVALID_ARGUMENT, 'a subscription can be iterated only once');
    this.iterated = true;
    if (this.active) this.queue ??= [];
    return {
      next: () => {
        const event = this.take();
        if (event !== undefined) return Promise.resolve({ done: false, value: event });
        if (!this.active) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => { this.waiting = resolve; });
      },
      return: () => {
        this.unsubscribe();
        this.ended();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private take(): MatchEvent | undefined {
    const queue = this.queue;
    if (queue === undefined || this.queueHead === queue.length) return undefined;
    const event = queue[this.queueHead]!;
    if (++this.queueHead === queue.length) {
      queue.length = 0;
      this.queueHead = 0;
    }
    return event;
  }

  private offer(event: MatchEvent): void {
    if (this.queue === undefined) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting({ done: false, value: event });
    } else {
      this.queue.push(event);
    }
  }

  /** The services currently matched (merged over all servers). */
  matches(): MatchEvent[] {
    return this.merger.matches().map((view) => toEvent('appeared', view));
  }
}

function toEvent(type: MatchType, view: MatchView): MatchEvent {
  const event: MatchEvent = { type, serviceId: view.serviceId, props: view.props, ttl: view.ttl, generation: view.generation };
  if (view.orphanSince !== undefined) event.orphanSince = view.orphanSince;
  return event;
}

/** The PafError ABORTED for a fired signal. */
function abortError(signal: AbortSignal): PafError {
  return new PafError(PafErrorCode.ABORTED, signal.reason instanceof Error ? signal.reason.message : undefined, { cause: signal.reason });
}

/** Calls a listener; an exception is rethrown outside the library's own processing. */
function deliver(listener: MatchListener, event: MatchEvent): void {
  try {
    listener(event);
  } catch (err) {
    process.nextTick(() => { throw err; });
  }
}

/**
 * A context: the application's view of one Pathfinder domain. Create it
 * with attach(). Services and subscriptions are kept on every server of
 * the domain; links reconnect and republish by themselves.
 */
export class Context extends EventEmitter<ContextEvents> {
  /** The client id used towards every server, fixed for the context's life. */
  readonly clientId: bigint;
  private readonly settings: ClientSettings & LinkSettings;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly random: () => number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly defaultTtl: number | undefined;
  private readonly trace: (line: string) => void;
  private readonly serviceMap = new Map<bigint, Service>();
  private readonly subscriptionMap = new Map<bigint, Subscription>();
  /** Number of services per TTL, for the lowest TTL without a scan. */
  private readonly ttlCounts = new Map<number, number>();
  private lowest: number | undefined;
  private links: Link[] = [];
  private state: ContextState = 'attached';
  private readonly host: LinkHost;
  private syncWaiters: (() => void)[] = [];
  private detached: Promise<void> | undefined;
  private readonly rescanTask: Task;
  private rescanPeriod = 0;

  /** @internal Use attach(). */
  constructor(private readonly domain: string | undefined, opts: AttachOptions) {
    super();
    this.env = opts.env ?? process.env;
    const fromEnv = readSettings(this.env);
    const idleMin = Math.max(IDLE_FLOOR, opts.idleMin ?? fromEnv.idleMin);
    const reconnectMin = opts.reconnectMin ?? fromEnv.reconnectMin;
    this.settings = {
      domainsDir: domainsDirectory(this.env, opts.domainsDir),
      debug: fromEnv.debug,
      rescan: opts.rescan ?? fromEnv.rescan,
      reconnectMin,
      reconnectMax: Math.max(reconnectMin, opts.reconnectMax ?? fromEnv.reconnectMax),
      idleMin,
      idleMax: Math.max(idleMin, opts.idleMax ?? fromEnv.idleMax),
      ...(opts.nativeAddon !== undefined ? { nativeAddon: opts.nativeAddon } : {}),
    };
    this.clientId = opts.clientId ?? randomId();
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.scheduler = new Scheduler(this.clock);
    this.defaultTtl = opts.ttl === undefined ? undefined : checkTtl(opts.ttl);
    const trace = traceTo(opts.debug, this.settings, this.clientId);
    this.trace = trace ?? (() => {});
    this.rescanTask = new Task(() => { void this.rescan(); });
    this.host = this.makeHost();
  }

  // ------------------------------------------------------------------
  // Services

  /**
   * Publishes a service on every server of the domain (as soon as each
   * link is up). Props are normalized (numbers → bigint, duplicate values
   * collapse). Throws PafError PROPS_TOO_LARGE if the size estimate
   * exceeds 32768, TypeError/RangeError for values that cannot be sent.
   */
  publish(props: PropsInput, opts: PublishOptions = {}): Service {
    this.checkAttached();
    const normalized = checkedProps(props);
    const ttl = opts.ttl !== undefined ? checkTtl(opts.ttl) : this.defaultTtl ?? envTtl(this.env);
    const service = new Service(this, randomId(), 0n, normalized, ttl);
    this.serviceMap.set(service.id, service);
    this.countTtl(ttl, 1);
    this.trace(`publish service ${service.id} ttl ${ttl}`);
    for (const link of this.links) link.serviceChanged(service.id);
    this.ttlsChanged();
    return service;
  }

  /**
   * Replaces all properties of a service of this context. If they differ
   * from the current ones the generation is raised and every server gets
   * the new version. Same errors as publish(); PafError GENERIC for an
   * unknown service.
   */
  modify(serviceId: bigint, props: PropsInput): void {
    this.checkAttached();
    const service = this.ownService(serviceId);
    const normalized = checkedProps(props);
    if (propsEqual(service.props, normalized)) return;
    service.props = normalized;
    service.generation++;
    for (const link of this.links) link.serviceChanged(serviceId);
  }

  /** Changes a service's TTL (seconds, ≥ 0); a different TTL raises the generation and republishes. */
  setTtl(serviceId: bigint, ttl: number): void {
    this.checkAttached();
    const service = this.ownService(serviceId);
    const next = checkTtl(ttl);
    if (next === service.ttl) return;
    this.countTtl(service.ttl, -1);
    this.countTtl(next, 1);
    service.ttl = next;
    service.generation++;
    for (const link of this.links) link.serviceChanged(serviceId);
    this.ttlsChanged();
  }

  /** Removes a service of this context from every server. */
  unpublish(serviceId: bigint): void {
    this.checkAttached();
    const service = this.ownService(serviceId);
    this.serviceMap.delete(serviceId);
    this.countTtl(service.ttl, -1);
    this.trace(`unpublish service ${serviceId}`);
    for (const link of this.links) link.serviceChanged(serviceId);
    this.ttlsChanged();
  }

  /** The services this context publishes. */
  services(): Service[] {
    return [...this.serviceMap.values()];
  }

  // ------------------------------------------------------------------
  // Subscriptions

  /**
   * Subscribes to the services matching `filter` (all services for
   * null/undefined) on every server; `listener` receives the merged
   * appeared/modified/disappeared events, and so does a
   * `for await (const event of subscription)` loop (the listener may be
   * left out for that). Throws PafError INVALID_FILTER_SYNTAX or
   * FILTER_TOO_LARGE, ABORTED if `opts.signal` has already fired.
   */
  subscribe(filter: string | null | undefined, listener?: MatchListener, opts: SubscribeOptions = {}): Subscription {
    this.checkAttached();
    const text = filter ?? undefined;
    if (text !== undefined) checkFilter(text);
    const signal = opts.signal;
    if (signal?.aborted) throw abortError(signal);
    const sub = new Subscription(this, randomId(), text, listener, opts, (s) => this.mergerDeadline(s));
    this.subscriptionMap.set(sub.id, sub);
    this.trace(`subscribe ${sub.id}${text === undefined ? '' : ` filter ${text}`}`);
    for (const link of this.links) link.subscriptionChanged(sub.id);
    signal?.addEventListener('abort', () => sub.unsubscribe(), { once: true });
    return sub;
  }

  /** Ends a subscription; no callback for it is made after this returns. Unknown ids are ignored. */
  unsubscribe(subscriptionId: bigint): void {
    this.checkAttached();
    const sub = this.subscriptionMap.get(subscriptionId);
    if (sub === undefined) return;
    sub.ended();
    this.subscriptionMap.delete(subscriptionId);
    this.scheduler.cancel(sub.task);
    for (const link of this.links) link.subscriptionChanged(subscriptionId);
  }

  /** The subscriptions of this context. */
  subscriptions(): Subscription[] {
    return [...this.subscriptionMap.values()];
  }

  // ------------------------------------------------------------------
  // Life-cycle

  /** The link state of every configured server. */
  servers(): ServerStatus[] {
    return this.links.map((l) => {
      const status: ServerStatus = { address: l.address, state: l.state };
      if (l.version !== undefined) status.version = l.version;
      return status;
    });
  }

  /**
   * Resolves once every server holds exactly this context's current
   * services and subscriptions (all links operational and idle). Waits
   * indefinitely while a server is unreachable, so give a signal (e.g.
   * AbortSignal.timeout(5000)) to bound the wait: it rejects with
   * PafError ABORTED. Rejects with DETACHED if the context is closed or
   * detached first.
   */
  whenSynced(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = opts.signal;
    if (this.state !== 'attached') return Promise.reject(new PafError(PafErrorCode.DETACHED));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.isSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort);
        if (this.state === 'attached') resolve(); else reject(new PafError(PafErrorCode.DETACHED));
      };
      const onAbort = (): void => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(waiter);
    });
  }

  /**
   * Orderly shutdown (docs/client-library.md §7): every service is unpublished
   * on every connected server (waiting at most 0.5 s + 1 ms per service),
   * then all connections close. Subscriptions end without callbacks.
   * Resolves when done; the context is unusable afterwards.
   */
  detach(): Promise<void> {
    if (this.detached !== undefined) return this.detached;
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'detaching';
    this.trace('detaching');
    for (const sub of this.subscriptionMap.values()) sub.ended();
    this.subscriptionMap.clear();
    this.serviceMap.clear();
    this.ttlCounts.clear();
    this.lowest = undefined;
    this.scheduler.cancel(this.rescanTask);
    this.detached = Promise.all(this.links.map((link) => new Promise<void>((done) => link.detach(done)))).then(() => {
      this.finish('detached');
    });
    return this.detached;
  }

  /**
   * Drops everything at once: connections close, no unpublish is sent, so
   * the services stay on the servers as orphans until their TTL runs out.
   */
  close(): void {
    if (this.state === 'closed' || this.state === 'detached') return;
    for (const link of this.links) link.close();
    for (const sub of this.subscriptionMap.values()) sub.ended();
    this.subscriptionMap.clear();
    this.serviceMap.clear();
    this.finish('closed');
  }

  /** @internal Reads the domain file (if any) and starts the links; used by attach(). */
  async start(servers: readonly (string | ServerEntry)[] | undefined): Promise<void> {
    if (servers !== undefined) {
      const entries = servers.map((s) => (typeof s === 'string' ? { address: s } : s));
      this.checkTransports(entries);
      this.applyServers(entries);
      return;
    }
    await this.rescan(true);
    if (this.settings.rescan > 0) {
      // Randomized once per context so that many clients do not rescan in step.
      this.rescanPeriod = this.settings.rescan * (0.5 + this.random());
      if (this.state === 'attached') this.scheduler.after(this.rescanTask, this.rescanPeriod);
    }
  }

  // ------------------------------------------------------------------
  // Internals

  private finish(state: 'detached' | 'closed'): void {
    if (this.state === 'detached' || this.state === 'closed') return;
    this.state = state;
    this.scheduler.close();
    this.links = [];
    this.trace(state);
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  private checkAttached(): void {
    if (this.state !== 'attached') throw new PafError(PafErrorCode.DETACHED, `the context is ${this.state}`);
  }

  private ownService(id: bigint): Service {
    const service = this.serviceMap.get(id);
    if (service === undefined) throw new PafError(PafErrorCode.GENERIC, `no service ${id} in this context`);
    return service;
  }

  private countTtl(ttl: number, delta: 1 | -1): void {
    const n = (this.ttlCounts.get(ttl) ?? 0) + delta;
    if (n > 0) this.ttlCounts.set(ttl, n);
    else this.ttlCounts.delete(ttl);
    if (delta > 0) {
      if (this.lowest === undefined || ttl < this.lowest) this.lowest = ttl;
    } else if (n <= 0 && ttl === this.lowest) {
      // Few distinct TTLs exist in practice: a scan of them is cheap.
      this.lowest = undefined;
      for (const t of this.ttlCounts.keys()) if (this.lowest === undefined || t < this.lowest) this.lowest = t;
    }
  }

  private ttlsChanged(): void {
    for (const link of this.links) link.idleLimitChanged();
  }

  private isSynced(): boolean {
    return this.links.every((l) => l.isSynced());
  }

  private checkSyncWaiters(): void {
    if (this.syncWaiters.length === 0 || !this.isSynced()) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  /** Local orphan expiry and stale-record cleanup of one subscription. */
  private mergerDeadline(sub: Subscription): void {
    if (!sub.active) return;
    sub.merger.advance(this.clock.wall());
    this.scheduleMerger(sub);
  }

  /** Arms the subscription's task for the merger's next wall-clock deadline. */
  private scheduleMerger(sub: Subscription): void {
    const deadline = sub.merger.nextDeadline();
    if (deadline === Infinity) {
      this.scheduler.cancel(sub.task);
      return;
    }
    this.scheduler.at(sub.task, this.clock.now() + (deadline - this.clock.wall()));
  }

  /**
   * Refuses ux:/uxf: servers at once when the addon cannot be loaded:
   * the links would otherwise retry for ever and say why only in the
   * trace. (utls falls back to TLS without it, as XCM does.)
   */
  private checkTransports(servers: readonly ServerEntry[]): void {
    for (const entry of servers) {
      let transport: string;
      try {
        transport = parseAddress(entry.address).transport;
      } catch {
        continue;   // a bad address fails its link's connects, as in libpaf
      }
      if (transport !== 'ux' && transport !== 'uxf') continue;
      const why = nativeError(this.settings.nativeAddon);
      if (why !== '') throw new PafError(PafErrorCode.TRANSPORT_UNAVAILABLE, `${entry.address}: ${why}`);
    }
  }

  private async rescan(first = false): Promise<void> {
    if (this.domain === undefined || this.state !== 'attached') return;
    let servers: ServerEntry[] | undefined;
    try {
      servers = await readDomainFile(this.settings.domainsDir, this.domain);
    } catch (err) {
      // A missing or broken file keeps the current servers (docs/discrepancies.md C6).
      this.trace(`domain file ${this.domain}: ${(err as Error).message}; keeping ${this.links.length} server(s)`);
    }
    if (this.state !== 'attached') return;
    if (servers !== undefined && first) this.checkTransports(servers);
    if (servers !== undefined) this.applyServers(servers);
    if (this.rescanPeriod > 0) this.scheduler.after(this.rescanTask, this.rescanPeriod);
  }

  /** Tears down links whose entry vanished or changed, starts links for new entries (§3.3). */
  private applyServers(servers: ServerEntry[]): void {
    const current = this.links.map((l) => l.server);
    const { removed, added } = diffServers(current, servers);
    if (removed.length > 0) {
      const gone = new Set(removed);
      for (const link of this.links.filter((l) => gone.has(l.server))) {
        this.trace(`server ${link.address} removed from the domain`);
        link.close();
        this.host.sourceLost(link);
      }
      this.links = this.links.filter((l) => !gone.has(l.server));
    }
    for (const entry of added) {
      const link = new Link(entry, this.host, this.settings);
      this.links.push(link);
      link.start();
    }
    if (removed.length > 0 || added.length > 0) this.checkSyncWaiters();
  }

  private makeHost(): LinkHost {
    const ctx = this;
    return {
      clientId: this.clientId,
      scheduler: this.scheduler,
      random: this.random,
      service: (id) => ctx.serviceMap.get(id),
      services: () => ctx.serviceMap.values(),
      get serviceCount() { return ctx.serviceMap.size; },
      subscription: (id) => ctx.subscriptionMap.get(id),
      subscriptions: () => ctx.subscriptionMap.values(),
      get subscriptionCount() { return ctx.subscriptionMap.size; },
      lowestTtl: () => ctx.lowest,
      match: (link, subscriptionId, match) => ctx.onMatch(link, subscriptionId, match),
      sourceLost: (link) => {
        const now = ctx.clock.wall();
        for (const sub of ctx.subscriptionMap.values()) {
          sub.merger.sourceLost(link.source, now);
          ctx.scheduleMerger(sub);
        }
      },
      stateChanged: (link, reason) => {
        if (ctx.state !== 'attached') return;
        if (reason === undefined) ctx.emit('connected', link.address, link.version ?? 0);
        else ctx.emit('disconnected', link.address, reason);
      },
      progress: () => ctx.checkSyncWaiters(),
      trace: (text) => ctx.trace(text),
    };
  }

  private onMatch(link: Link, subscriptionId: bigint, m: MatchNotification): boolean {
    const sub = this.subscriptionMap.get(subscriptionId);
    if (sub === undefined) return true;
    const now = this.clock.wall();
    let ok: boolean;
    if (m.matchType === 'disappeared') {
      ok = sub.merger.disappeared(link.source, m.serviceId, now);
    } else {
      const args = [link.source, m.serviceId, m.generation!, m.props!, Number(m.ttl!), m.orphanSince, now] as const;
      ok = m.matchType === 'appeared' ? sub.merger.appeared(...args) : sub.merger.modified(...args);
    }
    this.scheduleMerger(sub);
    return ok;
  }
}

function checkedProps(props: PropsInput): Props {
  let normalized: Props;
  try {
    normalized = normalizeProps(props);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new PafError(PafErrorCode.INVALID_ARGUMENT, err.message, { cause: err });
    throw err;
  }
  const size = propsSizeEstimate(normalized);
  if (size > MAX_PROPS_SIZE) throw new PafError(PafErrorCode.PROPS_TOO_LARGE, `size estimate ${size} exceeds ${MAX_PROPS_SIZE}`);
  return normalized;
}

function checkTtl(ttl: number): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) throw new PafError(PafErrorCode.INVALID_ARGUMENT, `TTL ${String(ttl)}: must be a number >= 0`);
  return normalizeTtl(ttl);
}

/** Client-side filter check with the server's own parser (docs/discrepancies.md C8). */
function checkFilter(filter: string): void {
  try {
    parseFilter(filter);
  } catch (err) {
    if (err instanceof FilterSyntaxError) throw new PafError(PafErrorCode.INVALID_FILTER_SYNTAX, err.message);
    throw err;
  }
  if (filter.length > MAX_FILTER_LENGTH) {
    throw new PafError(PafErrorCode.FILTER_TOO_LARGE, `${filter.length} characters, the limit is ${MAX_FILTER_LENGTH}`);
  }
}

/**
 * Escapes the filter-special characters of a key or value for embedding
 * in filter text (docs/filter.md §7): `( ) * \ & | = < >`.
 */
export function filterEscape(text: string): string {
  return escapeFilterText(text);
}

/**
 * Attaches to a Pathfinder domain. A string names a domain file in
 * $PAF_DOMAINS (re-read every PAF_RESCAN seconds); `{servers}` lists the
 * servers directly. Never fails because the file or the servers are
 * missing: the context keeps retrying in the background. Rejects with
 * PafError TRANSPORT_UNAVAILABLE when a ux:/uxf: server is listed but
 * the native addon cannot be loaded (the message says where it was
 * looked for), and with ABORTED when `opts.signal` fires first.
 *
 * @example
 * const ctx = await attach('mydomain');
 * const svc = ctx.publish({ name: 'billing', port: 8080 }, { ttl: 10 });
 * ctx.subscribe('(name=billing)', (e) => console.log(e.type, e.serviceId));
 * await ctx.detach();
 */
export async function attach(target: AttachTarget, opts: AttachOptions = {}): Promise<Context> {
  const signal = opts.signal;
  if (signal?.aborted) throw abortError(signal);
  const ctx = new Context(typeof target === 'string' ? target : undefined, opts);
  try {
    await ctx.start(typeof target === 'string' ? undefined : target.servers);
    if (signal?.aborted) throw abortError(signal);
  } catch (err) {
    ctx.close();
    throw err;
  }
  return ctx;
}
