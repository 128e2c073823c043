// MatchMerger (docs/client-library.md §6): merging one subscription's matches
// from several servers. Pure: times are passed in explicitly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Props } from '../../src/protocol/props';
import { makeProps } from '../../src/protocol/props';
import type { MatchType } from '../../src/client/merge';
import { MatchMerger, STALE_RECORD_TIMEOUT } from '../../src/client/merge';

const A = 1, B = 2, C = 3;
const ID = 77n;
const T0 = 1_700_000_000;

function props(name: string): Props {
  return makeProps([['name', [name]]]);
}

interface Seen { type: MatchType; id: bigint; generation: bigint; name: string | undefined; ttl: number; orphanSince: number | undefined }

function harness(orphanEvents = false): { m: MatchMerger; seen: Seen[] } {
  const seen: Seen[] = [];
  const m = new MatchMerger((type, v) => {
    seen.push({ type, id: v.serviceId, generation: v.generation, name: v.props.get('name')?.[0] as string | undefined, ttl: v.ttl, orphanSince: v.orphanSince });
  }, { orphanEvents });
  return { m, seen };
}

function types(seen: Seen[]): string[] {
  return seen.map((s) => s.type);
}

test('one source: appeared, modified on changed props, disappeared', () => {
  const { m, seen } = harness();
  assert.ok(m.appeared(A, ID, 0n, props('x'), 10, undefined, T0));
  assert.ok(m.modified(A, ID, 1n, props('y'), 10, undefined, T0));
  assert.ok(m.modified(A, ID, 2n, props('y'), 20, undefined, T0));   // TTL change alone: silent
  assert.ok(m.disappeared(A, ID, T0));
  assert.equal(types(seen), ['appeared', 'modified', 'disappeared']);
  assert.is(seen[0]!.name, 'x');
  assert.is(seen[1]!.name, 'y');
  assert.is(seen[1]!.generation, 1n);
  assert.is(seen[2]!.generation, 2n);
  assert.is(seen[2]!.ttl, 20);
  assert.equal(m.matches(), []);
});

test('two servers with the same service: one appeared, one disappeared after both are gone', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 3n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 3n, props('x'), 10, undefined, T0);
  assert.equal(types(seen), ['appeared']);
  m.disappeared(A, ID, T0);
  assert.equal(types(seen), ['appeared'], 'still present at the same generation on B');
  assert.is(m.matches().length, 1);
  m.disappeared(B, ID, T0);
  assert.equal(types(seen), ['appeared', 'disappeared']);
});

test('a lagging server reporting an older generation is ignored', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 5n, props('new'), 10, undefined, T0);
  assert.ok(m.appeared(B, ID, 4n, props('old'), 10, undefined, T0));
  assert.ok(m.modified(B, ID, 4n, props('older'), 10, undefined, T0));
  assert.equal(types(seen), ['appeared']);
  assert.is(m.get(ID)!.props.get('name')![0], 'new');
  // B catches up: same generation, same props → nothing new.
  assert.ok(m.modified(B, ID, 5n, props('new'), 10, undefined, T0));
  assert.equal(types(seen), ['appeared']);
});

test('a newer generation from another server is a modification (only if the props changed)', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 2n, props('x'), 10, undefined, T0);
  assert.equal(types(seen), ['appeared']);
  assert.is(m.get(ID)!.generation, 2n);
  m.appeared(C, ID, 3n, props('z'), 10, undefined, T0);
  assert.equal(types(seen), ['appeared', 'modified']);
  assert.is(seen[1]!.name, 'z');
  // A (still at gen 1) disappearing changes nothing: C has gen 3 connected.
  m.disappeared(A, ID, T0);
  assert.equal(types(seen), ['appeared', 'modified']);
  // B and C leave: gen 3 has no connected source any more.
  m.disappeared(C, ID, T0);
  assert.equal(types(seen), ['appeared', 'modified', 'disappeared']);
});

test('the higher generation disappearing retracts the service even if a lagging server still has an older one', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 2n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);
  assert.equal(types(seen), ['appeared', 'disappeared']);
  // B reporting its old generation again does not resurrect it.
  m.modified(B, ID, 1n, props('x'), 10, undefined, T0);
  assert.equal(types(seen), ['appeared', 'disappeared']);
});

test('violations: duplicate appeared, unknown or disconnected source, lower generation', () => {
  const { m, seen } = harness();
  assert.not.ok(m.modified(A, ID, 0n, props('x'), 10, undefined, T0), 'modified without appeared');
  assert.not.ok(m.disappeared(A, ID, T0), 'disappeared without appeared');
  assert.ok(m.appeared(A, ID, 3n, props('x'), 10, undefined, T0));
  assert.not.ok(m.appeared(A, ID, 3n, props('x'), 10, undefined, T0), 'appeared twice');
  assert.not.ok(m.modified(A, ID, 2n, props('x'), 10, undefined, T0), 'generation going back');
  assert.not.ok(m.modified(B, ID, 3n, props('x'), 10, undefined, T0), 'modified from a source that never reported it');
  assert.ok(m.appeared(B, ID, 3n, props('x'), 10, undefined, T0));
  assert.ok(m.disappeared(B, ID, T0));
  assert.not.ok(m.disappeared(B, ID, T0), 'disappeared twice');
  assert.not.ok(m.modified(B, ID, 4n, props('y'), 10, undefined, T0), 'modified after disappeared');
  assert.not.ok(m.appeared(B, ID, 2n, props('y'), 10, undefined, T0), 'reappearing at a lower generation');
  assert.equal(types(seen), ['appeared'], 'violations change nothing visible');
});

test('a violating report leaves the state untouched', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 3n, props('x'), 10, undefined, T0);
  assert.not.ok(m.modified(A, ID, 2n, props('y'), 10, undefined, T0));
  assert.is(m.get(ID)!.props.get('name')![0], 'x');
  assert.ok(m.modified(A, ID, 3n, props('x'), 10, undefined, T0), 'the entry still has generation 3');
  assert.equal(types(seen), ['appeared']);
});

test('losing every server: local orphan expiry at the latest orphan time plus the TTL', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.sourceLost(A, T0 + 1);
  assert.is(m.nextDeadline(), Infinity, 'B still has it');
  m.sourceLost(B, T0 + 3);
  assert.equal(types(seen), ['appeared'], 'link loss alone is not a disappearance');
  const deadline = m.nextDeadline();
  assert.is(deadline, T0 + 3 + 10);
  m.advance(T0 + 12.9);
  assert.equal(types(seen), ['appeared']);
  m.advance(T0 + 13);
  assert.equal(types(seen), ['appeared', 'disappeared']);
  assert.equal(m.matches(), []);
});

test('a server reconnecting with the service cancels the local expiry without events', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.sourceLost(A, T0 + 1);
  assert.is(m.nextDeadline(), T0 + 11);
  assert.ok(m.appeared(A, ID, 1n, props('x'), 10, undefined, T0 + 2));
  assert.is(m.nextDeadline(), Infinity);
  m.advance(T0 + 20);
  assert.equal(types(seen), ['appeared']);
});

test('an orphan time reported by the server is kept over the later time of the link loss', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.modified(A, ID, 1n, props('x'), 10, T0 + 1, T0 + 1);
  m.sourceLost(A, T0 + 5);
  assert.is(m.nextDeadline(), T0 + 11);
  // The earliest known orphan time survives a later report of a later one.
  m.appeared(A, ID, 1n, props('x'), 10, T0 + 4, T0 + 6);
  assert.is(m.get(ID)!.orphanSince, T0 + 1);
  assert.is(m.nextDeadline(), Infinity, 'A is connected again: it will report the expiry itself');
  assert.equal(types(seen), ['appeared']);
});

test('orphan-state changes are silent by default', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.modified(A, ID, 1n, props('x'), 10, T0 + 1, T0 + 1);
  m.modified(A, ID, 1n, props('x'), 10, undefined, T0 + 2);
  assert.equal(types(seen), ['appeared']);
  assert.is(m.get(ID)!.orphanSince, undefined);
});

test('orphanEvents: the merged orphan state is reported as modified', () => {
  const { m, seen } = harness(true);
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.modified(A, ID, 1n, props('x'), 10, T0 + 1, T0 + 1);
  assert.equal(types(seen), ['appeared'], 'B still reports it owned');
  m.modified(B, ID, 1n, props('x'), 10, T0 + 2, T0 + 2);
  assert.equal(types(seen), ['appeared', 'modified']);
  assert.is(seen[1]!.orphanSince, T0 + 2, 'the latest orphan time: the service lives until the last server expires it');
  m.modified(A, ID, 1n, props('x'), 10, undefined, T0 + 3);
  assert.equal(types(seen), ['appeared', 'modified', 'modified']);
  assert.is(seen[2]!.orphanSince, undefined);
});

test('orphanEvents: losing the only server makes the service an orphan since the loss', () => {
  const { m, seen } = harness(true);
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.sourceLost(A, T0 + 4);
  assert.equal(types(seen), ['appeared', 'modified']);
  assert.is(seen[1]!.orphanSince, T0 + 4);
});

test('an orphan expired by the server reappearing at the same generation is announced again', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, T0, T0);
  m.disappeared(A, ID, T0 + 10);                                 // the server expired the orphan: orphaned-out
  assert.equal(types(seen), ['appeared', 'disappeared']);
  assert.ok(m.appeared(A, ID, 1n, props('x'), 10, undefined, T0 + 11));   // the owner came back
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared']);
});

test('an unpublished service reappearing at the same generation stays gone', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);
  m.disappeared(B, ID, T0);                                    // unpublished
  assert.equal(types(seen), ['appeared', 'disappeared']);
  assert.ok(m.appeared(A, ID, 1n, props('x'), 10, undefined, T0 + 1));   // a replay of the old generation
  assert.equal(types(seen), ['appeared', 'disappeared']);
  assert.ok(m.appeared(B, ID, 2n, props('y'), 10, undefined, T0 + 2));  // a real republish
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared']);
  assert.is(seen[2]!.name, 'y');
});

test('a stale record with a newer generation reported by modified is announced as appeared', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);
  m.sourceLost(B, T0);
  m.advance(T0 + 10);                                          // local expiry
  assert.equal(types(seen), ['appeared', 'disappeared']);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0 + 11);   // B back, orphaned-out at gen 1 → re-announced
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared']);
  m.modified(B, ID, 2n, props('y'), 10, undefined, T0 + 12);
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared', 'modified']);
});

test('a source that reported the service gone does not keep it from expiring locally', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 5, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 5, undefined, T0);
  m.disappeared(A, ID, T0 + 1);            // unpublished on A; B still has it
  m.sourceLost(B, T0 + 2);
  assert.is(m.nextDeadline(), T0 + 7);
  m.advance(T0 + 7);
  assert.equal(types(seen), ['appeared', 'disappeared']);
});

test('stale records are forgotten after 30 s; a later report is a new service', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 5n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);
  assert.is(m.size, 1, 'kept as a stale record');
  assert.is(m.nextDeadline(), T0 + STALE_RECORD_TIMEOUT);
  // Within the 30 s a lower generation is ignored...
  m.appeared(B, ID, 4n, props('old'), 10, undefined, T0 + 1);
  m.disappeared(B, ID, T0 + 2);
  assert.equal(types(seen), ['appeared', 'disappeared']);
  m.advance(T0 + STALE_RECORD_TIMEOUT);
  assert.is(m.size, 0);
  assert.is(m.nextDeadline(), Infinity);
  // ...afterwards any generation is new.
  m.appeared(B, ID, 4n, props('old'), 10, undefined, T0 + 40);
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared']);
  assert.is(seen[2]!.generation, 4n);
});

test('a stale record whose lagging source is still connected is reset, not dropped', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 2n, props('x'), 10, undefined, T0);
  m.appeared(B, ID, 1n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);
  m.advance(T0 + STALE_RECORD_TIMEOUT);
  assert.is(m.size, 1);
  // B's later reports are valid (not violations) and announce afresh.
  assert.ok(m.modified(B, ID, 3n, props('b'), 10, undefined, T0 + 31));
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared']);
  assert.ok(m.disappeared(B, ID, T0 + 32));
  assert.equal(types(seen), ['appeared', 'disappeared', 'appeared', 'disappeared']);
});

test('records of several services expire independently in deadline order', () => {
  const { m, seen } = harness();
  m.appeared(A, 1n, 0n, props('a'), 30, undefined, T0);
  m.appeared(A, 2n, 0n, props('b'), 10, undefined, T0);
  m.appeared(A, 3n, 0n, props('c'), 20, undefined, T0);
  m.sourceLost(A, T0);
  assert.is(m.nextDeadline(), T0 + 10);
  m.advance(T0 + 25);
  assert.equal(seen.slice(3).map((s) => [s.type, s.id]), [['disappeared', 2n], ['disappeared', 3n]]);
  assert.equal(m.matches().map((v) => v.serviceId), [1n]);
  m.advance(T0 + 30);
  assert.equal(m.matches(), []);
});

test('a disappeared source entry lost with its link does not fake an orphan-out of an unpublished service', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0);
  m.disappeared(A, ID, T0);                // unpublished
  m.sourceLost(A, T0 + 1);                 // entry already disconnected: untouched
  m.appeared(A, ID, 1n, props('x'), 10, undefined, T0 + 2);
  assert.equal(types(seen), ['appeared', 'disappeared'], 'same generation of an unpublished service stays gone');
});

test('initial report of a service that is already an orphan carries orphanSince', () => {
  const { m, seen } = harness();
  m.appeared(A, ID, 1n, props('x'), 10, T0 - 5, T0);
  assert.is(seen[0]!.orphanSince, T0 - 5);
  // Server orphan records are not expired locally while the server is connected.
  assert.is(m.nextDeadline(), Infinity);
});

test.run();
