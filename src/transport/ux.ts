// XCM `ux` and `uxf` transports (transports.md §2): one Pathfinder message
// per AF_UNIX SOCK_SEQPACKET packet, no framing. `ux` names live in Linux's
// abstract namespace, `uxf` names are socket files. The sockets come from
// the paf_native addon (native.ts); without it these transports refuse to
// start with the addon's one-line reason.

import { lstatSync, statSync, unlinkSync } from 'node:fs';
import type { Address } from './address';
import { formatAddress, parseAddress } from './address';
import { MAX_FRAME_PAYLOAD } from './framing';
import type { NativeAddon, NativeError, NativeHandle, PeerInfo, SocketName } from './native';
import { addonError, loadNative } from './native';
import type { ConnectionHandler, MessageConnection, MessageListener } from './types';

export type UxAddress = Extract<Address, { transport: 'ux' | 'uxf' }>;

/** Every local (UNIX socket) client is the same user (semantics.md §8.1). */
export const UX_USER = 'default';

/** XCM's limit: a packet longer than this cannot be received by an XCM peer. */
const MAX_MESSAGE = MAX_FRAME_PAYLOAD;
/** A client connect meeting a full backlog (EAGAIN) is retried this often, this far apart. */
const CONNECT_RETRIES = 50;
const CONNECT_RETRY_MS = 20;

/** An Error carrying the errno name, with the address in its message. */
export class UxError extends Error {
  override name = 'UxError';
  constructor(message: string, readonly code: string) { super(message); }
}

function requireAddon(address: string): NativeAddon {
  const addon = loadNative();
  if (addon === null) throw new UxError(`${address}: ${addonError}`, 'ENOTSUP');
  return addon;
}

function errorCode(err: unknown): string {
  return typeof (err as NativeError | undefined)?.code === 'string' ? (err as NativeError).code : '';
}

function wrapError(address: string, err: unknown): UxError {
  return new UxError(`${address}: ${(err as Error).message}`, errorCode(err));
}

/**
 * The remote address XCM reports for a UNIX peer (transports.md §1.3):
 * `ux:` + the peer's abstract name (XCM clients are auto-bound to a
 * 5-hex-digit name because XCM sets SO_PASSCRED), or `ux:` for an unbound
 * peer; `uxf:` reads the peer name as a path, which is empty for an
 * abstract or unbound peer.
 */
export function renderUxRemote(transport: 'ux' | 'uxf', peer: SocketName): string {
  if (transport === 'uxf') return peer.bound && !peer.abstract ? `uxf:${peer.name}` : 'uxf:';
  return `ux:${peer.name}`;
}

/** A connected SEQPACKET socket as a message connection (same contract as FramedConnection). */
export class UxConnection implements MessageConnection {
  onMessage: (payload: Buffer) => void = () => {};
  onClose: (reason: string | undefined) => void = () => {};
  onDrain: () => void = () => {};
  /** Never called: the kernel delivers whole packets, nothing is held here. */
  onInput: () => void = () => {};
  readonly bufferedInput = 0;
  readonly user = UX_USER;
  /** Messages sent during the current event-loop job; they leave together (sendmmsg). */
  private pending: string[] = [];
  /** UTF-8 bytes of `pending` (what the memory budget and the output caps count). */
  private pendingSize = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly flushPending = () => this.flush();

  constructor(
    private readonly addon: NativeAddon,
    private readonly handle: NativeHandle,
    readonly remoteAddress: string,
    /** SO_PEERCRED and socket name of the peer (server side), for logging. */
    readonly peer?: PeerInfo,
  ) {
    const ev = addon.events;
    addon.setCallback(handle, (event, value) => {
      if (event === ev.MESSAGE) { if (!this.closed) this.onMessage(value as Buffer); }
      else if (event === ev.DRAIN) this.onDrain();
      else if (event === ev.END) this.close('closed by peer');
      else if (event === ev.ERROR) this.close(`transport error: ${(value as Error).message}`);
    });
    addon.setReading(handle, true);
  }

  get queuedBytes(): number {
    return this.closed ? 0 : this.pendingSize + this.addon.queued(this.handle);
  }

  send(message: string): void {
    if (this.closed) return;
    // As for tcp: a message no XCM peer can receive closes the connection
    // here rather than throwing into the code that produced it.
    const bytes = Buffer.byteLength(message);
    if (bytes > MAX_MESSAGE) {
      this.close(`outgoing message of ${bytes} bytes exceeds the transport limit`);
      return;
    }
    // An empty packet reads as end-of-connection on the other side: never send one.
    if (bytes === 0) return;
    this.pending.push(message);
    this.pendingSize += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushPending);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingSize = 0;
    try {
      this.addon.send(this.handle, batch);
    } catch (err) {
      this.close(errorCode(err) === 'ENOBUFS' ? 'output queue overflow' : `transport error: ${(err as Error).message}`);
    }
  }

  pause(): void { if (!this.closed) this.addon.setReading(this.handle, false); }
  resume(): void { if (!this.closed) this.addon.setReading(this.handle, true); }

  /** UNIX sockets have no keepalive: a dead peer process is seen at once. */
  setKeepAlive(_on: boolean): void {}

  /**
   * Closes at once. Output of the current job that the kernel takes
   * without waiting still goes out (a final reply before a close); what
   * would have to wait is dropped. onClose follows on the next tick.
   */
  close(reason?: string): void {
    if (this.closed) return;
    if (this.pending.length > 0) {
      try { this.addon.send(this.handle, this.pending); } catch { /* the peer is gone or slow: drop */ }
    }
    this.closed = true;
    this.pending = [];
    this.pendingSize = 0;
    this.addon.close(this.handle);
    process.nextTick(() => this.onClose(reason ?? 'closed'));
  }
}

/**
 * Makes a uxf path free for bind: a socket file nobody listens on any more
 * (connect: ECONNREFUSED) is a crashed server's leftover and is removed; a
 * live server's socket is never taken over (EADDRINUSE), and anything that
 * is not a socket is left for bind to refuse.
 */
function clearStaleSocket(addon: NativeAddon, path: string, address: string): void {
  try {
    if (!lstatSync(path).isSocket()) return;
  } catch {
    return;                                   // nothing there (or not ours to judge): let bind decide
  }
  let probe: NativeHandle;
  try {
    probe = addon.connect(path, false);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ECONNREFUSED') {
      try { unlinkSync(path); } catch (e) { if (errorCode(e) !== 'ENOENT') throw wrapError(address, e); }
      return;
    }
    // EAGAIN: a live server with a full backlog.
    if (code === 'EAGAIN') throw new UxError(`${address}: bind EADDRINUSE: a running server owns ${path}`, 'EADDRINUSE');
    throw wrapError(address, err);
  }
  addon.close(probe);
  throw new UxError(`${address}: bind EADDRINUSE: a running server owns ${path}`, 'EADDRINUSE');
}

/**
 * Binds a ux: or uxf: server socket (backlog 1024) and hands every accepted
 * connection to onConnection. A uxf socket file is created with the
 * permissions the umask gives (as XCM does; connecting needs write
 * permission, so the umask or the directory decides who may connect) and
 * removed again on close, if it is still ours.
 */
export async function listenUx(addr: UxAddress, onConnection: ConnectionHandler): Promise<MessageListener> {
  const address = formatAddress(addr);
  const addon = requireAddon(address);
  const abstract = addr.transport === 'ux';
  if (!abstract) clearStaleSocket(addon, addr.name, address);
  let handle: NativeHandle;
  try {
    handle = addon.listen(addr.name, abstract);
  } catch (err) {
    throw wrapError(address, err);
  }
  // The file's identity, so close() never removes a successor's socket.
  let identity: { dev: number; ino: number } | undefined;
  if (!abstract) {
    try {
      const st = statSync(addr.name);
      identity = { dev: st.dev, ino: st.ino };
    } catch { /* removed under our feet: nothing to clean up later */ }
  }
  const ev = addon.events;
  addon.setCallback(handle, (event, value) => {
    if (event !== ev.ACCEPT) return;        // accept errors are transient; keep listening
    const conn = value as NativeHandle;
    let peer: PeerInfo;
    try {
      peer = addon.peer(conn);
    } catch {
      addon.close(conn);                    // the peer left before we looked
      return;
    }
    onConnection(new UxConnection(addon, conn, renderUxRemote(addr.transport, peer), peer));
  });
  addon.setReading(handle, true);
  let closed = false;
  return {
    address,
    close: async () => {
      if (closed) return;
      closed = true;
      addon.close(handle);
      if (identity === undefined) return;
      try {
        const st = statSync(addr.name);
        if (st.dev === identity.dev && st.ino === identity.ino) unlinkSync(addr.name);
      } catch { /* already gone */ }
    },
  };
}

/**
 * Client side: connects to a ux:/uxf: server. Like XCM the socket is
 * auto-bound to a kernel-chosen abstract name (SO_PASSCRED), which the
 * server reports as our address. remoteAddress is the server's address.
 */
export async function connectUx(address: string | UxAddress): Promise<MessageConnection> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (addr.transport !== 'ux' && addr.transport !== 'uxf') throw new UxError(`${formatAddress(addr)}: not a ux: or uxf: address`, 'EINVAL');
  const text = formatAddress(addr);
  const addon = requireAddon(text);
  for (let attempt = 0; ; attempt++) {
    try {
      return new UxConnection(addon, addon.connect(addr.name, addr.transport === 'ux'), text);
    } catch (err) {
      // A full backlog leaves no pending connect on a UNIX socket: try again shortly.
      if (errorCode(err) !== 'EAGAIN' || attempt >= CONNECT_RETRIES) throw wrapError(text, err);
    }
    await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
  }
}
