// A raw Pathfinder wire client for component tests: speaks to pafd over
// any messaging transport (tcp, tls, ux, uxf, utls) through the client
// side of our own transport layer (src/transport/connect.ts) and hands
// back every message the server sends, so tests assert on what travels
// on the wire. Over tcp and tls it can also write bytes outside the
// framing (rawBytes), for the framing-violation scenarios.

import type * as net from 'node:net';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { decodeUtf8, parseJson, stringifyJson } from '../../src/protocol/json';
import { connect as connectTransport } from '../../src/transport/connect';
import type { ConnectOptions } from '../../src/transport/connect';
import { encodeFrame } from './frame';
import type { NativeAddon, NativeHandle } from '../../src/transport/native';
import type { MessageConnection } from '../../src/transport/types';
import type { TlsFiles } from '../../src/transport/tls-credentials';
import { connectAs } from './transport';

export type Msg = JsonObject;

const DEFAULT_TIMEOUT_MS = 3000;

let idSeed = BigInt(Date.now()) * 1000003n;
/** A random-looking 63-bit id, different on every call. */
export function randomId(): bigint {
  idSeed = (idSeed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
  return (idSeed >> 1n) ^ BigInt(Math.floor(Math.random() * 2 ** 31));
}

/** Who a client connects as (helpers/transport.ts): a matrix user, or explicit TLS credentials. */
export interface ConnectAs {
  /** User N (tcp: source 127.0.0.(2+N), tls: certificate clientN, ux: the one user); absent = the default identity. */
  user?: number;
  /** TLS credential files overriding the user's (tls:/utls: only). */
  tls?: TlsFiles;
}

/**
 * What sits under a MessageConnection, for the few things a conformance
 * test does below the message level (raw bytes, RST, local port). The
 * transport classes keep these fields private: this test-only view reads
 * them by name, and fails loudly if they are ever renamed.
 */
interface Underneath {
  /** FramedConnection (tcp, tls). */
  socket?: net.Socket;
  /** UxConnection (ux, uxf). */
  addon?: NativeAddon;
  handle?: NativeHandle;
}

function underneath(conn: MessageConnection): Underneath {
  const u = conn as unknown as Underneath;
  if (u.socket === undefined && (u.addon === undefined || u.handle === undefined)) {
    throw new Error('test helper: the connection has neither a socket nor a native handle (transport internals renamed?)');
  }
  return u;
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

export class WireClient {
  private readonly queue: Msg[] = [];
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private readonly receivers: ((m: Msg) => void)[] = [];
  private nextTa = 0n;
  private readonly below: Underneath;
  isClosed = false;
  readonly closed: Promise<void>;
  clientId: bigint = randomId();

  private constructor(readonly conn: MessageConnection, readonly address: string) {
    this.below = underneath(conn);
    conn.onMessage = (payload) => {
      const m = parseJson(decodeUtf8(payload)) as Msg;
      this.deliver(m);
      for (const r of this.receivers) r(m);
    };
    this.closed = new Promise((resolve) => {
      conn.onClose = () => {
        this.isClosed = true;
        for (const w of this.waiters) { clearTimeout(w.timer); w.reject(new Error('connection closed while waiting for a message')); }
        this.waiters = [];
        resolve();
      };
    });
  }

  /**
   * Connects to a server address of any transport. `as` picks the user
   * (helpers/transport.ts connectAs): on TCP the user id is ip:<source>,
   * on TLS the certificate's SKI, on UX always `default`.
   */
  static async connect(address: string, as: ConnectAs = {}): Promise<WireClient> {
    const opts: ConnectOptions = connectAs(address, as.user);
    if (as.tls !== undefined) opts.tls = as.tls;
    return new WireClient(await connectTransport(address, opts), address);
  }

  /** Connects and completes hello; fails the test if hello fails. */
  static async open(address: string, opts: { min?: number; max?: number; clientId?: bigint } & ConnectAs = {}): Promise<WireClient> {
    const c = await WireClient.connect(address, opts);
    if (opts.clientId !== undefined) c.clientId = opts.clientId;
    const r = await c.hello(opts.min ?? 2, opts.max ?? 3);
    if (r['msg-type'] !== 'complete') throw new Error(`hello failed: ${stringifyJson(r)}`);
    return c;
  }

  /** The transport: tcp, tls, ux or uxf (utls connections report the half they use). */
  get transport(): string {
    return this.conn.remoteAddress.slice(0, this.conn.remoteAddress.indexOf(':'));
  }

  /** Whether sendBytes works: bytes outside the framing exist only on byte streams (tcp, tls). */
  get rawBytes(): boolean { return this.below.socket !== undefined; }

  /** Our TCP port (tcp, tls), as the server sees it in client-address. */
  get localPort(): number | undefined { return this.below.socket?.localPort; }

  /** Calls fn with every message, after it has been queued or handed to a waiter. */
  onReceive(fn: (m: Msg) => void): void { this.receivers.push(fn); }

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

  /**
   * Sends one message: a JS string as its UTF-8, or any bytes (one frame
   * on tcp/tls, one packet on ux). Bytes that are not UTF-8 cannot go
   * through MessageConnection.send and are written below it, in order.
   */
  sendFrame(payload: string | Buffer): void {
    if (typeof payload === 'string' || isUtf8(payload)) {
      this.conn.send(typeof payload === 'string' ? payload : payload.toString('utf8'));
      return;
    }
    const { socket, addon, handle } = this.below;
    if (socket !== undefined) {
      socket.write(encodeFrame(payload));
    } else {
      // UxConnection flushes what send() queued on the next tick; queue behind it.
      process.nextTick(() => { if (!this.isClosed) addon!.send(handle!, payload); });
    }
  }

  /** Sends arbitrary bytes with no framing (tcp, tls only: see rawBytes). */
  sendBytes(bytes: Buffer): void {
    if (this.below.socket === undefined) throw new Error(`raw bytes are not possible over ${this.transport}`);
    this.below.socket.write(bytes);
  }

  /** Stops reading from the connection (the server's output backs up in the kernel), and resumes. */
  pauseReading(): void { this.conn.pause(); }
  resumeReading(): void { this.conn.resume(); }

  /**
   * Drops the connection as a killed process would: a TCP reset on tcp,
   * an abrupt close without TLS close_notify on tls (Node cannot reset a
   * TLS socket), a plain close on ux.
   */
  abort(): void {
    const socket = this.below.socket;
    if (this.transport === 'tcp' && socket !== undefined) socket.resetAndDestroy();
    else if (socket !== undefined) socket.destroy();
    else this.conn.close();
  }

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

  close(): void { this.conn.close(); }
}
