// The paf_native addon on its own: SEQPACKET listen/connect/send/receive,
// message boundaries, oversize detection, backpressure, peer credentials,
// datagram sendto. Needs the host build (node build/addon.mjs).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonCandidates, addonError, loadNative, NATIVE_ABI } from '../../src/transport/native';
import type { NativeAddon, NativeError, NativeHandle } from '../../src/transport/native';

const loaded = loadNative();
if (loaded === null) throw new Error(`paf_native addon unavailable: ${addonError}`);
const addon: NativeAddon = loaded;
const EV = addon.events;

function uniqueName(): string {
  return `paf-test-${process.pid}-${randomBytes(6).toString('hex')}`;
}

type Event = { event: number; value: unknown };

/** Records a socket's events; next() waits for the next one. */
class Events {
  private readonly queue: Event[] = [];
  private waiter: ((e: Event) => void) | undefined;
  constructor(readonly handle: NativeHandle) {
    addon.setCallback(handle, (event, value) => {
      const e = { event, value };
      if (this.waiter) { const w = this.waiter; this.waiter = undefined; w(e); } else this.queue.push(e);
    });
  }
  next(): Promise<Event> {
    const e = this.queue.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => { this.waiter = resolve; });
  }
  async message(): Promise<Buffer> {
    const e = await this.next();
    if (e.event !== EV.MESSAGE) throw new Error(`expected a message event, got ${e.event} ${String(e.value)}`);
    return e.value as Buffer;
  }
}

function code(fn: () => unknown): string {
  try { fn(); } catch (err) { return (err as NativeError).code; }
  return 'no error';
}

/** A listening socket plus one accepted connection and its client. */
async function pair(): Promise<{ name: string; listener: NativeHandle; server: NativeHandle; client: NativeHandle; serverEvents: Events; clientEvents: Events; close(): void }> {
  const name = uniqueName();
  const listener = addon.listen(name, true);
  const listenEvents = new Events(listener);
  addon.setReading(listener, true);
  const client = addon.connect(name, true);
  const accepted = await listenEvents.next();
  assert.is(accepted.event, EV.ACCEPT);
  const server = accepted.value as NativeHandle;
  const serverEvents = new Events(server);
  const clientEvents = new Events(client);
  return {
    name, listener, server, client, serverEvents, clientEvents,
    close() { addon.close(client); addon.close(server); addon.close(listener); },
  };
}

const t = suite('paf_native');

t('loads with the expected interface', () => {
  assert.is(addon.abi, NATIVE_ABI);
  assert.is(addon.maxMessage, 262144);
  assert.equal(new Set([EV.MESSAGE, EV.END, EV.ERROR, EV.DRAIN, EV.ACCEPT]).size, 5);
});

t('candidate order: PAF_NATIVE_ADDON first, then beside the script', () => {
  const saved = process.env.PAF_NATIVE_ADDON;
  process.env.PAF_NATIVE_ADDON = '/x/y.node';
  try {
    const c = addonCandidates();
    assert.is(c[0], '/x/y.node');
    assert.ok(c[1]!.endsWith(join('native', process.arch, 'paf_native.node')));
    assert.ok(c.some((p) => p === join(process.cwd(), 'dist', 'native', process.arch, 'paf_native.node')));
  } finally {
    if (saved === undefined) delete process.env.PAF_NATIVE_ADDON; else process.env.PAF_NATIVE_ADDON = saved;
  }
});

t('round trip on an abstract name keeps message boundaries and bytes', async () => {
  const p = await pair();
  try {
    addon.setReading(p.server, true);
    addon.setReading(p.client, true);
    const binary = Buffer.from([0, 1, 2, 255, 0, 10]);
    assert.is(addon.send(p.client, ['first', binary, 'é€😀']), 0);
    addon.send(p.client, 'last');
    assert.is((await p.serverEvents.message()).toString(), 'first');
    assert.equal(await p.serverEvents.message(), binary);
    assert.is((await p.serverEvents.message()).toString(), 'é€😀');
    assert.is((await p.serverEvents.message()).toString(), 'last');
    const big = 'x'.repeat(262144);
    addon.send(p.server, big);
    assert.is((await p.clientEvents.message()).length, 262144);
  } finally { p.close(); }
});

t('peer credentials and names: the client is auto-bound (SO_PASSCRED) to what the server sees', async () => {
  const p = await pair();
  try {
    const peer = addon.peer(p.server);
    assert.is(peer.pid, process.pid);
    assert.is(peer.uid, process.getuid!());
    assert.is(peer.gid, process.getgid!());
    const local = addon.local(p.client);
    assert.ok(local.bound && local.abstract);
    assert.match(local.name, /^[0-9a-f]{5}$/);
    assert.is(peer.name, local.name);
    assert.ok(peer.abstract);
    const serverSide = addon.peer(p.client);
    assert.equal({ name: serverSide.name, abstract: serverSide.abstract }, { name: p.name, abstract: true });
  } finally { p.close(); }
});

t('errors carry errno names', () => {
  const name = uniqueName();
  assert.is(code(() => addon.connect(name, true)), 'ECONNREFUSED');
  assert.is(code(() => addon.connect(join(tmpdir(), name), false)), 'ENOENT');
  const l = addon.listen(name, true);
  try {
    assert.is(code(() => addon.listen(name, true)), 'EADDRINUSE');
    let err: NativeError | undefined;
    try { addon.listen(name, true); } catch (e) { err = e as NativeError; }
    assert.is(err!.syscall, 'bind');
    assert.is(err!.errno, -98);
    assert.ok(err instanceof Error);
  } finally { addon.close(l); }
  assert.is(code(() => addon.listen('', true)), 'EINVAL');
  assert.is(code(() => addon.listen('y'.repeat(108), true)), 'EINVAL');
  assert.throws(() => addon.close({} as NativeHandle), /paf_native socket handle/);
});

t('send checks: empty and oversize messages are refused, closed sockets too', async () => {
  const p = await pair();
  try {
    assert.is(code(() => addon.send(p.client, '')), 'EINVAL');
    assert.is(code(() => addon.send(p.client, Buffer.alloc(262145))), 'EMSGSIZE');
    assert.is(code(() => addon.send(p.client, ['ok', 'z'.repeat(262145)])), 'EMSGSIZE');
    assert.is(addon.queued(p.client), 0);
    addon.close(p.client);
    addon.close(p.client);                    // idempotent
    assert.is(code(() => addon.send(p.client, 'x')), 'EBADF');
  } finally { p.close(); }
});

t('end of connection: the peer closing gives END', async () => {
  const p = await pair();
  try {
    addon.setReading(p.server, true);
    addon.send(p.client, 'bye');
    addon.close(p.client);
    assert.is((await p.serverEvents.message()).toString(), 'bye');
    assert.is((await p.serverEvents.next()).event, EV.END);
    assert.is(code(() => addon.send(p.server, 'x')), 'EPIPE');
  } finally { p.close(); }
});

t('close with packets we never read: the peer reads what we sent, then END, not ECONNRESET; its later sends fail EPIPE', async () => {
  const p = await pair();
  try {
    addon.send(p.client, ['unread 1', 'unread 2']);
    addon.send(p.server, 'last words');
    addon.close(p.server);                    // the server never read its two packets
    addon.setReading(p.client, true);
    assert.is((await p.clientEvents.message()).toString(), 'last words');
    const end = await p.clientEvents.next();
    assert.is(end.event, EV.END, `expected END, got ${end.event} ${String(end.value)}`);
    assert.is(code(() => addon.send(p.client, 'too late')), 'EPIPE');
  } finally { p.close(); }
});

t('backpressure: output queues while the peer does not read, drains when it does', async () => {
  const p = await pair();
  try {
    const payload = 'q'.repeat(4000);
    let queued = 0;
    let sent = 0;
    while (queued === 0 || sent < 50) {
      queued = addon.send(p.client, `${sent++} ${payload}`);
      assert.ok(sent < 100000, 'the kernel never pushed back');
    }
    for (let i = 0; i < 20; i++) addon.send(p.client, `${sent++} ${payload}`);
    const high = addon.queued(p.client);
    assert.ok(high > 20 * 4000, `queued ${high}`);
    // A queue limit below what is queued refuses further output.
    addon.setQueueLimit(p.client, high);
    assert.is(code(() => addon.send(p.client, 'one more')), 'ENOBUFS');
    addon.setQueueLimit(p.client, 128 << 20);

    addon.setReading(p.server, true);
    for (let i = 0; i < sent; i++) {
      const m = (await p.serverEvents.message()).toString();
      assert.is(m.slice(0, m.indexOf(' ')), String(i));
    }
    assert.is((await p.clientEvents.next()).event, EV.DRAIN);
    assert.is(addon.queued(p.client), 0);
  } finally { p.close(); }
});

t('pausing stops delivery; resuming delivers what waited', async () => {
  const p = await pair();
  try {
    addon.setReading(p.server, true);
    addon.send(p.client, 'one');
    assert.is((await p.serverEvents.message()).toString(), 'one');
    addon.setReading(p.server, false);
    addon.send(p.client, 'two');
    // A full round trip on another pair lets the loop turn while paused.
    const q = await pair();
    addon.setReading(q.server, true);
    addon.send(q.client, 'tick');
    assert.is((await q.serverEvents.message()).toString(), 'tick');
    q.close();
    addon.setReading(p.server, true);
    assert.is((await p.serverEvents.message()).toString(), 'two');
  } finally { p.close(); }
});

t('oversize packet from a foreign peer is reported, not truncated silently', async () => {
  const name = uniqueName();
  const listener = addon.listen(name, true);
  const le = new Events(listener);
  addon.setReading(listener, true);
  const py = [
    'import socket',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)',
    `s.connect("\\0${name}")`,
    's.send(b"s" * 300000)',
    "assert s.recv(1) == b''",  // until we close our end
    's.close()',
  ].join('\n');
  const child = spawn('python3', ['-c', py], { stdio: 'inherit' });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const accepted = await le.next();
    assert.is(accepted.event, EV.ACCEPT);
    const server = accepted.value as NativeHandle;
    const se = new Events(server);
    addon.setReading(server, true);
    const e = await se.next();
    assert.is(e.event, EV.ERROR);
    assert.is((e.value as NativeError).code, 'EMSGSIZE');
    assert.match((e.value as Error).message, /300000 bytes/);
    addon.close(server);
    assert.is(await exited, 0);
  } finally { addon.close(listener); }
});

t('sendto: one datagram to an abstract or path datagram socket; errors as names', async () => {
  const name = uniqueName();
  const rx = addon.bindDatagram(name, true);
  const re = new Events(rx);
  addon.setReading(rx, true);
  const dir = mkdtempSync(join(tmpdir(), 'paf-native-'));
  const path = join(dir, 'notify');
  const rx2 = addon.bindDatagram(path, false);
  const re2 = new Events(rx2);
  addon.setReading(rx2, true);
  try {
    assert.is(addon.sendto(name, true, '<14>hello'), null);
    assert.is((await re.message()).toString(), '<14>hello');
    assert.is(addon.sendto(path, false, Buffer.from('READY=1')), null);
    assert.is((await re2.message()).toString(), 'READY=1');
    assert.is(addon.sendto(uniqueName(), true, 'x'), 'ECONNREFUSED');
    assert.is(addon.sendto(join(dir, 'absent'), false, 'x'), 'ENOENT');
    writeFileSync(join(dir, 'plain'), '');
    assert.is(addon.sendto(join(dir, 'plain'), false, 'x'), 'ECONNREFUSED');
  } finally {
    addon.close(rx);
    addon.close(rx2);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.not.ok(existsSync(dir));
});

t('every descriptor is released: open/close cycles and failed calls leak nothing', async () => {
  const openFds = () => readdirSync('/proc/self/fd').length;
  const before = openFds();
  for (let i = 0; i < 30; i++) {
    const p = await pair();
    addon.setReading(p.server, true);
    addon.send(p.client, 'x');
    await p.serverEvents.message();
    p.close();
    p.close();                                // a second close is a no-op
    code(() => addon.connect(uniqueName(), true));
    code(() => addon.listen('', true));
    addon.sendto(uniqueName(), true, 'x');
  }
  assert.is(openFds(), before);
});

t('a throwing callback becomes an uncaught exception, not a crash of the addon', async () => {
  const p = await pair();
  const seen = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
  try {
    addon.setCallback(p.server, () => { throw new Error('boom from callback'); });
    addon.setReading(p.server, true);
    addon.send(p.client, 'trigger');
    assert.is((await seen).message, 'boom from callback');
    // The addon still works afterwards.
    const se = new Events(p.server);
    addon.send(p.client, 'still alive');
    assert.is((await se.message()).toString(), 'still alive');
  } finally { p.close(); }
});

t.run();
