// A TCP relay between clients and pafd that can make the network go
// silent: a partition that drops every byte in both directions and
// closes nothing, as a pulled cable or a dead router does. Neither end
// gets a FIN or a reset; only application-level liveness (the v3 idle
// limit and track queries, docs/semantics.md §7) can tell that the peer is gone.
//
// While silent, connections that were open stay open and swallow what
// either end sends; new connections are accepted and swallowed the same
// way (their SYN "got through" but nothing else does). heal() drops every
// swallowed connection and lets new ones through again.
//
// It can also stall: with holdToServerMs it opens its upstream connection
// at once but hands the client's bytes over only that long after the
// upstream connection was established, as a proxy in front of pafd does
// while its own upstream is slow. It relays bytes, so tls: works through
// it as well as tcp:.

import * as net from 'node:net';

/** Wall-clock time in seconds, the clock pafd uses for orphan-since. */
function wallS(): number {
  return Date.now() / 1000;
}

export interface ProxyOptions {
  /** Client bytes reach the server no earlier than this long after the upstream connection opened. */
  holdToServerMs?: number;
}

/** host and port of a tcp: or tls: address. */
function hostPort(address: string): { transport: string; host: string; port: number } {
  const m = /^(tcp|tls):(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`not a tcp: or tls: address: ${address}`);
  return { transport: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

/** One client connection and its upstream connection to the server. */
export class Pipe {
  /** Wall time of the last bytes handed to the server side / the client side (0 = none yet). */
  lastToServer = 0;
  lastToClient = 0;
  /** Wall time at which the server closed its side, if it did. */
  serverClosedAt: number | undefined;
  /** Resolves once the server's side is closed (never for a pipe accepted during a partition). */
  readonly serverClosed: Promise<void>;
  private resolveServerClosed: () => void = () => {};
  silent = false;
  /** Monotonic ms (performance.now()) at which the upstream connection was established. */
  upstreamConnectedAt: number | undefined;
  /** Monotonic ms at which the first client bytes were handed to the server side. */
  firstToServerAt: number | undefined;
  private readonly upstream: net.Socket | undefined;

  constructor(private readonly client: net.Socket, target: { host: string; port: number } | undefined, opts: ProxyOptions = {}) {
    this.serverClosed = new Promise((resolve) => { this.resolveServerClosed = resolve; });
    client.setNoDelay(true);
    client.on('error', () => { /* a reset is a close too */ });
    if (target === undefined) {
      // Accepted during a partition: nothing reaches the server.
      this.silent = true;
      client.on('data', () => {});
      return;
    }
    const upstream = net.connect({ ...target, noDelay: true });
    this.upstream = upstream;
    upstream.on('error', () => {});
    const connected = new Promise<void>((resolve) => upstream.once('connect', () => {
      this.upstreamConnectedAt = performance.now();
      resolve();
    }));
    const hold = opts.holdToServerMs ?? 0;
    const gate = hold > 0 ? connected.then(() => new Promise<void>((resolve) => setTimeout(resolve, hold))) : undefined;
    this.relay(client, upstream, () => {
      this.lastToServer = wallS();
      this.firstToServerAt ??= performance.now();
    }, gate);
    this.relay(upstream, client, () => { this.lastToClient = wallS(); });
    upstream.on('close', () => {
      this.serverClosedAt ??= wallS();
      this.resolveServerClosed();
      if (!this.silent) client.destroy();
    });
    client.on('close', () => { if (!this.silent) upstream.destroy(); });
  }

  /**
   * Copies from → to while the pipe is not silent; drops everything once
   * it is. Before `gate` resolves, what arrives is kept and sent after.
   */
  private relay(from: net.Socket, to: net.Socket, forwarded: () => void, gate?: Promise<void>): void {
    let held: Buffer[] | undefined = gate === undefined ? undefined : [];
    const pass = (chunk: Buffer): void => {
      if (this.silent) return;
      forwarded();
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };
    gate?.then(() => {
      const chunks = held!;
      held = undefined;
      for (const chunk of chunks) pass(chunk);
    });
    from.on('data', (chunk: Buffer) => {
      if (held !== undefined) held.push(chunk);
      else pass(chunk);
    });
  }

  /** Stops forwarding in both directions; nothing is closed. */
  silence(): void { this.silent = true; }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }
}

export class SilenceableProxy {
  private readonly pipes = new Set<Pipe>();
  private silent = false;

  /** Every pipe ever opened, in order. */
  readonly opened: Pipe[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly target: { transport: string; host: string; port: number },
    opts: ProxyOptions,
  ) {
    server.on('connection', (socket) => {
      const pipe = new Pipe(socket, this.silent ? undefined : this.target, opts);
      this.opened.push(pipe);
      this.pipes.add(pipe);
      socket.on('close', () => { if (!pipe.silent) this.pipes.delete(pipe); });
    });
  }

  /** Listens on 127.0.0.1 (a random port) and relays to a tcp: or tls: address. */
  static start(targetAddress: string, opts: ProxyOptions = {}): Promise<SilenceableProxy> {
    const server = net.createServer();
    const proxy = new SilenceableProxy(server, hostPort(targetAddress), opts);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(proxy); });
    });
  }

  /** The address clients connect to (same transport as the target). */
  get address(): string {
    const a = this.server.address() as net.AddressInfo;
    return `${this.target.transport}:127.0.0.1:${a.port}`;
  }

  /** Partitions the network: every open pipe goes silent, and so will new ones. Returns the pipes that were open. */
  silence(): Pipe[] {
    this.silent = true;
    const open = [...this.pipes];
    for (const p of open) p.silence();
    return open;
  }

  /** Ends the partition: the silent connections are dropped, new ones are relayed again. */
  heal(): void {
    this.silent = false;
    for (const p of this.pipes) if (p.silent) { p.destroy(); this.pipes.delete(p); }
  }

  close(): void {
    for (const p of this.pipes) p.destroy();
    this.pipes.clear();
    this.server.close();
  }
}
