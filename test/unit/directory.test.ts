// The service directory (docs/semantics.md §1–§6, §8.2) driven directly: every
// row of the publish and unpublish tables, the notification table, orphans
// and expiry on a manual clock, hello registration and resource accounting.
//
// Each scene has two watchers on their own connections: ALL (match-all,
// subscribe ta 100) and FOO (filter (name=foo), ta 101). Notifications are
// compared as summary lines "<ta> <match-type> <id> gen= ttl= client=
// [orphan=]" whose field sets `summarize` has already checked.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { World, Peer, props, notifiedProps, summarize, WALL_ORIGIN } from '../helpers/core-fixtures';
import type { JsonObject } from '../../src/protocol/json';
import { propsEqual } from '../../src/protocol/props';
import type { Limits } from '../../src/core/limits';
import { Liveness } from '../../src/core/liveness';
import { prng } from '../helpers/prng';
import { matchFilter, parseFilter } from '../../src/core/filter';
import { encodeWallTime } from '../../src/protocol/encode';

const USER = 'default';
const OTHER_USER = 'ip:10.0.0.9';

/** Publisher A, a second client C of the same user, client X of another user. */
const A = 10n;
const C = 12n;
const X = 20n;
const SVC = 42n;

const FOO = props({ name: 'foo' });
const FOO2 = props({ name: 'foo', port: 80n });
const BAR = props({ name: 'bar' });
const EMPTY = props({});

interface Scene {
  w: World;
  all: Peer;
  foo: Peer;
  a: Peer;
}

function scene(total: Limits = {}, user: Limits = {}): Scene {
  const w = new World(total, user);
  const all = w.connect(901n);
  w.watch(all, 1n);          // ta 100
  const foo = w.connect(902n);
  w.watch(foo, 2n, '(name=foo)'); // ta 101
  const a = w.connect(A);
  return { w, all, foo, a };
}

/** Discards whatever the watchers got so far. */
function drain(...peers: Peer[]): void {
  for (const p of peers) p.sent.length = 0;
}

function state(id: bigint, gen: bigint, ttl: bigint, client: bigint, orphanSince?: number): string {
  return `${id} gen=${gen} ttl=${ttl} client=${client}` + (orphanSince === undefined ? '' : ` orphan=${orphanSince}`);
}
const appeared = (ta: number, rest: string) => `${ta} appeared ${rest}`;
const modified = (ta: number, rest: string) => `${ta} modified ${rest}`;
const disappeared = (ta: number, id: bigint) => `${ta} disappeared ${id}`;

// ------------------------------------------------------------ publish table

test('publish row 1: a new service appears to matching subscribers and takes a service resource', () => {
  const { w, all, foo, a } = scene();
  assert.is(w.publish(a, SVC, 0n, FOO, 5n), undefined);
  assert.equal(all.notes(), [appeared(100, state(SVC, 0n, 5n, A))]);
  assert.equal(foo.notes(), [appeared(101, state(SVC, 0n, 5n, A))]);
  assert.is(w.publish(a, 43n, 7n, BAR, 0n), undefined);
  assert.equal(all.notes(), [appeared(100, state(43n, 7n, 0n, A))]);
  assert.equal(foo.notes(), [], 'a non-matching ADDED is not sent');

  const s = w.directory.services.get(SVC)!;
  assert.is(s.owner.id, A);
  assert.is(s.user, USER);
  assert.is(s.boundTo, a.session);
  assert.is(s.isOrphan, false);
  assert.ok(a.session.services.has(s));
  assert.is(w.limits.count('services'), 2);
  assert.is(w.limits.userCount('services', USER), 2);
});

test('publish row 1: the appeared notification carries the props as published', () => {
  const { w, all, a } = scene();
  const p = props({ name: 'foo', port: [80n, 443n], zone: ['eu-1', '1'], n: 1n });
  w.publish(a, SVC, 3n, p, 9n);
  const [msg] = all.take();
  assert.ok(propsEqual(notifiedProps(msg!), p));
  assert.is(msg!['ta-id'], 100n);
});

test('publish row 1: insufficient-resources creates nothing and notifies nobody', () => {
  const { w, all, foo, a } = scene({ services: 1 });
  assert.is(w.publish(a, SVC, 0n, FOO), undefined);
  drain(all, foo);
  assert.is(w.publish(a, 43n, 0n, FOO), 'insufficient-resources');
  assert.not.ok(w.directory.services.has(43n));
  assert.is(a.session.services.size, 1);
  assert.is(w.directory.clients.get(A)!.services.size, 1);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
  assert.is(w.limits.count('services'), 1);
});

test('publish row 1: the per-user service limit counts the user, not the client', () => {
  const { w, a } = scene({}, { services: 1 });
  const c = w.connect(C);
  const x = w.connect(X, OTHER_USER);
  assert.is(w.publish(a, 1n, 0n), undefined);
  assert.is(w.publish(c, 2n, 0n), 'insufficient-resources');
  assert.is(w.publish(x, 3n, 0n), undefined);
});

test('publish row 2: another user\'s service is refused whatever the generation', () => {
  const { w, all, foo, a } = scene();
  const x = w.connect(X, OTHER_USER);
  w.publish(a, SVC, 5n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(x, SVC, 5n, FOO, 5n), 'permission-denied');
  assert.is(w.publish(x, SVC, 6n, BAR, 1n), 'permission-denied');
  assert.is(w.publish(x, SVC, 5n, BAR, 5n), 'permission-denied', 'row 2 is checked before row 3');
  assert.is(w.publish(x, SVC, 1n, FOO, 5n), 'permission-denied', 'row 2 is checked before row 8');
  const s = w.directory.services.get(SVC)!;
  assert.is(s.owner.id, A);
  assert.is(s.generation, 5n);
  assert.is(s.boundTo, a.session);
  assert.is(x.session.services.size, 0);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
});

test('publish row 3: same generation with other props or another ttl is refused', () => {
  const { w, all, foo, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 2n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(a, SVC, 2n, FOO2, 5n), 'same-generation-but-different');
  assert.is(w.publish(a, SVC, 2n, FOO, 6n), 'same-generation-but-different');
  assert.is(w.publish(a, SVC, 2n, props({ name: 'foo', x: '1' }), 5n), 'same-generation-but-different');
  assert.is(w.publish(c, SVC, 2n, BAR, 5n), 'same-generation-but-different', 'also for a would-be takeover');
  assert.is(w.publish(a, SVC, 2n, props({ name: '1' }), 5n), 'same-generation-but-different');
  const s = w.directory.services.get(SVC)!;
  assert.ok(propsEqual(s.props, FOO));
  assert.is(s.ttl, 5n);
  assert.is(s.owner.id, A);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
});

test('publish row 3: props compare as sets and type-sensitively', () => {
  const { w, all, a } = scene();
  w.publish(a, SVC, 0n, props({ v: [1n, 'x'] }), 5n);
  drain(all);
  assert.is(w.publish(a, SVC, 0n, props({ v: ['x', 1n, 1n] }), 5n), undefined, 'same set in another order');
  assert.is(w.publish(a, SVC, 0n, props({ v: ['x', '1'] }), 5n), 'same-generation-but-different', '"1" is not 1');
  assert.equal(all.notes(), []);
});

test('publish row 4: takeover by another client of the same user; the previous connection loses it', () => {
  const { w, all, foo, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 1n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(c, SVC, 1n, FOO, 5n), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 1n, 5n, C))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 1n, 5n, C))]);
  const s = w.directory.services.get(SVC)!;
  assert.is(s.owner.id, C);
  assert.is(s.boundTo, c.session);
  assert.not.ok(a.session.services.has(s));
  assert.ok(c.session.services.has(s));
  assert.is.not(s.owner, w.directory.clients.get(A));
  assert.is(s.owner, w.directory.clients.get(C));
  assert.is(w.limits.userCount('services', USER), 1, 'a takeover moves no resources');

  // The previous owner's disconnect no longer orphans it, and A is forgotten.
  w.disconnect(a);
  assert.equal(all.notes(), []);
  assert.is(s.isOrphan, false);
  assert.is(w.directory.orphans.size, 0);
  assert.not.ok(w.directory.clients.has(A));
});

test('publish row 4: takeover of an orphan clears orphan state; B8: the old owner record is forgotten', () => {
  const { w, all, a } = scene();
  w.publish(a, SVC, 1n, EMPTY, 5n);
  w.disconnect(a);
  const since = w.clock.wall();
  assert.equal(all.notes().slice(1), [modified(100, state(SVC, 1n, 5n, A, since))]);
  assert.ok(w.directory.clients.has(A), 'kept while it owns an orphan');

  const c = w.connect(C);
  assert.is(w.publish(c, SVC, 1n, EMPTY, 5n), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 1n, 5n, C))]);
  assert.not.ok(w.directory.clients.has(A), 'no connection and no services: forgotten');
  assert.is(w.directory.orphans.size, 0);
  assert.is(w.directory.orphanTotal, 0);
  w.clock.advance(100);
  assert.is(w.directory.expireOrphans(), 0);
  assert.ok(w.directory.services.has(SVC));
});

test('publish row 5 and B7: a reclaimed orphan is re-bound, so a second disconnect orphans it again', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 1n, FOO, 5n);
  drain(all, foo);

  w.clock.advance(1);
  const since1 = w.clock.wall();
  w.disconnect(a);
  assert.equal(all.notes(), [modified(100, state(SVC, 1n, 5n, A, since1))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 1n, 5n, A, since1))]);

  w.clock.advance(1);
  const a2 = w.connect(A);
  assert.equal(all.notes(), [], 'a reconnect alone changes nothing');
  w.clock.advance(0.25);
  assert.is(w.publish(a2, SVC, 1n, FOO, 5n), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 1n, 5n, A))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 1n, 5n, A))]);
  const s = w.directory.services.get(SVC)!;
  assert.is(s.boundTo, a2.session);
  assert.ok(a2.session.services.has(s));
  assert.is(w.directory.orphanTotal, 0);

  w.clock.advance(10); // beyond the first deadline: the cancelled one must not fire
  assert.is(w.directory.expireOrphans(), 0);

  w.clock.advance(0.5);
  const since2 = w.clock.wall();
  w.disconnect(a2);
  assert.equal(all.notes(), [modified(100, state(SVC, 1n, 5n, A, since2))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 1n, 5n, A, since2))]);
  w.clock.advance(4.75);
  assert.is(w.directory.expireOrphans(), 0);
  w.clock.advance(0.25);
  assert.is(w.directory.expireOrphans(), 1);
  assert.equal(all.notes(), [disappeared(100, SVC)]);
  assert.equal(foo.notes(), [disappeared(101, SVC)]);
  assert.not.ok(w.directory.clients.has(A));
});

test('publish row 6: an identical republish by the live owner is silent', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 1n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(a, SVC, 1n, FOO, 5n), undefined);
  assert.is(w.publish(a, SVC, 1n, props({ name: ['foo', 'foo'] }), 5n), undefined);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
  assert.is(w.directory.services.get(SVC)!.boundTo, a.session);
  assert.is(w.limits.count('services'), 1);
});

test('publish row 7: a higher generation is a modification even with identical data', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 1n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(a, SVC, 9n, FOO, 5n), undefined, 'generations need not be contiguous');
  assert.equal(all.notes(), [modified(100, state(SVC, 9n, 5n, A))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 9n, 5n, A))]);
  assert.is(w.publish(a, SVC, 10n, FOO2, 7n), undefined);
  const [msg] = all.take();
  assert.is(msg!['generation'], 10n);
  assert.is(msg!['ttl'], 7n);
  assert.ok(propsEqual(notifiedProps(msg!), FOO2), 'modified carries the new props');
  assert.is(w.limits.count('services'), 1);
});

test('publish row 7: filter transitions (§5 MODIFIED rows) for a filtered subscriber', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 1n, FOO, 5n);
  drain(all, foo);
  // true → false
  w.publish(a, SVC, 2n, BAR, 5n);
  assert.equal(all.notes(), [modified(100, state(SVC, 2n, 5n, A))]);
  assert.equal(foo.notes(), [disappeared(101, SVC)]);
  // false → false
  w.publish(a, SVC, 3n, props({ name: 'baz' }), 5n);
  assert.equal(all.notes(), [modified(100, state(SVC, 3n, 5n, A))]);
  assert.equal(foo.notes(), []);
  // false → true
  w.publish(a, SVC, 4n, FOO2, 5n);
  assert.equal(all.notes(), [modified(100, state(SVC, 4n, 5n, A))]);
  assert.equal(foo.notes(), [appeared(101, state(SVC, 4n, 5n, A))]);
  // true → true with other props
  w.publish(a, SVC, 5n, FOO, 6n);
  assert.equal(all.notes(), [modified(100, state(SVC, 5n, 6n, A))]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 5n, 6n, A))]);
});

test('publish row 7: by another client takes over; of an orphan clears orphan state and its deadline', () => {
  const { w, all, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 1n, FOO, 5n);
  w.publish(c, SVC, 2n, FOO, 5n);
  drain(all);
  const s = w.directory.services.get(SVC)!;
  assert.is(s.owner.id, C);
  assert.is(s.boundTo, c.session);
  assert.not.ok(a.session.services.has(s));

  w.disconnect(c);
  const since = w.clock.wall();
  assert.equal(all.notes(), [modified(100, state(SVC, 2n, 5n, C, since))]);
  w.clock.advance(1);
  assert.is(w.publish(a, SVC, 3n, BAR, 60n), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 3n, 60n, A))]);
  assert.is(s.isOrphan, false);
  assert.is(s.boundTo, a.session);
  assert.not.ok(w.directory.clients.has(C), 'C has neither connection nor services');
  w.clock.advance(10);
  assert.is(w.directory.expireOrphans(), 0);
  assert.ok(w.directory.services.has(SVC));
});

test('publish row 8: an older generation is refused', () => {
  const { w, all, foo, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 5n, FOO, 5n);
  drain(all, foo);
  assert.is(w.publish(a, SVC, 4n, FOO, 5n), 'old-generation');
  assert.is(w.publish(a, SVC, 0n, BAR, 1n), 'old-generation');
  assert.is(w.publish(c, SVC, 4n, FOO, 5n), 'old-generation');
  const s = w.directory.services.get(SVC)!;
  assert.is(s.generation, 5n);
  assert.is(s.owner.id, A);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
});

test('publish: a session that is not a registered live connection is a caller bug', () => {
  const { w } = scene();
  const stranger = w.accept();
  assert.throws(() => w.publish(stranger, SVC, 0n));
  assert.not.ok(w.directory.services.has(SVC));
});

// ---------------------------------------------------------- unpublish table

test('unpublish row 1: an unknown service id', () => {
  const { w, a } = scene();
  assert.is(w.directory.unpublish(a.session, SVC), 'non-existent-service-id');
});

test('unpublish row 2: another user\'s service is refused', () => {
  const { w, all, foo, a } = scene();
  const x = w.connect(X, OTHER_USER);
  w.publish(a, SVC, 0n, FOO);
  drain(all, foo);
  assert.is(w.directory.unpublish(x.session, SVC), 'permission-denied');
  assert.ok(w.directory.services.has(SVC));
  assert.is(w.directory.services.get(SVC)!.owner.id, A);
  assert.equal(all.notes(), []);
  assert.equal(foo.notes(), []);
});

test('unpublish row 3: by a non-owner of the same user: modified (new owner) then disappeared', () => {
  const { w, all, foo, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 3n, FOO, 5n);
  w.publish(a, 43n, 0n, BAR, 5n);
  drain(all, foo);
  assert.is(w.directory.unpublish(c.session, SVC), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 3n, 5n, C)), disappeared(100, SVC)]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 3n, 5n, C)), disappeared(101, SVC)]);
  assert.is(w.directory.unpublish(c.session, 43n), undefined);
  assert.equal(all.notes(), [modified(100, state(43n, 0n, 5n, C)), disappeared(100, 43n)]);
  assert.equal(foo.notes(), [], 'a non-matching service yields nothing');
  assert.not.ok(w.directory.services.has(SVC));
  assert.is(a.session.services.size, 0);
  assert.is(c.session.services.size, 0);
  assert.is(w.directory.clients.get(A)!.services.size, 0);
  assert.is(w.directory.clients.get(C)!.services.size, 0);
  assert.is(w.limits.count('services'), 0);
});

test('unpublish row 3: of an orphan by its reconnected owner: modified without orphan-since, then disappeared', () => {
  const { w, all, a } = scene();
  w.publish(a, SVC, 3n, FOO, 5n);
  w.disconnect(a);
  drain(all);
  const a2 = w.connect(A);
  assert.is(w.directory.unpublish(a2.session, SVC), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 3n, 5n, A)), disappeared(100, SVC)]);
  assert.is(w.directory.orphans.size, 0);
  assert.is(w.directory.orphanTotal, 0);
  assert.is(w.limits.count('services'), 0);
  w.clock.advance(10);
  assert.is(w.directory.expireOrphans(), 0);
});

test('unpublish row 3: of an orphan by another client; the old owner record is forgotten (B8)', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 3n, FOO, 5n);
  w.disconnect(a);
  drain(all, foo);
  const c = w.connect(C);
  assert.is(w.directory.unpublish(c.session, SVC), undefined);
  assert.equal(all.notes(), [modified(100, state(SVC, 3n, 5n, C)), disappeared(100, SVC)]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 3n, 5n, C)), disappeared(101, SVC)]);
  assert.not.ok(w.directory.clients.has(A));
  assert.ok(w.directory.clients.has(C));
});

test('unpublish row 4: by the live owner: disappeared only, resource released', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 3n, FOO, 5n);
  w.publish(a, 43n, 3n, BAR, 5n);
  drain(all, foo);
  assert.is(w.directory.unpublish(a.session, SVC), undefined);
  assert.equal(all.notes(), [disappeared(100, SVC)]);
  assert.equal(foo.notes(), [disappeared(101, SVC)]);
  assert.is(w.directory.unpublish(a.session, 43n), undefined);
  assert.equal(all.notes(), [disappeared(100, 43n)]);
  assert.equal(foo.notes(), []);
  assert.is(a.session.services.size, 0);
  assert.is(w.limits.count('services'), 0);
  assert.is(w.directory.unpublish(a.session, SVC), 'non-existent-service-id');
  // The id is free again: a new publish is row 1, with any generation.
  assert.is(w.publish(a, SVC, 0n, FOO, 5n), undefined);
  assert.equal(all.notes(), [appeared(100, state(SVC, 0n, 5n, A))]);
});

// ------------------------------------------------------- notification rules

test('§5: the client that causes a change is notified too', () => {
  const w = new World();
  const a = w.connect(A);
  w.watch(a, 1n); // ta 100
  w.publish(a, SVC, 0n, FOO, 5n);
  w.publish(a, SVC, 1n, FOO, 5n);
  w.directory.unpublish(a.session, SVC);
  assert.equal(a.notes(), [
    appeared(100, state(SVC, 0n, 5n, A)),
    modified(100, state(SVC, 1n, 5n, A)),
    disappeared(100, SVC),
  ]);
});

test('§5: one change reaches every subscription, each on its own transaction', () => {
  const w = new World();
  const a = w.connect(A);
  const b = w.connect(11n);
  w.watch(b, 1n);               // ta 100
  w.watch(b, 2n, '(name=foo)'); // ta 101
  w.watch(b, 3n, '(name=bar)'); // ta 102
  w.watch(b, 4n, '(!(port=*))'); // ta 103
  w.publish(a, SVC, 0n, FOO, 5n);
  assert.equal(b.notes().sort(), [
    appeared(100, state(SVC, 0n, 5n, A)),
    appeared(101, state(SVC, 0n, 5n, A)),
    appeared(103, state(SVC, 0n, 5n, A)),
  ]);
  w.publish(a, SVC, 1n, FOO2, 5n);
  assert.equal(b.notes().sort(), [
    modified(100, state(SVC, 1n, 5n, A)),
    modified(101, state(SVC, 1n, 5n, A)),
    disappeared(103, SVC),
  ]);
});

test('§5: the table, row by row, for a filtered subscription', () => {
  // [old props or undefined for ADDED, new props or undefined for REMOVED, expected for the (name=foo) watcher]
  const rows: [string, typeof FOO | undefined, typeof FOO | undefined, string | undefined][] = [
    ['ADDED, F(new)', undefined, FOO, 'appeared'],
    ['ADDED, !F(new)', undefined, BAR, undefined],
    ['MODIFIED, F(old), F(new)', FOO, FOO2, 'modified'],
    ['MODIFIED, !F(old), F(new)', BAR, FOO, 'appeared'],
    ['MODIFIED, F(old), !F(new)', FOO, BAR, 'disappeared'],
    ['MODIFIED, !F(old), !F(new)', BAR, props({ name: 'baz' }), undefined],
    ['REMOVED, F(old)', FOO, undefined, 'disappeared'],
    ['REMOVED, !F(old)', BAR, undefined, undefined],
  ];
  for (const [label, before, after, expected] of rows) {
    const { w, foo, a } = scene();
    if (before) w.publish(a, SVC, 1n, before, 5n);
    drain(foo);
    if (after) w.publish(a, SVC, 2n, after, 5n);
    else w.directory.unpublish(a.session, SVC);
    const notes = foo.notes();
    if (expected === undefined) assert.equal(notes, [], label);
    else {
      assert.is(notes.length, 1, label);
      assert.ok(notes[0]!.startsWith(`101 ${expected} ${SVC}`), `${label}: ${notes[0]}`);
    }
  }
});

test('§5: a new subscription gets one appeared per matching service, orphans with orphan-since', () => {
  const w = new World();
  const a = w.connect(A);
  const c = w.connect(C);
  w.publish(a, 1n, 0n, FOO, 5n);
  w.publish(a, 2n, 4n, BAR, 6n);
  w.publish(c, 3n, 0n, FOO2, 7n);
  w.clock.advance(0.5);
  const since = w.clock.wall();
  w.disconnect(a);

  const b = w.connect(11n);
  w.watch(b, 1n); // ta 100
  assert.equal(b.notes(), [
    appeared(100, state(1n, 0n, 5n, A, since)),
    appeared(100, state(2n, 4n, 6n, A, since)),
    appeared(100, state(3n, 0n, 7n, C)),
  ]);
  w.watch(b, 2n, '(name=foo)'); // ta 101
  assert.equal(b.notes(), [
    appeared(101, state(1n, 0n, 5n, A, since)),
    appeared(101, state(3n, 0n, 7n, C)),
  ]);
  w.watch(b, 3n, '(name=nothing)');
  assert.equal(b.notes(), []);
});

test('§5: a subscription created before a publish reports it once, not again from the burst', () => {
  const w = new World();
  const b = w.connect(11n);
  w.watch(b, 1n);
  assert.equal(b.notes(), [], 'empty directory, empty burst');
  const a = w.connect(A);
  w.publish(a, SVC, 0n);
  assert.equal(b.notes(), [appeared(100, state(SVC, 0n, 5n, A))]);
});

// ------------------------------------------------- disconnect, orphans, ttl

test('§6.1: disconnect orphans bound services at clock.wall(), drops subscriptions silently, frees the client id', () => {
  const { w, all, foo, a } = scene();
  w.watch(a, 7n); // ta 102, a's own subscription
  w.publish(a, 1n, 0n, FOO, 5n);
  w.publish(a, 2n, 0n, BAR, 8n);
  drain(all, foo, a);
  assert.is(w.limits.count('subscriptions'), 3);
  assert.is(w.limits.count('clients'), 3);

  w.clock.advance(2.25);
  const since = w.clock.wall();
  assert.is(since, WALL_ORIGIN + 2.25);
  w.disconnect(a);
  assert.equal(all.notes().sort(), [
    modified(100, state(1n, 0n, 5n, A, since)),
    modified(100, state(2n, 0n, 8n, A, since)),
  ]);
  assert.equal(foo.notes(), [modified(101, state(1n, 0n, 5n, A, since))]);
  assert.equal(a.sent, [], 'nothing is sent to the closed connection');

  assert.not.ok(w.directory.subscriptions.has(7n));
  assert.is(a.session.subscriptions.size, 0);
  assert.is(a.session.open.size, 0);
  assert.is(a.session.services.size, 0);
  assert.is(w.limits.count('subscriptions'), 2);
  assert.is(w.limits.count('clients'), 2);
  assert.is(w.limits.count('services'), 2, 'orphans keep their resources');
  assert.is(w.directory.orphanTotal, 2);
  const s1 = w.directory.services.get(1n)!;
  assert.is(s1.orphanSince, since);
  assert.is(s1.boundTo, undefined);
  const rec = w.directory.clients.get(A)!;
  assert.ok(rec, 'the record is kept while it owns orphans');
  assert.is(rec.session, undefined);

  // The subscription id and the client id are free at once.
  const b = w.connect(11n);
  assert.ok(typeof w.subscribe(b, 7n) !== 'string');
  const a2 = w.connect(A);
  assert.is(w.directory.clients.get(A)!.session, a2.session);
});

test('§6.1: a client without services is forgotten on disconnect', () => {
  const { w, a } = scene();
  w.disconnect(a);
  assert.not.ok(w.directory.clients.has(A));
  assert.is(w.limits.userCount('clients', USER), 2);
});

test('§6.2: orphans expire in deadline order, at their deadline and not before', () => {
  const { w, all, a } = scene();
  w.publish(a, 3n, 0n, EMPTY, 3n);
  w.publish(a, 1n, 0n, EMPTY, 1n);
  w.publish(a, 2n, 0n, EMPTY, 2n);
  const c = w.connect(C);
  w.publish(c, 4n, 0n, EMPTY, 1n);
  w.disconnect(a); // t = 0: deadlines 1, 2, 3
  drain(all);

  w.clock.advance(1.25);
  assert.is(w.directory.expireOrphans(), 1);
  assert.equal(all.notes(), [disappeared(100, 1n)]);
  w.disconnect(c); // t = 1.25: deadline 2.25, between services 2 and 3
  drain(all);
  w.clock.advance(0.5); // t = 1.75
  assert.is(w.directory.expireOrphans(), 0);
  w.clock.advance(2); // t = 3.75: 2, 4 and 3 are all due
  assert.is(w.directory.expireOrphans(), 3);
  assert.equal(all.notes(), [disappeared(100, 2n), disappeared(100, 4n), disappeared(100, 3n)]);
  assert.is(w.directory.services.size, 0);
  assert.is(w.directory.orphanTotal, 0);
  assert.is(w.directory.stats.expired, 4);
  assert.is(w.limits.count('services'), 0);
  assert.not.ok(w.directory.clients.has(A));
  assert.not.ok(w.directory.clients.has(C));
});

test('§6.2: a service expires exactly at orphan-since + ttl', () => {
  const { w, a } = scene();
  w.publish(a, SVC, 0n, EMPTY, 4n);
  w.disconnect(a);
  w.clock.advance(3.75);
  assert.is(w.directory.expireOrphans(), 0);
  w.clock.advance(0.25);
  assert.is(w.directory.expireOrphans(), 1);
});

test('§6.2: ttl 0 expires at once, after its orphan modified', () => {
  const { w, all, foo, a } = scene();
  w.publish(a, SVC, 0n, FOO, 0n);
  drain(all, foo);
  const since = w.clock.wall();
  w.disconnect(a);
  assert.is(w.directory.expireOrphans(), 1);
  assert.equal(all.notes(), [modified(100, state(SVC, 0n, 0n, A, since)), disappeared(100, SVC)]);
  assert.equal(foo.notes(), [modified(101, state(SVC, 0n, 0n, A, since)), disappeared(101, SVC)]);
  assert.not.ok(w.directory.clients.has(A));
  assert.is(w.limits.count('services'), 0);
});

test('§6.2: an orphan whose owner is connected again still expires unless reclaimed', () => {
  const { w, all, a } = scene();
  w.publish(a, SVC, 0n, EMPTY, 2n);
  w.disconnect(a);
  const a2 = w.connect(A);
  drain(all);
  w.clock.advance(2);
  assert.is(w.directory.expireOrphans(), 1);
  assert.equal(all.notes(), [disappeared(100, SVC)]);
  assert.ok(w.directory.clients.has(A), 'the record stays: it has a live connection');
  assert.is(w.directory.clients.get(A)!.session, a2.session);
});

test('§13 worked timeline', () => {
  const w = new World();
  const b = w.connect(11n);
  w.watch(b, 7n); // ta 100
  const a = w.connect(0xAn);
  w.publish(a, 42n, 0n, EMPTY, 5n);
  w.clock.advance(1);
  w.publish(a, 42n, 0n, EMPTY, 5n);
  w.clock.advance(1);
  w.publish(a, 42n, 1n, EMPTY, 5n);
  w.clock.advance(1);
  const t3 = w.clock.wall();
  w.disconnect(a);
  w.clock.advance(1);
  const a2 = w.connect(0xAn);
  w.clock.advance(0.125);
  w.publish(a2, 42n, 1n, EMPTY, 5n);
  w.clock.advance(1.875);
  const t6 = w.clock.wall();
  w.disconnect(a2);
  w.clock.advance(4.5);
  w.directory.expireOrphans();
  w.clock.advance(0.5);
  w.directory.expireOrphans();
  assert.equal(b.notes(), [
    appeared(100, state(42n, 0n, 5n, 10n)),
    modified(100, state(42n, 1n, 5n, 10n)),
    modified(100, state(42n, 1n, 5n, 10n, t3)),
    modified(100, state(42n, 1n, 5n, 10n)),
    modified(100, state(42n, 1n, 5n, 10n, t6)),
    disappeared(100, 42n),
  ]);
});

// ------------------------------------------------------------- registration

test('register: client-id-exists names the live connection, and allocates nothing', () => {
  const { w, a } = scene();
  const dup = w.accept();
  dup.session.clientId = A;
  const result = w.directory.register(dup.session, A);
  assert.equal(result, { ok: false, reason: 'client-id-exists', existing: a.session });
  assert.is(w.limits.count('clients'), 3);
  assert.is(w.directory.clients.get(A)!.session, a.session);
});

test('register: client-id-exists wins over another user', () => {
  const { w, a } = scene();
  const dup = w.accept(OTHER_USER);
  const result = w.directory.register(dup.session, A);
  assert.is(result.ok, false);
  if (!result.ok) {
    assert.is(result.reason, 'client-id-exists');
    assert.is(result.existing, a.session);
  }
});

test('register: a client id known from orphans is refused to another user until they expire', () => {
  const { w, a } = scene();
  w.publish(a, SVC, 0n, EMPTY, 3n);
  w.disconnect(a);
  const other = w.accept(OTHER_USER);
  assert.equal(w.directory.register(other.session, A), { ok: false, reason: 'permission-denied' });
  assert.is(w.limits.userCount('clients', OTHER_USER), 0);
  assert.is(w.directory.clients.get(A)!.user, USER);

  w.clock.advance(3);
  w.directory.expireOrphans();
  assert.equal(w.directory.register(other.session, A), { ok: true });
  assert.is(w.directory.clients.get(A)!.user, OTHER_USER);
  assert.is(w.limits.userCount('clients', OTHER_USER), 1);
});

test('register: the same user gets its orphan-owning record back', () => {
  const { w, a } = scene();
  w.publish(a, SVC, 0n, EMPTY, 3n);
  w.disconnect(a);
  const rec = w.directory.clients.get(A)!;
  const a2 = w.connect(A);
  assert.is(w.directory.clients.get(A), rec);
  assert.is(rec.session, a2.session);
  assert.is(rec.services.size, 1);
});

test('register: insufficient-resources from the total and the per-user client limit', () => {
  const total = new World({ clients: 2 });
  total.connect(1n);
  const p2 = total.connect(2n, OTHER_USER);
  const p3 = total.accept('third');
  assert.equal(total.directory.register(p3.session, 3n), { ok: false, reason: 'insufficient-resources' });
  assert.not.ok(total.directory.clients.has(3n), 'a refused hello leaves no record');
  total.disconnect(p2);
  assert.equal(total.directory.register(p3.session, 3n), { ok: true }, 'freed by the disconnect');

  const perUser = new World({}, { clients: 1 });
  perUser.connect(1n);
  assert.equal(perUser.directory.register(perUser.accept().session, 2n), { ok: false, reason: 'insufficient-resources' });
  assert.equal(perUser.directory.register(perUser.accept(OTHER_USER).session, 3n), { ok: true });

  const none = new World({ clients: 0 });
  assert.equal(none.directory.register(none.accept().session, 1n), { ok: false, reason: 'insufficient-resources' });
});

// ------------------------------------------------------------ subscriptions

test('subscribe: ids are unique across clients; insufficient-resources; unsubscribe rules', () => {
  const w = new World({}, { subscriptions: 2 });
  const a = w.connect(A);
  const c = w.connect(C);
  const x = w.connect(X, OTHER_USER);
  const sub = w.watch(a, 5n, '(name=foo)');
  assert.is(sub.filterText, '(name=foo)');
  assert.is(sub.clientId, A);
  assert.is(w.subscribe(c, 5n), 'subscription-id-exists');
  assert.is(w.subscribe(x, 5n), 'subscription-id-exists');
  w.watch(c, 6n);
  assert.is(w.subscribe(c, 7n), 'insufficient-resources', 'user limit 2 shared by a and c');
  assert.not.ok(w.directory.subscriptions.has(7n));
  w.watch(x, 7n);
  assert.is(w.limits.count('subscriptions'), 3);

  assert.is(w.directory.unsubscribe(a.session, 99n), 'non-existent-subscription-id');
  assert.is(w.directory.unsubscribe(c.session, 5n), 'permission-denied', 'ownership is by client, not user');
  a.take();
  assert.is(w.directory.unsubscribe(a.session, 5n), undefined);
  assert.equal(a.take().map((m) => ({ ...m })), [{ 'ta-cmd': 'subscribe', 'ta-id': sub.taId, 'msg-type': 'complete' }]);
  assert.not.ok(a.session.open.has(sub.taId));
  assert.is(w.limits.count('subscriptions'), 2);
  assert.is(w.directory.unsubscribe(a.session, 5n), 'non-existent-subscription-id');
  // Freed: reusable at once, and the user is below its limit again.
  assert.ok(typeof w.subscribe(c, 5n) !== 'string');

  // An unsubscribed subscription gets nothing more.
  w.publish(a, SVC, 0n, FOO);
  assert.equal(a.sent, []);
});

test('subscribe: a match-all subscription is listed without filter text', () => {
  const w = new World();
  const a = w.connect(A);
  const sub = w.watch(a, 1n);
  assert.is(sub.filterText, undefined);
  assert.is(sub.filter, null);
  assert.is(a.session.open.get(sub.taId), 'subscribe');
});

// ------------------------------------------------------- limits accounting

test('§8.2: every resource is released again; nothing leaks per user', () => {
  const w = new World({ clients: 10, services: 10, subscriptions: 10 }, { clients: 5, services: 5, subscriptions: 5 });
  const a = w.connect(A);
  const c = w.connect(C);
  const x = w.connect(X, OTHER_USER);
  w.watch(a, 1n);
  w.watch(x, 2n);
  w.watch(x, 3n, '(a=*)');
  w.publish(a, 1n, 0n, EMPTY, 1n);
  w.publish(a, 2n, 0n, EMPTY, 100n);
  w.publish(c, 3n, 0n);
  w.publish(x, 4n, 0n, EMPTY, 0n);
  assert.equal([w.limits.count('clients'), w.limits.count('services'), w.limits.count('subscriptions')], [3, 4, 3]);
  assert.equal([w.limits.userCount('services', USER), w.limits.userCount('services', OTHER_USER)], [3, 1]);

  w.directory.unsubscribe(x.session, 2n);                  // unsubscribe
  w.directory.unpublish(c.session, 2n);                    // unpublish (takeover)
  w.disconnect(a);                                         // subscription 1, client a; service 1 orphaned
  w.disconnect(x);                                         // subscription 3, client x; service 4 orphaned
  assert.equal([w.limits.count('clients'), w.limits.count('services'), w.limits.count('subscriptions')], [1, 3, 0]);
  w.clock.advance(1);
  assert.is(w.directory.expireOrphans(), 2);               // expiry of 1 and 4
  w.directory.unpublish(c.session, 3n);
  w.disconnect(c);
  assert.equal([w.limits.count('clients'), w.limits.count('services'), w.limits.count('subscriptions')], [0, 0, 0]);
  assert.equal([...w.limits.usage()], []);
  assert.is(w.directory.clients.size, 0);
  assert.is(w.directory.services.size, 0);
  assert.is(w.directory.subscriptions.size, 0);
});

// --------------------------------------------------- idle limit bookkeeping

test('§7.2: the connection\'s lowest TTL follows what is bound to it', () => {
  const { w, a } = scene();
  const c = w.connect(C);
  assert.is(a.session.lowestTtl(), Infinity);
  w.publish(a, 1n, 0n, EMPTY, 10n);
  w.publish(a, 2n, 0n, EMPTY, 6n);
  assert.is(a.session.lowestTtl(), 6);
  w.publish(a, 2n, 1n, EMPTY, 20n); // own row 7 raises the TTL
  assert.is(a.session.lowestTtl(), 10);
  w.directory.unpublish(a.session, 1n);
  assert.is(a.session.lowestTtl(), 20);
  w.publish(c, 2n, 1n, EMPTY, 20n); // row 4 takeover
  assert.is(a.session.lowestTtl(), Infinity);
  assert.is(c.session.lowestTtl(), 20);
});

test('§7.2: a row 7 takeover with a longer TTL leaves the previous connection with no bound TTL', () => {
  const { w, a } = scene();
  const c = w.connect(C);
  w.publish(a, SVC, 0n, EMPTY, 5n);
  assert.is(a.session.lowestTtl(), 5);
  w.publish(c, SVC, 1n, EMPTY, 50n);
  assert.is(a.session.services.size, 0);
  assert.is(c.session.lowestTtl(), 50);
  assert.is(a.session.lowestTtl(), Infinity, 'nothing is bound to a any more');
  const liveness = new Liveness(w.clock, { min: 4, max: 30 });
  assert.is(liveness.maxIdle(a.session), 30);
});

test('§5: an initial burst found through the service index equals a scan, in publish order', () => {
  const rnd = prng(11);
  const w = new World();
  const a = w.connect(A);
  const choices = [FOO, FOO2, BAR, EMPTY, props({ name: ['foo', 'bar'] }), props({ name: '5' }), props({ name: 5n, port: 5n })];
  const filters = ['(name=n1)', '(name=n2)', '(|(name=n3)(name=n4)(name=5))', '(&(name=n5)(!(port=1)))', '(name=foo)', '(name=bar)', '(name=5)', '(|(name=bar)(port=5))', '(&(name=foo)(port=80))', '(name=none)'];
  // Subscribed before the churn too, so the index is built early and then kept current.
  const early = w.connect(12n);
  filters.forEach((f, i) => w.watch(early, 1000n + BigInt(i), f));
  for (let step = 0; step < 600; step++) {
    const id = BigInt(1 + Math.floor(rnd() * 200));
    if (rnd() < 0.2) w.directory.unpublish(a.session, id);
    else if (rnd() < 0.6) w.publish(a, id, BigInt(step), props({ name: `n${Math.floor(rnd() * 40)}` }), 5n);
    else w.publish(a, id, BigInt(step), choices[Math.floor(rnd() * choices.length)]!, 5n);
  }
  const b = w.connect(11n);
  let subId = 1n;
  const burst = (filter: string | undefined) => {
    w.watch(b, subId++, filter);
    return b.take().map((m) => m['service-id'] as bigint);
  };
  const all = burst(undefined);
  assert.ok(all.length > 50, 'a directory of some size');
  const listed = [...w.directory.services.values()];
  for (const filter of filters) {
    const f = parseFilter(filter);
    const expected = listed.filter((s) => matchFilter(f, s.props)).map((s) => s.id);
    assert.equal(burst(filter), expected, filter);
  }
});

// ------------------------------------------------ randomized consistency


test('random operations: watchers\' views match the directory; accounting matches contents', () => {
  const rnd = prng(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const w = new World();
  const watcherAll = w.connect(901n, 'watcher');
  w.watch(watcherAll, 1n);
  const watcherFoo = w.connect(902n, 'watcher');
  w.watch(watcherFoo, 2n, '(|(name=foo)(port>10))');
  const matchesFoo = (p: ReturnType<typeof props>) => p.get('name')?.includes('foo') === true || (p.get('port') ?? []).some((v) => typeof v === 'bigint' && v > 10n);
  const viewAll = new Map<bigint, string>();
  const viewFoo = new Map<bigint, string>();
  const apply = (view: Map<bigint, string>, peer: Peer) => {
    for (const msg of peer.take()) {
      const line = summarize2(msg);
      const id = msg['service-id'] as bigint;
      const type = msg['match-type'];
      if (type === 'appeared') { assert.not.ok(view.has(id), `appeared twice: ${line}`); view.set(id, line); }
      else if (type === 'modified') { assert.ok(view.has(id), `modified unseen: ${line}`); view.set(id, line); }
      else { assert.ok(view.has(id), `disappeared unseen: ${line}`); view.delete(id); }
    }
  };
  const clientIds = [10n, 11n, 12n, 13n];
  const users = new Map<bigint, string>([[10n, 'u1'], [11n, 'u1'], [12n, 'u2'], [13n, 'u2']]);
  const live = new Map<bigint, Peer>();
  const propChoices = [EMPTY, FOO, FOO2, BAR, props({ port: 11n }), props({ port: 10n, name: 'x' })];

  for (let step = 0; step < 3000; step++) {
    const r = rnd();
    const id = pick(clientIds);
    const peer = live.get(id);
    if (!peer) {
      const fresh = w.accept(users.get(id)!);
      if (w.hello(fresh, id) === undefined) live.set(id, fresh);
    } else if (r < 0.55) {
      w.publish(peer, BigInt(1 + Math.floor(rnd() * 8)), BigInt(Math.floor(rnd() * 4)), pick(propChoices), BigInt(Math.floor(rnd() * 4)));
    } else if (r < 0.7) {
      w.directory.unpublish(peer.session, BigInt(1 + Math.floor(rnd() * 8)));
    } else if (r < 0.8) {
      w.disconnect(peer);
      live.delete(id);
    } else {
      w.clock.advance(rnd() * 2);
      w.directory.expireOrphans();
    }
    apply(viewAll, watcherAll);
    apply(viewFoo, watcherFoo);

    // What the watchers believe is exactly the directory (filtered).
    const expectAll = new Map<bigint, string>();
    const expectFoo = new Map<bigint, string>();
    for (const s of w.directory.services.values()) {
      const line = `${s.id} gen=${s.generation} ttl=${s.ttl} client=${s.owner.id}` + (s.orphanSince === undefined ? '' : ` orphan=${Number(encodeWallTime(s.orphanSince))}`);
      expectAll.set(s.id, line);
      if (matchesFoo(s.props)) expectFoo.set(s.id, line);
    }
    assert.equal(viewAll, expectAll, `step ${step}`);
    assert.equal(viewFoo, expectFoo, `step ${step}`);

    // Bookkeeping invariants.
    let orphans = 0;
    for (const s of w.directory.services.values()) {
      if (s.isOrphan) { orphans++; assert.is(s.boundTo, undefined); }
      else { assert.ok(s.boundTo && s.boundTo.services.has(s) && !s.boundTo.closed, `service ${s.id} bound to a live connection`); assert.is(s.boundTo!.clientId, s.owner.id); }
      assert.ok(w.directory.clients.get(s.owner.id) === s.owner, `owner of ${s.id} is a known record`);
      assert.ok(s.owner.services.count > 0, `owner of ${s.id} counts it`);
    }
    assert.is(w.directory.orphanTotal, orphans);
    assert.is(w.directory.orphans.size, orphans);
    for (const rec of w.directory.clients.values()) assert.not.ok(rec.disposable, `record ${rec.id} should be forgotten`);
    for (const [cid, p] of live) {
      assert.is(w.directory.clients.get(cid)!.session, p.session);
      for (const s of p.session.services) assert.is(s.boundTo, p.session);
      let min = Infinity;
      for (const s of p.session.services) min = Math.min(min, Number(s.ttl));
      assert.is(p.session.lowestTtl(), min, `lowest ttl of client ${cid} at step ${step}`);
    }
    assert.is(w.limits.count('services'), w.directory.services.size);
    assert.is(w.limits.count('clients'), live.size + 2);
  }
});

/** Summary without the ta-id, in the same form as the expected lines above. */
function summarize2(msg: JsonObject): string {
  summarize(msg); // checks the field set
  if (msg['match-type'] === 'disappeared') return `disappeared ${msg['service-id']}`;
  const o = msg['orphan-since'];
  return `${msg['service-id']} gen=${msg['generation']} ttl=${msg['ttl']} client=${msg['client-id']}` + (o === undefined ? '' : ` orphan=${Number(o)}`);
}

test.run();
