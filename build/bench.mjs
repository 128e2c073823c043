#!/usr/bin/env node
// `npm run bench`: the scenarios of issue 7 against our pafd (dist/pafd.js,
// spawned here) and, in the same run, against a raw reference server that
// only frames and answers (build/bench/raw-server.mjs). Prints a table,
// or one JSON object with --json, and writes a PNG of publish rate and
// RSS against directory size. Beside every RSS figure stands RssAnon,
// the private anonymous memory (V8 heap, malloc): RSS also counts the
// node executable's file-backed pages (build/bench/proc-memory.mjs).
//
//   node build/bench.mjs [--quick] [--json] [--png <file>] [--pafd <bundle>]
//                        [--node-flags "<flags>"]
//
// Both servers run with Node's default heap settings (or --node-flags
// "<flags>"); the memory scenario is then run once more for both with the
// heap flags of our smallest board target (targets/armv7-small.env: 1 MiB
// semi-spaces), which trade publish rate for RSS.
//
// --quick: small sizes (CI, < 2 min; the figures mean little, the shape
// of the output is what is checked). Build first: node build/build.mjs.

import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BenchConnection, batched, pingText, pipelined, publishText, subscribeText, unpublishText } from './bench/wire.mjs';
import { Raster, plotPanel } from './bench/png.mjs';
import { memoryMiB } from './bench/proc-memory.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const pngArg = argv.indexOf('--png');
const pafdArg = argv.indexOf('--pafd');
const pafdBundle = pafdArg >= 0 ? argv[pafdArg + 1] : join(root, 'dist', 'pafd.js');
const flagsArg = argv.indexOf('--node-flags');
/** V8 young-generation flag of the smallest board target (targets/armv7-small.env). */
const BOARD_NODE_FLAGS = ['--max-semi-space-size=1'];
const nodeFlags = (flagsArg >= 0 ? argv[flagsArg + 1] : '').split(' ').filter(Boolean);
const pngPath = pngArg >= 0 ? argv[pngArg + 1] : quick ? join(mkdtempSync(join(tmpdir(), 'pafd-bench-')), 'bench.png') : join(root, 'docs', 'performance.png');

const SIZES = quick
  ? { pafbenchServices: 1000, pafbenchSubs: 100, pafbenchRuns: 1, growthMax: 10_000, growthStep: 2_000, clients: 100, fanoutSubs: 1000, fanoutConns: 10, fanoutSamples: 5, pings: 20_000, heapServices: 10_000 }
  : { pafbenchServices: 10_000, pafbenchSubs: 1000, pafbenchRuns: 9, growthMax: 100_000, growthStep: 10_000, clients: 1000, fanoutSubs: 10_000, fanoutConns: 100, fanoutSamples: 20, pings: 200_000, heapServices: 100_000 };
const WINDOW = 1024;
const BATCH = 16;
const log = (m) => { if (!asJson) process.stderr.write(`# ${m}\n`); };

// ------------------------------------------------------------ processes

function start(kind, flags = nodeFlags) {
  const args = kind === 'pafd'
    ? [...flags, pafdBundle, '-n', '-s', '-l', 'info', 'tcp:127.0.0.1:0']
    : [...flags, join(root, 'build', 'bench', 'raw-server.mjs'), '0'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d;
      const m = /listening (?:on tcp:127\.0\.0\.1:)?(\d+)/.exec(text);
      if (m) resolve({ kind, proc, pid: proc.pid, port: Number(m[1]), stop: () => proc.kill('SIGTERM') });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${kind} exited with ${code}: ${text}`)));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const settle = (ms) => new Promise((r) => setTimeout(r, ms));
let clientIds = 1;
async function openClients(port, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const c = await BenchConnection.open(port);
    await c.hello(clientIds++);
    out.push(c);
  }
  return out;
}

// ------------------------------------------------------------ scenarios

/** pafbench's own figures (ms per op) with the pre-population. */
function runPafbench(server) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(root, 'dist', 'pafbench.js'), '--json',
      String(SIZES.pafbenchServices), String(SIZES.pafbenchSubs), `tcp:127.0.0.1:${server.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => code === 0 ? resolve(JSON.parse(out).msPerOp) : reject(new Error(`pafbench: ${err}`)));
  });
}

/** The raw reference of a pafbench figure: batches of 16 requests of the same size, ms per request. */
async function rawBatchMs(server) {
  const [c] = await openClients(server.port, 1);
  const publish = await batched(c, 20, BATCH, (i, ta) => publishText(ta, 900_000 + i, 0, `service-${i}`));
  const ping = await batched(c, 20, BATCH, (_i, ta) => pingText(ta));
  c.close();
  return { publish, ping };
}

/** Pipelined publishes (window 1024, one connection) growing the directory in steps; rate, RSS and RssAnon per step. */
async function growth(server, onStep) {
  const [c] = await openClients(server.port, 1);
  // Warm-up outside the figures, the same for both servers: the first
  // thousands of requests run before the JIT has compiled the hot paths,
  // which would show as a slow first step that has nothing to do with
  // the directory's size.
  await pipelined(c, SIZES.growthStep, WINDOW, (i, ta) => publishText(ta, 500_000 + i, 0, `warm-${i}`));
  await pipelined(c, SIZES.growthStep, WINDOW, (i, ta) => unpublishText(ta, 500_000 + i));
  const steps = [{ services: 0, rate: null, ...memoryMiB(server.pid) }];
  for (let n = 0; n < SIZES.growthMax; n += SIZES.growthStep) {
    const ms = await pipelined(c, SIZES.growthStep, WINDOW, (i, ta) => publishText(ta, 1_000_000 + n + i, 0, `service-${n + i}`));
    const services = n + SIZES.growthStep;
    steps.push({ services, rate: (SIZES.growthStep * 1000) / ms, ...memoryMiB(server.pid) });
    if (onStep) await onStep(services);
  }
  return { steps, conn: c };
}

/** One publish matched by many subscriptions spread over connections; ms to the last notification. */
async function fanout(server) {
  const subscribers = await openClients(server.port, SIZES.fanoutConns);
  let remaining = 0, done = () => {};
  for (const s of subscribers) s.onNotify = () => { if (--remaining === 0) done(); };
  const perConn = SIZES.fanoutSubs / SIZES.fanoutConns;
  let subId = 1;
  await Promise.all(subscribers.map((s) => pipelined(s, perConn, WINDOW, (_i, ta) => subscribeText(ta, subId++, '(name=fanout)'))));
  const [pub] = await openClients(server.port, 1);
  const samples = [];
  for (let g = 0; g <= SIZES.fanoutSamples; g++) {
    remaining = SIZES.fanoutSubs;
    const start = performance.now();
    await new Promise((resolve) => { done = resolve; pub.request((ta) => publishText(ta, 77, g, 'fanout'), () => {}); });
    if (g > 0) samples.push(performance.now() - start); // the first (appeared) warms up
  }
  for (const s of subscribers) s.close();
  pub.close();
  samples.sort((a, b) => a - b);
  return { p50Ms: samples[Math.floor(samples.length / 2)], maxMs: samples[samples.length - 1] };
}

async function pingRate(server) {
  const [c] = await openClients(server.port, 1);
  const ms = await pipelined(c, SIZES.pings, WINDOW, (_i, ta) => pingText(ta));
  c.close();
  return { usPerMsg: (ms * 1000) / SIZES.pings, perSecond: (SIZES.pings * 1000) / ms };
}

/** Heap flags of the board class meant for 20,000 clients (targets/aarch64-mid.env). */
const STORM_BOARD_FLAGS = '--max-old-space-size=320 --max-semi-space-size=8';

/**
 * The 20,000-client scenario (build/bench/storm.mjs, its own processes):
 * RSS, reconnect storm and idle CPU, against pafd and the raw reference;
 * in the full run once more for pafd with the board's heap flags.
 */
function storm(extra) {
  return new Promise((resolve, reject) => {
    const args = [join(root, 'build', 'bench', 'storm.mjs'), '--json', '--pafd', pafdBundle, ...(quick ? ['--quick'] : []), ...extra];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`storm: ${err}`)));
  });
}

/** Heap bytes per service in the core, with --expose-gc (build/bench/heap-per-service.ts). */
async function heapPerService() {
  const out = join(mkdtempSync(join(tmpdir(), 'pafd-bench-')), 'heap.js');
  await build({ entryPoints: [join(root, 'build', 'bench', 'heap-per-service.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning' });
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', out, String(SIZES.heapServices)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    proc.stdout.on('data', (d) => { text += d; });
    proc.on('exit', (code) => code === 0 ? resolve(JSON.parse(text)) : reject(new Error('heap-per-service failed')));
  });
}

// ------------------------------------------------------------ the run

/**
 * Idle memory, then the directory grown in steps, with SIZES.clients extra
 * clients at 10,000 services. Each memory point (idle, at10k, plusClients,
 * max) is { rssMiB, rssAnonMiB, rssFileMiB }.
 */
async function memoryAndGrowth(kind, flags) {
  const r = {};
  const server = await start(kind, flags);
  await settle(500);
  r.idle = memoryMiB(server.pid);
  const g = await growth(server, async (services) => {
    if (services !== Math.min(10_000, SIZES.growthMax)) return;
    r.at10k = memoryMiB(server.pid);
    const clients = await openClients(server.port, SIZES.clients);
    await settle(200);
    r.plusClients = memoryMiB(server.pid);
    for (const c of clients) c.close();
    await settle(200);
  });
  g.conn.close();
  r.growth = g.steps;
  const first = g.steps.find((s) => s.services === Math.min(10_000, SIZES.growthMax));
  const last = g.steps[g.steps.length - 1];
  const slope = (key) => (last.services > first.services && last[key] != null && first[key] != null
    ? ((last[key] - first[key]) * 1048576) / (last.services - first.services) : null);
  r.bytesPerServiceRss = slope('rssMiB');
  r.bytesPerServiceRssAnon = slope('rssAnonMiB');
  r.max = { rssMiB: last.rssMiB, rssAnonMiB: last.rssAnonMiB, rssFileMiB: last.rssFileMiB };
  server.stop();
  return r;
}

async function measureServer(kind) {
  log(`${kind}: memory and growth`);
  const r = await memoryAndGrowth(kind, nodeFlags);
  log(`${kind}: memory and growth with the board heap flags`);
  r.board = await memoryAndGrowth(kind, BOARD_NODE_FLAGS);
  let server;
  log(`${kind}: fan-out`);
  server = await start(kind);
  r.fanout = await fanout(server);
  log(`${kind}: ping`);
  r.ping = await pingRate(server);
  r.batch = await rawBatchMs(server);
  server.stop();

  if (kind === 'pafd') {
    log('pafd: pafbench');
    server = await start(kind);
    // One pafbench run times a single batch of 16 per operation (about
    // 2 ms in all), so one garbage collection can triple a figure: run it
    // several times on fresh servers and report the median per operation.
    // Each server is warmed up by one untimed pafbench run first: the
    // measured batch would otherwise be the first unpublish the server
    // ever runs, still in V8's interpreter (a daemon is warm after its
    // first minutes; the original Python server has no JIT to warm).
    const runs = [];
    for (let i = 0; i < SIZES.pafbenchRuns; i++) {
      if (i > 0) server = await start(kind);
      await runPafbench(server);
      runs.push(await runPafbench(server));
      server.stop();
    }
    r.msPerOpRuns = runs;
    r.msPerOp = Object.fromEntries(Object.keys(runs[0]).map((op) => [op, median(runs.map((x) => x[op]))]));
  }
  return r;
}

if (!existsSync(pafdBundle)) throw new Error('dist/pafd.js missing: run node build/build.mjs first');
const started = performance.now();
const ours = await measureServer('pafd');
const raw = await measureServer('raw');
const heap = await heapPerService();
log('20,000-client storm (build/bench/storm.mjs)');
const stormReport = await storm([]);
const stormBoard = quick ? null : await storm(['--no-raw', '--node-flags', STORM_BOARD_FLAGS]);

const ratio = (a, b) => (a != null && b ? a / b : null);
const growthRates = ours.growth.filter((s) => s.rate !== null).map((s) => s.rate);
const rawRates = raw.growth.filter((s) => s.rate !== null).map((s) => s.rate);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const boardRates = ours.board.growth.filter((x) => x.rate !== null).map((x) => x.rate);
const rawBoardRates = raw.board.growth.filter((x) => x.rate !== null).map((x) => x.rate);

/** The memory points of one memoryAndGrowth run as JSON fields: RssAnon and RssFile beside each RSS. */
function memoryFields(m) {
  return {
    idleRssMiB: m.idle.rssMiB, idleRssAnonMiB: m.idle.rssAnonMiB, idleRssFileMiB: m.idle.rssFileMiB,
    rss10kMiB: m.at10k.rssMiB, rssAnon10kMiB: m.at10k.rssAnonMiB, rssFile10kMiB: m.at10k.rssFileMiB,
    rssPlusClientsMiB: m.plusClients.rssMiB, rssAnonPlusClientsMiB: m.plusClients.rssAnonMiB, rssFilePlusClientsMiB: m.plusClients.rssFileMiB,
    rssMaxMiB: m.max.rssMiB, rssAnonMaxMiB: m.max.rssAnonMiB, rssFileMaxMiB: m.max.rssFileMiB,
    bytesPerServiceRss: m.bytesPerServiceRss, bytesPerServiceRssAnon: m.bytesPerServiceRssAnon,
  };
}
/** The same fields of the raw reference, prefixed with `raw` (rawIdleRssMiB, rawRssAnon10kMiB, ...). */
const rawMemoryFields = (m) => Object.fromEntries(Object.entries(memoryFields(m)).map(([k, v]) => [`raw${k[0].toUpperCase()}${k.slice(1)}`, v]));
/** pafd/raw of the RSS and RssAnon at each memory point, keys prefixed (e.g. boardIdleRssAnon). */
function memoryRatios(ours, raw, prefix) {
  const key = (k) => (prefix ? `${prefix}${k[0].toUpperCase()}${k.slice(1)}` : k);
  const out = {};
  for (const [point, rssKey, anonKey] of [
    ['idle', 'idleRss', 'idleRssAnon'], ['at10k', 'rss10k', 'rssAnon10k'],
    ['plusClients', 'rssPlusClients', 'rssAnonPlusClients'], ['max', 'rssMax', 'rssAnonMax'],
  ]) {
    out[key(rssKey)] = ratio(ours[point].rssMiB, raw[point].rssMiB);
    out[key(anonKey)] = ratio(ours[point].rssAnonMiB, raw[point].rssAnonMiB);
  }
  return out;
}
const stormRaw = stormReport.raw ?? {};
/**
 * Every pafd/raw ratio of the table: pafd's figure over the raw reference's
 * in the figure's own unit, so a rate ratio below 1, or a time, memory or
 * CPU ratio above 1, means pafd is behind the reference. null where a
 * figure is missing (e.g. RssAnon on a kernel before 4.5).
 */
const ratios = {
  batchPublish: ratio(ours.batch.publish, raw.batch.publish),
  batchPing: ratio(ours.batch.ping, raw.batch.ping),
  pipelinedPublishMean: ratio(mean(growthRates), mean(rawRates)),
  pipelinedPublishSlowestStep: ratio(Math.min(...growthRates), Math.min(...rawRates)),
  ...memoryRatios(ours, raw, ''),
  ...memoryRatios(ours.board, raw.board, 'board'),
  boardPipelinedPublishMean: ratio(mean(boardRates), mean(rawBoardRates)),
  fanoutP50: ratio(ours.fanout.p50Ms, raw.fanout.p50Ms),
  ping: ratio(ours.ping.usPerMsg, raw.ping.usPerMsg),
  stormFullState: ratio(stormReport.fullStateMs, stormRaw.fullStateMs),
  stormRss: ratio(stormReport.rssMiB, stormRaw.rssMiB),
  stormRssAnon: ratio(stormReport.rssAnonMiB, stormRaw.rssAnonMiB),
  reconnectStorm: ratio(stormReport.stormMs, stormRaw.stormMs),
  stormIdleCpu: ratio(stormReport.idleCpuPercent, stormRaw.idleCpuPercent),
  stormCpuPerRoundTrip: ratio(stormReport.cpuUsPerTrackQuery, stormRaw.cpuUsPerTrackQuery),
};

const report = {
  schema: 'pafd-bench/1',
  quick,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
  pafdNodeFlags: nodeFlags.join(' '),
  sizes: SIZES,
  pafbench: {
    services: SIZES.pafbenchServices, subscriptions: SIZES.pafbenchSubs, runs: SIZES.pafbenchRuns, msPerOp: ours.msPerOp, msPerOpRuns: ours.msPerOpRuns,
    // The same batches of 16 from the bench's thin client against both servers: the fair ratio.
    benchClientMsPerOp: ours.batch, rawMsPerOp: raw.batch,
    ratio: { publish: ratio(ours.batch.publish, raw.batch.publish), ping: ratio(ours.batch.ping, raw.batch.ping) },
  },
  growth: {
    step: SIZES.growthStep, window: WINDOW,
    steps: ours.growth, rawSteps: raw.growth,
    minRate: Math.min(...growthRates), meanRate: mean(growthRates),
    rawMeanRate: mean(rawRates), ratio: ratio(mean(growthRates), mean(rawRates)),
  },
  // RSS figures in MiB with RssAnon (private anonymous: V8 heap, malloc)
  // and RssFile (file-backed, mostly the node executable) beside each.
  memory: {
    ...memoryFields(ours), clients: SIZES.clients,
    ...rawMemoryFields(raw), rawPlusClientsMiB: raw.plusClients.rssMiB,
    ratio: ratio(ours.idle.rssMiB, raw.idle.rssMiB),
    heapBytesPerService: heap.bytesPerService, heapBytesPerServiceNotified: heap.bytesPerServiceNotified,
    // The same scenario with the board targets' heap flags.
    board: {
      nodeFlags: BOARD_NODE_FLAGS.join(' '),
      ...memoryFields(ours.board),
      ...rawMemoryFields(raw.board), rawPlusClientsMiB: raw.board.plusClients.rssMiB,
      meanRate: mean(boardRates),
      rawMeanRate: mean(rawBoardRates),
    },
  },
  fanout: { subscriptions: SIZES.fanoutSubs, connections: SIZES.fanoutConns, ...ours.fanout, raw: raw.fanout, ratio: ratio(ours.fanout.p50Ms, raw.fanout.p50Ms) },
  ping: { ...ours.ping, raw: raw.ping, ratio: ratio(ours.ping.usPerMsg, raw.ping.usPerMsg) },
  storm: { default: stormReport, board: stormBoard, boardNodeFlags: STORM_BOARD_FLAGS },
  ratios,
  png: pngPath,
  seconds: (performance.now() - started) / 1000,
};

// ------------------------------------------------------------ plot

{
  const r = new Raster(900, 640);
  const xMax = SIZES.growthMax;
  const rateMax = Math.ceil(Math.max(...growthRates, ...rawRates) / 10_000) * 10_000;
  const rssMax = Math.ceil(Math.max(...ours.growth.map((s) => s.rssMiB), ...raw.growth.map((s) => s.rssMiB)) / 50) * 50;
  const kFmt = (v) => `${Math.round(v / 1000)}K`;
  plotPanel(r, { x: 90, y: 50, w: 780, h: 220 }, {
    title: 'PUBLISH RATE (/S) VS DIRECTORY SIZE', xMax, yMax: rateMax, xFormat: kFmt, yFormat: kFmt,
    series: [
      { label: 'PAFD', color: [200, 40, 40], points: ours.growth.filter((s) => s.rate !== null).map((s) => [s.services, s.rate]) },
      { label: 'RAW NODE', color: [120, 120, 120], points: raw.growth.filter((s) => s.rate !== null).map((s) => [s.services, s.rate]) },
    ],
  });
  plotPanel(r, { x: 90, y: 360, w: 780, h: 220 }, {
    title: 'RSS (MB) VS DIRECTORY SIZE', xMax, yMax: rssMax, xFormat: kFmt, yFormat: (v) => String(Math.round(v)),
    series: [
      { label: 'PAFD', color: [40, 80, 200], points: ours.growth.map((s) => [s.services, s.rssMiB]) },
      { label: 'PAFD, BOARD', color: [40, 160, 80], points: ours.board.growth.map((s) => [s.services, s.rssMiB]) },
      { label: 'RAW NODE', color: [120, 120, 120], points: raw.growth.map((s) => [s.services, s.rssMiB]) },
    ],
  });
  r.text(380, 615, 'SERVICES', [60, 60, 60], 2);
  writeFileSync(pngPath, r.png());
}

// ------------------------------------------------------------ output

if (asJson) {
  process.stdout.write(JSON.stringify(report) + '\n');
} else {
  const f = (v, d = 3) => (v == null ? '-' : v.toFixed(d));
  const x = (v) => (v == null ? '-' : `${v.toFixed(2)}×`);
  // Memory cells: "RSS / RssAnon" in MiB, their ratios likewise.
  const mem = (m) => `${f(m.rssMiB, 1)} / ${f(m.rssAnonMiB, 1)}`;
  const memX = (rss, anon) => `${x(rss)} / ${x(anon)}`;
  const at10k = Math.min(10_000, SIZES.growthMax);
  const rows = [
    ['what', 'pafd', 'raw Node', 'ratio', 'goal'],
    ...['subscribe', 'unsubscribe', 'publish', 'unpublish', 'ping'].map((op) => [
      `pafbench ${op} (${SIZES.pafbenchServices} svc, ${SIZES.pafbenchSubs} subs, warm, median of ${SIZES.pafbenchRuns}), ms/op`, f(ours.msPerOp[op]),
      '-', '-', '≤ 0.1']),
    ...['publish', 'ping'].map((op) => [`batches of 16 ${op}, bench client, ms/op`, f(ours.batch[op]), f(raw.batch[op]), x(ratios[op === 'publish' ? 'batchPublish' : 'batchPing']), '≤ 0.1']),
    [`pipelined publish 0→${SIZES.growthMax}, mean /s`, f(report.growth.meanRate, 0), f(report.growth.rawMeanRate, 0), x(ratios.pipelinedPublishMean), '≥ 50000, flat'],
    [`pipelined publish, slowest ${SIZES.growthStep} step /s`, f(report.growth.minRate, 0), f(Math.min(...rawRates), 0), x(ratios.pipelinedPublishSlowestStep), '≥ 50000'],
    ['idle RSS / RssAnon, MiB', mem(ours.idle), mem(raw.idle), memX(ratios.idleRss, ratios.idleRssAnon), 'RSS ≤ 45'],
    [`RSS / RssAnon with ${at10k} services, MiB`, mem(ours.at10k), mem(raw.at10k), memX(ratios.rss10k, ratios.rssAnon10k), 'RSS ≤ 55'],
    [`… plus ${SIZES.clients} clients, MiB`, mem(ours.plusClients), mem(raw.plusClients), memX(ratios.rssPlusClients, ratios.rssAnonPlusClients), 'RSS ≤ 60'],
    ['memory per service (RSS / RssAnon slope), bytes', `${f(ours.bytesPerServiceRss, 0)} / ${f(ours.bytesPerServiceRssAnon, 0)}`, `${f(raw.bytesPerServiceRss, 0)} / ${f(raw.bytesPerServiceRssAnon, 0)}`, '-', 'RSS ≤ 600'],
    [`RSS / RssAnon with ${SIZES.growthMax} services, MiB`, mem(ours.max), mem(raw.max), memX(ratios.rssMax, ratios.rssAnonMax), '-'],
    [`board heap flags (${BOARD_NODE_FLAGS.join(' ')}): idle RSS / RssAnon, MiB`, mem(ours.board.idle), mem(raw.board.idle), memX(ratios.boardIdleRss, ratios.boardIdleRssAnon), 'RSS ≤ 45'],
    [`… RSS / RssAnon with ${at10k} services, MiB`, mem(ours.board.at10k), mem(raw.board.at10k), memX(ratios.boardRss10k, ratios.boardRssAnon10k), 'RSS ≤ 55'],
    [`… plus ${SIZES.clients} clients, MiB`, mem(ours.board.plusClients), mem(raw.board.plusClients), memX(ratios.boardRssPlusClients, ratios.boardRssAnonPlusClients), 'RSS ≤ 60'],
    [`… RSS / RssAnon with ${SIZES.growthMax} services, MiB`, mem(ours.board.max), mem(raw.board.max), memX(ratios.boardRssMax, ratios.boardRssAnonMax), '-'],
    ['… memory per service (RSS / RssAnon slope), bytes', `${f(ours.board.bytesPerServiceRss, 0)} / ${f(ours.board.bytesPerServiceRssAnon, 0)}`, `${f(raw.board.bytesPerServiceRss, 0)} / ${f(raw.board.bytesPerServiceRssAnon, 0)}`, '-', 'RSS ≤ 600'],
    [`… pipelined publish 0→${SIZES.growthMax}, mean /s`, f(report.memory.board.meanRate, 0), f(report.memory.board.rawMeanRate, 0), x(ratios.boardPipelinedPublishMean), '≥ 50000'],
    ['memory per service (core heap, notified), bytes', f(heap.bytesPerServiceNotified, 0), '-', '-', '≤ 600'],
    [`fan-out ${SIZES.fanoutSubs} subs / ${SIZES.fanoutConns} conns, last notification p50 ms`, f(ours.fanout.p50Ms, 1), f(raw.fanout.p50Ms, 1), x(ratios.fanoutP50), '≤ 50'],
    ...stormRows(),
    ['ping, µs/msg pipelined (1 conn)', f(ours.ping.usPerMsg, 2), f(raw.ping.usPerMsg, 2), x(ratios.ping), '≤ 18 (3× XCM tcp)'],
  ];
  function stormRows() {
    const d = stormReport, b = stormBoard, r = d.raw ?? {};
    const what = `${d.clients} v3 tracking clients, ${d.services} services, ${d.subscriptions} subscriptions`;
    const rows = [
      [`${what}: full state from first connect, s`, f(d.fullStateMs / 1000, 1), f(r.fullStateMs / 1000, 1), x(ratios.stormFullState), '-'],
      ['… RSS at full state / peak, MiB', `${f(d.rssMiB, 0)} / ${f(d.peakRssMiB, 0)}`, `${f(r.rssMiB, 0)} / ${f(r.peakRssMiB, 0)}`, x(ratios.stormRss), '≤ 300'],
      ['… RssAnon at full state, MiB', f(d.rssAnonMiB, 0), f(r.rssAnonMiB, 0), x(ratios.stormRssAnon), '-'],
      ['… notifications received by the clients (the raw reference sends the same)', f(d.clientCounters?.notifies, 0), f(r.clientCounters?.notifies, 0), '-', '-'],
      ['… reconnect storm back to full state, s', f(d.stormMs / 1000, 1), f(r.stormMs / 1000, 1), x(ratios.reconnectStorm), '≤ 30'],
      [`… idle CPU (track queries ${f(d.trackQueriesPerSec, 0)}/s; raw: ${f(r.trackQueriesPerSec, 0)}/s), %`, f(d.idleCpuPercent, 1), f(r.idleCpuPercent, 1), x(ratios.stormIdleCpu), '≤ 2'],
    ];
    if (b) {
      rows.push(
        [`… with ${STORM_BOARD_FLAGS}: RSS at full state / peak, RssAnon at full state, MiB`, `${f(b.rssMiB, 0)} / ${f(b.peakRssMiB, 0)}, ${f(b.rssAnonMiB, 0)}`, '-', '-', 'RSS ≤ 300'],
        ['… … storm, s / idle CPU, %', `${f(b.stormMs / 1000, 1)} / ${f(b.idleCpuPercent, 1)}`, '-', '-', '≤ 30 / ≤ 2'],
      );
    }
    return rows;
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  const out = [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)];
  out.push('', `growth steps (services: pafd /s, raw /s, pafd RSS MiB, pafd RssAnon MiB, raw RSS MiB, raw RssAnon MiB):`);
  for (let i = 1; i < ours.growth.length; i++) {
    const o = ours.growth[i], w = raw.growth[i];
    out.push(`  ${o.services}: ${f(o.rate, 0)} ${f(w?.rate, 0)} ${f(o.rssMiB, 1)} ${f(o.rssAnonMiB, 1)} ${f(w?.rssMiB, 1)} ${f(w?.rssAnonMiB, 1)}`);
  }
  out.push('', `node flags of both servers: ${nodeFlags.join(' ') || '(none)'}; board rows: ${BOARD_NODE_FLAGS.join(' ')}`, `plot: ${pngPath}`, `${quick ? 'quick' : 'full'} run, ${report.seconds.toFixed(0)} s`);
  process.stdout.write(out.join('\n') + '\n');
}
