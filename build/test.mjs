#!/usr/bin/env node
// Runs every bundled test file (dist/test/**/*.test.js) in its own node
// process, two at a time, and prints one summary line at the end:
//   N passed, N failed, N skipped
// Each file is a uvu suite that runs itself; its closing "Total/Passed/
// Skipped" block is parsed. A file that dies before printing it, or that
// runs past FILE_TIMEOUT_MS, counts as one failure.
// Usage: node build/test.mjs [subdir-or-substring ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dir = join(root, 'dist', 'test');
const FILE_TIMEOUT_MS = 300_000;
const CONCURRENCY = Math.max(2, Math.min(4, cpus().length));
const filters = process.argv.slice(2);

function walk(d, out = []) {
  if (!existsSync(d)) return out;
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(dir).filter((f) => filters.length === 0 || filters.some((s) => relative(dir, f).includes(s)));
let passed = 0, failed = 0, skipped = 0;
const failedFiles = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
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
      const name = relative(dir, file);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (total && pass) {
        const t = +total[1], p = +pass[1], s = skip ? +skip[1] : 0;
        const f = Math.max(0, t - p - s);
        passed += p; skipped += s;
        if (f > 0 || code !== 0) {
          failed += Math.max(f, 1);
          failedFiles.push(name);
          process.stdout.write(`--- ${name} (exit ${code}, ${secs}s)\n${clean}\n`);
        } else {
          process.stdout.write(`ok ${name}: ${p} passed${s ? `, ${s} skipped` : ''} (${secs}s)\n`);
        }
      } else {
        failed += 1;
        failedFiles.push(name);
        process.stdout.write(`--- ${name} crashed (exit ${code}, ${secs}s)\n${clean}\n`);
      }
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (queue.length) await runFile(queue.shift());
}));

if (files.length === 0) {
  console.log('no test files found (did the build run?)');
  failed += 1;
}
if (failedFiles.length) console.log(`failed files: ${failedFiles.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
