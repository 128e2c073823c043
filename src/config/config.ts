// pafd's configuration: the data model, its defaults, and the YAML file
// reader with the validation of cli-and-config.md §2. Every problem becomes
// a ConfigError whose message is one line naming the file and the parameter
// path, because that line is all an operator sees before pafd exits.
//
// The original reads the file with PyYAML, i.e. YAML 1.1 typing: `yes`/`on`
// are booleans and `0x1f`, `010` (octal), `1_000` are integers. The same
// schema is used here so existing files mean the same thing.

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

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

export interface TlsFiles { cert?: string; key?: string; tc?: string; crl?: string }
export interface SocketConfig { addr: string; tls?: TlsFiles }
export interface DomainConfig {
  name?: string;
  sockets: SocketConfig[];
  protocolVersion: { min: number; max: number };
  idle: { min: number; max: number };
}
/**
 * An absent count limit means unlimited; 0 forbids the resource. `memory`
 * is a byte budget (core/budget.ts); absent, pafd derives it from its heap.
 */
export interface Limits { clients?: number; services?: number; subscriptions?: number; memory?: number }
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

/** Python's SysLogHandler facility table (cli-and-config.md §1.6). */
export const SYSLOG_FACILITIES: ReadonlyMap<string, number> = new Map([
  ['kern', 0], ['user', 1], ['mail', 2], ['daemon', 3], ['auth', 4], ['syslog', 5],
  ['lpr', 6], ['news', 7], ['uucp', 8], ['cron', 9], ['authpriv', 10], ['ftp', 11],
  ['ntp', 12], ['security', 13], ['console', 14], ['solaris-cron', 15],
  ['local0', 16], ['local1', 17], ['local2', 18], ['local3', 19],
  ['local4', 20], ['local5', 21], ['local6', 22], ['local7', 23],
]);

export const MIN_PROTOCOL_VERSION = 2;
export const MAX_PROTOCOL_VERSION = 3;
export const DEFAULT_IDLE_MIN = 4;
export const DEFAULT_IDLE_MAX = 30;
/**
 * Largest idle limit accepted, in seconds: the liveness timers are Node
 * timers, and a delay beyond 2^31-1 ms makes Node fire at once instead.
 */
export const MAX_IDLE_SECONDS = Math.floor(0x7fffffff / 1000);
const DEFAULT_LOG_FILE_MAX_SIZE = 1_000_000;
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
const SOCKET_KEYS = ['addr', 'tls'];
const PROTOCOL_VERSION_KEYS = ['min', 'max'];
const IDLE_KEYS = ['min', 'max'];
const METRICS_KEYS = ['address'];
const MAX_PORT = 65535;

/** Prefix shared by every configuration error (cli-and-config.md §2.2). */
const ERROR_PREFIX = 'error reading configuration';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Raised inside the validator; parseConfigText adds the file name. */
class SchemaError extends Error {
  constructor(readonly path: string, what: string) { super(what); }
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
      fileBackup: 0,
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
 * accepts them as 0/1 (discrepancies.md B13), and so are floats like 2.0.
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
      throw new SchemaError(`${path}.${keyText(k)}`, `${what} (valid: ${valid.join(', ')})`);
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
  if (addr === undefined) throw new SchemaError(`${path}.addr`, 'required parameter missing');
  const parsed = checkAddress(addr, `${path}.addr`);
  const tls = readTls(get(v, 'tls'), `${path}.tls`);
  if (tls === undefined) return { addr };
  if (parsed.transport !== 'tls' && parsed.transport !== 'utls') {
    throw new SchemaError(`${path}.tls`, `not allowed for a ${parsed.transport} address (valid transports: tls, utls)`);
  }
  return { addr, tls };
}

function readDomain(v: unknown, path: string): DomainConfig {
  const m = mapAt(v, path);
  if (m === undefined) throw new SchemaError(path, 'must be a mapping, not null');
  // Unknown keys in a domain are ignored, as by the original.
  const name = stringAt(get(m, 'name'), `${path}.name`);

  const sockets = get(m, 'sockets');
  const addrs = get(m, 'addrs');
  if (sockets !== undefined && addrs !== undefined) {
    throw new SchemaError(path, "duplicate parameter: both 'sockets' and its alias 'addrs' given");
  }
  const socketsKey = addrs !== undefined ? 'addrs' : 'sockets';
  const list = listAt(sockets ?? addrs, `${path}.${socketsKey}`);
  if (list === undefined) throw new SchemaError(`${path}.sockets`, 'required parameter missing');
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

  const domain: DomainConfig = {
    sockets: socketConfigs,
    protocolVersion: { min: pvMin, max: pvMax },
    idle: { min: idleMin, max: idleMax },
  };
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
  // Unknown keys in `log` are ignored, as by the original.
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
  if (address === undefined) throw new SchemaError('metrics.address', 'required parameter missing');
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
  // Unknown keys at the root are ignored, as by the original.
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
  try {
    return readRoot(root);
  } catch (e) {
    if (e instanceof SchemaError) throw configError(source, `${e.path}: ${e.message}`);
    throw e;
  }
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
