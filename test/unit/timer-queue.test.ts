// TimerQueue: a min-heap of deadlines where moving a deadline later is
// lazy (the item keeps its heap key until it surfaces) and moving it
// earlier re-sorts at once. Checked case by case and against a plain
// sorted-array model.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimerQueue } from '../../src/core/timer-queue';
import type { Timed } from '../../src/core/timer-queue';
import { prng } from '../helpers/prng';

class Item implements Timed {
  due = Infinity;
  heapKey = Infinity;
  heapIndex = -1;
  constructor(readonly name: string) {}
}

function items(...names: string[]): Item[] {
  return names.map((n) => new Item(n));
}

/** Names of everything popDue(now) hands out, in order. */
function drain(q: TimerQueue<Item>, now: number): string[] {
  const out: string[] = [];
  for (let it = q.popDue(now); it; it = q.popDue(now)) out.push(it.name);
  return out;
}

test('empty queue', () => {
  const q = new TimerQueue<Item>();
  assert.is(q.size, 0);
  assert.is(q.nextKey(), Infinity);
  assert.is(q.popDue(1e9), undefined);
});

test('items come out in deadline order, only when due', () => {
  const q = new TimerQueue<Item>();
  const [a, b, c, d, e] = items('a', 'b', 'c', 'd', 'e');
  q.schedule(c!, 3);
  q.schedule(a!, 1);
  q.schedule(e!, 5);
  q.schedule(b!, 2);
  q.schedule(d!, 4);
  assert.is(q.size, 5);
  assert.is(q.nextKey(), 1);
  assert.equal(drain(q, 0.5), []);
  assert.equal(drain(q, 2.5), ['a', 'b']);
  assert.is(q.size, 3);
  assert.is(q.nextKey(), 3);
  assert.equal(drain(q, 3), ['c'], 'a deadline equal to now is due');
  assert.equal(drain(q, 100), ['d', 'e']);
  assert.is(q.size, 0);
});

test('a popped item is out of the queue and can be scheduled again', () => {
  const q = new TimerQueue<Item>();
  const [a] = items('a');
  q.schedule(a!, 1);
  assert.is(q.popDue(1), a);
  assert.is(a!.heapIndex, -1);
  assert.is(q.size, 0);
  q.schedule(a!, 7);
  assert.is(a!.due, 7);
  assert.is(q.nextKey(), 7);
  assert.equal(drain(q, 7), ['a']);
});

test('equal deadlines all come out', () => {
  const q = new TimerQueue<Item>();
  const list = items('a', 'b', 'c', 'd');
  for (const it of list) q.schedule(it, 2);
  assert.equal(drain(q, 2).sort(), ['a', 'b', 'c', 'd']);
});

test('each item sits in the queue at most once', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.schedule(a!, 5);
  q.schedule(a!, 3);
  q.schedule(a!, 8);
  q.schedule(b!, 4);
  assert.is(q.size, 2);
  assert.equal(drain(q, 7), ['b']);
  assert.equal(drain(q, 8), ['a']);
  assert.is(q.size, 0);
});

test('moving a deadline later is lazy: the old key stays until it surfaces', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.schedule(a!, 1);
  q.schedule(b!, 2);
  q.schedule(a!, 3);
  assert.is(a!.due, 3);
  assert.is(a!.heapKey, 1, 'not re-sorted yet');
  assert.is(q.nextKey(), 1, 'one spurious wake-up is allowed');
  assert.is(q.popDue(1), undefined, 'not due: its real deadline is 3');
  assert.is(a!.heapKey, 3, 're-filed when it surfaced');
  assert.is(q.nextKey(), 2);
  assert.is(q.popDue(2), b);
  assert.is(q.popDue(2.9), undefined);
  assert.is(q.popDue(3), a);
});

test('moving a deadline later several times, then popping past the last one', () => {
  const q = new TimerQueue<Item>();
  const [a, b, c] = items('a', 'b', 'c');
  q.schedule(a!, 1);
  q.schedule(b!, 4);
  q.schedule(c!, 6);
  q.schedule(a!, 2);
  q.schedule(a!, 5);
  q.schedule(a!, 7);
  assert.equal(drain(q, 4.5), ['b']);
  assert.equal(drain(q, 6.5), ['c']);
  assert.equal(drain(q, 7), ['a']);
});

test('moving a deadline earlier re-sorts at once', () => {
  const q = new TimerQueue<Item>();
  const [a, b, c] = items('a', 'b', 'c');
  q.schedule(a!, 5);
  q.schedule(b!, 3);
  q.schedule(c!, 4);
  q.schedule(a!, 1);
  assert.is(a!.heapKey, 1);
  assert.is(q.nextKey(), 1);
  assert.equal(drain(q, 1), ['a']);
  assert.equal(drain(q, 10), ['b', 'c']);
});

test('later then earlier again, still before the original key', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.schedule(a!, 4);
  q.schedule(b!, 3);
  q.schedule(a!, 9);   // lazy, key stays 4
  q.schedule(a!, 3.5); // earlier than its real deadline, later than its key: still lazy
  assert.is(a!.due, 3.5);
  assert.equal(drain(q, 3.25), ['b']);
  assert.equal(drain(q, 3.5), ['a'], 'the moved deadline counts, not the first one');
});

test('later then earlier below the old key', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.schedule(a!, 4);
  q.schedule(b!, 3);
  q.schedule(a!, 9);
  q.schedule(a!, 2);
  assert.is(q.nextKey(), 2);
  assert.equal(drain(q, 2), ['a']);
  assert.equal(drain(q, 3), ['b']);
});

test('cancel removes an item wherever it sits', () => {
  const q = new TimerQueue<Item>();
  const list = items('a', 'b', 'c', 'd', 'e', 'f', 'g');
  list.forEach((it, i) => q.schedule(it, i + 1));
  q.cancel(list[3]!); // d, in the middle
  q.cancel(list[0]!); // a, at the top
  q.cancel(list[6]!); // g, last
  assert.is(q.size, 4);
  assert.is(list[3]!.heapIndex, -1);
  assert.is(list[3]!.due, Infinity);
  assert.is(q.nextKey(), 2);
  assert.equal(drain(q, 100), ['b', 'c', 'e', 'f']);
});

test('cancel of an unqueued or already cancelled item is harmless', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.cancel(a!);
  q.schedule(b!, 1);
  q.cancel(b!);
  q.cancel(b!);
  assert.is(q.size, 0);
  q.schedule(b!, 2);
  assert.equal(drain(q, 2), ['b']);
});

test('cancel of a lazily moved item', () => {
  const q = new TimerQueue<Item>();
  const [a, b] = items('a', 'b');
  q.schedule(a!, 1);
  q.schedule(b!, 2);
  q.schedule(a!, 10);
  q.cancel(a!);
  assert.equal(drain(q, 100), ['b']);
});

test('the item handed out is no longer queued (heapIndex -1)', () => {
  const q = new TimerQueue<Item>();
  const list = items('a', 'b', 'c');
  list.forEach((it, i) => q.schedule(it, i));
  const first = q.popDue(10)!;
  assert.is(first.heapIndex, -1);
  for (const it of list) if (it !== first) assert.ok(it.heapIndex >= 0 && it.heapIndex < q.size);
});


test('random schedules, cancels and pops agree with a sorted-array model', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rnd = prng(seed);
    const q = new TimerQueue<Item>();
    const pool = Array.from({ length: 40 }, (_, i) => new Item(`i${i}`));
    /** The model: queued items sorted by real deadline. */
    let model: Item[] = [];
    const modelDue = new Map<Item, number>();
    const resort = () => { model = [...modelDue.keys()].sort((x, y) => modelDue.get(x)! - modelDue.get(y)!); };
    let now = 0;

    for (let step = 0; step < 5000; step++) {
      const r = rnd();
      const it = pool[Math.floor(rnd() * pool.length)]!;
      if (r < 0.5) {
        // Integer deadlines around now make ties and both move directions common.
        const due = now + Math.floor(rnd() * 20) - 3;
        q.schedule(it, due);
        modelDue.set(it, due);
        resort();
      } else if (r < 0.6) {
        q.cancel(it);
        modelDue.delete(it);
        resort();
      } else {
        now += Math.floor(rnd() * 4);
        const popped: Item[] = [];
        for (let x = q.popDue(now); x; x = q.popDue(now)) popped.push(x);
        const expected = model.filter((m) => modelDue.get(m)! <= now);
        // Exactly the items that are due: none early, none left behind.
        // (Within one batch a lazily moved item may come out ahead of one
        // with an earlier real deadline; the queue only promises "due".)
        assert.equal(popped.map((p) => p.name).sort(), expected.map((m) => m.name).sort(), `seed ${seed} step ${step}`);
        for (const p of popped) modelDue.delete(p);
        resort();
      }
      assert.is(q.size, model.length, `seed ${seed} step ${step}: size`);
      const earliest = model.length ? modelDue.get(model[0]!)! : Infinity;
      assert.ok(q.nextKey() <= earliest, `seed ${seed} step ${step}: nextKey ${q.nextKey()} after earliest ${earliest}`);
      for (const m of model) {
        assert.is(m.due, modelDue.get(m), 'due is the real deadline');
        assert.ok(m.heapIndex >= 0 && m.heapIndex < q.size);
        assert.ok(m.heapKey <= m.due, 'the heap key never exceeds the deadline');
      }
    }
  }
});

test.run();
