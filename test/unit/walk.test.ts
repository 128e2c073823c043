// Walk: a listing or burst that stops when its time slice is over and
// goes on later, and the directory's initial burst in slices: changes to
// services the burst has yet to visit never reach the subscriber before
// their `appeared`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ITEMS_PER_CHECK, TimeSlice, WHOLE, Walk } from '../../src/core/walk';
import type { Slice } from '../../src/core/walk';
import { ManualClock } from '../helpers/core-fixtures';
import { World, props } from '../helpers/core-fixtures';
import { parseFilter } from '../../src/core/filter';
import { parseJson } from '../../src/protocol/json';
import type { JsonObject } from '../../src/protocol/json';

/** A slice that is over at its first look at the clock. */
const TINY: Slice = { over: () => true };

function walkOver(map: Map<number, string>) {
  const seen: string[] = [];
  let done = 0;
  const walk = new Walk<[number, string]>(map.entries(), ([, v]) => seen.push(v), ([k, v]) => map.get(k) === v, () => done++);
  return { walk, seen, done: () => done };
}

test('a small sequence is walked in one step, done once', () => {
  const map = new Map([[1, 'a'], [2, 'b'], [3, 'c']]);
  const { walk, seen, done } = walkOver(map);
  assert.ok(walk.step(TINY), 'fewer items than one check: finished at once');
  assert.equal(seen, ['a', 'b', 'c']);
  assert.is(done(), 1);
  assert.ok(walk.step(TINY));
  assert.is(done(), 1);
});

test('a slice that runs out: the rest is copied, removals are skipped, additions are not walked', () => {
  const map = new Map<number, string>();
  for (let i = 0; i < 100; i++) map.set(i, `v${i}`);
  const { walk, seen, done } = walkOver(map);
  assert.not.ok(walk.step(TINY));
  assert.is(seen.length, ITEMS_PER_CHECK);
  map.delete(50);
  map.set(1000, 'new');
  map.set(60, 'changed');
  let steps = 1;
  while (!walk.step(TINY)) steps++;
  assert.is(done(), 1);
  assert.ok(steps >= 100 / ITEMS_PER_CHECK - 1, `${steps} steps`);
  assert.not.ok(seen.includes('v50'), 'removed before its turn');
  assert.not.ok(seen.includes('new'), 'added after the request');
  assert.not.ok(seen.includes('v60') || seen.includes('changed'), 'replaced by another value: not the item copied');
  assert.is(seen.length, 98);
});

test('waiting: only copied items not visited yet', () => {
  const items = Array.from({ length: 64 }, (_, i) => ({ seq: i * 2 }));
  const walk = new Walk(items.values(), () => {}, () => true);
  const seq = (x: { seq: number }) => x.seq;
  assert.not.ok(walk.waiting(items[40]!, seq), 'nothing copied yet');
  walk.step(TINY);
  assert.not.ok(walk.waiting(items[3]!, seq), 'visited');
  assert.ok(walk.waiting(items[ITEMS_PER_CHECK]!, seq));
  assert.ok(walk.waiting(items[63]!, seq));
  assert.not.ok(walk.waiting({ seq: 40 }, seq), 'same key, another item');
  assert.not.ok(walk.waiting({ seq: 41 }, seq));
  while (!walk.step(WHOLE));
  assert.not.ok(walk.waiting(items[63]!, seq));
});

test('TimeSlice: over once its seconds of the clock have passed', () => {
  const clock = new ManualClock();
  const slice = new TimeSlice(clock, 0.005).begin();
  assert.not.ok(slice.over());
  clock.advance(0.004);
  assert.not.ok(slice.over());
  clock.advance(0.001);
  assert.ok(slice.over());
  slice.begin();
  assert.not.ok(slice.over());
});

/** Every subscribe notification of a peer as [match-type, service-id]. */
function notes(sent: string[]): [string, bigint][] {
  const out = sent.map((m) => parseJson(m) as JsonObject).filter((m) => m['msg-type'] === 'notify')
    .map((m) => [m['match-type'] as string, m['service-id'] as bigint] as [string, bigint]);
  sent.length = 0;
  return out;
}

test('a burst in slices: changes to services it has yet to visit wait for it; nothing comes before appeared', () => {
  const w = new World();
  const owner = w.connect(1n);
  const N = 100;
  for (let i = 0; i < N; i++) w.publish(owner, BigInt(i), 0n, props({ name: 'svc', i: BigInt(i) }), 30n);
  const watcher = w.connect(2n);
  const sub = w.directory.subscribe(watcher.session, 77n, 5n, null, undefined);
  if (typeof sub === 'string') throw new Error(sub);
  const burst = w.directory.burst(sub);
  assert.not.ok(burst.step(TINY));
  const first = notes(watcher.sent);
  assert.is(first.length, ITEMS_PER_CHECK);
  // Visited: a change is notified at once. Not visited yet: nothing now.
  w.publish(owner, 3n, 1n, props({ name: 'svc', i: 3n, x: 'y' }), 30n);
  w.publish(owner, 70n, 1n, props({ name: 'svc', i: 70n, x: 'y' }), 30n);
  w.directory.unpublish(owner.session, 80n);
  w.publish(owner, 500n, 0n, props({ name: 'late' }), 30n);
  assert.equal(notes(watcher.sent), [['modified', 3n], ['appeared', 500n]]);
  while (!burst.step(TINY));
  const rest = notes(watcher.sent);
  assert.ok(rest.every(([type]) => type === 'appeared'));
  const ids = rest.map(([, id]) => id);
  assert.ok(ids.includes(70n), 'the changed service appears in its new state');
  assert.not.ok(ids.includes(80n), 'removed before its turn: never reported');
  assert.is(first.length + rest.length, N - 1);
  assert.is(sub.burst, undefined);
  // After the burst, changes are notified as usual.
  w.directory.unpublish(owner.session, 90n);
  assert.equal(notes(watcher.sent), [['disappeared', 90n]]);
});

test('the subscriber disconnects mid-burst: nothing more is sent', () => {
  const w = new World();
  const owner = w.connect(1n);
  for (let i = 0; i < 100; i++) w.publish(owner, BigInt(i), 0n, props({ name: 'svc' }), 30n);
  const watcher = w.connect(2n);
  const sub = w.directory.subscribe(watcher.session, 77n, 5n, null, undefined);
  if (typeof sub === 'string') throw new Error(sub);
  const burst = w.directory.burst(sub);
  burst.step(TINY);
  notes(watcher.sent);
  w.disconnect(watcher);
  while (!burst.step(TINY));
  assert.equal(notes(watcher.sent), []);
});

test('a guarded burst (service index) in slices keeps the same rule', () => {
  const w = new World();
  const owner = w.connect(1n);
  for (let i = 0; i < 400; i++) w.publish(owner, BigInt(i), 0n, props({ name: i % 8 === 0 ? 'hit' : `miss${i}` }), 30n);
  const watcher = w.connect(2n);
  const sub = w.directory.subscribe(watcher.session, 77n, 5n, parseFilter('(name=hit)'), '(name=hit)');
  if (typeof sub === 'string') throw new Error(sub);
  const burst = w.directory.burst(sub);
  assert.not.ok(burst.step(TINY));
  assert.is(notes(watcher.sent).length, ITEMS_PER_CHECK);
  w.directory.unpublish(owner.session, 392n);
  w.publish(owner, 1n, 1n, props({ name: 'hit' }), 30n);
  assert.equal(notes(watcher.sent), [['appeared', 1n]], 'not a candidate of the burst: notified at once');
  while (!burst.step(TINY));
  const rest = notes(watcher.sent);
  assert.is(rest.length, 50 - ITEMS_PER_CHECK - 1);
  assert.ok(rest.every(([type, id]) => type === 'appeared' && id !== 392n));
});

test.run();
