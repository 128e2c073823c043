// The microsecond wall clock (src/core/clock.ts): never earlier than the
// moment it is read, within a few microseconds of it, and back on the
// wall clock after the wall clock is set.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MicrosecondWallClock } from '../../src/core/clock';
import { encodeWallTime } from '../../src/protocol/encode';
import { prng } from '../helpers/prng';

/**
 * A simulated machine: true wall time and monotonic time in nanoseconds,
 * both advancing by `costNs` on every read (reads take time), and a wall
 * clock that can be set. millis() truncates as Date.now() does.
 */
class Machine {
  wallNs: bigint;
  monoNs = 5_000_000_000n;
  constructor(wallNs: bigint, private readonly costNs = 70n) { this.wallNs = wallNs; }
  advance(ns: bigint): void { this.wallNs += ns; this.monoNs += ns; }
  readonly sources = {
    millis: (): number => { this.advance(this.costNs); return Number(this.wallNs / 1_000_000n); },
    nanos: (): bigint => { this.advance(this.costNs); return this.monoNs; },
  };
}

/** Reads the clock and checks it against the true time at the start and the end of the read (late by at most lateNs). */
function check(m: Machine, clock: MicrosecondWallClock, what: string, lateNs = 3000n): void {
  const before = m.wallNs;
  const us = clock.wallMicros();
  const after = m.wallNs;
  assert.ok(BigInt(us) * 1000n >= before, `${what}: ${us} µs is earlier than the read (${before} ns)`);
  assert.ok(BigInt(us) * 1000n <= after + lateNs, `${what}: ${us} µs is more than ${lateNs} ns after the read (${after} ns)`);
  assert.ok(Number.isInteger(us), `${what}: whole microseconds`);
}

test('never earlier than the read, at most 3 µs later, over random gaps (reads costing 70 ns or 0.9 µs)', () => {
  for (const [seed, cost] of [[0x13, 70n], [7, 900n], [99, 900n]] as const) {
    const rand = prng(seed);
    const m = new Machine(1_765_000_000_123_456_789n, cost);
    const clock = new MicrosecondWallClock(m.sources);
    for (let i = 0; i < 20_000; i++) {
      m.advance(BigInt(Math.floor(rand() * 3_000_000)));
      check(m, clock, `seed ${seed}, read ${i}`);
    }
  }
});

const STEPS = [3_600_000_000_000n, -7_200_000_000_000n, 2_000_000n, -2_500_000n, 1_700_000n];

test('after the wall clock is set forward or back, the next read is right again (recalibrated)', () => {
  const m = new Machine(1_765_000_000_000_000_000n);
  const clock = new MicrosecondWallClock(m.sources);
  check(m, clock, 'first read');
  for (const step of STEPS) {
    m.advance(10_000_000_000n);  // the last calibration is 10 s old: a step is calibrated precisely
    m.wallNs += step;
    check(m, clock, `after a step of ${step} ns`);
    m.advance(123_456_789n);
    check(m, clock, `later, after a step of ${step} ns`);
  }
});

test('steps in quick succession are followed coarsely: never early, at most 1 ms late', () => {
  const m = new Machine(1_765_000_000_000_000_000n);
  const clock = new MicrosecondWallClock(m.sources);
  check(m, clock, 'first read');
  for (const step of STEPS) {
    m.advance(50_000_000n);
    m.wallNs += step;
    check(m, clock, `after a step of ${step} ns`, 1_003_000n);
    m.advance(123_456_789n);
    check(m, clock, `later, after a step of ${step} ns`, 1_003_000n);
  }
  m.advance(10_000_000_000n);
  check(m, clock, 'calibrated precisely again 10 s later');
  check(m, clock, 'and after that');
});

test('a wall clock that does not tick still gives times no earlier than it says', () => {
  let mono = 0n;
  const frozenMs = 1_765_000_000_000;
  const clock = new MicrosecondWallClock({ millis: () => frozenMs, nanos: () => (mono += 1000n) });
  const us = clock.wallMicros();
  assert.ok(us >= frozenMs * 1000, `${us} < ${frozenMs * 1000}`);
});

test('seconds on the wire: six decimals, the clock\'s microseconds exactly, always a fraction', () => {
  const m = new Machine(1_765_000_000_123_456_789n);
  const clock = new MicrosecondWallClock(m.sources);
  for (let i = 0; i < 1000; i++) {
    m.advance(BigInt(i) * 7_777n);
    const us = clock.wallMicros();
    const text = encodeWallTime(us / 1e6);
    assert.match(text, /^\d+\.\d{6}$/);
    assert.is(text.replace('.', ''), String(us));
  }
  assert.is(encodeWallTime(1718000000.25), '1718000000.250000');
  assert.is(encodeWallTime(1718000000), '1718000000.000000');
});

test.run();
