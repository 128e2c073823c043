// Property-based tests of the configuration loader (src/config/config.ts,
// docs/cli-and-config.md §2). Random valid configurations are rendered as YAML in
// random but equivalent styles (block or flow collections, plain or quoted
// strings, decimal, hex or digit-grouped integers, YAML 1.1 boolean words)
// and must load to exactly the values generated. One targeted mutation of a
// valid configuration (wrong type, unknown key, out-of-range number, bad
// address, alias clash, broken structure, broken YAML) must give a
// ConfigError — one line, naming the file and the offending parameter —
// and never any other exception.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { ConfigError, MAX_IDLE_SECONDS, parseConfigText } from '../../src/config/config';
import type { DomainConfig, Limits, ServerConfig, SocketConfig } from '../../src/config/config';
import type { TlsFiles } from '../../src/transport/tls-credentials';
import type { LogLevel } from '../../src/log/logger';
import { runs } from '../helpers/property';

// ---------------------------------------------------------------------------

const SOURCE = 'prop.yaml';
const ERROR_PREFIX = `error reading configuration ${SOURCE}: `;

// ---------------------------------------------------------------------------
// A YAML document as a tree of typed scalars; how each scalar and collection
// is written is decided only when rendering.

type Scalar = { s: string } | { i: bigint } | { b: boolean } | { raw: string };
type Node = Scalar | YamlMap | { seq: Node[] };
type YamlMap = { map: [string, Node][] };

const str = (s: string): Node => ({ s });
const int = (i: number | bigint): Node => ({ i: BigInt(i) });
const bool = (b: boolean): Node => ({ b });
const map = (...entries: [string, Node | undefined][]): Node =>
  ({ map: entries.filter((e): e is [string, Node] => e[1] !== undefined) });

/** Style decisions, drawn from fast-check while rendering so that they shrink too. */
type Pick = <T>(choices: readonly T[]) => T;

/** YAML 1.1 words for booleans (PyYAML's set, which the loader follows). */
const TRUE_WORDS = ['true', 'True', 'TRUE', 'yes', 'Yes', 'on', 'ON', 'y'];
const FALSE_WORDS = ['false', 'False', 'FALSE', 'no', 'NO', 'off', 'Off', 'n'];
/** Plain words YAML 1.1 reads as something other than a string. */
const YAML11_SPECIAL = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./:-]*$/;

function renderScalar(node: Scalar, pick: Pick): string {
  if ('raw' in node) return node.raw;
  if ('b' in node) return pick(node.b ? TRUE_WORDS : FALSE_WORDS);
  if ('i' in node) {
    const n = node.i;
    if (n < 0n) return n.toString();
    switch (pick(['decimal', 'hex', 'grouped'] as const)) {
      case 'hex': return '0x' + n.toString(16);
      // YAML 1.1 digit grouping: 1_000_000.
      case 'grouped': return n.toString().replace(/\B(?=(\d{3})+$)/g, '_');
      default: return n.toString();
    }
  }
  const s = node.s;
  const styles: ('plain' | 'single' | 'double')[] = ['double'];
  if (PLAIN_SAFE.test(s) && !YAML11_SPECIAL.test(s) && !s.endsWith(':')) styles.push('plain');
  if (!/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s)) styles.push('single');
  switch (pick(styles)) {
    case 'plain': return s;
    case 'single': return `'${s.replace(/'/g, "''")}'`;
    default: return JSON.stringify(s); // JSON escapes are valid YAML double-quoted escapes
  }
}

function isCollection(n: Node): n is YamlMap | { seq: Node[] } {
  return 'map' in n || 'seq' in n;
}

function flow(n: Node, pick: Pick): string {
  if ('map' in n) return `{${n.map.map(([k, v]) => `${k}: ${flow(v, pick)}`).join(', ')}}`;
  if ('seq' in n) return `[${n.seq.map((v) => flow(v, pick)).join(', ')}]`;
  return renderScalar(n, pick);
}

function isEmpty(n: Node): boolean {
  return ('map' in n && n.map.length === 0) || ('seq' in n && n.seq.length === 0);
}

/** Block-style lines at `indent`; each nested collection is written block or flow at random. */
function block(n: Node, indent: number, pick: Pick): string[] {
  const pad = ' '.repeat(indent);
  const inline = (v: Node) => !isCollection(v) || isEmpty(v) || pick([false, true]);
  if ('map' in n) {
    return n.map.flatMap(([k, v]) => (inline(v) ? [`${pad}${k}: ${flow(v, pick)}`] : [`${pad}${k}:`, ...block(v, indent + 2, pick)]));
  }
  if ('seq' in n) {
    return n.seq.flatMap((v) => {
      if (inline(v)) return [`${pad}- ${flow(v, pick)}`];
      // Compact form: the item's first line shares the line of its dash.
      const lines = block(v, indent + 2, pick);
      return [`${pad}- ${lines[0]!.slice(indent + 2)}`, ...lines.slice(1)];
    });
  }
  return [`${pad}${renderScalar(n, pick)}`];
}

function render(root: Node, pick: Pick): string {
  return block(root, 0, pick).join('\n') + '\n';
}

function pickFrom(g: fc.GeneratorValue): Pick {
  return (choices) => g(fc.constantFrom, ...choices);
}

// ---------------------------------------------------------------------------
// Valid configurations: the generated model, its YAML tree and the
// ServerConfig the spec says it means.

interface SocketSpec { addr: string; tlsCapable: boolean; asMapping: boolean; tls?: TlsFiles }
interface DomainSpec {
  name?: string;
  sockets: SocketSpec[];
  alias: 'sockets' | 'addrs';
  pv?: { min?: number; max?: number };
  idle?: { min?: number; max?: number };
  maxIdleTime?: number;
}
interface LogSpec {
  console?: boolean; file?: string; backup?: number; maxSize?: number; syslog?: boolean;
  socket?: string; facility?: string; level?: LogLevel;
}
interface ConfigSpec {
  domains?: DomainSpec[];
  resources?: { total?: Limits; user?: Limits };
  log?: LogSpec;
  metrics?: { host: string; port: number };
}

const NAME_CHARS = [...'abcxyz019-_.'];
const SHORT_NAME = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 12 });
/** Free text: quotes, backslashes, YAML indicators, tab, newline, non-ASCII. */
const TEXT = fc.string({ unit: fc.constantFrom(...'aZ09 -_./:#&*!|>\'"%@`{}[],?\\', '\t', '\n', 'é', '中', '\u{1F600}'), maxLength: 16 });
const PATH = fc.oneof(SHORT_NAME.map((n) => `/etc/paf/${n}`), TEXT);

const HOST = fc.constantFrom('127.0.0.1', '10.0.0.1', '*', '[*]', '[::1]', '[fd00::5]', 'localhost', 'paf.example.net');
const PORT = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 65535 }));
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const LEVELS: LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];

const ADDRESS = fc.oneof(
  SHORT_NAME.map((n) => ({ addr: `ux:${n}`, tlsCapable: false })),
  SHORT_NAME.map((n) => ({ addr: `uxf:/run/paf/${n}`, tlsCapable: false })),
  fc.tuple(fc.constantFrom('tcp', 'tls', 'utls'), HOST, PORT).map(([t, h, p]) => ({ addr: `${t}:${h}:${p}`, tlsCapable: t !== 'tcp' })),
);
const TLS_FILES: fc.Arbitrary<TlsFiles> = fc.record({ cert: PATH, key: PATH, tc: PATH, crl: PATH }, { requiredKeys: [], noNullPrototype: true });

const SOCKET: fc.Arbitrary<SocketSpec> = fc.tuple(ADDRESS, fc.boolean(), fc.option(TLS_FILES)).map(([a, asMapping, tls]) =>
  (a.tlsCapable && asMapping && tls !== null ? { ...a, asMapping, tls } : { ...a, asMapping }));

/** Small numbers mostly, the whole range sometimes. */
function count(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(fc.integer({ min, max: Math.min(max, min + 40) }), fc.integer({ min, max }));
}
const IDLE = count(1, MAX_IDLE_SECONDS);
const LIMIT = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.maxSafeNat());

const DOMAIN: fc.Arbitrary<DomainSpec> = fc.record({
  name: TEXT,
  sockets: fc.array(SOCKET, { minLength: 1, maxLength: 3 }),
  alias: fc.constantFrom('sockets' as const, 'addrs' as const),
  pv: fc.record({ min: fc.constantFrom(2, 3), max: fc.constantFrom(2, 3) }, { requiredKeys: [], noNullPrototype: true }),
  idle: fc.record({ min: IDLE, max: IDLE }, { requiredKeys: [], noNullPrototype: true }),
  maxIdleTime: IDLE,
}, { requiredKeys: ['sockets', 'alias'], noNullPrototype: true })
  // docs/cli-and-config.md §2.1/§2.2: min <= max for both ranges, idle.max and max_idle_time not both.
  .filter((d) => (d.pv?.min ?? 2) <= (d.pv?.max ?? 3))
  .filter((d) => d.idle?.max === undefined || d.maxIdleTime === undefined)
  .filter((d) => (d.idle?.min ?? 4) <= (d.idle?.max ?? d.maxIdleTime ?? 30));

const LIMITS: fc.Arbitrary<Limits> = fc.record({ clients: LIMIT, services: LIMIT, subscriptions: LIMIT }, { requiredKeys: [], noNullPrototype: true });

const CONFIG: fc.Arbitrary<ConfigSpec> = fc.record({
  domains: fc.array(DOMAIN, { maxLength: 3 }),
  resources: fc.record({ total: LIMITS, user: LIMITS }, { requiredKeys: [], noNullPrototype: true }),
  log: fc.record({
    console: fc.boolean(), file: PATH, backup: count(0, 1000), maxSize: LIMIT, syslog: fc.boolean(),
    socket: PATH, facility: fc.constantFrom(...FACILITIES), level: fc.constantFrom(...LEVELS),
  }, { requiredKeys: [], noNullPrototype: true }),
  metrics: fc.record({ host: fc.constantFrom('127.0.0.1', 'localhost', '[::1]', '0.0.0.0'), port: PORT }, { noNullPrototype: true }),
}, { requiredKeys: [], noNullPrototype: true });

const opt = <T>(v: T | undefined, f: (v: T) => Node): Node | undefined => (v === undefined ? undefined : f(v));

function socketNode(s: SocketSpec): Node {
  if (!s.asMapping) return str(s.addr);
  return map(['addr', str(s.addr)], ['tls', opt(s.tls, (t) => map(
    ['cert', opt(t.cert, str)], ['key', opt(t.key, str)], ['tc', opt(t.tc, str)], ['crl', opt(t.crl, str)]))]);
}

function domainNode(d: DomainSpec): Node {
  return map(
    ['name', opt(d.name, str)],
    [d.alias, { seq: d.sockets.map(socketNode) }],
    ['protocol_version', opt(d.pv, (pv) => map(['min', opt(pv.min, int)], ['max', opt(pv.max, int)]))],
    ['idle', opt(d.idle, (idle) => map(['min', opt(idle.min, int)], ['max', opt(idle.max, int)]))],
    ['max_idle_time', opt(d.maxIdleTime, int)],
  );
}

function limitsNode(l: Limits): Node {
  return map(['clients', opt(l.clients, int)], ['services', opt(l.services, int)], ['subscriptions', opt(l.subscriptions, int)]);
}

function configNode(c: ConfigSpec): Node {
  return map(
    ['domains', opt(c.domains, (ds) => ({ seq: ds.map(domainNode) }))],
    ['resources', opt(c.resources, (r) => map(['total', opt(r.total, limitsNode)], ['user', opt(r.user, limitsNode)]))],
    ['log', opt(c.log, (l) => map(
      ['console', opt(l.console, bool)], ['log_file', opt(l.file, str)], ['log_file_backup', opt(l.backup, int)],
      ['log_file_max_size', opt(l.maxSize, int)], ['syslog', opt(l.syslog, bool)], ['syslog_socket', opt(l.socket, str)],
      ['facility', opt(l.facility, str)], ['filter', opt(l.level, str)]))],
    ['metrics', opt(c.metrics, (m) => map(['address', str(`${m.host}:${m.port}`)]))],
  );
}

/** docs/cli-and-config.md §2.1, defaults included, written out independently of config.ts. */
function expectedConfig(c: ConfigSpec): ServerConfig {
  const out: ServerConfig = {
    domains: (c.domains ?? []).map((d) => {
      const domain: DomainConfig = {
        sockets: d.sockets.map((s): SocketConfig => (s.tls === undefined ? { addr: s.addr } : { addr: s.addr, tls: s.tls })),
        protocolVersion: { min: d.pv?.min ?? 2, max: d.pv?.max ?? 3 },
        idle: { min: d.idle?.min ?? 4, max: d.idle?.max ?? d.maxIdleTime ?? 30 },
      };
      if (d.name !== undefined) domain.name = d.name;
      return domain;
    }),
    resources: { total: { ...c.resources?.total }, user: { ...c.resources?.user } },
    log: {
      console: c.log?.console ?? false,
      fileBackup: c.log?.backup ?? 3,
      fileMaxSize: c.log?.maxSize ?? 1_000_000,
      syslog: c.log?.syslog ?? true,
      syslogSocket: c.log?.socket ?? '/dev/log',
      facility: c.log?.facility ?? 'daemon',
      level: c.log?.level ?? 'info',
    },
  };
  if (c.log?.file !== undefined) out.log.file = c.log.file;
  if (c.metrics) {
    const { host, port } = c.metrics;
    out.metrics = { address: `${host}:${port}`, host: host.startsWith('[') ? host.slice(1, -1) : host, port };
  }
  return out;
}

/** Loads `text`; any exception other than a well-formed ConfigError fails the property. */
function load(text: string): ServerConfig | ConfigError {
  try {
    return parseConfigText(text, SOURCE);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`loader threw ${String(e)} (not a ConfigError) for:\n${text}`);
    assert.ok(e.message.startsWith(ERROR_PREFIX), e.message);
    assert.not.ok(e.message.includes('\n'), `message of more than one line: ${JSON.stringify(e.message)}`);
    return e;
  }
}

/** The collection under `key` of `parent`, created (as `make()`) when absent. */
function entry(parent: YamlMap, key: string, make: () => Node): YamlMap {
  let e = parent.map.find(([k]) => k === key);
  if (!e) {
    e = [key, make()];
    parent.map.push(e);
  }
  return e[1] as YamlMap;
}

const MINIMAL_DOMAIN: DomainSpec = { sockets: [{ addr: 'tcp:127.0.0.1:1', tlsCapable: false, asMapping: false }], alias: 'sockets' };

/** The first domain, creating a minimal one if the configuration has none. */
function firstDomain(tree: YamlMap): YamlMap {
  const domains = entry(tree, 'domains', () => ({ seq: [] })) as unknown as { seq: Node[] };
  if (domains.seq.length === 0) domains.seq.push(domainNode(MINIMAL_DOMAIN));
  return domains.seq[0] as YamlMap;
}

// ---------------------------------------------------------------------------

const valid = suite('prop: valid configurations');

valid('a random valid configuration, in any YAML style, loads to the generated values', () => {
  fc.assert(fc.property(CONFIG, fc.gen(), (spec, g) => {
    const text = render(configNode(spec), pickFrom(g));
    const loaded = load(text);
    assert.not.instance(loaded, ConfigError, `rejected:\n${text}\n${String(loaded)}`);
    assert.equal(loaded, expectedConfig(spec), text);
  }), runs(400));
});

// ---------------------------------------------------------------------------
// Invalid configurations: a valid one with a single targeted defect. Each
// mutation knows the parameter path that the error must name.

/** `mentions` is the parameter path the message must contain ("sockets" also matches its alias "addrs"). */
interface Mutation { describe: string; apply: (tree: YamlMap) => void; mentions: string }

function mentionPattern(path: string): RegExp {
  return new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('sockets', '(?:sockets|addrs)'));
}

function set(m: YamlMap, key: string, value: Node): void {
  const e = m.map.find(([k]) => k === key);
  if (e) e[1] = value;
  else m.map.push([key, value]);
}

function socketsOf(domain: YamlMap): { key: string; list: Node[] } {
  const e = domain.map.find(([k]) => k === 'sockets' || k === 'addrs')!;
  return { key: e[0], list: (e[1] as { seq: Node[] }).seq };
}

/** Integer-typed parameters: where they live, their path in messages and their valid range. */
const INT_PARAMS: { at: (t: YamlMap) => YamlMap; key: string; path: string; min: number; max?: number }[] = [
  { at: (t) => entry(entry(t, 'resources', () => map()), 'total', () => map()), key: 'clients', path: 'resources.total.clients', min: 0 },
  { at: (t) => entry(entry(t, 'resources', () => map()), 'user', () => map()), key: 'subscriptions', path: 'resources.user.subscriptions', min: 0 },
  { at: (t) => entry(t, 'log', () => map()), key: 'log_file_backup', path: 'log.log_file_backup', min: 0 },
  { at: (t) => entry(t, 'log', () => map()), key: 'log_file_max_size', path: 'log.log_file_max_size', min: 0 },
  { at: (t) => entry(firstDomain(t), 'protocol_version', () => map()), key: 'min', path: 'domains[0].protocol_version.min', min: 2, max: 3 },
  { at: (t) => entry(firstDomain(t), 'protocol_version', () => map()), key: 'max', path: 'domains[0].protocol_version.max', min: 2, max: 3 },
  { at: (t) => entry(firstDomain(t), 'idle', () => map()), key: 'min', path: 'domains[0].idle.min', min: 1, max: MAX_IDLE_SECONDS },
  { at: (t) => entry(firstDomain(t), 'idle', () => map()), key: 'max', path: 'domains[0].idle.max', min: 1, max: MAX_IDLE_SECONDS },
];
/** Values of the wrong YAML type for an integer (YAML 1.1: `yes` is a boolean, `"5"` a string, `2.0` a float). */
const NOT_AN_INT: Node[] = [{ raw: '"5"' }, { raw: '2.0' }, { raw: '1e3' }, { raw: 'yes' }, { raw: 'false' }, { raw: 'five' }, { raw: '[1]' }, { raw: '{a: 1}' }];

const BOOL_PARAMS = [{ key: 'console', path: 'log.console' }, { key: 'syslog', path: 'log.syslog' }];
const NOT_A_BOOL: Node[] = [{ raw: '1' }, { raw: '"true"' }, { raw: 'maybe' }, { raw: '[true]' }];
const STRING_PARAMS = [{ key: 'log_file', path: 'log.log_file' }, { key: 'syslog_socket', path: 'log.syslog_socket' }, { key: 'facility', path: 'log.facility' }, { key: 'filter', path: 'log.filter' }];
const NOT_A_STRING: Node[] = [{ raw: '1' }, { raw: 'on' }, { raw: '[a]' }, { raw: '{a: b}' }];

/** Every mapping is strict: an unknown key anywhere is an error (the original ignores them at the root, in log and in a domain). */
const STRICT_MAPS: { at: (t: YamlMap) => YamlMap; path: string }[] = [
  { at: (t) => t, path: '' },
  { at: (t) => entry(t, 'log', () => map()), path: 'log' },
  { at: (t) => firstDomain(t), path: 'domains[0]' },
  { at: (t) => entry(t, 'resources', () => map()), path: 'resources' },
  { at: (t) => entry(entry(t, 'resources', () => map()), 'total', () => map()), path: 'resources.total' },
  { at: (t) => entry(entry(t, 'resources', () => map()), 'user', () => map()), path: 'resources.user' },
  { at: (t) => entry(firstDomain(t), 'protocol_version', () => map()), path: 'domains[0].protocol_version' },
  { at: (t) => entry(firstDomain(t), 'idle', () => map()), path: 'domains[0].idle' },
  { at: (t) => entry(t, 'metrics', () => map(['address', str('127.0.0.1:0')])), path: 'metrics' },
  {
    at: (t) => {
      const { list } = socketsOf(firstDomain(t));
      list[0] = map(['addr', str('tls:*:1')], ['tls', map(['cert', str('/c')])]);
      return (list[0] as YamlMap).map.find(([k]) => k === 'tls')![1] as YamlMap;
    },
    path: 'domains[0].sockets[0].tls',
  },
];

const BAD_SERVER_ADDRESSES = ['tcp:127.0.0.1', 'tcp:1.2.3.4:65536', 'tcp:1.2.3.4:-1', 'foo:bar', 'btcp:127.0.0.1:1', 'sctp:1.2.3.4:1',
  'ux:', `ux:${'x'.repeat(108)}`, 'tcp:::1:5', 'tcp:[::1:5', 'tcp:a b:1', 'tcp:bad_host!:1', 'nocolon', ''];
const BAD_METRICS_ADDRESSES = ['localhost', '[::1]:70000', ':80', 'a b:1', 'host:port', '[x]:1'];

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...INT_PARAMS), fc.constantFrom(...NOT_AN_INT)).map(([p, v]): Mutation => ({
    describe: `${p.path} = ${JSON.stringify(v)}`, mentions: p.path, apply: (t) => set(p.at(t), p.key, v),
  })),
  fc.tuple(fc.constantFrom(...INT_PARAMS), fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1_000_000 })), fc.boolean()).map(([p, by, below]): Mutation => {
    // Out of range: below the minimum (e.g. negative), or above the maximum where there is one.
    const value = below || p.max === undefined ? p.min - by : p.max + by;
    return { describe: `${p.path} = ${value}`, mentions: p.path, apply: (t) => set(p.at(t), p.key, int(value)) };
  }),
  fc.tuple(fc.constantFrom(...BOOL_PARAMS), fc.constantFrom(...NOT_A_BOOL)).map(([p, v]): Mutation => ({
    describe: `${p.path} = ${JSON.stringify(v)}`, mentions: p.path, apply: (t) => set(entry(t, 'log', () => map()), p.key, v),
  })),
  fc.tuple(fc.constantFrom(...STRING_PARAMS), fc.constantFrom(...NOT_A_STRING)).map(([p, v]): Mutation => ({
    describe: `${p.path} = ${JSON.stringify(v)}`, mentions: p.path, apply: (t) => set(entry(t, 'log', () => map()), p.key, v),
  })),
  fc.tuple(fc.constantFrom('facility', 'filter'), SHORT_NAME).filter(([k, v]) => !(k === 'facility' ? FACILITIES : LEVELS as string[]).includes(v)).map(([k, v]): Mutation => ({
    describe: `log.${k} = ${v}`, mentions: `log.${k}`, apply: (t) => set(entry(t, 'log', () => map()), k, str(v)),
  })),
  fc.tuple(fc.constantFrom(...STRICT_MAPS), fc.oneof(SHORT_NAME.map((k) => `x_${k}`), fc.constantFrom('1', 'Clients', 'MIN', 'certificate'))).map(([m, key]): Mutation => ({
    describe: `unknown ${m.path}.${key}`, mentions: m.path === '' ? `${key}: unknown parameter` : `${m.path}.${key}:`, apply: (t) => m.at(t).map.push([key, int(1)]),
  })),
  fc.tuple(fc.constantFrom(...BAD_SERVER_ADDRESSES), fc.boolean()).map(([addr, asMapping]): Mutation => ({
    describe: `address ${JSON.stringify(addr)}`, mentions: `domains[0].`,
    apply: (t) => { socketsOf(firstDomain(t)).list[0] = asMapping ? map(['addr', str(addr)]) : str(addr); },
  })),
  fc.constantFrom('ux:a', 'uxf:/a', 'tcp:127.0.0.1:1').map((addr): Mutation => ({
    describe: `tls keys on ${addr}`, mentions: 'domains[0].sockets[0].tls',
    apply: (t) => { socketsOf(firstDomain(t)).list[0] = map(['addr', str(addr)], ['tls', map(['cert', str('/c')])]); },
  })),
  fc.constantFrom(...BAD_METRICS_ADDRESSES).map((addr): Mutation => ({
    describe: `metrics ${addr}`, mentions: 'metrics.address', apply: (t) => set(t, 'metrics', map(['address', str(addr)])),
  })),
  fc.constantFrom<Mutation>(...[
    { describe: 'min > max versions', mentions: 'domains[0].protocol_version', apply: (t) => set(firstDomain(t), 'protocol_version', map(['min', int(3)], ['max', int(2)])) },
    { describe: 'min > max idle', mentions: 'domains[0].idle', apply: (t) => { const d = firstDomain(t); d.map = d.map.filter(([k]) => k !== 'max_idle_time'); set(d, 'idle', map(['min', int(31)])); } },
    { describe: 'sockets and addrs', mentions: 'domains[0]', apply: (t) => { const d = firstDomain(t); const s = socketsOf(d); set(d, s.key === 'sockets' ? 'addrs' : 'sockets', { seq: [str('ux:b')] }); } },
    { describe: 'idle.max and max_idle_time', mentions: 'domains[0]', apply: (t) => { const d = firstDomain(t); set(d, 'idle', map(['max', int(40)])); set(d, 'max_idle_time', int(50)); } },
    { describe: 'no sockets', mentions: 'domains[0].sockets', apply: (t) => { const d = firstDomain(t); d.map = d.map.filter(([k]) => k !== 'sockets' && k !== 'addrs'); } },
    { describe: 'empty sockets', mentions: 'domains[0].', apply: (t) => { const d = firstDomain(t); socketsOf(d).list.length = 0; } },
    { describe: 'socket mapping without addr', mentions: 'domains[0].sockets', apply: (t) => { socketsOf(firstDomain(t)).list[0] = map(['tls', map()]); } },
    { describe: 'socket entry a list', mentions: 'domains[0]', apply: (t) => { socketsOf(firstDomain(t)).list[0] = { seq: [str('ux:a')] }; } },
    { describe: 'domain not a mapping', mentions: 'domains[0]', apply: (t) => { firstDomain(t); (entry(t, 'domains', () => ({ seq: [] })) as unknown as { seq: Node[] }).seq[0] = int(5); } },
    { describe: 'domains not a list', mentions: 'domains', apply: (t) => set(t, 'domains', map(['a', int(1)])) },
    { describe: 'resources a list', mentions: 'resources', apply: (t) => set(t, 'resources', { seq: [int(1)] }) },
    { describe: 'log a string', mentions: 'log', apply: (t) => set(t, 'log', str('loud')) },
  ] satisfies Mutation[]),
);

const invalid = suite('prop: invalid configurations');

invalid('one defect in a valid configuration gives one ConfigError naming the parameter', () => {
  fc.assert(fc.property(CONFIG, MUTATION, fc.gen(), (spec, mutation, g) => {
    const tree = configNode(spec) as YamlMap;
    mutation.apply(tree);
    const text = render(tree, pickFrom(g));
    const r = load(text);
    assert.instance(r, ConfigError, `${mutation.describe} accepted:\n${text}`);
    assert.match((r as ConfigError).message, mentionPattern(mutation.mentions), `${mutation.describe}: ${(r as ConfigError).message}\n${text}`);
  }), runs(800));
});

/** YAML that cannot be parsed: each breakage is put at a random place of a valid document. */
const YAML_BREAKAGE = fc.constantFrom(
  'x: [1, 2\n', 'x: {a: 1\n', 'x: "open\n', "x: 'open\n", '\tx: 1\n', 'x: 1\n  y: 2\n', 'x: &a [*b]\n', '- 1\nx: 2\n', 'x: 1\nx: 2\n', ': :\n- - :\n',
);

invalid('malformed YAML is a ConfigError that gives the line', () => {
  fc.assert(fc.property(CONFIG, YAML_BREAKAGE, fc.nat(), fc.gen(), (spec, breakage, at, g) => {
    const lines = render(configNode(spec), pickFrom(g)).split('\n');
    // Only between top-level entries, so the breakage is not absorbed by a block scalar or a flow collection.
    const starts = lines.map((l, i) => (i === 0 || /^[a-z]/.test(l) ? i : -1)).filter((i) => i >= 0);
    const i = starts[at % starts.length]!;
    const text = [...lines.slice(0, i), breakage.replace(/\n$/, ''), ...lines.slice(i)].join('\n');
    const r = load(text);
    assert.instance(r, ConfigError, `accepted:\n${text}`);
    assert.match((r as ConfigError).message, /line \d+, column \d+|YAML/, (r as ConfigError).message);
  }), runs(200));
});

invalid('arbitrary text and random edits of valid files: a config or a ConfigError, nothing else', () => {
  const CHAR = fc.constantFrom(...'abcxyz:-[]{},#&*!|>\'"%@`?~ 0123456789.', '\n', '\t', '  ', '\n  ', '\n- ', 'é');
  const EDIT = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), CHAR);
  const TEXTS = fc.oneof(
    fc.string({ unit: CHAR, maxLength: 60 }),
    fc.tuple(CONFIG, fc.gen(), fc.array(EDIT, { minLength: 1, maxLength: 4 })).map(([spec, g, edits]) => {
      let t = render(configNode(spec), pickFrom(g));
      for (const [at, kind, c] of edits) {
        const i = at % (t.length + 1);
        t = kind === 'insert' ? t.slice(0, i) + c + t.slice(i) : kind === 'delete' ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + c + t.slice(i + 1);
      }
      return t;
    }),
  );
  fc.assert(fc.property(TEXTS, (text) => {
    load(text);
  }), runs(500));
});

valid.run();
invalid.run();
