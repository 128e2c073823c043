// Issue 8 §3, faults: processes killed with SIGKILL and a network that
// goes silent, each with the client library (src/client) on the other end.
//   1. pafd killed under N attached contexts and restarted on the same
//      address: every service and subscription is back, and how fast.
//   2. producer processes killed: their services are orphaned at once and
//      disappear at orphan-since + TTL (docs/semantics.md §6.2: ±0.25 s).
//   3. a partition under tracked v3 clients (tcp-proxy.ts): pafd and the
//      library each notice within the idle bounds of docs/semantics.md §7.3 and
//      docs/client-library.md §5.6; after the partition heals the service is
//      reclaimed.
//   4. one of two servers of a domain killed: a subscriber of the library
//      never sees a service disappear.
//
// The producers of scenario 2 are child processes running this same
// bundled file with FAULT_PRODUCER_ENV set (see runProducer at the end),
// as test/component/client-library.test.ts does: they run exactly the
// library code under test, with no second build step.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttachOptions, Context, MatchEvent, Subscription } from '../../src/client/index';
import { attach } from '../../src/client/index';
import { stringifyJson } from '../../src/protocol/json';
import type { Pafd } from '../helpers/pafd';
import { startPafd } from '../helpers/pafd';
import type { Msg } from './harness';
import { Peer, alive, figure, load, nowMs, pace, percentile } from './harness';
import type { Pipe } from './tcp-proxy';
import { SilenceableProxy } from './tcp-proxy';

const FAULT_PRODUCER_ENV = 'PAF_FAULT_PRODUCER';

/** Contexts attached to the pafd that is killed (scenario 1). */
const RESTART_CLIENTS = load(100, 1000);
const SERVICES_PER_CLIENT = 3;
/** The whole state must be back within this long after the kill. */
const RESTORE_TIMEOUT_MS = 60_000;

/** Producer processes killed (scenario 2), each publishing a few services. */
const PRODUCERS = load(4, 16);
const SERVICES_PER_PRODUCER = 3;
/** Producer i publishes with TTL PRODUCER_TTLS[i % length] seconds. */
const PRODUCER_TTLS = [1, 2, 3];
/** docs/semantics.md §6.2: expiry within 0.25 s of orphan-since + TTL (the conformance suite's tolerance). */
const EXPIRY_TOLERANCE_S = 0.25;
/**
 * "Orphaned at once": the kernel closes a killed process's sockets as it
 * reaps it; pafd sees the close and stamps orphan-since within this bound
 * (process teardown and a loaded 2-core machine included).
 */
const ORPHAN_AT_ONCE_S = 1;

/** Tracked v3 library clients behind a partition (scenario 3), one proxy each. */
const SILENT_CLIENTS = load(3, 20);
/** pafd's idle limits for scenario 3 (domain `idle`), and the library's own. */
const IDLE_MIN_S = 1;
const IDLE_MAX_S = 2;
/** Well above IDLE_MAX_S: max_idle is IDLE_MAX_S on both ends, and the orphan outlives the partition. */
const SILENT_TTL_S = 10;
/**
 * Added to the upper timing bounds: the close or the event still needs a
 * few event-loop turns on a loaded 2-core machine (as robust.ts's
 * SCHEDULING_SLACK_S), and pafd's timer fires a little late on purpose.
 */
const SLACK_S = 0.15;
/** Wall clocks have millisecond steps; lower bounds allow this much. */
const CLOCK_STEP_S = 0.01;

/** Services of the producer context in the two-server domain (scenario 4). */
const TWO_SERVER_SERVICES = load(50, 500);
const TWO_SERVER_TTL_S = 2;
/** After the lost link: watch this long past the TTL for a false disappeared. */
const PAST_TTL_S = 1.5;

const WAIT_MS = 10_000;

/** Wall-clock time in seconds, the clock of orphan-since. */
function wallS(): number {
  return Date.now() / 1000;
}

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** Resolves with the first `disconnected` event of ctx from address (its time and reason). */
function lostLink(ctx: Context, address: string): Promise<{ at: number; reason: string }> {
  return new Promise((resolve) => {
    const check = (a: string, reason: string): void => {
      if (a !== address) return;
      ctx.off('disconnected', check);
      resolve({ at: wallS(), reason });
    };
    ctx.on('disconnected', check);
  });
}

/** Restarts a killed server on its old address; the port may be briefly unavailable. */
async function restartOn(address: string): Promise<Pafd> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startPafd(['-l', 'info', address]);
    } catch (err) {
      if (attempt >= 20) throw err;
      await pace(50);
    }
  }
}

/** Runs a `subscriptions` listing to completion (the harness Peer lists services only). */
function listSubscriptions(peer: Peer): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const out: Msg[] = [];
    peer.stream('subscriptions', {}, (m) => {
      const type = m['msg-type'];
      if (type === 'notify') out.push(m);
      else if (type === 'complete') resolve(out);
      else if (type === 'fail') reject(new Error(`subscriptions failed: ${stringifyJson(m)}`));
    });
  });
}

/**
 * A wire-level subscription on a Peer: every notification with its
 * arrival time, and a wait for a condition over what has arrived.
 */
class Watch {
  readonly seen: { m: Msg; at: number }[] = [];
  /** Every service id notified so far (kept as they come: cheap to ask after each notification). */
  readonly anyIds = new Set<bigint>();
  private waiters: { done: () => boolean; resolve: () => void }[] = [];

  constructor(peer: Peer, subscriptionId: bigint, filter: string) {
    peer.stream('subscribe', { 'subscription-id': subscriptionId, filter }, (m) => {
      if (m['msg-type'] !== 'notify') return;
      this.seen.push({ m, at: wallS() });
      this.anyIds.add(m['service-id'] as bigint);
      this.waiters = this.waiters.filter((w) => (w.done() ? (w.resolve(), false) : true));
    });
  }

  /** Resolves once done() holds (checked now and on every notification). */
  until(done: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => { this.waiters.push({ done, resolve }); }), what, ms);
  }

  of(id: bigint): { m: Msg; at: number }[] {
    return this.seen.filter((s) => s.m['service-id'] === id);
  }

  /** Ids with a notification satisfying pred. */
  ids(pred: (m: Msg) => boolean): Set<bigint> {
    return new Set(this.seen.filter((s) => pred(s.m)).map((s) => s.m['service-id'] as bigint));
  }
}

const isOrphaned = (m: Msg): boolean => m['match-type'] === 'modified' && m['orphan-since'] !== undefined;
const isGone = (m: Msg): boolean => m['match-type'] === 'disappeared';

/** Counts a library subscription's events by type. */
class Tally {
  readonly events: MatchEvent[] = [];
  private waiters: { done: () => boolean; resolve: () => void }[] = [];
  readonly listener = (e: MatchEvent): void => {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => (w.done() ? (w.resolve(), false) : true));
  };

  count(type: MatchEvent['type'], from = 0): number {
    let n = 0;
    for (let i = from; i < this.events.length; i++) if (this.events[i]!.type === type) n++;
    return n;
  }

  until(done: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => { this.waiters.push({ done, resolve }); }), what, ms);
  }
}

function range(lo: number, hi: number): string {
  return `${lo.toFixed(3)}–${hi.toFixed(3)} s`;
}

interface Env { servers: Pafd[]; contexts: Context[]; children: ChildProcess[]; peers: Peer[]; proxies: SilenceableProxy[] }
const t = suite<Env>('faults', { servers: [], contexts: [], children: [], peers: [], proxies: [] });
t.before.each((env) => { env.servers = []; env.contexts = []; env.children = []; env.peers = []; env.proxies = []; });
t.after.each(async (env) => {
  for (const c of env.contexts) c.close();
  for (const p of env.peers) p.close();
  for (const p of env.proxies) p.close();
  for (const child of env.children) if (alive(child)) child.kill('SIGKILL');
  await Promise.all(env.servers.map((s) => s.stop('SIGKILL')));
});

async function attachTo(env: Env, servers: string[], opts: AttachOptions = {}): Promise<Context> {
  const ctx = await attach({ servers }, { rescan: 0, ...opts });
  env.contexts.push(ctx);
  return ctx;
}

async function observer(env: Env, address: string, clientId: bigint): Promise<Peer> {
  const peer = await Peer.open(address, clientId);       // v2: never idled out
  env.peers.push(peer);
  return peer;
}

t('SIGKILL of pafd under attached library clients: every service and subscription is back after a restart', async (env) => {
  const first = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  env.servers.push(first);
  const address = first.addresses[0]!;
  const serviceIds = new Set<bigint>();
  const subs: Subscription[] = [];
  const tallies: Tally[] = [];
  // Why links restarted while pafd was away, by reason (from the library's trace).
  const restarts = new Map<string, number>();
  const countRestart = (line: string): void => {
    const m = /restarting: (.*)$/.exec(line);
    if (m) {
      const reason = m[1]!.replace(/\d+(\.\d+)? s\b/, 'N s').replace(/(connect failed: ).*/, '$1...');
      restarts.set(reason, (restarts.get(reason) ?? 0) + 1);
    }
  };
  for (let i = 0; i < RESTART_CLIENTS; i++) {
    // Library defaults for reconnect back-off: the figure is what an application gets.
    const ctx = await attachTo(env, [address], { debug: countRestart });
    for (let k = 0; k < SERVICES_PER_CLIENT; k++) {
      serviceIds.add(ctx.publish({ fault: 'pafd-restart', client: `c${i}`, n: k }, { ttl: 30 }).id);
    }
    const tally = new Tally();
    tallies.push(tally);
    subs.push(ctx.subscribe(`(&(fault=pafd-restart)(client=c${i}))`, tally.listener));
  }
  await withTimeout(Promise.all(env.contexts.map((c) => c.whenSynced())), 'initial sync', RESTORE_TIMEOUT_MS);
  const probe = await observer(env, address, 9001n);
  assert.is((await probe.listServices()).length, serviceIds.size, 'every service published before the kill');
  assert.is((await listSubscriptions(probe)).length, RESTART_CLIENTS, 'every subscription made before the kill');
  probe.close();

  const lost = Promise.all(env.contexts.map((c) => lostLink(c, address)));
  const killedAt = nowMs();
  await first.stop('SIGKILL');
  await withTimeout(lost, 'every context noticing the kill');
  const reconnectedAt: number[] = [];
  for (const c of env.contexts) c.once('connected', () => { reconnectedAt.push(nowMs()); });
  restarts.clear();
  const second = await restartOn(address);
  env.servers.push(second);
  const upAt = nowMs();

  // The wire's view: a match-all subscription on the new pafd sees every service come back.
  const watcher = await observer(env, address, 9002n);
  const watch = new Watch(watcher, 9003n, '(fault=pafd-restart)');
  let servicesBackAt = 0;
  const servicesBack = watch.until(() => watch.anyIds.size >= serviceIds.size, 'every service re-appearing', RESTORE_TIMEOUT_MS)
    .then(() => { servicesBackAt = nowMs(); });
  await withTimeout(Promise.all(env.contexts.map((c) => c.whenSynced())), 'sync after the restart', RESTORE_TIMEOUT_MS);
  const syncedAt = nowMs();
  await servicesBack;

  const listed = await watcher.listServices();
  const listedIds = new Set(listed.map((m) => m['service-id'] as bigint));
  assert.is(listed.length, serviceIds.size, 'no service listed twice or extra');
  for (const id of serviceIds) assert.ok(listedIds.has(id), `service ${id} is back`);
  assert.is(listed.filter((m) => m['orphan-since'] !== undefined).length, 0, 'every service is owned by a live connection');
  const subIds = new Set((await listSubscriptions(watcher)).map((m) => m['subscription-id'] as bigint));
  for (const s of subs) assert.ok(subIds.has(s.id), `subscription ${s.id} is back`);
  assert.is(subIds.size, RESTART_CLIENTS + 1, 'the clients\' subscriptions and the watcher\'s');
  const listedAt = nowMs();
  // The applications' view: nothing disappeared, every subscription still holds its own services.
  assert.is(tallies.reduce((n, x) => n + x.count('disappeared'), 0), 0, 'no disappeared in any subscription');
  for (const s of subs) assert.is(s.matches().length, SERVICES_PER_CLIENT);
  assert.ok(alive(second.proc));
  assert.is(reconnectedAt.length, RESTART_CLIENTS, 'every context reconnected once');
  const sinceUp = reconnectedAt.map((at) => (at - upAt) / 1000);
  const why = [...restarts].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n}× ${reason}`).join(', ');

  figure('SIGKILL of pafd', `${RESTART_CLIENTS} library clients × (${SERVICES_PER_CLIENT} services + 1 subscription)`,
    `restarted pafd up ${((upAt - killedAt) / 1000).toFixed(2)} s after the kill; every service re-appeared `
    + `${((servicesBackAt - killedAt) / 1000).toFixed(2)} s, every context in sync ${((syncedAt - killedAt) / 1000).toFixed(2)} s `
    + `after the kill (${((syncedAt - upAt) / 1000).toFixed(2)} s after pafd was up); listings confirmed at `
    + `${((listedAt - killedAt) / 1000).toFixed(2)} s; contexts reconnected p50 ${percentile(sinceUp, 50).toFixed(2)} s, `
    + `p90 ${percentile(sinceUp, 90).toFixed(2)} s, max ${Math.max(...sinceUp).toFixed(2)} s after pafd was up; `
    + `link restarts meanwhile: ${why}; 0 disappeared`);
});

/** Starts a producer process; resolves with the ids it published once they are on the server. */
function startProducer(env: Env, address: string, index: number, ttl: number): Promise<{ child: ChildProcess; ids: bigint[] }> {
  const child = spawn(process.execPath, [__filename], {
    env: { ...process.env, [FAULT_PRODUCER_ENV]: address, PAF_FAULT_INDEX: String(index), PAF_FAULT_TTL: String(ttl) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  env.children.push(child);
  return withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /published ([\d,]+)\n/.exec(out);
      if (m) resolve({ child, ids: m[1]!.split(',').map((s) => BigInt(s)) });
    });
    child.once('exit', (code) => reject(new Error(`producer ${index} exited with ${code}`)));
  }), `producer ${index} start`, 30_000);
}

t('SIGKILL of producer processes: each service is orphaned at once and disappears at orphan-since + TTL', async (env) => {
  const pafd = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  env.servers.push(pafd);
  const address = pafd.addresses[0]!;
  const watch = new Watch(await observer(env, address, 9101n), 9102n, '(fault=producer-kill)');
  const producers = await Promise.all(Array.from({ length: PRODUCERS }, (_, i) => startProducer(env, address, i, PRODUCER_TTLS[i % PRODUCER_TTLS.length]!)));
  const all = producers.flatMap((p) => p.ids);
  assert.is(new Set(all).size, PRODUCERS * SERVICES_PER_PRODUCER);
  await watch.until(() => watch.ids((m) => m['match-type'] === 'appeared').size === all.length, 'every service appearing');

  const killedAt = new Map<bigint, number>();
  for (const p of producers) {
    const at = wallS();
    p.child.kill('SIGKILL');
    for (const id of p.ids) killedAt.set(id, at);
  }
  const maxTtl = Math.max(...PRODUCER_TTLS);
  await watch.until(() => watch.ids(isGone).size === all.length, 'every service disappearing', (maxTtl + 5) * 1000);

  const orphanDelays: number[] = [];
  const expiryErrors: number[] = [];
  for (const p of producers) {
    for (const id of p.ids) {
      const events = watch.of(id);
      assert.equal(events.map((e) => e.m['match-type']), ['appeared', 'modified', 'disappeared'], `notifications of service ${id}`);
      const appeared = events[0]!.m, orphaned = events[1]!.m;
      assert.is(appeared['orphan-since'], undefined);
      assert.ok(orphaned['orphan-since'] !== undefined, 'the modified notification carries orphan-since');
      assert.equal(orphaned['service-props'], appeared['service-props'], 'only the orphan state changed');
      const orphanSince = Number(orphaned['orphan-since']);
      const ttl = Number(orphaned.ttl);
      const delay = orphanSince - killedAt.get(id)!;
      orphanDelays.push(delay);
      assert.ok(delay >= -CLOCK_STEP_S && delay <= ORPHAN_AT_ONCE_S, `service ${id} orphaned ${delay.toFixed(3)} s after the kill`);
      const error = events[2]!.at - (orphanSince + ttl);
      expiryErrors.push(error);
      assert.ok(Math.abs(error) <= EXPIRY_TOLERANCE_S, `service ${id} (ttl ${ttl}) disappeared ${error.toFixed(3)} s off orphan-since + TTL`);
    }
  }
  assert.equal(await (env.peers[0]!).listServices(), [], 'nothing left on the server');

  figure('SIGKILL of producers', `${PRODUCERS} producer processes × ${SERVICES_PER_PRODUCER} services, TTL ${PRODUCER_TTLS.join('/')} s`,
    `orphan-since ${range(Math.min(...orphanDelays), Math.max(...orphanDelays))} after the kill; disappeared at orphan-since + TTL `
    + `${range(Math.min(...expiryErrors), Math.max(...expiryErrors))} (p50 ${percentile(expiryErrors, 50).toFixed(3)} s; bound ±${EXPIRY_TOLERANCE_S} s)`);
});

t('a silent network under tracked v3 clients: pafd and the library both notice within the idle bounds', async (env) => {
  const pafd = await startPafd([], {
    config: `domains:\n  - sockets: ['tcp:127.0.0.1:0']\n    idle: {min: ${IDLE_MIN_S}, max: ${IDLE_MAX_S}}\n`,
  });
  env.servers.push(pafd);
  const address = pafd.addresses[0]!;
  const watch = new Watch(await observer(env, address, 9201n), 9202n, '(fault=silent)');
  const clients: { proxy: SilenceableProxy; ctx: Context; id: bigint }[] = [];
  for (let i = 0; i < SILENT_CLIENTS; i++) {
    const proxy = await SilenceableProxy.start(address);
    env.proxies.push(proxy);
    const ctx = await attachTo(env, [proxy.address], { idleMin: IDLE_MIN_S, idleMax: IDLE_MAX_S, reconnectMax: 0.5 });
    const id = ctx.publish({ fault: 'silent', client: `c${i}` }, { ttl: SILENT_TTL_S }).id;
    clients.push({ proxy, ctx, id });
  }
  await withTimeout(Promise.all(clients.map((c) => c.ctx.whenSynced())), 'initial sync');
  assert.ok(clients.every((c) => c.ctx.servers()[0]!.version === 3), 'v3 links (they track)');
  await watch.until(() => watch.ids((m) => m['match-type'] === 'appeared').size === SILENT_CLIENTS, 'every service appearing');

  const idleTimeoutsBefore = pafd.log.filter((l) => /disconnected: idle timeout/.test(l)).length;
  const lost = clients.map((c) => lostLink(c.ctx, c.proxy.address));
  const silencedAt = wallS();
  const pipes: Pipe[] = clients.map((c) => {
    const open = c.proxy.silence();
    assert.is(open.length, 1, 'one connection per client');
    return open[0]!;
  });
  const ids = new Set(clients.map((c) => c.id));
  await watch.until(() => [...ids].every((id) => watch.of(id).some((e) => isOrphaned(e.m))), 'pafd orphaning every service', 4 * IDLE_MAX_S * 1000);
  const libraryLost = await withTimeout(Promise.all(lost), 'the library noticing', 4 * IDLE_MAX_S * 1000);
  // The orphan notification may overtake the end of pafd's side of the connection (an orderly close).
  await withTimeout(Promise.all(pipes.map((p) => p.serverClosed)), 'pafd closing every silent connection', 4 * IDLE_MAX_S * 1000);

  // Both ends use max_idle = IDLE_MAX_S: the lowest TTL (SILENT_TTL_S) clamped to the idle limits.
  const maxIdle = IDLE_MAX_S;
  const serverLo = 0.95 * maxIdle, serverHi = 1.05 * maxIdle;      // docs/semantics.md §7.3: query, then no reply
  const clientLo = 0.5 * maxIdle, clientHi = 1.05 * maxIdle + 0.1; // docs/client-library.md §5.6 (a postponed reply deadline can be as short as 0.5·max_idle)
  const serverDelays: number[] = [], serverCloses: number[] = [], clientDelays: number[] = [];
  clients.forEach((c, i) => {
    const pipe = pipes[i]!;
    const orphaned = watch.of(c.id).find((e) => isOrphaned(e.m))!;
    const server = Number(orphaned.m['orphan-since']) - pipe.lastToServer;
    serverDelays.push(server);
    assert.ok(server >= serverLo - CLOCK_STEP_S && server <= serverHi + SLACK_S,
      `pafd orphaned client ${i}'s service ${server.toFixed(3)} s after the last bytes it got (bounds ${range(serverLo, serverHi)})`);
    assert.ok(pipe.serverClosedAt !== undefined, `pafd closed client ${i}'s connection`);
    serverCloses.push(pipe.serverClosedAt! - pipe.lastToServer);
    const client = libraryLost[i]!;
    assert.match(client.reason, /no reply to a track query/, 'the library noticed by its own track query');
    const delay = client.at - pipe.lastToClient;
    clientDelays.push(delay);
    assert.ok(delay >= clientLo - CLOCK_STEP_S && delay <= clientHi + SLACK_S,
      `the library of client ${i} gave up ${delay.toFixed(3)} s after the last bytes from pafd (bounds ${range(clientLo, clientHi)})`);
  });
  // The lines are info: they reach the console up to 50 ms after the closes (src/log/batch.ts).
  await pafd.waitForLogCount(/disconnected: idle timeout/, idleTimeoutsBefore + SILENT_CLIENTS).catch(() => {});
  const idleTimeouts = pafd.log.filter((l) => /disconnected: idle timeout/.test(l)).length - idleTimeoutsBefore;
  assert.is(idleTimeouts, SILENT_CLIENTS, 'pafd logged one idle timeout per silent connection');

  // The partition heals: each library reconnects and reclaims its orphan before its TTL runs out.
  const healedAt = wallS();
  for (const c of clients) c.proxy.heal();
  const reclaimed = (id: bigint): boolean => watch.of(id).some((e) => e.at >= healedAt && e.m['match-type'] === 'modified' && e.m['orphan-since'] === undefined);
  await watch.until(() => [...ids].every(reclaimed), 'every service reclaimed after the partition');
  const recoveries = clients.map((c) => watch.of(c.id).find((e) => e.at >= healedAt && e.m['match-type'] === 'modified' && e.m['orphan-since'] === undefined)!.at - healedAt);
  await withTimeout(Promise.all(clients.map((c) => c.ctx.whenSynced())), 'sync after the partition');
  assert.is(watch.ids(isGone).size, 0, 'no service disappeared');
  assert.equal((await env.peers[0]!.listServices()).filter((m) => m['orphan-since'] !== undefined), [], 'no orphans left');

  figure('silent network', `${SILENT_CLIENTS} tracked v3 library clients, each behind a proxy that stops forwarding; idle ${IDLE_MIN_S}–${IDLE_MAX_S} s`,
    `pafd orphaned the services ${range(Math.min(...serverDelays), Math.max(...serverDelays))} after the last bytes it got `
    + `(bound ${range(serverLo, serverHi)}; closed at ${range(Math.min(...serverCloses), Math.max(...serverCloses))}); `
    + `the library gave up ${range(Math.min(...clientDelays), Math.max(...clientDelays))} after the last bytes from pafd `
    + `(bound ${range(clientLo, clientHi)}); partition ${(healedAt - silencedAt).toFixed(2)} s; reclaimed `
    + `${range(Math.min(...recoveries), Math.max(...recoveries))} after it healed`);
});

t('two servers in a domain, one killed: no service disappears for a subscriber through both', async (env) => {
  env.servers.push(await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']), await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']));
  const addresses = env.servers.map((s) => s.addresses[0]!);
  const fast: AttachOptions = { reconnectMin: 0.01, reconnectMax: 0.5 };
  const producer = await attachTo(env, addresses, fast);
  const consumer = await attachTo(env, addresses, fast);
  const tally = new Tally();
  const sub = consumer.subscribe('(fault=two-servers)', tally.listener);
  const ids = new Set<bigint>();
  for (let n = 0; n < TWO_SERVER_SERVICES; n++) ids.add(producer.publish({ fault: 'two-servers', n }, { ttl: TWO_SERVER_TTL_S }).id);
  await withTimeout(Promise.all([producer.whenSynced(), consumer.whenSynced()]), 'initial sync');
  await tally.until(() => tally.count('appeared') === TWO_SERVER_SERVICES, 'every service appearing');
  for (const a of addresses) {
    const peer = await observer(env, a, 9301n + BigInt(env.peers.length));
    assert.is((await peer.listServices()).length, TWO_SERVER_SERVICES, `every service on ${a}`);
    peer.close();
  }

  const victim = addresses[0]!;
  const fromKill = tally.events.length;
  const lost = Promise.all([lostLink(producer, victim), lostLink(consumer, victim)]);
  const killedAt = nowMs();
  await env.servers[0]!.stop('SIGKILL');
  await withTimeout(lost, 'both contexts noticing the kill');
  const lostAt = nowMs();
  // Nothing to wait for: the claim is that no event comes. A wrongly
  // orphaned service would disappear TTL after the link was lost.
  await pace((TWO_SERVER_TTL_S + PAST_TTL_S) * 1000);
  const duringDisappeared = tally.count('disappeared', fromKill);
  assert.is(duringDisappeared, 0, 'no disappeared while one server is down');
  assert.is(sub.matches().length, TWO_SERVER_SERVICES);
  const survivor = await observer(env, addresses[1]!, 9311n);
  const onSurvivor = await survivor.listServices();
  assert.is(onSurvivor.filter((m) => m['orphan-since'] === undefined).length, TWO_SERVER_SERVICES, 'the survivor still has every service, owned');

  // The killed server comes back on its address and gets everything again.
  env.servers[0] = await restartOn(victim);
  const upAt = nowMs();
  await withTimeout(Promise.all([producer.whenSynced(), consumer.whenSynced()]), 'sync after the restart');
  const syncedAt = nowMs();
  const back = await observer(env, victim, 9312n);
  assert.is((await back.listServices()).length, TWO_SERVER_SERVICES, 'the restarted server has every service');
  assert.is(tally.count('disappeared', fromKill), 0, 'no disappeared after the restart either');
  assert.is(sub.matches().length, TWO_SERVER_SERVICES);
  for (const id of ids) assert.ok(sub.matches().some((m) => m.serviceId === id));

  const after = tally.events.length - fromKill;
  figure('SIGKILL of one of two servers', `${TWO_SERVER_SERVICES} services (TTL ${TWO_SERVER_TTL_S} s) from a producer on both servers, one subscriber on both`,
    `links lost ${((lostAt - killedAt) / 1000).toFixed(2)} s after the kill; watched ${(TWO_SERVER_TTL_S + PAST_TTL_S).toFixed(1)} s past it, `
    + `then restarted (in sync ${((syncedAt - upAt) / 1000).toFixed(2)} s after it was up): `
    + `${tally.count('appeared', fromKill)} appeared, ${tally.count('modified', fromKill)} modified, ${tally.count('disappeared', fromKill)} disappeared `
    + `of ${after} events; ${sub.matches().length}/${TWO_SERVER_SERVICES} matched throughout`);
});

/** Child-process mode: publish SERVICES_PER_PRODUCER services, print their ids, wait to be killed. */
async function runProducer(): Promise<void> {
  const address = process.env[FAULT_PRODUCER_ENV]!;
  const index = process.env.PAF_FAULT_INDEX!;
  const ttl = Number(process.env.PAF_FAULT_TTL);
  const ctx = await attach({ servers: [address] }, { rescan: 0 });
  const ids: bigint[] = [];
  for (let n = 0; n < SERVICES_PER_PRODUCER; n++) ids.push(ctx.publish({ fault: 'producer-kill', producer: index, n }, { ttl }).id);
  await ctx.whenSynced();
  process.stdout.write(`published ${ids.join(',')}\n`);
}

if (process.env[FAULT_PRODUCER_ENV] !== undefined) {
  runProducer().catch((err) => {
    process.stderr.write(`producer: ${(err as Error).stack}\n`);
    process.exit(1);
  });
} else {
  t.run();
}
