// Domain files (docs/client-library.md §3): which servers serve a domain. The
// file is named after the domain and sits in $PAF_DOMAINS (default
// /run/paf/domains.d). Two formats: one XCM address per line, or a JSON
// object with per-server options. A file that fails any check is rejected
// as a whole, so a half-written file never replaces a good configuration.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonObject, JsonValue } from '../protocol/json';
import { decodeUtf8, parseJson } from '../protocol/json';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../protocol/schema';
import { AddressError, parseAddress } from '../transport/address';
import { DEFAULT_DOMAINS_DIR } from './env';

/** Files of this size or larger are rejected. */
export const MAX_DOMAIN_FILE_SIZE = 65536;

/** One server of a domain, with the options the JSON format can set. */
export interface ServerEntry {
  /** XCM address of the server. */
  address: string;
  /** Source address to bind when connecting. */
  localAddress?: string;
  /** Network namespace to connect from (recorded, not supported by the Node client). */
  networkNamespace?: string;
  tlsCertificateFile?: string;
  tlsKeyFile?: string;
  tlsTrustedCaFile?: string;
  /** CRL file; enables CRL checking. */
  tlsCrlFile?: string;
  /** Raises the advertised minimum protocol version (> 3: never contacted). */
  minProtocolVersion?: number;
  /** Lowers the advertised maximum protocol version (< 2: never contacted). */
  maxProtocolVersion?: number;
  /** Client-side idle limits for this server (seconds), overriding PAF_IDLE_MIN/PAF_IDLE_MAX. */
  minIdleTime?: number;
  maxIdleTime?: number;
}

/** Why a domain file was rejected. */
export class DomainFileError extends Error {
  override name = 'DomainFileError';
}

const STRING_KEYS = ['address', 'localAddress', 'networkNamespace', 'tlsCertificateFile', 'tlsKeyFile', 'tlsTrustedCaFile', 'tlsCrlFile'] as const;
const TLS_KEYS = ['tlsCertificateFile', 'tlsKeyFile', 'tlsTrustedCaFile', 'tlsCrlFile'] as const;
const INTEGER_KEYS = ['minProtocolVersion', 'maxProtocolVersion'] as const;
const NUMBER_KEYS = ['minIdleTime', 'maxIdleTime'] as const;
const TLS_TRANSPORTS: ReadonlySet<string> = new Set(['tls', 'utls']);

/** The directory domain files are read from: `dir` if given, else $PAF_DOMAINS, else /run/paf/domains.d. */
export function domainsDirectory(env: NodeJS.ProcessEnv = process.env, dir?: string): string {
  return dir ?? env.PAF_DOMAINS ?? DEFAULT_DOMAINS_DIR;
}

/** Whether `name` can be a domain file name (no path separators, not . or ..). */
export function isDomainName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && name !== '.' && name !== '..' && !name.includes('\0');
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Parses a domain file's text in whichever format it is in; throws DomainFileError. */
export function parseDomainFile(text: string): ServerEntry[] {
  let i = 0;
  while (i < text.length && isBlank(text[i]!)) i++;
  const servers = text[i] === '{' ? parseJsonFormat(text) : parseLineFormat(text);
  const seen = new Set<string>();
  for (const s of servers) {
    if (seen.has(s.address)) throw new DomainFileError(`server ${s.address} is listed twice`);
    seen.add(s.address);
  }
  return servers;
}

function checkAddress(text: string, what: string): void {
  try {
    parseAddress(text);
  } catch (err) {
    if (err instanceof AddressError) throw new DomainFileError(`${what}: ${err.message}`);
    throw err;
  }
}

/**
 * One address per line; blank lines and lines whose first non-blank
 * character is '#' are skipped. Lines are taken verbatim, as libpaf does:
 * a trailing space or CR makes the address, and so the file, invalid.
 */
function parseLineFormat(text: string): ServerEntry[] {
  const servers: ServerEntry[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    let i = 0;
    while (i < line.length && isBlank(line[i]!)) i++;
    if (i === line.length || line[i] === '#') continue;
    checkAddress(line, `line ${n + 1}`);
    servers.push({ address: line });
  }
  return servers;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonFormat(text: string): ServerEntry[] {
  let root: JsonValue;
  try {
    root = parseJson(text);
  } catch (err) {
    throw new DomainFileError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(root)) throw new DomainFileError('the JSON root is not an object');
  const list = root.servers;
  if (list === undefined) throw new DomainFileError('"servers" is missing');
  if (!Array.isArray(list)) throw new DomainFileError('"servers" is not an array');
  return list.map((item, n) => parseServer(item, `servers[${n}]`));
}

function parseServer(item: JsonValue, where: string): ServerEntry {
  if (!isObject(item)) throw new DomainFileError(`${where} is not an object`);
  const server: Partial<ServerEntry> = {};
  for (const key of STRING_KEYS) {
    const v = item[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new DomainFileError(`${where}.${key} must be a string`);
    server[key] = v;
  }
  for (const key of INTEGER_KEYS) {
    const v = item[key];
    if (v === undefined) continue;
    // Our JSON codec gives integers (no '.', no exponent) as bigint; 3.0 is not an integer here.
    if (typeof v !== 'bigint') throw new DomainFileError(`${where}.${key} must be an integer`);
    server[key] = Number(v);
  }
  for (const key of NUMBER_KEYS) {
    const v = item[key];
    if (v === undefined) continue;
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new DomainFileError(`${where}.${key} must be a non-negative number`);
    server[key] = n;
  }
  const address = server.address;
  if (address === undefined) throw new DomainFileError(`${where}.address is missing`);
  checkAddress(address, `${where}.address`);
  if (server.localAddress !== undefined) checkAddress(server.localAddress, `${where}.localAddress`);
  const transport = address.slice(0, address.indexOf(':'));
  if (!TLS_TRANSPORTS.has(transport)) {
    for (const key of TLS_KEYS) {
      if (server[key] !== undefined) throw new DomainFileError(`${where}.${key} is only allowed for tls: and utls: addresses`);
    }
  }
  if (server.minProtocolVersion !== undefined && server.maxProtocolVersion !== undefined &&
      server.minProtocolVersion > server.maxProtocolVersion) {
    throw new DomainFileError(`${where}: minProtocolVersion is greater than maxProtocolVersion`);
  }
  if (server.minIdleTime !== undefined && server.maxIdleTime !== undefined && server.minIdleTime > server.maxIdleTime) {
    throw new DomainFileError(`${where}: minIdleTime is greater than maxIdleTime`);
  }
  return server as ServerEntry;
}

/**
 * Reads and parses the domain file `domain` in `dir`. Throws on any
 * problem: a missing or unreadable file (the fs error), one that is not a
 * regular file, one of 64 KiB or more, invalid UTF-8 or contents
 * (DomainFileError).
 */
export async function readDomainFile(dir: string, domain: string): Promise<ServerEntry[]> {
  if (!isDomainName(domain)) throw new DomainFileError(`${JSON.stringify(domain)} is not a domain name`);
  const path = join(dir, domain);
  const bytes = await readDomainFileBytes(path);
  try {
    return parseDomainFile(decodeUtf8(bytes));
  } catch (err) {
    throw new DomainFileError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * The bytes of a domain file: a regular file below MAX_DOMAIN_FILE_SIZE.
 * Opened without blocking (a FIFO put there must not hang the open until
 * a writer comes), checked to be a regular file of an acceptable size
 * before any read (a device like /dev/zero never ends), and read up to
 * the limit only (the file may grow while we read). Throws the fs error
 * (ENOENT; EISDIR for a directory) or DomainFileError.
 */
export async function readDomainFileBytes(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await file.stat();
    if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
    if (!st.isFile()) throw new DomainFileError(`${path}: not a regular file`);
    if (st.size >= MAX_DOMAIN_FILE_SIZE) throw new DomainFileError(`${path}: ${st.size} bytes, the limit is ${MAX_DOMAIN_FILE_SIZE - 1}`);
    const buf = Buffer.alloc(MAX_DOMAIN_FILE_SIZE);
    let length = 0;
    for (;;) {
      const { bytesRead } = await file.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length >= MAX_DOMAIN_FILE_SIZE) throw new DomainFileError(`${path}: grew past the limit of ${MAX_DOMAIN_FILE_SIZE - 1} bytes while read`);
    }
    return buf.subarray(0, length);
  } finally {
    await file.close();
  }
}

/**
 * Whether two entries describe the same server for rescanning purposes:
 * address, local address, TLS paths, version and idle limits are
 * compared; the network namespace is not (docs/client-library.md §3.3).
 */
export function sameServer(a: ServerEntry, b: ServerEntry): boolean {
  return a.address === b.address && a.localAddress === b.localAddress &&
    a.tlsCertificateFile === b.tlsCertificateFile && a.tlsKeyFile === b.tlsKeyFile &&
    a.tlsTrustedCaFile === b.tlsTrustedCaFile && a.tlsCrlFile === b.tlsCrlFile &&
    a.minProtocolVersion === b.minProtocolVersion && a.maxProtocolVersion === b.maxProtocolVersion &&
    a.minIdleTime === b.minIdleTime && a.maxIdleTime === b.maxIdleTime;
}

/** What a rescan changes: entries to tear down and entries to start (a changed entry is both). */
export interface ServerDiff<T extends ServerEntry> {
  removed: T[];
  added: ServerEntry[];
}

/** Compares the current servers with a freshly read list. */
export function diffServers<T extends ServerEntry>(current: readonly T[], next: readonly ServerEntry[]): ServerDiff<T> {
  const removed = current.filter((c) => !next.some((n) => sameServer(c, n)));
  const added = next.filter((n) => !current.some((c) => sameServer(c, n)));
  return { removed, added };
}

/**
 * The version range a client offers a server (docs/client-library.md §5.2):
 * [max(2, minProtocolVersion), min(3, maxProtocolVersion)], or undefined
 * if that range is empty and the server must never be contacted.
 */
export function offeredVersions(server: ServerEntry): { min: number; max: number } | undefined {
  const min = Math.max(MIN_PROTOCOL_VERSION, server.minProtocolVersion ?? MIN_PROTOCOL_VERSION);
  const max = Math.min(MAX_PROTOCOL_VERSION, server.maxProtocolVersion ?? MAX_PROTOCOL_VERSION);
  return min <= max ? { min, max } : undefined;
}
