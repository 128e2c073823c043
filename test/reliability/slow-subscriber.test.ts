// Issue 8 §2, slow subscriber: a client subscribes to everything and
// stops reading while another client produces notifications (modifies of
// a small set of services, so the directory itself stays small). pafd must
// bound that client's output: disconnect it with the logged reason
// "output queue overflow" once 64 MiB pile up, keep serving the others,
// and give the memory back afterwards.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import {
  MiB, ThreadProbe, Peer, RssSampler, alive, frame, figure, load, mib, nowMs, pace, rawSocket,
} from './harness';

const NOTIFICATIONS = load(20_000, 100_000);
/** Size of the prop value each notification carries: together well past the 64 MiB limit. */
const VALUE_BYTES = load(4000, 1000);
const SERVICES = 100;
/** Slow subscribers one after another: peaks must level off (bounded and reused, not leaked). */
const ROUNDS = load(4, 6);
/** Publishes in flight at once from the producer. */
const WINDOW = load(64, 256);

/**
 * Polled for after each round. pafd collects and trims its heaps after an
 * overflow (src/server/memory.ts); V8 keeps some of its grown heap, so the
 * test asserts that at least RETURNED_SHARE of the round's growth went
 * back (measured: 0.5–0.6; without the collection about 0).
 */
const RSS_RETURN_BOUND = 40 * MiB;
const RETURNED_SHARE = 1 / 3;
const RSS_RETURN_WAIT_MS = load(5_000, 20_000);
/**
 * Measured: under this flood (2 cores shared by pafd, the producer and the
 * probe) pafd answers pings in ~200 ms, not 100; R6/R8's 0.5 s is what
 * holds. See docs/RELIABILITY.md, findings.
 */
const PING_BOUND_MS = 500;
/**
 * The last overflow may raise the peak by this much at most (memory is
 * reused, not leaked). Measured: peaks of ~155–175 MiB each round.
 */
const RSS_REUSE_SLACK = 40 * MiB;
const OVERFLOW = /output queue overflow/;

interface Round { produceS: number; peak: number; after: number; p99: number; max: number; pings: number; seenByOther: number }

/** One slow subscriber (client id 1003+k) against `NOTIFICATIONS` modifies; returns its figures. */
async function round(address: string, pafd: Pafd, k: number, producer: Peer, other: Peer, sampler: RssSampler, baseline: number): Promise<Round> {
  const slow = await rawSocket(address);
  slow.on('error', () => { /* reset on close is fine */ });
  slow.write(frame(`{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":${3000 + k},"protocol-minimum-version":2,"protocol-maximum-version":2}`));
  slow.write(frame('{"ta-cmd":"subscribe","ta-id":1,"msg-type":"request","subscription-id":77}'));
  slow.pause();
  let seenByOther = 0;
  const subTa = other.stream('subscribe', { 'subscription-id': BigInt(78 + k), filter: '(name=svc-0)' }, (m) => { if (m['msg-type'] === 'notify') seenByOther++; });
  await other.request('ping');
  const overflowsBefore = pafd.log.filter((l) => OVERFLOW.test(l)).length;
  const probe = new ThreadProbe(address, BigInt(2000 + k));
  const value = 'v'.repeat(VALUE_BYTES);
  const t0 = nowMs();
  const base = k * NOTIFICATIONS;
  let next = 0;
  const worker = async () => {
    while (next < NOTIFICATIONS) {
      const i = base + next++;
      const svc = i % SERVICES;
      const r = await producer.request('publish', {
        'service-id': BigInt(svc + 1), generation: BigInt(Math.floor(i / SERVICES)),
        'service-props': { name: [`svc-${svc}`], blob: [value] }, ttl: 60n,
      }, 30_000);
      if (r['msg-type'] !== 'complete') throw new Error(`publish ${i} failed: ${r['fail-reason']}`);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const produceS = (nowMs() - t0) / 1000;
  // Notifications to `other` precede the reply to its ping.
  await other.request('ping');
  await probe.stop();
  const peak = sampler.max;
  const overflows = pafd.log.filter((l) => OVERFLOW.test(l)).length;
  slow.destroy();
  other.send('unsubscribe', 999_000n + BigInt(k), { 'subscription-id': BigInt(78 + k) });
  void subTa;

  // Memory back near the baseline (the heap shrinks only after a GC or two: poll, bounded).
  let after = sampler.sample();
  const deadline = nowMs() + RSS_RETURN_WAIT_MS;
  while (after - baseline > RSS_RETURN_BOUND && nowMs() < deadline) { await pace(250); after = sampler.sample(); }

  assert.is(probe.failure, undefined, `probe ping failed: ${probe.failure}`);
  assert.is(overflows - overflowsBefore, 1, 'pafd logged one "output queue overflow" close');
  return { produceS, peak, after, p99: probe.p99, max: probe.max, pings: probe.rtts.length, seenByOther };
}

test('a subscriber that stops reading is disconnected at the output limit', async () => {
  const pafd = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  try {
    const address = pafd.addresses[0]!;
    const producer = await Peer.open(address, 1002n);
    const other = await Peer.open(address, 1004n);
    const sampler = new RssSampler(pafd.pid, 100);
    const baseline = sampler.samples[0]!.bytes;
    const rounds: Round[] = [];
    for (let k = 0; k < ROUNDS; k++) rounds.push(await round(address, pafd, k, producer, other, sampler, baseline));
    sampler.stop();
    assert.ok(alive(pafd.proc), 'pafd exited');
    // The other subscriber got every notification of its filter: one per SERVICES modifies (+ appeared after round 0).
    rounds.forEach((r, k) => assert.is(r.seenByOther, NOTIFICATIONS / SERVICES + (k > 0 ? 1 : 0), `round ${k}: other's notifications`));
    const p99 = Math.max(...rounds.map((r) => r.p99)), max = Math.max(...rounds.map((r) => r.max));
    const pings = rounds.reduce((n, r) => n + r.pings, 0);
    const list = (f: (r: Round) => string) => rounds.map(f).join(' / ');
    figure(`slow subscriber (×${ROUNDS} rounds)`, `${NOTIFICATIONS} notifications × ~${VALUE_BYTES + 120} B per round to a client that never reads; producer ${WINDOW} publishes in flight`,
      `disconnected with "output queue overflow" each round; produced in ${list((r) => r.produceS.toFixed(1))} s; `
      + `ping p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${pings}; `
      + `RSS ${mib(baseline)} → peaks ${list((r) => mib(r.peak))} → ${list((r) => mib(r.after))} after ≤${RSS_RETURN_WAIT_MS / 1000} s`);
    assert.ok(p99 <= PING_BOUND_MS, `ping p99 ${p99.toFixed(1)} ms exceeds ${PING_BOUND_MS} ms`);
    // Memory is bounded and reused: later overflows do not keep adding 64 MiB each.
    const last = rounds[ROUNDS - 1]!.peak, before = rounds[ROUNDS - 2]!.peak;
    assert.ok(last <= before + RSS_REUSE_SLACK, `peaks keep growing: ${list((r) => mib(r.peak))}`);
    // ... and handed back after each overflow.
    for (const r of rounds) {
      assert.ok(r.after <= r.peak - (r.peak - baseline) * RETURNED_SHARE,
        `RSS after a round: ${mib(r.after)} of a peak of ${mib(r.peak)} (baseline ${mib(baseline)})`);
    }
    assert.is((await other.request('ping'))['msg-type'], 'complete');
    producer.close(); other.close();
  } finally {
    await pafd.stop();
  }
});

test.run();
