// Shared machinery of the reliability suite (issue 8): the short/long
// switch, figure reporting for docs/RELIABILITY.md, a small well-behaved
// client of our own (the shared test helpers are being reworked, and these
// tests need only a handful of requests), a ping latency probe, an RSS
// sampler and raw TCP sockets for hostile input.

import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import { parse } from 'yaml';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { decodeUtf8, parseJson, stringifyJson } from '../../src/protocol/json';
import { connect } from '../../src/transport/connect';
import type { MessageConnection } from '../../src/transport/types';
import { FrameDecoder } from '../../src/transport/framing';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { tcpUserHost } from '../helpers/transport';
import { WireClient } from '../helpers/wire';

export type Msg = JsonObject;

/** Long forms (minutes, full loads) run when build/reliability.mjs sets this. */
export const LONG = process.env.PAF_RELIABILITY_LONG === '1';

/** Picks the short-form or the long-form value of a load parameter. */
export function load<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/**
 * Reports one row of the figures table: printed for the reader of the
 * test log, and appended as a JSON line to $PAF_RELIABILITY_OUT when the
 * driver collects them.
 */
export function figure(test: string, loadText: string, figures: string): void {
  const row = { test, load: loadText, figures, form: LONG ? 'long' : 'short' };
  process.stdout.write(`FIGURE ${JSON.stringify(row)}\n`);
  const out = process.env.PAF_RELIABILITY_OUT;
  if (out) appendFileSync(out, `${JSON.stringify(row)}\n`);
}

export function nowMs(): number {
  return performance.now();
}

export function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MiB = 1 << 20;

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Resident set size of a process in bytes (/proc/<pid>/status VmRSS). */
export function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** USER_HZ of Linux's /proc files. */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system) a process has used so far, in seconds (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** Samples a process's RSS at a fixed period until stopped. */
export class RssSampler {
  readonly samples: { atMs: number; bytes: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  /** The process went away while sampled (it crashed): sampling stopped, the test's liveness check reports it. */
  lost = false;

  constructor(private readonly pid: number, periodMs = 200) {
    this.sample();
    this.timer = setInterval(() => {
      try {
        this.sample();
      } catch {
        this.lost = true;
        this.stop();
      }
    }, periodMs);
  }

  sample(): number {
    const bytes = rss(this.pid);
    this.samples.push({ atMs: nowMs(), bytes });
    return bytes;
  }

  stop(): void { clearInterval(this.timer); }

  get max(): number { return Math.max(...this.samples.map((s) => s.bytes)); }

  /**
   * Least-squares slope in bytes per minute over the samples taken after
   * the first `warmupFraction` of the run (allocation pools, JIT and the
   * heap's first growth settle during warm-up).
   */
  slopePerMinute(warmupFraction = 0.25): number {
    const s = this.samples;
    if (s.length < 3) return 0;
    const t0 = s[0]!.atMs, t1 = s[s.length - 1]!.atMs;
    const from = t0 + (t1 - t0) * warmupFraction;
    const pts = s.filter((p) => p.atMs >= from);
    const n = pts.length;
    if (n < 2) return 0;
    const mx = pts.reduce((a, p) => a + p.atMs, 0) / n;
    const my = pts.reduce((a, p) => a + p.bytes, 0) / n;
    let num = 0, den = 0;
    for (const p of pts) { num += (p.atMs - mx) * (p.bytes - my); den += (p.atMs - mx) ** 2; }
    return den === 0 ? 0 : (num / den) * 60000;
  }
}

/** Percentile (0..100) of a list of numbers, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * A well-behaved Pathfinder client over any transport: request/response
 * by ta-id, with notifications of multi-response transactions handed to a
 * per-transaction listener.
 */
export class Peer {
  private nextTa = 1n;
  private readonly pending = new Map<bigint, { resolve: (m: Msg) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<bigint, (m: Msg) => void>();
  isClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly conn: MessageConnection, readonly clientId: bigint) {
    conn.onMessage = (payload) => this.receive(parseJson(decodeUtf8(payload)) as Msg);
    this.closed = new Promise((resolve) => {
      conn.onClose = () => {
        this.isClosed = true;
        for (const p of this.pending.values()) p.reject(new Error('connection closed'));
        this.pending.clear();
        resolve();
      };
    });
  }

  /** Connects and completes a hello (v2 by default: the server never idles such a client out). */
  static async open(address: string, clientId: bigint, version = 2): Promise<Peer> {
    const p = new Peer(await connect(address), clientId);
    const r = await p.request('hello', {
      'client-id': clientId, 'protocol-minimum-version': BigInt(version), 'protocol-maximum-version': BigInt(version),
    });
    if (r['msg-type'] !== 'complete') throw new Error(`hello failed: ${stringifyJson(r)}`);
    return p;
  }

  private receive(m: Msg): void {
    const ta = m['ta-id'] as bigint;
    const listener = this.listeners.get(ta);
    if (listener !== undefined) { listener(m); return; }
    const p = this.pending.get(ta);
    if (p !== undefined) { this.pending.delete(ta); p.resolve(m); }
  }

  send(cmd: string, ta: bigint, fields: Record<string, JsonValue>): void {
    const obj: JsonObject = Object.create(null);
    obj['ta-cmd'] = cmd; obj['ta-id'] = ta; obj['msg-type'] = 'request';
    for (const k of Object.keys(fields)) obj[k] = fields[k]!;
    this.conn.send(stringifyJson(obj));
  }

  /** A single-response request; resolves with the reply (rejects on close or timeout). */
  request(cmd: string, fields: Record<string, JsonValue> = {}, timeoutMs = 5000): Promise<Msg> {
    const ta = this.nextTa++;
    return new Promise<Msg>((resolve, reject) => {
      if (this.isClosed) { reject(new Error('connection closed')); return; }
      const timer = setTimeout(() => { this.pending.delete(ta); reject(new Error(`${cmd}: no reply within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(ta, {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.send(cmd, ta, fields);
    });
  }

  /** A multi-response request whose every message goes to onMessage; returns its ta-id. */
  stream(cmd: string, fields: Record<string, JsonValue>, onMessage: (m: Msg) => void): bigint {
    const ta = this.nextTa++;
    this.listeners.set(ta, onMessage);
    this.send(cmd, ta, fields);
    return ta;
  }

  /** Runs a `services` listing to completion. */
  listServices(): Promise<Msg[]> {
    return new Promise((resolve, reject) => {
      const out: Msg[] = [];
      let ta = 0n;
      ta = this.stream('services', {}, (m) => {
        const type = m['msg-type'];
        if (type === 'notify') out.push(m);
        else if (type === 'complete') { this.listeners.delete(ta); resolve(out); }
        else if (type === 'fail') { this.listeners.delete(ta); reject(new Error(`services failed: ${stringifyJson(m)}`)); }
      });
    });
  }

  close(): void { this.conn.close(); }
}

/**
 * Pings the server back to back from its own connection, one at a time
 * with a short pause between, and records every round trip: the
 * "another client keeps being served" invariant of issue 8.
 */
export class LatencyProbe {
  readonly rtts: number[] = [];
  failure: Error | undefined;
  private running = true;
  private readonly done: Promise<void>;

  constructor(peer: Peer, gapMs = 10) {
    this.done = (async () => {
      while (this.running) {
        const t0 = nowMs();
        try {
          const r = await peer.request('ping', {}, 3000);
          if (r['msg-type'] !== 'complete') throw new Error(`ping: ${stringifyJson(r)}`);
        } catch (err) {
          this.failure = err as Error;
          return;
        }
        this.rtts.push(nowMs() - t0);
        await pace(gapMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  get max(): number { return Math.max(0, ...this.rtts); }
  get p99(): number { return percentile(this.rtts, 99); }
  summary(): string {
    return `ping p99 ${this.p99.toFixed(1)} ms, max ${this.max.toFixed(1)} ms over ${this.rtts.length}`;
  }
}

/** host and port of a tcp: address. */
export function tcpHostPort(address: string): { host: string; port: number } {
  const m = /^tcp:(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`not a tcp address: ${address}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** A plain TCP socket to a tcp: address, for bytes outside any protocol discipline. */
export function rawSocket(address: string): Promise<net.Socket> {
  const { host, port } = tcpHostPort(address);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** One XCM frame: 4-byte big-endian length, then the payload. */
export function frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** Resolves true when the socket closes within ms, else false. */
export function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { s.off('close', onClose); resolve(false); }, ms);
    const onClose = () => { clearTimeout(timer); resolve(true); };
    s.once('close', onClose);
  });
}

/** True while the child process has neither exited nor been killed. */
export function alive(proc: { exitCode: number | null; signalCode: NodeJS.Signals | null }): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/**
 * The ping probe's loop, run in a worker thread (plain JS, no bundling):
 * its own event loop, so a test process busy producing load does not
 * inflate the round trips it measures. Speaks v2 over a raw tcp socket.
 */
const PROBE_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { host, port, gapMs, localAddress } = workerData;
const frame = (text) => { const b = Buffer.from(text); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
const s = net.connect({ host, port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
let buf = Buffer.alloc(0), ta = 1, sentAt = 0, running = true, helloDone = false;
const ping = () => { sentAt = performance.now(); s.write(frame('{"ta-cmd":"ping","ta-id":' + (ta++) + ',"msg-type":"request"}')); };
s.on('connect', () => s.write(frame('{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":' + workerData.clientId + ',"protocol-minimum-version":2,"protocol-maximum-version":2}')));
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const text = buf.subarray(4, 4 + buf.readUInt32BE(0)).toString();
    buf = buf.subarray(4 + buf.readUInt32BE(0));
    if (!text.includes('"complete"')) { parentPort.postMessage({ failure: 'unexpected reply: ' + text }); s.destroy(); return; }
    if (helloDone) parentPort.postMessage({ rtt: performance.now() - sentAt });
    helloDone = true;
    if (running) setTimeout(ping, gapMs); else { s.end(); parentPort.postMessage({ stopped: true }); }
  }
});
s.on('error', (e) => parentPort.postMessage({ failure: String(e) }));
s.on('close', () => { if (running) parentPort.postMessage({ failure: 'connection closed' }); });
setInterval(() => { if (running && helloDone && performance.now() - sentAt > 3000) parentPort.postMessage({ failure: 'no ping reply within 3 s' }); }, 500).unref();
parentPort.on('message', () => { running = false; });
`;

/** Like LatencyProbe, but pinging from a worker thread over tcp (see PROBE_THREAD_SOURCE). */
export class ThreadProbe {
  readonly rtts: number[] = [];
  failure: string | undefined;
  private readonly worker: Worker;
  private readonly stopped: Promise<void>;

  /** `localAddress`: the loopback source (the probe's user), e.g. 127.0.0.2; default the kernel's choice. */
  constructor(address: string, clientId: bigint, gapMs = 10, localAddress?: string) {
    const { host, port } = tcpHostPort(address);
    this.worker = new Worker(PROBE_THREAD_SOURCE, { eval: true, workerData: { host, port, gapMs, clientId: String(clientId), localAddress } });
    this.stopped = new Promise((resolve) => {
      this.worker.on('message', (m: { rtt?: number; failure?: string; stopped?: boolean }) => {
        if (m.rtt !== undefined) this.rtts.push(m.rtt);
        if (m.failure !== undefined && this.failure === undefined) { this.failure = m.failure; resolve(); }
        if (m.stopped) resolve();
      });
      this.worker.on('error', (e) => { this.failure = String(e); resolve(); });
    });
  }

  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.stopped;
    await this.worker.terminate();
  }

  get max(): number { return Math.max(0, ...this.rtts); }
  get p99(): number { return percentile(this.rtts, 99); }
  summary(): string {
    return `ping p99 ${this.p99.toFixed(1)} ms, max ${this.max.toFixed(1)} ms over ${this.rtts.length}`;
  }
}

// ------------------------------------------------ attacks on a board
// Shared by the attack scenarios of test/reliability/budgets.test.ts
// (issue 12): pafd started as a board runs it (heap flags, limits), a
// bystander of another user that must keep being served, and a
// pipelining raw client.

/** The unit's MemoryMax on the small boards (build/release.mjs): what pafd's RSS must stay under. */
export const BOARD_MEMORY_MAX = 160 * MiB;

/** NODE_OPTIONS of a board target (targets/<target>.env). */
export function boardNodeOptions(target: string): string {
  const env = readFileSync(join(process.cwd(), 'targets', `${target}.env`), 'utf8');
  const m = /^NODE_OPTIONS="([^"]*)"$/m.exec(env);
  if (!m) throw new Error(`targets/${target}.env sets no NODE_OPTIONS`);
  return m[1]!;
}

/** The `resources` section of a board target's configuration, as written there. */
export function boardResources(target: string): string {
  const yaml = readFileSync(join(process.cwd(), 'targets', `${target}.yaml`), 'utf8');
  const m = /^resources:\n(?:(?:[ #].*)?\n)*/m.exec(yaml);
  if (!m) throw new Error(`targets/${target}.yaml has no resources section`);
  return m[0];
}

/** The client limits of a board target's configuration (its `resources` section). */
export function boardClientLimits(target: string): { user: number; total: number } {
  const { resources } = parse(boardResources(target)) as { resources: { user: { clients: number }; total: { clients: number } } };
  return { user: resources.user.clients, total: resources.total.clients };
}

/**
 * pafd with a board's heap flags and resource limits (its sockets replaced
 * by tcp on loopback, logging to the console at info level).
 */
export function startBoardPafd(target: string): Promise<Pafd> {
  const config = `domains:\n  - name: board\n    sockets: [tcp:127.0.0.1:0]\n${boardResources(target)}`;
  return startPafd(['-s', '-n', '-l', 'info'], { bare: true, config, env: { NODE_OPTIONS: boardNodeOptions(target) } });
}

/** The bystander's user in test/helpers/transport.ts terms (WireClient `user`). */
export const BYSTANDER_USER = 0;

/** Loopback source of the bystander: another tcp user than the attacker's 127.0.0.1. */
export const BYSTANDER_HOST = tcpUserHost(BYSTANDER_USER);

/**
 * A client of another user gets through a whole session: hello, publish
 * (complete), subscribe to its service (accept, then the service
 * appears), ping (complete). Throws on anything else; returns the time it
 * took.
 */
export async function bystanderRoundTrip(address: string, serviceId: bigint): Promise<number> {
  const t0 = nowMs();
  const c = await WireClient.open(address, { user: BYSTANDER_USER, max: 2 });
  try {
    const props: JsonObject = Object.create(null);
    props['name'] = ['bystander'];
    props['id'] = [serviceId];
    const published = await c.request('publish', { 'service-id': serviceId, generation: 1n, 'service-props': props, ttl: 30n }, 10_000);
    if (published['msg-type'] !== 'complete') throw new Error(`bystander publish: ${stringifyJson(published)}`);
    const { ta, reply } = await c.subscribe(serviceId, `(&(name=bystander)(id=${serviceId}))`);
    if (reply['msg-type'] !== 'accept') throw new Error(`bystander subscribe: ${stringifyJson(reply)}`);
    const note = await c.nextOf(ta, 10_000);
    if (note['match-type'] !== 'appeared' || note['service-id'] !== serviceId) throw new Error(`bystander notification: ${stringifyJson(note)}`);
    const pong = await c.request('ping', {}, 10_000);
    if (pong['msg-type'] !== 'complete') throw new Error(`bystander ping: ${stringifyJson(pong)}`);
  } finally {
    c.close();
  }
  return nowMs() - t0;
}

/**
 * A hostile client that pipelines requests over a raw tcp socket (from
 * 127.0.0.1) as fast as the socket takes them, and tallies the replies:
 * the first reply of every transaction, by msg-type and fail-reason.
 */
export class Pipeliner {
  readonly tally = new Map<string, number>();
  replies = 0;
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly answered = new Set<string>();
  closed = false;

  private constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder((payload) => this.reply(parseJson(decodeUtf8(payload)) as Msg));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('close', () => { this.closed = true; for (const w of this.waiters) w.resolve(); });
    socket.on('error', () => {});
  }

  /** Connects from 127.0.0.1 and completes a v2 hello. */
  static async open(address: string, clientId: bigint): Promise<Pipeliner> {
    const p = new Pipeliner(await rawSocket(address));
    await p.send([`{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":${clientId},"protocol-minimum-version":2,"protocol-maximum-version":2}`]);
    await p.repliesReach(1, 5000);
    if (p.tally.get('complete') !== 1) throw new Error(`hello failed: ${[...p.tally]}`);
    p.tally.clear();
    p.replies = 0;
    return p;
  }

  private reply(m: Msg): void {
    const key = `${m['ta-cmd']}:${m['ta-id']}`;
    if (this.answered.has(key)) return;   // notifications after an accept
    this.answered.add(key);
    const type = m['msg-type'] === 'fail' ? `fail:${m['fail-reason']}` : String(m['msg-type']);
    this.tally.set(type, (this.tally.get(type) ?? 0) + 1);
    this.replies++;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.replies >= this.waiters[i]!.count) { this.waiters[i]!.resolve(); this.waiters.splice(i, 1); }
    }
  }

  /** Writes the messages back to back, waiting only when the socket is full. */
  async send(messages: Iterable<string>): Promise<void> {
    for (const text of messages) {
      if (this.closed) return;
      if (!this.socket.write(frame(text))) await new Promise((resolve) => this.socket.once('drain', resolve));
    }
  }

  /** Resolves once `count` transactions have their first reply (or the connection closed). */
  repliesReach(count: number, timeoutMs: number): Promise<void> {
    if (this.replies >= count || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.replies} of ${count} replies within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  count(type: string): number { return this.tally.get(type) ?? 0; }

  close(): void { this.socket.destroy(); }
}
