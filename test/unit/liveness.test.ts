// Connection liveness (docs/semantics.md §7): the 3 s handshake deadline, the
// v3 idle limit with its warning / query / timeout steps, the idle limit
// clamped by the lowest TTL bound to the connection, and duplicate-hello
// probes. A manual clock and an injected random number drive the timers;
// `fire` is called the way the domain's timer would call it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HANDSHAKE_TIMEOUT, Liveness } from '../../src/core/liveness';
import type { ExpiryReason } from '../../src/core/liveness';
import type { Session } from '../../src/core/session';
import type { ProtocolVersion } from '../../src/protocol/schema';
import { trackQuery } from '../../src/protocol/encode';
import { World } from '../helpers/core-fixtures';
import type { Peer } from '../helpers/core-fixtures';

const IDLE = { min: 4, max: 30 };
const TRACK_TA = 9n;
const QUERY = { 'ta-cmd': 'track', 'ta-id': TRACK_TA, 'msg-type': 'notify', 'track-type': 'query' };

class Rig {
  readonly w = new World();
  /** What the injected random function returns next. */
  random = 0.5;
  readonly liveness = new Liveness(this.w.clock, { ...IDLE }, () => this.random);
  readonly expired: [Session, ExpiryReason][] = [];
  private nextId = 1n;

  /** Seconds since the rig was made. */
  get t(): number { return this.w.clock.now() - this.start; }
  private readonly start = this.w.clock.now();

  /** Moves the clock to `t` seconds after the rig was made and lets due timers fire. */
  at(t: number): void {
    this.w.clock.advance(t - this.t);
    this.liveness.fire((s, why) => { this.expired.push([s, why]); });
  }

  /** Accept, hello, handshaked — as the server does. */
  connect(version: ProtocolVersion = 3, tracked = false): Peer {
    const peer = this.w.accept();
    this.liveness.accepted(peer.session);
    const id = this.nextId++;
    if (this.w.hello(peer, id, version)) throw new Error('hello failed');
    this.liveness.handshaked(peer.session);
    if (tracked) peer.session.track = { taId: TRACK_TA, query: trackQuery(TRACK_TA), querySentAt: undefined, latency: undefined };
    return peer;
  }

  /** A message from the peer: activity. */
  hear(peer: Peer): void { this.liveness.activity(peer.session); }

  expiredReasons(): string[] { return this.expired.map(([s, why]) => `${s.serial} ${why}`); }
}

/** The parsed messages a peer got, as plain objects (parseJson's objects have no prototype). */
function received(peer: Peer): object[] {
  return peer.take().map((m) => ({ ...m }));
}

// ------------------------------------------------------- handshake deadline

test('§7.6: a connection without a successful hello is closed 3 s after accept (inside 2.9–3.1 s)', () => {
  const r = new Rig();
  assert.is(HANDSHAKE_TIMEOUT, 3);
  const early = r.w.accept();
  r.liveness.accepted(early.session);
  r.at(1);
  const late = r.w.accept();
  r.liveness.accepted(late.session);
  r.at(2.9);
  assert.equal(r.expired, []);
  r.at(3);
  assert.equal(r.expiredReasons(), [`${early.session.serial} handshake timeout`]);
  r.at(3.9);
  assert.is(r.expired.length, 1);
  r.at(4);
  assert.equal(r.expiredReasons(), [`${early.session.serial} handshake timeout`, `${late.session.serial} handshake timeout`]);
  assert.is(r.liveness.queue.size, 0);
});

test('§7.6: a connection whose hello failed is still closed at the deadline', () => {
  const r = new Rig();
  r.connect(); // holds client id 1
  const dup = r.w.accept();
  r.liveness.accepted(dup.session);
  assert.is(r.w.hello(dup, 1n), 'client-id-exists');
  r.at(3);
  assert.equal(r.expiredReasons(), [`${dup.session.serial} handshake timeout`]);
});

test('§7.6: a v3 hello before the deadline replaces it with the idle timer', () => {
  const r = new Rig();
  r.at(1.5);
  const p = r.connect();
  r.at(3);
  r.at(10);
  assert.equal(r.expired, []);
  assert.is(p.session.liveness, 'active');
  assert.is(p.session.due, r.w.clock.now() - 10 + 1.5 + 15, 'warning at handshake + 0.5·30');
});

// ------------------------------------------------------------------- v2

test('§7.3: v2 connections get no timer: never queried, never disconnected', () => {
  const r = new Rig();
  const p = r.connect(2, true);
  assert.is(r.liveness.queue.size, 0);
  assert.is(r.liveness.queue.nextKey(), Infinity);
  r.hear(p);
  r.liveness.probe(p.session);
  assert.is(r.liveness.queue.size, 0);
  assert.is(p.session.liveness, 'active');
  r.at(10_000);
  assert.equal(r.expired, []);
  assert.equal(p.sent, []);
  assert.is(p.session.lastSeen, r.w.clock.now() - 10_000, 'activity still records last_seen');
});

// -------------------------------------------------------------------- v3

test('§7.3: the warning fires at U(0.45, 0.55)·max_idle after the last activity', () => {
  for (const [random, delay] of [[0, 13.5], [0.5, 15], [0.999, 0.45 * 30 + 0.0999 * 30]] as const) {
    const r = new Rig();
    r.random = random;
    const p = r.connect();
    assert.ok(Math.abs(p.session.due - r.w.clock.now() - delay) < 1e-9, `random ${random}: due in ${p.session.due - r.w.clock.now()}`);
    r.at(delay - 0.01);
    assert.is(p.session.liveness, 'active', `random ${random}: not yet at ${r.t}`);
    r.at(delay + 1e-9);
    assert.is(p.session.liveness, 'tentative', `random ${random}: warning at ${delay}`);
    assert.ok(delay >= 0.45 * 30 && delay < 0.55 * 30);
  }
});

test('§7.3: untracked and silent: disconnected 0.5·max_idle after the warning', () => {
  const r = new Rig();
  const p = r.connect();
  r.at(15);
  assert.is(p.session.liveness, 'tentative');
  assert.equal(p.sent, [], 'no track, no query');
  r.at(29.99);
  assert.equal(r.expired, []);
  r.at(30);
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
  assert.is(p.session.liveness, 'timed-out');
  assert.is(r.liveness.queue.size, 0);
  r.hear(p);
  assert.is(p.session.liveness, 'timed-out', 'activity does not revive a timed-out connection');
});

test('§7.3: tracked and silent: one query at the warning, disconnected 0.5·max_idle later', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(15);
  assert.equal(received(p), [QUERY]);
  assert.is(p.session.track!.querySentAt, r.w.clock.now());
  r.at(29.5);
  assert.equal(r.expired, []);
  assert.equal(p.sent, []);
  r.at(30);
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.3: tracked and answering: queried after each silence, never disconnected; latency recorded', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  let t = 0;
  for (let round = 0; round < 5; round++) {
    t += 15;
    r.at(t);
    assert.equal(received(p), [QUERY], `round ${round}`);
    t += 0.25;
    r.at(t);
    assert.ok(r.liveness.replied(p.session));
    r.hear(p); // the reply is a message, hence activity
    assert.is(p.session.track!.latency, 0.25);
    assert.is(p.session.track!.querySentAt, undefined);
    assert.is(p.session.liveness, 'active');
  }
  r.at(t + 14.9);
  assert.equal(r.expired, []);
  assert.equal(p.sent, []);
});

test('§7.3: activity pushes the warning back', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(10);
  r.hear(p);
  r.at(15); // the first deadline surfaces but is no longer real
  assert.is(p.session.liveness, 'active');
  assert.equal(p.sent, []);
  r.at(24.9);
  assert.is(p.session.liveness, 'active');
  r.at(25);
  assert.is(p.session.liveness, 'tentative');
  assert.equal(received(p), [QUERY]);
});

test('§7.3: frequent other traffic: never queried, never disconnected', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  for (let t = 10; t <= 1000; t += 10) {
    r.at(t);
    r.hear(p);
  }
  assert.equal(p.sent, []);
  assert.equal(r.expired, []);
  assert.is(p.session.liveness, 'active');
});

test('§7.3: activity in TENTATIVE makes the connection ACTIVE and re-arms the warning', () => {
  const r = new Rig();
  const p = r.connect();
  r.at(15);
  assert.is(p.session.liveness, 'tentative');
  r.at(20);
  r.hear(p);
  assert.is(p.session.liveness, 'active');
  r.at(30); // the old timeout deadline
  assert.equal(r.expired, []);
  assert.is(p.session.liveness, 'active');
  r.at(35);
  assert.is(p.session.liveness, 'tentative');
  r.at(50);
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.3 quirk: only one query is outstanding, even across warnings', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(15);
  assert.equal(received(p), [QUERY]);
  const sentAt = p.session.track!.querySentAt;
  r.at(20);
  r.hear(p); // e.g. a ping, not a reply
  r.at(35);
  assert.is(p.session.liveness, 'tentative');
  assert.equal(p.sent, [], 'no second query while the first is unanswered');
  assert.is(p.session.track!.querySentAt, sentAt);
  r.at(50);
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.3: replied() only with an outstanding query; latency is the round trip', () => {
  const r = new Rig();
  const untracked = r.connect();
  assert.not.ok(r.liveness.replied(untracked.session));
  const p = r.connect(3, true);
  assert.not.ok(r.liveness.replied(p.session), 'no query outstanding');
  assert.is(p.session.track!.latency, undefined);
  r.at(15);
  r.at(16.5);
  assert.ok(r.liveness.replied(p.session));
  assert.is(p.session.track!.latency, 1.5);
  assert.not.ok(r.liveness.replied(p.session), 'answered already');
  assert.is(p.session.track!.latency, 1.5);
});

// --------------------------------------------------------------- max_idle

test('§7.2: max_idle is idle.max without bound services and min(max, max(min, lowest TTL)) with', () => {
  const r = new Rig();
  const p = r.connect();
  assert.is(r.liveness.maxIdle(p.session), 30);
  r.w.publish(p, 1n, 0n, undefined, 100n);
  assert.is(r.liveness.maxIdle(p.session), 30, 'capped by idle.max');
  r.w.publish(p, 2n, 0n, undefined, 10n);
  assert.is(r.liveness.maxIdle(p.session), 10);
  r.w.publish(p, 3n, 0n, undefined, 2n);
  assert.is(r.liveness.maxIdle(p.session), 4, 'raised to idle.min');
  r.w.publish(p, 4n, 0n, undefined, 0n);
  assert.is(r.liveness.maxIdle(p.session), 4);
  r.w.directory.unpublish(p.session, 3n);
  r.w.directory.unpublish(p.session, 4n);
  assert.is(r.liveness.maxIdle(p.session), 10, 'unpublish raises it again');
  r.w.publish(p, 2n, 1n, undefined, 20n);
  assert.is(r.liveness.maxIdle(p.session), 20, 'a republish with a longer TTL raises it');
  r.liveness.idle = { min: 4, max: 12 };
  assert.is(r.liveness.maxIdle(p.session), 12);
});

test('§7.2: a low-TTL publish shortens the idle interval from the next activity on', () => {
  const r = new Rig();
  const p = r.connect();
  r.at(1);
  r.w.publish(p, 1n, 0n, undefined, 10n);
  r.hear(p); // the server re-arms after every successful publish
  r.at(5.9);
  assert.is(p.session.liveness, 'active');
  r.at(6); // 1 + 0.5·10
  assert.is(p.session.liveness, 'tentative');
  r.at(10.9);
  assert.equal(r.expired, []);
  r.at(11); // + 0.5·10
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.2: only services bound to the connection count, not those taken over by another', () => {
  const r = new Rig();
  const a = r.connect();
  const c = r.connect();
  r.w.publish(a, 1n, 0n, undefined, 5n);
  assert.is(r.liveness.maxIdle(a.session), 5);
  r.w.publish(c, 1n, 0n, undefined, 5n); // row 4 takeover
  assert.is(r.liveness.maxIdle(a.session), 30);
  assert.is(r.liveness.maxIdle(c.session), 5);
});

test('§7.2: after a row 7 takeover with a longer TTL the previous connection is back at idle.max', () => {
  const r = new Rig();
  const a = r.connect();
  const c = r.connect();
  r.w.publish(a, 1n, 0n, undefined, 5n);
  r.w.publish(c, 1n, 1n, undefined, 25n); // row 7 by another client of the same user
  assert.is(r.liveness.maxIdle(c.session), 25);
  assert.is(r.liveness.maxIdle(a.session), 30, 'nothing is bound to a any more');
});

// -------------------------------------------------------------- probe (§7.5)

test('§7.5: probe on an ACTIVE tracked v3 connection queries at once and allows 0.5·max_idle', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(3);
  r.liveness.probe(p.session);
  assert.is(p.session.liveness, 'tentative');
  assert.equal(received(p), [QUERY]);
  assert.is(p.session.track!.querySentAt, r.w.clock.now());
  r.at(17.9);
  assert.equal(r.expired, []);
  r.at(18); // 3 + 0.5·30, earlier than the pending warning would have allowed
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.5: a probed connection that answers stays', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(1);
  r.liveness.probe(p.session);
  r.at(1.125);
  assert.ok(r.liveness.replied(p.session));
  r.hear(p);
  assert.is(p.session.liveness, 'active');
  assert.is(p.session.track!.latency, 0.125);
  r.at(16);
  assert.equal(r.expired, []);
});

test('§7.5: probe on an untracked v3 connection: no message, same deadline', () => {
  const r = new Rig();
  const p = r.connect();
  r.at(2);
  r.liveness.probe(p.session);
  assert.is(p.session.liveness, 'tentative');
  assert.equal(p.sent, []);
  r.at(17);
  assert.equal(r.expiredReasons(), [`${p.session.serial} idle timeout`]);
});

test('§7.5: probe on a TENTATIVE connection changes nothing', () => {
  const r = new Rig();
  const p = r.connect(3, true);
  r.at(15);
  received(p);
  const due = p.session.due;
  r.at(20);
  r.liveness.probe(p.session);
  assert.equal(p.sent, []);
  assert.is(p.session.due, due);
  r.at(30);
  assert.is(r.expired.length, 1);
});

test('forget cancels every timer of a connection', () => {
  const r = new Rig();
  const pending = r.w.accept();
  r.liveness.accepted(pending.session);
  const p = r.connect(3, true);
  r.liveness.forget(pending.session);
  r.liveness.forget(p.session);
  assert.is(r.liveness.queue.size, 0);
  r.at(1000);
  assert.equal(r.expired, []);
  assert.equal(p.sent, []);
});

test.run();
