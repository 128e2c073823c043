// pafd's configuration: the data model, its defaults, and the YAML file
// reader with the validation of docs/cli-and-config.md §2. Every problem
// becomes a ConfigError whose message is one line naming the file, the line
// and column, and the parameter path, because that line is all an operator
// sees before pafd exits.
//
// Unknown keys are errors everywhere (the original ignores them at the
// root, in `log` and in a domain, where a misspelt key silently changes
// nothing). Which keys are known is not listed a second time: every
// mapping of the parsed tree records the keys the readers below ask for,
// and a key nobody asked for is unknown (with a "did you mean" for a near
// miss). A new key is therefore accepted by adding its reader.
//
// The original reads the file with PyYAML, i.e. YAML 1.1 typing: `yes`/`on`
// are booleans and `0x1f`, `010` (octal), `1_000` are integers. The same
// schema is used here so existing files mean the same thing.

import type { Limits } from '../core/limits';
import { readFileSync } from 'node:fs';
import type { Document } from 'yaml';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
/**
 * The YAML library, loaded on first use: a pafd started without a
 * configuration file never pays for it (about 2 MiB of resident memory
 * for the library's code and objects on a board).
 */
function yaml(): YamlModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return yamlModule ??= require('yaml') as YamlModule;
}
import { AddressError, isMessagingTransport, parseAddress } from '../transport/address';
import type { Address } from '../transport/address';
import type { TlsFiles } from '../transport/tls-credentials';
import type { LogLevel } from '../log/logger';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../protocol/schema';

export interface SocketConfig {
  addr: string;
  tls?: TlsFiles;
  /** uxf only: permissions of the socket file (default 0660, UXF_MODE in transport/ux.ts). */
  mode?: number;
  /** uxf only: group of the socket file, a name or a gid (default: pafd's group). */
  group?: string | number;
}
/**
 * Who a local (ux, uxf) client is: `shared` makes every local client the
 * user `default`, as the original does; `per-uid` makes it `uid:<n>` from
 * the peer's credentials (SO_PEERCRED), so that ownership and per-user
 * limits separate local processes of different uids.
 */
export type LocalUsers = 'shared' | 'per-uid';
export const LOCAL_USERS: readonly LocalUsers[] = ['shared', 'per-uid'];
export interface DomainConfig {
  name?: string;
  sockets: SocketConfig[];
  /** Absent: shared. */
  localUsers?: LocalUsers;
  protocolVersion: { min: number; max: number };
  idle: { min: number; max: number };
}
/**
 * An absent count limit means unlimited; 0 forbids the resource. `memory`
 * is a byte budget (core/budget.ts); absent, pafd derives it from its heap.
 */
export type { Limits };
export interface ResourceConfig { total: Limits; user: Limits }
export interface LogConfig {
  console: boolean;
  file?: string;
  fileBackup: number;
  fileMaxSize: number;
  syslog: boolean;
  syslogSocket: string;
  facility: string;
  level: LogLevel;
}
/** The Prometheus endpoint (absent: no metrics, and no cost). */
export interface MetricsConfig {
  /** As written in the file, for messages. */
  address: string;
  /** Bind host: an IPv4 literal, an IPv6 literal without brackets, or a DNS name. */
  host: string;
  port: number;
}
export interface ServerConfig {
  domains: DomainConfig[];
  resources: ResourceConfig;
  log: LogConfig;
  metrics?: MetricsConfig;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];

/** Python's SysLogHandler facility table (docs/cli-and-config.md §1.6). */
export const SYSLOG_FACILITIES: ReadonlyMap<string, number> = new Map([
  ['kern', 0], ['user', 1], ['mail', 2], ['daemon', 3], ['auth', 4], ['syslog', 5],
  ['lpr', 6], ['news', 7], ['uucp', 8], ['cron', 9], ['authpriv', 10], ['ftp', 11],
  ['ntp', 12], ['security', 13], ['console', 14], ['solaris-cron', 15],
  ['local0', 16], ['local1', 17], ['local2', 18], ['local3', 19],
  ['local4', 20], ['local5', 21], ['local6', 22], ['local7', 23],
]);

export const DEFAULT_IDLE_MIN = 4;
export const DEFAULT_IDLE_MAX = 30;
/**
 * Largest idle limit accepted, in seconds: the liveness timers are Node
 * timers, and a delay beyond 2^31-1 ms makes Node fire at once instead.
 */
export const MAX_IDLE_SECONDS = Math.floor(0x7fffffff / 1000);
const DEFAULT_LOG_FILE_MAX_SIZE = 1_000_000;
/**
 * Backups of the log file kept when no -b/log_file_backup is given. The
 * original's default, 0, never rotates: a board whose operator set only a
 * file name would fill its flash. With 3, a log file takes at most about
 * 4 MB (4 x log_file_max_size); an explicit 0 still means "one growing
 * file", for logrotate (which then sends SIGUSR1 or SIGHUP to reopen it).
 */
export const DEFAULT_LOG_FILE_BACKUPS = 3;
const DEFAULT_SYSLOG_SOCKET = '/dev/log';
const DEFAULT_FACILITY = 'daemon';
const DEFAULT_LEVEL: LogLevel = 'info';

const RESOURCE_TYPES = ['clients', 'services', 'subscriptions'] as const;
/** Resource keys of `total` and `user`: the counts and the byte budget. */
const RESOURCE_KEYS = [...RESOURCE_TYPES, 'memory'] as const;
/**
 * `memory` values: bytes, or a number with a binary unit as systemd's
 * MemoryMax= takes them (K, M, G; KiB/MiB/GiB and KB/MB/GB read alike).
 */
const MEMORY_SYNTAX = /^([0-9]+)\s*(?:([KMG])(?:i?B)?|B)?$/i;
const MEMORY_UNITS: Readonly<Record<string, number>> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
/** Largest memory budget accepted: far above any heap V8 can have. */
const MAX_MEMORY_BYTES = 2 ** 50;
const RESOURCE_SCOPES = ['total', 'user'] as const;
const TLS_KEYS = ['cert', 'key', 'tc', 'crl'] as const;
const SOCKET_KEYS = ['addr', 'tls', 'mode', 'group'];
const MAX_FILE_MODE = 0o777;
/** A group name as useradd/adduser accept it, or a gid. */
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const PROTOCOL_VERSION_KEYS = ['min', 'max'];
const IDLE_KEYS = ['min', 'max'];
const METRICS_KEYS = ['address'];
const MAX_PORT = 65535;
const REQUIRED_MISSING = 'required parameter missing';

/** Prefix shared by every configuration error (docs/cli-and-config.md §2.2). */
const ERROR_PREFIX = 'error reading configuration';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Raised inside the validator; parseConfigText adds the file name and the position. */
class SchemaError extends Error {
  constructor(readonly path: string, what: string) { super(what); }
}

/** Splits a parameter path such as `domains[0].sockets[1].tls` into keys and indexes. */
function pathSegments(path: string): (string | number)[] {
  if (path === 'root') return [];
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : m[2]!);
  return out;
}

function configError(source: string, what: string): ConfigError {
  return new ConfigError(`${ERROR_PREFIX} ${source}: ${what}`);
}

export function defaultConfig(): ServerConfig {
  return {
    domains: [],
    resources: { total: {}, user: {} },
    log: {
      console: false,
      fileBackup: DEFAULT_LOG_FILE_BACKUPS,
      fileMaxSize: DEFAULT_LOG_FILE_MAX_SIZE,
      syslog: true,
      syslogSocket: DEFAULT_SYSLOG_SOCKET,
      facility: DEFAULT_FACILITY,
      level: DEFAULT_LEVEL,
    },
  };
}

/**
 * A server address as pafd accepts it: valid XCM syntax and a transport
 * that carries Pathfinder messages. Throws AddressError.
 */
export function parseServerAddress(text: string): Address {
  const a = parseAddress(text);
  if (!isMessagingTransport(a.transport)) {
    throw new AddressError(`${JSON.stringify(text)}: ${a.transport} is not a messaging transport usable by Pathfinder (use ux, uxf, tcp, tls or utls)`);
  }
  return a;
}

/** A domain as created from the command line: no name, default version range and idle limits. */
export function commandLineDomain(addrs: readonly string[]): DomainConfig {
  return {
    sockets: addrs.map((addr) => ({ addr })),
    protocolVersion: { min: MIN_PROTOCOL_VERSION, max: MAX_PROTOCOL_VERSION },
    idle: { min: DEFAULT_IDLE_MIN, max: DEFAULT_IDLE_MAX },
  };
}

// ---------------------------------------------------------------------
// Typed access to the parsed YAML tree (mappings are Maps, integers bigints).

type YamlMap = Map<unknown, unknown>;

function isMap(v: unknown): v is YamlMap { return v instanceof Map; }

/** Keys the readers asked a mapping for (get/has), or `all` once they iterated it. */
const askedFor = new WeakMap<YamlMap, Set<unknown> | 'all'>();

function noteAsked(m: YamlMap, key: unknown): void {
  const asked = askedFor.get(m);
  if (asked === undefined) askedFor.set(m, new Set([key]));
  else if (asked !== 'all') asked.add(key);
}

/**
 * Makes every mapping of a parsed tree record which keys are read: `get`
 * and `has` note their key; iterating a mapping takes on all its keys
 * (a reader that walks a mapping checks each key itself).
 */
function recordKeyUse(v: unknown): void {
  if (Array.isArray(v)) { for (const item of v) recordKeyUse(item); return; }
  if (!isMap(v) || askedFor.has(v)) return;
  askedFor.set(v, new Set());
  const m = v;
  const all = (): void => { askedFor.set(m, 'all'); };
  Object.defineProperties(m, {
    get: { value: (k: unknown) => { noteAsked(m, k); return Map.prototype.get.call(m, k); } },
    has: { value: (k: unknown) => { noteAsked(m, k); return Map.prototype.has.call(m, k); } },
    keys: { value: () => { all(); return Map.prototype.keys.call(m); } },
    entries: { value: () => { all(); return Map.prototype.entries.call(m); } },
    forEach: { value: (f: (value: unknown, key: unknown, map: YamlMap) => void) => { all(); Map.prototype.forEach.call(m, f); } },
    [Symbol.iterator]: { value: () => { all(); return Map.prototype.entries.call(m); } },
  });
  for (const child of Map.prototype.values.call(m)) recordKeyUse(child);
}

/** Edit distance counting a swap of neighbours as one edit, for suggesting the key that was probably meant. */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      next[j] = d;
    }
    before = row;
    row = next;
  }
  return row[b.length]!;
}

/** The known key closest to `key`, if it is close enough to be a slip of the fingers. */
function nearMiss(key: string, known: Iterable<unknown>): string | undefined {
  let best: string | undefined, bestDistance = Infinity;
  for (const k of known) {
    if (typeof k !== 'string') continue;
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.min(2, Math.floor(Math.max(key.length, best.length) / 2)) ? best : undefined;
}

/** The first key, in document order, of a mapping the readers used that none of them asked for. */
function firstUnknownKey(v: unknown, segments: (string | number)[] = []): { segments: (string | number)[]; message: string } | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = firstUnknownKey(v[i], [...segments, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isMap(v)) return undefined;
  const asked = askedFor.get(v);
  // A mapping no reader looked into belongs to a key reported above it.
  if (asked === undefined || asked === 'all' || asked.size === 0) return undefined;
  for (const [k, child] of Map.prototype.entries.call(v) as IterableIterator<[unknown, unknown]>) {
    if (!asked.has(k)) {
      const guess = typeof k === 'string' ? nearMiss(k, asked) : undefined;
      const known = [...asked].filter((a): a is string => typeof a === 'string').sort().join(', ');
      return {
        segments: [...segments, keyText(k)],
        message: guess !== undefined ? `unknown parameter (did you mean '${guess}'?)` : `unknown parameter (valid: ${known})`,
      };
    }
    const found = firstUnknownKey(child, [...segments, keyText(k)]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** For a required parameter that is missing, a hint at a key beside it that looks like a misspelling of it. */
function misspeltRequired(root: unknown, segments: readonly (string | number)[], message: string): string {
  const missing = segments[segments.length - 1];
  if (message !== REQUIRED_MISSING || typeof missing !== 'string') return '';
  let parent: unknown = root;
  for (const seg of segments.slice(0, -1)) {
    parent = isMap(parent) ? Map.prototype.get.call(parent, seg) : Array.isArray(parent) ? parent[seg as number] : undefined;
  }
  if (!isMap(parent)) return '';
  for (const k of Map.prototype.keys.call(parent)) {
    if (typeof k === 'string' && k !== missing && nearMiss(k, [missing]) !== undefined) return ` (found '${k}': did you mean '${missing}'?)`;
  }
  return '';
}

function segmentsText(segments: readonly (string | number)[]): string {
  if (segments.length === 0) return 'root';
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** YAML null (or a missing key) counts as absent. */
function get(m: YamlMap, key: string): unknown {
  const v = m.get(key);
  return v === null ? undefined : v;
}

function describe(v: unknown): string {
  if (isMap(v)) return 'a mapping';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'string') return 'a string';
  return 'an unsupported value';
}

function mapAt(v: unknown, path: string): YamlMap | undefined {
  if (v === undefined) return undefined;
  if (!isMap(v)) throw new SchemaError(path, `must be a mapping, not ${describe(v)}`);
  return v;
}

function listAt(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new SchemaError(path, `must be a list, not ${describe(v)}`);
  return v;
}

function stringAt(v: unknown, path: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new SchemaError(path, `must be a string, not ${describe(v)}`);
  return v;
}

function boolAt(v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new SchemaError(path, `must be a boolean, not ${describe(v)}`);
  return v;
}

/**
 * An integer in [min, max]. Booleans are rejected although the original
 * accepts them as 0/1 (docs/discrepancies.md B13), and so are floats like 2.0.
 */
function intAt(v: unknown, path: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
  if (typeof v !== 'bigint') throw new SchemaError(path, `must be an integer ${range}, not ${describe(v)}`);
  if (v < BigInt(min) || v > BigInt(max)) throw new SchemaError(path, `must be an integer ${range}`);
  return Number(v);
}

function keyText(k: unknown): string {
  return typeof k === 'string' ? k : String(k);
}

function rejectUnknownKeys(m: YamlMap, path: string, valid: readonly string[], what = 'unknown parameter'): void {
  for (const k of m.keys()) {
    if (typeof k !== 'string' || !valid.includes(k)) {
      const guess = typeof k === 'string' ? nearMiss(k, valid) : undefined;
      throw new SchemaError(`${path}.${keyText(k)}`, guess !== undefined ? `${what} (did you mean '${guess}'?)` : `${what} (valid: ${valid.join(', ')})`);
    }
  }
}

function oneOf<T extends string>(v: string | undefined, path: string, valid: readonly T[], what: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(valid as readonly string[]).includes(v)) {
    throw new SchemaError(path, `unknown ${what} ${JSON.stringify(v)} (valid: ${valid.join(', ')})`);
  }
  return v as T;
}

// ---------------------------------------------------------------------
// Sections.

function readTls(v: unknown, path: string): TlsFiles | undefined {
  const m = mapAt(v, path);
  if (m === undefined) return undefined;
  rejectUnknownKeys(m, path, TLS_KEYS);
  const tls: TlsFiles = {};
  for (const k of TLS_KEYS) {
    const file = stringAt(get(m, k), `${path}.${k}`);
    if (file !== undefined) tls[k] = file;
  }
  return tls;
}

function checkAddress(addr: string, path: string): Address {
  try {
    return parseServerAddress(addr);
  } catch (e) {
    if (e instanceof AddressError) throw new SchemaError(path, e.message);
    throw e;
  }
}

function readSocket(v: unknown, path: string): SocketConfig {
  if (typeof v === 'string') {
    checkAddress(v, path);
    return { addr: v };
  }
  if (!isMap(v)) {
    throw new SchemaError(path, `invalid domain address: must be an address string or a mapping with 'addr', not ${describe(v)}`);
  }
  rejectUnknownKeys(v, path, SOCKET_KEYS);
  const addr = stringAt(get(v, 'addr'), `${path}.addr`);
  if (addr === undefined) throw new SchemaError(`${path}.addr`, REQUIRED_MISSING);
  const parsed = checkAddress(addr, `${path}.addr`);
  const socket: SocketConfig = { addr };
  const mode = readMode(get(v, 'mode'), `${path}.mode`);
  const group = readGroup(get(v, 'group'), `${path}.group`);
  if ((mode !== undefined || group !== undefined) && parsed.transport !== 'uxf') {
    throw new SchemaError(`${path}.${mode !== undefined ? 'mode' : 'group'}`, `not allowed for a ${parsed.transport} address (valid transport: uxf)`);
  }
  if (mode !== undefined) socket.mode = mode;
  if (group !== undefined) socket.group = group;
  const tls = readTls(get(v, 'tls'), `${path}.tls`);
  if (tls === undefined) return socket;
  if (parsed.transport !== 'tls' && parsed.transport !== 'utls') {
    throw new SchemaError(`${path}.tls`, `not allowed for a ${parsed.transport} address (valid transports: tls, utls)`);
  }
  socket.tls = tls;
  return socket;
}

/** File permissions: an octal YAML integer (0660) or an octal string ("0660", "660"). */
function readMode(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  const expected = 'must be file permissions in octal, 0000 to 0777 (e.g. 0660)';
  if (typeof v === 'string') {
    if (!/^0?[0-7]{3}$/.test(v)) throw new SchemaError(path, expected);
    return parseInt(v, 8);
  }
  if (typeof v !== 'bigint' || v < 0n || v > BigInt(MAX_FILE_MODE)) throw new SchemaError(path, `${expected}, not ${typeof v === 'bigint' ? `${v} (octal ${v.toString(8)})` : describe(v)}`);
  return Number(v);
}

/** A group name or a numeric gid. */
function readGroup(v: unknown, path: string): string | number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return intAt(v, path, 0, 0xfffffffe);
  if (typeof v !== 'string' || !GROUP_NAME.test(v)) throw new SchemaError(path, `must be a group name or a gid, not ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`);
  return v;
}

function readDomain(v: unknown, path: string): DomainConfig {
  const m = mapAt(v, path);
  if (m === undefined) throw new SchemaError(path, 'must be a mapping, not null');
  const name = stringAt(get(m, 'name'), `${path}.name`);

  const sockets = get(m, 'sockets');
  const addrs = get(m, 'addrs');
  if (sockets !== undefined && addrs !== undefined) {
    throw new SchemaError(path, "duplicate parameter: both 'sockets' and its alias 'addrs' given");
  }
  const socketsKey = addrs !== undefined ? 'addrs' : 'sockets';
  const list = listAt(sockets ?? addrs, `${path}.${socketsKey}`);
  if (list === undefined) throw new SchemaError(`${path}.sockets`, REQUIRED_MISSING);
  if (list.length === 0) throw new SchemaError(`${path}.${socketsKey}`, 'must list at least one address');
  const socketConfigs = list.map((s, j) => readSocket(s, `${path}.${socketsKey}[${j}]`));

  const pvPath = `${path}.protocol_version`;
  const pv = mapAt(get(m, 'protocol_version'), pvPath);
  let pvMin = MIN_PROTOCOL_VERSION, pvMax = MAX_PROTOCOL_VERSION;
  if (pv !== undefined) {
    rejectUnknownKeys(pv, pvPath, PROTOCOL_VERSION_KEYS);
    pvMin = intAt(get(pv, 'min'), `${pvPath}.min`, MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION) ?? pvMin;
    pvMax = intAt(get(pv, 'max'), `${pvPath}.max`, MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION) ?? pvMax;
    if (pvMin > pvMax) throw new SchemaError(pvPath, `min (${pvMin}) must not be greater than max (${pvMax})`);
  }

  const idlePath = `${path}.idle`;
  const idle = mapAt(get(m, 'idle'), idlePath);
  const legacyMax = intAt(get(m, 'max_idle_time'), `${path}.max_idle_time`, 1, MAX_IDLE_SECONDS);
  let idleMin = DEFAULT_IDLE_MIN, idleMax = legacyMax ?? DEFAULT_IDLE_MAX;
  if (idle !== undefined) {
    rejectUnknownKeys(idle, idlePath, IDLE_KEYS);
    const max = intAt(get(idle, 'max'), `${idlePath}.max`, 1, MAX_IDLE_SECONDS);
    if (max !== undefined && legacyMax !== undefined) {
      throw new SchemaError(path, "duplicate parameter: both 'idle.max' and its alias 'max_idle_time' given");
    }
    idleMin = intAt(get(idle, 'min'), `${idlePath}.min`, 1, MAX_IDLE_SECONDS) ?? idleMin;
    idleMax = max ?? idleMax;
  }
  if (idleMin > idleMax) throw new SchemaError(idlePath, `min (${idleMin}) must not be greater than max (${idleMax})`);

  const localUsers = oneOf(stringAt(get(m, 'local_users'), `${path}.local_users`), `${path}.local_users`, LOCAL_USERS, 'local_users value');

  const domain: DomainConfig = {
    sockets: socketConfigs,
    protocolVersion: { min: pvMin, max: pvMax },
    idle: { min: idleMin, max: idleMax },
  };
  if (localUsers !== undefined) domain.localUsers = localUsers;
  if (name !== undefined) domain.name = name;
  return domain;
}

function readLimits(v: unknown, path: string): Limits {
  const m = mapAt(v, path);
  const limits: Limits = {};
  if (m === undefined) return limits;
  rejectUnknownKeys(m, path, RESOURCE_KEYS, 'invalid resource type');
  const memory = memoryAt(get(m, 'memory'), `${path}.memory`);
  if (memory !== undefined) limits.memory = memory;
  for (const type of RESOURCE_TYPES) {
    const raw = get(m, type);
    const limitPath = `${path}.${type}`;
    if (raw !== undefined && (typeof raw !== 'bigint' || raw < 0n)) {
      throw new SchemaError(limitPath, `invalid resource limit: must be an integer >= 0, not ${typeof raw === 'bigint' ? raw : describe(raw)}`);
    }
    const n = intAt(raw, limitPath, 0);
    if (n !== undefined) limits[type] = n;
  }
  return limits;
}

/** A byte count: an integer, or a string such as `24M` (parseMemorySize). */
function memoryAt(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? (v >= 0n && v <= BigInt(MAX_MEMORY_BYTES) ? Number(v) : undefined)
    : typeof v === 'string' ? parseMemorySize(v) : undefined;
  if (n === undefined) {
    const shown = typeof v === 'string' && v.length <= 32 ? JSON.stringify(v) : describe(v);
    throw new SchemaError(path, `invalid memory size ${shown}: bytes, or a whole number with K, M or G (e.g. 24M)`);
  }
  return n;
}

/** `24M` -> 25165824; undefined if the text is not a size up to MAX_MEMORY_BYTES. */
export function parseMemorySize(text: string): number | undefined {
  const m = MEMORY_SYNTAX.exec(text.trim());
  if (m === null || m[1]!.length > 16) return undefined;
  const n = Number(m[1]) * (m[2] === undefined ? 1 : MEMORY_UNITS[m[2].toUpperCase()]!);
  return n <= MAX_MEMORY_BYTES ? n : undefined;
}

function readResources(v: unknown, into: ResourceConfig): void {
  const m = mapAt(v, 'resources');
  if (m === undefined) return;
  rejectUnknownKeys(m, 'resources', RESOURCE_SCOPES);
  into.total = readLimits(get(m, 'total'), 'resources.total');
  into.user = readLimits(get(m, 'user'), 'resources.user');
}

function readLog(v: unknown, log: LogConfig): void {
  const m = mapAt(v, 'log');
  if (m === undefined) return;
  log.console = boolAt(get(m, 'console'), 'log.console') ?? log.console;
  const file = stringAt(get(m, 'log_file'), 'log.log_file');
  if (file !== undefined) log.file = file;
  log.fileBackup = intAt(get(m, 'log_file_backup'), 'log.log_file_backup', 0) ?? log.fileBackup;
  log.fileMaxSize = intAt(get(m, 'log_file_max_size'), 'log.log_file_max_size', 0) ?? log.fileMaxSize;
  log.syslog = boolAt(get(m, 'syslog'), 'log.syslog') ?? log.syslog;
  log.syslogSocket = stringAt(get(m, 'syslog_socket'), 'log.syslog_socket') ?? log.syslogSocket;
  log.facility = oneOf(stringAt(get(m, 'facility'), 'log.facility'), 'log.facility',
    [...SYSLOG_FACILITIES.keys()], 'syslog facility') ?? log.facility;
  log.level = oneOf(stringAt(get(m, 'filter'), 'log.filter'), 'log.filter', LOG_LEVELS, 'log level') ?? log.level;
}

/**
 * `host:port` or `[ipv6]:port`; port 0 takes any free port (tests). The
 * host is not resolved here: a name that does not resolve fails the bind.
 */
export function parseMetricsAddress(text: string): MetricsConfig | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > MAX_PORT) return undefined;
  return { address: text, host: m[1] ?? m[2]!, port };
}

function readMetrics(v: unknown): MetricsConfig | undefined {
  const m = mapAt(v, 'metrics');
  if (m === undefined) return undefined;
  rejectUnknownKeys(m, 'metrics', METRICS_KEYS);
  const address = stringAt(get(m, 'address'), 'metrics.address');
  if (address === undefined) throw new SchemaError('metrics.address', REQUIRED_MISSING);
  const parsed = parseMetricsAddress(address);
  if (parsed === undefined) {
    throw new SchemaError('metrics.address', `invalid address ${JSON.stringify(address)} (expected <host>:<port> or [<ipv6>]:<port>, port 0-${MAX_PORT})`);
  }
  return parsed;
}

function readRoot(root: unknown): ServerConfig {
  const config = defaultConfig();
  if (root === null || root === undefined) return config;      // an empty file
  if (!isMap(root)) throw new SchemaError('root', `must be a mapping, not ${describe(root)}`);
  const domains = listAt(get(root, 'domains'), 'domains');
  if (domains !== undefined) config.domains = domains.map((d, i) => readDomain(d, `domains[${i}]`));
  readResources(get(root, 'resources'), config.resources);
  readLog(get(root, 'log'), config.log);
  const metrics = readMetrics(get(root, 'metrics'));
  if (metrics !== undefined) config.metrics = metrics;
  return config;
}

// ---------------------------------------------------------------------
// Entry points.

function lineAndColumn(text: string, offset: number): string {
  let line = 1, lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return (nl < 0 ? s : s.slice(0, nl)).trim();
}

/** The text of the mapping key that starts at `offset`, for naming a duplicate key. */
function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  const { isScalar, visit } = yaml();
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Where the parameter at `segments` is written: its value (or, with
 * `atKey`, its key); for a parameter that is missing, the closest
 * enclosing one that is there.
 */
function nodeOffset(doc: Document, segments: readonly (string | number)[], atKey: boolean): number {
  const { isMap: isYamlMap, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let offset = (node as { range?: [number] } | null)?.range?.[0] ?? 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (isYamlMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return offset;
      const keyOffset = (pair.key as { range?: [number] }).range?.[0];
      const valueOffset = (pair.value as { range?: [number] } | null)?.range?.[0];
      if (last && atKey) return keyOffset ?? offset;
      offset = valueOffset ?? keyOffset ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      offset = (node as { range?: [number] } | null)?.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function yamlProblem(doc: Document, code: string, message: string, offset: number): string {
  if (code === 'DUPLICATE_KEY') {
    const key = keyAt(doc, offset);
    return key === undefined ? 'duplicate key' : `duplicate key ${JSON.stringify(key)}`;
  }
  if (code === 'MULTIPLE_DOCS') return 'YAML syntax error: more than one YAML document';
  return `YAML syntax error: ${firstLine(message)}`;
}

/** Parses and validates a YAML configuration; `source` names it in error messages. */
export function parseConfigText(text: string, source: string): ServerConfig {
  const doc = yaml().parseDocument(text, { version: '1.1', intAsBigInt: true, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const offset = yamlError.pos[0];
    throw configError(source, `${lineAndColumn(text, offset)}: ${yamlProblem(doc, yamlError.code, yamlError.message, offset)}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ mapAsMap: true });
  } catch (e) {
    // e.g. alias expansion beyond the library's resource limit
    throw configError(source, `YAML error: ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
  recordKeyUse(root);
  let config: ServerConfig;
  try {
    config = readRoot(root);
  } catch (e) {
    if (e instanceof SchemaError) {
      const segments = pathSegments(e.path);
      const at = lineAndColumn(text, nodeOffset(doc, segments, false));
      throw configError(source, `${at}: ${e.path}: ${e.message}${misspeltRequired(root, segments, e.message)}`);
    }
    throw e;
  }
  const unknown = firstUnknownKey(root);
  if (unknown !== undefined) {
    const at = lineAndColumn(text, nodeOffset(doc, unknown.segments, true));
    throw configError(source, `${at}: ${segmentsText(unknown.segments)}: ${unknown.message}`);
  }
  return config;
}

/** Reads and validates a configuration file; an unreadable file is a ConfigError too. */
export function loadConfigFile(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file'
      : firstLine(e instanceof Error ? e.message : String(e));
    throw configError(path, why);
  }
  return parseConfigText(text, path);
}
