// docs/semantics.md row by row against the real pafd bundle over the matrix
// transport: the publish (§3) and unpublish (§4) decision tables, the
// notification table and ordering guarantees (§5), reconnecting under the
// same id (§6.4), listings (§11), the worked timeline (§13), and the
// docs/discrepancies.md cases B3, B8 and A14. For every row the reply and exactly the
// notifications a subscriber receives about the service are asserted.
// Every test gets its own pafd.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Msg } from '../../helpers/wire';
import { WireClient, randomId } from '../../helpers/wire';
import type { Domain, ExpectedProps } from '../../helpers/directory-model';
import {
  USER_A, USER_B, assertComplete, assertDisappeared, assertFail, assertListed, assertMatch,
  drain, monoNow, nextAbout, reconnect, startDomain, stopDomain, subscribeOk, wallNow, wallUpperNow, wireProps,
} from '../../helpers/directory-model';
import { clientAddressPattern, withUsers } from '../../helpers/transport';

/** Expiry precision allowed by the original test-suite (docs/semantics.md §6.2). */
const TOLERANCE = 0.25;

const t = suite<{ d: Domain }>('semantics', {} as { d: Domain });
t.before.each(async (ctx) => { ctx.d = await startDomain(); });
t.after.each(async (ctx) => { await stopDomain(ctx.d); });

/** A match-all subscriber. */
async function watcher(d: Domain): Promise<{ w: WireClient; ta: bigint }> {
  const w = await d.pool.open();
  return { w, ta: await subscribeOk(w, randomId()) };
}

/** Publishes through `c` and consumes the watcher's appeared. */
async function published(c: WireClient, w: WireClient, ta: bigint, id: bigint, generation: number, props: ExpectedProps, ttl: number): Promise<void> {
  assertComplete(await c.publish(id, generation, props, ttl));
  assertMatch(await nextAbout(w, ta, id), ta, 'appeared', { id, generation, props, ttl, clientId: c.clientId });
}

/** Closes `c`, which owns `id`, and consumes the watcher's orphan modified. */
async function orphaned(c: WireClient, w: WireClient, ta: bigint, id: bigint): Promise<Msg> {
  c.close();
  const m = await nextAbout(w, ta, id);
  assert.is(m['match-type'], 'modified');
  assert.ok('orphan-since' in m, 'orphan modified without orphan-since');
  return m;
}

// ------------------------------------------------------------ §3 publish

t('§3 row 1 publish of a new service: complete, appeared with the full state', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['new'], port: [80, 443], zone: ['eu'] });
  assertComplete(await c.publish(id, 0, props, 0));
  const got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'appeared', { id, generation: 0, props, ttl: 0, clientId: c.clientId });
});

withUsers(t, 2)('§3 row 2 publish of another user\'s service (any generation): permission-denied, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const owner = await d.pool.open();
  const other = await d.pool.open({ user: USER_A });
  const id = randomId();
  const props = wireProps({ name: ['theirs'] });
  await published(owner, w, ta, id, 5, props, 10);
  assertFail(await other.publish(id, 5, props, 10), 'permission-denied');
  assertFail(await other.publish(id, 6, props, 10), 'permission-denied');
  assertFail(await other.publish(id, 4, props, 10), 'permission-denied');
  assertFail(await other.publish(id, 5, wireProps({ name: ['x'] }), 10), 'permission-denied');
  assert.is((await drain(w, ta, id)).length, 0);
  assertListed((await w.list('services'))[0], { id, generation: 5, props, ttl: 10, clientId: owner.clientId });
});

t('§3 row 3 same generation with other props or TTL: same-generation-but-different, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const peer = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['s'], v: [1] });
  await published(c, w, ta, id, 5, props, 10);
  assertFail(await c.publish(id, 5, wireProps({ name: ['s'], v: ['1'] }), 10), 'same-generation-but-different');
  assertFail(await c.publish(id, 5, props, 11), 'same-generation-but-different');
  // Checked before ownership within the same user: a takeover attempt with different data fails too.
  assertFail(await peer.publish(id, 5, wireProps({ name: ['s'] }), 10), 'same-generation-but-different');
  assert.is((await drain(w, ta, id)).length, 0);
});

t('§3 row 4 takeover by another client of the same user: modified with the new owner; old owner\'s close does not orphan it', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const b = await d.pool.open();
  const id = randomId(), marker = randomId();
  const props = wireProps({ name: ['taken'] });
  await published(a, w, ta, id, 3, props, 30);
  await published(a, w, ta, marker, 1, {}, 30);
  assertComplete(await b.publish(id, 3, props, 30));
  const got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'modified', { id, generation: 3, props, ttl: 30, clientId: b.clientId });
  // The marker is still bound to a, so its orphaning shows a's close was handled.
  await orphaned(a, w, ta, marker);
  assert.is((await drain(w, ta, id)).length, 0);
  const s = (await w.list('services')).find((m) => m['service-id'] === id)!;
  assertListed(s, { id, generation: 3, props, ttl: 30, clientId: b.clientId });
});

t('§3 row 4 takeover of an orphan by another client: modified, new owner, no orphan-since; no expiry', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['orphan'] });
  await published(a, w, ta, id, 1, props, 1);
  await orphaned(a, w, ta, id);
  const b = await d.pool.open();
  assertComplete(await b.publish(id, 1, props, 1));
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 1, props, ttl: 1, clientId: b.clientId });
  await w.expectSilence(1000 + TOLERANCE * 1000, (m) => m['service-id'] === id);
});

t('§3 row 5 owner reclaims its orphan: modified without orphan-since; re-bound, so its next close orphans it again', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['mine'] });
  await published(a, w, ta, id, 2, props, 30);
  await orphaned(a, w, ta, id);
  const a2 = d.pool.add(await reconnect(d.addr, a.clientId));
  assertComplete(await a2.publish(id, 2, props, 30));
  const got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'modified', { id, generation: 2, props, ttl: 30, clientId: a.clientId });
  const before = wallNow();
  a2.close();
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 2, props, ttl: 30, clientId: a.clientId, orphan: [before, before + TOLERANCE] });
});

t('§3 row 6 idempotent refresh by the owner: complete, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['same'], n: [1, 2] });
  await published(c, w, ta, id, 9, props, 7);
  assertComplete(await c.publish(id, 9, wireProps({ n: [2, 1, 2], name: ['same'] }), 7));
  assert.is((await drain(w, ta, id)).length, 0);
});

t('§3 row 7 higher generation: modified with the new state, by the owner, by a peer and on an orphan', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = randomId();
  await published(a, w, ta, id, 1, wireProps({ name: ['v1'] }), 10);
  // New props and TTL; generations need not be contiguous.
  const v2 = wireProps({ name: ['v2'], extra: [-5] });
  assertComplete(await a.publish(id, 10, v2, 20));
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 10, props: v2, ttl: 20, clientId: a.clientId });
  // A peer of the same user with a higher generation becomes the owner.
  const b = await d.pool.open();
  assertComplete(await b.publish(id, 11, v2, 20));
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 11, props: v2, ttl: 20, clientId: b.clientId });
  // On an orphan, by the reconnected owner: orphan status cleared and re-bound (B7).
  await orphaned(b, w, ta, id);
  const b2 = d.pool.add(await reconnect(d.addr, b.clientId));
  assertComplete(await b2.publish(id, 12, v2, 1));
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 12, props: v2, ttl: 1, clientId: b.clientId });
  assert.is((await drain(w, ta, id)).length, 0);
  const closedAt = monoNow();
  b2.close();
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 12, props: v2, ttl: 1, clientId: b.clientId, orphan: true });
  assertDisappeared(await nextAbout(w, ta, id), ta, id);
  const after = monoNow() - closedAt;
  assert.ok(after >= 1 && after <= 1 + TOLERANCE, `expired ${after.toFixed(3)} s after the close`);
});

t('§3 row 7 / A14 a pure generation bump (same props and TTL) is a modification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['bump'] });
  await published(c, w, ta, id, 1, props, 5);
  assertComplete(await c.publish(id, 2, props, 5));
  const got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'modified', { id, generation: 2, props, ttl: 5, clientId: c.clientId });
});

t('§3 row 8 lower generation: old-generation, no change, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const peer = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['g'] });
  await published(c, w, ta, id, 7, props, 5);
  assertFail(await c.publish(id, 6, props, 5), 'old-generation');
  assertFail(await peer.publish(id, 3, wireProps({ name: ['h'] }), 9), 'old-generation');
  assert.is((await drain(w, ta, id)).length, 0);
  assertListed((await w.list('services'))[0], { id, generation: 7, props, ttl: 5, clientId: c.clientId });
});

// ---------------------------------------------------------- §4 unpublish

t('§4 row 1 unpublish of an unknown service: non-existent-service-id, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  assertFail(await c.unpublish(id), 'non-existent-service-id');
  assert.is((await drain(w, ta)).length, 0);
});

withUsers(t, 2)('§4 row 2 unpublish of another user\'s service: permission-denied, no notification', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const owner = await d.pool.open({ user: USER_A });
  const other = await d.pool.open({ user: USER_B });
  const id = randomId();
  const props = wireProps({ name: ['x'] });
  await published(owner, w, ta, id, 1, props, 5);
  assertFail(await other.unpublish(id), 'permission-denied');
  assert.is((await drain(w, ta, id)).length, 0);
  assertComplete(await owner.unpublish(id));
});

t('§4 row 3 (§5 ordering) unpublish by a non-owner of the same user: modified (new owner, no orphan-since), then disappeared', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const b = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['x'] });
  await published(a, w, ta, id, 4, props, 8);
  assertComplete(await b.unpublish(id));
  const got = await drain(w, ta, id);
  assert.is(got.length, 2);
  assertMatch(got[0], ta, 'modified', { id, generation: 4, props, ttl: 8, clientId: b.clientId });
  assertDisappeared(got[1], ta, id);
  assert.is((await w.list('services')).length, 0);
});

t('§4 row 3 (§5 ordering) unpublish of an orphan by its own reconnected owner: modified (no orphan-since), then disappeared', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = randomId();
  const props = wireProps({ name: ['x'] });
  await published(a, w, ta, id, 4, props, 30);
  await orphaned(a, w, ta, id);
  const a2 = d.pool.add(await reconnect(d.addr, a.clientId));
  assertComplete(await a2.unpublish(id));
  const got = await drain(w, ta, id);
  assert.is(got.length, 2);
  assertMatch(got[0], ta, 'modified', { id, generation: 4, props, ttl: 30, clientId: a.clientId });
  assertDisappeared(got[1], ta, id);
});

t('§4 row 4 unpublish by the owner: only disappeared', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  await published(c, w, ta, id, 1, wireProps({ name: ['x'] }), 5);
  assertComplete(await c.unpublish(id));
  const got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertDisappeared(got[0], ta, id);
  assertFail(await c.unpublish(id), 'non-existent-service-id');
});

// ------------------------------------------------------ §5 notifications

/** A subscriber with filter (name=x) next to the match-all watcher. */
async function filtered(d: Domain): Promise<{ f: WireClient; fta: bigint; w: WireClient; ta: bigint; c: WireClient }> {
  const { w, ta } = await watcher(d);
  const f = await d.pool.open();
  const fta = await subscribeOk(f, randomId(), '(name=x)');
  return { f, fta, w, ta, c: await d.pool.open() };
}

const X = wireProps({ name: ['x'], port: [1] });
const Y = wireProps({ name: ['y'], port: [1] });

t('§5 ADDED: matching → appeared; not matching → none (match-all still appeared)', async ({ d }) => {
  const { f, fta, w, ta, c } = await filtered(d);
  const hit = randomId(), miss = randomId();
  assertComplete(await c.publish(hit, 1, X, 5));
  assertComplete(await c.publish(miss, 1, Y, 5));
  const fGot = await drain(f, fta);
  assert.is(fGot.length, 1);
  assertMatch(fGot[0], fta, 'appeared', { id: hit, generation: 1, props: X, ttl: 5, clientId: c.clientId });
  const wGot = await drain(w, ta);
  assert.is(wGot.length, 2);
  assertMatch(wGot[1], ta, 'appeared', { id: miss, generation: 1, props: Y, ttl: 5, clientId: c.clientId });
});

t('§5 MODIFIED true→true: modified; false→true: appeared; true→false: disappeared; false→false: none', async ({ d }) => {
  const { f, fta, w, ta, c } = await filtered(d);
  const id = randomId();
  const X2 = wireProps({ name: ['x'], port: [2] });
  const Y2 = wireProps({ name: ['y'], port: [2] });
  const steps: { gen: number; props: ExpectedProps; expect: 'modified' | 'appeared' | 'disappeared' | null }[] = [
    { gen: 2, props: Y, expect: null }, // ADDED, no match (the setup)
    { gen: 3, props: Y2, expect: null }, // false → false
    { gen: 4, props: X, expect: 'appeared' }, // false → true
    { gen: 5, props: X2, expect: 'modified' }, // true → true
    { gen: 6, props: Y, expect: 'disappeared' }, // true → false: not gone, just no longer matching
    { gen: 7, props: X, expect: 'appeared' }, // and back
  ];
  for (const [i, s] of steps.entries()) {
    assertComplete(await c.publish(id, s.gen, s.props, 5));
    const fGot = await drain(f, fta);
    if (s.expect === null) {
      assert.is(fGot.length, 0, `step ${i}`);
    } else {
      assert.is(fGot.length, 1, `step ${i}`);
      if (s.expect === 'disappeared') assertDisappeared(fGot[0], fta, id);
      else assertMatch(fGot[0], fta, s.expect, { id, generation: s.gen, props: s.props, ttl: 5, clientId: c.clientId });
    }
    // The match-all subscriber sees every step: appeared first, modified after.
    const wGot = await drain(w, ta);
    assert.is(wGot.length, 1, `match-all step ${i}`);
    assertMatch(wGot[0], ta, i === 0 ? 'appeared' : 'modified', { id, generation: s.gen, props: s.props, ttl: 5, clientId: c.clientId });
  }
});

t('§5 REMOVED: matching → disappeared; not matching → none', async ({ d }) => {
  const { f, fta, w, ta, c } = await filtered(d);
  const hit = randomId(), miss = randomId();
  assertComplete(await c.publish(hit, 1, X, 5));
  assertComplete(await c.publish(miss, 1, Y, 5));
  assert.is((await drain(f, fta)).length, 1);
  assert.is((await drain(w, ta)).length, 2);
  assertComplete(await c.unpublish(miss));
  assert.is((await drain(f, fta)).length, 0);
  assertComplete(await c.unpublish(hit));
  const fGot = await drain(f, fta);
  assert.is(fGot.length, 1);
  assertDisappeared(fGot[0], fta, hit);
  const wGot = await drain(w, ta);
  assert.is(wGot.length, 2);
  assertDisappeared(wGot[0], ta, miss);
  assertDisappeared(wGot[1], ta, hit);
});

t('§5 owner and orphan changes are modified with unchanged props, only where the filter matches', async ({ d }) => {
  const { f, fta, w, ta, c } = await filtered(d);
  const hit = randomId(), miss = randomId();
  assertComplete(await c.publish(hit, 1, X, 30));
  assertComplete(await c.publish(miss, 1, Y, 30));
  assert.is((await drain(f, fta)).length, 1);
  assert.is((await drain(w, ta)).length, 2);
  // Owner change (takeover).
  const peer = await d.pool.open();
  assertComplete(await peer.publish(hit, 1, X, 30));
  assertComplete(await peer.publish(miss, 1, Y, 30));
  const fOwner = await drain(f, fta);
  assert.is(fOwner.length, 1);
  assertMatch(fOwner[0], fta, 'modified', { id: hit, generation: 1, props: X, ttl: 30, clientId: peer.clientId });
  assert.is((await drain(w, ta)).length, 2);
  // Orphan transition.
  const before = wallNow();
  peer.close();
  assertMatch(await nextAbout(f, fta, hit), fta, 'modified', { id: hit, generation: 1, props: X, ttl: 30, clientId: peer.clientId, orphan: [before, before + TOLERANCE] });
  assertMatch(await nextAbout(w, ta, miss), ta, 'modified', { id: miss, generation: 1, props: Y, ttl: 30, clientId: peer.clientId, orphan: true });
  assertMatch(await nextAbout(w, ta, hit), ta, 'modified', { id: hit, generation: 1, props: X, ttl: 30, clientId: peer.clientId, orphan: true });
  assert.is((await drain(f, fta)).length, 0);
});

t('§5 a new subscription gets one appeared per matching service, orphans with orphan-since', async ({ d }) => {
  const a = await d.pool.open();
  const b = await d.pool.open();
  const live = randomId(), orphan = randomId(), other = randomId();
  assertComplete(await a.publish(live, 1, X, 30));
  assertComplete(await a.publish(other, 1, Y, 30));
  assertComplete(await b.publish(orphan, 2, X, 30));
  const { w, ta } = await watcher(d);
  assert.is((await drain(w, ta)).length, 3);
  b.close();
  assertMatch(await nextAbout(w, ta, orphan), ta, 'modified', { id: orphan, generation: 2, props: X, ttl: 30, clientId: b.clientId, orphan: true });

  const s = await d.pool.open();
  const sta = s.taId();
  s.send('subscribe', sta, 'request', { 'subscription-id': randomId(), filter: '(name=x)' });
  assert.is((await s.nextOf(sta))['msg-type'], 'accept', 'accept comes before the burst');
  const got = await drain(s, sta);
  assert.is(got.length, 2);
  const byId = new Map(got.map((m) => [m['service-id'] as bigint, m]));
  assertMatch(byId.get(live)!, sta, 'appeared', { id: live, generation: 1, props: X, ttl: 30, clientId: a.clientId });
  assertMatch(byId.get(orphan)!, sta, 'appeared', { id: orphan, generation: 2, props: X, ttl: 30, clientId: b.clientId, orphan: true });
});

t('§5 ordering: orphan modified strictly before disappeared, also with TTL 0', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const zero = randomId(), one = randomId();
  assertComplete(await c.publish(zero, 1, {}, 0));
  assertComplete(await c.publish(one, 1, {}, 1));
  assert.is((await drain(w, ta)).length, 2);
  c.close();
  const seq: string[] = [];
  while (seq.length < 4) {
    const m = await w.nextOf(ta, 3000);
    seq.push(`${m['match-type']}:${m['service-id'] === zero ? 'zero' : 'one'}${'orphan-since' in m ? '+orphan' : ''}`);
  }
  assert.ok(seq.indexOf('modified:zero+orphan') >= 0 && seq.indexOf('modified:zero+orphan') < seq.indexOf('disappeared:zero'), seq.join(' '));
  assert.ok(seq.indexOf('modified:one+orphan') >= 0 && seq.indexOf('modified:one+orphan') < seq.indexOf('disappeared:one'), seq.join(' '));
  // Expiry in deadline order: the TTL 0 service goes first.
  assert.ok(seq.indexOf('disappeared:zero') < seq.indexOf('disappeared:one'), seq.join(' '));
});

t('§5 ordering: a live owner\'s removal is preceded by appeared/modified without orphan-since', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const c = await d.pool.open();
  const id = randomId();
  assertComplete(await c.publish(id, 1, X, 5));
  assertComplete(await c.publish(id, 2, X, 5));
  assertComplete(await c.unpublish(id));
  const got = await drain(w, ta, id);
  assert.equal(got.map((m) => m['match-type']), ['appeared', 'modified', 'disappeared']);
  assert.not.ok('orphan-since' in got[0] || 'orphan-since' in got[1]);
});

// ------------------------------------------------------------ §6.4 reconnect

t('§6.4 same client id while the old connection lives: client-id-exists, and a tracked old connection is queried at once', async ({ d }) => {
  const old = await d.pool.open({ min: 3, max: 3 });
  const trackTa = old.taId();
  old.send('track', trackTa, 'request');
  assert.is((await old.nextOf(trackTa))['msg-type'], 'accept');
  const dup = d.pool.add(await WireClient.connect(d.addr));
  dup.clientId = old.clientId;
  const failedAt = monoNow();
  assertFail(await dup.hello(), 'client-id-exists');
  const q = await old.nextOf(trackTa, 1000);
  assert.is(q['msg-type'], 'notify');
  assert.is(q['track-type'], 'query');
  assert.ok(monoNow() - failedAt < 1, 'query later than 1 s after the failed hello');
  assertComplete(await old.ping());
});

withUsers(t, 2)('§6.4 once the old connection is gone the same user may say hello; another user only after the orphans expired', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open({ user: USER_A });
  const id = randomId();
  await published(a, w, ta, id, 1, {}, 1);
  await orphaned(a, w, ta, id);
  const intruder = d.pool.add(await WireClient.connect(d.addr, { user: USER_B }));
  intruder.clientId = a.clientId;
  assertFail(await intruder.hello(), 'permission-denied');
  // Same user: fine, and it does not reclaim anything by itself.
  const back = d.pool.add(await reconnect(d.addr, a.clientId, { user: USER_A }));
  back.close();
  assertDisappeared(await nextAbout(w, ta, id, 3000), ta, id);
  const later = d.pool.add(await reconnect(d.addr, a.clientId, { user: USER_B }));
  assertComplete(await later.ping());
});

// -------------------------------------------------------------- §11 listings

t('§11 subscriptions lists canonical filters, match-all without a filter field', async ({ d }) => {
  const c = await d.pool.open();
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['(port>+08)', '(port>8)'],
    ['(port<-0)', '(port<0)'],
    ['(&(name=a\\*b)(zone=eu-*))', '(&(name=a\\*b)(zone=eu-*))'],
    ['(|(a=1)(!(b=*)))', '(|(a=1)(!(b=*)))'],
    ['(k=x\\!)', '(k=x!)'],
  ];
  const ids = new Map<bigint, string | undefined>();
  for (const [filter, canonical] of cases) {
    const id = randomId();
    await subscribeOk(c, id, filter);
    ids.set(id, canonical);
  }
  const listed = await c.list('subscriptions');
  assert.is(listed.length, cases.length);
  for (const m of listed) {
    const id = m['subscription-id'] as bigint;
    assert.ok(ids.has(id), `unknown subscription ${id}`);
    const canonical = ids.get(id);
    const fields = ['ta-cmd', 'ta-id', 'msg-type', 'subscription-id', 'client-id', ...(canonical === undefined ? [] : ['filter'])];
    assert.equal(Object.keys(m).sort(), fields.sort());
    assert.is(m['client-id'], c.clientId);
    assert.is(m['filter'], canonical);
  }
});

t('§11 services lists live services and orphans (with orphan-since), filtered on request', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const b = await d.pool.open();
  const live = randomId(), orphan = randomId();
  assertComplete(await a.publish(live, 1, X, 30));
  await published(b, w, ta, orphan, 3, Y, 30);
  const before = wallNow();
  await orphaned(b, w, ta, orphan);
  const all = await w.list('services');
  assert.is(all.length, 2);
  const byId = new Map(all.map((m) => [m['service-id'] as bigint, m]));
  assertListed(byId.get(live)!, { id: live, generation: 1, props: X, ttl: 30, clientId: a.clientId });
  assertListed(byId.get(orphan)!, { id: orphan, generation: 3, props: Y, ttl: 30, clientId: b.clientId, orphan: [before, wallUpperNow()] });
  const only = await w.list('services', { filter: '(name=y)' });
  assert.is(only.length, 1);
  assert.is(only[0]['service-id'], orphan);
});

t('§11 clients lists every handshaked connection, requester included, not those without hello', async ({ d }) => {
  const a = await d.pool.open({ min: 2, max: 2 });
  const b = await d.pool.open({ user: USER_A });
  d.pool.add(await WireClient.connect(d.addr));
  const listed = await a.list('clients');
  assert.equal(new Set(listed.map((m) => m['client-id'] as bigint)), new Set([a.clientId, b.clientId]));
  for (const m of listed) assert.equal(Object.keys(m).sort(), ['client-address', 'client-id', 'msg-type', 'ta-cmd', 'ta-id', 'time']);
  const v3 = await b.list('clients');
  const ofA = v3.find((m) => m['client-id'] === a.clientId)!;
  assert.is(ofA['protocol-version'], 2n);
  assert.match(v3.find((m) => m['client-id'] === b.clientId)!['client-address'] as string, clientAddressPattern(USER_A));
});

// ----------------------------------------------------------- §13 timeline

t('§13 worked timeline (TTL 2): appeared, –, modified gen 1, orphan, –, reclaimed, orphan again, disappeared', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = 42n;
  const props = wireProps({ name: ['timeline'] });
  const ttl = 2;
  const state = (generation: number, orphan?: [number, number]) => ({ id, generation, props, ttl, clientId: a.clientId, orphan });

  assertComplete(await a.publish(id, 0, props, ttl));
  let got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'appeared', state(0));

  assertComplete(await a.publish(id, 0, props, ttl));
  assert.is((await drain(w, ta, id)).length, 0);

  assertComplete(await a.publish(id, 1, props, ttl));
  got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'modified', state(1));

  let drop = wallNow();
  a.close();
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', state(1, [drop, drop + TOLERANCE]));

  const a2 = d.pool.add(await reconnect(d.addr, a.clientId));
  assert.is((await drain(w, ta, id)).length, 0);
  assertComplete(await a2.publish(id, 1, props, ttl));
  got = await drain(w, ta, id);
  assert.is(got.length, 1);
  assertMatch(got[0], ta, 'modified', state(1));

  drop = wallNow();
  const dropMono = monoNow();
  a2.close();
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', state(1, [drop, drop + TOLERANCE]));
  assertDisappeared(await nextAbout(w, ta, id, 4000), ta, id);
  const after = monoNow() - dropMono;
  assert.ok(after >= ttl && after <= ttl + TOLERANCE, `disappeared ${after.toFixed(3)} s after the drop`);
});

t('§13 variant: another client C of the same user unpublishes the orphan: modified (client-id C, no orphan-since), disappeared', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const a = await d.pool.open();
  const id = 42n;
  const props = wireProps({ name: ['timeline'] });
  await published(a, w, ta, id, 0, props, 5);
  assertComplete(await a.publish(id, 1, props, 5));
  assert.is((await drain(w, ta, id)).length, 1);
  await orphaned(a, w, ta, id);
  const c = await d.pool.open();
  assertComplete(await c.unpublish(id));
  const got = await drain(w, ta, id);
  assert.is(got.length, 2);
  assertMatch(got[0], ta, 'modified', { id, generation: 1, props, ttl: 5, clientId: c.clientId });
  assertDisappeared(got[1], ta, id);
});

// ------------------------------------------------------- docs/discrepancies.md

t('B3 substring filters on integer-valued props, in services and in live subscriptions; the server keeps running', async ({ d }) => {
  const s = await d.pool.open();
  const hitTa = await subscribeOk(s, randomId(), '(k=4*)');
  const missTa = await subscribeOk(s, randomId(), '(k=x*)');
  const mixedTa = await subscribeOk(s, randomId(), '(k=*7)');
  const c = await d.pool.open();
  const intOnly = randomId(), mixed = randomId();
  const intProps = wireProps({ k: [42] });
  const mixedProps = wireProps({ k: ['abc', 7, -17] });
  assertComplete(await c.publish(intOnly, 1, intProps, 5));
  assertComplete(await c.publish(mixed, 1, mixedProps, 5));
  const hit = await drain(s, hitTa);
  assert.is(hit.length, 1);
  assertMatch(hit[0], hitTa, 'appeared', { id: intOnly, generation: 1, props: intProps, ttl: 5, clientId: c.clientId });
  assert.is((await drain(s, missTa)).length, 0);
  const mixedGot = await drain(s, mixedTa);
  assert.is(mixedGot.length, 1);
  assert.is(mixedGot[0]['service-id'], mixed);

  const ids = async (filter: string) => (await c.list('services', { filter })).map((m) => m['service-id'] as bigint);
  assert.equal(await ids('(k=*2)'), [intOnly]);
  assert.equal(await ids('(k=-1*)'), [mixed]);
  assert.equal(await ids('(k=a*c)'), [mixed]);
  assert.equal(await ids('(k=*z*)'), []);
  const bystander = await d.pool.open();
  assertComplete(await bystander.ping());
  assert.is(d.pafd.proc.exitCode, null);
});

withUsers(t, 2)('B8 after a takeover of V\'s orphan, V\'s client id is free for a different user', async ({ d }) => {
  const { w, ta } = await watcher(d);
  const v = await d.pool.open({ user: USER_A });
  const id = randomId();
  await published(v, w, ta, id, 1, {}, 60);
  await orphaned(v, w, ta, id);
  const c = await d.pool.open({ user: USER_A });
  assertComplete(await c.publish(id, 1, {}, 60));
  assertMatch(await nextAbout(w, ta, id), ta, 'modified', { id, generation: 1, props: {}, ttl: 60, clientId: c.clientId });
  const stranger = d.pool.add(await WireClient.connect(d.addr, { user: USER_B }));
  stranger.clientId = v.clientId;
  assertComplete(await stranger.hello());
  assertComplete(await stranger.ping());
});

t.run();
