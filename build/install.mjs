#!/usr/bin/env node
// Installs a board's tarball into a root file system, typically the board's
// root mounted on the build host (or an image being assembled):
//
//   node build/install.mjs --target <board> --prefix <dir> [--enable systemd|sysv] [--force]
//
// Files land at <prefix>/<path in the tarball> (build/release.mjs LAYOUT);
// a missing <prefix> is created.
// The configuration files under etc/paf/ are the operator's once installed:
// an existing one that differs is kept and the new one written beside it as
// <file>.new, unless --force. --enable starts pafd at boot: for systemd the
// multi-user.target.wants link, for BusyBox/SysV an S60pafd link to the init
// script (the rcS convention of BusyBox and Buildroot). The tarball is made
// first (build/tarball.mjs) when dist/ has none.
//
// pafd runs as the system user and group paf. When the root has an
// etc/passwd (a board's root file system) and no paf in it, paf is added
// to etc/passwd, etc/group (and etc/shadow, etc/gshadow if present) with
// the highest id below 1000 free in both, as systemd-sysusers would pick;
// otherwise systemd-sysusers (usr/lib/sysusers.d/pafd.conf) or the init
// script makes it on the board.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { BOARDS, LAYOUT, parseChoice, root, tarballPath } from './release.mjs';

/** Files an operator edits: never overwritten silently. */
const CONFFILES = new Set([LAYOUT.config, LAYOUT.env]);
const SYSV_LINK = 'etc/init.d/S60pafd';
const SYSTEMD_WANTS = 'etc/systemd/system/multi-user.target.wants/pafd.service';

function die(message) {
  console.error(`install: ${message}`);
  process.exit(1);
}

function option(argv, flag) {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

function sameFile(a, b) {
  return readFileSync(a).equals(readFileSync(b));
}

/** A symlink at `at` (relative to prefix) pointing to `target`, replacing an old link. */
function link(prefix, at, target) {
  const p = join(prefix, at);
  mkdirSync(join(p, '..'), { recursive: true });
  try { if (lstatSync(p).isSymbolicLink()) rmSync(p); } catch { /* absent */ }
  symlinkSync(target, p);
  console.log(`install: ${at} -> ${target}`);
}

function copyTree(from, prefix, rel, force, report) {
  for (const name of readdirSync(join(from, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const src = join(from, r);
    const dst = join(prefix, r);
    const st = lstatSync(src);
    if (st.isDirectory()) {
      mkdirSync(dst, { recursive: true });
      copyTree(from, prefix, r, force, report);
    } else if (st.isSymbolicLink()) {
      link(prefix, r, readlinkSync(src));
    } else if (CONFFILES.has(r) && existsSync(dst) && !force && !sameFile(src, dst)) {
      copyFileSync(src, `${dst}.new`);
      chmodSync(`${dst}.new`, st.mode & 0o7777);
      report.push(`${r} kept (yours differs); the shipped one is ${r}.new`);
    } else {
      // Replace rather than write into: a running executable cannot be opened for writing.
      rmSync(dst, { force: true });
      copyFileSync(src, dst);
      chmodSync(dst, st.mode & 0o7777);
      report.push(r);
    }
  }
}

const PAF_USER = 'paf';
const SYSTEM_ID_MAX = 999;
const SYSTEM_ID_MIN = 100;

function idsIn(file) {
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')[2]).filter((x) => x !== undefined && /^\d+$/.test(x)).map(Number));
}

function hasEntry(file, name) {
  return existsSync(file) && readFileSync(file, 'utf8').split('\n').some((l) => l.split(':')[0] === name);
}

function appendLine(file, line) {
  const text = readFileSync(file, 'utf8');
  appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`);
}

/** Adds the user and group paf to the root's account files, if it has them and they lack paf. */
function ensureUser(prefix) {
  const passwd = join(prefix, 'etc', 'passwd');
  const group = join(prefix, 'etc', 'group');
  if (!existsSync(passwd) || !existsSync(group)) {
    console.log(`install: no etc/passwd and etc/group under ${prefix}: the user ${PAF_USER} is made on the board by systemd-sysusers (${LAYOUT.sysusers}) or by the init script`);
    return;
  }
  let gid;
  if (hasEntry(group, PAF_USER)) {
    gid = Number(readFileSync(group, 'utf8').split('\n').find((l) => l.split(':')[0] === PAF_USER).split(':')[2]);
  }
  if (hasEntry(passwd, PAF_USER) && gid !== undefined) {
    console.log(`install: user ${PAF_USER} exists in ${prefix}/etc/passwd`);
    return;
  }
  const usedUids = idsIn(passwd);
  const usedGids = idsIn(group);
  let id = SYSTEM_ID_MAX;
  while (id >= SYSTEM_ID_MIN && (usedUids.has(id) || (gid === undefined && usedGids.has(id)))) id--;
  if (id < SYSTEM_ID_MIN) die(`no free system id for the user ${PAF_USER} in ${prefix}/etc/passwd`);
  if (gid === undefined) {
    gid = id;
    appendLine(group, `${PAF_USER}:x:${gid}:`);
    if (existsSync(join(prefix, 'etc', 'gshadow'))) appendLine(join(prefix, 'etc', 'gshadow'), `${PAF_USER}:!::`);
  }
  if (hasEntry(passwd, PAF_USER)) {
    console.log(`install: group ${PAF_USER} (gid ${gid}) added to ${prefix}/etc/group`);
    return;
  }
  const shell = ['usr/sbin/nologin', 'sbin/nologin'].find((s) => existsSync(join(prefix, s)));
  appendLine(passwd, `${PAF_USER}:x:${id}:${gid}:Pathfinder server pafd:/run/paf:/${shell ?? 'bin/false'}`);
  if (existsSync(join(prefix, 'etc', 'shadow'))) appendLine(join(prefix, 'etc', 'shadow'), `${PAF_USER}:!:::::::`);
  console.log(`install: user ${PAF_USER} (uid ${id}, gid ${gid}) added to ${prefix}/etc/passwd and etc/group`);
}

const argv = process.argv.slice(2);
const [board] = parseChoice(argv, '--target', Object.keys(BOARDS), { all: false });
const prefixArg = option(argv, '--prefix');
if (!prefixArg) die('--prefix <dir> is required (the root file system to install into)');
const prefix = resolve(prefixArg);
// A missing root (an image being assembled) is created below; a file there is a mistake.
if (existsSync(prefix) && !statSync(prefix).isDirectory()) die(`${prefix} is not a directory`);
const enable = option(argv, '--enable');
if (enable !== undefined && enable !== 'systemd' && enable !== 'sysv') die('--enable takes systemd or sysv');
const force = argv.includes('--force');

const tarball = tarballPath(board);
if (!existsSync(tarball)) {
  const r = spawnSync(process.execPath, [join(root, 'build', 'tarball.mjs'), '--target', board], { stdio: 'inherit' });
  if (r.status !== 0) die(`build/tarball.mjs --target ${board} failed`);
}

const unpacked = mkdtempSync(join(tmpdir(), `pafd-install-${board}-`));
try {
  const r = spawnSync('tar', ['-xzf', tarball, '-C', unpacked, '--no-same-owner'], { stdio: 'inherit' });
  if (r.status !== 0) die(`tar -xzf ${relative(root, tarball)} failed`);
  const report = [];
  mkdirSync(prefix, { recursive: true });
  copyTree(unpacked, prefix, '', force, report);
  for (const line of report) console.log(`install: ${prefix}/${line}`);
} finally {
  rmSync(unpacked, { recursive: true, force: true });
}
ensureUser(prefix);
if (enable === 'systemd') link(prefix, SYSTEMD_WANTS, `/${LAYOUT.unit}`);
if (enable === 'sysv') link(prefix, SYSV_LINK, 'pafd');
console.log(`install: ${board} installed under ${prefix}`);
