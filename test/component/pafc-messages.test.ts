// What pafc and pafbench say when things go wrong (issue 15), against the
// real bundles: connect and hello timeouts (default and option) against
// listeners that never answer, a domain name without a domain file, a
// filter the server refuses (with the parser's position), refusals by the
// client limit, the server dropping an untracked v3 session for idleness,
// a property without its value, and uxf peers named by their process.

import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WireClient } from '../../src/client/wire';
import { startPafd, tempDir } from '../helpers/pafd';
import { matrixPki } from '../helpers/transport';

const PAFC = join(process.cwd(), 'dist', 'pafc.js');
const PAFBENCH = join(process.cwd(), 'dist', 'pafbench.js');
/** A bound on every run, so that a tool that hangs fails the test instead of stalling it. */
const RUN_LIMIT_MS = 30_000;

interface Run { code: number | null; out: string; err: string }

function run(program: string, args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [program, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { err += d; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), RUN_LIMIT_MS);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
    proc.stdin!.end(input);
  });
}

/** A TCP listener that accepts connections and never sends a byte. */
async function silentListener(): Promise<{ address: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const t = suite('pafc and pafbench messages');

t('pafc: no hello reply within -t seconds, or the default 5 s, is one message and exit 1', async () => {
  const silent = await silentListener();
  try {
    const short = await run(PAFC, ['-t', '0.3', '-c', 'ping', `tcp:${silent.address}`]);
    assert.is(short.code, 1);
    assert.is(short.out, '');
    assert.is(short.err, `pafc: cannot connect to tcp:${silent.address}: hello (no reply from the server) took longer than 0.3 s (-t sets the limit)\n`);
    const byDefault = await run(PAFC, ['-c', 'ping', `tcp:${silent.address}`]);
    assert.is(byDefault.code, 1);
    assert.match(byDefault.err, /took longer than 5 s \(-t sets the limit\)\n$/);
  } finally {
    await silent.close();
  }
});

t('pafc: a TLS handshake that never completes is bounded by the connect timeout', async () => {
  const silent = await silentListener();
  try {
    const r = await run(PAFC, ['-t', '0.3', '-c', 'ping', `tls:${silent.address}`], '', { XCM_TLS_CERT: matrixPki().serverDir });
    assert.is(r.code, 1);
    assert.is(r.err, `pafc: cannot connect to tls:${silent.address}: connect took longer than 0.3 s (-t sets the limit)\n`);
  } finally {
    await silent.close();
  }
});

t('pafbench: --timeout bounds the hello too', async () => {
  const silent = await silentListener();
  try {
    const r = await run(PAFBENCH, ['--timeout', '0.3', '1', '1', `tcp:${silent.address}`]);
    assert.is(r.code, 1);
    assert.is(r.err, `pafbench: cannot connect to tcp:${silent.address}: hello (no reply from the server) took longer than 0.3 s (--timeout sets the limit)\n`);
    const bad = await run(PAFBENCH, ['--timeout', 'soon', '1', '1', `tcp:${silent.address}`]);
    assert.is(bad.code, 1);
    assert.match(bad.err, /^pafbench: --timeout "soon" is not a positive number of seconds\n/);
  } finally {
    await silent.close();
  }
});

t('pafc nosuchdomain names the missing domain file and the directory', async () => {
  const dir = tempDir('pafc-domains-');
  const r = await run(PAFC, ['-c', 'ping', 'nosuchdomain'], '', { PAF_DOMAINS: dir });
  assert.is(r.code, 1);
  assert.is(r.err, `pafc: no domain file "nosuchdomain" in ${dir} (and it is not an address: those look like tcp:<host>:<port>)\n`);
});

t('pafc: filters the server refuses show the parser\'s reason and position, and no subscription id', async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    const r = await run(PAFC, [pafd.addresses[0]!], 'subscribe (port>x)\nservices (a=b\nsubscribe (a=b)\n');
    assert.is(r.code, 1);
    const lines = r.out.split('\n');
    assert.is(lines[0], 'Error: subscribe failed: invalid-filter-syntax (integer expected after \'>\' at offset 6)');
    assert.is(lines[1], 'Error: services failed: invalid-filter-syntax (unexpected end of filter (\')\' expected) at offset 4)');
    assert.match(lines[2]!, /^Subscription Id: 0x[0-9a-f]+\.$/, 'a good filter still shows its id');
    assert.is(lines[3], 'OK.');
  } finally {
    await pafd.stop();
  }
});

t('pafc: publish with a property but no value says so', async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    const r = await run(PAFC, ['-c', 'publish 0 30 name', pafd.addresses[0]!]);
    assert.is(r.code, 1);
    assert.is(r.out, 'Error: property "name" has no value: properties come as <name> <value> pairs; ' +
      'usage: publish [<service-id>] <generation> <ttl> [<name> <value>] ...\n');
  } finally {
    await pafd.stop();
  }
});

t('pafc: refusals by the client limit are named, by connection admission and by hello', async () => {
  const total = await startPafd(['-c', '1', 'tcp:127.0.0.1:0']);
  const holder = await WireClient.connect(total.addresses[0]!);
  try {
    const r = await run(PAFC, ['-c', 'ping', total.addresses[0]!]);
    assert.is(r.code, 1);
    assert.is(r.err, `pafc: cannot connect to ${total.addresses[0]}: the server closed the connection before answering hello ` +
      '(a server at its client limit closes new connections at once)\n');
  } finally {
    holder.close();
    await total.stop();
  }
  const perUser = await startPafd([], { config: 'domains:\n  - sockets: [tcp:127.0.0.1:0]\nresources: {user: {clients: 1}}\n' });
  const first = await WireClient.connect(perUser.addresses[0]!);
  try {
    const r = await run(PAFC, ['-c', 'ping', perUser.addresses[0]!]);
    assert.is(r.code, 1);
    assert.is(r.err, `pafc: cannot connect to ${perUser.addresses[0]}: hello failed: insufficient-resources ` +
      '(the server\'s client limit is reached, for the domain or for this user)\n');
  } finally {
    first.close();
    await perUser.stop();
  }
});

t('pafc: a v3 session dropped for idleness says why and what to do; with track it stays', async () => {
  const pafd = await startPafd([], { config: 'domains:\n  - sockets: [tcp:127.0.0.1:0]\n    idle: {min: 1, max: 1}\n' });
  try {
    // Standard input stays open (no end of input), so only the server can end the session.
    const proc = spawn(process.execPath, [PAFC, pafd.addresses[0]!], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stdin!.write('id\n');
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    assert.is(code, 1);
    assert.match(out, /\nConnection closed: closed by peer \(probably the server's idle limit: nothing was sent for \d+\.\d s and a protocol version 3 client without a track transaction is dropped when silent; run "track" to stay connected\)\.\n$/);

    const tracked = spawn(process.execPath, [PAFC, pafd.addresses[0]!], { stdio: ['pipe', 'pipe', 'pipe'] });
    let trackedOut = '';
    tracked.stdout!.on('data', (d) => { trackedOut += d; });
    tracked.stdin!.write('track\n');
    const observer = await WireClient.connect(pafd.addresses[0]!, { track: true });
    // Three idle limits later the tracked pafc is still listed.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.is((await observer.clients()).length, 2, trackedOut);
    tracked.stdin!.end('quit\n');
    assert.is(await new Promise((resolve) => tracked.on('close', resolve)), 0, trackedOut);
    assert.not.match(trackedOut, /Connection closed/);
    observer.close();
  } finally {
    await pafd.stop();
  }
});

t('a uxf client is named by its process in pafd\'s clients listing and log', async () => {
  const path = join(tempDir(), 'pafd.sock');
  const pafd = await startPafd([`uxf:${path}`]);
  try {
    const r = await run(PAFC, ['-c', 'clients', `uxf:${path}`]);
    assert.is(r.code, 0, r.err);
    const row = r.out.split('\n').find((l) => /^0x/.test(l));
    assert.match(row!, /^0x[0-9a-f]+\s+uxf:pid:\d+\s/, r.out);
    const pid = /uxf:pid:(\d+)/.exec(row!)![1]!;
    await pafd.waitForLog(new RegExp(`client 0x[0-9a-f]+ \\(uxf:pid:${pid}, user default\\)`));
  } finally {
    await pafd.stop();
  }
});

t.run();
