// Conformance §2 (handshake H1–H14) and the hello-related defects of the
// original (docs/discrepancies.md B1, B9), against the real pafd over the
// matrix transport.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../../helpers/pafd';
import { USER_A } from '../../helpers/directory-model';
import { freshAddress, withUsers } from '../../helpers/transport';
import type { Pafd } from '../../helpers/pafd';
import { WireClient, randomId } from '../../helpers/wire';
import type { Msg } from '../../helpers/wire';
import {
  assertPings, assertWithin, bodyFields, closedAt, inBatches, isQuery, nowS, openTracked, openV2, timeOf,
} from '../../helpers/robust';

/** docs/semantics.md §7.6: closed 3 s after accept (2.9–3.1 s); conformance H13 allows 2–4 s. */
const HANDSHAKE_WINDOW = { lo: 2, hi: 4 };
/** H14: the total client limit of its server. */
const CLIENT_LIMIT = 250;
/** Connections opened concurrently: well below the server's listen backlog. */
const CONNECT_BURST = 24;
/** H14: time left before the first reaping in which the excess connection must be refused. */
const EXCESS_CHECK_MARGIN_S = 0.75;

// Domain 0: default versions [2,3]; domain 1: only v2; domain 2: only v3.
const CONFIG = `
domains:
  - sockets: [${freshAddress()}]
  - sockets: [${freshAddress()}]
    protocol_version: {min: 2, max: 2}
  - sockets: [${freshAddress()}]
    protocol_version: {min: 3, max: 3}
`;

interface Ctx { pafd: Pafd; any: string; v2only: string; v3only: string; bystander: WireClient }
const t = suite<Ctx>('handshake', {} as Ctx);

t.before(async (ctx) => {
  ctx.pafd = await startPafd([], { config: CONFIG });
  [ctx.any, ctx.v2only, ctx.v3only] = ctx.pafd.addresses as [string, string, string];
  ctx.bystander = await openV2(ctx.any);
});
t.after(async (ctx) => {
  ctx.bystander?.close();
  assert.is(await ctx.pafd.stop(), 0, 'pafd exits 0 on SIGTERM');
});

async function helloVersion(address: string, min: number, max: number): Promise<Msg> {
  const c = await WireClient.connect(address);
  const r = await c.hello(min, max);
  c.close();
  return r;
}

function assertFail(m: Msg, reason: string, what: string): void {
  assert.is(m['msg-type'], 'fail', `${what}: msg-type`);
  assert.is(m['fail-reason'], reason, `${what}: fail-reason`);
}

t('H1 client range [2,3] on a default domain gets protocol-version 3', async ({ any }) => {
  const r = await helloVersion(any, 2, 3);
  assert.is(r['msg-type'], 'complete');
  assert.is(r['protocol-version'], 3n);
  assert.equal(bodyFields(r), ['protocol-version']);
});

t('H2 client [2,2] gets 2 and client [3,3] gets 3', async ({ any }) => {
  assert.is((await helloVersion(any, 2, 2))['protocol-version'], 2n);
  assert.is((await helloVersion(any, 3, 3))['protocol-version'], 3n);
});

t('H3 domain limited to [2,2]: client [3,3] fails unsupported-protocol-version, client [2,2] succeeds', async ({ v2only }) => {
  assertFail(await helloVersion(v2only, 3, 3), 'unsupported-protocol-version', 'client [3,3]');
  const ok = await helloVersion(v2only, 2, 2);
  assert.is(ok['msg-type'], 'complete');
  assert.is(ok['protocol-version'], 2n);
  assert.is((await helloVersion(v2only, 2, 3))['protocol-version'], 2n, 'client [2,3] picks 2');
});

t('H4 domain limited to [3,3]: client [2,2] fails unsupported-protocol-version', async ({ v3only }) => {
  assertFail(await helloVersion(v3only, 2, 2), 'unsupported-protocol-version', 'client [2,2]');
  assert.is((await helloVersion(v3only, 2, 3))['protocol-version'], 3n, 'client [2,3] picks 3');
});

t('H5 raw hello with range [4,5] and ta-id 42 gets exactly the fail envelope and fail-reason', async ({ any }) => {
  const c = await WireClient.connect(any);
  c.sendFrame(`{"ta-cmd":"hello","ta-id":42,"msg-type":"request","client-id":${randomId()},"protocol-minimum-version":4,"protocol-maximum-version":5}`);
  const r = await c.next();
  assert.equal({ ...r }, { 'ta-cmd': 'hello', 'ta-id': 42n, 'msg-type': 'fail', 'fail-reason': 'unsupported-protocol-version' });
  assert.equal(Object.keys(r).sort(), ['fail-reason', 'msg-type', 'ta-cmd', 'ta-id']);
  c.close();
});

t('H5 a range with min > max also fails unsupported-protocol-version', async ({ any }) => {
  assertFail(await helloVersion(any, 3, 2), 'unsupported-protocol-version', 'client [3,2]');
});

t('H6 raw hello with range [0,99999] completes with version 3', async ({ any }) => {
  const c = await WireClient.connect(any);
  c.sendFrame(`{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":${randomId()},"protocol-minimum-version":0,"protocol-maximum-version":99999}`);
  const r = await c.nextOf(0n);
  assert.is(r['msg-type'], 'complete');
  assert.is(r['protocol-version'], 3n);
  c.close();
});

t('H7 second connection with a connected client id fails client-id-exists; the first still answers ping', async ({ any }) => {
  const first = await WireClient.open(any);
  const second = await WireClient.connect(any);
  second.clientId = first.clientId;
  assertFail(await second.hello(2, 3), 'client-id-exists', 'duplicate hello');
  await assertPings(first, 'first connection pings');
  first.close();
  second.close();
});

t('H7 once the first connection is gone, the same client id can say hello again', async ({ any }) => {
  const first = await WireClient.open(any);
  first.close();
  await first.closed;
  // The server learns of the close asynchronously: a hello racing it may still see the id in use.
  for (let attempt = 0; ; attempt++) {
    const again = await WireClient.connect(any);
    again.clientId = first.clientId;
    const r = await again.hello(2, 3);
    again.close();
    if (r['msg-type'] === 'complete') break;
    assertFail(r, 'client-id-exists', 'retry');
    assert.ok(attempt < 20, 'the client id is freed after the close');
  }
});

t('H8 a duplicate hello makes the server query the tracked first connection within 1 s', async ({ any }) => {
  const { c: first, ta } = await openTracked(any);
  const second = await WireClient.connect(any);
  second.clientId = first.clientId;
  const query = timeOf(first.next(isQuery(ta), 2000));
  const failed = await timeOf(second.hello(2, 3));
  assertFail(failed.value, 'client-id-exists', 'duplicate hello');
  const q = await query;
  assert.ok(Math.abs(q.at - failed.at) <= 1, `query ${(q.at - failed.at).toFixed(3)} s after the failed hello`);
  // The probed connection answers and stays.
  first.send('track', ta, 'inform', { 'track-type': 'reply' });
  await assertPings(first);
  first.close();
  second.close();
});

t('H9 ping before hello fails no-hello; services before hello fails no-hello instead of accept', async ({ any }) => {
  const c = await WireClient.connect(any);
  assertFail(await c.ping(), 'no-hello', 'ping');
  assertFail(await c.request('services'), 'no-hello', 'services');
  assertFail(await c.request('publish', { 'service-id': 1n, generation: 0n, 'service-props': Object.create(null), ttl: 1n }), 'no-hello', 'publish');
  // The connection is still usable for the handshake.
  const r = await c.hello(2, 3);
  assert.is(r['msg-type'], 'complete');
  c.close();
});

t('H10 track before hello closes the connection', async ({ any, bystander }) => {
  const c = await WireClient.connect(any);
  c.send('track', 0n, 'request');
  await c.expectClosed();
  assert.is(c.unread.length, 0, 'no reply to the track request');
  await assertPings(bystander);
});

t('H11 a repeated hello with the same id completes with the originally negotiated version, whatever the range', async ({ any }) => {
  const v2 = await WireClient.open(any, { min: 2, max: 2 });
  for (const [min, max] of [[3, 3], [2, 3], [4, 5], [3, 2]] as const) {
    const r = await v2.hello(min, max);
    assert.is(r['msg-type'], 'complete', `repeat [${min},${max}] on v2`);
    assert.is(r['protocol-version'], 2n, `repeat [${min},${max}] on v2`);
  }
  const v3 = await WireClient.open(any, { min: 3, max: 3 });
  const r = await v3.hello(2, 2);
  assert.is(r['msg-type'], 'complete');
  assert.is(r['protocol-version'], 3n);
  // Still v3: track is a known command.
  const track = await v3.request('track');
  assert.is(track['msg-type'], 'accept');
  v2.close();
  v3.close();
});

t('H12 B1 a second hello with a different client id fails permission-denied; connection and server keep going', async ({ any, bystander }) => {
  const c = await WireClient.open(any);
  const original = c.clientId;
  c.clientId = randomId();
  assertFail(await c.hello(2, 3), 'permission-denied', 'hello with another id');
  await assertPings(c, 'the connection stays');
  c.clientId = original;
  const again = await c.hello(2, 3);
  assert.is(again['msg-type'], 'complete', 'the original id still works');
  await assertPings(bystander, 'the server keeps running');
  c.close();
});

t('H12 a connection whose first hello failed keeps the id of that hello: another id fails permission-denied', async ({ v3only, bystander }) => {
  const c = await WireClient.connect(v3only);
  assertFail(await c.hello(2, 2), 'unsupported-protocol-version', 'first hello');
  c.clientId = randomId();
  assertFail(await c.hello(3, 3), 'permission-denied', 'hello with another id');
  await assertPings(bystander);
  c.close();
});

t('H13 a connection that never says hello is closed 2–4 s after connect', async ({ any }) => {
  const t0 = nowS();
  const c = await WireClient.connect(any);
  const closed = await closedAt(c, (HANDSHAKE_WINDOW.hi + 1) * 1000);
  assertWithin(closed - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
  assert.is(c.unread.length, 0, 'closed without a message');
});

t('H13 a connection that only sends pre-hello requests is still closed at the handshake deadline', async ({ any }) => {
  const t0 = nowS();
  const c = await WireClient.connect(any);
  assertFail(await c.ping(), 'no-hello', 'ping');
  const closed = await closedAt(c, (HANDSHAKE_WINDOW.hi + 1) * 1000);
  assertWithin(closed - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
});

t('B9 a connection whose hello failed with client-id-exists is closed at the handshake deadline', async ({ any }) => {
  const first = await WireClient.open(any);
  const t0 = nowS();
  const dup = await WireClient.connect(any);
  dup.clientId = first.clientId;
  assertFail(await dup.hello(2, 3), 'client-id-exists', 'duplicate hello');
  const closed = await closedAt(dup, (HANDSHAKE_WINDOW.hi + 1) * 1000);
  assertWithin(closed - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
  await assertPings(first, 'the first connection stays');
  first.close();
});

withUsers(t, 2)('B9 a connection whose hello failed with permission-denied is closed at the handshake deadline', async ({ any }) => {
  // A client id known under another user: an orphan owner of user A, claimed by the default identity.
  const owner = await WireClient.open(any, { user: USER_A });
  const r = await owner.publish(randomId(), 0, { name: ['b9'] }, 60);
  assert.is(r['msg-type'], 'complete');
  owner.close();
  await owner.closed;
  let other: WireClient;
  let t0: number;
  for (let attempt = 0; ; attempt++) {
    t0 = nowS();
    other = await WireClient.connect(any);
    other.clientId = owner.clientId;
    const h = await other.hello(2, 3);
    if (h['fail-reason'] === 'permission-denied') break;
    // The owner's close may not have been processed yet.
    assertFail(h, 'client-id-exists', 'hello while the owner is still connected');
    other.close();
    assert.ok(attempt < 20, 'the owner connection is seen closed');
  }
  const closed = await closedAt(other, (HANDSHAKE_WINDOW.hi + 1) * 1000);
  assertWithin(closed - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
  // Clean up the orphan: the owner (same user) unpublishes it.
  const back = await WireClient.open(any, { user: USER_A, clientId: owner.clientId });
  const services = await back.list('services', { filter: '(name=b9)' });
  for (const s of services) assert.is((await back.unpublish(s['service-id'] as bigint))['msg-type'], 'complete');
  back.close();
});

t('H14 250 connections that never say hello fill the client limit; the next is closed at once; once they are reaped a client completes hello', async () => {
  const pafd = await startPafd([], { config: `domains:\n  - sockets: [${freshAddress()}]\nresources: {total: {clients: ${CLIENT_LIMIT}}}\n` });
  const silent: WireClient[] = [];
  try {
    const address = pafd.addresses[0]!;
    const t0 = nowS();
    // A few at a time, each confirmed by the server: a connect completes on our side
    // before the server accepts it, and once more than the listen backlog (32) waits
    // the kernel drops SYNs (1 s retransmit) or even final ACKs (a connection that
    // exists on our side only). A pre-hello ping, answered no-hello, proves the accept
    // without saying hello.
    await inBatches(Array.from({ length: CLIENT_LIMIT }), CONNECT_BURST, async () => {
      const c = await WireClient.connect(address);
      silent.push(c);
      assertFail(await c.ping(), 'no-hello', 'pre-hello ping');
    });
    // Our server closes a connection beyond the limit at once instead of leaving it in the
    // backlog. That is only observable while all 250 still hold their slots: the first
    // ones are reaped 3 s after their accept (2 s is the window this checks), so a machine too busy to open 250
    // connections well within that cannot check it.
    const filledIn = nowS() - t0;
    if (filledIn < HANDSHAKE_WINDOW.lo - EXCESS_CHECK_MARGIN_S) {
      const excess = await WireClient.connect(address);
      await excess.expectClosed(EXCESS_CHECK_MARGIN_S * 1000);
      assert.is(silent.filter((c) => c.isClosed).length, 0, 'the silent connections are still open');
    } else {
      console.log(`H14: opening ${CLIENT_LIMIT} connections took ${filledIn.toFixed(3)} s; immediate refusal not checked`);
    }
    // The handshake deadline reaps all silent connections.
    await Promise.all(silent.map((c) => c.expectClosed((HANDSHAKE_WINDOW.hi + 2) * 1000)));
    const reaped = nowS() - t0;
    assert.ok(reaped >= HANDSHAKE_WINDOW.lo, `reaped after ${reaped.toFixed(3)} s`);
    const c = await WireClient.open(address);
    await assertPings(c);
    c.close();
  } finally {
    for (const c of silent) c.close();
    await pafd.stop();
  }
});

t.run();
