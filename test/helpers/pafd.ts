// Starts the real pafd bundle (dist/pafd.js) as a child process for
// component tests, and learns its bound addresses from its log.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverEnv } from './transport';

export const PAFD_BUNDLE = join(process.cwd(), 'dist', 'pafd.js');

export interface Pafd {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Bound addresses in the order logged ("listening on ..."), real ports filled in. */
  readonly addresses: string[];
  /** Everything pafd wrote to stderr so far, line by line. */
  readonly log: string[];
  /** Resolves with the first log line matching re (already logged or future). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Resolves once `count` lines matching re have been logged in all (lines
   * below warning reach the console up to 50 ms after the event, src/log/batch.ts).
   */
  waitForLogCount(re: RegExp, count: number, timeoutMs?: number): Promise<void>;
  /** Sends a signal (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  /** YAML config text, written to a temp file and passed with -f. */
  config?: string;
  env?: NodeJS.ProcessEnv;
  /** Do not add "-s -n -l debug" (console logging, no syslog). */
  bare?: boolean;
  startTimeoutMs?: number;
}

export function tempDir(prefix = 'pafd-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs pafd to completion (for option/config error tests). */
export function runPafd(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [PAFD_BUNDLE, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout!.on('data', (d) => { stdout += d; });
    proc.stderr!.on('data', (d) => { stderr += d; });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function startPafd(args: string[], opts: StartOptions = {}): Promise<Pafd> {
  const full = opts.bare ? [...args] : ['-s', '-n', '-l', 'debug', ...args];
  if (opts.config !== undefined) {
    const file = join(tempDir(), 'pafd.yaml');
    writeFileSync(file, opts.config);
    full.push('-f', file);
  }
  const proc = spawn(process.execPath, [PAFD_BUNDLE, ...full], {
    // What the matrix transport needs (TLS credentials via $XCM_TLS_CERT), unless the test says otherwise.
    env: { ...process.env, ...serverEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const addresses: string[] = [];
  /** Who waits for `left` more lines matching `re` (resolved with the last of them). */
  const waiters: { re: RegExp; left: number; resolve: (l: string) => void }[] = [];
  let partial = '';
  const onLine = (line: string) => {
    log.push(line);
    if (process.env.PAFD_TEST_LOG) process.stderr.write(`[pafd ${proc.pid}] ${line}\n`);
    const m = /listening on (\S+)/.exec(line);
    if (m) addresses.push(m[1]);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].re.test(line) && --waiters[i].left === 0) { waiters[i].resolve(line); waiters.splice(i, 1); }
    }
  };
  const onData = (d: Buffer) => {
    partial += d.toString();
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) { onLine(partial.slice(0, nl)); partial = partial.slice(nl + 1); }
  };
  proc.stderr!.on('data', onData);
  proc.stdout!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

  /** The count-th line matching re, counting what was logged already. */
  const waitForLines = (re: RegExp, count: number, timeoutMs: number) => new Promise<string>((resolve, reject) => {
    const matching = log.filter((l) => re.test(l));
    if (matching.length >= count) { resolve(matching[count - 1]!); return; }
    const what = count === 1 ? `${re}` : `${count} lines like ${re}`;
    const timer = setTimeout(() => reject(new Error(`pafd did not log ${what} within ${timeoutMs} ms; log:\n${log.join('\n')}`)), timeoutMs);
    waiters.push({ re, left: count - matching.length, resolve: (l) => { clearTimeout(timer); resolve(l); } });
  });
  const waitForLog = (re: RegExp, timeoutMs = 5000) => waitForLines(re, 1, timeoutMs);
  const waitForLogCount = (re: RegExp, count: number, timeoutMs = 5000) => waitForLines(re, count, timeoutMs).then(() => {});

  const started = waitForLog(/pafd \S+ started/, opts.startTimeoutMs ?? 10000);
  const early = exited.then((code) => { throw new Error(`pafd exited with ${code} before starting:\n${log.join('\n')}`); });
  await Promise.race([started, early]);
  early.catch(() => {});

  return {
    proc, pid: proc.pid!, addresses, log, waitForLog, waitForLogCount, exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
