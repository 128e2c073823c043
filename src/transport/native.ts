// Loads the paf_native addon (src/native/paf_native.c, built by
// build/addon.mjs) that provides AF_UNIX SOCK_SEQPACKET sockets for the
// ux:/uxf: transports. The addon is optional: without it pafd serves the
// other transports and refuses ux:/uxf: addresses with `addonError`.
//
// It is loaded with process.dlopen, not require(), so the bundler never
// tries to follow it. pafd finds it beside its bundle under native/<arch>/;
// the client library (installed as a package, or bundled into a user's
// program) also looks in the installed package and takes an explicit path
// (PAF_NATIVE_ADDON, or attach's nativeAddon option). docs/client.md
// lists the places.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Set by the banner of the library's ESM build (build/build.mjs) to the
 * directory of that file, since an ES module has no __dirname.
 */
declare const __paf_module_dir: string | undefined;

/** The interface version the addon must report (ADDON_ABI in the C source). */
export const NATIVE_ABI = 1;

/** An addon-owned socket; only the addon's functions can use it. */
export type NativeHandle = { readonly __pafNativeSocket: unique symbol };

/** Event codes passed as the first callback argument. */
export interface NativeEvents {
  /** value: Buffer with one whole packet. */
  readonly MESSAGE: number;
  /** value: undefined; the peer closed the connection (or sent an empty packet). */
  readonly END: number;
  /** value: NativeError; a connection stops polling and must be closed. */
  readonly ERROR: number;
  /** value: undefined; all queued output went to the kernel. */
  readonly DRAIN: number;
  /** value: the NativeHandle of an accepted connection (listeners only). */
  readonly ACCEPT: number;
}

/** Errors from the addon: `code` is the errno name (ECONNREFUSED, EADDRINUSE, ...). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export interface SocketName {
  /** The name's bytes as UTF-8: an abstract name without its leading NUL, or a path. */
  name: string;
  abstract: boolean;
  /** False for an unbound socket (name is then ''). */
  bound: boolean;
}

export interface PeerInfo extends SocketName {
  /** SO_PEERCRED: the peer process's credentials at connect time. */
  pid: number;
  uid: number;
  gid: number;
}

export type NativeCallback = (event: number, value: unknown) => void;

export interface NativeAddon {
  readonly abi: number;
  /** Largest packet sent or received (XCM's 256 KiB). */
  readonly maxMessage: number;
  readonly events: NativeEvents;
  /** Binds and listens (backlog 32); abstract = Linux abstract namespace (ux), else a path (uxf). Throws NativeError. */
  listen(name: string, abstract: boolean): NativeHandle;
  /** Connects at once or throws (ECONNREFUSED, ENOENT, EAGAIN when the backlog is full). */
  connect(name: string, abstract: boolean): NativeHandle;
  /** A SOCK_DGRAM receiver: MESSAGE events once reading. */
  bindDatagram(name: string, abstract: boolean): NativeHandle;
  setCallback(h: NativeHandle, cb: NativeCallback | null): void;
  /** Poll for input (accepts on a listener) only while on. */
  setReading(h: NativeHandle, on: boolean): void;
  /** One packet per message (1..maxMessage bytes); returns the bytes still queued. Throws NativeError. */
  send(h: NativeHandle, messages: string | Buffer | readonly (string | Buffer)[]): number;
  queued(h: NativeHandle): number;
  /** send() throws ENOBUFS when output is already queued and this many bytes would be passed. */
  setQueueLimit(h: NativeHandle, bytes: number): void;
  /** Whether the socket keeps the event loop alive (default true). */
  setRef(h: NativeHandle, on: boolean): void;
  peer(h: NativeHandle): PeerInfo;
  local(h: NativeHandle): SocketName;
  /**
   * Idempotent; queued output is dropped. A connection is shut down and
   * its unread packets dropped first, so that its peer reads an end of
   * connection rather than ECONNRESET (and its further sends fail EPIPE).
   */
  close(h: NativeHandle): void;
  /** One datagram to a UNIX datagram socket; null on success, else the errno name. Never blocks. */
  sendto(name: string, abstract: boolean, data: string | Buffer): string | null;
  /** Hands freed C heap memory back to the system (glibc malloc_trim); false if nothing was or could be. */
  trimHeap(): boolean;
}

const ADDON_FILE = 'paf_native.node';
/** The npm package whose dist/native/<arch>/ holds an installed addon. */
const PACKAGE_NAME = 'pathfinder-ts';
/** How a user provides the addon, appended to every "not found" message. */
const HOW_TO_PROVIDE = 'provide it with PAF_NATIVE_ADDON=<path> (the client library also takes attach\'s nativeAddon option), by copying it to one of those places, or by building it with "node build/addon.mjs" in the package or the checkout';

/** Why the addon is unavailable ('' while it is loaded or not yet tried). */
export let addonError = '';

let loaded: NativeAddon | null | undefined;
/** Addons loaded from an explicit path (the nativeAddon option), by path. */
const explicitLoads = new Map<string, { addon: NativeAddon | null; error: string }>();

/** The directory of the running bundle or library file (CommonJS or our ESM build), else of the main script. */
function scriptDir(): string {
  if (typeof __paf_module_dir === 'string') return __paf_module_dir;
  if (typeof __dirname === 'string') return __dirname;
  return process.argv[1] ? dirname(process.argv[1]) : process.cwd();
}

/** dist/native/<arch>/ of the installed package, as Node would resolve it from `from`; undefined if not installed there. */
function packageAddon(from: string, arch: string): string | undefined {
  try {
    const pkg = createRequire(join(from, 'noop.js')).resolve(`${PACKAGE_NAME}/package.json`);
    return join(dirname(pkg), 'dist', 'native', arch, ADDON_FILE);
  } catch {
    return undefined;
  }
}

/**
 * Where the addon may be, in order: $PAF_NATIVE_ADDON; native/<arch>/
 * beside the bundle (as for dist/pafd.js) — inside a single executable
 * application only native/<arch>/ and the file beside the executable
 * (docs/PACKAGING.md); the file
 * itself beside the bundle; the file or native/<arch>/ beside the main
 * script; the installed package's dist/native/<arch>/ as resolved from
 * the bundle and the main script; ../dist/native/<arch>/ from
 * the script; then dist/native/<arch>/ in each directory above the script
 * (so the library at <package>/dist/lib/ and bundled tests in dist/test/...
 * find the build's copy).
 */
export function addonCandidates(): string[] {
  const arch = process.arch;
  const dir = scriptDir();
  const out: string[] = [];
  const env = process.env.PAF_NATIVE_ADDON;
  if (env) out.push(env);
  if (inExecutable()) return [...out, ...executableCandidates(arch)];
  out.push(join(dir, 'native', arch, ADDON_FILE));
  // A user's bundle may simply have the file beside it. The main script
  // counts too: a bundler may have fixed the library's own location at
  // build time (webpack does so for import.meta.url).
  const mainDir = process.argv[1] ? dirname(process.argv[1]) : undefined;
  out.push(join(dir, ADDON_FILE));
  if (mainDir !== undefined) out.push(join(mainDir, ADDON_FILE), join(mainDir, 'native', arch, ADDON_FILE));
  // Not from the working directory: whoever controls it must not choose the code we load.
  for (const from of [dir, mainDir]) {
    const p = from === undefined ? undefined : packageAddon(from, arch);
    if (p !== undefined) out.push(p);
  }
  out.push(join(dir, '..', 'dist', 'native', arch, ADDON_FILE));
  for (let up = dirname(dir); ; up = dirname(up)) {
    out.push(join(up, 'dist', 'native', arch, ADDON_FILE));
    if (dirname(up) === up) break;
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------------
// The board executable (pafd/pafc/pafbench as one single executable
// application, build/package.mjs) looks only beside itself, and says where.

/**
 * True inside a single executable application: Node 20 runs the embedded
 * main script with the executable itself as __filename (checked on the
 * x64, arm64 and armv7 executables by build/test-targets.mjs).
 */
function inExecutable(): boolean {
  return typeof __filename === 'string' && __filename === process.execPath;
}

/**
 * native/<arch>/ beside the executable (the installed layout, also
 * dist/sea/<arch>/), then the file itself beside it (an executable and its
 * addon copied into one directory). process.execPath is the resolved
 * executable, so /usr/bin/pafc -> ../lib/paf/pafd looks in /usr/lib/paf.
 */
function executableCandidates(arch: string): string[] {
  const dir = dirname(process.execPath);
  return [join(dir, 'native', arch, ADDON_FILE), join(dir, ADDON_FILE)];
}

function executableNotFound(candidates: readonly string[]): string {
  return `native addon ${ADDON_FILE} for ${process.arch} not found: looked in ${candidates.join(' and ')} (it ships beside the executable; PAF_NATIVE_ADDON names another path)`;
}

// ---------------------------------------------------------------------

function dlopen(path: string): NativeAddon {
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, path, constants.dlopen.RTLD_NOW);
  return module.exports;
}

/** Loads one file; the addon or why not. */
function loadFrom(path: string): { addon: NativeAddon | null; error: string } {
  if (!existsSync(path)) return { addon: null, error: `native addon ${path} does not exist` };
  let addon: NativeAddon;
  try {
    addon = dlopen(path);
  } catch (err) {
    return { addon: null, error: `cannot load native addon ${path}: ${(err as Error).message}` };
  }
  if (addon.abi !== NATIVE_ABI) {
    return { addon: null, error: `native addon ${path} has interface version ${String(addon.abi)}, expected ${NATIVE_ABI} (rebuild it with "node build/addon.mjs")` };
  }
  return { addon, error: '' };
}

function platformError(): string | undefined {
  return process.platform === 'linux' ? undefined : `ux:/uxf: transports need Linux (this is ${process.platform})`;
}

/**
 * The addon, loaded once; null (see addonError) when it is missing or
 * unusable. With `path` (attach's nativeAddon option) exactly that file
 * is loaded instead of searching, and the reason for a failure is in
 * nativeError(path).
 */
export function loadNative(path?: string): NativeAddon | null {
  if (path !== undefined) return loadExplicit(path).addon;
  if (loaded !== undefined) return loaded;
  loaded = null;
  const unsupported = platformError();
  if (unsupported !== undefined) {
    addonError = unsupported;
    return loaded;
  }
  const explicit = process.env.PAF_NATIVE_ADDON;
  // An explicitly named addon is the only one tried: a wrong path must not be papered over.
  if (explicit) {
    const r = loadFrom(explicit);
    addonError = r.error === '' ? '' : `${r.error} (from PAF_NATIVE_ADDON)`;
    loaded = r.addon;
    return loaded;
  }
  const candidates = addonCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    addonError = inExecutable()
      ? executableNotFound(candidates)
      : `native addon ${ADDON_FILE} for ${process.arch} not found (looked in ${candidates.join(', ')}); ${HOW_TO_PROVIDE}`;
    return loaded;
  }
  const r = loadFrom(found);
  addonError = r.error;
  loaded = r.addon;
  return loaded;
}

function loadExplicit(path: string): { addon: NativeAddon | null; error: string } {
  let r = explicitLoads.get(path);
  if (r === undefined) {
    const unsupported = platformError();
    r = unsupported !== undefined ? { addon: null, error: unsupported } : loadFrom(path);
    explicitLoads.set(path, r);
  }
  return r;
}

/** Why the addon (from `path`, else the default search) is unavailable; '' when it loaded. */
export function nativeError(path?: string): string {
  if (path !== undefined) return loadExplicit(path).error;
  loadNative();
  return addonError;
}
