// What the client library offers Node developers beyond libpaf's calls,
// against a real pafd: async iteration over a subscription (and what ends
// it, checked on the server's subscription list), AbortSignals where an
// operation waits, PafError codes for bad arguments, and the immediate
// refusal of a ux: server when the native addon cannot be loaded.

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttachOptions, Context, MatchEvent } from '../../src/client/index';
import { PafError, PafErrorCode, WireClient, attach } from '../../src/client/index';
import type { Pafd } from '../helpers/pafd';
import { startPafd, tempDir } from '../helpers/pafd';

const FAST: AttachOptions = { reconnectMin: 0.01, reconnectMax: 0.2, rescan: 0 };

interface Env { pafd: Pafd; address: string; observer: WireClient; contexts: Context[] }

const t = suite<Env>('client ergonomics');

t.before(async (env) => {
  env.pafd = await startPafd(['tcp:127.0.0.1:0']);
  env.address = env.pafd.addresses[0]!;
  env.observer = await WireClient.connect(env.address);
  env.contexts = [];
});

t.after.each(async (env) => {
  for (const ctx of env.contexts.splice(0)) ctx.close();
});

t.after(async (env) => {
  env.observer.close();
  await env.pafd.stop();
});

async function open(env: Env, opts: AttachOptions = {}): Promise<Context> {
  const ctx = await attach({ servers: [env.address] }, { ...FAST, ...opts });
  env.contexts.push(ctx);
  return ctx;
}

/** The subscription ids the server holds for this client. */
async function serverSubscriptions(env: Env, ctx: Context): Promise<bigint[]> {
  return (await env.observer.subscriptions()).filter((s) => s.clientId === ctx.clientId).map((s) => s.subscriptionId);
}

/** The error a promise rejects with, or a failure if it resolves. */
async function rejection(p: Promise<unknown>): Promise<PafError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, PafError);
    return err as PafError;
  }
  throw new Error('resolved, expected a rejection');
}

/** p, or a failure after ms (so that a missing abort fails the test instead of hanging it). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function thrown(fn: () => unknown): PafError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, PafError);
    return err as PafError;
  }
  throw new Error('returned, expected a PafError');
}

t('for await without a listener gets the events from subscribe on; break unsubscribes on the server', async (env) => {
  const ctx = await open(env);
  const service = ctx.publish({ name: 'iter', n: 1 });
  const sub = ctx.subscribe('(name=iter)');
  await ctx.whenSynced();
  assert.equal(await serverSubscriptions(env, ctx), [sub.id]);
  service.modify({ name: 'iter', n: 2 });
  const seen: string[] = [];
  for await (const event of sub) {
    seen.push(`${event.type} ${event.props.get('n')?.[0]}`);
    if (event.type === 'modified') break;
  }
  assert.equal(seen, ['appeared 1', 'modified 2']);
  assert.equal(ctx.subscriptions(), []);
  await ctx.whenSynced();
  assert.equal(await serverSubscriptions(env, ctx), []);
});

t('events that arrive before the loop starts wait for it, in order', async (env) => {
  const ctx = await open(env);
  const ids = [1, 2, 3, 4, 5].map((n) => ctx.publish({ name: 'backlog', n }).id);
  const sub = ctx.subscribe('(name=backlog)');
  // A second subscription, made later on the same connection, hears of the
  // services after the first one did: once it has all five, the first one's
  // five are waiting for the loop.
  await new Promise<void>((resolve) => {
    let n = 0;
    ctx.subscribe('(name=backlog)', () => { if (++n === ids.length) resolve(); });
  });
  const seen: bigint[] = [];
  for await (const event of sub) {
    assert.is(event.type, 'appeared');
    seen.push(event.serviceId);
    if (seen.length === ids.length) break;
  }
  assert.equal(new Set(seen), new Set(ids));
});

t('a listener and a loop both see the events; unsubscribe and an aborted signal end the loop', async (env) => {
  const ctx = await open(env);
  const heard: MatchEvent[] = [];
  const sub = ctx.subscribe('(name=both)', (e) => heard.push(e));
  const iterator = sub[Symbol.asyncIterator]();
  ctx.publish({ name: 'both' });
  const first = await iterator.next();
  assert.is(first.done, false);
  assert.equal(heard, [first.value]);
  const pending = iterator.next();
  sub.unsubscribe();
  assert.equal(await pending, { done: true, value: undefined });
  assert.throws(() => sub[Symbol.asyncIterator](), (err: PafError) => err.code === PafErrorCode.INVALID_ARGUMENT);

  const controller = new AbortController();
  const aborted = ctx.subscribe('(name=nothing)', undefined, { signal: controller.signal });
  await ctx.whenSynced();
  assert.equal(await serverSubscriptions(env, ctx), [aborted.id]);
  const loop = (async () => { for await (const e of aborted) throw new Error(`unexpected ${e.type}`); })();
  controller.abort();
  await loop;
  await ctx.whenSynced();
  assert.equal(await serverSubscriptions(env, ctx), []);
  assert.is(thrown(() => ctx.subscribe(null, undefined, { signal: controller.signal })).code, PafErrorCode.ABORTED);
});

t('detach ends a waiting loop', async (env) => {
  const ctx = await open(env);
  const sub = ctx.subscribe('(name=never)');
  const loop = (async () => { let n = 0; for await (const _ of sub) n++; return n; })();
  await ctx.whenSynced();
  await ctx.detach();
  assert.is(await loop, 0);
});

t('whenSynced and attach take an AbortSignal and reject with PafError ABORTED', async (env) => {
  const unreachable = await attach({ servers: ['tcp:127.0.0.1:1'] }, FAST);
  env.contexts.push(unreachable);
  unreachable.publish({ a: 1 });
  const reason = new Error('gave up');
  const controller = new AbortController();
  const waiting = rejection(unreachable.whenSynced({ signal: controller.signal }));
  controller.abort(reason);
  const err = await waiting;
  assert.is(err.code, PafErrorCode.ABORTED);
  assert.is(err.codeName, 'ABORTED');
  assert.is(err.cause, reason);
  const timedOut = await rejection(unreachable.whenSynced({ signal: AbortSignal.timeout(50) }));
  assert.is(timedOut.code, PafErrorCode.ABORTED);
  const early = await rejection(attach({ servers: [env.address] }, { ...FAST, signal: AbortSignal.abort() }));
  assert.is(early.code, PafErrorCode.ABORTED);
});

t('WireClient.connect takes an AbortSignal: a server that never answers hello is given up and its connection closed', async () => {
  const closed: Promise<void>[] = [];
  const silent = createServer((socket) => {
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
    socket.on('error', () => {});
    socket.resume();                               // read, so that the client's close is seen
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = `tcp:127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const started = Date.now();
    const err = await within(5000, rejection(WireClient.connect(address, { signal: AbortSignal.timeout(100) })));
    assert.is(err.code, PafErrorCode.ABORTED);
    assert.ok(Date.now() - started < 2000);
    assert.is(closed.length, 1);
    await closed[0];                               // nothing left open towards the server
    assert.is((await rejection(WireClient.connect(address, { signal: AbortSignal.abort() }))).code, PafErrorCode.ABORTED);
  } finally {
    silent.close();
  }
});

t('bad property values and TTLs are PafError INVALID_ARGUMENT', async (env) => {
  const ctx = await open(env);
  for (const fn of [() => ctx.publish({ n: 1.5 }), () => ctx.publish({ n: 2n ** 63n }), () => ctx.publish({ a: 'x' }, { ttl: -1 }),
    () => ctx.publish({ a: {} as unknown as string })]) {
    const err = thrown(fn);
    assert.is(err.code, PafErrorCode.INVALID_ARGUMENT);
    assert.is(err.name, 'PafError');
  }
  const service = ctx.publish({ a: 'x' });
  assert.is(thrown(() => service.setTtl(Number.NaN)).codeName, 'INVALID_ARGUMENT');
  assert.is((await rejection(attach({ servers: [] }, { ttl: -5 }))).code, PafErrorCode.INVALID_ARGUMENT);
});

t('a ux: server with an addon that cannot be loaded fails attach at once, naming the file; tcp does not need it', async (env) => {
  const missing = join(tempDir('paf-addon-'), 'paf_native.node');
  const started = Date.now();
  const clientId = 0x7a11n;
  const err = await rejection(attach({ servers: [env.address, 'ux:paf-ergonomics-none'] }, { ...FAST, clientId, nativeAddon: missing }));
  assert.is(err.code, PafErrorCode.TRANSPORT_UNAVAILABLE);
  assert.ok(err.message.includes(`ux:paf-ergonomics-none: native addon ${missing} does not exist`), err.message);
  assert.ok(Date.now() - started < 1000);
  // The refused context never connected to the tcp server either.
  assert.equal((await env.observer.clients()).filter((c) => c.clientId === clientId), []);
  const tcpOnly = await open(env, { nativeAddon: missing });
  tcpOnly.publish({ name: 'tcp-only' });
  await tcpOnly.whenSynced({ signal: AbortSignal.timeout(5000) });
});

t.run();
