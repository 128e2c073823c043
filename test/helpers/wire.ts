// A raw Pathfinder wire client for component tests: frames JSON over TCP
// exactly as XCM does and hands back every message the server sends, so
// tests assert on what travels on the wire.

import * as net from 'node:net';
import type { JsonObject, JsonValue } from '../../src/core/json';
import { decodeUtf8, parseJson, stringifyJson } from '../../src/core/json';
import { FrameDecoder, encodeFrame } from '../../src/transport/framing';

export type Msg = JsonObject;

const DEFAULT_TIMEOUT_MS = 3000;

function tcpTarget(address: string): { host: string; port: number } {
  const m = /^tcp:(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`not a tcp address: ${address}`);
  let host = m[1];
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '*' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return { host, port: Number(m[2]) };
}

let idSeed = BigInt(Date.now()) * 1000003n;
/** A random-looking 63-bit id, different on every call. */
export function randomId(): bigint {
  idSeed = (idSeed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
  return (idSeed >> 1n) ^ BigInt(Math.floor(Math.random() * 2 ** 31));
}

export class WireClient {
  private readonly queue: Msg[] = [];
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private nextTa = 0n;
  isClosed = false;
  readonly closed: Promise<void>;
  clientId: bigint = randomId();

  private constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder((payload) => this.deliver(parseJson(decodeUtf8(payload)) as Msg));
    socket.on('data', (d) => decoder.push(d));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.isClosed = true;
      for (const w of this.waiters) { clearTimeout(w.timer); w.reject(new Error('connection closed while waiting for a message')); }
      this.waiters = [];
      resolve();
    }));
  }

  /** localAddress picks the source IP (127.0.0.2, ...): on TCP the user id is ip:<source>, so tests get distinct users. */
  static connect(address: string, localAddress?: string): Promise<WireClient> {
    const { host, port } = tcpTarget(address);
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
      s.once('connect', () => { s.off('error', reject); resolve(new WireClient(s)); });
      s.once('error', reject);
    });
  }

  /** Connects and completes hello; fails the test if hello fails. */
  static async open(address: string, opts: { min?: number; max?: number; clientId?: bigint; localAddress?: string } = {}): Promise<WireClient> {
    const c = await WireClient.connect(address, opts.localAddress);
    if (opts.clientId !== undefined) c.clientId = opts.clientId;
    const r = await c.hello(opts.min ?? 2, opts.max ?? 3);
    if (r['msg-type'] !== 'complete') throw new Error(`hello failed: ${stringifyJson(r)}`);
    return c;
  }

  private deliver(m: Msg): void {
    const i = this.waiters.findIndex((w) => w.pred(m));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(m);
    } else {
      this.queue.push(m);
    }
  }

  taId(): bigint { return this.nextTa++; }

  /** Sends raw bytes as one frame (or a JS string as its UTF-8). */
  sendFrame(payload: string | Buffer): void { this.socket.write(encodeFrame(payload)); }
  /** Sends arbitrary bytes with no framing. */
  sendBytes(bytes: Buffer): void { this.socket.write(bytes); }

  send(cmd: string, taId: bigint, type: string, fields: Record<string, JsonValue> = {}): void {
    const obj: JsonObject = Object.create(null);
    obj['ta-cmd'] = cmd; obj['ta-id'] = taId; obj['msg-type'] = type;
    for (const [k, v] of Object.entries(fields)) obj[k] = v;
    this.sendFrame(stringifyJson(obj));
  }

  /** Next message matching pred (default: any), in arrival order. */
  next(pred: (m: Msg) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    const i = this.queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]);
    if (this.isClosed) return Promise.reject(new Error('connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no matching message within ${timeoutMs} ms; unread: ${this.queue.map((m) => stringifyJson(m)).join(' ')}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }

  /** Next message of transaction taId. */
  nextOf(taId: bigint, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    return this.next((m) => m['ta-id'] === taId, timeoutMs);
  }

  /** Messages already received and not yet consumed. */
  get unread(): readonly Msg[] { return this.queue; }

  /** Sends a request and resolves with its first reply. */
  async request(cmd: string, fields: Record<string, JsonValue> = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    const ta = this.taId();
    this.send(cmd, ta, 'request', fields);
    return this.nextOf(ta, timeoutMs);
  }

  hello(min = 2, max = 3): Promise<Msg> {
    return this.request('hello', { 'client-id': this.clientId, 'protocol-minimum-version': BigInt(min), 'protocol-maximum-version': BigInt(max) });
  }

  ping(): Promise<Msg> { return this.request('ping'); }

  publish(serviceId: bigint, generation: number | bigint, props: Record<string, JsonValue[]>, ttl: number | bigint): Promise<Msg> {
    const p: JsonObject = Object.create(null);
    for (const [k, v] of Object.entries(props)) p[k] = v;
    return this.request('publish', { 'service-id': serviceId, generation: BigInt(generation), 'service-props': p, ttl: BigInt(ttl) });
  }

  unpublish(serviceId: bigint): Promise<Msg> { return this.request('unpublish', { 'service-id': serviceId }); }

  /** Subscribes; resolves with the first reply (accept or fail) and the transaction id. */
  async subscribe(subscriptionId: bigint, filter?: string): Promise<{ ta: bigint; reply: Msg }> {
    const ta = this.taId();
    const fields: Record<string, JsonValue> = { 'subscription-id': subscriptionId };
    if (filter !== undefined) fields.filter = filter;
    this.send('subscribe', ta, 'request', fields);
    return { ta, reply: await this.nextOf(ta) };
  }

  /** Runs a multi-response listing and resolves with its notifications (throws on fail). */
  async list(cmd: 'services' | 'subscriptions' | 'clients', fields: Record<string, JsonValue> = {}): Promise<Msg[]> {
    const ta = this.taId();
    this.send(cmd, ta, 'request', fields);
    const first = await this.nextOf(ta);
    if (first['msg-type'] !== 'accept') throw new Error(`${cmd} failed: ${stringifyJson(first)}`);
    const out: Msg[] = [];
    for (;;) {
      const m = await this.nextOf(ta);
      if (m['msg-type'] === 'complete') return out;
      out.push(m);
    }
  }

  /** Asserts no message arrives within ms (used where the spec says "no notification within ..."). */
  async expectSilence(ms: number, pred: (m: Msg) => boolean = () => true): Promise<void> {
    try {
      const m = await this.next(pred, ms);
      throw new Error(`unexpected message: ${stringifyJson(m)}`);
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected message')) throw err;
      if (this.isClosed) throw new Error('connection closed');
    }
  }

  /** Resolves when the server closes the connection; rejects after timeoutMs. */
  expectClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return Promise.race([
      this.closed,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs)),
    ]);
  }

  close(): void { this.socket.destroy(); }
}
