// Conformance §3 (liveness L1–L11) and the track defects of the original
// (docs/discrepancies.md B5, B6), against the real pafd over the matrix transport.
//
// Timing: the warning timer fires U(0.45, 0.55)·max_idle after the last
// message and the timeout 0.5·max_idle after the warning (docs/semantics.md
// §7.3). Windows are measured from just before our message left (lower
// bound) and from when its reply arrived (upper bound), so the server's
// own reception time always lies in between.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../../helpers/pafd';
import { freshAddress } from '../../helpers/transport';
import type { Pafd } from '../../helpers/pafd';
import { WireClient, randomId } from '../../helpers/wire';
import {
  SCHEDULING_SLACK_S, assertPings, assertWithin, closedAt, isQuery, nowS, openTracked, openV2, pace, replyToQuery, timeOf,
} from '../../helpers/robust';

/** The idle limits of the test domain (domain 0). */
const IDLE = { min: 2, max: 4 };
/** Domain 1 has the default idle limits: min 4, max 30. */
const DEFAULT_IDLE_MIN = 4;
const WARNING = { lo: 0.45, hi: 0.55 };
const TIMEOUT_FRACTION = 0.5;

const CONFIG = `
domains:
  - sockets: [${freshAddress()}]
    idle: {min: ${IDLE.min}, max: ${IDLE.max}}
  - sockets: [${freshAddress()}]
`;

interface Ctx { pafd: Pafd; idle: string; defaults: string; bystander: WireClient }
const t = suite<Ctx>('liveness', {} as Ctx);

t.before(async (ctx) => {
  ctx.pafd = await startPafd([], { config: CONFIG });
  [ctx.idle, ctx.defaults] = ctx.pafd.addresses as [string, string];
  // v2: never disconnected for idleness, so it lasts the whole file.
  ctx.bystander = await openV2(ctx.idle);
});
t.after(async (ctx) => {
  ctx.bystander?.close();
  await ctx.pafd.stop();
});

/** Opens a tracked v3 client; returns it with the send time of its track request and the accept's arrival. */
async function trackedWithTimes(address: string): Promise<{ c: WireClient; ta: bigint; sent: number; accepted: number }> {
  const c = await WireClient.open(address, { min: 3, max: 3 });
  const ta = c.taId();
  const sent = nowS();
  c.send('track', ta, 'request');
  const accept = await timeOf(c.nextOf(ta));
  assert.is(accept.value['msg-type'], 'accept');
  return { c, ta, sent, accepted: accept.at };
}

function queriesIn(c: WireClient, ta: bigint): number {
  return c.unread.filter(isQuery(ta)).length;
}

t('L1 a silent tracked client gets its first query 1.5–2.5 s after the track accept, and only one', async ({ idle }) => {
  const { c, ta, sent, accepted } = await trackedWithTimes(idle);
  const q = await timeOf(c.next(isQuery(ta), 4000));
  assert.ok(q.at - sent >= 1.5, `query ${(q.at - sent).toFixed(3)} s after the track request`);
  assert.ok(q.at - accepted <= 2.5, `query ${(q.at - accepted).toFixed(3)} s after the accept`);
  assert.is(queriesIn(c, ta), 0, 'exactly one query so far');
  c.close();
});

t('L2 a client that answers once and then ignores the next query gets exactly two queries and is closed within max_idle + 0.5 s of its reply', async ({ idle }) => {
  const { c, ta } = await trackedWithTimes(idle);
  await c.next(isQuery(ta), 4000);
  const replied = nowS();
  replyToQuery(c, ta);
  const second = await timeOf(c.next(isQuery(ta), 4000));
  assertWithin(second.at - replied, WARNING.lo * IDLE.max, WARNING.hi * IDLE.max + SCHEDULING_SLACK_S, 'second query after the reply');
  const closed = await closedAt(c, 4000);
  assert.ok(closed - replied <= IDLE.max + 0.5, `closed ${(closed - replied).toFixed(3)} s after the reply`);
  assert.ok(closed - second.at >= TIMEOUT_FRACTION * IDLE.max - SCHEDULING_SLACK_S, `closed ${(closed - second.at).toFixed(3)} s after the second query`);
  assert.is(queriesIn(c, ta), 0, 'exactly two queries in total');
  assert.is(c.unread.length, 0, 'nothing else arrived');
});

t('L3 a tracked client pinging every 0.5 s for 5 s is never queried', async ({ idle }) => {
  const { c, ta } = await trackedWithTimes(idle);
  const PING_INTERVAL_MS = 500;
  const DURATION_MS = 5000;
  const end = nowS() + DURATION_MS / 1000;
  while (nowS() < end) {
    await assertPings(c);
    await pace(PING_INTERVAL_MS);
  }
  assert.is(queriesIn(c, ta), 0, 'no query');
  assert.is(c.unread.length, 0, 'no other message');
  await assertPings(c, 'still connected');
  c.close();
});

t('L4 default domain: publishing a TTL 4 service brings a query within 4 s; after reply and unpublish no query for 4 s', async ({ defaults }) => {
  const { c, ta } = await openTracked(defaults);
  const svc = randomId();
  const published = nowS();
  assert.is((await c.publish(svc, 0, { name: ['l4'] }, DEFAULT_IDLE_MIN))['msg-type'], 'complete');
  const q = await timeOf(c.next(isQuery(ta), 5000));
  assert.ok(q.at - published < 4, `query ${(q.at - published).toFixed(3)} s after the publish`);
  replyToQuery(c, ta);
  assert.is((await c.unpublish(svc))['msg-type'], 'complete');
  await c.expectSilence(4000);
  await assertPings(c, 'still connected');
  c.close();
});

t('L5 a v2 client with a TTL 0 service stays connected through 5 s of silence', async ({ idle }) => {
  const c = await openV2(idle);
  assert.is((await c.publish(randomId(), 0, { name: ['l5'] }, 0))['msg-type'], 'complete');
  await c.expectSilence(5000);
  assert.not.ok(c.isClosed, 'still connected');
  await assertPings(c);
  c.close();
});

t('L6 a silent v3 client without track is closed after about idle.max (3.8–4.2 s)', async ({ idle }) => {
  const c = await WireClient.connect(idle);
  const sent = nowS();
  const hello = await timeOf(c.hello(3, 3));
  assert.is(hello.value['msg-type'], 'complete');
  const closed = await closedAt(c, 6000);
  assert.ok(closed - sent >= 3.8, `closed ${(closed - sent).toFixed(3)} s after the hello request`);
  assert.ok(closed - hello.at <= 4.2 + SCHEDULING_SLACK_S, `closed ${(closed - hello.at).toFixed(3)} s after the hello reply`);
  assert.is(c.unread.length, 0, 'closed without a message');
});

t('L7 a tracked client with a TTL 1 service that ignores queries: query after ~1 s (max_idle 2), closure ~1 s later', async ({ idle }) => {
  const { c, ta } = await openTracked(idle);
  const maxIdle = Math.min(IDLE.max, Math.max(IDLE.min, 1));
  const sent = nowS();
  const pub = await timeOf(c.publish(randomId(), 0, { name: ['l7'] }, 1));
  assert.is(pub.value['msg-type'], 'complete');
  const q = await timeOf(c.next(isQuery(ta), 3000));
  assert.ok(q.at - sent >= WARNING.lo * maxIdle, `query ${(q.at - sent).toFixed(3)} s after the publish request`);
  assert.ok(q.at - pub.at <= WARNING.hi * maxIdle + SCHEDULING_SLACK_S, `query ${(q.at - pub.at).toFixed(3)} s after the publish reply`);
  const closed = await closedAt(c, 3000);
  assertWithin(closed - q.at, TIMEOUT_FRACTION * maxIdle - SCHEDULING_SLACK_S, TIMEOUT_FRACTION * maxIdle + SCHEDULING_SLACK_S, 'closure after the query');
});

t('L8 an inform query is answered at once with a notify reply', async ({ idle }) => {
  const { c, ta } = await openTracked(idle);
  const sent = nowS();
  c.send('track', ta, 'inform', { 'track-type': 'query' });
  const reply = await timeOf(c.nextOf(ta));
  assert.is(reply.value['msg-type'], 'notify');
  assert.is(reply.value['track-type'], 'reply');
  assert.is(reply.value['ta-cmd'], 'track');
  assert.ok(reply.at - sent < 0.5, `reply after ${(reply.at - sent).toFixed(3)} s`);
  c.close();
});

t('L9 a second track fails track-exists and the first stays active', async ({ idle }) => {
  const { c, ta } = await openTracked(idle);
  const second = await c.request('track');
  assert.is(second['msg-type'], 'fail');
  assert.is(second['fail-reason'], 'track-exists');
  c.send('track', ta, 'inform', { 'track-type': 'query' });
  const reply = await c.nextOf(ta);
  assert.is(reply['track-type'], 'reply', 'the first track still works');
  c.close();
});

t('L10 track on a v2 connection closes it', async ({ idle, bystander }) => {
  const c = await openV2(idle);
  c.send('track', c.taId(), 'request');
  await c.expectClosed();
  assert.is(c.unread.length, 0, 'no reply');
  await assertPings(bystander, 'server keeps running');
});

t('L11 B5 an inform reply with no outstanding query closes the connection; the server keeps running', async ({ idle, bystander }) => {
  const { c, ta } = await openTracked(idle);
  replyToQuery(c, ta);
  await c.expectClosed();
  assert.is(c.unread.length, 0, 'no reply');
  await assertPings(bystander, 'server keeps running');
});

t('L11 B5 a second reply to an already answered query closes the connection', async ({ idle, bystander }) => {
  const { c, ta } = await openTracked(idle);
  await c.next(isQuery(ta), 4000);
  replyToQuery(c, ta);
  await assertPings(c, 'the first reply is fine');
  replyToQuery(c, ta);
  await c.expectClosed();
  await assertPings(bystander, 'server keeps running');
});

t('L11 B6 an unknown track-type closes the connection; the server keeps running', async ({ idle, bystander }) => {
  for (const trackType of ['bogus', 'track-query', 'track-reply', '']) {
    const { c, ta } = await openTracked(idle);
    c.send('track', ta, 'inform', { 'track-type': trackType });
    await c.expectClosed();
    assert.is(c.unread.length, 0, `no reply to track-type ${JSON.stringify(trackType)}`);
    await assertPings(bystander, 'server keeps running');
  }
});

t.run();
