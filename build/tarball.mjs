#!/usr/bin/env node
// Makes the install tarball of one board (or all):
//
//   node build/tarball.mjs --target <board>|all     -> dist/pafd-<board>-<arch>.tar.gz
//
// Its paths are those of the board's root file system (build/release.mjs
// LAYOUT): the executable and its addon under /usr/lib/paf, /usr/bin/pafd,
// pafc and pafbench links to it (it is all three), targets/<board>.yaml as
// /etc/paf/pafd.yaml, targets/<board>.env as /etc/paf/pafd.env, the systemd
// unit (MemoryMax of the board filled in), the sysusers.d file that makes
// the user paf, the init script, the manual pages made now from docs/*.md
// (build/man.mjs), LICENSE and the executable's third-party notice under
// /usr/share/doc/paf. Entries are owned by root (0/0). The executable is
// made by build/package.mjs first when dist/sea/<arch>/ lacks it.
// SOURCE_DATE_EPOCH, when set, fixes every entry's time (reproducible
// tarballs) and the date of the manual pages.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { markdownToMan } from './man.mjs';
import { ARCHES, BOARDS, LAYOUT, MAN_PAGES, PROGRAM_LINKS, parseChoice, root, seaDir, tarballPath } from './release.mjs';

function die(message) {
  console.error(`tarball: ${message}`);
  process.exit(1);
}

function put(stage, rel, from, mode) {
  const to = join(stage, rel);
  mkdirSync(dirname(to), { recursive: true });
  if (typeof from === 'string') copyFileSync(from, to); else writeFileSync(to, from.text);
  chmodSync(to, mode);
}

function unitText(board) {
  const b = BOARDS[board];
  const text = readFileSync(join(root, 'build', 'packaging', 'pafd.service.in'), 'utf8')
    .replaceAll('@BOARD@', board).replaceAll('@SUMMARY@', b.summary).replaceAll('@MEMORY_MAX@', b.memoryMax);
  const left = /@[A-Z_]+@/.exec(text);
  if (left) die(`pafd.service.in: no value for ${left[0]}`);
  return text;
}

/** The build's time: SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
function buildTime() {
  return process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : Math.floor(Date.now() / 1000);
}

function manPage(page) {
  const file = join(root, 'docs', `${page.name}.md`);
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  try {
    return markdownToMan(readFileSync(file, 'utf8'), {
      file: relative(root, file), date: new Date(buildTime() * 1000).toISOString().slice(0, 10), source: `pathfinder-ts ${version}`,
    });
  } catch (err) {
    die(err.message);
  }
}

function makeTarball(board) {
  const b = BOARDS[board];
  const a = ARCHES[b.arch];
  const exe = join(seaDir, b.arch, 'pafd');
  const addon = join(seaDir, b.arch, 'native', a.nodeArch, 'paf_native.node');
  const notices = join(seaDir, b.arch, 'THIRD-PARTY-NOTICES');
  if (!existsSync(exe) || !existsSync(addon) || !existsSync(notices)) {
    const r = spawnSync(process.execPath, [join(root, 'build', 'package.mjs'), '--arch', b.arch], { stdio: 'inherit' });
    if (r.status !== 0) die(`build/package.mjs --arch ${b.arch} failed`);
  }
  const config = join(root, 'targets', `${board}.yaml`);
  const env = join(root, 'targets', `${board}.env`);
  for (const f of [config, env]) if (!existsSync(f)) die(`${relative(root, f)} missing`);

  const stage = mkdtempSync(join(tmpdir(), `pafd-tar-${board}-`));
  try {
    put(stage, LAYOUT.exe, exe, 0o755);
    put(stage, LAYOUT.addon(a.nodeArch), addon, 0o755);
    put(stage, LAYOUT.config, config, 0o644);
    put(stage, LAYOUT.env, env, 0o644);
    put(stage, LAYOUT.unit, { text: unitText(board) }, 0o644);
    put(stage, LAYOUT.sysusers, join(root, 'build', 'packaging', 'pafd.sysusers'), 0o644);
    put(stage, LAYOUT.initScript, join(root, 'build', 'packaging', 'pafd.init'), 0o755);
    for (const page of MAN_PAGES) put(stage, LAYOUT.manPage(page), { text: manPage(page) }, 0o644);
    put(stage, LAYOUT.license, join(root, 'LICENSE'), 0o644);
    put(stage, LAYOUT.notices, notices, 0o644);
    mkdirSync(join(stage, dirname(LAYOUT.binLink)), { recursive: true });
    for (const at of [LAYOUT.binLink, ...PROGRAM_LINKS.map(LAYOUT.programLink)]) {
      symlinkSync(relative(dirname(at), LAYOUT.exe), join(stage, at));
    }

    const out = tarballPath(board);
    const mtime = `@${buildTime()}`;
    const args = ['--create', '--file', out, '--use-compress-program', 'gzip -9n', '--directory', stage,
      '--owner=0', '--group=0', '--numeric-owner', '--sort=name', `--mtime=${mtime}`, 'etc', 'usr'];
    const r = spawnSync('tar', args, { stdio: 'inherit' });
    if (r.status !== 0) die(`tar failed (exit ${r.status ?? r.signal})`);
    console.log(`tarball: ${relative(root, out)} (${readFileSync(out).length} bytes)`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

for (const board of parseChoice(process.argv.slice(2), '--target', Object.keys(BOARDS))) makeTarball(board);
