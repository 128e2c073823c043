// TimerWheel (src/core/timer-wheel.ts): the liveness deadlines. An item
// comes out of popDue(now) exactly when its deadline is <= now, never
// before, whatever moved it, and nextKey() never promises a time later
// than the earliest deadline. Checked case by case and against a model
// under random schedules, cancels and clock steps, near and far.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimerWheel, WHEEL_SLOT_SECONDS } from '../../src/core/timer-wheel';
import type { Wheeled } from '../../src/core/timer-wheel';
import { prng } from '../helpers/prng';

class Item implements Wheeled {
  due = Infinity;
  wheelSlot = -1;
  wheelPrev: Wheeled | undefined = undefined;
  wheelNext: Wheeled | undefined = undefined;
  constructor(readonly name: string) {}
}

function setup(start = 1000) {
  const clock = { t: start, now() { return this.t; } };
  return { clock, wheel: new TimerWheel<Item>(clock) };
}

function drain(wheel: TimerWheel<Item>, now: number): string[] {
  const out: string[] = [];
  for (let it = wheel.popDue(now); it; it = wheel.popDue(now)) out.push(it.name);
  return out.sort();
}

test('empty wheel', () => {
  const { wheel } = setup();
  assert.is(wheel.size, 0);
  assert.is(wheel.nextKey(), Infinity);
  assert.is(wheel.popDue(1e9), undefined);
});

test('items come out when due, not before; later moves are lazy, earlier ones immediate', () => {
  const { wheel } = setup();
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new Item(n)) as [Item, Item, Item];
  wheel.schedule(a, 1001);
  wheel.schedule(b, 1002);
  wheel.schedule(c, 1030);
  assert.is(wheel.size, 3);
  assert.ok(wheel.nextKey() <= 1001);
  assert.equal(drain(wheel, 1000.5), []);
  assert.equal(drain(wheel, 1001), ['a']);
  wheel.schedule(b, 1010); // later: lazy
  assert.equal(drain(wheel, 1005), []);
  wheel.schedule(c, 1003); // earlier: re-filed now
  assert.equal(drain(wheel, 1004), ['c']);
  assert.equal(drain(wheel, 1010), ['b']);
  assert.is(wheel.size, 0);
});

test('a deadline beyond the wheel span (81.92 s) waits and still comes out on time', () => {
  const { clock, wheel } = setup(5000);
  const far = new Item('far');
  wheel.schedule(far, 5000 + 3_000_000);
  for (let t = 5000; t < 5000 + 3_000_000; t += 997) {
    clock.t = t;
    assert.equal(drain(wheel, t), [], `early at ${t}`);
    assert.ok(wheel.nextKey() <= far.due);
  }
  assert.equal(drain(wheel, 5000 + 3_000_000), ['far']);
});

test('after a long idle stretch, a new deadline is neither early nor late', () => {
  const { clock, wheel } = setup(100);
  const a = new Item('a');
  wheel.schedule(a, 101);
  assert.equal(drain(wheel, 101), ['a']);
  clock.t = 100_000; // a day later, nothing ran
  wheel.schedule(a, 100_003);
  assert.equal(drain(wheel, 100_002.99), []);
  assert.ok(wheel.nextKey() <= 100_003 && wheel.nextKey() > 100_002.9);
  assert.equal(drain(wheel, 100_003), ['a']);
});

test('nextKey after a partial slot is not in the past of the last popDue (no busy wake-ups)', () => {
  const { wheel } = setup(10);
  const a = new Item('a');
  wheel.schedule(a, 10.015); // same 20 ms slot as 10.001
  assert.equal(drain(wheel, 10.001), []);
  assert.ok(wheel.nextKey() >= 10.001);
  assert.ok(wheel.nextKey() <= 10.015);
});

test('random schedules, cancels and clock steps agree with a model', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    const { clock, wheel } = setup(1000 + rnd() * 1000);
    const items = Array.from({ length: 60 }, (_, i) => new Item(`i${i}`));
    const model = new Map<Item, number>();
    for (let step = 0; step < 3000; step++) {
      const r = rnd();
      const item = items[Math.floor(rnd() * items.length)]!;
      if (r < 0.45) {
        // Near (within a few slots), typical (seconds) or far (beyond the span).
        const kind = rnd();
        const delta = kind < 0.3 ? rnd() * 5 * WHEEL_SLOT_SECONDS : kind < 0.9 ? rnd() * 40 : 80 + rnd() * 400;
        const due = clock.t + delta - (rnd() < 0.05 ? 2 : 0); // now and then already overdue
        wheel.schedule(item, due);
        model.set(item, due);
      } else if (r < 0.55) {
        wheel.cancel(item);
        model.delete(item);
      } else {
        clock.t += rnd() < 0.9 ? rnd() * 0.1 : rnd() * 200;
        const got = drain(wheel, clock.t);
        const want = [...model].filter(([, due]) => due <= clock.t).map(([it]) => it.name).sort();
        assert.equal(got, want, `seed ${seed} step ${step} at ${clock.t}`);
        for (const [it] of model) if (it.due <= clock.t) model.delete(it);
      }
      assert.is(wheel.size, model.size, `size, seed ${seed} step ${step}`);
      if (model.size > 0) {
        const min = Math.min(...model.values());
        assert.ok(wheel.nextKey() <= Math.max(min, clock.t), `nextKey ${wheel.nextKey()} after the earliest deadline ${min}, seed ${seed} step ${step}`);
      } else {
        assert.is(wheel.nextKey(), Infinity);
      }
    }
  }
});

test.run();
