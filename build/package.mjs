#!/usr/bin/env node
// Makes the standalone board executable with Node's single executable
// applications (SEA), one per architecture. It is pafd, pafc and pafbench
// in one (src/bin/paf.ts: it runs the program named by argv[0], pafd for
// any other name):
//
//   node build/package.mjs --arch x64|arm64|armv7|all
//     -> dist/sea/<arch>/pafd                                  the executable
//        dist/sea/<arch>/pafc, pafbench                        symlinks to it
//        dist/sea/<arch>/native/<node-arch>/paf_native.node     its addon, shipped beside it
//        dist/sea/<arch>/THIRD-PARTY-NOTICES                    Node's and the bundled packages' licenses
//
// Steps per architecture (docs/PACKAGING.md explains each choice):
//  1. the release bundle: build/build.mjs --minify, copied with its source map
//     to dist/sea/pafd.js(.map) (for boards that have Node), and the
//     multi-call bundle dist/sea/paf.js (the executable's main script, with
//     esbuild's metafile for the notice); the addon for the architecture
//     (build/addon.mjs, --cross for arm);
//  2. the official Node binary: `npm pack <node-linux-*>@<pinned>` into
//     build/.cache, integrity checked, bin/node unpacked;
//  3. a copy stripped with the architecture's binutils strip;
//  4. the SEA blob, made by the TARGET's own node (--experimental-sea-config),
//     under qemu-user-static for arm, because the blob depends on word size;
//  5. the blob injected into the stripped copy with postject;
//  6. the notice (build/notices.mjs) from the Node package's LICENSE and the
//     bundle's npm inputs;
//  7. a smoke run of `pafd -v`, `pafc -h` and `pafbench -h` (under qemu for arm).
// Needs: npm (registry access for step 2, once), binutils for each arch,
// qemu-user-static and the cross C libraries for arm (the Debian packages
// are named in the error when a tool is missing).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { bundledPackages, noticeText } from './notices.mjs';
import { ARCHES, PROGRAM_LINKS, SEA_FUSE, SEA_RESOURCE, cacheDir, parseChoice, root, seaDir } from './release.mjs';

const QEMU_DEBIAN = 'qemu-user-static';
const CROSS_LIBC_DEBIAN = { arm64: 'gcc-aarch64-linux-gnu', armv7: 'gcc-arm-linux-gnueabihf' };
const ADDON_CROSS_NAME = { arm64: 'arm64', armv7: 'armv7' };
/** Emulated runs of the target node (blob, smoke test) get this long. */
const EMULATED_TIMEOUT_MS = 180_000;
/** esbuild marks each source file in unminified output with a "// src/..." line. */
const UNMINIFIED_MARK = /^\/\/ src\//m;

function die(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const shown = [cmd, ...args].map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(' ');
  console.log(`$ ${shown}`);
  const r = spawnSync(cmd, args, { stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', timeout: EMULATED_TIMEOUT_MS, cwd: opts.cwd ?? root, env: opts.env ?? process.env });
  if (r.error) die(`${cmd}: ${r.error.code === 'ENOENT' ? 'not found' : r.error.message}${opts.debian ? ` (Debian package ${opts.debian})` : ''}`);
  if (r.status !== 0) die(`${shown} failed (exit ${r.status ?? r.signal})`);
  return r.stdout;
}

/** argv prefix that runs a target binary on this host. */
function runner(a) {
  return a.qemu ? [a.qemu, '-L', a.sysroot] : [];
}

function checkEmulation(name, a) {
  if (!a.qemu) return;
  if (spawnSync(a.qemu, ['--version'], { stdio: 'ignore' }).status !== 0) die(`${a.qemu} not found (Debian package ${QEMU_DEBIAN})`);
  if (!existsSync(join(a.sysroot, 'lib'))) die(`${a.sysroot} missing: the ${name} C library (Debian package ${CROSS_LIBC_DEBIAN[name]})`);
}

function sha512(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The pinned official node binary for an architecture and its LICENSE, downloaded once into build/.cache. */
function nodeBinary(a) {
  const base = `${a.npm}-${a.version}`;
  const tgz = join(cacheDir, `${base}.tgz`);
  const bin = join(cacheDir, base, 'package', 'bin', 'node');
  const license = join(cacheDir, base, 'package', 'LICENSE');
  if (existsSync(bin) && existsSync(license)) return { bin, license };
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(tgz)) run('npm', ['pack', `${a.npm}@${a.version}`, '--pack-destination', cacheDir, '--silent']);
  const got = sha512(tgz);
  if (got !== a.integrity) {
    rmSync(tgz);
    die(`${relative(root, tgz)}: integrity ${got} is not the pinned ${a.integrity}`);
  }
  mkdirSync(join(cacheDir, base), { recursive: true });
  run('tar', ['-xzf', tgz, '-C', join(cacheDir, base), 'package/bin/node', 'package/LICENSE']);
  return { bin, license };
}

function loadPostject() {
  try {
    return createRequire(join(root, 'package.json'))('postject');
  } catch {
    die('postject not installed: it is a devDependency ("npm ci" installs it)');
  }
}

/** Injects the blob; postject's LIEF warnings about section names of the stripped binary are noise. */
async function inject(postject, exe, blob) {
  const warn = console.warn;
  const noise = [];
  console.warn = (...args) => { noise.push(args.join(' ')); };
  try {
    await postject.inject(exe, SEA_RESOURCE, readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
  const real = noise.filter((l) => !/Can't find string offset for section name/.test(l));
  for (const l of real) console.warn(l);
}

async function packageArch(name, postject, release) {
  const a = ARCHES[name];
  checkEmulation(name, a);
  console.log(`\n== ${name}: ${a.npm}@${a.version}`);
  run(process.execPath, [join(root, 'build', 'addon.mjs'), ...(a.qemu ? ['--cross', ADDON_CROSS_NAME[name]] : [])]);
  const addon = join(root, 'dist', 'native', a.nodeArch, 'paf_native.node');
  if (!existsSync(addon)) die(`addon ${relative(root, addon)} was not built`);
  const { bin: node, license: nodeLicense } = nodeBinary(a);

  const outDir = join(seaDir, name);
  const work = mkdtempSync(join(tmpdir(), `pafd-sea-${name}-`));
  try {
    // The SEA main script is the multi-call bundle as is (its
    // sourceMappingURL comment is harmless).
    const main = join(work, 'paf.js');
    copyFileSync(release.multiCall, main);
    const blob = join(work, 'pafd.blob');
    writeFileSync(join(work, 'sea-config.json'), JSON.stringify({
      main, output: blob,
      // The warning would be the first line of every start on stderr.
      disableExperimentalSEAWarning: true,
    }, null, 2));
    const [cmd, ...args] = [...runner(a), node, '--experimental-sea-config', join(work, 'sea-config.json')];
    run(cmd, args, { cwd: work });

    const exe = join(work, 'pafd');
    run(a.strip, ['--strip-all', '-o', exe, node], { debian: a.stripDebian });
    await inject(postject, exe, blob);
    chmodSync(exe, 0o755);

    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(join(outDir, 'native', a.nodeArch), { recursive: true });
    copyFileSync(exe, join(outDir, 'pafd'));
    chmodSync(join(outDir, 'pafd'), 0o755);
    for (const program of PROGRAM_LINKS) symlinkSync('pafd', join(outDir, program));
    writeFileSync(join(outDir, 'THIRD-PARTY-NOTICES'), noticeText({
      product: `the pafd/pafc/pafbench executable (pathfinder-ts, ${name})`,
      node: { npm: a.npm, version: a.version, license: nodeLicense },
      packages: release.packages,
    }));
    // The addon's symbols are not needed at run time (only its N-API entry point).
    run(a.strip, ['--strip-unneeded', '-o', join(outDir, 'native', a.nodeArch, 'paf_native.node'), addon], { debian: a.stripDebian });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const exe = join(outDir, 'pafd');
  const [cmd, ...args] = [...runner(a), exe, '-v'];
  const version = run(cmd, args, { capture: true }).trim().split('\n');
  console.log(`${relative(root, exe)}: ${statSync(exe).size} bytes, "pafd -v" says ${version.join(' / ')}`);
  // The links must reach the other programs (argv[0] dispatch), not pafd.
  for (const program of PROGRAM_LINKS) {
    const [c, ...rest] = [...runner(a), join(outDir, program), '-h'];
    const usage = run(c, rest, { capture: true });
    if (!usage.includes(program)) die(`${program} -h printed no ${program} usage: ${usage.split('\n')[0]}`);
  }
  return exe;
}

/**
 * Builds the minified release bundle and keeps a copy of it and its source
 * map in dist/sea/ (a later `npm run build` rewrites dist/pafd.js unminified;
 * the copy is what the executables contain, and what a board that has Node
 * runs as `node pafd.js`).
 */
function releaseBundle() {
  run(process.execPath, [join(root, 'build', 'build.mjs'), '--minify']);
  mkdirSync(seaDir, { recursive: true });
  const bundle = join(seaDir, 'pafd.js');
  copyFileSync(join(root, 'dist', 'pafd.js'), bundle);
  copyFileSync(join(root, 'dist', 'pafd.js.map'), `${bundle}.map`);
  if (UNMINIFIED_MARK.test(readFileSync(bundle, 'utf8'))) die('dist/pafd.js is not the minified bundle (rebuilt meanwhile?); run again');
  console.log(`release bundle ${relative(root, bundle)}: ${statSync(bundle).size} bytes, map beside it`);
  return bundle;
}

/**
 * The executable's main script: pafd, pafc and pafbench in one minified
 * bundle (src/bin/paf.ts), with the npm packages esbuild put into it.
 */
async function multiCallBundle() {
  const out = join(seaDir, 'paf.js');
  const result = await build({
    entryPoints: [join(root, 'src', 'bin', 'paf.ts')], outfile: out, absWorkingDir: root,
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true,
    sourcemap: 'linked', metafile: true, logLevel: 'warning',
  });
  let packages;
  try {
    packages = bundledPackages(root, result.metafile.inputs);
  } catch (err) {
    die(err.message);
  }
  console.log(`multi-call bundle ${relative(root, out)}: ${statSync(out).size} bytes; npm packages in it: ${packages.map((p) => `${p.name} ${p.version}`).join(', ') || 'none'}`);
  return { multiCall: out, packages };
}

const arches = parseChoice(process.argv.slice(2), '--arch', Object.keys(ARCHES));
releaseBundle();
const release = await multiCallBundle();
const postject = loadPostject();
for (const name of arches) await packageArch(name, postject, release);
