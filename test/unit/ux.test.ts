// ux:/uxf: transports over the addon: message connections with the tcp
// transport's contract, XCM's remote-address rendering, the 'default' user,
// and uxf socket-file handling (stale files replaced, live ones refused,
// removal on close only of our own file).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonError, loadNative } from '../../src/transport/native';
import type { NativeAddon } from '../../src/transport/native';
import type { MessageConnection, MessageListener } from '../../src/transport/types';
import { connectUx, listenUx, renderUxRemote, UX_USER } from '../../src/transport/ux';
import type { UxAddress, UxError } from '../../src/transport/ux';

const loaded = loadNative();
if (loaded === null) throw new Error(`paf_native addon unavailable: ${addonError}`);
const addon: NativeAddon = loaded;

function uniqueName(): string {
  return `paf-ux-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Collects a connection's messages and its close; waits for either. */
class Peer {
  readonly messages: string[] = [];
  closeReasons: (string | undefined)[] = [];
  drains = 0;
  private wake: (() => void) | undefined;
  constructor(readonly conn: MessageConnection) {
    conn.onMessage = (p) => { this.messages.push(p.toString()); this.poke(); };
    conn.onClose = (r) => { this.closeReasons.push(r); this.poke(); };
    conn.onDrain = () => { this.drains++; this.poke(); };
  }
  private poke(): void { const w = this.wake; this.wake = undefined; w?.(); }
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((resolve) => { this.wake = resolve; });
  }
  async message(index: number): Promise<string> {
    await this.until(() => this.messages.length > index);
    return this.messages[index]!;
  }
  async closed(): Promise<string | undefined> {
    await this.until(() => this.closeReasons.length > 0);
    return this.closeReasons[0];
  }
}

/** A listener whose accepted connections are handed out in order. */
async function serve(addr: UxAddress): Promise<{ listener: MessageListener; accepted(): Promise<Peer> }> {
  const waiting: Peer[] = [];
  let wake: (() => void) | undefined;
  const listener = await listenUx(addr, (conn) => { waiting.push(new Peer(conn)); wake?.(); });
  return {
    listener,
    async accepted() {
      while (waiting.length === 0) await new Promise<void>((resolve) => { wake = resolve; });
      return waiting.shift()!;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<UxError> {
  try { await p; } catch (err) { return err as UxError; }
  throw new Error('expected a rejection');
}

const t = suite('ux transport');

t('remote address rendering (docs/transports.md §1.3)', () => {
  assert.is(renderUxRemote('ux', { name: '45217', abstract: true, bound: true }), 'ux:45217');
  assert.is(renderUxRemote('ux', { name: '', abstract: false, bound: false }), 'ux:');
  assert.is(renderUxRemote('uxf', { name: '45217', abstract: true, bound: true }), 'uxf:');
  assert.is(renderUxRemote('uxf', { name: '', abstract: false, bound: false }), 'uxf:');
  // A uxf peer without a path is named by its process (XCM would say just "uxf:").
  assert.is(renderUxRemote('uxf', { name: '45217', abstract: true, bound: true, pid: 4242 }), 'uxf:pid:4242');
  assert.is(renderUxRemote('uxf', { name: '', abstract: false, bound: false, pid: 77 }), 'uxf:pid:77');
  assert.is(renderUxRemote('uxf', { name: '/run/c.sock', abstract: false, bound: true, pid: 77 }), 'uxf:/run/c.sock');
  assert.is(renderUxRemote('ux', { name: '45217', abstract: true, bound: true, pid: 77 }), 'ux:45217');
  assert.is(renderUxRemote('uxf', { name: '/run/c.sock', abstract: false, bound: true }), 'uxf:/run/c.sock');
});

t('ux: round trip, user default, auto-bound client address', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    assert.is(srv.listener.address, `ux:${name}`);
    const client = new Peer(await connectUx(`ux:${name}`));
    const server = await srv.accepted();
    assert.is(server.conn.user, UX_USER);
    assert.is(UX_USER, 'default');
    assert.match(server.conn.remoteAddress, /^ux:[0-9a-f]{5}$/);
    assert.is(client.conn.remoteAddress, `ux:${name}`);
    client.conn.send('{"ta-cmd":"ping","ta-id":0,"msg-type":"request"}');
    client.conn.send('second');
    assert.is(await server.message(0), '{"ta-cmd":"ping","ta-id":0,"msg-type":"request"}');
    assert.is(await server.message(1), 'second');
    server.conn.send('é€😀');
    assert.is(await client.message(0), 'é€😀');
    assert.is(server.conn.queuedBytes, 0);
    server.conn.setKeepAlive(false);          // a no-op on UNIX sockets
    client.conn.close('done');
    assert.is(await client.closed(), 'done');
    assert.is(await server.closed(), 'closed by peer');
    await new Promise((resolve) => setImmediate(resolve));
    assert.is(client.closeReasons.length, 1);
    assert.is(server.closeReasons.length, 1);
  } finally { await srv.listener.close(); }
});

t('ux: a second listener on the same name fails with EADDRINUSE', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    const err = await rejection(listenUx({ transport: 'ux', name }, () => {}));
    assert.is(err.code, 'EADDRINUSE');
    assert.ok(err.message.startsWith(`ux:${name}: `));
  } finally { await srv.listener.close(); }
  // The name is free again once closed.
  const again = await listenUx({ transport: 'ux', name }, () => {});
  await again.close();
});

t('connect to a missing server is refused', async () => {
  assert.is((await rejection(connectUx(`ux:${uniqueName()}`))).code, 'ECONNREFUSED');
  assert.is((await rejection(connectUx(`uxf:${join(tmpdir(), uniqueName())}`))).code, 'ENOENT');
});

t('uxf: socket file created, an unnamed peer rendered as uxf:pid:<pid>, file removed on close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-ux-'));
  const path = join(dir, 'pafd.sock');
  try {
    const srv = await serve({ transport: 'uxf', name: path });
    assert.is(srv.listener.address, `uxf:${path}`);
    assert.ok(lstatSync(path).isSocket());
    const client = new Peer(await connectUx(`uxf:${path}`));
    const server = await srv.accepted();
    assert.is(server.conn.remoteAddress, `uxf:pid:${process.pid}`);
    assert.is(server.conn.user, 'default');
    client.conn.send('hi');
    assert.is(await server.message(0), 'hi');
    await srv.listener.close();
    assert.not.ok(existsSync(path));
    // Accepted connections outlive the listener, as with tcp.
    server.conn.send('still here');
    assert.is(await client.message(0), 'still here');
    client.conn.close();
    await server.closed();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

t('uxf: a stale socket file is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-ux-'));
  const path = join(dir, 'stale.sock');
  try {
    // A crashed server: the file stays, nobody listens.
    addon.close(addon.listen(path, false));
    assert.ok(lstatSync(path).isSocket());
    const srv = await serve({ transport: 'uxf', name: path });
    const client = new Peer(await connectUx(`uxf:${path}`));
    const server = await srv.accepted();
    client.conn.send('fresh');
    assert.is(await server.message(0), 'fresh');
    client.conn.close();
    await srv.listener.close();
    assert.not.ok(existsSync(path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

t('uxf: a live server keeps its socket (EADDRINUSE), and so does a non-socket file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-ux-'));
  const path = join(dir, 'live.sock');
  try {
    const srv = await serve({ transport: 'uxf', name: path });
    const ino = lstatSync(path).ino;
    const err = await rejection(listenUx({ transport: 'uxf', name: path }, () => {}));
    assert.is(err.code, 'EADDRINUSE');
    assert.is(lstatSync(path).ino, ino);
    // The live server still works (its probe connection came and went).
    const probe = await srv.accepted();
    await probe.closed();
    const client = new Peer(await connectUx(`uxf:${path}`));
    const server = await srv.accepted();
    client.conn.send('ok');
    assert.is(await server.message(0), 'ok');
    client.conn.close();
    await srv.listener.close();

    const plain = join(dir, 'plain');
    writeFileSync(plain, 'data');
    assert.is((await rejection(listenUx({ transport: 'uxf', name: plain }, () => {}))).code, 'EADDRINUSE');
    assert.is(readFileSync(plain, 'utf8'), 'data');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

t('uxf: close leaves a successor\'s socket file alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-ux-'));
  const path = join(dir, 'shared.sock');
  try {
    const first = await listenUx({ transport: 'uxf', name: path }, () => {});
    unlinkSync(path);
    const second = await serve({ transport: 'uxf', name: path });
    await first.close();
    assert.ok(lstatSync(path).isSocket());
    const client = new Peer(await connectUx(`uxf:${path}`));
    await second.accepted();
    client.conn.close();
    await second.listener.close();
    assert.not.ok(existsSync(path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

t('pause holds messages back; resume delivers them', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    const client = new Peer(await connectUx(`ux:${name}`));
    const server = await srv.accepted();
    server.conn.pause();
    client.conn.send('held');
    // Another full round trip lets the event loop turn while paused.
    const other = new Peer(await connectUx(`ux:${name}`));
    const otherServer = await srv.accepted();
    other.conn.send('tick');
    assert.is(await otherServer.message(0), 'tick');
    assert.equal(server.messages, []);
    server.conn.resume();
    assert.is(await server.message(0), 'held');
    client.conn.close();
    other.conn.close();
  } finally { await srv.listener.close(); }
});

t('flow control: queuedBytes grows while the peer does not read; onDrain when it does', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    const client = new Peer(await connectUx(`ux:${name}`));
    const server = await srv.accepted();
    client.conn.pause();
    const payload = 'n'.repeat(8000);
    const count = 400;                        // 3.2 MB: more than the socket buffers hold
    for (let i = 0; i < count; i++) server.conn.send(`${i} ${payload}`);
    assert.ok(server.conn.queuedBytes >= count * 8000, 'messages of this job count before the flush');
    await new Promise((resolve) => setImmediate(resolve));
    const stuck = server.conn.queuedBytes;
    assert.ok(stuck > 0 && stuck < count * 8010, `queued ${stuck}`);
    client.conn.resume();
    await client.until(() => client.messages.length === count);
    assert.ok(client.messages.every((m, i) => m.startsWith(`${i} `)));
    await server.until(() => server.drains > 0);
    assert.is(server.conn.queuedBytes, 0);
    client.conn.close();
  } finally { await srv.listener.close(); }
});

t('an outgoing message above 256 KiB closes the connection instead of throwing', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    const client = new Peer(await connectUx(`ux:${name}`));
    const server = await srv.accepted();
    server.conn.send('m'.repeat(262145));
    assert.match((await server.closed()) ?? '', /exceeds the transport limit/);
    assert.is(await client.closed(), 'closed by peer');
  } finally { await srv.listener.close(); }
});

t('a reply sent just before close still reaches the peer', async () => {
  const name = uniqueName();
  const srv = await serve({ transport: 'ux', name });
  try {
    const client = new Peer(await connectUx(`ux:${name}`));
    const server = await srv.accepted();
    server.conn.send('last words');
    server.conn.close('protocol error');
    assert.is(await server.closed(), 'protocol error');
    assert.is(await client.message(0), 'last words');
    assert.is(await client.closed(), 'closed by peer');
    server.conn.send('after close');          // ignored, no throw
    assert.is(server.conn.queuedBytes, 0);
  } finally { await srv.listener.close(); }
});

t.run();
