// The wire-level Pathfinder client (docs/client-library.md §1): one connection
// to one server, one method per protocol transaction. Every message from
// the server is validated strictly (docs/protocol.md §7): it must parse, fit
// the schema of the negotiated version, name an open transaction with the
// right command, and come in an order the transaction kind allows.
// Anything else is a protocol error that closes the connection.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { JsonObject } from '../protocol/json';
import { decodeUtf8, parseJson } from '../protocol/json';
import type { Props } from '../protocol/props';
import { encodeMessage, encodeProps, member } from '../protocol/encode';
import type { Command, Message, ProtocolVersion, TransactionKind } from '../protocol/schema';
import { COMMAND_KIND, MAX_PROTOCOL_VERSION, MAX_UINT63, MIN_PROTOCOL_VERSION, ProtocolError, decodeProps, validateMessage } from '../protocol/schema';
import type { TlsFiles } from '../transport/tls-credentials';
import { connect } from '../transport/connect';
import type { MessageConnection } from '../transport/types';
import { domainsDirectory, isDomainName, offeredVersions, readDomainFile } from './domain-files';
import { PafError, PafErrorCode } from './errors';
import type { ServerEntry } from './domain-files';
import type { PropsInput } from './props-input';
import { normalizeProps } from './props-input';

/**
 * `pending`, unless the cancel that `arm` sets up fires first: then the
 * result rejects with that error, and what `pending` delivers later is
 * handed to `dispose` (a connection that completes after its caller gave
 * up is closed, not leaked). `arm` returns what disarms the cancel.
 */
function unlessCancelled<T>(pending: Promise<T>, arm: (cancel: (err: Error) => void) => () => void, dispose: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cancelled = false;
    const disarm = arm((err) => {
      if (cancelled) return;
      cancelled = true;
      reject(err);
    });
    pending.then((value) => {
      disarm();
      if (cancelled) dispose(value); else resolve(value);
    }, (err: unknown) => {
      disarm();
      if (!cancelled) reject(err);
    });
  });
}

/** `pending`, or a rejection with `error()` as soon as `signal` fires (see unlessCancelled). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined, dispose: (value: T) => void, error: () => Error): Promise<T> {
  if (signal === undefined) return pending;
  return unlessCancelled(pending, (cancel) => {
    const onAbort = (): void => cancel(error());
    if (signal.aborted) onAbort(); else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }, dispose);
}

/** Ids drawn per refill of the random pool: one getrandom call serves this many. */
const IDS_PER_REFILL = 256;
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;

/** A random id in 0…2^63−1 (client, service and subscription ids; docs/protocol.md §7). */
export function randomId(): bigint {
  if (idPoolOffset >= idPool.length) {
    idPool = randomBytes(8 * IDS_PER_REFILL);
    idPoolOffset = 0;
  }
  const id = idPool.readBigUInt64BE(idPoolOffset) & MAX_UINT63;
  idPoolOffset += 8;
  return id;
}

/** A random service id. */
export const newServiceId = randomId;
/** A random subscription id. */
export const newSubscriptionId = randomId;

/** A `fail` reply from the server. */
export class TransactionFailed extends Error {
  override name = 'TransactionFailed';
  constructor(readonly cmd: Command, readonly reason: string | undefined) {
    super(`${cmd} failed: ${reason ?? 'no reason given'}`);
  }
}

/** The connection ended before the transaction did. */
export class ConnectionClosed extends Error {
  override name = 'ConnectionClosed';
}

/** A subscription notification (`services` listings use the same shape with every field present). */
export interface MatchNotification {
  matchType: 'appeared' | 'modified' | 'disappeared';
  serviceId: bigint;
  /** Present for appeared and modified. */
  generation?: bigint;
  props?: Props;
  ttl?: bigint;
  /** The service's current owner. */
  clientId?: bigint;
  /** UNIX time the service became an orphan; absent if it is not one. */
  orphanSince?: number;
}

/** What a subscribe callback receives, in order: accept, matches, then complete or fail. */
export type SubscriptionEvent =
  | { type: 'accept' }
  | { type: 'match'; match: MatchNotification }
  | { type: 'complete' }
  | { type: 'fail'; reason: string | undefined };

/** What a track callback receives. Server queries are answered automatically unless autoReply is off. */
export type TrackEvent =
  | { type: 'accept' }
  | { type: 'query' }
  | { type: 'reply'; latency: number }
  | { type: 'complete' }
  | { type: 'fail'; reason: string | undefined };

/** One entry of a `services` listing. */
export interface ServiceInfo {
  serviceId: bigint;
  generation: bigint;
  props: Props;
  ttl: bigint;
  clientId: bigint;
  orphanSince?: number;
}

/** One entry of a `subscriptions` listing. */
export interface SubscriptionInfo {
  subscriptionId: bigint;
  clientId: bigint;
  /** The server's canonical rendering of the filter; absent for match-all. */
  filter?: string;
}

/** One entry of a `clients` listing; idle, version and latency only on a v3 connection. */
export interface ClientInfo {
  clientId: bigint;
  address: string;
  /** UNIX time the server accepted the connection. */
  time: bigint;
  idle?: number;
  version?: number;
  latency?: number;
}

/** A server to connect to, as a domain file entry describes it. */
export interface ServerDescription {
  address: string;
  minVersion?: number;
  maxVersion?: number;
  tls?: TlsFiles;
  localAddress?: string;
}

/** Options of WireClient.connect(). */
export interface WireConnectOptions {
  /** Client id; random if not given. */
  clientId?: bigint;
  /** Offered version range, default [2, 3]. */
  minVersion?: number;
  maxVersion?: number;
  /** After a v3 hello, open a track transaction and answer server queries (docs/client-library.md §1.1). */
  track?: boolean;
  /** Where domain files are looked up (default $PAF_DOMAINS or /run/paf/domains.d). */
  domainsDir?: string;
  /** Transport connect timeout in ms (the TCP/TLS attempt; XCM's 3 s if not given). */
  timeoutMs?: number;
  /**
   * Give up if the transport connect as a whole (any transport, the TLS
   * handshake included) takes longer than this many ms. No limit if not given.
   */
  connectTimeoutMs?: number;
  /** Give up if the server has not answered hello this many ms after it was sent. No limit if not given. */
  helloTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Path of the native addon for ux:/uxf: (default: searched, see native.ts). */
  nativeAddon?: string;
  /** Gives up connecting and greeting when it fires: rejects with PafError ABORTED, nothing stays open. */
  signal?: AbortSignal;
}

/** A connect or hello that took longer than the caller allowed. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * `promise`, or a TimeoutError after `ms` (no limit when undefined); what
 * the promise yields after the deadline is handed to `late` (see
 * unlessCancelled).
 */
function within<T>(promise: Promise<T>, ms: number | undefined, what: string, late: (value: T) => void = () => {}): Promise<T> {
  if (ms === undefined) return promise;
  return unlessCancelled(promise, (cancel) => {
    const timer = setTimeout(() => cancel(new TimeoutError(`${what} took longer than ${ms / 1000} s`)), ms);
    return () => clearTimeout(timer);
  }, late);
}

/** Events of a WireClient. */
export interface WireClientEvents {
  /** Every validated message from the server, before its transaction sees it. */
  message: [message: Message];
  /** The connection is gone; reason says why (a protocol error starts with "protocol error"). */
  close: [reason: string];
}

type Handler = (msg: Message) => void;

interface Transaction {
  readonly cmd: Command;
  readonly kind: TransactionKind;
  accepted: boolean;
  readonly handler: Handler;
  /** Called with the reason if the connection closes while the transaction is open. */
  readonly onClose: (reason: string) => void;
}

const MATCH_TYPES: ReadonlySet<string> = new Set(['appeared', 'modified', 'disappeared']);
const MATCH_DETAIL_FIELDS = ['generation', 'service-props', 'ttl', 'client-id'] as const;

function seconds(fromMs: number): number {
  return (performance.now() - fromMs) / 1000;
}

function failReason(msg: Message): string | undefined {
  return msg.fields['fail-reason'] as string | undefined;
}

function orphanSince(fields: JsonObject): number | undefined {
  const v = fields['orphan-since'];
  return v === undefined ? undefined : Number(v);
}

/** Checks a subscription notification beyond the schema (docs/protocol.md §6.3). */
function decodeMatch(fields: JsonObject): MatchNotification {
  const matchType = fields['match-type'] as string;
  if (!MATCH_TYPES.has(matchType)) throw new ProtocolError(`unknown match-type ${JSON.stringify(matchType)}`);
  const serviceId = fields['service-id'] as bigint;
  if (matchType === 'disappeared') {
    for (const f of MATCH_DETAIL_FIELDS) {
      if (f in fields) throw new ProtocolError(`field ${JSON.stringify(f)} in a disappeared notification`);
    }
    if ('orphan-since' in fields) throw new ProtocolError('field "orphan-since" in a disappeared notification');
    return { matchType, serviceId };
  }
  for (const f of MATCH_DETAIL_FIELDS) {
    if (!(f in fields)) throw new ProtocolError(`missing field ${JSON.stringify(f)} in an ${matchType} notification`);
  }
  return { matchType: matchType as 'appeared' | 'modified', ...serviceInfo(fields) };
}

/** A service's state as notifications and `services` listings carry it (docs/protocol.md §6.3, §6.6). */
function serviceInfo(fields: JsonObject): ServiceInfo {
  const info: ServiceInfo = {
    serviceId: fields['service-id'] as bigint,
    generation: fields.generation as bigint,
    props: decodeProps(fields['service-props'] as JsonObject),
    ttl: fields.ttl as bigint,
    clientId: fields['client-id'] as bigint,
  };
  const since = orphanSince(fields);
  if (since !== undefined) info.orphanSince = since;
  return info;
}

/**
 * A connection to one Pathfinder server. Create it with
 * `WireClient.connect()` (transport + hello), or wrap an open
 * MessageConnection with `new WireClient(conn)` and call `hello()`.
 * Transaction ids are allocated sequentially from 0.
 */
export class WireClient extends EventEmitter<WireClientEvents> {
  /** The client id sent in hello. */
  readonly clientId: bigint;
  /** Resolves with the close reason once the connection is gone. */
  readonly closed: Promise<string>;
  private negotiated: ProtocolVersion | undefined;
  private nextTaId = 0n;
  private readonly transactions = new Map<bigint, Transaction>();
  private closeReason: string | undefined;
  private resolveClosed!: (reason: string) => void;
  /** The open track transaction, once requested. */
  private trackTaId: bigint | undefined;
  private sentAt = performance.now();
  private autoReply = true;
  /** Server queries not yet answered (only when autoReply is off). */
  private serverQueries = 0;
  /** Our own track queries awaiting the server's reply, oldest first. */
  private readonly ownQueries: { sentAt: number; resolve: (latency: number) => void; reject: (err: Error) => void }[] = [];

  constructor(readonly connection: MessageConnection, opts: { clientId?: bigint } = {}) {
    super();
    this.clientId = opts.clientId ?? randomId();
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    connection.onMessage = (payload) => this.receive(payload);
    connection.onClose = (reason) => this.ended(reason ?? 'closed');
  }

  /**
   * Connects to `target` and completes hello (docs/client-library.md §1.1).
   * A string is looked up as a domain file first (its first server is
   * used) and otherwise taken as an XCM address. Rejects on a transport
   * error, a hello `fail` (TransactionFailed), a version range that
   * cannot overlap 2…3, or `opts.signal` (PafError ABORTED).
   */
  static async connect(target: string | ServerDescription, opts: WireConnectOptions = {}): Promise<WireClient> {
    const signal = opts.signal;
    const aborted = (): PafError => new PafError(PafErrorCode.ABORTED, `connecting to ${typeof target === 'string' ? target : target.address}`, { cause: signal?.reason });
    if (signal?.aborted) throw aborted();
    const server = typeof target === 'string' ? await resolveTarget(target, opts) : target;
    const min = opts.minVersion ?? server.minVersion ?? MIN_PROTOCOL_VERSION;
    const max = opts.maxVersion ?? server.maxVersion ?? MAX_PROTOCOL_VERSION;
    if (min > MAX_PROTOCOL_VERSION || max < MIN_PROTOCOL_VERSION) {
      throw new Error(`${server.address}: protocol versions ${min}..${max} do not overlap ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`);
    }
    const conn = await within(untilAborted(connect(server.address, {
      ...(server.tls ? { tls: server.tls } : {}),
      ...(server.localAddress !== undefined ? { localAddress: server.localAddress } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.nativeAddon !== undefined ? { nativeAddon: opts.nativeAddon } : {}),
    }), signal, (c) => c.close('aborted'), aborted), opts.connectTimeoutMs, 'connect', (late) => late.close('connect timed out'));
    const client = new WireClient(conn, opts.clientId !== undefined ? { clientId: opts.clientId } : {});
    // Closing the connection fails the hello (or track) in flight.
    const onAbort = (): void => client.close('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      // A listener that accepts but never answers (a stuck server, a port
      // that is not Pathfinder's) must not hang the caller.
      const version = await within(client.hello(min, max), opts.helloTimeoutMs, 'hello (no reply from the server)');
      if (opts.track && version === 3) await client.track();
    } catch (err) {
      client.close();
      throw signal?.aborted ? aborted() : err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }

  private transmit(message: string): void {
    this.sentAt = performance.now();
    this.connection.send(message);
  }

  /** The negotiated protocol version, once hello completed. */
  get version(): ProtocolVersion | undefined { return this.negotiated; }

  /** Whether a track transaction is open (the server then queries instead of dropping a silent client). */
  get tracking(): boolean { return this.trackTaId !== undefined; }

  /** performance.now() when a message was last sent: what the server counts as this client's activity. */
  get lastSentAt(): number { return this.sentAt; }

  /** Whether the connection is closed. */
  get isClosed(): boolean { return this.closeReason !== undefined; }

  /** The server's address as the transport renders it. */
  get remoteAddress(): string { return this.connection.remoteAddress; }

  // ------------------------------------------------------------------
  // Operations

  /** hello: resolves with the negotiated version (which must lie within 2…3 and the offered range). */
  hello(min: number = MIN_PROTOCOL_VERSION, max: number = MAX_PROTOCOL_VERSION): Promise<ProtocolVersion> {
    return this.single('hello',
      member('client-id', this.clientId) + ',' + member('protocol-minimum-version', BigInt(min)) + ',' +
      member('protocol-maximum-version', BigInt(max)),
      (msg) => {
        const v = msg.fields['protocol-version'] as bigint;
        if (v < BigInt(MIN_PROTOCOL_VERSION) || v > BigInt(MAX_PROTOCOL_VERSION) || v < BigInt(min) || v > BigInt(max)) {
          throw new ProtocolError(`server selected protocol version ${v}, offered ${min}..${max}`);
        }
        this.negotiated = Number(v) as ProtocolVersion;
        return this.negotiated;
      });
  }

  /** ping: resolves with the round-trip time in seconds. */
  ping(): Promise<number> {
    const start = performance.now();
    return this.single('ping', '', () => seconds(start));
  }

  /** publish: creates or updates a service; rejects with TransactionFailed (e.g. old-generation). */
  publish(serviceId: bigint, generation: bigint | number, props: PropsInput | Props, ttl: bigint | number): Promise<void> {
    const normalized = normalizeProps(props);
    return this.single('publish',
      member('service-id', serviceId) + ',' + member('generation', BigInt(generation)) + ',' +
      '"service-props":' + encodeProps(normalized) + ',' + member('ttl', BigInt(ttl)),
      () => undefined);
  }

  /** unpublish: removes a service. */
  unpublish(serviceId: bigint): Promise<void> {
    return this.single('unpublish', member('service-id', serviceId), () => undefined);
  }

  /**
   * subscribe: `onEvent` sees the accept, every match notification and
   * the final complete (after unsubscribe) or fail. The promise resolves
   * at the accept and rejects if the server fails the request.
   */
  subscribe(subscriptionId: bigint, onEvent: (event: SubscriptionEvent) => void, filter?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let fields = member('subscription-id', subscriptionId);
      if (filter !== undefined) fields += ',' + member('filter', filter);
      this.open('subscribe', fields, (msg) => {
        switch (msg.type) {
          case 'accept': onEvent({ type: 'accept' }); resolve(); return;
          case 'notify': onEvent({ type: 'match', match: decodeMatch(msg.fields) }); return;
          case 'complete': onEvent({ type: 'complete' }); return;
          default: {
            const reason = failReason(msg);
            onEvent({ type: 'fail', reason });
            reject(new TransactionFailed('subscribe', reason));
          }
        }
      }, (reason) => reject(new ConnectionClosed(reason)));
    });
  }

  /** unsubscribe: the server completes the subscribe transaction, then this one. */
  unsubscribe(subscriptionId: bigint): Promise<void> {
    return this.single('unsubscribe', member('subscription-id', subscriptionId), () => undefined);
  }

  /** services: a snapshot of the domain's services matching `filter` (all without one). */
  services(filter?: string): Promise<ServiceInfo[]> {
    return this.listing('services', filter === undefined ? '' : member('filter', filter), serviceInfo);
  }

  /** subscriptions: every live subscription of the domain. */
  subscriptions(): Promise<SubscriptionInfo[]> {
    return this.listing('subscriptions', '', (f) => {
      const info: SubscriptionInfo = { subscriptionId: f['subscription-id'] as bigint, clientId: f['client-id'] as bigint };
      if (f.filter !== undefined) info.filter = f.filter as string;
      return info;
    });
  }

  /** clients: every handshaked connection of the domain; the shape follows the negotiated version. */
  clients(): Promise<ClientInfo[]> {
    return this.listing('clients', '', (f) => {
      const info: ClientInfo = { clientId: f['client-id'] as bigint, address: f['client-address'] as string, time: f.time as bigint };
      if (f.idle !== undefined) info.idle = Number(f.idle);
      if (f['protocol-version'] !== undefined) info.version = Number(f['protocol-version']);
      if (f.latency !== undefined) info.latency = Number(f.latency);
      return info;
    });
  }

  /**
   * track (v3 only): opens the connection's track transaction and resolves
   * at the accept. Server queries are answered at once unless
   * `autoReply` is false (then call trackReply()). TCP keepalive is
   * switched off, as libpaf does: liveness is now the track mechanism's
   * job (docs/transports.md §8).
   */
  track(onEvent: (event: TrackEvent) => void = () => {}, opts: { autoReply?: boolean } = {}): Promise<void> {
    if (this.negotiated !== 3) return Promise.reject(new Error('track needs protocol version 3'));
    if (this.trackTaId !== undefined) return Promise.reject(new Error('a track transaction is already open'));
    this.autoReply = opts.autoReply ?? true;
    return new Promise((resolve, reject) => {
      this.trackTaId = this.open('track', '', (msg) => {
        switch (msg.type) {
          case 'accept':
            this.connection.setKeepAlive(false);
            onEvent({ type: 'accept' });
            resolve();
            return;
          case 'notify':
            this.trackNotify(msg, onEvent);
            return;
          case 'complete':
            this.trackEnded(new ConnectionClosed('the server completed the track transaction'));
            onEvent({ type: 'complete' });
            return;
          default: {
            const reason = failReason(msg);
            this.trackEnded(new TransactionFailed('track', reason));
            onEvent({ type: 'fail', reason });
            reject(new TransactionFailed('track', reason));
          }
        }
      }, (reason) => reject(new ConnectionClosed(reason)));
    });
  }

  /** Sends a track query; resolves with the latency when the server's reply arrives. */
  trackQuery(): Promise<number> {
    const ta = this.acceptedTrack();
    return new Promise((resolve, reject) => {
      this.ownQueries.push({ sentAt: performance.now(), resolve, reject });
      this.transmit(encodeMessage('track', ta, 'inform', '"track-type":"query"'));
    });
  }

  /** Answers the oldest unanswered server query (only needed with autoReply off). */
  trackReply(): void {
    const ta = this.acceptedTrack();
    // A reply without an outstanding query makes the server close the connection.
    if (this.serverQueries === 0) throw new Error('no track query to reply to');
    this.serverQueries--;
    this.transmit(encodeMessage('track', ta, 'inform', '"track-type":"reply"'));
  }

  /**
   * Sends any request and hands every message of its transaction to
   * `handler` (already validated for order); returns the transaction id.
   * `fields` are serialized members such as '"service-id":5'.
   */
  request(cmd: Command, fields: string, handler: (msg: Message) => void, onClose: (reason: string) => void = () => {}): bigint {
    return this.open(cmd, fields, handler, onClose);
  }

  /** Closes the connection; open transactions are rejected with ConnectionClosed. */
  close(reason = 'closed by the client'): void {
    if (this.closeReason !== undefined) return;
    this.connection.close(reason);
    this.ended(reason);
  }

  // ------------------------------------------------------------------
  // Internals

  private acceptedTrack(): bigint {
    const ta = this.trackTaId;
    if (ta === undefined || this.transactions.get(ta)?.accepted !== true) throw new Error('no accepted track transaction');
    return ta;
  }

  private trackNotify(msg: Message, onEvent: (event: TrackEvent) => void): void {
    const kind = msg.fields['track-type'] as string;
    if (kind === 'query') {
      if (this.autoReply) this.transmit(encodeMessage('track', msg.taId, 'inform', '"track-type":"reply"'));
      else this.serverQueries++;
      onEvent({ type: 'query' });
    } else if (kind === 'reply') {
      const query = this.ownQueries.shift();
      if (query === undefined) throw new ProtocolError('track reply without an outstanding query');
      const latency = seconds(query.sentAt);
      query.resolve(latency);
      onEvent({ type: 'reply', latency });
    } else {
      throw new ProtocolError(`unknown track-type ${JSON.stringify(kind)}`);
    }
  }

  private trackEnded(err: Error): void {
    for (const q of this.ownQueries.splice(0)) q.reject(err);
  }

  private open(cmd: Command, fields: string, handler: Handler, onClose: (reason: string) => void): bigint {
    const taId = this.nextTaId++;
    if (this.closeReason !== undefined) {
      const reason = this.closeReason;
      queueMicrotask(() => onClose(reason));
      return taId;
    }
    this.transactions.set(taId, { cmd, kind: COMMAND_KIND[cmd], accepted: false, handler, onClose });
    this.transmit(encodeMessage(cmd, taId, 'request', fields));
    return taId;
  }

  /** A single-response transaction whose complete is turned into a value by `onComplete`. */
  private single<T>(cmd: Command, fields: string, onComplete: (msg: Message) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.open(cmd, fields, (msg) => {
        if (msg.type !== 'complete') {
          reject(new TransactionFailed(cmd, failReason(msg)));
          return;
        }
        try {
          resolve(onComplete(msg));
        } catch (err) {
          // A reply that breaks the protocol: the caller hears of it, the connection closes.
          reject(err);
          throw err;
        }
      }, (reason) => reject(new ConnectionClosed(reason)));
    });
  }

  /** A snapshot listing: accept, notifies, complete. */
  private listing<T>(cmd: Command, fields: string, decode: (f: JsonObject) => T): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const items: T[] = [];
      this.open(cmd, fields, (msg) => {
        if (msg.type === 'notify') items.push(decode(msg.fields));
        else if (msg.type === 'complete') resolve(items);
        else if (msg.type === 'fail') reject(new TransactionFailed(cmd, failReason(msg)));
      }, (reason) => reject(new ConnectionClosed(reason)));
    });
  }

  private receive(payload: Buffer): void {
    if (this.closeReason !== undefined) return;
    try {
      const msg = validateMessage(parseJson(decodeUtf8(payload)), this.negotiated ?? MAX_PROTOCOL_VERSION, 'to-client');
      const ta = this.transactions.get(msg.taId);
      if (ta === undefined) throw new ProtocolError(`${msg.cmd} ${msg.type} for transaction ${msg.taId}, which is not open`);
      if (ta.cmd !== msg.cmd) throw new ProtocolError(`${msg.cmd} ${msg.type} for transaction ${msg.taId}, which is a ${ta.cmd}`);
      checkOrder(ta, msg);
      // The transaction is over once it completes or fails.
      if (msg.type === 'complete' || msg.type === 'fail') this.transactions.delete(msg.taId);
      this.emit('message', msg);
      ta.handler(msg);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.close(`protocol error: ${text}`);
    }
  }

  private ended(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    const open = [...this.transactions.values()];
    this.transactions.clear();
    for (const ta of open) ta.onClose(reason);
    this.trackEnded(new ConnectionClosed(reason));
    this.resolveClosed(reason);
    this.emit('close', reason);
  }
}

/**
 * The transaction state machine seen from the client (docs/protocol.md §4.1,
 * §7). Marks the transaction accepted at its accept.
 */
function checkOrder(ta: Transaction, msg: Message): void {
  const where = `${msg.cmd} transaction ${msg.taId}`;
  switch (msg.type) {
    case 'accept':
      if (ta.kind === 'single') throw new ProtocolError(`accept in single-response ${where}`);
      if (ta.accepted) throw new ProtocolError(`second accept in ${where}`);
      ta.accepted = true;
      return;
    case 'notify':
      if (!ta.accepted) throw new ProtocolError(`notify before accept in ${where}`);
      return;
    case 'complete':
      if (ta.kind !== 'single' && !ta.accepted) throw new ProtocolError(`complete before accept in ${where}`);
      return;
    case 'fail':
      // Multi-response transactions may fail before or after their accept.
      return;
    default:
      throw new ProtocolError(`${msg.type} from the server in ${where}`);
  }
}

/** String targets: the first server of a domain file of that name, else an address. */
async function resolveTarget(target: string, opts: WireConnectOptions): Promise<ServerDescription> {
  if (isDomainName(target)) {
    let servers: ServerEntry[] = [];
    try {
      servers = await readDomainFile(domainsDirectory(opts.env ?? process.env, opts.domainsDir), target);
    } catch {
      // No usable domain file of that name: the string is an address.
    }
    const first = servers[0];
    if (first !== undefined) return describeServer(first);
  }
  return { address: target };
}

/** A domain-file entry as a connect target. */
export function describeServer(entry: ServerEntry): ServerDescription {
  const desc: ServerDescription = { address: entry.address };
  const range = offeredVersions(entry);
  // An impossible range is passed on as it is, so that connect() refuses it.
  desc.minVersion = range?.min ?? entry.minProtocolVersion ?? MIN_PROTOCOL_VERSION;
  desc.maxVersion = range?.max ?? entry.maxProtocolVersion ?? MAX_PROTOCOL_VERSION;
  if (entry.localAddress !== undefined) desc.localAddress = entry.localAddress;
  const tls: TlsFiles = {};
  if (entry.tlsCertificateFile !== undefined) tls.cert = entry.tlsCertificateFile;
  if (entry.tlsKeyFile !== undefined) tls.key = entry.tlsKeyFile;
  if (entry.tlsTrustedCaFile !== undefined) tls.tc = entry.tlsTrustedCaFile;
  if (entry.tlsCrlFile !== undefined) tls.crl = entry.tlsCrlFile;
  if (Object.keys(tls).length > 0) desc.tls = tls;
  return desc;
}
