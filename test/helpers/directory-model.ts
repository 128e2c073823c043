// What the directory should say, and how to read it off the wire: exact
// field sets of subscription notifications and listings (docs/protocol.md §6.3,
// §6.6), props compared as sets, a barrier to collect everything a
// subscriber has been sent so far, and small client chores (track answers,
// hello retries) that conformance scenarios need.

import * as assert from 'uvu/assert';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { stringifyJson } from '../../src/protocol/json';
import type { Msg } from './wire';
import { WireClient, randomId } from './wire';
import type { Pafd } from './pafd';
import { startPafd } from './pafd';
import { freshAddress } from './transport';

/**
 * Distinct users (helpers/transport.ts): source addresses 127.0.0.2-4 on
 * tcp, certificates client0-2 on tls; each differs from the default
 * identity of clients that name no user. Over ux all are one user.
 */
export const USER_A = 0;
export const USER_B = 1;
export const USER_C = 2;

/**
 * Wall-clock UNIX time in seconds, as the server reports orphan-since: a
 * lower bound for an event that follows (Date.now() is whole milliseconds,
 * never ahead of the true time).
 */
export function wallNow(): number { return Date.now() / 1000; }

/**
 * An upper bound of the wall-clock time now: the server reports
 * microseconds, and the true time may be up to 1 ms past Date.now().
 */
export function wallUpperNow(): number { return (Date.now() + 1) / 1000; }

/** Monotonic seconds, for measuring intervals. */
export function monoNow(): number { return performance.now() / 1000; }

export type ExpectedProps = Record<string, JsonValue[]>;

/** Props as plain sorted sets of typed tokens ("s:x", "i:5") so that order and duplicates do not matter. */
export function propsAsSets(props: JsonValue | undefined): Record<string, string[]> {
  if (props === null || typeof props !== 'object' || Array.isArray(props)) assert.unreachable(`props must be an object, got ${stringifyJson(props ?? null)}`);
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(props as JsonObject).sort()) {
    const values = (props as JsonObject)[key];
    assert.ok(Array.isArray(values), `prop ${key} must be an array`);
    out[key] = [...new Set((values as JsonValue[]).map(token))].sort();
  }
  return out;
}

function token(v: JsonValue): string {
  if (typeof v === 'string') return `s:${v}`;
  if (typeof v === 'bigint') return `i:${v}`;
  throw new Error(`prop value of unexpected type: ${String(v)}`);
}

/** Converts test-side props (numbers allowed for brevity) to wire values. */
export function wireProps(props: Record<string, (string | number | bigint)[]>): ExpectedProps {
  const out: ExpectedProps = {};
  for (const [k, vs] of Object.entries(props)) out[k] = vs.map((v) => (typeof v === 'number' ? BigInt(v) : v));
  return out;
}

export function assertPropsEqual(actual: JsonValue | undefined, expected: ExpectedProps, what = 'service-props'): void {
  assert.equal(propsAsSets(actual), propsAsSets(expected as JsonObject), what);
}

function assertKeys(m: Msg, keys: string[]): void {
  assert.equal(Object.keys(m).sort(), [...keys].sort(), `field set of ${stringifyJson(m)}`);
}

const ENVELOPE = ['ta-cmd', 'ta-id', 'msg-type'];
const STATE_FIELDS = ['service-id', 'generation', 'service-props', 'ttl', 'client-id'];

/** State of a service as a notification or listing should carry it. */
export interface ServiceState {
  id: bigint;
  generation: number | bigint;
  props: ExpectedProps;
  ttl: number | bigint;
  clientId: bigint;
  /** Absent/false: must not be an orphan. true: must carry orphan-since. [lo, hi]: orphan-since within (wall seconds). */
  orphan?: boolean | [number, number];
}

function assertState(m: Msg, s: ServiceState): void {
  assert.is(m['service-id'], s.id, 'service-id');
  assert.is(m['generation'], BigInt(s.generation), 'generation');
  assertPropsEqual(m['service-props'], s.props);
  assert.is(m['ttl'], BigInt(s.ttl), 'ttl');
  assert.is(m['client-id'], s.clientId, 'client-id');
  if (s.orphan) {
    const since = m['orphan-since'];
    assert.ok(typeof since === 'number' || typeof since === 'bigint', `orphan-since missing in ${stringifyJson(m)}`);
    if (Array.isArray(s.orphan)) {
      const t = Number(since);
      assert.ok(t >= s.orphan[0] && t <= s.orphan[1], `orphan-since ${t} outside [${s.orphan[0]}, ${s.orphan[1]}]`);
    }
  } else {
    assert.not.ok('orphan-since' in m, `unexpected orphan-since in ${stringifyJson(m)}`);
  }
}

/** An appeared/modified notification: exact field set and the service's state after the change. */
export function assertMatch(m: Msg, ta: bigint, type: 'appeared' | 'modified', s: ServiceState): void {
  assert.is(m['ta-cmd'], 'subscribe');
  assert.is(m['ta-id'], ta);
  assert.is(m['msg-type'], 'notify');
  assert.is(m['match-type'], type, `match-type of ${stringifyJson(m)}`);
  assertKeys(m, [...ENVELOPE, 'match-type', ...STATE_FIELDS, ...(s.orphan ? ['orphan-since'] : [])]);
  assertState(m, s);
}

/** A disappeared notification carries only match-type and service-id. */
export function assertDisappeared(m: Msg, ta: bigint, id: bigint): void {
  assert.is(m['ta-cmd'], 'subscribe');
  assert.is(m['ta-id'], ta);
  assert.is(m['msg-type'], 'notify');
  assert.is(m['match-type'], 'disappeared', `match-type of ${stringifyJson(m)}`);
  assertKeys(m, [...ENVELOPE, 'match-type', 'service-id']);
  assert.is(m['service-id'], id);
}

/** A `services` listing entry (docs/protocol.md §6.6). */
export function assertListed(m: Msg, s: ServiceState): void {
  assert.is(m['ta-cmd'], 'services');
  assert.is(m['msg-type'], 'notify');
  assertKeys(m, [...ENVELOPE, ...STATE_FIELDS, ...(s.orphan ? ['orphan-since'] : [])]);
  assertState(m, s);
}

export function assertComplete(m: Msg, what = 'reply'): void {
  assert.is(m['msg-type'], 'complete', `${what}: ${stringifyJson(m)}`);
}

export function assertFail(m: Msg, reason: string, what = 'reply'): void {
  assert.is(m['msg-type'], 'fail', `${what}: ${stringifyJson(m)}`);
  assert.is(m['fail-reason'], reason, `${what}: ${stringifyJson(m)}`);
}

/**
 * Everything subscriber `c` has been sent on subscription transaction `ta`
 * so far (optionally only about one service), in arrival order. A ping is
 * the barrier: the server queues a request's notifications before it
 * handles the next request, so once the ping's reply is here every
 * notification caused by already-answered requests is here too.
 */
export async function drain(c: WireClient, ta: bigint, serviceId?: bigint): Promise<Msg[]> {
  assertComplete(await c.ping(), 'barrier ping');
  const pred = (m: Msg) => m['ta-id'] === ta && (serviceId === undefined || m['service-id'] === serviceId);
  const out: Msg[] = [];
  while (c.unread.some(pred)) out.push(await c.next(pred, 0));
  return out;
}

/** Next notification of `ta` about one service (other services' notifications stay queued). */
export function nextAbout(c: WireClient, ta: bigint, serviceId: bigint, timeoutMs = 3000): Promise<Msg> {
  return c.next((m) => m['ta-id'] === ta && m['service-id'] === serviceId, timeoutMs);
}

/** Subscribes and asserts the accept. */
export async function subscribeOk(c: WireClient, subscriptionId: bigint, filter?: string): Promise<bigint> {
  const { ta, reply } = await c.subscribe(subscriptionId, filter);
  assert.is(reply['msg-type'], 'accept', `subscribe ${filter ?? '(match-all)'}: ${stringifyJson(reply)}`);
  return ta;
}

/**
 * Opens a v3 track transaction and answers every server query from then
 * on, like a live libpaf client; returns the track transaction id.
 */
export async function answerTrackQueries(c: WireClient): Promise<bigint> {
  const ta = c.taId();
  c.send('track', ta, 'request');
  const accept = await c.nextOf(ta);
  assert.is(accept['msg-type'], 'accept', `track: ${stringifyJson(accept)}`);
  const isQuery = (m: Msg) => m['ta-id'] === ta && m['track-type'] === 'query';
  const answer = () => {
    while (c.unread.some(isQuery)) {
      void c.next(isQuery, 0);
      c.send('track', ta, 'inform', { 'track-type': 'reply' });
    }
  };
  // Called after each message is queued.
  c.onReceive(answer);
  return ta;
}

/**
 * Opens a connection and says hello with `clientId`, repeating the hello
 * on the same connection while the server still holds the id for a
 * closing connection (`client-id-exists`, docs/semantics.md §6.4: clients
 * retry). The disconnect of the old connection is not visible on the wire
 * when it owned nothing, so there is no event to wait for instead.
 */
export async function reconnect(address: string, clientId: bigint, opts: { user?: number; min?: number; max?: number } = {}): Promise<WireClient> {
  const c = await WireClient.connect(address, { user: opts.user });
  c.clientId = clientId;
  const deadline = monoNow() + 2;
  for (;;) {
    const r = await c.hello(opts.min ?? 2, opts.max ?? 3);
    if (r['msg-type'] === 'complete') return c;
    if (r['fail-reason'] !== 'client-id-exists' || monoNow() > deadline) {
      c.close();
      throw new Error(`hello with client id ${clientId} failed: ${stringifyJson(r)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Keeps track of clients a test opens so they can all be closed afterwards. */
export class ClientPool {
  private readonly clients: WireClient[] = [];

  constructor(private readonly address: () => string) {}

  async open(opts: { min?: number; max?: number; clientId?: bigint; user?: number } = {}): Promise<WireClient> {
    const c = await WireClient.open(this.address(), opts);
    this.clients.push(c);
    return c;
  }

  /** Adopts a client opened another way. */
  add(c: WireClient): WireClient {
    this.clients.push(c);
    return c;
  }

  closeAll(): void {
    for (const c of this.clients) c.close();
    this.clients.length = 0;
  }
}

/** A pafd with one domain on the matrix transport and a pool of clients, for one test. */
export interface Domain {
  pafd: Pafd;
  addr: string;
  pool: ClientPool;
}

/** Starts pafd; without a config the domain is a fresh matrix address given on the command line. */
export async function startDomain(config?: string): Promise<Domain> {
  const pafd = config === undefined ? await startPafd([freshAddress()]) : await startPafd([], { config });
  const addr = pafd.addresses[0];
  return { pafd, addr, pool: new ClientPool(() => addr) };
}

export async function stopDomain(d: Domain | undefined): Promise<void> {
  if (!d) return;
  d.pool.closeAll();
  await d.pafd.stop();
}

/** Sends every publish before reading any reply (pipelined); resolves with the replies in request order. */
export async function publishPipelined(c: WireClient, services: { id: bigint; generation: number | bigint; props: ExpectedProps; ttl: number | bigint }[]): Promise<{ ta: bigint; reply: Msg }[]> {
  const tas: bigint[] = [];
  for (const s of services) {
    const ta = c.taId();
    tas.push(ta);
    const props: JsonObject = Object.create(null);
    for (const [k, v] of Object.entries(s.props)) props[k] = v;
    c.send('publish', ta, 'request', { 'service-id': s.id, generation: BigInt(s.generation), 'service-props': props, ttl: BigInt(s.ttl) });
  }
  const out: { ta: bigint; reply: Msg }[] = [];
  for (const ta of tas) out.push({ ta, reply: await c.nextOf(ta, 10000) });
  return out;
}

/** How long a refused client may wait for an answer that never comes (the original leaves it in the backlog). */
const UNANSWERED_MS = 1000;

/**
 * A client beyond the total client limit must not get a session: the
 * server may fail its hello with insufficient-resources, close the
 * connection (admission control, docs/semantics.md §8.3) or leave it unserved.
 */
export async function assertNoSession(d: Domain, user?: number): Promise<void> {
  let c: WireClient;
  try {
    c = d.pool.add(await WireClient.connect(d.addr, user === undefined ? {} : { user }));
  } catch {
    return; // refused at the transport level
  }
  const outcome = await Promise.race([
    c.hello().then((m: Msg) => m, () => 'closed' as const),
    c.closed.then(() => 'closed' as const),
    new Promise<'unanswered'>((resolve) => setTimeout(() => resolve('unanswered'), UNANSWERED_MS)),
  ]);
  if (typeof outcome === 'string') return;
  assertFail(outcome, 'insufficient-resources', 'hello beyond the total client limit');
}

/** n services tagged `tag` (props tag and i), generation 1, for publishPipelined. */
export function serviceBatch(n: number, tag: string, ttl = 60) {
  return Array.from({ length: n }, (_, i) => ({ id: randomId(), generation: 1, props: { tag: [tag], i: [BigInt(i)] }, ttl }));
}
