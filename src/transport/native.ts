// Loads the paf_native addon (src/native/paf_native.c, built by
// build/addon.mjs) that provides AF_UNIX SOCK_SEQPACKET sockets for the
// ux:/uxf: transports. The addon is optional: without it pafd serves the
// other transports and refuses ux:/uxf: addresses with `addonError`.
//
// It is loaded with process.dlopen, not require(), so the bundler never
// tries to follow it; it sits next to the bundle under native/<arch>/.

import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

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

/** Why the addon is unavailable ('' while it is loaded or not yet tried). */
export let addonError = '';

let loaded: NativeAddon | null | undefined;

/** The directory of the running bundle (CommonJS), else of the main script. */
function scriptDir(): string {
  if (typeof __dirname === 'string') return __dirname;
  return process.argv[1] ? dirname(process.argv[1]) : process.cwd();
}

/**
 * Where the addon may be, in order: $PAF_NATIVE_ADDON; beside the bundle
 * (dist/native/<arch>/ for dist/pafd.js); beside the executable
 * (native/<arch>/ in the directory of process.execPath, where a single
 * executable application ships it, see docs/PACKAGING.md); ../dist/native/<arch>/
 * from the script; then dist/native/<arch>/ in each directory above the
 * script (so bundled tests in dist/test/... find the build's copy).
 */
export function addonCandidates(): string[] {
  const arch = process.arch;
  const dir = scriptDir();
  const out: string[] = [];
  const env = process.env.PAF_NATIVE_ADDON;
  if (env) out.push(env);
  out.push(join(dir, 'native', arch, ADDON_FILE));
  // A single executable's __dirname is already its own directory in Node 20,
  // but that is not documented; naming process.execPath keeps the shipped
  // layout working whatever the embedder reports (a duplicate is dropped below).
  out.push(join(dirname(process.execPath), 'native', arch, ADDON_FILE));
  out.push(join(dir, '..', 'dist', 'native', arch, ADDON_FILE));
  for (let up = dirname(dir); ; up = dirname(up)) {
    out.push(join(up, 'dist', 'native', arch, ADDON_FILE));
    if (dirname(up) === up) break;
  }
  return [...new Set(out)];
}

function dlopen(path: string): NativeAddon {
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, path, constants.dlopen.RTLD_NOW);
  return module.exports;
}

/** The addon, loaded once; null (see addonError) when it is missing or unusable. */
export function loadNative(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux') {
    addonError = `ux:/uxf: transports need Linux (this is ${process.platform})`;
    return loaded;
  }
  const candidates = addonCandidates();
  const explicit = process.env.PAF_NATIVE_ADDON;
  // An explicitly named addon is the only one tried: a wrong path must not be papered over.
  const path = explicit ? explicit : candidates.find((p) => existsSync(p));
  if (path === undefined) {
    addonError = `native addon ${ADDON_FILE} for ${process.arch} not found (build it with "node build/addon.mjs"; looked in ${candidates.join(', ')})`;
    return loaded;
  }
  let addon: NativeAddon;
  try {
    addon = dlopen(path);
  } catch (err) {
    addonError = `cannot load native addon ${path}: ${(err as Error).message}`;
    return loaded;
  }
  if (addon.abi !== NATIVE_ABI) {
    addonError = `native addon ${path} has interface version ${String(addon.abi)}, expected ${NATIVE_ABI} (rebuild it with "node build/addon.mjs")`;
    return loaded;
  }
  addonError = '';
  loaded = addon;
  return loaded;
}
