// Shared helpers of the handshake, liveness, robustness and process
// component tests: time measurement around wire events, tracked clients,
// bulk traffic and process memory sampling.

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { stringifyJson } from '../../src/protocol/json';
import type { JsonValue } from '../../src/protocol/json';
import { PAFD_BUNDLE, tempDir } from './pafd';
import { WireClient } from './wire';
import type { Msg } from './wire';

/**
 * Added to the upper bound of a timing window: the spec's windows are
 * what the server's timers produce, and on a loaded 2-core machine the
 * close or notification still needs a few event-loop turns to reach us.
 */
export const SCHEDULING_SLACK_S = 0.15;

/** Monotonic time in seconds. */
export function nowS(): number {
  return performance.now() / 1000;
}

/** Paces a scenario (e.g. "ping every 0.5 s"); never used to wait for an event. */
export function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the monotonic time at which p resolved. */
export async function timeOf<T>(p: Promise<T>): Promise<{ at: number; value: T }> {
  const value = await p;
  return { at: nowS(), value };
}

/** Asserts lo <= value <= hi with a readable message. */
export function assertWithin(value: number, lo: number, hi: number, what: string): void {
  assert.ok(value >= lo && value <= hi, `${what}: ${value.toFixed(3)} s is outside [${lo}, ${hi}]`);
}

/** Resolves with the time the server closed c; rejects if it stays open past timeoutMs. */
export async function closedAt(c: WireClient, timeoutMs: number): Promise<number> {
  await c.expectClosed(timeoutMs);
  return nowS();
}

/** True for a server track query on transaction ta. */
export function isQuery(ta: bigint): (m: Msg) => boolean {
  return (m) => m['ta-id'] === ta && m['ta-cmd'] === 'track' && m['msg-type'] === 'notify' && m['track-type'] === 'query';
}

/** Opens a v3 connection with an accepted track transaction. */
export async function openTracked(address: string, opts: { clientId?: bigint; user?: number } = {}): Promise<{ c: WireClient; ta: bigint }> {
  const c = await WireClient.open(address, { min: 3, max: 3, ...opts });
  const ta = c.taId();
  c.send('track', ta, 'request');
  const accept = await c.nextOf(ta);
  assert.is(accept['msg-type'], 'accept', 'track accepted');
  return { c, ta };
}

/** A v2 connection: the server never disconnects it for idleness, so it makes a lasting bystander. */
export function openV2(address: string, opts: { clientId?: bigint; user?: number } = {}): Promise<WireClient> {
  return WireClient.open(address, { min: 2, max: 2, ...opts });
}

/** Sends the track reply to an outstanding server query. */
export function replyToQuery(c: WireClient, ta: bigint): void {
  c.send('track', ta, 'inform', { 'track-type': 'reply' });
}

/** Asserts that c's ping completes (the server and this connection are alive). */
export async function assertPings(c: WireClient, what = 'ping'): Promise<void> {
  const r = await c.ping();
  assert.is(r['msg-type'], 'complete', what);
}

/** Ping round-trip time in seconds. */
export async function pingLatency(c: WireClient, timeoutMs = 3000): Promise<number> {
  const t0 = nowS();
  const r = await c.request('ping', {}, timeoutMs);
  assert.is(r['msg-type'], 'complete');
  return nowS() - t0;
}

/**
 * Resolves with the next `count` messages that satisfy pred, in arrival
 * order (already queued ones first). Cheap for tens of thousands of
 * messages: every message is looked at once.
 */
export function collect(c: WireClient, count: number, pred: (m: Msg) => boolean = () => true, timeoutMs = 10000): Promise<Msg[]> {
  const got: Msg[] = [];
  if (count === 0) return Promise.resolve(got);
  // The predicate claims each matching message; only the last one completes the wait.
  return c.next((m) => {
    if (!pred(m)) return false;
    got.push(m);
    return got.length === count;
  }, timeoutMs).then(() => {
    // Claimed messages that were queued before this call are still in the queue: drop them.
    const claimed = new Set(got);
    const queue = c.unread as Msg[];
    for (let i = queue.length - 1; i >= 0; i--) if (claimed.has(queue[i]!)) queue.splice(i, 1);
    return got;
  });
}

/** Publishes every id (generation 0) back to back and waits until all complete. */
export async function publishMany(
  c: WireClient, ids: readonly bigint[], props: (i: number) => Record<string, JsonValue[]>, ttl: number,
): Promise<void> {
  const tas = new Set<bigint>();
  for (let i = 0; i < ids.length; i++) {
    const ta = c.taId();
    tas.add(ta);
    const p: Record<string, JsonValue> = Object.create(null);
    for (const [k, v] of Object.entries(props(i))) p[k] = v;
    c.send('publish', ta, 'request', { 'service-id': ids[i]!, generation: 0n, 'service-props': p as JsonValue, ttl: BigInt(ttl) });
  }
  const replies = await collect(c, ids.length, (m) => m['ta-cmd'] === 'publish' && tas.has(m['ta-id'] as bigint), 30000);
  const failed = replies.filter((m) => m['msg-type'] !== 'complete');
  assert.is(failed.length, 0, `publishes failed: ${failed.slice(0, 3).map((m) => stringifyJson(m)).join(' ')}`);
}

/** Resident set size of a process in bytes (Linux /proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** A 4-byte XCM frame header announcing `length` payload bytes. */
export function frameHeader(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

/** The message's field names besides the envelope (ta-cmd, ta-id, msg-type), sorted. */
export function bodyFields(m: Msg): string[] {
  return Object.keys(m).filter((k) => k !== 'ta-cmd' && k !== 'ta-id' && k !== 'msg-type').sort();
}

/** Runs fn over items with at most `width` in flight. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

export interface PafdRun { code: number | null; stdout: string; stderr: string; timedOut: boolean }

/**
 * Runs pafd to completion like runPafd, but kills it after timeoutMs: an
 * argument the server wrongly accepts then fails the test instead of
 * hanging it.
 */
export function runPafdBounded(args: string[], timeoutMs = 30000, env?: NodeJS.ProcessEnv): Promise<PafdRun> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [PAFD_BUNDLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let stdout = '', stderr = '', timedOut = false;
    proc.stdout!.on('data', (d) => { stdout += d; });
    proc.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, timeoutMs);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, timedOut }); });
  });
}

/** A startup failure: exit status 1 and exactly one non-empty line on stderr, no stack trace. Returns the line. */
export function assertOneLineFailure(r: PafdRun, what: string): string {
  assert.not.ok(r.timedOut, `${what}: pafd kept running`);
  assert.is(r.code, 1, `${what}: exit status (stderr: ${r.stderr})`);
  const newline = r.stderr.indexOf('\n');
  assert.ok(newline > 0 && newline === r.stderr.length - 1, `${what}: exactly one line on stderr, got ${JSON.stringify(r.stderr)}`);
  const line = r.stderr.slice(0, newline);
  assert.ok(line.trim().length > 0, `${what}: the line says something`);
  assert.not.match(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  return line;
}

/** Writes text to a fresh temporary file and returns its path. */
export function tempFile(name: string, text: string): string {
  const file = join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}
