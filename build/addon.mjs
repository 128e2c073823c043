#!/usr/bin/env node
// Builds the native addon (src/native/paf_native.c) that gives pafd its
// ux:/uxf: transports (AF_UNIX SOCK_SEQPACKET, which Node core lacks).
//
//   node build/addon.mjs                     host build -> dist/native/<process.arch>/paf_native.node
//   node build/addon.mjs --cross arm64       -> dist/native/arm64/paf_native.node (aarch64-linux-gnu-gcc)
//   node build/addon.mjs --cross armv7       -> dist/native/arm/paf_native.node   (arm-linux-gnueabihf-gcc)
//   node build/addon.mjs --cross all         both cross builds
//   node build/addon.mjs --if-missing        host build only if dist/native/<arch>/ has no
//                                            addon that loads (the npm package's install step:
//                                            the package ships prebuilt x64/arm64/armv7 addons)
//
// No node-gyp: the addon is one C file using only N-API (version 8) and
// libuv, whose symbols the node binary itself provides at load time, so a
// single compiler call does it. The headers come from the Node.js
// installation (<prefix>/include/node, e.g. /usr/include/node), else from
// the copy node-gyp downloads (~/.cache/node-gyp/<version>/include/node, or
// under $npm_config_devdir); this script never downloads them. N-API and
// uv.h are architecture-independent, so the host's copy serves the cross
// builds too (only the C library headers come from the cross toolchain).
// Override with PAF_NODE_HEADERS=<dir>.
//
// A host build without a C compiler or without the headers is skipped with
// a message and exit status 0: pafd then runs without ux:/uxf: and says so
// when such an address is configured. An explicitly requested cross build
// that cannot be done fails (exit 1).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const source = join(root, 'src', 'native', 'paf_native.c');
const CFLAGS = ['-O2', '-shared', '-fPIC', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden'];

/** Cross targets: Node's process.arch name on the target and the compiler to use. */
const CROSS = {
  arm64: { arch: 'arm64', cc: 'aarch64-linux-gnu-gcc', debian: 'gcc-aarch64-linux-gnu' },
  armv7: { arch: 'arm', cc: 'arm-linux-gnueabihf-gcc', debian: 'gcc-arm-linux-gnueabihf' },
};

function haveCommand(cmd) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function findHeaders() {
  // An explicit directory is the only one tried.
  const candidates = process.env.PAF_NODE_HEADERS ? [process.env.PAF_NODE_HEADERS] : [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
    ...(process.env.npm_config_devdir ? [join(process.env.npm_config_devdir, process.versions.node, 'include', 'node')] : []),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
}

function compile(cc, headers, arch) {
  const outDir = join(root, 'dist', 'native', arch);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'paf_native.node');
  const args = [...CFLAGS, `-I${headers}`, source, '-o', out];
  console.log(`addon: ${cc} ${args.map((a) => a.startsWith(root) ? relative(root, a) : a).join(' ')}`);
  const r = spawnSync(cc, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`addon: ${cc} failed (exit ${r.status ?? r.signal})`);
    return false;
  }
  console.log(`addon: built ${relative(root, out)}`);
  return true;
}

/** Whether dist/native/<host arch>/ already has an addon this node can load, of the source's interface version. */
function hostAddonLoads() {
  const path = join(root, 'dist', 'native', process.arch, 'paf_native.node');
  if (!existsSync(path)) return false;
  const abi = Number(/^#define ADDON_ABI (\d+)$/m.exec(readFileSync(source, 'utf8'))?.[1]);
  try {
    const module = { exports: {} };
    process.dlopen(module, path);
    if (module.exports.abi === abi) return true;
    console.log(`addon: ${relative(root, path)} has interface version ${module.exports.abi}, the source ${abi}; building from source`);
    return false;
  } catch (err) {
    console.log(`addon: prebuilt ${relative(root, path)} does not load here (${err.message.split('\n')[0]}); building from source`);
    return false;
  }
}

function parseArgs(argv) {
  if (argv.includes('--if-missing') && hostAddonLoads()) {
    console.log(`addon: using the prebuilt dist/native/${process.arch}/paf_native.node`);
    process.exit(0);
  }
  const i = argv.indexOf('--cross');
  if (i < 0) return { cross: [] };
  const which = argv[i + 1];
  if (which === 'all') return { cross: Object.keys(CROSS) };
  if (which in CROSS) return { cross: [which] };
  console.error(`addon: --cross takes ${Object.keys(CROSS).join(', ')} or all`);
  process.exit(2);
}

const { cross } = parseArgs(process.argv.slice(2));
const headers = findHeaders();

if (cross.length === 0) {
  const cc = process.env.CC || 'cc';
  if (process.platform !== 'linux') {
    console.log(`addon: skipped (SOCK_SEQPACKET UNIX sockets need Linux; this is ${process.platform}); ux:/uxf: unavailable`);
  } else if (!haveCommand(cc)) {
    console.log(`addon: skipped (no C compiler "${cc}" found); ux:/uxf: transports will be unavailable`);
  } else if (!headers) {
    console.log('addon: skipped (Node.js headers node_api.h/uv.h not found; set PAF_NODE_HEADERS); ux:/uxf: transports will be unavailable');
  } else if (!compile(cc, headers, process.arch)) {
    process.exit(1);
  }
} else {
  if (!headers) {
    console.error('addon: Node.js headers node_api.h/uv.h not found; set PAF_NODE_HEADERS');
    process.exit(1);
  }
  let ok = true;
  for (const name of cross) {
    const t = CROSS[name];
    if (!haveCommand(t.cc)) {
      console.error(`addon: cross compiler ${t.cc} not found (Debian package ${t.debian})`);
      ok = false;
      continue;
    }
    ok = compile(t.cc, headers, t.arch) && ok;
  }
  if (!ok) process.exit(1);
}
