#!/usr/bin/env node
// Proves the embedded delivery on every architecture (npm run test:targets):
//
//  1. build/package.mjs --arch all and build/tarball.mjs --target all;
//  2. per board: the tarball's listing is exactly the expected entries
//     (paths, modes, root ownership, the /usr/bin/pafd link), its config is
//     targets/<board>.yaml, its unit carries the board's MemoryMax, its
//     executable and addon are ELF files of the board's machine;
//  3. per board: build/install.mjs into a temporary root (seeded with
//     etc/passwd and etc/group: the install adds the user paf once), then the installed
//     executable (under qemu-user-static -L <sysroot> for arm) starts with a
//     test variant of the board's config (same resources, NODE_OPTIONS from
//     the board's .env; sockets moved to tcp:127.0.0.1:<free port>, a unique
//     ux: name and a uxf: path in the temporary root; console logging), and
//     the python3 clients test/interop/raw_client.py (tcp) and
//     seqpacket_client.py (ux and uxf) publish and subscribe through it;
//     SIGUSR1 is logged and opens no listening socket (Node's default would
//     open the V8 inspector on port 9229); SIGTERM ends it with exit 0;
//  4. x64: the init script, under sh (dash, Debian's start-stop-daemon)
//     and BusyBox sh (BusyBox's start-stop-daemon and tools), starts,
//     reports, reloads and stops the installed pafd, which runs as the
//     user paf (the script makes it if this host lacks it; the test
//     removes it again) and owns /run/paf; with a broken configuration or
//     a port in use start fails with pafd's own line, force-reload and
//     restart fail and leave pafd running; the LSB exit codes of each
//     action, a stale pid file included;
//  5. systemd-analyze verify passes, with no complaint, on each shipped unit
//     in a root made of this host's systemd units plus the installation,
//     and systemd-analyze security rates it at most MAX_EXPOSURE (printed).
// Ends with a table of sizes and times and an "N passed, N failed" line.
// `--target <board>` runs one board only (e.g. x86_64-host, without qemu).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, closeSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { ARCHES, BOARDS, LAYOUT, MAN_PAGES, PROGRAM_LINKS, root, seaDir, tarballPath } from './release.mjs';

/** ELF e_machine of each architecture's executables. */
const ELF_MACHINE = { x64: 62, arm64: 183, armv7: 40 };
/** Emulated start-up is slow (the JIT runs under qemu): generous limits. */
const START_TIMEOUT_MS = 120_000;
const CLIENT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const CONNECT_POLL_MS = 5;
/** Idle RSS is read this long after "started", once start-up garbage has settled. */
const IDLE_SETTLE_MS = 1000;
const SYSTEMD_UNITS = '/usr/lib/systemd/system';
/** systemd-analyze security's exposure of the unit before it ran as paf (issue 14): never worse. */
const MAX_EXPOSURE = 2.2;
const PAF_USER = 'paf';
/** V8's young generation is three semi-spaces; 16 MB each is Node 20's 64-bit default. */
const YOUNG_GENERATION_SEMI_SPACES = 3;
const DEFAULT_SEMI_SPACE_MB = 16;

let passed = 0;
let failed = 0;
const t0 = Date.now();

function check(ok, what, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail ? `\n     ${detail.split('\n').join('\n     ')}` : ''}`);
  return ok;
}

function runStep(what, cmd, args, opts = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', cwd: root, env: opts.env ?? process.env, timeout: opts.timeout });
  const ms = Date.now() - started;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  check(r.status === 0, `${what} (${(ms / 1000).toFixed(1)} s)`, out || (r.error?.message ?? `exit ${r.status ?? r.signal}`));
  return { ok: r.status === 0, out, ms };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Resolves with ms from `since` to the first accepted TCP connection. */
function pollConnect(port, since, deadline) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = connect({ host: '127.0.0.1', port });
      c.once('connect', () => { c.destroy(); resolve(Date.now() - since); });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`no connection on port ${port}`));
        else setTimeout(attempt, CONNECT_POLL_MS);
      });
    };
    attempt();
  });
}

function elfMachine(file) {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  if (head.readUInt32BE(0) !== 0x7f454c46) return -1;
  return head.readUInt16LE(18);
}

/** NODE_OPTIONS etc. from a board's .env (KEY="value" lines, # comments). */
function readEnvFile(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|(\S*))\s*$/.exec(line);
    if (m) env[m[1]] = m[2] ?? m[3];
  }
  return env;
}

/** TCP ports a process listens on: its socket inodes looked up in /proc/net/tcp{,6}. */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports.sort((x, y) => x - y).join(' ');
}

function vmRss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const mb = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

// ---------------------------------------------------------------------
// The tarball's listing.

function expectedEntries(board) {
  const a = ARCHES[BOARDS[board].arch];
  const files = new Map([
    [LAYOUT.exe, '-rwxr-xr-x'], [LAYOUT.addon(a.nodeArch), '-rwxr-xr-x'],
    [LAYOUT.config, '-rw-r--r--'], [LAYOUT.env, '-rw-r--r--'],
    [LAYOUT.unit, '-rw-r--r--'], [LAYOUT.sysusers, '-rw-r--r--'], [LAYOUT.initScript, '-rwxr-xr-x'],
    [LAYOUT.binLink, 'lrwxrwxrwx'],
    ...shippedEntries(),
  ]);
  for (const f of [...files.keys()]) {
    for (let d = f.slice(0, f.lastIndexOf('/')); d; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') files.set(`${d}/`, 'drwxr-xr-x');
  }
  return files;
}

function checkTarball(board) {
  const tarball = tarballPath(board);
  const r = spawnSync('tar', ['-tvzf', tarball], { encoding: 'utf8' });
  if (!check(r.status === 0, `${board}: tar -tvzf ${relative(root, tarball)}`, r.stderr)) return;
  console.log(r.stdout.trimEnd().split('\n').map((l) => `       ${l}`).join('\n'));
  const got = new Map();
  const owners = new Set();
  const links = new Map();
  for (const line of r.stdout.trim().split('\n')) {
    const f = line.split(/\s+/);
    got.set(f[5], f[0]);
    owners.add(f[1]);
    if (f[6] === '->') links.set(f[5], f[7]);
  }
  const want = expectedEntries(board);
  const diff = [...new Set([...want.keys(), ...got.keys()])].filter((p) => want.get(p) !== got.get(p))
    .map((p) => `${p}: expected ${want.get(p) ?? 'nothing'}, got ${got.get(p) ?? 'nothing'}`);
  check(diff.length === 0, `${board}: tarball has exactly the ${want.size} expected entries with their modes`, diff.join('\n'));
  check(owners.size === 1 && owners.has('0/0'), `${board}: every entry owned by 0/0`, [...owners].join(' '));
  for (const at of [LAYOUT.binLink, ...PROGRAM_LINKS.map(LAYOUT.programLink)]) {
    check(links.get(at) === '../lib/paf/pafd', `${board}: ${at} -> ../lib/paf/pafd`, links.get(at));
  }
}

function checkInstalled(board, prefix) {
  const b = BOARDS[board];
  const a = ARCHES[b.arch];
  check(readFileSync(join(prefix, LAYOUT.config)).equals(readFileSync(join(root, 'targets', `${board}.yaml`))), `${board}: /etc/paf/pafd.yaml is targets/${board}.yaml`);
  check(readFileSync(join(prefix, LAYOUT.env)).equals(readFileSync(join(root, 'targets', `${board}.env`))), `${board}: /etc/paf/pafd.env is targets/${board}.env`);
  const unit = readFileSync(join(prefix, LAYOUT.unit), 'utf8');
  check(unit.includes(`\nMemoryMax=${b.memoryMax}\n`) && unit.includes('\nType=notify\n'), `${board}: unit has Type=notify and MemoryMax=${b.memoryMax}`);
  const opts = readEnvFile(join(prefix, LAYOUT.env)).NODE_OPTIONS ?? '';
  const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(opts)?.[1] ?? NaN);
  const semi = Number(/--max-semi-space-size=(\d+)/.exec(opts)?.[1] ?? DEFAULT_SEMI_SPACE_MB);
  const heapMb = oldSpace + YOUNG_GENERATION_SEMI_SPACES * semi;
  const limitMb = Number(/^(\d+)M$/.exec(b.memoryMax)?.[1] ?? NaN);
  check(heapMb < limitMb, `${board}: V8 heap limit ${heapMb} MB (NODE_OPTIONS ${opts}) below MemoryMax=${b.memoryMax}`);
  check(readFileSync(join(prefix, LAYOUT.exe)).equals(readFileSync(join(seaDir, b.arch, 'pafd'))), `${board}: installed executable is dist/sea/${b.arch}/pafd`);
  const m1 = elfMachine(join(prefix, LAYOUT.exe));
  const m2 = elfMachine(join(prefix, LAYOUT.addon(a.nodeArch)));
  check(m1 === ELF_MACHINE[b.arch] && m2 === ELF_MACHINE[b.arch], `${board}: executable and addon are ELF for ${b.arch} (e_machine ${ELF_MACHINE[b.arch]})`, `got ${m1} and ${m2}`);
}

/** A board root's account files before the install: uid 999 taken, gid 999 free. */
const SEED_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nradio:x:999:999:radio:/:/bin/false\n';
const SEED_GROUP = 'root:x:0:\nradio:x:999:\n';
function seedAccounts(prefix) {
  mkdirSync(join(prefix, 'etc'), { recursive: true });
  writeFileSync(join(prefix, 'etc', 'passwd'), SEED_PASSWD);
  writeFileSync(join(prefix, 'etc', 'group'), SEED_GROUP);
  writeFileSync(join(prefix, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n');
}

/** install.mjs added paf with the highest id free as uid and gid, once (a second install adds nothing). */
function checkAccounts(board, prefix) {
  const again = spawnSync(process.execPath, [join(root, 'build', 'install.mjs'), '--target', board, '--prefix', prefix], { encoding: 'utf8' });
  const passwd = readFileSync(join(prefix, 'etc', 'passwd'), 'utf8');
  const group = readFileSync(join(prefix, 'etc', 'group'), 'utf8');
  const shadow = readFileSync(join(prefix, 'etc', 'shadow'), 'utf8');
  check(again.status === 0
    && passwd === `${SEED_PASSWD}paf:x:998:998:Pathfinder server pafd:/run/paf:/bin/false\n`
    && group === `${SEED_GROUP}paf:x:998:\n` && shadow.endsWith('\npaf:!:::::::\n'),
  `${board}: install adds the user and group paf (998) to the root's etc/passwd, etc/group and etc/shadow, once`, `${passwd}\n${group}\n${shadow}\n${again.stdout}${again.stderr}`);
}

// ---------------------------------------------------------------------
// Running the installed executable.

function testConfig(board, port, uxName, uxfPath) {
  const config = parse(readFileSync(join(root, 'targets', `${board}.yaml`), 'utf8'));
  const domain = config.domains[0];
  config.domains = [{ ...domain, sockets: [`tcp:127.0.0.1:${port}`, `ux:${uxName}`, `uxf:${uxfPath}`] }];
  config.log = { console: true, syslog: false, filter: 'info' };
  return stringify(config);
}

function startPafd(argv, env) {
  const proc = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  let partial = '';
  const watchers = [];
  proc.stderr.on('data', (d) => {
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      log.push(line);
      for (const w of watchers) if (w.re.test(line)) w.resolve(line);
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const waitLog = (re, ms) => new Promise((resolve, reject) => {
    const hit = log.find((l) => re.test(l));
    if (hit) { resolve(hit); return; }
    const timer = setTimeout(() => reject(new Error(`no log line ${re} within ${ms} ms`)), ms);
    watchers.push({ re, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    exited.then((code) => reject(new Error(`pafd exited (${code})`)));
  });
  return { proc, log, exited, waitLog };
}

function pyClient(script, address) {
  return new Promise((resolve) => {
    const c = spawn('python3', [join(root, 'test', 'interop', script), address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    c.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

async function runBoard(board, prefix, figures) {
  const b = BOARDS[board];
  const a = ARCHES[b.arch];
  const port = await freePort();
  const uxName = `paf-target-test-${b.arch}-${process.pid}`;
  const uxfPath = join(prefix, 'run', 'paf', 'pafd.socket');
  mkdirSync(join(prefix, 'run', 'paf'), { recursive: true });
  const configFile = join(prefix, 'etc', 'paf', 'pafd-test.yaml');
  writeFileSync(configFile, testConfig(board, port, uxName, uxfPath));
  const env = { ...process.env, ...readEnvFile(join(prefix, LAYOUT.env)) };
  delete env.PAF_NATIVE_ADDON;   // the addon must be found beside the executable
  const exe = join(prefix, LAYOUT.exe);
  const argv = [...(a.qemu ? [a.qemu, '-L', a.sysroot] : []), exe, '-f', configFile];
  console.log(`$ NODE_OPTIONS="${env.NODE_OPTIONS}" ${argv.map((x) => (x.startsWith(prefix) ? x.replace(prefix, '<prefix>') : x)).join(' ')}`);

  const since = Date.now();
  const pafd = startPafd(argv, env);
  try {
    const startMs = await pollConnect(port, since, since + START_TIMEOUT_MS);
    figures.startMs[b.arch] = startMs;
    check(true, `${board}: first tcp connection accepted ${startMs} ms after exec${a.qemu ? ' (under qemu)' : ''}`);
    await pafd.waitLog(/pafd \S+ started/, START_TIMEOUT_MS);
    check(pafd.log.some((l) => l.includes(`listening on ux:${uxName}`)) && pafd.log.some((l) => l.includes(`listening on uxf:${uxfPath}`)),
      `${board}: listening on tcp, ux and uxf (addon found beside the executable)`, pafd.log.join('\n'));
    if (!a.qemu) {
      await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
      figures.idleRss = vmRss(pafd.proc.pid);
    }
    for (const [script, addr] of [['raw_client.py', `tcp:127.0.0.1:${port}`], ['seqpacket_client.py', `ux:${uxName}`], ['seqpacket_client.py', `uxf:${uxfPath}`]]) {
      const r = await pyClient(script, addr);
      check(r.code === 0 && /all checks passed/.test(r.out), `${board}: ${script} ${addr.replace(prefix, '<prefix>')} publishes and subscribes`, r.out);
    }
    if (!a.qemu) figures.busyRss = vmRss(pafd.proc.pid);
    const before = listeningPorts(pafd.proc.pid);
    pafd.proc.kill('SIGUSR1');
    await pafd.waitLog(/SIGUSR1 received/, START_TIMEOUT_MS);
    const r = await pyClient('raw_client.py', `tcp:127.0.0.1:${port}`);
    const after = listeningPorts(pafd.proc.pid);
    check(r.code === 0 && after === before, `${board}: SIGUSR1 logged, listening ports still ${before} (no inspector), still serving`, `after: ${after}\n${r.out}`);
    await runShippedPrograms(board, prefix, port, uxName, figures);
  } catch (err) {
    check(false, `${board}: pafd serves`, `${err.message}\n${pafd.log.join('\n')}`);
  } finally {
    pafd.proc.kill('SIGTERM');
    const timer = setTimeout(() => pafd.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await pafd.exited;
    clearTimeout(timer);
    check(code === 0, `${board}: SIGTERM -> exit 0`, `exit ${code}\n${pafd.log.slice(-5).join('\n')}`);
  }
}

/** The uid of a user of this host, or undefined. */
function uidOf(user) {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** Uid and gid (real, effective) of a running process, from /proc. */
function processIds(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: /^Uid:\s+(.*)$/m.exec(status)?.[1].trim(), gid: /^Gid:\s+(.*)$/m.exec(status)?.[1].trim() };
}

/**
 * The shells and start-stop-daemons the init script is run with: dash with
 * Debian's start-stop-daemon, and BusyBox's sh with BusyBox's applets
 * (start-stop-daemon and the tools the script calls) first in PATH.
 */
const BUSYBOX_APPLETS = ['start-stop-daemon', 'head', 'tail', 'grep', 'sleep', 'cat', 'rm', 'mkdir', 'chown', 'chmod', 'id', 'logger'];
function initShells() {
  const shells = [{ name: 'sh', argv: ['sh'], path: process.env.PATH }];
  if (spawnSync('busybox', ['true'], { stdio: 'ignore' }).status === 0) {
    const bin = mkdtempSync(join(tmpdir(), 'pafd-busybox-'));
    const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
    for (const applet of BUSYBOX_APPLETS) symlinkSync(busybox, join(bin, applet));
    shells.push({ name: 'busybox sh', argv: ['busybox', 'sh'], path: `${bin}:${process.env.PATH}`, bin });
  } else {
    check(false, 'busybox available for the init script test', 'install the Debian package busybox');
  }
  return shells;
}

/** A TCP listener of our own on a free port: pafd's bind then fails with EADDRINUSE. */
function holdPort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve({ port: s.address().port, close: () => new Promise((r) => s.close(r)) }));
  });
}

/**
 * The init script on an x64 installation, under each shell: start (pafd
 * runs as paf), status, a client, force-reload; with a broken
 * configuration force-reload and restart fail and leave pafd running;
 * stop, status, reload while stopped; start with the broken
 * configuration and with a port in use fail with pafd's own line; a stale
 * pid file gives status 1 and does not stop the next start.
 */
async function runInitScript(board, prefix) {
  // The user paf must reach the installation: mkdtemp made its root 0700.
  chmodSync(prefix, 0o755);
  const hadUser = uidOf(PAF_USER) !== undefined;
  const script = join(prefix, LAYOUT.initScript);
  const pidFile = join(prefix, 'run', 'paf', 'pafd.pid');
  const uxfPath = join(prefix, 'run', 'paf', 'pafd.socket');
  const configFile = join(prefix, LAYOUT.config);
  const broken = 'domains:\n  - sockets: [tcp:127.0.0.1:99999]\n';
  const shells = initShells();
  try {
    for (const shell of shells) {
      const what = `${board}: ${shell.name}: /etc/init.d/pafd`;
      const env = { ...process.env, PAFD_ROOT: prefix, PATH: shell.path };
      const run = (cmd) => spawnSync(shell.argv[0], [...shell.argv.slice(1), script, cmd], { env, encoding: 'utf8' });
      const said = (r) => `exit ${r.status}\n${r.stdout}${r.stderr}`;
      const port = await freePort();
      const good = testConfig(board, port, `paf-init-test-${process.pid}-${shell.argv[0]}`, uxfPath);
      writeFileSync(configFile, good);
      const userBefore = uidOf(PAF_USER) !== undefined;
      const start = run('start');
      check(start.status === 0 && /Starting pafd: OK/.test(start.stdout), `${what} start -> 0${userBefore ? '' : ` (makes the user ${PAF_USER})`}`, said(start));
      try {
        const since = Date.now();
        await pollConnect(port, since, since + START_TIMEOUT_MS);
        const status = run('status');
        check(status.status === 0 && /is running \(pid \d+\)/.test(status.stdout), `${what} status -> 0, running`, said(status));
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        const uid = uidOf(PAF_USER);
        const ids = processIds(pid);
        check(uid !== undefined && uid !== 0 && ids.uid === `${uid}\t${uid}\t${uid}\t${uid}`,
          `${what}: pafd (pid ${pid}) runs as ${PAF_USER}: Uid ${ids.uid?.replace(/\t/g, ' ')}, Gid ${ids.gid?.replace(/\t/g, ' ')}`, `id -u ${PAF_USER}: ${uid}`);
        const rundir = statSync(join(prefix, 'run', 'paf'));
        const sock = statSync(uxfPath);
        check(rundir.uid === uid && sock.uid === uid && (sock.mode & 0o777) === 0o660,
          `${what}: /run/paf owned by ${PAF_USER}, its uxf socket ${PAF_USER}'s with mode ${(sock.mode & 0o777).toString(8)}`, `run/paf uid ${rundir.uid}, socket uid ${sock.uid}`);
        const r = await pyClient('raw_client.py', `tcp:127.0.0.1:${port}`);
        check(r.code === 0, `${what}: a client through the init-script-started pafd`, r.out);
        const reload = run('force-reload');
        check(reload.status === 0, `${what} force-reload -> 0`, said(reload));
        writeFileSync(configFile, broken);
        const badReload = run('force-reload');
        check(badReload.status === 1 && /error reading configuration .*invalid port/.test(badReload.stderr), `${what} force-reload with a broken configuration -> 1 with pafd's line`, said(badReload));
        const badRestart = run('restart');
        const still = run('status');
        check(badRestart.status === 1 && still.status === 0 && Number(readFileSync(pidFile, 'utf8').trim()) === pid,
          `${what} restart with a broken configuration -> 1, the running pafd left alone`, `${said(badRestart)}\n${said(still)}`);
      } catch (err) {
        check(false, `${what}: init-script-started pafd accepts`, err.message);
      } finally {
        const stop = run('stop');
        check(stop.status === 0 && /OK/.test(stop.stdout), `${what} stop -> 0`, said(stop));
      }
      const after = run('status');
      check(after.status === 3, `${what} status -> 3, not running`, said(after));
      const reloadStopped = run('reload');
      check(reloadStopped.status === 7 && /not running/.test(reloadStopped.stderr), `${what} reload while stopped -> 7`, said(reloadStopped));
      writeFileSync(configFile, broken);
      const badStart = run('start');
      check(badStart.status === 1 && /FAILED/.test(badStart.stdout) && /pafd: error reading configuration .*invalid port/.test(badStart.stderr),
        `${what} start with a broken configuration -> 1 with pafd's line`, said(badStart));
      const held = await holdPort();
      writeFileSync(configFile, testConfig(board, held.port, `paf-init-test-${process.pid}-busy`, uxfPath));
      const busyStart = run('start');
      await held.close();
      check(busyStart.status === 1 && /FAILED/.test(busyStart.stdout) && /pafd: (ERROR:pafd:)?cannot start: .*EADDRINUSE/.test(busyStart.stderr),
        `${what} start with its port in use -> 1 with pafd's line`, said(busyStart));
      writeFileSync(pidFile, '2147483646\n');
      const stale = run('status');
      check(stale.status === 1 && /dead but its pid file/.test(stale.stdout), `${what} status with a stale pid file -> 1`, said(stale));
      writeFileSync(configFile, good);
      const restart = run('start');
      const stop = run('stop');
      check(restart.status === 0 && stop.status === 0, `${what} start over a stale pid file -> 0, stop -> 0`, `${said(restart)}\n${said(stop)}`);
    }
  } finally {
    for (const shell of shells) if (shell.bin) rmSync(shell.bin, { recursive: true, force: true });
    if (!hadUser && uidOf(PAF_USER) !== undefined) spawnSync('userdel', [PAF_USER], { stdio: 'inherit' });
  }
}

/** systemd-analyze verify in a root holding this host's units and the installation. */
function verifyUnit(board) {
  const have = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!check(have && existsSync(SYSTEMD_UNITS), `${board}: systemd-analyze available`, 'install the Debian package systemd')) return;
  const vroot = mkdtempSync(join(tmpdir(), `pafd-verify-${board}-`));
  try {
    mkdirSync(join(vroot, 'usr', 'lib', 'systemd'), { recursive: true });
    mkdirSync(join(vroot, 'usr', 'bin'), { recursive: true });
    symlinkSync('usr/lib', join(vroot, 'lib'));
    symlinkSync('usr/bin', join(vroot, 'bin'));
    cpSync(SYSTEMD_UNITS, join(vroot, 'usr', 'lib', 'systemd', 'system'), { recursive: true, verbatimSymlinks: true });
    cpSync('/usr/bin/kill', join(vroot, 'usr', 'bin', 'kill'));   // ExecReload's command
    const inst = spawnSync(process.execPath, [join(root, 'build', 'install.mjs'), '--target', board, '--prefix', vroot], { encoding: 'utf8' });
    if (!check(inst.status === 0, `${board}: install into the verify root`, inst.stdout + inst.stderr)) return;
    const r = spawnSync('systemd-analyze', ['verify', `--root=${vroot}`, 'pafd.service'], { encoding: 'utf8' });
    const said = `${r.stdout}${r.stderr}`.trim();
    check(r.status === 0 && said === '', `${board}: systemd-analyze verify --root=<root> pafd.service: exit ${r.status}, ${said === '' ? 'no complaint' : 'complaints'}`, said);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${vroot}`, '--no-pager', 'pafd.service'], { encoding: 'utf8' });
    const table = `${sec.stdout}${sec.stderr}`.trimEnd();
    console.log(table.split('\n').map((l) => `       ${l}`).join('\n'));
    const exposure = Number(/Overall exposure level for pafd\.service: ([0-9.]+)/.exec(table)?.[1] ?? NaN);
    check(exposure <= MAX_EXPOSURE, `${board}: systemd-analyze security pafd.service: exposure ${exposure} (at most ${MAX_EXPOSURE})`, table);
  } finally {
    rmSync(vroot, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------
// What ships on the board besides pafd (issue 15): pafc and pafbench as
// links to the one executable, the manual pages, LICENSE and the
// third-party notice; the addon message of an executable copied alone.

const NODE_LICENSE_OPENING = 'Node.js is licensed for use as follows';

/** Tarball entries of the files in this section (their directories are added by expectedEntries). */
function shippedEntries() {
  return [
    ...PROGRAM_LINKS.map((p) => [LAYOUT.programLink(p), 'lrwxrwxrwx']),
    ...MAN_PAGES.map((page) => [LAYOUT.manPage(page), '-rw-r--r--']),
    [LAYOUT.license, '-rw-r--r--'], [LAYOUT.notices, '-rw-r--r--'],
  ];
}

/** argv prefix that runs a board's executable on this host. */
function emulated(board) {
  const a = ARCHES[BOARDS[board].arch];
  return a.qemu ? [a.qemu, '-L', a.sysroot] : [];
}

function runProgram(board, file, args, env = process.env) {
  const [cmd, ...rest] = [...emulated(board), file, ...args];
  return spawnSync(cmd, rest, { encoding: 'utf8', env, timeout: CLIENT_TIMEOUT_MS });
}

/** The manual pages render with man -l without a complaint; LICENSE and the notice name what they must. */
function checkShippedFiles(board, prefix) {
  const a = ARCHES[BOARDS[board].arch];
  for (const page of MAN_PAGES) {
    const file = join(prefix, LAYOUT.manPage(page));
    const r = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '80', LC_ALL: 'C.UTF-8' } });
    const heading = `${page.name.toUpperCase()}(${page.section})`;
    check(r.status === 0 && r.stderr === '' && r.stdout.startsWith(heading) && /^NAME\n\s+\S+ - /m.test(r.stdout) && /^SYNOPSIS$/m.test(r.stdout),
      `${board}: man -l ${LAYOUT.manPage(page)} renders (${r.stdout.split('\n').length} lines, no warnings)`,
      r.error ? `${r.error.message} (Debian package man-db)` : `exit ${r.status}\n${r.stderr}${r.stdout.slice(0, 400)}`);
  }
  const license = join(prefix, LAYOUT.license);
  check(existsSync(license) && readFileSync(license).equals(readFileSync(join(root, 'LICENSE'))), `${board}: ${LAYOUT.license} is the project's LICENSE`);
  const notices = existsSync(join(prefix, LAYOUT.notices)) ? readFileSync(join(prefix, LAYOUT.notices), 'utf8') : '';
  check(notices.includes(`Node.js ${a.version}: LICENSE`) && notices.includes(NODE_LICENSE_OPENING),
    `${board}: ${LAYOUT.notices} carries the license of Node.js ${a.version}`, notices.slice(0, 400));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const version = JSON.parse(readFileSync(join(root, 'node_modules', dep, 'package.json'), 'utf8')).version;
    check(notices.includes(`\n${dep} ${version}: `), `${board}: the notice carries the license of the bundled npm package ${dep} ${version}`);
  }
}

/**
 * pafc and pafbench, started through their /usr/bin links (the one
 * executable dispatching on argv[0]), talk to the running pafd: pafc over
 * ux (addon found beside the executable the link resolves to), pafbench
 * --quick over tcp. Then pafd copied alone fails on ux: naming where it
 * looked for the addon.
 */
async function runShippedPrograms(board, prefix, port, uxName, figures) {
  const env = { ...process.env, ...readEnvFile(join(prefix, LAYOUT.env)) };
  delete env.PAF_NATIVE_ADDON;
  const pafc = runProgram(board, join(prefix, LAYOUT.programLink('pafc')), ['-c', 'ping; services', `ux:${uxName}`], env);
  check(pafc.status === 0 && /Round-trip time: [\d.]+ ms\./.test(pafc.stdout) && /^OK\.$/m.test(pafc.stdout),
    `${board}: /usr/bin/pafc -c 'ping; services' ux:${uxName}`, `exit ${pafc.status ?? pafc.signal}\n${pafc.stdout}${pafc.stderr}`);
  const started = Date.now();
  const bench = runProgram(board, join(prefix, LAYOUT.programLink('pafbench')), ['--quick', `tcp:127.0.0.1:${port}`], env);
  figures.benchMs ??= {};
  figures.benchMs[BOARDS[board].arch] = Date.now() - started;
  check(bench.status === 0 && /^Ping: +[\d.]+ ms$/m.test(bench.stdout),
    `${board}: /usr/bin/pafbench --quick tcp:127.0.0.1:${port}`, `exit ${bench.status ?? bench.signal}\n${bench.stdout}${bench.stderr}`);

  const alone = mkdtempSync(join(tmpdir(), `pafd-alone-${board}-`));
  try {
    cpSync(join(prefix, LAYOUT.exe), join(alone, 'pafd'));
    const r = runProgram(board, join(alone, 'pafd'), ['-s', '-n', `ux:${uxName}-alone`], env);
    const looked = join(alone, 'native', ARCHES[BOARDS[board].arch].nodeArch, 'paf_native.node');
    check(r.status === 1 && r.stderr.includes(`looked in ${looked}`) && !r.stderr.includes('build/addon.mjs'),
      `${board}: pafd copied alone, without its addon: exit 1 naming ${looked.replace(alone, '<dir>')}`, `exit ${r.status ?? r.signal}\n${r.stderr}`);
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------

const figures = { startMs: {}, idleRss: NaN, busyRss: NaN };
const only = process.argv.includes('--target') ? process.argv[process.argv.indexOf('--target') + 1] : undefined;
if (only !== undefined && !(only in BOARDS)) {
  console.error(`test-targets: --target takes one of ${Object.keys(BOARDS).join(', ')}`);
  process.exit(1);
}
const boards = only === undefined ? Object.keys(BOARDS) : [only];
const arch = only === undefined ? 'all' : BOARDS[only].arch;
const build1 = runStep(`node build/package.mjs --arch ${arch}`, process.execPath, [join(root, 'build', 'package.mjs'), '--arch', arch]);
const build2 = build1.ok && runStep(`node build/tarball.mjs --target ${only ?? 'all'}`, process.execPath, [join(root, 'build', 'tarball.mjs'), '--target', only ?? 'all']);
const buildMs = Date.now() - t0;

if (build1.ok && build2.ok) {
  for (const board of boards) {
    console.log(`\n== ${board} (${BOARDS[board].arch})`);
    checkTarball(board);
    const prefix = mkdtempSync(join(tmpdir(), `pafd-root-${board}-`));
    try {
      seedAccounts(prefix);
      const inst = spawnSync(process.execPath, [join(root, 'build', 'install.mjs'), '--target', board, '--prefix', prefix, '--enable', 'systemd'], { encoding: 'utf8' });
      if (check(inst.status === 0, `${board}: node build/install.mjs --target ${board} --prefix <tmp> --enable systemd`, inst.stdout + inst.stderr)) {
        checkInstalled(board, prefix);
        checkAccounts(board, prefix);
        checkShippedFiles(board, prefix);
        await runBoard(board, prefix, figures);
        if (BOARDS[board].arch === 'x64') await runInitScript(board, prefix);
      }
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
    verifyUnit(board);
  }
}

// ---------------------------------------------------------------------
// The table.

const rows = [];
const bundle = join(seaDir, 'pafd.js');
if (existsSync(bundle)) {
  const raw = readFileSync(bundle);
  rows.push(['release bundle dist/sea/pafd.js (minified)', kb(raw.length), kb(gzipSync(raw, { level: 9 }).length)]);
  if (existsSync(`${bundle}.map`)) rows.push(['its source map (kept in dist/sea, not shipped)', kb(statSync(`${bundle}.map`).size), '']);
}
for (const [name, a] of Object.entries(ARCHES)) {
  const exe = join(seaDir, name, 'pafd');
  if (!existsSync(exe)) continue;
  const raw = readFileSync(exe);
  rows.push([`executable ${name} (node ${a.version}, stripped)`, mb(raw.length), mb(gzipSync(raw, { level: 9 }).length)]);
}
for (const board of boards) {
  const t = tarballPath(board);
  if (existsSync(t)) rows.push([`tarball ${relative(join(root, 'dist'), t)}`, '', mb(statSync(t).size)]);
}
rows.push(['idle RSS of the x64 executable (board x86_64-host flags)', mb(figures.idleRss), '']);
rows.push(['RSS of the x64 executable after the three clients', mb(figures.busyRss), '']);
for (const [arch, ms] of Object.entries(figures.benchMs ?? {})) {
  rows.push([`pafbench --quick, ${arch}${ARCHES[arch].qemu ? ' (qemu-user)' : ''}`, `${ms} ms`, '']);
}
for (const [arch, ms] of Object.entries(figures.startMs)) {
  rows.push([`start-up to first accepted connection, ${arch}${ARCHES[arch].qemu ? ' (qemu-user)' : ''}`, `${ms} ms`, '']);
}
rows.push(['build (package + tarball)', `${(buildMs / 1000).toFixed(1)} s`, '']);
rows.push(['whole test:targets run', `${((Date.now() - t0) / 1000).toFixed(1)} s`, '']);
const w0 = Math.max(...rows.map((r) => r[0].length), 4);
const w1 = Math.max(...rows.map((r) => r[1].length), 3);
console.log(`\n| ${'what'.padEnd(w0)} | ${'raw'.padStart(w1)} | gzip -9 |`);
console.log(`|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|---------|`);
for (const r of rows) console.log(`| ${r[0].padEnd(w0)} | ${r[1].padStart(w1)} | ${r[2].padStart(7)} |`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
