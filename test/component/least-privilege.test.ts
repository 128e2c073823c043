// Issue 14 against the real pafd bundle: client text in log lines is
// escaped (one line per event), repeated per-connection lines are rate
// limited, SIGUSR1 reopens the log and opens no port (the V8 inspector
// stays shut), `local_users: per-uid` separates local processes of
// different uids (ownership and per-user limits), and a uxf socket file
// gets the configured mode and group. The other uids come from child
// processes started with spawn's uid/gid (the tests run as root; they are
// skipped otherwise).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_BURST } from '../../src/log/rate-limit';
import { startPafd, tempDir } from '../helpers/pafd';
import { assertOneLineFailure, assertPings, runPafdBounded, tempFile } from '../helpers/robust';
import { freshAddress } from '../helpers/transport';
import { WireClient, randomId } from '../helpers/wire';

const t = suite('least privilege and log hygiene');

const PAFC = join(process.cwd(), 'dist', 'pafc.js');
const IS_ROOT = process.getuid?.() === 0;
/** Two unprivileged uids (and gids of the same number) that own nothing on the machine. */
const UID_A = 47101, UID_B = 47102;

/**
 * A python3 SEQPACKET client bound to an abstract name (argv 1) that says
 * hello to argv 2. Without argv 3 it prints the reply and leaves; with a
 * filter there (the lingering form, protocol version 2 so that it is
 * never idled out) it subscribes with it, prints "ready" and stays until
 * its stdin closes.
 */
const PEER = `
import json, socket, sys
lingering = len(sys.argv) > 3
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(b"\\0" + sys.argv[1].encode())
s.connect(b"\\0" + sys.argv[2].encode())
s.send(json.dumps({"ta-cmd": "hello", "ta-id": 1, "msg-type": "request", "client-id": 4712 if lingering else 4711,
                   "protocol-minimum-version": 2, "protocol-maximum-version": 2 if lingering else 3}).encode())
reply = s.recv(65536).decode()
if not lingering:
    print(reply)
    s.close()
    sys.exit(0)
s.send(json.dumps({"ta-cmd": "subscribe", "ta-id": 2, "msg-type": "request", "subscription-id": 77,
                   "filter": sys.argv[3]}).encode())
s.recv(65536)
print("ready", flush=True)
sys.stdin.read()
`;

t('a ux peer name with a newline and an escape sequence gives one escaped line per event', async () => {
  const server = freshAddress('ux');
  const pafd = await startPafd([server]);
  try {
    const peer = `evil\nCRITICAL:pafd:forged\x1b[2J`;
    const r = spawnSync('python3', ['-c', PEER, peer, server.slice('ux:'.length)], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /"complete"/, 'the hello completed');
    await pafd.waitForLog(/disconnected/);
    const escaped = 'ux:evil\\nCRITICAL:pafd:forged\\x1b[2J';
    const about = pafd.log.filter((l) => l.includes('forged'));
    assert.equal(about.map((l) => /^(\w+):pafd:/.exec(l)?.[1]), ['DEBUG', 'INFO', 'INFO'],
      `accepted, connected, disconnected: one line each\n${about.join('\n')}`);
    for (const line of about) assert.ok(line.includes(escaped), `escaped peer name in: ${line}`);
    assert.not.ok(pafd.log.some((l) => l.startsWith('CRITICAL')), 'no forged line');
    assert.not.ok(pafd.log.some((l) => l.includes('\x1b')), 'no escape character reaches the log');
  } finally {
    await pafd.stop();
  }
});

t(`20,000 requests before hello on one connection: ${LOG_BURST} refusal lines, one summary, ${LOG_BURST + 3} lines in all`, async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    const c = await WireClient.connect(pafd.addresses[0]!);
    const peer = `tcp:127.0.0.1:${c.localPort!}`;
    const N = 20_000;
    let fails = 0;
    const allFailed = new Promise<void>((resolve) => c.onReceive((m) => {
      if (m['msg-type'] === 'fail' && ++fails === N) resolve();
    }));
    for (let i = 0; i < N; i++) c.send('ping', BigInt(i), 'request');
    await allFailed;
    // The connection is closed at its 3 s handshake deadline; the summary comes with it.
    await pafd.waitForLog(/closed before handshake/, 5000);
    const lines = pafd.log.filter((l) => l.includes('no-hello'));
    const refused = lines.filter((l) => l.includes('before hello refused'));
    const summary = lines.filter((l) => l.includes('more like this suppressed'));
    assert.is(refused.length, LOG_BURST, lines.join('\n'));
    assert.is(summary.length, 1, lines.join('\n'));
    assert.match(summary[0]!, `no-hello: … ${(N - LOG_BURST).toLocaleString('en-US')} more like this suppressed in the last `);
    // The bound for the whole connection at debug level: accepted, LOG_BURST refusals, the summary, the close.
    const all = pafd.log.filter((l) => l.includes(`${peer},`) || l.includes(`${peer} `));
    assert.is(all.length, LOG_BURST + 3, all.join('\n'));
  } finally {
    await pafd.stop();
  }
});

t('a log line keeps at most 200 characters of an unknown field name and says how long it was', async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    const c = await WireClient.connect(pafd.addresses[0]!);
    const name = `x\n${'A'.repeat(100_000)}`;
    c.sendFrame(`{"ta-cmd":"hello","ta-id":1,"msg-type":"request","${name.replace('\n', '\\n')}":1}`);
    const line = await pafd.waitForLog(/unknown field/);
    assert.ok(line.length < 400, `line of ${line.length} characters`);
    assert.ok(line.includes(`"x\\n${'A'.repeat(198)}…(100002 chars)"`), line);
  } finally {
    await pafd.stop();
  }
});

t('pafc escapes control characters in a client address and a filter it got from the server', async () => {
  const server = freshAddress('ux');
  const pafd = await startPafd([server]);
  const peer = spawn('python3', ['-c', PEER, 'peer\x1b[2J\n', server.slice('ux:'.length), '(name=\x1b]0;owned\x07)'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      peer.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
      peer.on('exit', (code) => reject(new Error(`peer exited ${code}`)));
    });
    const r = spawnSync(process.execPath, [PAFC, '-c', 'clients; subscriptions', server], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.not.ok(/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stdout), `no control character but newlines in:\n${JSON.stringify(r.stdout)}`);
    assert.ok(r.stdout.includes('ux:peer\\x1b[2J\\n'), r.stdout);
    assert.ok(r.stdout.includes('(name=\\x1b]0;owned\\x07)'), r.stdout);
  } finally {
    peer.stdin.end();
    await pafd.stop();
  }
});

/** TCP ports a process listens on, from its socket inodes and /proc/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

t('SIGUSR1 reopens the log file, opens no port and pafd still serves', async () => {
  const dir = tempDir();
  const file = join(dir, 'pafd.log');
  const pafd = await startPafd(['-o', file, 'tcp:127.0.0.1:0']);
  try {
    const port = Number(pafd.addresses[0]!.split(':').pop());
    const before = listeningPorts(pafd.pid);
    assert.equal(before, [port], 'only the tcp socket before');
    pafd.proc.kill('SIGUSR1');
    await pafd.waitForLog(/SIGUSR1 received; log file .* reopened/);
    const c = await WireClient.open(pafd.addresses[0]!);
    await assertPings(c, 'pafd serves after SIGUSR1');
    assert.equal(listeningPorts(pafd.pid), before, 'no new listening socket (no inspector)');
    c.close();
  } finally {
    await pafd.stop();
  }
});

let pafcForAnyUid: string | undefined;
/**
 * dist/pafc.js and its addon copied where any uid can read them: the
 * checkout may lie below a directory only root can enter (a CI clone in
 * `mktemp -d`, mode 0700).
 */
function readablePafc(): string {
  if (pafcForAnyUid !== undefined) return pafcForAnyUid;
  const dir = tempDir('paf-anyuid-');
  const nativeDir = join(dir, 'native', process.arch);
  mkdirSync(nativeDir, { recursive: true });
  copyFileSync(PAFC, join(dir, 'pafc.js'));
  copyFileSync(join(process.cwd(), 'dist', 'native', process.arch, 'paf_native.node'), join(nativeDir, 'paf_native.node'));
  for (const d of [dir, join(dir, 'native'), nativeDir]) chmodSync(d, 0o755);
  return pafcForAnyUid = join(dir, 'pafc.js');
}

/** Runs pafc as `uid` with `commands`; resolves with its output. */
function pafcAs(uid: number, address: string, commands: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [readablePafc(), '-c', commands, address], {
      uid, gid: uid, env: { PATH: process.env.PATH, HOME: '/' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code, out }));
  });
}

const perUidTest = IS_ROOT ? t : t.skip;

for (const localUsers of ['per-uid', 'shared'] as const) {
  perUidTest(`local_users: ${localUsers}: uid B ${localUsers === 'per-uid' ? 'cannot' : 'can'} unpublish uid A's service and ${localUsers === 'per-uid' ? 'has its own' : 'shares the'} limits`, async () => {
    const server = freshAddress('ux');
    const pafd = await startPafd([], { config: `
domains:
  - sockets: [${server}]
    local_users: ${localUsers}
resources:
  user: {services: 1}
` });
    try {
      const id = `0x${randomId().toString(16)}`;
      const a = await pafcAs(UID_A, server, `publish ${id} 0 60 name a`);
      assert.is(a.code, 0, a.out);
      const b = await pafcAs(UID_B, server, `publish 1 60 name b; unpublish ${id}`);
      const list = await WireClient.open(server);
      const services = await list.list('services');
      list.close();
      if (localUsers === 'per-uid') {
        assert.match(b.out, /Service Id: 0x[0-9a-f]+\.\nOK\./, `B's own service fits B's own limit:\n${b.out}`);
        assert.match(b.out, /Error: unpublish failed: permission-denied/, b.out);
        assert.is(services.length, 2, 'both services are there');
        // Info lines reach the console within 50 ms (src/log/batch.ts): waited for, not looked up.
        assert.ok(await pafd.waitForLog(new RegExp(`user uid:${UID_B}\\)`)), 'B is the user uid:<B>');
      } else {
        assert.match(b.out, /Error: publish failed: insufficient-resources/, b.out);
        assert.not.match(b.out, /unpublish failed/, b.out);
        assert.is(services.length, 0, 'B removed A\'s service');
      }
    } finally {
      await pafd.stop();
    }
  });
}

function groupOf(names: string[]): { name: string; gid: number } {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const f = line.split(':');
    if (names.includes(f[0]!)) return { name: f[0]!, gid: Number(f[2]) };
  }
  throw new Error(`none of the groups ${names.join(', ')} exists`);
}

t('a uxf socket file is created 0660 with pafd\'s group by default', async () => {
  const path = join(tempDir(), 'default.sock');
  const pafd = await startPafd([`uxf:${path}`]);
  try {
    const st = statSync(path);
    assert.is((st.mode & 0o777).toString(8), '660');
    assert.is(st.gid, process.getgid!());
  } finally {
    await pafd.stop();
  }
});

t('a uxf socket file gets the configured mode and group before clients connect', async () => {
  const group = groupOf(['nogroup', 'nobody', 'users']);
  const path = join(tempDir(), 'configured.sock');
  const pafd = await startPafd([], { config: `
domains:
  - sockets:
      - {addr: "uxf:${path}", mode: 0620, group: ${group.name}}
` });
  try {
    const st = statSync(path);
    assert.is((st.mode & 0o777).toString(8), '620');
    assert.is(st.gid, group.gid);
    const c = await WireClient.open(`uxf:${path}`);
    await assertPings(c, 'pafd serves on it');
    c.close();
  } finally {
    await pafd.stop();
  }
});

t('a uxf group that does not exist stops pafd with one line', async () => {
  const path = join(tempDir(), 'nogroup.sock');
  const config = tempFile('pafd.yaml', `domains: [{sockets: [{addr: "uxf:${path}", group: no-such-group-14}]}]`);
  const line = assertOneLineFailure(await runPafdBounded(['-n', '-f', config]), 'unknown group');
  assert.match(line, /group no-such-group-14 does not exist/);
  assert.not.ok(existsSync(path), 'no socket file left behind');
});

t.run();
