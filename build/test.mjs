#!/usr/bin/env node
// Runs every bundled test file (dist/test/**/*.test.js) in its own node
// process, a few at a time, and prints one summary line at the end:
//   N passed, N failed, N skipped
// Files under component/conformance/ are transport-neutral: they run once
// per transport of the matrix (tcp, ux, tls) with PAF_TEST_TRANSPORT set
// and are reported as e.g. "component/conformance/publish.test.js [tls]";
// every other file runs once.
// Each file is a uvu suite that runs itself; its closing "Total/Passed/
// Skipped" block is parsed. A file that dies before printing it, or that
// runs past FILE_TIMEOUT_MS, counts as one failure.
// Usage: node build/test.mjs [subdir-or-substring ...]
//   a substring matches the reported name, so "[ux]" selects the ux runs.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dir = join(root, 'dist', 'test');
const FILE_TIMEOUT_MS = 300_000;
// Two at a time on two cores: with three, TLS-heavy runs starve each other
// and the 0.5 s latency bounds of R6/R8 flake. PAF_TEST_CONCURRENCY overrides.
const CONCURRENCY = Number(process.env.PAF_TEST_CONCURRENCY) || Math.max(2, Math.min(4, cpus().length));
const filters = process.argv.slice(2);
/** Files below this directory (relative to dist/test) run once per transport. */
const MATRIX_DIR = 'component/conformance/';
const TRANSPORTS = ['tcp', 'ux', 'tls'];

function walk(d, out = []) {
  if (!existsSync(d)) return out;
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** One run of one file: { file, name, transport? }. */
const jobs = [];
for (const file of walk(dir)) {
  const rel = relative(dir, file).split('\\').join('/');
  if (rel.startsWith(MATRIX_DIR)) {
    for (const transport of TRANSPORTS) jobs.push({ file, name: `${rel} [${transport}]`, transport });
  } else {
    jobs.push({ file, name: rel });
  }
}
const selected = jobs.filter((j) => filters.length === 0 || filters.some((s) => j.name.includes(s)));
// Longest first (by the durations of earlier runs, kept next to dist/test,
// which every test build wipes), so that short files fill the gaps at the
// end instead of one long run finishing alone. Without history the matrix
// runs, the long ones, go first.
const TIMINGS_FILE = join(root, 'dist', '.test-timings.json');
let timings = {};
try { timings = JSON.parse(readFileSync(TIMINGS_FILE, 'utf8')); } catch { /* first run */ }
const expected = (j) => timings[j.name] ?? (j.transport === undefined ? 0 : Infinity);
selected.sort((a, b) => expected(b) - expected(a));
let passed = 0, failed = 0, skipped = 0;
const failedFiles = [];
/** Per matrix transport: { passed, failed, skipped }. */
const byTransport = new Map(TRANSPORTS.map((tr) => [tr, { passed: 0, failed: 0, skipped: 0 }]));
const startedAll = Date.now();

function runFile(job) {
  return new Promise((resolve) => {
    const started = Date.now();
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    if (job.transport !== undefined) env.PAF_TEST_TRANSPORT = job.transport;
    else delete env.PAF_TEST_TRANSPORT;
    const child = spawn(process.execPath, [job.file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[runner] killed after ${FILE_TIMEOUT_MS} ms\n`; child.kill('SIGKILL'); }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const clean = out.replace(/\x1b\[[0-9;]*m/g, '');
      const total = /Total:\s+(\d+)/.exec(clean);
      const pass = /Passed:\s+(\d+)/.exec(clean);
      const skip = /Skipped:\s+(\d+)/.exec(clean);
      const name = job.name;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      timings[job.name] = +secs;
      const tally = job.transport === undefined ? undefined : byTransport.get(job.transport);
      if (total && pass) {
        const t = +total[1], p = +pass[1], s = skip ? +skip[1] : 0;
        const f = Math.max(0, t - p - s);
        passed += p; skipped += s;
        if (tally) { tally.passed += p; tally.skipped += s; }
        if (f > 0 || code !== 0) {
          failed += Math.max(f, 1);
          if (tally) tally.failed += Math.max(f, 1);
          failedFiles.push(name);
          process.stdout.write(`--- ${name} (exit ${code}, ${secs}s)\n${clean}\n`);
        } else {
          process.stdout.write(`ok ${name}: ${p} passed${s ? `, ${s} skipped` : ''} (${secs}s)\n`);
        }
      } else {
        failed += 1;
        if (tally) tally.failed += 1;
        failedFiles.push(name);
        process.stdout.write(`--- ${name} crashed (exit ${code}, ${secs}s)\n${clean}\n`);
      }
      resolve();
    });
  });
}

// The tls matrix runs are CPU-bound (handshakes, encryption): two of them
// side by side on two cores push R6's ping past its 0.5 s bound, so one
// runs at a time, next to runs that mostly wait on timers. At the tail,
// when only tls runs are left, they share.
const queue = [...selected];
let tlsRunning = 0;
function nextJob() {
  const i = queue.findIndex((j) => j.transport !== 'tls' || tlsRunning === 0);
  return queue.splice(i >= 0 ? i : 0, 1)[0];
}
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (queue.length) {
    const job = nextJob();
    const tls = job.transport === 'tls';
    if (tls) tlsRunning++;
    try { await runFile(job); } finally { if (tls) tlsRunning--; }
  }
}));

try { writeFileSync(TIMINGS_FILE, `${JSON.stringify(timings, null, 1)}\n`); } catch { /* only an optimisation */ }

if (selected.length === 0) {
  console.log('no test files found (did the build run?)');
  failed += 1;
}
if (failedFiles.length) console.log(`failed files: ${failedFiles.join(', ')}`);
if (selected.some((j) => j.transport !== undefined)) {
  const parts = [...byTransport].map(([tr, c]) => `${tr} ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`);
  console.log(`conformance matrix: ${parts.join('; ')}`);
}
console.log(`wall time ${((Date.now() - startedAll) / 1000).toFixed(1)} s, ${CONCURRENCY} at a time`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
