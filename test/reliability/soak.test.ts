// Issue 8 §4, soak: publishers churn (publish, modify, unpublish,
// disconnect and reconnect under the same client id) and subscribers come
// and go, against a model of the directory. At the end the directory
// (a `services` listing) and every subscriber's view equal the model,
// no request failed, and the RSS slope after warm-up is reported.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prng } from '../helpers/prng';
import { startPafd } from '../helpers/pafd';
import type { Msg } from './harness';
import { Peer, RssSampler, alive, figure, load, mib, nowMs, pace } from './harness';

const DURATION_MS = load(20_000, 600_000);
/**
 * Largest RSS slope after warm-up that does not count as an upward trend.
 * Long form: 1 MiB/min over 10 min at ~14,000 operations/s would be a leak
 * of under 1.2 bytes per operation (measured: -0.11 and +0.14 MiB/min).
 * Short form: 20 s is too short to tell a slow leak from the heap's own
 * breathing (measured -9 MiB/min alone, 89 MiB/min once inside a loaded
 * `npm test`, where the heap is still growing to its steady ~90 MiB), so
 * only a gross leak fails it: 1 KiB per operation at the short form's
 * 3,000+ operations/s would be over 170 MiB/min.
 */
const MAX_SLOPE_MIB_PER_MIN = load(150, 1);
const PUBLISHERS = 4;
const SUBSCRIBERS = 3;
/** Services per publisher the churn hovers around. */
const TARGET = 150;
const SEED = Number(process.env.PAF_SOAK_SEED ?? 0x50a4);
/** Orphans outlive the run: disconnects must not remove anything from the model. */
const TTL = 3600n;

type Rand = () => number;
/** service id → generation: what the directory should hold. */
type View = Map<bigint, bigint>;

async function openRetrying(address: string, clientId: bigint): Promise<Peer> {
  // A reconnect can race the server noticing the old connection's close (client-id-exists).
  for (let attempt = 0; ; attempt++) {
    try { return await Peer.open(address, clientId); } catch (err) {
      if (attempt >= 50) throw err;
      await pace(20);
    }
  }
}

class Subscriber {
  view: View = new Map();
  peer!: Peer;
  constructor(readonly address: string, readonly clientId: bigint) {}
  async connect(): Promise<void> {
    this.peer = await openRetrying(this.address, this.clientId);
    const view: View = new Map();
    this.view = view;
    this.peer.stream('subscribe', { 'subscription-id': this.clientId }, (m: Msg) => {
      if (m['msg-type'] !== 'notify') return;
      const id = m['service-id'] as bigint;
      if (m['match-type'] === 'disappeared') view.delete(id);
      else view.set(id, m.generation as bigint);
    });
  }
  async reconnect(): Promise<void> {
    this.peer.close();
    await this.peer.closed;
    await this.connect();
  }
}

interface Stats { ops: number; failures: string[]; reconnects: number }

async function publisher(address: string, index: number, model: View, r: Rand, until: number, stats: Stats): Promise<void> {
  const clientId = BigInt(7000 + index);
  let peer = await openRetrying(address, clientId);
  const mine: bigint[] = [];
  let nextId = BigInt(index) << 32n;
  const check = (what: string, m: Msg) => { if (m['msg-type'] !== 'complete') stats.failures.push(`${what}: ${String(m['fail-reason'])}`); };
  while (nowMs() < until) {
    const x = r();
    stats.ops++;
    if (x < 0.01) {
      peer.close();
      await peer.closed;
      peer = await openRetrying(address, clientId);
      stats.reconnects++;
    } else if (mine.length === 0 || x < 0.35 * (TARGET / Math.max(mine.length, 1))) {
      const id = ++nextId;
      const reply = await peer.request('publish', { 'service-id': id, generation: 0n, 'service-props': { name: [`soak-${index}`], n: [BigInt(Math.floor(r() * 1000))] }, ttl: TTL });
      check('publish', reply);
      if (reply['msg-type'] === 'complete') { mine.push(id); model.set(id, 0n); }
    } else if (x < 0.7) {
      const id = mine[Math.floor(r() * mine.length)]!;
      const generation = model.get(id)! + 1n;
      const reply = await peer.request('publish', { 'service-id': id, generation, 'service-props': { name: [`soak-${index}`], n: [BigInt(Math.floor(r() * 1000))], host: [`h${Math.floor(r() * 9)}`] }, ttl: TTL });
      check('modify', reply);
      if (reply['msg-type'] === 'complete') model.set(id, generation);
    } else {
      const at = Math.floor(r() * mine.length);
      const id = mine[at]!;
      const reply = await peer.request('unpublish', { 'service-id': id });
      check('unpublish', reply);
      if (reply['msg-type'] === 'complete') { mine.splice(at, 1); model.delete(id); }
    }
  }
  peer.close();
}

function diff(what: string, got: View, want: View): string[] {
  const out: string[] = [];
  for (const [id, g] of want) if (got.get(id) !== g) out.push(`${what}: ${id} want generation ${g}, got ${got.get(id)}`);
  for (const id of got.keys()) if (!want.has(id)) out.push(`${what}: ${id} should not be there`);
  return out;
}

test('soak: churn against a model, views equal the directory, RSS slope', async () => {
  const pafd = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  try {
    const address = pafd.addresses[0]!;
    const model: View = new Map();
    const subs = Array.from({ length: SUBSCRIBERS }, (_, i) => new Subscriber(address, BigInt(8000 + i)));
    for (const s of subs) await s.connect();
    const sampler = new RssSampler(pafd.pid, 500);
    const stats: Stats = { ops: 0, failures: [], reconnects: 0 };
    const until = nowMs() + DURATION_MS;
    const r = prng(SEED);
    let subReconnects = 0;
    const subChurn = (async () => {
      while (nowMs() < until) {
        await pace(200 + Math.floor(r() * 800));
        await subs[Math.floor(r() * subs.length)]!.reconnect();
        subReconnects++;
      }
    })();
    await Promise.all([subChurn, ...Array.from({ length: PUBLISHERS }, (_, i) => publisher(address, i, model, prng(SEED + 1 + i), until, stats))]);
    sampler.stop();
    assert.ok(alive(pafd.proc), 'pafd exited');

    // Every notification sent before a ping's reply has arrived once that reply has.
    for (const s of subs) await s.peer.request('ping');
    const checker = await Peer.open(address, 8999n);
    const listing: View = new Map((await checker.listServices()).map((m) => [m['service-id'] as bigint, m.generation as bigint]));
    const problems = [...diff('directory', listing, model), ...subs.flatMap((s, i) => diff(`subscriber ${i}`, s.view, listing))];
    const slope = sampler.slopePerMinute(0.25);
    figure('soak', `${(DURATION_MS / 1000).toFixed(0)} s: ${PUBLISHERS} publishers (publish/modify/unpublish, reconnect 1%), ${SUBSCRIBERS} match-all subscribers reconnecting every ~0.6 s, seed ${SEED}`,
      `${stats.ops} operations (${(stats.ops / (DURATION_MS / 1000)).toFixed(0)}/s), ${stats.reconnects} publisher and ${subReconnects} subscriber reconnects, `
      + `${stats.failures.length} failed requests, ${model.size} services at the end, ${problems.length} view/directory mismatches; `
      + `RSS ${mib(sampler.samples[0]!.bytes)} → max ${mib(sampler.max)}, slope after warm-up ${(slope / (1 << 20)).toFixed(2)} MiB/min`);
    assert.equal(stats.failures.slice(0, 5), [], 'no request failed');
    assert.equal(problems.slice(0, 10), [], 'views equal the directory equals the model');
    assert.ok(model.size > 0);
    assert.ok(slope / (1 << 20) <= MAX_SLOPE_MIB_PER_MIN, `RSS keeps growing after warm-up: ${(slope / (1 << 20)).toFixed(2)} MiB/min`);
    checker.close();
    for (const s of subs) s.peer.close();
  } finally {
    await pafd.stop();
  }
});

test.run();
