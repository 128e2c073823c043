// Conformance §5: orphans and TTL expiry (O1–O11) against the real pafd
// bundle over the matrix transport, with the timing tolerances of
// docs/conformance.md. Every test gets its own pafd.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Msg } from '../../helpers/wire';
import { WireClient, randomId } from '../../helpers/wire';
import type { Domain } from '../../helpers/directory-model';
import {
  USER_A, USER_B, answerTrackQueries, assertComplete, assertDisappeared, assertFail, assertListed, assertMatch,
  drain, monoNow, nextAbout, publishPipelined, reconnect, startDomain, stopDomain, subscribeOk, wallNow, wallUpperNow, wireProps,
} from '../../helpers/directory-model';
import { clientAddressPattern, withUsers } from '../../helpers/transport';

/** Expiry and orphaning precision the original test-suite allows (conformance O1). */
const TOLERANCE = 0.25;
/** O2: "nothing more within 0.1 s". */
const SHORT_QUIET_MS = 100;

const t = suite<{ d: Domain }>('orphans', {} as { d: Domain });
t.before.each(async (ctx) => { ctx.d = await startDomain(); });
t.after.each(async (ctx) => { await stopDomain(ctx.d); });

/** Closes `c` and returns the wall and monotonic times of the close. */
function closeNow(c: WireClient): { wall: number; mono: number } {
  const wall = wallNow(), mono = monoNow();
  c.close();
  return { wall, mono };
}

t('O1 closing the publisher orphans its service at once and it expires after its TTL', async ({ d }) => {
  const sub = await d.pool.open();
  const pub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const id = randomId();
  const props = wireProps({ name: ['o1'] });
  assertComplete(await pub.publish(id, 1, props, 1));
  assertMatch(await nextAbout(sub, ta, id), ta, 'appeared', { id, generation: 1, props, ttl: 1, clientId: pub.clientId });

  const closed = closeNow(pub);
  const orphaned = await nextAbout(sub, ta, id, 2000);
  const orphanedAfter = monoNow() - closed.mono;
  assertMatch(orphaned, ta, 'modified', { id, generation: 1, props, ttl: 1, clientId: pub.clientId, orphan: [closed.wall, closed.wall + TOLERANCE] });
  assert.ok(orphanedAfter <= TOLERANCE, `orphan notification ${orphanedAfter.toFixed(3)} s after the close`);

  const gone = await nextAbout(sub, ta, id, 3000);
  const goneAfter = monoNow() - closed.mono;
  assertDisappeared(gone, ta, id);
  assert.ok(goneAfter >= 1 && goneAfter <= 1 + TOLERANCE, `disappeared ${goneAfter.toFixed(3)} s after the close`);
  assert.is((await sub.list('services')).length, 0);
});

/** O2/O3 setup: a service with TTL 42 whose publisher closed; the subscriber has seen appeared + orphan modified. */
async function orphanedService(d: Domain): Promise<{ sub: WireClient; ta: bigint; id: bigint; ownerId: bigint; props: Record<string, (string | bigint)[]> }> {
  const sub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const pub = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['orphan'], port: [4242] }) as Record<string, (string | bigint)[]>;
  assertComplete(await pub.publish(id, 3, props, 42));
  assertMatch(await nextAbout(sub, ta, id), ta, 'appeared', { id, generation: 3, props, ttl: 42, clientId: pub.clientId });
  pub.close();
  assertMatch(await nextAbout(sub, ta, id), ta, 'modified', { id, generation: 3, props, ttl: 42, clientId: pub.clientId, orphan: true });
  return { sub, ta, id, ownerId: pub.clientId, props };
}

for (const who of ['same client id (reconnected)', 'another client id'] as const) {
  for (const gen of ['same generation', 'new generation'] as const) {
    t(`O2 orphan republished by the ${who}, ${gen}: appeared, modified (orphan), modified (owner, no orphan-since), then nothing`, async ({ d }) => {
      const { sub, ta, id, ownerId, props } = await orphanedService(d);
      const c = who === 'another client id' ? await d.pool.open() : d.pool.add(await reconnect(d.addr, ownerId));
      const generation = gen === 'same generation' ? 3 : 4;
      assertComplete(await c.publish(id, generation, props, 42));
      assertMatch(await nextAbout(sub, ta, id), ta, 'modified', { id, generation, props, ttl: 42, clientId: c.clientId });
      await sub.expectSilence(SHORT_QUIET_MS, (m) => m['ta-id'] === ta);
      assertListed((await sub.list('services'))[0], { id, generation, props, ttl: 42, clientId: c.clientId });
    });
  }
}

for (const who of ['same client id (reconnected)', 'another client id'] as const) {
  t(`O3 orphan unpublished by the ${who}: appeared, modified (orphan), modified (new owner, no orphan), disappeared`, async ({ d }) => {
    const { sub, ta, id, ownerId, props } = await orphanedService(d);
    const c = who === 'another client id' ? await d.pool.open() : d.pool.add(await reconnect(d.addr, ownerId));
    assertComplete(await c.unpublish(id));
    const got = await drain(sub, ta, id);
    assert.is(got.length, 2);
    assertMatch(got[0], ta, 'modified', { id, generation: 3, props, ttl: 42, clientId: c.clientId });
    assertDisappeared(got[1], ta, id);
    assert.is((await sub.list('services')).length, 0);
  });
}

/** O4/O5: a tracked v3 client publishes TTL 2, drops, and its successor (same client id) reclaims within 1 s. */
async function reclaimWithinOneSecond(d: Domain): Promise<{ sub: WireClient; ta: bigint; id: bigint; props: Record<string, (string | bigint)[]>; reclaimer: WireClient }> {
  const sub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const pub = await d.pool.open({ min: 3, max: 3 });
  await answerTrackQueries(pub);
  const id = randomId();
  const props = wireProps({ name: ['reclaimed'] }) as Record<string, (string | bigint)[]>;
  assertComplete(await pub.publish(id, 1, props, 2));
  assertMatch(await nextAbout(sub, ta, id), ta, 'appeared', { id, generation: 1, props, ttl: 2, clientId: pub.clientId });
  const closed = closeNow(pub);
  assertMatch(await nextAbout(sub, ta, id), ta, 'modified', { id, generation: 1, props, ttl: 2, clientId: pub.clientId, orphan: true });

  const reclaimer = d.pool.add(await reconnect(d.addr, pub.clientId, { min: 3, max: 3 }));
  await answerTrackQueries(reclaimer);
  assertComplete(await reclaimer.publish(id, 1, props, 2));
  assert.ok(monoNow() - closed.mono < 1, 'reclaim took more than 1 s');
  assertMatch(await nextAbout(sub, ta, id), ta, 'modified', { id, generation: 1, props, ttl: 2, clientId: reclaimer.clientId });
  return { sub, ta, id, props, reclaimer };
}

t('O4 a reconnecting tracked client reclaims its orphan within 1 s: third notification is modified, then nothing for 2 s', async ({ d }) => {
  const { sub, ta, id, props, reclaimer } = await reclaimWithinOneSecond(d);
  await sub.expectSilence(2000, (m) => m['ta-id'] === ta);
  assertListed((await sub.list('services'))[0], { id, generation: 1, props, ttl: 2, clientId: reclaimer.clientId });
});

t('O5/B7 when the reclaiming connection closes the service is orphaned again and expires after its TTL', async ({ d }) => {
  const { sub, ta, id, props, reclaimer } = await reclaimWithinOneSecond(d);
  const closed = closeNow(reclaimer);
  const orphaned = await nextAbout(sub, ta, id, 2000);
  assertMatch(orphaned, ta, 'modified', { id, generation: 1, props, ttl: 2, clientId: reclaimer.clientId, orphan: [closed.wall, closed.wall + TOLERANCE] });
  assertDisappeared(await nextAbout(sub, ta, id, 4000), ta, id);
  const after = monoNow() - closed.mono;
  assert.ok(after >= 2 && after <= 2 + TOLERANCE, `disappeared ${after.toFixed(3)} s after the close`);
  assert.is((await sub.list('services')).length, 0);
});

t('O6 a service taken over by another connection of the same user survives the first publisher\'s close', async ({ d }) => {
  const sub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const a = await d.pool.open();
  const b = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['o6'] });
  assertComplete(await a.publish(id, 1, props, 1));
  assertComplete(await b.publish(id, 1, props, 1));
  const got = await drain(sub, ta, id);
  assert.is(got.length, 2);
  assertMatch(got[1], ta, 'modified', { id, generation: 1, props, ttl: 1, clientId: b.clientId });
  a.close();
  await sub.expectSilence(1250, (m) => m['ta-id'] === ta);
  const listed = await sub.list('services');
  assert.is(listed.length, 1);
  assertListed(listed[0], { id, generation: 1, props, ttl: 1, clientId: b.clientId });
  // a is really gone: only the subscriber and b remain.
  assert.is((await sub.list('clients')).length, 2);
});

t('O7 100 orphans with TTL 0–3 all disappear within 4 s, in non-decreasing TTL order', async ({ d }) => {
  const sub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const pub = await d.pool.open();
  const services = Array.from({ length: 100 }, (_, i) => ({ id: randomId(), generation: 1, props: wireProps({ i: [i] }), ttl: (i * 7) % 4 }));
  const ttlOf = new Map(services.map((s) => [s.id, s.ttl]));
  for (const { reply } of await publishPipelined(pub, services)) assertComplete(reply);
  assert.is((await drain(sub, ta)).filter((m) => m['match-type'] === 'appeared').length, 100);

  const closed = closeNow(pub);
  const order: number[] = [];
  const orphaned = new Set<bigint>();
  while (order.length < 100) {
    const left = 4000 - (monoNow() - closed.mono) * 1000;
    const m: Msg = await sub.nextOf(ta, Math.max(1, left));
    const id = m['service-id'] as bigint;
    if (m['match-type'] === 'modified') {
      assert.ok('orphan-since' in m, 'modified without orphan-since');
      orphaned.add(id);
    } else {
      assert.is(m['match-type'], 'disappeared');
      assert.ok(orphaned.has(id), 'disappeared before its orphan modified');
      order.push(ttlOf.get(id)!);
    }
  }
  assert.ok(monoNow() - closed.mono <= 4, 'not all gone within 4 s');
  for (let i = 1; i < order.length; i++) assert.ok(order[i - 1] <= order[i], `TTL order broken: ${order.join(',')}`);
  assert.is((await sub.list('services')).length, 0);
});

t('O8 100 clients publish (TTL 1–2) and close: 2.25 s later no services and only the caller is listed', async ({ d }) => {
  const caller = await d.pool.open();
  const ta = await subscribeOk(caller, randomId());
  const publishers = await Promise.all(Array.from({ length: 100 }, () => d.pool.open()));
  await Promise.all(publishers.map(async (p, i) => assertComplete(await p.publish(randomId(), 1, wireProps({ i: [i] }), 1 + (i % 2)))));
  const start = monoNow();
  for (const p of publishers) p.close();
  let gone = 0;
  while (gone < 100) {
    const left = 2250 - (monoNow() - start) * 1000;
    const m = await caller.nextOf(ta, Math.max(1, left));
    if (m['match-type'] === 'disappeared') gone++;
  }
  assert.ok(monoNow() - start <= 2.25, 'not all services gone within 2.25 s');
  assert.is((await caller.list('services')).length, 0);
  const clients = await caller.list('clients');
  assert.is(clients.length, 1);
  assert.is(clients[0]['client-id'], caller.clientId);
});

t('O9 services after the publisher closed: one entry with orphan-since <= now; clients lists 1', async ({ d }) => {
  const caller = await d.pool.open();
  const ta = await subscribeOk(caller, randomId());
  const pub = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['o9'] });
  assertComplete(await pub.publish(id, 1, props, 60));
  const closed = closeNow(pub);
  await caller.next((m) => m['ta-id'] === ta && m['match-type'] === 'modified');
  const listed = await caller.list('services');
  assert.is(listed.length, 1);
  assertListed(listed[0], { id, generation: 1, props, ttl: 60, clientId: pub.clientId, orphan: [closed.wall, wallUpperNow()] });
  assert.is((await caller.list('clients')).length, 1);
});

withUsers(t, 2)('O10 a client id owning orphans cannot say hello as another user until they expired', async ({ d }) => {
  const observer = await d.pool.open();
  const ta = await subscribeOk(observer, randomId());
  const u1 = await d.pool.open({ user: USER_A });
  const clientId = u1.clientId;
  const id = randomId();
  assertComplete(await u1.publish(id, 1, {}, 1));
  assertMatch(await nextAbout(observer, ta, id), ta, 'appeared', { id, generation: 1, props: {}, ttl: 1, clientId });
  u1.close();
  assertMatch(await nextAbout(observer, ta, id), ta, 'modified', { id, generation: 1, props: {}, ttl: 1, clientId, orphan: true });

  const u2 = d.pool.add(await WireClient.connect(d.addr, { user: USER_B }));
  u2.clientId = clientId;
  assertFail(await u2.hello(), 'permission-denied');

  assertDisappeared(await nextAbout(observer, ta, id, 3000), ta, id);
  assert.is((await observer.list('services')).length, 0);
  const again = d.pool.add(await reconnect(d.addr, clientId, { user: USER_B }));
  assertComplete(await again.ping());
  const listed = await observer.list('clients');
  const mine = listed.find((m) => m['client-id'] === clientId);
  assert.ok(mine, 'the reconnected client is not listed');
  assert.match(mine!['client-address'] as string, clientAddressPattern(USER_B));
});

t('O11 publish, close, reconnect, close, reconnect with the same id and publish the same service again', async ({ d }) => {
  const first = await d.pool.open();
  const clientId = first.clientId;
  const id = randomId();
  const props = wireProps({ name: ['o11'] });
  assertComplete(await first.publish(id, 1, props, 30));
  first.close();
  const second = d.pool.add(await reconnect(d.addr, clientId));
  second.close();
  const third = d.pool.add(await reconnect(d.addr, clientId));
  assertComplete(await third.publish(id, 1, props, 30));
  const listed = await third.list('services');
  assert.is(listed.length, 1);
  assertListed(listed[0], { id, generation: 1, props, ttl: 30, clientId });
  const fresh = await d.pool.open();
  assertComplete(await fresh.ping());
});

t.run();
