// Listings and initial bursts over a large directory run a time slice per
// turn (src/core/walk.ts). What must still hold on the wire: a client's
// replies come in request order, a subscription sees `appeared` before
// any other notification of a service even while another client changes
// the directory under the burst, `complete` of an unsubscribed
// subscription comes after its whole burst, and a client leaving in the
// middle of its listing harms nobody.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonValue } from '../../src/protocol/json';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { WireClient, randomId } from '../helpers/wire';
import type { Msg } from '../helpers/wire';

const SERVICES = 3000;
/** Big enough props that the listing takes several slices. */
const TEXT = 'x'.repeat(512);

async function publishAll(c: WireClient, count: number, gen = 0n): Promise<void> {
  for (let base = 0; base < count; base += 500) {
    const tas: bigint[] = [];
    for (let i = base; i < Math.min(count, base + 500); i++) {
      const ta = c.taId();
      tas.push(ta);
      const props = Object.create(null) as Record<string, JsonValue>;
      props['name'] = ['svc'];
      props['text'] = [TEXT];
      c.send('publish', ta, 'request', { 'service-id': BigInt(i + 1), generation: gen, 'service-props': props as JsonValue, ttl: 60n });
    }
    for (const ta of tas) assert.is((await c.nextOf(ta, 30_000))['msg-type'], 'complete');
  }
}

let pafd: Pafd;
let address: string;

test.before(async () => {
  pafd = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  address = pafd.addresses[0]!;
  const owner = await WireClient.open(address, { clientId: 1n });
  await publishAll(owner, SERVICES);
  owner.close();
});
test.after(async () => { await pafd.stop(); });

test('pipelined services, subscriptions and ping: replies in request order', async () => {
  const c = await WireClient.open(address);
  const order: string[] = [];
  c.onReceive((m) => { if (m['msg-type'] !== 'notify') order.push(`${m['ta-cmd']} ${m['msg-type']}`); });
  const services = c.list('services');
  const subs = c.list('subscriptions');
  const ping = c.ping();
  assert.is((await services).length, SERVICES);
  await subs;
  await ping;
  assert.equal(order, ['services accept', 'services complete', 'subscriptions accept', 'subscriptions complete', 'ping complete']);
  c.close();
});

test('a burst while another client changes the directory: appeared always first, the view converges', async () => {
  const owner = await WireClient.open(address, { clientId: 1n });
  const watcher = await WireClient.open(address);
  const seen = new Map<bigint, string[]>();
  watcher.onReceive((m) => {
    if (m['ta-cmd'] !== 'subscribe' || m['msg-type'] !== 'notify') return;
    const id = m['service-id'] as bigint;
    let list = seen.get(id);
    if (!list) { list = []; seen.set(id, list); }
    list.push(m['match-type'] as string);
  });
  const subTa = watcher.taId();
  // A filter that matches everything the hard way, so the burst takes many slices.
  const filter = '(|' + Array.from({ length: 64 }, (_, i) => `(text=*a*b*c*z${i}*)`).join('') + '(name=svc)(name=new))';
  watcher.send('subscribe', subTa, 'request', { 'subscription-id': randomId(), filter });
  /** Per notification: whether it was a service's first appearance from the burst. */
  const fromBurst: boolean[] = [];
  watcher.onReceive((m) => {
    if (m['ta-id'] !== subTa || m['msg-type'] !== 'notify') return;
    const id = m['service-id'] as bigint;
    fromBurst.push(id < 100_000n && m['match-type'] === 'appeared' && seen.get(id)!.length === 1);
  });
  // While the burst runs: unpublish every 7th service, republish every 5th, add new ones.
  const changes: bigint[] = [];
  for (let i = 1; i <= SERVICES; i++) {
    const ta = owner.taId();
    if (i % 7 === 0) owner.send('unpublish', ta, 'request', { 'service-id': BigInt(i) });
    else if (i % 5 === 0) {
      const props = Object.create(null) as Record<string, JsonValue>;
      props['name'] = ['svc'];
      props['changed'] = ['yes'];
      owner.send('publish', ta, 'request', { 'service-id': BigInt(i), generation: 1n, 'service-props': props as JsonValue, ttl: 60n });
    } else continue;
    changes.push(ta);
  }
  for (let i = 0; i < 50; i++) {
    const ta = owner.taId();
    owner.send('publish', ta, 'request', { 'service-id': BigInt(100_000 + i), generation: 0n, 'service-props': { name: ['new'] } as JsonValue, ttl: 60n });
    changes.push(ta);
  }
  for (const ta of changes) assert.is((await owner.nextOf(ta, 30_000))['msg-type'], 'complete');
  // The directory now, from a listing after every change; the watcher's view must match it.
  const listed = await owner.list('services');
  await watcher.ping();
  const burstEnd = fromBurst.lastIndexOf(true);
  const during = fromBurst.slice(0, burstEnd).filter((b) => !b).length;
  console.log(`burst of ${fromBurst.filter((b) => b).length} services, ${during} change notifications interleaved with it`);
  const view = new Set<bigint>();
  for (const [id, types] of seen) {
    assert.is(types[0], 'appeared', `service ${id}: ${types.join(', ')}`);
    for (const t of types) { if (t === 'disappeared') view.delete(id); else view.add(id); }
  }
  assert.equal([...view].sort((a, b) => (a < b ? -1 : 1)), listed.map((m) => m['service-id'] as bigint).sort((a, b) => (a < b ? -1 : 1)));
  // Restore the directory for the other tests.
  for (let i = 7; i <= SERVICES; i += 7) {
    const props = Object.create(null) as Record<string, JsonValue>;
    props['name'] = ['svc'];
    props['text'] = [TEXT];
    assert.is((await owner.request('publish', { 'service-id': BigInt(i), generation: 0n, 'service-props': props as JsonValue, ttl: 60n }))['msg-type'], 'complete');
  }
  for (let i = 0; i < 50; i++) await owner.unpublish(BigInt(100_000 + i));
  owner.close();
  watcher.close();
});

test('unsubscribe pipelined behind a big burst: the subscribe completes after the whole burst', async () => {
  const c = await WireClient.open(address);
  const got: Msg[] = [];
  c.onReceive((m) => got.push(m));
  const subId = randomId();
  const subTa = c.taId();
  c.send('subscribe', subTa, 'request', { 'subscription-id': subId });
  const reply = await c.request('unsubscribe', { 'subscription-id': subId }, 30_000);
  assert.is(reply['msg-type'], 'complete');
  const onSub = got.filter((m) => m['ta-id'] === subTa).map((m) => m['msg-type']);
  assert.is(onSub[0], 'accept');
  assert.is(onSub.filter((t) => t === 'notify').length, SERVICES);
  assert.is(onSub[onSub.length - 1], 'complete');
  assert.is(got[got.length - 1], reply, 'the unsubscribe completes last');
  c.close();
});

test('a client that leaves in the middle of its listings harms nobody', async () => {
  for (let round = 0; round < 3; round++) {
    const c = await WireClient.open(address);
    for (let i = 0; i < 4; i++) c.send('services', c.taId(), 'request');
    await c.next((m) => m['msg-type'] === 'notify');
    c.abort();
  }
  const b = await WireClient.open(address);
  assert.is((await b.ping())['msg-type'], 'complete');
  assert.is((await b.list('services')).length, SERVICES);
  b.close();
  assert.is(pafd.proc.exitCode, null);
  assert.not.ok(pafd.log.some((l) => /internal error/.test(l)), 'no internal error');
});

test.run();
