#!/usr/bin/env node
// Issue 7's large scenario: 20,000 connected v3 clients with track,
// 100,000 services, 20,000 subscriptions. Spawns pafd and K worker
// processes (build/bench/storm-client.mjs) that hold the clients, then
// measures
//   1. full state: time from the first connect until every client has
//      said hello, opened track, published and subscribed (each request
//      acknowledged by pafd), and pafd's RSS and RssAnon (private
//      anonymous memory, build/bench/proc-memory.mjs) at that point;
//   2. the reconnect storm: every connection closed at once, every client
//      back with the same ids (republish, resubscribe); time from the drop
//      until all is acknowledged again, then checked by a probe client
//      (`services`: all there, none orphaned; `subscriptions`: all there);
//   3. idle CPU: pafd's utime+stime over a window in which the clients
//      only answer track queries, as % of one core.
// The same run against the raw reference server (build/bench/raw-server.mjs
// --notifications: framing, answers and the same notifications as pafd from
// a name index) gives the floor of Node plus the same clients and the same
// bytes: its RSS, full-state and storm times are fair ratios. In the idle
// window it sends track queries itself (--track-period), at the rate pafd's
// liveness sends them (one per client per 0.5·max_idle), and the clients
// answer both alike: the ratio is CPU per round trip.
//
// The clients come from loopback addresses 127.x.y.1, 256 per address, so
// that a storm does not spend its time in the kernel's port search (see
// storm-client.mjs); pafd sees one user (ip:…) per address.
//
//   node build/bench/storm.mjs [--clients N] [--services N] [--subscriptions N]
//     [--workers K] [--window W] [--ttl S] [--idle-seconds S] [--log-level L]
//     [--quick] [--no-raw] [--json] [--pafd <bundle>]
//
// --quick: 500 clients, 2,500 services, 500 subscriptions, TTL 4 (so track
// queries do happen within the short idle window); < 20 s.
// --json: one JSON object on stdout (schema "pafd-storm/1"); progress goes
// to stderr otherwise.

import { spawn, execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchConnection } from './wire.mjs';
import { memoryMiB, statusFieldMiB } from './proc-memory.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const quick = flag('--quick');
const asJson = flag('--json');
const withRaw = !flag('--no-raw');
const pafdBundle = option('--pafd', join(root, 'dist', 'pafd.js'));
/** Node flags for pafd (e.g. a board's heap flags, or --cpu-prof). */
const pafdNodeFlags = option('--node-flags', '').split(' ').filter(Boolean);

const SIZES = quick
  ? { clients: 500, services: 2_500, subscriptions: 500, ttl: 4, idleSeconds: 4 }
  : { clients: 20_000, services: 100_000, subscriptions: 20_000, ttl: 30, idleSeconds: 30 };
const requestedClients = Number(option('--clients', SIZES.clients));
const services = Number(option('--services', SIZES.services));
const subscriptions = Number(option('--subscriptions', SIZES.subscriptions));
const workerCount = Number(option('--workers', 4));
const ttl = Number(option('--ttl', SIZES.ttl));
const idleSeconds = Number(option('--idle-seconds', SIZES.idleSeconds));
const logLevel = option('--log-level', 'info');
// The port is taken from pafd's "listening on" line, logged at info.
if (logLevel !== 'info' && logLevel !== 'debug') throw new Error('--log-level must be info or debug');

/**
 * Connects in flight across all workers: within XCM's listen backlog of
 * 32, so a server with that backlog drops no handshakes either (pafd's is
 * 1024, src/transport/tcp.ts).
 */
const CONNECTS_IN_FLIGHT = 32;
const window = Number(option('--window', Math.max(1, Math.floor(CONNECTS_IN_FLIGHT / workerCount))));
/** Each subscription's filter matches about this many services. */
const MATCHES_PER_SUBSCRIPTION = 5;
const groups = Math.max(1, Math.round(services / MATCHES_PER_SUBSCRIPTION));
/** pafd's default idle limits (docs/semantics.md §7.1): track queries come every ~0.5·max_idle. */
const IDLE_MIN = 4, IDLE_MAX = 30;
const maxIdle = Math.min(IDLE_MAX, Math.max(IDLE_MIN, ttl));
/** Descriptors pafd needs beside its clients: the probe and some slack for Node's own. */
const FD_SLACK = 16;
/** Quiet time after the storm before the idle window, so that its tail is not counted. */
const SETTLE_MS = quick ? 500 : 2000;
/** A phase that takes longer than this is reported as failed (with the workers' counters). */
const PHASE_TIMEOUT_MS = quick ? 60_000 : 300_000;
const PROGRESS_MS = 5000;
const GOALS = { rssMiB: 300, stormMs: 30_000, idleCpuPercent: 2 };

const log = (m) => { if (!asJson) process.stderr.write(`# ${m}\n`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ processes

/**
 * Runs a command with the open-files limit raised as far as allowed:
 * 65536 if we may, else the hard limit (both pafd and the workers need
 * a descriptor per connection).
 */
function spawnWithFds(args, stdio) {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  return spawn('bash', ['-c', script, 'storm', ...args], { stdio });
}

function startServer(kind) {
  const args = kind === 'pafd'
    ? [process.execPath, ...pafdNodeFlags, pafdBundle, '-n', '-s', '-l', logLevel, 'tcp:127.0.0.1:0']
    : [process.execPath, join(root, 'build', 'bench', 'raw-server.mjs'), '0', '--notifications', '--track-period', String(0.5 * maxIdle)];
  const proc = spawnWithFds(args, ['ignore', 'pipe', 'pipe']);
  let tail = '';
  /** Why pafd closed connections, from its log (at info and above): reason → count. */
  const closes = {};
  let partial = '';
  const countCloses = (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    for (const l of lines) {
      const m = /(?:disconnected|closed before handshake): (.*)$/.exec(l);
      if (m) closes[m[1]] = (closes[m[1]] ?? 0) + 1;
    }
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const onData = (d) => {
      countCloses(String(d));
      // Keep only the end: pafd logs a line per connection at info.
      tail = (tail + d).slice(-4000);
      const m = !ready && /listening (?:on tcp:127\.0\.0\.1:)?(\d+)/.exec(tail);
      if (m) {
        ready = true;
        resolve({ kind, proc, pid: proc.pid, port: Number(m[1]), tail: () => tail, closes, stop: () => proc.kill('SIGTERM') });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`${kind} exited with ${code ?? signal}: ${tail}`));
      else if (signal !== 'SIGTERM' && code !== 0) process.stderr.write(`# ${kind} exited with ${code ?? signal}; last output:\n${tail}\n`);
    });
  });
}

/**
 * Peak RSS (VmHWM), kept by the kernel. It has no RssAnon counterpart, so
 * RssAnon is reported at the moments the RSS is, not at the peak.
 */
const peakRssMiB = (pid) => statusFieldMiB(pid, 'VmHWM');

const CLK_TCK = (() => { try { return Number(execSync('getconf CLK_TCK').toString()) || 100; } catch { return 100; } })();

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
/** Busy ticks of the whole machine (all cores) from /proc/stat. */
function machineBusyTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq] = f;
  return user + nice + system + irq + softirq;
}

/**
 * CPU seconds used by pafd, by the workers and by everything else on the
 * machine (other people's test runs on a shared box) between two calls.
 */
class CpuMeter {
  constructor(serverPid, workerPids) {
    this.serverPid = serverPid;
    this.workerPids = workerPids;
    this.last = this.sample();
  }

  sample() {
    return { server: cpuTicks(this.serverPid), workers: this.workerPids.reduce((a, p) => a + cpuTicks(p), 0), machine: machineBusyTicks(), at: performance.now() };
  }

  /** Seconds of CPU since the previous call, and the wall seconds. */
  lap() {
    const now = this.sample(), prev = this.last;
    this.last = now;
    const server = (now.server - prev.server) / CLK_TCK, workers = (now.workers - prev.workers) / CLK_TCK;
    return { wall: (now.at - prev.at) / 1000, server, workers, others: Math.max(0, (now.machine - prev.machine) / CLK_TCK - server - workers) };
  }
}

function openFilesLimit(pid) {
  const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return { soft: Number(m[1]), hard: Number(m[2]) };
}
const openFiles = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** TcpExt ListenOverflows / ListenDrops of this network namespace (SYNs lost to a full accept queue). */
function listenDrops() {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(' '), values = lines[1].split(' ');
  const get = (n) => Number(values[names.indexOf(n)]);
  return { overflows: get('ListenOverflows'), drops: get('ListenDrops') };
}

// ------------------------------------------------------------ workers

class Workers {
  constructor(server, clients) {
    this.procs = [];
    this.fatal = null;
    this.stopping = false;
    /** Callbacks (worker index, message) for every message of a worker. */
    this.listeners = new Set();
    const per = Math.ceil(clients / workerCount);
    for (let w = 0; w < workerCount; w++) {
      const first = w * per, count = Math.max(0, Math.min(per, clients - first));
      const cfg = {
        host: '127.0.0.1', port: server.port,
        raw: server.kind === 'raw', first, count, clients, services, subscriptions, groups, ttl, window,
      };
      const proc = spawnWithFds([process.execPath, join(root, 'build', 'bench', 'storm-client.mjs'), JSON.stringify(cfg)], ['ignore', 'inherit', 'inherit', 'ipc']);
      proc.on('message', (msg) => {
        if (msg.event === 'fatal') this.fatal ??= msg.message;
        for (const l of this.listeners) l(w, msg);
      });
      proc.once('exit', (code) => { if (code !== 0 && !this.stopping) this.fatal ??= `worker ${w} exited with ${code}`; });
      this.procs.push(proc);
    }
  }

  get pids() { return this.procs.map((p) => p.pid); }

  /** Sends cmd to every worker and resolves when each has answered `ready` for it. */
  async phase(cmd, round, what, meter) {
    const ready = new Set();
    const listener = (w, msg) => { if (msg.event === 'ready' && msg.round === round) ready.add(w); };
    this.listeners.add(listener);
    const start = performance.now();
    for (const p of this.procs) p.send({ cmd, round });
    let lastProgress = start;
    try {
      while (ready.size < this.procs.length) {
        if (this.fatal) throw new Error(`${what}: ${this.fatal}`);
        const now = performance.now();
        if (now - start > PHASE_TIMEOUT_MS) {
          throw new Error(`${what}: not done after ${PHASE_TIMEOUT_MS / 1000} s; workers: ${JSON.stringify(await this.stats())}`);
        }
        if (now - lastProgress >= PROGRESS_MS) {
          lastProgress = now;
          const s = await this.stats();
          const c = meter.lap();
          const pct = (v) => `${((100 * v) / c.wall).toFixed(0)}%`;
          log(`${what}: ${s.ready} clients ready after ${((now - start) / 1000).toFixed(0)} s (lost ${s.lostConnections}, hello retries ${s.helloRetries}, slow connects ${s.slowConnects}; CPU pafd ${pct(c.server)}, workers ${pct(c.workers)}, others ${pct(c.others)})`);
        }
        await sleep(5);
      }
    } finally {
      this.listeners.delete(listener);
    }
    return performance.now() - start;
  }

  /** Counters of all workers, summed. */
  stats() {
    return new Promise((resolve) => {
      const got = [];
      const listener = (_w, msg) => {
        if (msg.event !== 'stats') return;
        got.push(msg);
        if (got.length < this.procs.length) return;
        this.listeners.delete(listener);
        const sum = { errorCodes: {} };
        for (const s of got) {
          for (const [k, v] of Object.entries(s)) {
            if (k === 'event') continue;
            if (k === 'errorCodes') for (const [c, n] of Object.entries(v)) sum.errorCodes[c] = (sum.errorCodes[c] ?? 0) + n;
            else if (k.startsWith('max')) sum[k] = Math.max(sum[k] ?? 0, v);
            else sum[k] = (sum[k] ?? 0) + v;
          }
        }
        resolve(sum);
      };
      this.listeners.add(listener);
      for (const p of this.procs) p.send({ cmd: 'stats' });
    });
  }

  stop() {
    this.stopping = true;
    for (const p of this.procs) if (p.connected) p.send({ cmd: 'exit' });
  }
}

// ------------------------------------------------------------ the probe

/**
 * What pafd holds, asked over the wire by a v2 client (no track needed):
 * services (and how many are orphans) and subscriptions.
 */
async function probe(port) {
  const c = await BenchConnection.open(port);
  await c.hello(0x4000_0000);
  const list = (cmd, onNotify) => new Promise((resolve, reject) => {
    c.onNotify = onNotify;
    c.request((ta) => `{"ta-cmd":"${cmd}","ta-id":${ta},"msg-type":"request"}`, (type, text) => {
      if (type !== 'accept') { reject(new Error(`${cmd}: ${text}`)); return; }
      // The same transaction ends with `complete` after the notifications.
      c.waiting.set(Number(/"ta-id":(\d+)/.exec(text)[1]), resolve);
    });
  });
  let svc = 0, orphans = 0, subs = 0;
  await list('services', (text) => { svc++; if (text.includes('"orphan-since"')) orphans++; });
  await list('subscriptions', () => { subs++; });
  c.close();
  return { services: svc, orphans, subscriptions: subs };
}

function checkFull(state, what) {
  const ok = state.services === services && state.orphans === 0 && state.subscriptions === subscriptions;
  if (!ok) throw new Error(`${what}: pafd holds ${JSON.stringify(state)}, expected ${services} services, 0 orphans, ${subscriptions} subscriptions`);
}

// ------------------------------------------------------------ one server

/** How many clients pafd can hold within its open-files limit. */
async function clientCapacity() {
  const server = await startServer('pafd');
  const limit = openFilesLimit(server.pid);
  const base = openFiles(server.pid);
  server.stop();
  return { limit, base, capacity: limit.soft - base - FD_SLACK };
}

async function measure(kind, clients) {
  const r = { kind, cpu: {} };
  const server = await startServer(kind);
  const workers = new Workers(server, clients);
  const phaseCpu = new CpuMeter(server.pid, workers.pids);
  const progressCpu = new CpuMeter(server.pid, workers.pids);
  try {
    const drops0 = listenDrops();
    log(`${kind}: ${clients} clients connect, publish ${services} services, subscribe ${subscriptions}`);
    phaseCpu.lap();
    r.fullStateMs = await workers.phase('connect', 1, `${kind} connect`, progressCpu);
    r.cpu.connect = phaseCpu.lap();
    ({ rssMiB: r.rssMiB, rssAnonMiB: r.rssAnonMiB, rssFileMiB: r.rssFileMiB } = memoryMiB(server.pid));
    r.peakRssAtFullStateMiB = peakRssMiB(server.pid);
    if (kind === 'pafd') {
      r.fullState = await probe(server.port);
      checkFull(r.fullState, 'after connect');
    }
    // The probe's listing of every service is itself a peak: record it apart.
    r.peakRssAfterProbeMiB = peakRssMiB(server.pid);

    log(`${kind}: reconnect storm`);
    const stormStart = performance.now();
    phaseCpu.lap();
    r.stormMs = await workers.phase('drop', 2, `${kind} storm`, progressCpu);
    r.cpu.storm = phaseCpu.lap();
    r.peakRssAfterStormMiB = peakRssMiB(server.pid);
    if (kind === 'pafd') {
      r.afterStorm = await probe(server.port);
      r.stormVerifiedMs = performance.now() - stormStart;
      checkFull(r.afterStorm, 'after the storm');
    }
    ({ rssMiB: r.rssAfterStormMiB, rssAnonMiB: r.rssAnonAfterStormMiB } = memoryMiB(server.pid));
    const drops1 = listenDrops();
    r.listenOverflows = drops1.overflows - drops0.overflows;
    r.listenDrops = drops1.drops - drops0.drops;

    // The raw server queries its tracking clients only from now on, at the
    // rate pafd's liveness comes to (raw-server.mjs --track-period).
    if (kind === 'raw') server.proc.kill('SIGUSR2');
    log(`${kind}: idle ${idleSeconds} s`);
    await sleep(SETTLE_MS);
    const before = await workers.stats();
    phaseCpu.lap();
    await sleep(idleSeconds * 1000);
    const idle = phaseCpu.lap();
    r.cpu.idle = idle;
    const after = await workers.stats();
    r.idleCpuPercent = (100 * idle.server) / idle.wall;
    r.workersIdleCpuPercent = (100 * idle.workers) / idle.wall;
    r.othersIdleCpuPercent = (100 * idle.others) / idle.wall;
    // Round trips in the window: track queries answered.
    r.roundTrips = after.trackAnswers - before.trackAnswers;
    r.roundTripsPerSec = r.roundTrips / idle.wall;
    r.cpuUsPerRoundTrip = r.roundTrips > 0 ? (idle.server * 1e6) / r.roundTrips : null;
    r.lostWhileIdle = after.lostConnections - before.lostConnections;
    ({ rssMiB: r.rssIdleMiB, rssAnonMiB: r.rssAnonIdleMiB } = memoryMiB(server.pid));
    r.peakRssMiB = peakRssMiB(server.pid);
    r.workerStats = after;
    r.serverCloses = server.closes;
    if (after.ready !== clients) throw new Error(`${kind}: only ${after.ready} of ${clients} clients ready after the idle window`);
  } catch (err) {
    err.message += `\n${kind} output tail:\n${server.tail()}`;
    throw err;
  } finally {
    workers.stop();
    server.stop();
  }
  return r;
}

// ------------------------------------------------------------ the run

if (!existsSync(pafdBundle)) {
  if (option('--pafd') !== undefined) throw new Error(`${pafdBundle} does not exist`);
  log('dist/pafd.js missing: building');
  execFileSync(process.execPath, [join(root, 'build', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const started = performance.now();
const fds = await clientCapacity();
const clients = Math.min(requestedClients, fds.capacity);
if (clients < requestedClients) {
  log(`pafd may open ${fds.limit.soft} files (hard limit ${fds.limit.hard}, ${fds.base} in use at start): running ${clients} clients instead of ${requestedClients}`);
}
const perWorker = Math.ceil(clients / workerCount);
if (perWorker + FD_SLACK > fds.limit.soft) throw new Error(`${perWorker} connections per worker exceed the open-files limit ${fds.limit.soft}: use more --workers`);

const ours = await measure('pafd', clients);
const raw = withRaw ? await measure('raw', clients) : null;
const ratio = (a, b) => (a != null && b ? a / b : null);
const steadyQueriesPerSec = clients / (0.5 * maxIdle);

const report = {
  schema: 'pafd-storm/1',
  quick,
  clients, requestedClients, services, subscriptions,
  workers: workerCount, window, ttl, groups, maxIdleSeconds: maxIdle, logLevel,
  openFiles: { soft: fds.limit.soft, hard: fds.limit.hard, pafdAtStart: fds.base, clientCapacity: fds.capacity },
  fullStateMs: ours.fullStateMs,
  rssMiB: ours.rssMiB,
  // Private anonymous memory (V8 heap, malloc) and file-backed pages at full state.
  rssAnonMiB: ours.rssAnonMiB,
  rssFileMiB: ours.rssFileMiB,
  peakRssAtFullStateMiB: ours.peakRssAtFullStateMiB,
  rssAfterStormMiB: ours.rssAfterStormMiB,
  rssIdleMiB: ours.rssIdleMiB,
  rssAnonAfterStormMiB: ours.rssAnonAfterStormMiB,
  rssAnonIdleMiB: ours.rssAnonIdleMiB,
  peakRssMiB: ours.peakRssMiB,
  peakRssAfterProbeMiB: ours.peakRssAfterProbeMiB,
  peakRssAfterStormMiB: ours.peakRssAfterStormMiB,
  stormMs: ours.stormMs,
  stormVerifiedMs: ours.stormVerifiedMs,
  idleCpuPercent: ours.idleCpuPercent,
  idleSeconds,
  trackQueriesPerSec: ours.roundTripsPerSec,
  cpuUsPerTrackQuery: ours.cpuUsPerRoundTrip,
  // In steady state every client is queried once per ~0.5·max_idle; the
  // window above may catch more or less than that (all clients came back
  // together, so their queries come in waves).
  steadyTrackQueriesPerSec: steadyQueriesPerSec,
  idleCpuPercentSteady: ours.cpuUsPerRoundTrip != null ? (ours.cpuUsPerRoundTrip * steadyQueriesPerSec) / 1e4 : null,
  workersIdleCpuPercent: ours.workersIdleCpuPercent,
  othersIdleCpuPercent: ours.othersIdleCpuPercent,
  lostWhileIdle: ours.lostWhileIdle,
  listenOverflows: ours.listenOverflows,
  cpuSeconds: ours.cpu,
  verified: { fullState: ours.fullState, afterStorm: ours.afterStorm },
  clientCounters: ours.workerStats,
  serverCloses: ours.serverCloses,
  raw: raw && {
    fullStateMs: raw.fullStateMs, rssMiB: raw.rssMiB, rssAfterStormMiB: raw.rssAfterStormMiB, rssIdleMiB: raw.rssIdleMiB, peakRssMiB: raw.peakRssMiB,
    peakRssAtFullStateMiB: raw.peakRssAtFullStateMiB, peakRssAfterStormMiB: raw.peakRssAfterStormMiB,
    rssAnonMiB: raw.rssAnonMiB, rssFileMiB: raw.rssFileMiB, rssAnonAfterStormMiB: raw.rssAnonAfterStormMiB, rssAnonIdleMiB: raw.rssAnonIdleMiB,
    stormMs: raw.stormMs, idleCpuPercent: raw.idleCpuPercent, trackQueriesPerSec: raw.roundTripsPerSec, cpuUsPerTrackQuery: raw.cpuUsPerRoundTrip,
    listenOverflows: raw.listenOverflows, cpuSeconds: raw.cpu, clientCounters: raw.workerStats,
  },
  ratio: raw && {
    rss: ratio(ours.rssMiB, raw.rssMiB), rssAnon: ratio(ours.rssAnonMiB, raw.rssAnonMiB), fullState: ratio(ours.fullStateMs, raw.fullStateMs), storm: ratio(ours.stormMs, raw.stormMs),
    idleCpuPerRoundTrip: ratio(ours.cpuUsPerRoundTrip, raw.cpuUsPerRoundTrip),
  },
  goals: GOALS,
  pass: {
    rss: ours.rssMiB <= GOALS.rssMiB,
    peakRss: ours.peakRssMiB <= GOALS.rssMiB,
    storm: ours.stormMs <= GOALS.stormMs,
    idleCpu: ours.idleCpuPercent <= GOALS.idleCpuPercent,
  },
  seconds: (performance.now() - started) / 1000,
};

if (asJson) {
  process.stdout.write(JSON.stringify(report) + '\n');
} else {
  const f = (v, d = 1) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(d));
  const x = (v) => (v == null ? '-' : `${v.toFixed(2)}×`);
  const pair = (a, b, fmt = f) => `${fmt(a)} / ${fmt(b)}`;
  const cpu = (c) => `pafd ${f(c.server)} s, workers ${f(c.workers)} s, others ${f(c.others)} s in ${f(c.wall)} s`;
  const rows = [
    ['what', 'pafd', 'raw Node', 'ratio', 'goal'],
    ['full state from first connect, s', f(ours.fullStateMs / 1000, 2), f(raw?.fullStateMs / 1000, 2), x(report.ratio?.fullState), '-'],
    ['RSS / RssAnon at full state, MiB', pair(ours.rssMiB, ours.rssAnonMiB), pair(raw?.rssMiB, raw?.rssAnonMiB), pair(report.ratio?.rss, report.ratio?.rssAnon, x), `RSS ≤ ${GOALS.rssMiB}`],
    ['peak RSS (VmHWM) until full state, MiB', f(ours.peakRssAtFullStateMiB), f(raw?.peakRssAtFullStateMiB), '-', `≤ ${GOALS.rssMiB}`],
    ['… after the probe listed every service, MiB', f(ours.peakRssAfterProbeMiB), '-', '-', '-'],
    ['… after the storm (before its probe), MiB', f(ours.peakRssAfterStormMiB), f(raw?.peakRssAfterStormMiB), '-', `≤ ${GOALS.rssMiB}`],
    ['… over the whole run, MiB', f(ours.peakRssMiB), f(raw?.peakRssMiB), '-', `≤ ${GOALS.rssMiB}`],
    ['RSS after the storm / after the idle window, MiB', pair(ours.rssAfterStormMiB, ours.rssIdleMiB), pair(raw?.rssAfterStormMiB, raw?.rssIdleMiB), '-', `≤ ${GOALS.rssMiB}`],
    ['… RssAnon, MiB', pair(ours.rssAnonAfterStormMiB, ours.rssAnonIdleMiB), pair(raw?.rssAnonAfterStormMiB, raw?.rssAnonIdleMiB), '-', '-'],
    // The raw reference is only a fair floor while it sends what pafd sends (raw-server.mjs --notifications).
    ['notifications the clients received (both phases)', f(ours.workerStats?.notifies, 0), f(raw?.workerStats?.notifies, 0), '-', 'the same'],
    ['reconnect storm, all acknowledged, s', f(ours.stormMs / 1000, 2), f(raw?.stormMs / 1000, 2), x(report.ratio?.storm), `≤ ${GOALS.stormMs / 1000}`],
    ['… and verified by the probe, s', f(ours.stormVerifiedMs / 1000, 2), '-', '-', '-'],
    [`idle CPU over ${idleSeconds} s, % of one core`, f(ours.idleCpuPercent, 2), f(raw?.idleCpuPercent, 2), '-', `≤ ${GOALS.idleCpuPercent}`],
    ['track queries answered, /s', f(ours.roundTripsPerSec, 0), f(raw?.roundTripsPerSec, 0), '-', `steady ${f(steadyQueriesPerSec, 0)}`],
    ['server CPU per round trip, µs', f(ours.cpuUsPerRoundTrip, 1), f(raw?.cpuUsPerRoundTrip, 1), x(report.ratio?.idleCpuPerRoundTrip), '-'],
    ['idle CPU at the steady query rate, %', f(report.idleCpuPercentSteady, 2), '-', '-', `≤ ${GOALS.idleCpuPercent}`],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  const out = [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)];
  out.push('',
    `${clients} clients${clients < requestedClients ? ` (of ${requestedClients}: open-files limit ${fds.limit.soft})` : ''}, ${services} services, ${subscriptions} subscriptions, ${workerCount} workers × window ${window}, TTL ${ttl} s`,
    `CPU, connect: ${cpu(ours.cpu.connect)}; storm: ${cpu(ours.cpu.storm)}; idle: ${cpu(ours.cpu.idle)}`,
    ...(raw ? [`raw CPU, connect: ${cpu(raw.cpu.connect)}; storm: ${cpu(raw.cpu.storm)}; idle: ${cpu(raw.cpu.idle)}`] : []),
    `verified: ${JSON.stringify(report.verified)}`,
    `client counters: ${JSON.stringify(ours.workerStats)}`,
    `pafd closed connections: ${JSON.stringify(ours.serverCloses)}; machine-wide ListenOverflows during the run: ${ours.listenOverflows}`,
    `${quick ? 'quick' : 'full'} run, ${report.seconds.toFixed(0)} s`);
  process.stdout.write(out.join('\n') + '\n');
}
