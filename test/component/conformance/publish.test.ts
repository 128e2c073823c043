// Conformance §4: publish, unpublish and subscribe (P1–P23) against the
// real pafd bundle over the matrix transport (helpers/transport.ts). Every
// test gets its own pafd so that listings and match-all subscriptions see
// exactly what the test did.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomId } from '../../helpers/wire';
import { withUsers } from '../../helpers/transport';
import type { Domain } from '../../helpers/directory-model';
import {
  USER_A, assertComplete, assertDisappeared, assertFail, assertListed, assertMatch,
  drain, publishPipelined, startDomain, stopDomain, subscribeOk, wireProps,
} from '../../helpers/directory-model';

/** The spec's "no notification within 0.5 s". */
const QUIET_MS = 500;

const t = suite<{ d: Domain }>('publish', {} as { d: Domain });
t.before.each(async (ctx) => { ctx.d = await startDomain(); });
t.after.each(async (ctx) => { await stopDomain(ctx.d); });

t('P1 subscribe with a filter, then publish a matching service: exactly one appeared with the full state', async ({ d }) => {
  const sub = await d.pool.open();
  const pub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId(), '(&(name=service-a)(area=51))');
  const id = randomId();
  const props = wireProps({ name: ['service-a'], area: [51] });
  assertComplete(await pub.publish(id, 99, props, 4711));
  const got = await drain(sub, ta);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'appeared', { id, generation: 99, props, ttl: 4711, clientId: pub.clientId });
});

t('P2 unpublish a matched service: disappeared with only match-type and service-id', async ({ d }) => {
  const sub = await d.pool.open();
  const pub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId(), '(&(name=service-a)(area=51))');
  const id = randomId();
  assertComplete(await pub.publish(id, 99, wireProps({ name: ['service-a'], area: [51] }), 4711));
  assert.is((await drain(sub, ta)).length, 1);
  assertComplete(await pub.unpublish(id));
  const got = await drain(sub, ta);
  assert.is(got.length, 1);
  assertDisappeared(got[0], ta, id);
});

t('P3 services that do not match the filter produce no notification within 0.5 s', async ({ d }) => {
  const sub = await d.pool.open();
  const pub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId(), '(&(name=service-a)(area=51))');
  assertComplete(await pub.publish(randomId(), 1, wireProps({ name: ['non-matching-name'], area: [51] }), 10));
  assertComplete(await pub.publish(randomId(), 1, wireProps({ name: ['service-a'], area: [42] }), 10));
  await sub.expectSilence(QUIET_MS, (m) => m['ta-id'] === ta);
});

t('P4 match-all: gen 1 TTL 4711 appears, gen 2 TTL 9422 is modified with the new TTL', async ({ d }) => {
  const sub = await d.pool.open();
  const pub = await d.pool.open();
  const ta = await subscribeOk(sub, randomId());
  const id = randomId();
  const props = wireProps({ name: ['service-a'] });
  assertComplete(await pub.publish(id, 1, props, 4711));
  assertComplete(await pub.publish(id, 2, props, 9422));
  const got = await drain(sub, ta);
  assert.is(got.length, 2);
  assertMatch(got[0], ta, 'appeared', { id, generation: 1, props, ttl: 4711, clientId: pub.clientId });
  assertMatch(got[1], ta, 'modified', { id, generation: 2, props, ttl: 9422, clientId: pub.clientId });
});

t('P5 subscribing after publish yields one appeared; subscriptions lists 1, after unsubscribe 0', async ({ d }) => {
  const pub = await d.pool.open();
  const sub = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['service-a'], area: [51] });
  assertComplete(await pub.publish(id, 3, props, 60));
  const subId = randomId();
  const ta = await subscribeOk(sub, subId, '(name=service-a)');
  const got = await drain(sub, ta);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'appeared', { id, generation: 3, props, ttl: 60, clientId: pub.clientId });

  const listed = await pub.list('subscriptions');
  assert.is(listed.length, 1);
  assert.is(listed[0]['subscription-id'], subId);
  assert.is(listed[0]['client-id'], sub.clientId);
  assert.is(listed[0]['filter'], '(name=service-a)');

  assertComplete(await sub.request('unsubscribe', { 'subscription-id': subId }));
  assert.is((await pub.list('subscriptions')).length, 0);
});

t('P6 subscribing with an active subscription id fails subscription-id-exists, also from another client', async ({ d }) => {
  const a = await d.pool.open();
  const b = await d.pool.open();
  const subId = randomId();
  await subscribeOk(a, subId, '(name=x)');
  assertFail((await a.subscribe(subId, '(name=y)')).reply, 'subscription-id-exists');
  assertFail((await a.subscribe(subId)).reply, 'subscription-id-exists');
  // Subscription ids are unique in the whole domain (docs/discrepancies.md A21).
  assertFail((await b.subscribe(subId, '(name=x)')).reply, 'subscription-id-exists');
});

t('P7 subscribe, unsubscribe, subscribe again with the same id is accepted', async ({ d }) => {
  const c = await d.pool.open();
  const subId = randomId();
  const first = await subscribeOk(c, subId, '(name=x)');
  const unsubTa = c.taId();
  c.send('unsubscribe', unsubTa, 'request', { 'subscription-id': subId });
  assertComplete(await c.nextOf(first));
  assertComplete(await c.nextOf(unsubTa));
  await subscribeOk(c, subId, '(name=x)');
});

t('P8 bad filter: subscribe fails invalid-filter-syntax, services fails instead of accept', async ({ d }) => {
  const c = await d.pool.open();
  assertFail((await c.subscribe(randomId(), '(name=service-x')).reply, 'invalid-filter-syntax');
  assertFail(await c.request('services', { filter: '(&foo)' }), 'invalid-filter-syntax');
  assertComplete(await c.ping());
});

t('P9 republishing changes the match: appeared (gen 5, both props), then disappeared', async ({ d }) => {
  const c = await d.pool.open();
  const id = randomId();
  assertComplete(await c.publish(id, 1, wireProps({ name: ['foo'] }), 30));
  const ta = await subscribeOk(c, randomId(), '(&(name=foo)(area=51))');
  assert.is((await drain(c, ta)).length, 0);
  const both = wireProps({ name: ['foo'], area: [51] });
  assertComplete(await c.publish(id, 5, both, 30));
  assertComplete(await c.publish(id, 1000, wireProps({ name: ['bar'], area: [51] }), 30));
  const got = await drain(c, ta);
  assert.is(got.length, 2);
  assertMatch(got[0], ta, 'appeared', { id, generation: 5, props: both, ttl: 30, clientId: c.clientId });
  assertDisappeared(got[1], ta, id);
});

t('P10 unsubscribe completes the subscribe transaction first; later publishes produce nothing', async ({ d }) => {
  const c = await d.pool.open();
  const subId = randomId();
  const ta = await subscribeOk(c, subId);
  const unsubTa = c.taId();
  c.send('unsubscribe', unsubTa, 'request', { 'subscription-id': subId });
  const first = await c.next((m) => m['ta-id'] === ta || m['ta-id'] === unsubTa);
  const second = await c.next((m) => m['ta-id'] === ta || m['ta-id'] === unsubTa);
  assert.is(first['ta-id'], ta);
  assert.is(first['ta-cmd'], 'subscribe');
  assertComplete(first);
  assert.is(second['ta-id'], unsubTa);
  assert.is(second['ta-cmd'], 'unsubscribe');
  assertComplete(second);
  assertComplete(await c.publish(randomId(), 1, {}, 5));
  assert.is((await drain(c, ta)).length, 0);
});

t('P11 unsubscribe of an unknown id / another client\'s subscription fails', async ({ d }) => {
  const owner = await d.pool.open();
  const other = await d.pool.open();
  assertFail(await other.request('unsubscribe', { 'subscription-id': randomId() }), 'non-existent-subscription-id');
  const subId = randomId();
  const ta = await subscribeOk(owner, subId);
  assertFail(await other.request('unsubscribe', { 'subscription-id': subId }), 'permission-denied');
  // Still the owner's, still live.
  assertComplete(await owner.request('unsubscribe', { 'subscription-id': subId }));
  assertComplete(await owner.nextOf(ta));
});

t('P12 subscriptions from any of 10 clients lists exactly the 10 (id, owner, filter) triples', async ({ d }) => {
  const expected = new Map<string, [bigint, string]>();
  const clients = [];
  for (let i = 0; i < 10; i++) {
    const c = await d.pool.open();
    const subId = randomId();
    const filter = `(&(name=svc-${i})(port>${i}))`;
    await subscribeOk(c, subId, filter);
    expected.set(String(subId), [c.clientId, filter]);
    clients.push(c);
  }
  for (const c of clients) {
    const listed = await c.list('subscriptions');
    assert.is(listed.length, 10);
    const seen = new Map<string, [bigint, string]>();
    for (const m of listed) {
      assert.equal(Object.keys(m).sort(), ['client-id', 'filter', 'msg-type', 'subscription-id', 'ta-cmd', 'ta-id']);
      seen.set(String(m['subscription-id']), [m['client-id'] as bigint, m['filter'] as string]);
    }
    assert.equal(seen, expected);
  }
});

t('P13 1000 services with string, int and mixed props are listed exactly; (key_int>0) lists 999', async ({ d }) => {
  const c = await d.pool.open();
  const services = [];
  for (let i = 0; i < 1000; i++) {
    services.push({
      id: randomId(),
      generation: i,
      props: wireProps({ name: [`service-${i}`], key_int: [i], key_str: [`value-${i}`], mixed: [i, `${i}`, 'common', -i], multi_int: [i, i + 1000] }),
      ttl: i % 7,
    });
  }
  for (const { reply } of await publishPipelined(c, services)) assertComplete(reply);
  const listed = await c.list('services');
  assert.is(listed.length, 1000);
  const byId = new Map(listed.map((m) => [m['service-id'] as bigint, m]));
  assert.is(byId.size, 1000);
  for (const s of services) {
    const m = byId.get(s.id);
    assert.ok(m, `service ${s.id} missing`);
    assertListed(m!, { ...s, clientId: c.clientId });
  }
  assert.is((await c.list('services', { filter: '(key_int>0)' })).length, 999);
});

t('P14 republishing identical data 10 times produces no notification', async ({ d }) => {
  const c = await d.pool.open();
  const ta = await subscribeOk(c, randomId());
  const id = randomId();
  const props = wireProps({ name: ['same'], port: [80] });
  assertComplete(await c.publish(id, 7, props, 20));
  assert.is((await drain(c, ta)).length, 1);
  for (let i = 0; i < 10; i++) assertComplete(await c.publish(id, 7, props, 20));
  assert.is((await drain(c, ta)).length, 0);
});

t('P15 republishing with a lower generation fails old-generation, no notification', async ({ d }) => {
  const c = await d.pool.open();
  const ta = await subscribeOk(c, randomId());
  const id = randomId();
  const props = wireProps({ name: ['x'] });
  assertComplete(await c.publish(id, 10, props, 20));
  assert.is((await drain(c, ta)).length, 1);
  assertFail(await c.publish(id, 9, wireProps({ name: ['y'] }), 20), 'old-generation');
  assertFail(await c.publish(id, 0, props, 20), 'old-generation');
  assert.is((await drain(c, ta)).length, 0);
  const listed = await c.list('services');
  assertListed(listed[0], { id, generation: 10, props, ttl: 20, clientId: c.clientId });
});

t('P16 same generation with different props or TTL fails same-generation-but-different, no notification', async ({ d }) => {
  const c = await d.pool.open();
  const ta = await subscribeOk(c, randomId());
  const id = randomId();
  const props = wireProps({ name: ['x'], port: [1] });
  assertComplete(await c.publish(id, 10, props, 20));
  assert.is((await drain(c, ta)).length, 1);
  assertFail(await c.publish(id, 10, wireProps({ name: ['x'], port: [2] }), 20), 'same-generation-but-different');
  assertFail(await c.publish(id, 10, wireProps({ name: ['x'], port: ['1'] }), 20), 'same-generation-but-different');
  assertFail(await c.publish(id, 10, wireProps({ name: ['x'] }), 20), 'same-generation-but-different');
  assertFail(await c.publish(id, 10, props, 21), 'same-generation-but-different');
  assert.is((await drain(c, ta)).length, 0);
});

t('P17 unpublishing an unknown service id fails non-existent-service-id', async ({ d }) => {
  const c = await d.pool.open();
  assertFail(await c.unpublish(randomId()), 'non-existent-service-id');
});

t('P18 a client of the same user republishes (same or higher generation) and unpublishes another client\'s service', async ({ d }) => {
  const a = await d.pool.open();
  const b = await d.pool.open();
  const props = wireProps({ name: ['shared'] });
  const sameGen = randomId();
  assertComplete(await a.publish(sameGen, 4, props, 10));
  assertComplete(await b.publish(sameGen, 4, props, 10));
  assertComplete(await b.unpublish(sameGen));
  const higherGen = randomId();
  assertComplete(await a.publish(higherGen, 4, props, 10));
  assertComplete(await b.publish(higherGen, 5, props, 10));
  assertComplete(await b.unpublish(higherGen));
  assert.is((await a.list('services')).length, 0);
});

withUsers(t, 2)('P19 another user can neither unpublish nor republish a service; a client of the owning user can', async ({ d }) => {
  const u1 = await d.pool.open();
  const u2 = await d.pool.open({ user: USER_A });
  const ta = await subscribeOk(u2, randomId());
  const id = randomId();
  const props = wireProps({ name: ['mine'] });
  assertComplete(await u1.publish(id, 1, props, 10));
  assert.is((await drain(u2, ta)).length, 1);
  assertFail(await u2.unpublish(id), 'permission-denied');
  assertFail(await u2.publish(id, 1, props, 10), 'permission-denied');
  assertFail(await u2.publish(id, 2, props, 10), 'permission-denied');
  assert.is((await drain(u2, ta)).length, 0);
  const listed = await u2.list('services');
  assertListed(listed[0], { id, generation: 1, props, ttl: 10, clientId: u1.clientId });
  // A later client of user 1 (the same identity) succeeds.
  const u1b = await d.pool.open();
  assertComplete(await u1b.unpublish(id));
  // ... and the reverse direction: user 2's service is out of user 1's reach.
  const id2 = randomId();
  assertComplete(await u2.publish(id2, 1, props, 10));
  assertFail(await u1.publish(id2, 2, props, 10), 'permission-denied');
  assertFail(await u1.unpublish(id2), 'permission-denied');
});

t('P20 1000 pipelined publishes all complete with unique ta ids', async ({ d }) => {
  const c = await d.pool.open();
  const services = Array.from({ length: 1000 }, (_, i) => ({ id: randomId(), generation: 1, props: wireProps({ n: [i] }), ttl: 5 }));
  const replies = await publishPipelined(c, services);
  const seen = new Set<bigint>();
  for (const { ta, reply } of replies) {
    assertComplete(reply);
    assert.is(reply['ta-cmd'], 'publish');
    assert.is(reply['ta-id'], ta);
    seen.add(reply['ta-id'] as bigint);
  }
  assert.is(seen.size, 1000);
  assert.is(c.unread.length, 0);
});

t('P21 10000 pipelined pings all complete, in request order', async ({ d }) => {
  const c = await d.pool.open();
  const first = c.taId();
  c.send('ping', first, 'request');
  for (let i = 1; i < 10000; i++) c.send('ping', c.taId(), 'request');
  for (let i = 0n; i < 10000n; i++) {
    const m = await c.next(() => true, 10000);
    assert.is(m['ta-cmd'], 'ping');
    assert.is(m['ta-id'], first + i);
    assertComplete(m);
  }
});

t('P22 duplicate prop values collapse ([1,1,"1"] → {1,"1"}), empty props are dropped', async ({ d }) => {
  const c = await d.pool.open();
  const ta = await subscribeOk(c, randomId());
  const id = randomId();
  assertComplete(await c.publish(id, 1, { a: [1n, 1n, '1'], b: [] }, 5));
  const stored = wireProps({ a: [1, '1'] });
  const [listed] = await c.list('services');
  assertListed(listed, { id, generation: 1, props: stored, ttl: 5, clientId: c.clientId });
  assert.is(((listed['service-props'] as Record<string, unknown[]>).a).length, 2);
  const got = await drain(c, ta);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'appeared', { id, generation: 1, props: stored, ttl: 5, clientId: c.clientId });
  // Identical as a set: republishing the normalized form is an idempotent refresh.
  assertComplete(await c.publish(id, 1, { a: ['1', 1n] }, 5));
  assert.is((await drain(c, ta)).length, 0);
});

t('P23 substring filters against integer values match the decimal text; the server keeps running', async ({ d }) => {
  const c = await d.pool.open();
  const live = await subscribeOk(c, randomId(), '(k=12*)');
  const id = randomId();
  const props = wireProps({ k: [123] });
  assertComplete(await c.publish(id, 1, props, 5));
  const got = await drain(c, live);
  assert.is(got.length, 1);
  assertMatch(got[0], live, 'appeared', { id, generation: 1, props, ttl: 5, clientId: c.clientId });
  const count = async (filter: string) => (await c.list('services', { filter })).length;
  assert.is(await count('(k=1*)'), 1);
  assert.is(await count('(k=*3)'), 1);
  assert.is(await count('(k=*2*)'), 1);
  assert.is(await count('(k=9*)'), 0);
  assert.is(await count('(k=*4)'), 0);
  const other = await d.pool.open();
  assertComplete(await other.ping());
});

t.run();
