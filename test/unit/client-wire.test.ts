// The wire-level client (docs/client-library.md §1) against a scripted fake
// connection: what it sends, how it decodes replies, and that every
// out-of-order or malformed server message closes the connection.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { parseJson, stringifyJson } from '../../src/protocol/json';
import type { MessageConnection } from '../../src/transport/types';
import type { SubscriptionEvent, TrackEvent } from '../../src/client/wire';
import { ConnectionClosed, TransactionFailed, WireClient, randomId } from '../../src/client/wire';

/** The JSON codec builds null-prototype objects; uvu's deep equality wants plain ones. */
function plain(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) out[k] = plain(v[k]!);
    return out;
  }
  return v;
}

class FakeConnection implements MessageConnection {
  readonly remoteAddress = 'tcp:127.0.0.1:4711';
  readonly user = 'ip:127.0.0.1';
  readonly queuedBytes = 0;
  readonly bufferedInput = 0;
  onInput: () => void = () => {};
  onMessage: (payload: Buffer) => void = () => {};
  onClose: (reason: string | undefined) => void = () => {};
  onDrain: () => void = () => {};
  readonly sent: JsonObject[] = [];
  keepAlive: boolean[] = [];
  closedWith: string | undefined;
  send(message: string): void { this.sent.push(plain(parseJson(message)) as JsonObject); }
  pause(): void {}
  resume(): void {}
  setKeepAlive(on: boolean): void { this.keepAlive.push(on); }
  close(reason?: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason ?? 'closed';
    this.onClose(this.closedWith);
  }
  /** Delivers a server message (an object, or raw text). */
  deliver(msg: Record<string, JsonValue> | string): void {
    this.onMessage(Buffer.from(typeof msg === 'string' ? msg : stringifyJson(msg as JsonObject)));
  }
  reply(cmd: string, taId: bigint, type: string, fields: Record<string, JsonValue> = {}): void {
    this.deliver({ 'ta-cmd': cmd, 'ta-id': taId, 'msg-type': type, ...fields });
  }
}

function setup(): { conn: FakeConnection; client: WireClient } {
  const conn = new FakeConnection();
  const client = new WireClient(conn, { clientId: 42n });
  return { conn, client };
}

async function greeted(version: 2 | 3 = 3): Promise<{ conn: FakeConnection; client: WireClient }> {
  const s = setup();
  const hello = s.client.hello();
  s.conn.reply('hello', 0n, 'complete', { 'protocol-version': BigInt(version) });
  assert.is(await hello, version);
  return s;
}

async function expectProtocolError(conn: FakeConnection, client: WireClient, why: RegExp): Promise<void> {
  const reason = await client.closed;
  assert.match(reason, /^protocol error: /);
  assert.match(reason, why);
  assert.ok(client.isClosed);
  assert.is(conn.closedWith, reason);
}

test('hello sends the client id and version range and records the negotiated version', async () => {
  const { conn, client } = setup();
  const hello = client.hello(2, 3);
  assert.equal(conn.sent, [{ 'ta-cmd': 'hello', 'ta-id': 0n, 'msg-type': 'request', 'client-id': 42n, 'protocol-minimum-version': 2n, 'protocol-maximum-version': 3n }]);
  assert.is(client.version, undefined);
  conn.reply('hello', 0n, 'complete', { 'protocol-version': 2n });
  assert.is(await hello, 2);
  assert.is(client.version, 2);
});

test('hello fail rejects with the reason and keeps the connection', async () => {
  const { conn, client } = setup();
  const hello = client.hello();
  conn.reply('hello', 0n, 'fail', { 'fail-reason': 'client-id-exists' });
  await hello.then(() => assert.unreachable(), (err: TransactionFailed) => {
    assert.instance(err, TransactionFailed);
    assert.is(err.reason, 'client-id-exists');
    assert.match(err.message, /client-id-exists/);
  });
  assert.not.ok(client.isClosed);
});

test('a negotiated version outside 2..3 or the offered range is a protocol error', async () => {
  for (const [offer, got] of [[[2, 3], 4n], [[3, 3], 2n]] as const) {
    const { conn, client } = setup();
    const hello = client.hello(offer[0], offer[1]);
    conn.reply('hello', 0n, 'complete', { 'protocol-version': got });
    await hello.then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /protocol version/));
    await expectProtocolError(conn, client, /selected protocol version/);
  }
});

test('transaction ids count up from 0; publish encodes props and integers exactly', async () => {
  const { conn, client } = await greeted();
  const id = (1n << 62n) + 12345n;
  const pub = client.publish(id, 7, { name: 'svc', port: [80, 80, 443], big: 9007199254740993n }, 30);
  const ping = client.ping();
  assert.equal(conn.sent.slice(1).map((m) => m['ta-id']), [1n, 2n]);
  const req = conn.sent[1]!;
  assert.is(req['service-id'], id);
  assert.is(req.generation, 7n);
  assert.is(req.ttl, 30n);
  assert.equal(req['service-props'], { name: ['svc'], port: [80n, 443n], big: [9007199254740993n] });
  conn.reply('publish', 1n, 'complete');
  conn.reply('ping', 2n, 'complete');
  await pub;
  assert.ok((await ping) >= 0);
});

test('publish fail rejects with TransactionFailed carrying the reason', async () => {
  const { conn, client } = await greeted();
  const pub = client.publish(1n, 0, {}, 1);
  conn.reply('publish', 1n, 'fail', { 'fail-reason': 'old-generation' });
  await pub.then(() => assert.unreachable(), (err: TransactionFailed) => {
    assert.is(err.cmd, 'publish');
    assert.is(err.reason, 'old-generation');
  });
});

test('subscribe: accept, decoded notifications, then complete after unsubscribe', async () => {
  const { conn, client } = await greeted();
  const events: SubscriptionEvent[] = [];
  const sub = client.subscribe(99n, (e) => events.push(e), '(name=x)');
  assert.equal(conn.sent[1], { 'ta-cmd': 'subscribe', 'ta-id': 1n, 'msg-type': 'request', 'subscription-id': 99n, filter: '(name=x)' });
  conn.reply('subscribe', 1n, 'accept');
  await sub;
  conn.reply('subscribe', 1n, 'notify', { 'match-type': 'appeared', 'service-id': 5n, generation: 0n, 'service-props': { name: ['x'], n: [1n, 1n] }, ttl: 10n, 'client-id': 8n });
  conn.reply('subscribe', 1n, 'notify', { 'match-type': 'modified', 'service-id': 5n, generation: 0n, 'service-props': { name: ['x'] }, ttl: 10n, 'client-id': 8n, 'orphan-since': 1700000000.5 });
  conn.reply('subscribe', 1n, 'notify', { 'match-type': 'disappeared', 'service-id': 5n });
  const unsub = client.unsubscribe(99n);
  conn.reply('subscribe', 1n, 'complete');
  conn.reply('unsubscribe', 2n, 'complete');
  await unsub;
  assert.equal(events.map((e) => e.type), ['accept', 'match', 'match', 'match', 'complete']);
  const [, appeared, modified, gone] = events as { type: 'match'; match: import('../../src/client/wire').MatchNotification }[];
  assert.is(appeared!.match.matchType, 'appeared');
  assert.equal([...appeared!.match.props!], [['name', ['x']], ['n', [1n]]]);
  assert.is(appeared!.match.clientId, 8n);
  assert.is(appeared!.match.orphanSince, undefined);
  assert.is(modified!.match.orphanSince, 1700000000.5);
  assert.equal(gone!.match, { matchType: 'disappeared', serviceId: 5n });
  assert.not.ok(client.isClosed);
});

test('subscribe fail before accept rejects; fail after accept reaches the callback', async () => {
  const { conn, client } = await greeted();
  const events: SubscriptionEvent[] = [];
  const bad = client.subscribe(1n, (e) => events.push(e), '(');
  conn.reply('subscribe', 1n, 'fail', { 'fail-reason': 'invalid-filter-syntax' });
  await bad.then(() => assert.unreachable(), (err: TransactionFailed) => assert.is(err.reason, 'invalid-filter-syntax'));
  const ok = client.subscribe(2n, (e) => events.push(e));
  conn.reply('subscribe', 2n, 'accept');
  await ok;
  conn.reply('subscribe', 2n, 'fail');
  assert.equal(events.map((e) => e.type), ['fail', 'accept', 'fail']);
  assert.not.ok(client.isClosed);
});

test('listings decode services, subscriptions and clients', async () => {
  const { conn, client } = await greeted(3);
  const services = client.services('(a=b)');
  conn.reply('services', 1n, 'accept');
  conn.reply('services', 1n, 'notify', { 'service-id': 3n, generation: 1n, 'service-props': { a: ['b'] }, ttl: 5n, 'client-id': 4n, 'orphan-since': 12.5 });
  conn.reply('services', 1n, 'complete');
  const [svc] = await services;
  assert.equal({ ...svc, props: [...svc!.props] }, { serviceId: 3n, generation: 1n, props: [['a', ['b']]], ttl: 5n, clientId: 4n, orphanSince: 12.5 });
  assert.is(conn.sent[1]!.filter, '(a=b)');

  const subs = client.subscriptions();
  conn.reply('subscriptions', 2n, 'accept');
  conn.reply('subscriptions', 2n, 'notify', { 'subscription-id': 9n, 'client-id': 4n });
  conn.reply('subscriptions', 2n, 'notify', { 'subscription-id': 10n, 'client-id': 4n, filter: '(x=1)' });
  conn.reply('subscriptions', 2n, 'complete');
  assert.equal(await subs, [{ subscriptionId: 9n, clientId: 4n }, { subscriptionId: 10n, clientId: 4n, filter: '(x=1)' }]);

  const clients = client.clients();
  conn.reply('clients', 3n, 'accept');
  conn.reply('clients', 3n, 'notify', { 'client-id': 42n, 'client-address': 'tcp:127.0.0.1:5000', time: 100n, idle: 0.25, 'protocol-version': 3n, latency: 0.001 });
  conn.reply('clients', 3n, 'complete');
  assert.equal(await clients, [{ clientId: 42n, address: 'tcp:127.0.0.1:5000', time: 100n, idle: 0.25, version: 3, latency: 0.001 }]);
});

test('a v2 connection validates clients notifications with the v2 table', async () => {
  const { conn, client } = await greeted(2);
  const clients = client.clients();
  conn.reply('clients', 1n, 'accept');
  conn.reply('clients', 1n, 'notify', { 'client-id': 42n, 'client-address': 'ux:1', time: 100n, idle: 0.25, 'protocol-version': 2n });
  await clients.then(() => assert.unreachable(), (err: Error) => assert.instance(err, ConnectionClosed));
  await expectProtocolError(conn, client, /unknown field "idle"/);
});

const VIOLATIONS: [string, (c: FakeConnection) => void, RegExp][] = [
  ['a transaction that was never opened', (c) => c.reply('ping', 9n, 'complete'), /not open/],
  ['the wrong command for the transaction', (c) => c.reply('services', 1n, 'accept'), /which is a subscribe/],
  ['notify before accept', (c) => c.reply('subscribe', 1n, 'notify', { 'match-type': 'disappeared', 'service-id': 1n }), /notify before accept/],
  ['complete before accept in a multi-response transaction', (c) => c.reply('subscribe', 1n, 'complete'), /complete before accept/],
  ['accept in a single-response transaction', (c) => c.reply('ping', 2n, 'accept'), /"accept" does not exist for command "ping"/],
  ['a second accept', (c) => { c.reply('subscribe', 1n, 'accept'); c.reply('subscribe', 1n, 'accept'); }, /second accept/],
  ['a message type only clients send', (c) => c.reply('ping', 2n, 'request'), /cannot be sent by the server/],
  ['an unknown field', (c) => c.reply('ping', 2n, 'complete', { extra: 1n }), /unknown field/],
  ['invalid JSON', (c) => c.deliver('{"ta-cmd":'), /unexpected end/],
  ['an unknown match type', (c) => { c.reply('subscribe', 1n, 'accept'); c.reply('subscribe', 1n, 'notify', { 'match-type': 'removed', 'service-id': 1n }); }, /match-type/],
  ['an appeared without generation', (c) => { c.reply('subscribe', 1n, 'accept'); c.reply('subscribe', 1n, 'notify', { 'match-type': 'appeared', 'service-id': 1n, 'service-props': {}, ttl: 1n, 'client-id': 1n }); }, /generation/],
  ['a disappeared with props', (c) => { c.reply('subscribe', 1n, 'accept'); c.reply('subscribe', 1n, 'notify', { 'match-type': 'disappeared', 'service-id': 1n, 'service-props': {} }); }, /service-props/],
  ['a reply to a transaction that already completed', (c) => { c.reply('ping', 2n, 'complete'); c.reply('ping', 2n, 'complete'); }, /not open/],
  ['a 5.0 where an integer belongs', (c) => c.deliver('{"ta-cmd":"ping","ta-id":2.0,"msg-type":"complete"}'), /ta-id/],
];

for (const [what, send, why] of VIOLATIONS) {
  test(`protocol error closes the connection: ${what}`, async () => {
    const { conn, client } = await greeted();
    const closes: string[] = [];
    client.on('close', (r) => closes.push(r));
    const sub = client.subscribe(1n, () => {});       // ta 1
    const ping = client.ping();                        // ta 2
    sub.catch(() => {});
    send(conn);
    await expectProtocolError(conn, client, why);
    assert.equal(closes.length, 1);
    await ping.then(() => { /* it may have completed just before the violation */ }, (err: Error) => assert.instance(err, ConnectionClosed));
    // Nothing more is processed or sent after the close.
    const before = conn.sent.length;
    await client.ping().then(() => assert.unreachable(), (err: Error) => assert.instance(err, ConnectionClosed));
    assert.is(conn.sent.length, before);
  });
}

test('track needs v3; it answers server queries, measures own queries and turns keepalive off', async () => {
  const v2 = await greeted(2);
  await v2.client.track().then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /version 3/));

  const { conn, client } = await greeted(3);
  const events: TrackEvent[] = [];
  const track = client.track((e) => events.push(e));
  assert.equal(conn.sent[1], { 'ta-cmd': 'track', 'ta-id': 1n, 'msg-type': 'request' });
  conn.reply('track', 1n, 'accept');
  await track;
  assert.equal(conn.keepAlive, [false]);
  conn.reply('track', 1n, 'notify', { 'track-type': 'query' });
  assert.equal(conn.sent[2], { 'ta-cmd': 'track', 'ta-id': 1n, 'msg-type': 'inform', 'track-type': 'reply' });
  const latency = client.trackQuery();
  assert.equal(conn.sent[3], { 'ta-cmd': 'track', 'ta-id': 1n, 'msg-type': 'inform', 'track-type': 'query' });
  conn.reply('track', 1n, 'notify', { 'track-type': 'reply' });
  assert.ok((await latency) >= 0);
  assert.equal(events.map((e) => e.type), ['accept', 'query', 'reply']);
  await client.track().then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /already open/));
});

test('track: manual replies when autoReply is off', async () => {
  const { conn, client } = await greeted(3);
  const track = client.track(() => {}, { autoReply: false });
  conn.reply('track', 1n, 'accept');
  await track;
  assert.throws(() => client.trackReply(), /no track query/);
  conn.reply('track', 1n, 'notify', { 'track-type': 'query' });
  assert.is(conn.sent.length, 2, 'not answered automatically');
  client.trackReply();
  assert.equal(conn.sent[2], { 'ta-cmd': 'track', 'ta-id': 1n, 'msg-type': 'inform', 'track-type': 'reply' });
});

test('track: a reply nobody asked for, or an unknown track type, is a protocol error', async () => {
  for (const [type, why] of [['reply', /without an outstanding query/], ['ping', /unknown track-type/]] as const) {
    const { conn, client } = await greeted(3);
    const track = client.track();
    conn.reply('track', 1n, 'accept');
    await track;
    conn.reply('track', 1n, 'notify', { 'track-type': type });
    await expectProtocolError(conn, client, why);
  }
});

test('track complete from the server ends outstanding queries', async () => {
  const { conn, client } = await greeted(3);
  const events: TrackEvent[] = [];
  const track = client.track((e) => events.push(e));
  conn.reply('track', 1n, 'accept');
  await track;
  const q = client.trackQuery();
  conn.reply('track', 1n, 'complete');
  await q.then(() => assert.unreachable(), (err: Error) => assert.instance(err, ConnectionClosed));
  assert.equal(events.map((e) => e.type), ['accept', 'complete']);
  assert.throws(() => client.trackQuery(), /no accepted track/);
});

test('closing rejects every open transaction and emits close once', async () => {
  const { conn, client } = await greeted();
  const closes: string[] = [];
  client.on('close', (r) => closes.push(r));
  const pending = [client.ping(), client.services(), client.unpublish(1n)];
  conn.close('transport error: reset');
  for (const p of pending) await (p as Promise<unknown>).then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /reset/));
  assert.equal(closes, ['transport error: reset']);
  assert.is(await client.closed, 'transport error: reset');
});

test('random ids are 63-bit and differ', () => {
  const ids = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const id = randomId();
    assert.ok(id >= 0n && id < (1n << 63n));
    ids.add(id);
  }
  assert.is(ids.size, 1000);
});

test.run();
