// XCM `tcp` transport: length-prefixed frames over TCP (docs/transports.md §3).

import { AcceptGuard } from './accept-guard';
import * as net from 'node:net';
import type { Address } from './address';
import { bindHost, renderIpAddress } from './address';
import { FRAME_HEADER_LENGTH, FrameDecoder, MAX_FRAME_PAYLOAD } from './framing';
import type { ConnectionHandler, MessageConnection, MessageListener } from './types';

/**
 * Server backlog; XCM's is 32, but a reconnect storm of thousands of
 * clients then loses handshakes (README, "Decisions").
 */
export const LISTEN_BACKLOG = 1024;
/**
 * XCM's keepalive idle time, for tcp and tls alike; interval and count
 * (and XCM's other TCP options) are left to the OS: Node cannot set them.
 */
export const KEEPALIVE_IDLE_MS = 1000;
/**
 * Outgoing messages are collected and framed into one buffer, written once
 * per event-loop job (a publish that fans out to 100 subscribers on this
 * connection costs one write, not 100); a burst larger than this is
 * written as soon as it reaches it, to keep the buffers moderate. Not once
 * per turn (setImmediate): that saved writes in a reconnect storm but held
 * every reply until all of the turn's ready connections had been read, and
 * the storm took longer to converge (docs/PERFORMANCE.md).
 *
 * While the socket cannot take more (the peer does not read), messages
 * stay queued as the strings they were sent as, not framed into buffers:
 * a notification is a short prefix joined to a body shared by every
 * subscriber, so a backlog of 100,000 of them costs a few MiB of V8 heap
 * that is returned once they are written or dropped, instead of the
 * full encoded bytes in malloc'd buffers that stay with the process (the
 * allocator keeps freed memory). They are framed OUTPUT_BATCH_BYTES at a
 * time as the socket drains.
 */
const OUTPUT_BATCH_BYTES = 64 << 10;
/**
 * A close we initiate is orderly (docs/transports.md §6): the socket's write
 * side is ended (on tls a close_notify alert, then the FIN), input is read
 * and dropped until the peer closes too (unread input would make the
 * kernel answer with a reset), and only a peer that has not done so after
 * this long has its socket destroyed. Short: a peer that does not read
 * never gets the close_notify anyway, and the socket is all it holds (the
 * connection is gone for the server at once).
 */
export const CLOSE_LINGER_MS = 1000;
/** Output queues up to this many messages are emptied in place after a flush; longer ones are dropped for new ones. */
const REUSED_QUEUE_LENGTH = 1024;

/** IP user id of docs/semantics.md §8.1: ip:10.0.0.7, ip:[fd00::7]. */
export function ipUser(remoteAddress: string): string {
  // remoteAddress is rendered "<transport>:<host>:<port>"; the host keeps its brackets.
  const host = remoteAddress.slice(remoteAddress.indexOf(':') + 1, remoteAddress.lastIndexOf(':'));
  return `ip:${host}`;
}

/** Wraps a connected TCP (or TLS) socket as a message connection. */
export class FramedConnection implements MessageConnection {
  onMessage: (payload: Buffer) => void = () => {};
  onClose: (reason: string | undefined) => void = () => {};
  onDrain: () => void = () => {};
  onInput: () => void = () => {};
  private readonly decoder: FrameDecoder;
  /** Messages not yet handed to the socket (from pendingHead on), and their framed size. */
  private pending: string[] = [];
  /** UTF-8 size of each pending message. */
  private pendingSizes: number[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  /** A flush is scheduled for the end of the current event-loop job. */
  private flushQueued = false;
  private closeReason: string | undefined = undefined;
  private closed = false;
  /** Whether keepalive is on (sockets start without it). */
  private keepAlive = false;

  /** onClose was called. */
  private reported = false;

  constructor(
    private readonly socket: net.Socket,
    readonly remoteAddress: string,
    readonly user: string,
    /** Seconds from the TCP accept to this object (the TLS handshake). */
    readonly setupSeconds = 0,
    /**
     * Keepalive from the start (a client's connection, as XCM does). A
     * server's accepted connection starts without: until its hello the
     * handshake deadline (3 s) is what closes a silent peer, and after it
     * only a v2 connection turns keepalive on (src/server/handlers/hello.ts);
     * two socket options fewer per accept, and none to undo for v3.
     */
    keepAlive = true,
  ) {
    this.decoder = new FrameDecoder((payload) => { if (!this.closed) this.onMessage(payload); });
    socket.setNoDelay(true);
    if (keepAlive) this.setKeepAlive(true);
    socket.on('data', (chunk: Buffer) => {
      // After our close, input is only read to be dropped (see CLOSE_LINGER_MS).
      if (this.closed) return;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.close(`framing error: ${(err as Error).message}`);
        return;
      }
      if (!this.closed && this.decoder.pending > 0) this.onInput();
    });
    socket.on('drain', () => { this.flush(); this.onDrain(); });
    socket.on('error', (err) => { this.closeReason ??= `transport error: ${err.message}`; });
    socket.on('end', () => { this.closeReason ??= 'closed by peer'; socket.destroy(); });
    socket.on('close', () => {
      this.closed = true;
      this.report();
    });
  }

  /** Calls onClose once: when the socket is gone, or right after a close of ours. */
  private report(): void {
    if (this.reported) return;
    this.reported = true;
    this.onClose(this.closeReason ?? 'closed by peer');
  }

  get queuedBytes(): number { return this.socket.writableLength + this.pendingBytes; }

  get bufferedInput(): number { return this.decoder.pending; }

  send(message: string): void {
    if (this.closed || this.socket.destroyed) return;
    const bytes = Buffer.byteLength(message);
    // A message the peer's XCM cannot receive (a notification echoing a
    // near-limit publish) would break the connection on its side anyway;
    // close it here, never throw into the code that produced the message.
    if (bytes > MAX_FRAME_PAYLOAD || bytes === 0) {
      this.close(`outgoing message of ${bytes} bytes is outside the transport's limits`);
      return;
    }
    this.pending.push(message);
    this.pendingSizes.push(bytes);
    this.pendingBytes += bytes + FRAME_HEADER_LENGTH;
    if (this.socket.writableNeedDrain) return; // the 'drain' handler flushes
    if (this.pendingBytes >= OUTPUT_BATCH_BYTES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flush);
    }
  }

  /**
   * Frames pending messages into buffers of about OUTPUT_BATCH_BYTES and
   * hands them to the socket, until none are left or the socket is full.
   */
  private readonly flush = (): void => {
    this.flushQueued = false;
    const socket = this.socket;
    while (this.pendingHead < this.pending.length) {
      if (this.closed || socket.destroyed) {
        this.pending = [];
        this.pendingSizes = [];
        this.pendingHead = 0;
        this.pendingBytes = 0;
        return;
      }
      if (socket.writableNeedDrain) return;
      const messages = this.pending, sizes = this.pendingSizes;
      let end = this.pendingHead, size = 0;
      while (end < messages.length && size < OUTPUT_BATCH_BYTES) size += sizes[end++]! + FRAME_HEADER_LENGTH;
      const out = Buffer.allocUnsafe(size);
      let offset = 0;
      for (let i = this.pendingHead; i < end; i++) {
        const length = out.write(messages[i]!, offset + FRAME_HEADER_LENGTH);
        out.writeUInt32BE(length, offset);
        offset += FRAME_HEADER_LENGTH + length;
      }
      if (end === messages.length) {
        // Emptied in place (no new arrays per flush), unless a backlog made them big.
        if (messages.length > REUSED_QUEUE_LENGTH) {
          this.pending = [];
          this.pendingSizes = [];
        } else {
          messages.length = 0;
          sizes.length = 0;
        }
        this.pendingHead = 0;
      } else {
        this.pendingHead = end;
        // Let the arrays shrink now and then instead of keeping every slot ever used.
        if (end > messages.length / 2) {
          this.pending = messages.slice(end);
          this.pendingSizes = sizes.slice(end);
          this.pendingHead = 0;
        }
      }
      this.pendingBytes -= size;
      socket.write(out);
    }
  };

  pause(): void {
    if (this.closed) return;
    // Frames already received stay in the decoder too, so a burst of
    // requests in one chunk is not all answered at once.
    this.decoder.pause();
    this.socket.pause();
  }

  resume(): void {
    if (this.closed) return;
    try {
      this.decoder.resume();
    } catch (err) {
      this.close(`framing error: ${(err as Error).message}`);
      return;
    }
    if (!this.decoder.isPaused) this.socket.resume();
  }

  setKeepAlive(on: boolean): void {
    if (on === this.keepAlive || this.socket.destroyed) return;
    this.keepAlive = on;
    this.socket.setKeepAlive(on, KEEPALIVE_IDLE_MS);
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.closeReason ??= reason;
    // What this turn sent before the close (a last reply) still goes, if
    // the socket takes it; a backlog the peer does not read is dropped now,
    // not when this object is collected.
    if (this.pendingHead < this.pending.length && !this.socket.destroyed && !this.socket.writableNeedDrain) this.flush();
    this.closed = true;
    this.pending = [];
    this.pendingSizes = [];
    this.pendingHead = 0;
    this.pendingBytes = 0;
    const socket = this.socket;
    if (!socket.destroyed) {
      // What was already handed to the socket still goes, then the
      // close_notify (tls) and the FIN; see CLOSE_LINGER_MS.
      socket.end();
      socket.resume();
      const linger = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
      linger.unref();
      socket.once('close', () => clearTimeout(linger));
    }
    // The connection is gone for its user now, whatever the socket does.
    process.nextTick(() => this.report());
  }
}

/** Binds a tcp: server socket. Resolves once listening (with the real port). */
export function listenTcp(addr: Address & { host: string; port: number }, onConnection: ConnectionHandler): Promise<MessageListener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true, pauseOnConnect: false });
    let listener: MessageListener | undefined;
    const guard = new AcceptGuard(() => {}, (code) => listener?.onAcceptError?.(code));
    server.on('connection', (socket) => {
      const ip = socket.remoteAddress;
      const port = socket.remotePort;
      if (ip === undefined || port === undefined) { socket.destroy(); return; }
      const remote = renderIpAddress('tcp', ip, port);
      onConnection(new FramedConnection(socket, remote, ipUser(remote), 0, false));
    });
    listenServer(server, addr, guard).then((port) => {
      listener = {
        address: `tcp:${addr.host}:${port}`,
        close: () => new Promise<void>((done) => { guard.close(); server.close(() => done()); }),
      };
      resolve(listener);
    }, reject);
  });
}

/**
 * Binds a TCP or TLS server socket with XCM's backlog; resolves with the
 * port actually bound (port 0 asks the kernel). After binding, accept
 * errors are transient and the server keeps listening; they go to the
 * guard, which reports the first of each episode. (libuv itself takes a
 * waiting connection with a reserve descriptor and drops it on EMFILE and
 * ENFILE, so those do not spin; Node gives no way to pause accepting.)
 */
export function listenServer(server: net.Server, addr: { host: string; port: number }, guard: AcceptGuard): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: bindHost(addr.host), port: addr.port, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      server.on('error', (err: NodeJS.ErrnoException) => { if (err.syscall === 'accept') guard.failed(err.code ?? 'EIO'); });
      server.on('connection', () => guard.accepted());
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** XCM's per-attempt connect timeout (tcp.connect_timeout), for tcp and tls alike. */
export const CONNECT_TIMEOUT_MS = 3000;

/** Client-side options of a tcp: connection. */
export interface TcpConnectOptions {
  /** Source address to bind before connecting (XCM's xcm.local_addr); port 0 = any. */
  localAddress?: { host: string; port: number };
  /** Gives up after this long (default XCM's 3 s). */
  timeoutMs?: number;
}

/**
 * Opens a tcp: connection as an XCM client does: TCP_NODELAY, keepalive
 * on, and DNS names tried with "happy eyeballs" (Node's autoSelectFamily:
 * IPv6 and IPv4 addresses raced), which is what libpaf asks XCM for.
 * Resolves once connected; remoteAddress is the server's address as XCM
 * renders it.
 */
export function connectTcp(address: Address & { host: string; port: number }, opts: TcpConnectOptions = {}): Promise<MessageConnection> {
  return new Promise((resolve, reject) => {
    const target = `tcp:${address.host}:${address.port}`;
    const socket = net.connect({
      host: bindHost(address.host),
      port: address.port,
      noDelay: true,
      autoSelectFamily: true,
      ...(opts.localAddress ? { localAddress: bindHost(opts.localAddress.host), localPort: opts.localAddress.port } : {}),
    });
    socket.setTimeout(opts.timeoutMs ?? CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    const onError = (err: Error): void => reject(new Error(`${target}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', onError);
      const ip = socket.remoteAddress;
      const port = socket.remotePort;
      if (ip === undefined || port === undefined) {
        socket.destroy();
        reject(new Error(`${target}: connection lost while connecting`));
        return;
      }
      const remote = renderIpAddress('tcp', ip, port);
      resolve(new FramedConnection(socket, remote, ipUser(remote)));
    });
  });
}
