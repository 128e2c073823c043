// DomainTimer: the domain's one timer never asks the platform for a delay
// it cannot represent (setTimeout turns anything above 2^31−1 ms into
// 1 ms), reaches a far deadline in a few steps and fires on its slot.
// Driven by a manual clock and a fake timer host that records each delay.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainTimer, MAX_TIMER_MS, TIMER_SLOT_MS } from '../../src/server/domain-timer';
import type { TimerHost } from '../../src/server/domain-timer';
import { MAX_ORPHAN_TTL } from '../../src/core/directory';
import { World, props } from '../helpers/core-fixtures';

/** Records armed timers; `runNext` advances the clock to the armed one and runs it. */
class FakeTimers implements TimerHost {
  readonly delays: number[] = [];
  private armed: { run: () => void; ms: number } | undefined;
  set(run: () => void, ms: number): unknown {
    this.delays.push(ms);
    this.armed = { run, ms };
    return this.armed;
  }
  clear(handle: unknown): void {
    if (handle === this.armed) this.armed = undefined;
  }
  get pending(): boolean { return this.armed !== undefined; }
  runNext(advance: (seconds: number) => void): void {
    const t = this.armed!;
    this.armed = undefined;
    advance(t.ms / 1000);
    t.run();
  }
}

function orphanWorld(ttl: bigint) {
  const w = new World();
  const timers = new FakeTimers();
  const timer = new DomainTimer(w.clock, () => w.directory.orphans.nextKey(), () => w.directory.expireOrphans(), timers);
  const a = w.connect(1n);
  assert.is(w.publish(a, 10n, 0n, props({ name: 'far' }), ttl), undefined);
  w.disconnect(a);
  const orphanedAt = w.clock.now();
  timer.reschedule();
  return { w, timers, timer, orphanedAt };
}

test('a 3,000,000 s orphan: every delay fits setTimeout, two wake-ups, expires on its slot', () => {
  const { w, timers, orphanedAt } = orphanWorld(3_000_000n);
  let wakeUps = 0;
  while (w.directory.services.size > 0) {
    assert.ok(timers.pending, 'a timer is armed while the orphan waits');
    timers.runNext((s) => w.clock.advance(s));
    wakeUps++;
    assert.ok(wakeUps <= 3, `${wakeUps} wake-ups`);
  }
  for (const ms of timers.delays) assert.ok(ms >= 0 && ms <= MAX_TIMER_MS, `delay ${ms} ms`);
  assert.is(wakeUps, 2);
  const late = w.clock.now() - (orphanedAt + 3_000_000);
  assert.ok(late >= 0 && late <= (TIMER_SLOT_MS + 2) / 1000, `expired ${late} s after its deadline`);
  assert.is(w.directory.stats.expired, 1);
  assert.not.ok(timers.pending, 'nothing left to wait for');
});

test('the orphan is still there one slot before its deadline', () => {
  const { w, timers } = orphanWorld(3_000_000n);
  timers.runNext((s) => w.clock.advance(s));
  assert.is(w.directory.services.size, 1, 'the step wake-up expires nothing');
  assert.ok(timers.pending);
});

test('a TTL of 2^63−1 s: the deadline is capped, the delays still fit', () => {
  const { w, timers, orphanedAt } = orphanWorld(0x7fffffffffffffffn);
  assert.is(w.directory.orphans.nextKey(), orphanedAt + MAX_ORPHAN_TTL);
  for (let i = 0; i < 5; i++) timers.runNext((s) => w.clock.advance(s));
  for (const ms of timers.delays) assert.ok(ms <= MAX_TIMER_MS, `delay ${ms} ms`);
  assert.is(w.directory.services.size, 1);
});

test('a sooner deadline replaces a long step; a later one does not re-arm', () => {
  const { w, timers, timer } = orphanWorld(3_000_000n);
  assert.is(timers.delays.length, 1);
  const b = w.connect(2n);
  w.publish(b, 11n, 0n, props({ name: 'near' }), 5n);
  w.disconnect(b);
  timer.reschedule();
  assert.is(timers.delays.length, 2);
  assert.ok(timers.delays[1]! <= 5000 + TIMER_SLOT_MS, `re-armed for ${timers.delays[1]} ms`);
  timer.reschedule();
  assert.is(timers.delays.length, 2, 'nothing sooner: not re-armed');
  timers.runNext((s) => w.clock.advance(s));
  assert.is(w.directory.services.size, 1, 'the near orphan expired, the far one waits');
  assert.ok(timers.pending);
});

test('stop clears the timer', () => {
  const { timers, timer } = orphanWorld(30n);
  timer.stop();
  assert.not.ok(timers.pending);
});

test.run();
