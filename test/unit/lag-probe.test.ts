// The event-loop lag probe of the metrics endpoint (src/server/lag-probe.ts)
// on a scripted clock: lateness with sub-millisecond resolution, one timer
// per interval and nothing else, and the exposition as a proper Prometheus
// histogram (no `quantile` label, which Prometheus reserves for summaries).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LAG_BUCKETS, LAG_PROBE_INTERVAL_MS, LagProbe } from '../../src/server/lag-probe';
import type { ProbeClock } from '../../src/server/lag-probe';
import { renderMetrics } from '../../src/server/metrics';

/** A clock whose time and pending timers the test controls. */
class ScriptedClock implements ProbeClock {
  time = 5000;
  pending: { fn: () => void; ms: number; unrefed: boolean }[] = [];
  cancelled = 0;
  now(): number { return this.time; }
  schedule(fn: () => void, ms: number) {
    const entry = { fn, ms, unrefed: false };
    this.pending.push(entry);
    return { unref: () => { entry.unrefed = true; } };
  }
  cancel(): void { this.cancelled++; this.pending = []; }
  /** Fires the one pending timer `lateMs` after it was due. */
  fire(lateMs: number): void {
    assert.is(this.pending.length, 1, 'exactly one timer pending');
    const t = this.pending.shift()!;
    this.time += t.ms + lateMs;
    t.fn();
  }
}

test('lateness is measured to well below a millisecond and bucketed', () => {
  const clock = new ScriptedClock();
  const probe = new LagProbe(clock);
  probe.start();
  probe.start();                                  // idempotent
  assert.is(clock.pending.length, 1);
  assert.is(clock.pending[0]!.ms, LAG_PROBE_INTERVAL_MS);
  assert.ok(clock.pending[0]!.unrefed, 'the probe does not keep pafd alive');
  clock.fire(0.2);                                // 0.2 ms: below the first bound (0.5 ms)
  clock.fire(0.7);                                // 0.7 ms: in (0.5, 1] ms
  clock.fire(37);                                 // a 37 ms stall
  clock.fire(-0.3);                               // early by the clock's rounding: no lag
  const h = probe.histogram;
  assert.is(h.count, 4);
  assert.is(h.buckets[0], 2, '0.2 ms and the early firing');
  assert.is(h.buckets[LAG_BUCKETS.indexOf(0.001)], 1);
  assert.is(h.buckets[LAG_BUCKETS.indexOf(0.05)], 1);
  assert.ok(Math.abs(h.sum - 0.0379) < 1e-9, String(h.sum));
  assert.is(h.takeMax(), 0.037);
  assert.is(h.takeMax(), 0, 'the maximum starts over at each scrape');
  probe.stop();
  assert.is(clock.pending.length, 0, 'stopped: no timer left');
  assert.is(clock.cancelled, 1);
});

test('an idle period costs one wake-up per interval, no more', () => {
  const clock = new ScriptedClock();
  const probe = new LagProbe(clock);
  probe.start();
  let wakeUps = 0;
  for (let i = 0; i < 60; i++) { clock.fire(0.1); wakeUps++; }
  assert.is(wakeUps, 60);
  assert.is(probe.histogram.count, 60, 'a minute of idling: 60 observations from 60 wake-ups');
  assert.is(clock.pending.length, 1);
});

test('exposed as a histogram with cumulative buckets, sum, count and the max since the last scrape', () => {
  const clock = new ScriptedClock();
  const probe = new LagProbe(clock);
  probe.start();
  clock.fire(0.3);
  clock.fire(3);
  const text = renderMetrics([], {
    lag: { histogram: probe.histogram, maxSinceScrape: probe.histogram.takeMax() },
    residentBytes: 1, heapUsedBytes: 1, startTimeSeconds: 1,
  }, '0.0.0');
  assert.match(text, /^# TYPE pafd_event_loop_lag_seconds histogram$/m);
  assert.not.match(text, /quantile=/);
  assert.match(text, /^pafd_event_loop_lag_seconds_bucket\{le="0.0005"\} 1$/m);
  assert.match(text, /^pafd_event_loop_lag_seconds_bucket\{le="0.002"\} 1$/m);
  assert.match(text, /^pafd_event_loop_lag_seconds_bucket\{le="0.005"\} 2$/m);
  assert.match(text, /^pafd_event_loop_lag_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^pafd_event_loop_lag_seconds_count 2$/m);
  const sum = Number(/^pafd_event_loop_lag_seconds_sum (\S+)$/m.exec(text)![1]);
  assert.ok(Math.abs(sum - 0.0033) < 1e-12, String(sum));
  assert.match(text, /^# TYPE pafd_event_loop_lag_max_seconds gauge$/m);
  assert.match(text, /^pafd_event_loop_lag_max_seconds 0.003$/m);
});

test.run();
