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
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
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

const argv = process.argv.slice(2);
const [board] = parseChoice(argv, '--target', Object.keys(BOARDS), { all: false });
const prefixArg = option(argv, '--prefix');
if (!prefixArg) die('--prefix <dir> is required (the root file system to install into)');
const prefix = resolve(prefixArg);
// A root being assembled may not exist yet: make it, as the files below it are made.
if (!existsSync(prefix)) mkdirSync(prefix, { recursive: true });
if (!statSync(prefix).isDirectory()) die(`${prefix} is not a directory`);
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
  copyTree(unpacked, prefix, '', force, report);
  for (const line of report) console.log(`install: ${prefix}/${line}`);
} finally {
  rmSync(unpacked, { recursive: true, force: true });
}
if (enable === 'systemd') link(prefix, SYSTEMD_WANTS, `/${LAYOUT.unit}`);
if (enable === 'sysv') link(prefix, SYSV_LINK, 'pafd');
console.log(`install: ${board} installed under ${prefix}`);
