// XCM `ux` and `uxf` transports (docs/transports.md §2): one Pathfinder message
// per AF_UNIX SOCK_SEQPACKET packet, no framing. `ux` names live in Linux's
// abstract namespace, `uxf` names are socket files. The sockets come from
// the paf_native addon (native.ts); without it these transports refuse to
// start with the addon's one-line reason.

import { chmodSync, chownSync, lstatSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import type { Address } from './address';
import { formatAddress, parseAddress } from './address';
import { AcceptGuard } from './accept-guard';
import { MAX_FRAME_PAYLOAD } from './framing';
import type { NativeAddon, NativeError, NativeHandle, PeerInfo, SocketName } from './native';
import { loadNative, nativeError } from './native';
import type { ConnectionHandler, MessageConnection, MessageListener } from './types';

export type UxAddress = Extract<Address, { transport: 'ux' | 'uxf' }>;

/** Every local (UNIX socket) client is the same user (docs/semantics.md §8.1)... */
export const UX_USER = 'default';
/** ...unless the domain asks for users by uid (`local_users: per-uid`). */
export function uidUser(uid: number): string { return `uid:${uid}`; }

/** Default permissions of a uxf socket file: owner and group may connect. */
export const UXF_MODE = 0o660;

export interface UxListenOptions {
  /** Each client is the user uid:<n> of its SO_PEERCRED instead of `default`. */
  perUid?: boolean | undefined;
  /** uxf: permissions of the socket file (default UXF_MODE). */
  mode?: number | undefined;
  /** uxf: group of the socket file, a name (from /etc/group) or a gid; default pafd's group. */
  group?: string | number | undefined;
}

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

/** The addon (from `path` if given, else the default search) or a UxError ENOTSUP saying why not. */
function requireAddon(address: string, path?: string): NativeAddon {
  const addon = loadNative(path);
  if (addon === null) throw new UxError(`${address}: ${nativeError(path)}`, 'ENOTSUP');
  return addon;
}

function errorCode(err: unknown): string {
  return typeof (err as NativeError | undefined)?.code === 'string' ? (err as NativeError).code : '';
}

/**
 * Why a connection ends after a failed send or an error event: EPIPE means
 * the peer closed (or shut down) its end, an orderly close like an end of
 * connection; ENOBUFS is our own output bound.
 */
function closeReasonFor(err: unknown): string {
  const code = errorCode(err);
  if (code === 'EPIPE') return 'closed by peer';
  if (code === 'ENOBUFS') return 'output queue overflow';
  return `transport error: ${(err as Error).message}`;
}

function wrapError(address: string, err: unknown): UxError {
  return new UxError(`${address}: ${(err as Error).message}`, errorCode(err));
}

/**
 * The remote address of a UNIX peer (docs/transports.md §1.3), as XCM
 * reports it: `ux:` + the peer's abstract name (XCM clients are auto-bound
 * to a 5-hex-digit name because XCM sets SO_PASSCRED), or `ux:` for an
 * unbound peer; `uxf:` + the peer's path if it bound one. XCM leaves a
 * `uxf:` peer without a path as a bare `uxf:`, which makes every such
 * client look the same in logs and in `clients`; this server names it by
 * its process instead, `uxf:pid:<pid>` (from SO_PEERCRED).
 */
export function renderUxRemote(transport: 'ux' | 'uxf', peer: SocketName & { pid?: number }): string {
  if (transport === 'ux') return `ux:${peer.name}`;
  if (peer.bound && !peer.abstract) return `uxf:${peer.name}`;
  return peer.pid !== undefined && peer.pid > 0 ? `uxf:pid:${peer.pid}` : 'uxf:';
}

/** A connected SEQPACKET socket as a message connection (same contract as FramedConnection). */
export class UxConnection implements MessageConnection {
  onMessage: (payload: Buffer) => void = () => {};
  onClose: (reason: string | undefined) => void = () => {};
  onDrain: () => void = () => {};
  /** Never called: the kernel delivers whole packets, nothing is held here. */
  onInput: () => void = () => {};
  readonly bufferedInput = 0;
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
    readonly user: string = UX_USER,
  ) {
    const ev = addon.events;
    addon.setCallback(handle, (event, value) => {
      if (event === ev.MESSAGE) { if (!this.closed) this.onMessage(value as Buffer); }
      else if (event === ev.DRAIN) this.onDrain();
      else if (event === ev.END) this.close('closed by peer');
      else if (event === ev.ERROR) this.close(closeReasonFor(value));
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
      this.close(closeReasonFor(err));
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

/** A group name looked up in /etc/group (Node has no getgrnam), or a gid as given. */
export function groupId(group: string | number, groupFile = '/etc/group'): number {
  if (typeof group === 'number') return group;
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch (err) {
    throw new UxError(`group ${group}: cannot read ${groupFile}: ${errorCode(err) || (err as Error).message}`, 'ENOENT');
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === group && f.length >= 3 && /^\d+$/.test(f[2]!)) return Number(f[2]);
  }
  throw new UxError(`group ${group} does not exist (${groupFile})`, 'ENOENT');
}

/**
 * Binds a uxf socket file so that its final mode and group are in place
 * before anyone can connect: it is created 0600 (umask 0177 around the
 * synchronous bind), then chowned and chmodded, and only then does the
 * caller start accepting.
 */
function bindSocketFile(addon: NativeAddon, path: string, address: string, mode: number, gid: number | undefined): NativeHandle {
  const umask = process.umask(0o177);
  let handle: NativeHandle;
  try {
    handle = addon.listen(path, false);
  } catch (err) {
    throw wrapError(address, err);
  } finally {
    process.umask(umask);
  }
  try {
    if (gid !== undefined) chownSync(path, -1, gid);
    chmodSync(path, mode);
  } catch (err) {
    addon.close(handle);
    try { unlinkSync(path); } catch { /* already gone */ }
    throw new UxError(`${address}: cannot set ${gid === undefined ? '' : `group ${gid} and `}mode ${mode.toString(8).padStart(4, '0')}: ${errorCode(err) || (err as Error).message}`, errorCode(err));
  }
  return handle;
}

/**
 * Binds a ux: or uxf: server socket (backlog 1024) and hands every accepted
 * connection to onConnection. A uxf socket file gets `mode` (default 0660:
 * connecting needs write permission, so pafd's user and group may connect)
 * and `group` before the first accept, and is removed again on close, if
 * it is still ours.
 */
export async function listenUx(addr: UxAddress, onConnection: ConnectionHandler, options: UxListenOptions = {}): Promise<MessageListener> {
  const address = formatAddress(addr);
  const addon = requireAddon(address);
  const abstract = addr.transport === 'ux';
  const gid = options.group === undefined || abstract ? undefined : groupId(options.group);
  if (!abstract) clearStaleSocket(addon, addr.name, address);
  let handle: NativeHandle;
  if (abstract) {
    try {
      handle = addon.listen(addr.name, abstract);
    } catch (err) {
      throw wrapError(address, err);
    }
  } else {
    handle = bindSocketFile(addon, addr.name, address, options.mode ?? UXF_MODE, gid);
  }
  const perUid = options.perUid === true;
  // The file's identity, so close() never removes a successor's socket.
  let identity: { dev: number; ino: number } | undefined;
  if (!abstract) {
    try {
      const st = statSync(addr.name);
      identity = { dev: st.dev, ino: st.ino };
    } catch { /* removed under our feet: nothing to clean up later */ }
  }
  const ev = addon.events;
  let listener: MessageListener | undefined;
  const guard = new AcceptGuard((on) => addon.setReading(handle, on), (code) => listener?.onAcceptError?.(code));
  addon.setCallback(handle, (event, value) => {
    // Accept errors are transient: pause accepting a moment, keep listening.
    if (event === ev.ERROR) { guard.failed((value as NativeError).code); return; }
    if (event !== ev.ACCEPT) return;
    guard.accepted();
    const conn = value as NativeHandle;
    let peer: PeerInfo;
    try {
      peer = addon.peer(conn);
    } catch {
      addon.close(conn);                    // the peer left before we looked
      return;
    }
    onConnection(new UxConnection(addon, conn, renderUxRemote(addr.transport, peer), peer, perUid ? uidUser(peer.uid) : UX_USER));
  });
  addon.setReading(handle, true);
  let closed = false;
  listener = {
    address,
    close: async () => {
      if (closed) return;
      closed = true;
      guard.close();
      addon.close(handle);
      if (identity === undefined) return;
      try {
        const st = statSync(addr.name);
        if (st.dev === identity.dev && st.ino === identity.ino) unlinkSync(addr.name);
      } catch { /* already gone */ }
    },
  };
  return listener;
}

/**
 * Client side: connects to a ux:/uxf: server. Like XCM the socket is
 * auto-bound to a kernel-chosen abstract name (SO_PASSCRED), which the
 * server reports as our address. remoteAddress is the server's address.
 * `nativeAddon` names the addon file to use instead of searching for it.
 */
export async function connectUx(address: string | UxAddress, nativeAddon?: string): Promise<MessageConnection> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (addr.transport !== 'ux' && addr.transport !== 'uxf') throw new UxError(`${formatAddress(addr)}: not a ux: or uxf: address`, 'EINVAL');
  const text = formatAddress(addr);
  const addon = requireAddon(text, nativeAddon);
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
