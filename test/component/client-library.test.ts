// The client library against real pafd processes: the wire client, and
// contexts attached to domains of two and three servers, with servers
// killed (SIGKILL) and restarted on the same port, and a producer process
// killed with SIGKILL.
//
// The producer runs in a child process: this same bundled test file,
// started with PAF_TEST_PRODUCER set, acts as a small library user
// instead of running the tests (see runProducer at the end). That keeps
// the producer on exactly the library code under test without a second
// build step.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttachOptions, Context, MatchEvent } from '../../src/client/index';
import { PafError, PafErrorCode, WireClient, attach } from '../../src/client/index';
import type { Pafd } from '../helpers/pafd';
import { startPafd, tempDir } from '../helpers/pafd';
import { WireClient as RawClient } from '../helpers/wire';
import { makeTestPki } from '../helpers/certs';

const PRODUCER_ENV = 'PAF_TEST_PRODUCER';
const WAIT_MS = 5000;

/** Fast reconnects and no domain-file rescans unless a test asks for them. */
const FAST: AttachOptions = { reconnectMin: 0.01, reconnectMax: 0.2, rescan: 0, debug: Boolean(process.env.PAF_TEST_DEBUG) };

/** Collects a subscription's events and lets a test wait for one. */
class Events {
  readonly all: MatchEvent[] = [];
  private waiters: { pred: (e: MatchEvent) => boolean; resolve: (e: MatchEvent) => void }[] = [];
  readonly listener = (e: MatchEvent): void => {
    this.all.push(e);
    this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
  };

  /** The first event (already seen or future) satisfying pred. */
  wait(pred: (e: MatchEvent) => boolean, what: string, ms = WAIT_MS): Promise<MatchEvent> {
    const seen = this.all.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; events: ${this.describe()}`)), ms);
      this.waiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  of(id: bigint): string[] { return this.all.filter((e) => e.serviceId === id).map((e) => e.type); }
  describe(): string { return this.all.map((e) => `${e.type}:${e.serviceId}`).join(' '); }
}

function waitEvent<T extends unknown[]>(ctx: Context, name: 'connected' | 'disconnected', pred: (...args: T) => boolean, ms = WAIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ctx.off(name, check as never); reject(new Error(`no ${name} event within ${ms} ms`)); }, ms);
    function check(...args: T): void {
      if (!pred(...args)) return;
      clearTimeout(timer);
      ctx.off(name, check as never);
      resolve();
    }
    ctx.on(name, check as never);
  });
}

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

async function startServers(n: number): Promise<Pafd[]> {
  return Promise.all(Array.from({ length: n }, () => startPafd(['tcp:127.0.0.1:0'])));
}

/** Restarts a killed server on its old address; the port may be briefly unavailable. */
async function restartOn(address: string): Promise<Pafd> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startPafd([address]);
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function writeDomain(servers: Pafd[]): { dir: string; name: string } {
  const dir = tempDir('paf-domains-');
  const name = 'testdomain';
  writeFileSync(join(dir, name), servers.map((s) => s.addresses[0]).join('\n') + '\n');
  return { dir, name };
}

async function listServices(address: string): Promise<{ id: bigint; generation: bigint; orphan: boolean; props: Record<string, unknown> }[]> {
  const raw = await RawClient.open(address);
  try {
    const list = await raw.list('services');
    return list.map((m) => ({
      id: m['service-id'] as bigint, generation: m.generation as bigint, orphan: m['orphan-since'] !== undefined,
      props: { ...(m['service-props'] as object) },
    }));
  } finally {
    raw.close();
  }
}

async function listSubscriptions(address: string): Promise<bigint[]> {
  const raw = await RawClient.open(address);
  try {
    return (await raw.list('subscriptions')).map((m) => m['subscription-id'] as bigint);
  } finally {
    raw.close();
  }
}

interface Env { servers: Pafd[]; contexts: Context[]; children: ChildProcess[] }
const t = suite<Env>('client-library', { servers: [], contexts: [], children: [] });
t.before.each((env) => { env.servers = []; env.contexts = []; env.children = []; });
t.after.each(async (env) => {
  for (const c of env.contexts) c.close();
  for (const child of env.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(env.servers.map((s) => s.stop('SIGKILL')));
});

async function attachTo(env: Env, target: Parameters<typeof attach>[0], opts: AttachOptions = {}): Promise<Context> {
  const ctx = await attach(target, { ...FAST, ...opts });
  env.contexts.push(ctx);
  return ctx;
}

t('wire client against pafd: hello, publish, listings, track with latency', async (env) => {
  env.servers = await startServers(1);
  const address = env.servers[0]!.addresses[0]!;
  const client = await WireClient.connect(address, { track: true });
  try {
    assert.is(client.version, 3);
    assert.ok((await client.ping()) >= 0);
    await client.publish(1234n, 2, { name: 'wire', port: [80, 81] }, 5);
    const [svc] = await client.services('(name=wire)');
    assert.is(svc!.serviceId, 1234n);
    assert.is(svc!.generation, 2n);
    assert.equal(svc!.props.get('port'), [80n, 81n]);
    assert.is(svc!.clientId, client.clientId);
    await client.publish(1234n, 1, { name: 'wire' }, 5).then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /old-generation/));
    const clients = await client.clients();
    const me = clients.find((c) => c.clientId === client.clientId)!;
    assert.is(me.version, 3);
    assert.type(me.idle, 'number');
    assert.ok((await client.trackQuery()) >= 0);
    const matches: string[] = [];
    await client.subscribe(55n, (e) => { if (e.type === 'match') matches.push(e.match.matchType); }, '(name=wire)');
    assert.equal((await client.subscriptions()).map((s) => [s.subscriptionId, s.filter]), [[55n, '(name=wire)']]);
    await client.unpublish(1234n);
    await client.unsubscribe(55n);
    assert.equal(matches, ['appeared', 'disappeared']);
    assert.equal(await client.services(), []);
  } finally {
    client.close();
  }
  // v2 only: clients without the v3 fields, and no track.
  const v2 = await WireClient.connect(address, { maxVersion: 2 });
  assert.is(v2.version, 2);
  const [entry] = await v2.clients();
  assert.is(entry!.idle, undefined);
  await v2.track().then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /version 3/));
  v2.close();
});

t('wire client resolves a domain name to its first server', async (env) => {
  env.servers = await startServers(2);
  const { dir, name } = writeDomain(env.servers);
  const client = await WireClient.connect(name, { domainsDir: dir });
  assert.is(client.remoteAddress, env.servers[0]!.addresses[0]);
  client.close();
});

t('a domain of two servers: one merged stream, the service on both servers, detach cleans up', async (env) => {
  env.servers = await startServers(2);
  const { dir, name } = writeDomain(env.servers);
  const subscriber = await attachTo(env, name, { domainsDir: dir });
  const producer = await attachTo(env, name, { domainsDir: dir });
  const events = new Events();
  const sub = subscriber.subscribe('(name=two)', events.listener);
  const svc = producer.publish({ name: 'two', port: [8080] }, { ttl: 5 });
  await withTimeout(producer.whenSynced(), 'producer sync');
  await events.wait((e) => e.type === 'appeared', 'appeared');
  for (const s of env.servers) {
    const [listed] = await listServices(s.addresses[0]!);
    assert.is(listed!.id, svc.id);
    assert.equal(listed!.props, { name: ['two'], port: [8080n] });
  }
  svc.modify({ name: 'two', port: [8081] });
  const modified = await events.wait((e) => e.type === 'modified', 'modified');
  assert.equal(modified.props.get('port'), [8081n]);
  assert.is(modified.generation, 1n);
  svc.modify({ port: [8081], name: 'two' });                    // same props: no new generation
  assert.is(svc.generation, 1n);
  await producer.detach();
  await events.wait((e) => e.type === 'disappeared', 'disappeared');
  for (const s of env.servers) assert.equal(await listServices(s.addresses[0]!), []);
  assert.equal(events.of(svc.id), ['appeared', 'modified', 'disappeared'], 'one event per change despite two servers');
  assert.equal(sub.matches(), []);
  assert.throws(() => producer.publish({ a: 1 }), (err: PafError) => err.code === PafErrorCode.DETACHED);
});

t('SIGKILL of one of three servers: no false disappeared, state restored after restart on the same port', async (env) => {
  env.servers = await startServers(3);
  const { dir, name } = writeDomain(env.servers);
  const subscriber = await attachTo(env, name, { domainsDir: dir });
  const producer = await attachTo(env, name, { domainsDir: dir });
  const events = new Events();
  const sub = subscriber.subscribe(null, events.listener);
  const svc = producer.publish({ name: 'survivor' }, { ttl: 5 });
  await withTimeout(Promise.all([producer.whenSynced(), subscriber.whenSynced()]), 'initial sync');
  await events.wait((e) => e.type === 'appeared' && e.serviceId === svc.id, 'appeared');

  const victim = env.servers[1]!;
  const address = victim.addresses[0]!;
  const lost = Promise.all([
    waitEvent(producer, 'disconnected', (a: string) => a === address),
    waitEvent(subscriber, 'disconnected', (a: string) => a === address),
  ]);
  await victim.stop('SIGKILL');
  await lost;
  const back = Promise.all([
    waitEvent(producer, 'connected', (a: string) => a === address),
    waitEvent(subscriber, 'connected', (a: string) => a === address),
  ]);
  const restarted = await restartOn(address);
  env.servers[1] = restarted;
  await back;
  await withTimeout(Promise.all([producer.whenSynced(), subscriber.whenSynced()]), 'sync after restart');

  // The restarted server got the service (same id and generation) and the subscription back.
  const listed = await listServices(address);
  assert.equal(listed.map((s) => [s.id, s.generation, s.orphan]), [[svc.id, 0n, false]]);
  assert.equal(await listSubscriptions(address), [sub.id]);
  assert.equal(events.of(svc.id), ['appeared'], 'the service never looked gone');

  // Everything still works through all three servers.
  svc.modify({ name: 'survivor', round: 2 });
  await events.wait((e) => e.type === 'modified', 'modified');
  await withTimeout(producer.whenSynced(), 'sync after modify');
  for (const s of env.servers) assert.equal((await listServices(s.addresses[0]!)).map((x) => x.generation), [1n]);
  assert.equal(events.of(svc.id), ['appeared', 'modified']);
  assert.equal(sub.matches().map((m) => m.serviceId), [svc.id]);
});

t('SIGKILL of one of two servers while the service changes: the restarted server catches up', async (env) => {
  env.servers = await startServers(2);
  const { dir, name } = writeDomain(env.servers);
  const producer = await attachTo(env, name, { domainsDir: dir });
  const svc = producer.publish({ name: 'moving' }, { ttl: 5 });
  await withTimeout(producer.whenSynced(), 'sync');
  const address = env.servers[0]!.addresses[0]!;
  await env.servers[0]!.stop('SIGKILL');
  svc.modify({ name: 'moving', step: 1 });
  const gone = producer.publish({ name: 'extra' }, { ttl: 5 });
  gone.unpublish();
  const kept = producer.publish({ name: 'new' }, { ttl: 5 });
  env.servers[0] = await restartOn(address);
  await withTimeout(producer.whenSynced(), 'sync after restart');
  const listed = (await listServices(address)).sort((a, b) => (a.id < b.id ? -1 : 1));
  const expected = [[svc.id, 1n], [kept.id, 0n]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  assert.equal(listed.map((s) => [s.id, s.generation]), expected);
});

t('a producer process killed with SIGKILL is seen as orphaned, then gone after its TTL', async (env) => {
  env.servers = await startServers(2);
  const addresses = env.servers.map((s) => s.addresses[0]!);
  const subscriber = await attachTo(env, { servers: addresses });
  const orphanAware = new Events();
  const plain = new Events();
  subscriber.subscribe('(name=producer)', orphanAware.listener, { orphanEvents: true });
  subscriber.subscribe('(name=producer)', plain.listener);

  const ttl = 1;
  const child = spawn(process.execPath, [__filename], {
    env: { ...process.env, [PRODUCER_ENV]: addresses.join(','), PAF_TEST_TTL: String(ttl) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  env.children.push(child);
  const id = await withTimeout(new Promise<bigint>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /published (\d+)\n/.exec(out);
      if (m) resolve(BigInt(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`producer exited with ${code}`)));
  }), 'producer start');
  const appeared = await orphanAware.wait((e) => e.type === 'appeared' && e.serviceId === id, 'appeared');
  assert.is(appeared.orphanSince, undefined);
  assert.equal(appeared.props.get('pid'), [BigInt(child.pid!)]);

  const killedAt = Date.now() / 1000;
  child.kill('SIGKILL');
  const orphaned = await orphanAware.wait((e) => e.type === 'modified' && e.serviceId === id, 'orphan modification');
  assert.ok(orphaned.orphanSince !== undefined && Math.abs(orphaned.orphanSince - killedAt) < 1, `orphan since ${orphaned.orphanSince}, killed at ${killedAt}`);
  for (const a of addresses) assert.equal((await listServices(a)).map((s) => [s.id, s.orphan]), [[id, true]]);

  const gone = await orphanAware.wait((e) => e.type === 'disappeared' && e.serviceId === id, 'disappeared', 4000);
  const goneAfter = Date.now() / 1000 - killedAt;
  assert.ok(goneAfter >= ttl - 0.05 && goneAfter < ttl + 1.5, `disappeared ${goneAfter.toFixed(3)} s after the kill`);
  assert.is(gone.orphanSince, orphaned.orphanSince);
  await plain.wait((e) => e.type === 'disappeared', 'disappeared (plain)');
  assert.equal(orphanAware.of(id), ['appeared', 'modified', 'disappeared']);
  assert.equal(plain.of(id), ['appeared', 'disappeared'], 'without orphanEvents the orphan state is not reported');
  for (const a of addresses) assert.equal(await listServices(a), []);
});

t('close() leaves the services as orphans; the domain file rescan adds and removes servers', async (env) => {
  env.servers = await startServers(2);
  const [a, b] = env.servers.map((s) => s.addresses[0]!) as [string, string];
  const dir = tempDir('paf-domains-');
  writeFileSync(join(dir, 'grow'), `${a}\n`);
  const traces: string[] = [];
  const ctx = await attachTo(env, 'grow', { domainsDir: dir, rescan: 0.1, debug: (line) => traces.push(line) });
  const svc = ctx.publish({ name: 'growing' }, { ttl: 30 });
  await withTimeout(ctx.whenSynced(), 'sync');
  assert.equal(ctx.servers().map((s) => [s.address, s.state, s.version]), [[a, 'operational', 3]]);
  assert.equal(await listServices(b), []);

  const connected = waitEvent(ctx, 'connected', (addr: string) => addr === b);
  writeFileSync(join(dir, 'grow'), `# two now\n${a}\n${b}\n`);
  await connected;
  await withTimeout(ctx.whenSynced(), 'sync with the second server');
  assert.equal((await listServices(b)).map((s) => s.id), [svc.id]);

  // A broken file keeps the current servers; removing a server drops its link.
  writeFileSync(join(dir, 'grow'), `${a} \n`);
  let deadline = Date.now() + WAIT_MS;
  while (!traces.some((l) => /domain file grow: .*keeping 2 server/.test(l))) {
    if (Date.now() > deadline) assert.unreachable(`broken file not noticed: ${traces.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(ctx.servers().map((s) => s.state), ['operational', 'operational']);
  writeFileSync(join(dir, 'grow'), `${b}\n`);
  deadline = Date.now() + WAIT_MS;
  while (ctx.servers().length !== 1) {
    if (Date.now() > deadline) assert.unreachable(`servers: ${JSON.stringify(ctx.servers())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(ctx.servers().map((s) => s.address), [b]);
  assert.equal((await listServices(a)).map((s) => [s.id, s.orphan]), [[svc.id, true]], 'the dropped link orphaned it on a');

  ctx.close();
  const deadline2 = Date.now() + WAIT_MS;
  for (;;) {
    const listed = await listServices(b);
    if (listed.length === 1 && listed[0]!.orphan) break;
    if (Date.now() > deadline2) assert.unreachable(`not orphaned on ${b}: ${JSON.stringify(listed, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
});

t('attach never fails for a missing domain file or server; client-side checks throw libpaf errors', async (env) => {
  const dir = tempDir('paf-domains-');
  const ctx = await attachTo(env, 'nothing-here', { domainsDir: dir });
  assert.equal(ctx.servers(), []);
  await ctx.whenSynced();                                   // no servers: trivially in sync
  const unreachable = await attachTo(env, { servers: ['tcp:127.0.0.1:1'] });
  unreachable.publish({ a: 1 });
  assert.equal(unreachable.servers().map((s) => s.address), ['tcp:127.0.0.1:1']);

  const code = (fn: () => unknown): number => {
    try { fn(); } catch (err) { return (err as PafError).code; }
    return 0;
  };
  assert.is(code(() => ctx.subscribe('[a=b)', () => {})), PafErrorCode.INVALID_FILTER_SYNTAX);   // docs/discrepancies.md C8
  assert.is(code(() => ctx.subscribe('', () => {})), PafErrorCode.INVALID_FILTER_SYNTAX);
  assert.is(code(() => ctx.subscribe(`(a=${'x'.repeat(8200)})`, () => {})), PafErrorCode.FILTER_TOO_LARGE);
  assert.is(code(() => ctx.publish({ big: 'x'.repeat(32768) })), PafErrorCode.PROPS_TOO_LARGE);
  assert.is(code(() => ctx.publish({ n: 1.5 })), PafErrorCode.INVALID_ARGUMENT);
  assert.is(code(() => ctx.modify(5n, { a: 1 })), PafErrorCode.GENERIC);
  const svc = ctx.publish({ a: 'x' }, { ttl: 0.5 });
  assert.is(svc.ttl, 1, 'a TTL between 0 and 1 becomes 1');
  svc.setTtl(7);
  assert.is(svc.generation, 1n);
  ctx.close();
  assert.is(code(() => ctx.publish({ a: 1 })), PafErrorCode.DETACHED);
});

t('ux and utls transports: utls uses the UX half when there is one, TLS otherwise', async (env) => {
  const pki = makeTestPki();
  const serverTls = `tls: {cert: ${pki.server.cert}, key: ${pki.server.key}, tc: ${pki.rootCa}}`;
  const clientTls = { cert: pki.alice.cert, key: pki.alice.key, tc: pki.rootCa };
  const uxName = `ux:paf-client-test-${process.pid}`;
  const both = await startPafd([], { config: `domains:\n  - sockets:\n      - ${uxName}\n      - {addr: 'utls:127.0.0.1:0', ${serverTls}}\n` });
  const tlsOnly = await startPafd([], { config: `domains:\n  - sockets:\n      - {addr: 'tls:127.0.0.1:0', ${serverTls}}\n` });
  env.servers = [both, tlsOnly];
  const utlsAddress = both.addresses.find((a) => a.startsWith('utls:'))!;
  const tlsPort = tlsOnly.addresses[0]!.slice(tlsOnly.addresses[0]!.lastIndexOf(':') + 1);

  const viaUx = await WireClient.connect({ address: utlsAddress, tls: clientTls });
  const viaTls = await WireClient.connect({ address: `utls:127.0.0.1:${tlsPort}`, tls: clientTls });
  const plainUx = await WireClient.connect(uxName);
  try {
    const seen = async (c: WireClient): Promise<string> => (await c.clients()).find((x) => x.clientId === c.clientId)!.address;
    assert.match(await seen(viaUx), /^ux:/);
    assert.match(await seen(viaTls), /^tls:127\.0\.0\.1:/);
    assert.match(await seen(plainUx), /^ux:/);
    // The context publishes over ux as well.
    const ctx = await attachTo(env, { servers: [uxName] });
    const svc = ctx.publish({ name: 'local' }, { ttl: 5 });
    await withTimeout(ctx.whenSynced(), 'sync over ux');
    assert.equal((await plainUx.services()).map((x) => x.serviceId), [svc.id]);
  } finally {
    for (const c of [viaUx, viaTls, plainUx]) c.close();
  }
});

/** Child-process mode: publish one service on the given servers, print its id, wait to be killed. */
async function runProducer(): Promise<void> {
  const servers = process.env[PRODUCER_ENV]!.split(',');
  const ctx = await attach({ servers }, { ...FAST, ttl: Number(process.env.PAF_TEST_TTL ?? '1') });
  const svc = ctx.publish({ name: 'producer', pid: process.pid });
  await ctx.whenSynced();
  process.stdout.write(`published ${svc.id}\n`);
}

if (process.env[PRODUCER_ENV] !== undefined) {
  runProducer().catch((err) => {
    process.stderr.write(`producer: ${(err as Error).stack}\n`);
    process.exit(1);
  });
} else {
  t.run();
}
