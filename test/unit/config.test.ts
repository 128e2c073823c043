import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError, LOG_LEVELS, SYSLOG_FACILITIES, defaultConfig, loadConfigFile, parseConfigText,
} from '../../src/config/config';

const SRC = 'test.yaml';

/** Asserts a ConfigError whose single line names the source and contains every fragment. */
function rejects(yaml: string, ...fragments: string[]): string {
  try {
    parseConfigText(yaml, SRC);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const msg = e.message;
    assert.not.ok(msg.includes('\n'), `one line: ${msg}`);
    assert.ok(msg.startsWith(`error reading configuration ${SRC}: `), msg);
    for (const f of fragments) assert.ok(msg.includes(f), `expected ${JSON.stringify(f)} in: ${msg}`);
    return msg;
  }
  assert.unreachable(`accepted:\n${yaml}`);
  return '';
}

const DOMAIN = 'domains:\n  - sockets: [tcp:127.0.0.1:1]\n';

function domainWith(extra: string): string {
  return `domains:\n  - sockets: [tcp:127.0.0.1:1]\n${extra.split('\n').map((l) => (l ? '    ' + l : l)).join('\n')}\n`;
}

test('defaults', () => {
  const c = defaultConfig();
  assert.equal(c, {
    domains: [],
    resources: { total: {}, user: {} },
    log: {
      console: false, fileBackup: 3, fileMaxSize: 1000000, syslog: true, syslogSocket: '/dev/log',
      facility: 'daemon', level: 'info',
    },
  });
  assert.equal(parseConfigText('', SRC), c);
  assert.equal(parseConfigText('# only a comment\n', SRC), c);
  assert.equal(parseConfigText('domains: ~\nresources: null\nlog:\n', SRC), c);
  assert.equal(LOG_LEVELS, ['debug', 'info', 'warning', 'error', 'critical']);
});

test('syslog facilities table', () => {
  assert.is(SYSLOG_FACILITIES.size, 24);
  assert.is(SYSLOG_FACILITIES.get('kern'), 0);
  assert.is(SYSLOG_FACILITIES.get('daemon'), 3);
  assert.is(SYSLOG_FACILITIES.get('security'), 13);
  assert.is(SYSLOG_FACILITIES.get('solaris-cron'), 15);
  assert.is(SYSLOG_FACILITIES.get('local0'), 16);
  assert.is(SYSLOG_FACILITIES.get('local7'), 23);
});

test('§2.3 example', () => {
  const c = parseConfigText(`
domains:
  - name: east
    idle: {min: 2, max: 20}
    protocol_version: {min: 3}
    sockets:
      - ux:east-local
      - addr: tls:*:7300
        tls:
          cert: /etc/pathfinder/east/cert.pem
          key: /etc/pathfinder/east/key.pem
          tc: /etc/pathfinder/east/ca.pem
  - addrs: [tcp:127.0.0.1:7400]
resources:
  total: {clients: 5000, services: 20000, subscriptions: 20000}
  user: {clients: 500}
log:
  console: true
  syslog: false
  filter: debug
`, SRC);
  assert.equal(c, {
    domains: [
      {
        name: 'east',
        sockets: [
          { addr: 'ux:east-local' },
          {
            addr: 'tls:*:7300',
            tls: { cert: '/etc/pathfinder/east/cert.pem', key: '/etc/pathfinder/east/key.pem', tc: '/etc/pathfinder/east/ca.pem' },
          },
        ],
        protocolVersion: { min: 3, max: 3 },
        idle: { min: 2, max: 20 },
      },
      { sockets: [{ addr: 'tcp:127.0.0.1:7400' }], protocolVersion: { min: 2, max: 3 }, idle: { min: 4, max: 30 } },
    ],
    resources: { total: { clients: 5000, services: 20000, subscriptions: 20000 }, user: { clients: 500 } },
    log: {
      console: true, fileBackup: 3, fileMaxSize: 1000000, syslog: false, syslogSocket: '/dev/log',
      facility: 'daemon', level: 'debug',
    },
  });
});

test('all log keys', () => {
  const c = parseConfigText(`log:
  console: yes
  log_file: /tmp/x.log
  log_file_backup: 3
  log_file_max_size: 0x100
  syslog: off
  syslog_socket: /run/log
  facility: local3
  filter: critical
`, SRC);
  assert.equal(c.log, {
    console: true, file: '/tmp/x.log', fileBackup: 3, fileMaxSize: 256, syslog: false,
    syslogSocket: '/run/log', facility: 'local3', level: 'critical',
  });
});

test('aliases and legacy keys', () => {
  const c = parseConfigText(domainWith('max_idle_time: 12'), SRC);
  assert.equal(c.domains[0]!.idle, { min: 4, max: 12 });
  const d = parseConfigText(domainWith('max_idle_time: 12\nidle: {min: 5}'), SRC);
  assert.equal(d.domains[0]!.idle, { min: 5, max: 12 });
  const e = parseConfigText('domains:\n  - addrs:\n      - addr: utls:[*]:0\n        tls: {crl: /c.pem}\n', SRC);
  assert.equal(e.domains[0]!.sockets, [{ addr: 'utls:[*]:0', tls: { crl: '/c.pem' } }]);
});

test('unknown keys are errors everywhere, with a "did you mean" for a near miss and the line and column', () => {
  rejects(`domain:\n  - sockets: [tcp:127.0.0.1:1]\n`, 'line 1, column 1: domain: unknown parameter (did you mean \'domains\'?)');
  rejects(`future: 1\n${DOMAIN}`, 'line 1, column 1: future: unknown parameter (valid: ', 'domains, log');
  rejects(domainWith('colour: red'), 'line 3, column 5: domains[0].colour: unknown parameter (valid: ', 'protocol_version', 'sockets');
  rejects(domainWith('protocol_versions: {min: 3}'), "domains[0].protocol_versions: unknown parameter (did you mean 'protocol_version'?)");
  rejects(`${DOMAIN}log:\n  filer: debug\n`, "line 4, column 3: log.filer: unknown parameter (did you mean 'filter'?)");
  rejects(`${DOMAIN}log:\n  syslgo: false\n`, "log.syslgo: unknown parameter (did you mean 'syslog'?)");
  rejects('domains:\n  - sockets: [{addr: "tls:h:1", tsl: {}}]\n', "domains[0].sockets[0].tsl: unknown parameter (did you mean 'tls'?)");
  rejects('domains:\n  - sokets: [tcp:127.0.0.1:1]\n', "line 2, column 5: domains[0].sockets: required parameter missing (found 'sokets': did you mean 'sockets'?)");
  // A key far from every known one gets the list instead of a guess.
  rejects(`${DOMAIN}log:\n  verbosity: 3\n`, 'log.verbosity: unknown parameter (valid: ', 'console', 'syslog_socket');
});

test('schema errors carry the line and column of the offending value', () => {
  rejects('domains: [1]\n', 'line 1, column 11: domains[0]: must be a mapping, not an integer');
  rejects(domainWith('idle: {min: 0}'), 'line 3, column 17: domains[0].idle.min: must be an integer between 1 and');
  rejects(`${DOMAIN}log:\n  console: 3\n`, 'line 4, column 12: log.console: must be a boolean, not an integer');
  rejects('- a\n', 'line 1, column 1: root: must be a mapping');
});

test('structure type errors name the path', () => {
  rejects('- a\n- b\n', 'root: must be a mapping');
  rejects('just text\n', 'root: must be a mapping');
  rejects('domains: {a: 1}\n', 'domains: must be a list');
  rejects('domains: [tcp:127.0.0.1:1]\n', 'domains[0]: must be a mapping');
  rejects(`${DOMAIN}  - ~\n`, 'domains[1]: must be a mapping');
  rejects('resources: [1]\n', 'resources: must be a mapping');
  rejects('resources:\n  total: 5\n', 'resources.total: must be a mapping');
  rejects('resources:\n  user: [a]\n', 'resources.user: must be a mapping');
  rejects('log: true\n', 'log: must be a mapping');
});

test('typed keys with the wrong YAML type', () => {
  rejects('log:\n  console: 1\n', 'log.console: must be a boolean');
  rejects('log:\n  syslog: "yes"\n', 'log.syslog: must be a boolean');
  rejects('log:\n  log_file: [a]\n', 'log.log_file: must be a string');
  rejects('log:\n  log_file_backup: two\n', 'log.log_file_backup: must be an integer');
  rejects('log:\n  log_file_backup: -1\n', 'log.log_file_backup: must be an integer >= 0');
  rejects('log:\n  log_file_max_size: 1.5\n', 'log.log_file_max_size: must be an integer');
  rejects('log:\n  syslog_socket: 5\n', 'log.syslog_socket: must be a string');
  rejects('log:\n  facility: 3\n', 'log.facility: must be a string');
  rejects(domainWith('name: 42'), 'domains[0].name: must be a string');
  rejects('domains:\n  - sockets: tcp:127.0.0.1:1\n', 'domains[0].sockets: must be a list');
  rejects(domainWith('idle: 5'), 'domains[0].idle: must be a mapping');
  rejects(domainWith('protocol_version: [2, 3]'), 'domains[0].protocol_version: must be a mapping');
});

test('booleans and floats are not integers (B13)', () => {
  rejects(domainWith('protocol_version: {min: true}'), 'domains[0].protocol_version.min: must be an integer', 'boolean');
  rejects(domainWith('idle: {max: yes}'), 'domains[0].idle.max: must be an integer', 'boolean');
  rejects(domainWith('idle: {min: 2.0}'), 'domains[0].idle.min: must be an integer');
  rejects('resources:\n  total: {clients: false}\n', 'resources.total.clients: invalid resource limit');
  rejects('log:\n  log_file_backup: true\n', 'log.log_file_backup: must be an integer');
});

test('sockets', () => {
  rejects('domains:\n  - name: x\n', 'domains[0].sockets: required parameter missing');
  rejects('domains:\n  - sockets: ~\n', 'domains[0].sockets: required parameter missing');
  rejects('domains:\n  - sockets: []\n', 'domains[0].sockets: must list at least one address');
  rejects('domains:\n  - sockets: [tcp:127.0.0.1:1]\n    addrs: [tcp:127.0.0.1:2]\n', 'domains[0]: duplicate parameter', "'addrs'");
  rejects('domains:\n  - sockets:\n      - tls: {cert: /a}\n', 'domains[0].sockets[0].addr: required parameter missing');
  rejects('domains:\n  - sockets: [tcp:127.0.0.1:1, 17]\n', 'domains[0].sockets[1]: invalid domain address');
  rejects('domains:\n  - sockets: [[tcp:127.0.0.1:1]]\n', 'domains[0].sockets[0]: invalid domain address');
  rejects('domains:\n  - addrs: [tcp:127.0.0.1:1, "tcp:::1:2"]\n', 'domains[0].addrs[1]: invalid address "tcp:::1:2"');
  rejects('domains:\n  - sockets: [{addr: "tcp:h:99999"}]\n', 'domains[0].sockets[0].addr: invalid address', 'port');
  rejects('domains:\n  - sockets: [{addr: 7}]\n', 'domains[0].sockets[0].addr: must be a string');
  rejects('domains:\n  - sockets: [{addr: "tcp:h:1", extra: 1}]\n', 'domains[0].sockets[0].extra: unknown parameter');
});

test('non-messaging transports are rejected', () => {
  for (const t of ['btcp', 'btls', 'sctp']) {
    rejects(`domains:\n  - sockets: [${t}:127.0.0.1:1]\n`, 'domains[0].sockets[0]', 'not a messaging transport usable by Pathfinder');
  }
});

test('tls options', () => {
  rejects('domains:\n  - sockets:\n      - addr: tcp:*:1\n        tls: {cert: /a}\n',
    'domains[0].sockets[0].tls: not allowed for a tcp address', 'tls, utls');
  rejects('domains:\n  - sockets:\n      - addr: ux:x\n        tls: {}\n', 'domains[0].sockets[0].tls: not allowed for a ux address');
  rejects('domains:\n  - sockets:\n      - addr: tls:*:1\n        tls: {certificate: /a}\n',
    'domains[0].sockets[0].tls.certificate: unknown parameter', 'cert, key, tc, crl');
  rejects('domains:\n  - sockets:\n      - addr: tls:*:1\n        tls: {key: 5}\n', 'domains[0].sockets[0].tls.key: must be a string');
  rejects('domains:\n  - sockets:\n      - addr: tls:*:1\n        tls: /a\n', 'domains[0].sockets[0].tls: must be a mapping');
  const c = parseConfigText('domains:\n  - sockets:\n      - addr: tls:*:1\n        tls: ~\n', SRC);
  assert.equal(c.domains[0]!.sockets, [{ addr: 'tls:*:1' }]);
});

test('protocol_version', () => {
  rejects(domainWith('protocol_version: {min: 1}'), 'domains[0].protocol_version.min: must be an integer between 2 and 3');
  rejects(domainWith('protocol_version: {max: 4}'), 'domains[0].protocol_version.max: must be an integer between 2 and 3');
  rejects(domainWith('protocol_version: {min: 3, max: 2}'), 'domains[0].protocol_version: min (3) must not be greater than max (2)');
  rejects(domainWith('protocol_version: {mix: 3}'), 'domains[0].protocol_version.mix: unknown parameter');
  assert.equal(parseConfigText(domainWith('protocol_version: {max: 2}'), SRC).domains[0]!.protocolVersion, { min: 2, max: 2 });
});

test('idle', () => {
  rejects(domainWith('idle: {min: 0}'), 'domains[0].idle.min: must be an integer between 1 and');
  rejects(domainWith('idle: {max: 0}'), 'domains[0].idle.max: must be an integer between 1 and');
  rejects(domainWith('idle: {min: 10, max: 5}'), 'domains[0].idle: min (10) must not be greater than max (5)');
  rejects(domainWith('idle: {min: 31}'), 'domains[0].idle: min (31) must not be greater than max (30)');
  rejects(domainWith('max_idle_time: 3'), 'domains[0].idle: min (4) must not be greater than max (3)');
  rejects(domainWith('idle: {max: 20}\nmax_idle_time: 20'), 'domains[0]: duplicate parameter', "'max_idle_time'");
  rejects(domainWith('max_idle_time: 0'), 'domains[0].max_idle_time: must be an integer');
  rejects(domainWith('idle: {max: 99999999999}'), 'domains[0].idle.max: must be an integer between 1 and 2147483');
  assert.equal(parseConfigText(domainWith('idle: {min: 1, max: 1}'), SRC).domains[0]!.idle, { min: 1, max: 1 });
});

test('resources', () => {
  rejects('resources:\n  total: {connections: 5}\n', 'resources.total.connections: invalid resource type');
  rejects('resources:\n  user: {clients: -1}\n', 'resources.user.clients: invalid resource limit');
  rejects('resources:\n  user: {services: "5"}\n', 'resources.user.services: invalid resource limit');
  rejects('resources:\n  user: {services: 1.0}\n', 'resources.user.services: invalid resource limit');
  rejects('resources:\n  group: {clients: 1}\n', 'resources.group: unknown parameter');
  const c = parseConfigText('resources:\n  total: {clients: 0, services: ~}\n  user: {subscriptions: 7}\n', SRC);
  assert.equal(c.resources, { total: { clients: 0 }, user: { subscriptions: 7 } });
});

test('resources: memory budgets in bytes or with a K/M/G unit', () => {
  const c = parseConfigText('resources:\n  total: {memory: 24M, clients: 5}\n  user: {memory: 1048576}\n', SRC);
  assert.equal(c.resources, { total: { clients: 5, memory: 24 << 20 }, user: { memory: 1 << 20 } });
  assert.is(parseConfigText('resources:\n  user: {memory: 512KiB}\n', SRC).resources.user.memory, 512 << 10);
  assert.is(parseConfigText('resources:\n  user: {memory: 1G}\n', SRC).resources.user.memory, 1 << 30);
  assert.is(parseConfigText('resources:\n  user: {memory: 0}\n', SRC).resources.user.memory, 0);
  rejects('resources:\n  total: {memory: 24X}\n', 'resources.total.memory: invalid memory size "24X"', 'e.g. 24M');
  rejects('resources:\n  total: {memory: 1.5M}\n', 'resources.total.memory: invalid memory size');
  rejects('resources:\n  total: {memory: -1}\n', 'resources.total.memory: invalid memory size');
  rejects('resources:\n  user: {memory: yes}\n', 'resources.user.memory: invalid memory size a boolean');
  rejects(`resources:\n  user: {memory: "${'9'.repeat(100)}"}\n`, 'resources.user.memory: invalid memory size a string');
});

test('filter and facility must be known', () => {
  const m = rejects('log:\n  filter: verbose\n', 'log.filter: unknown log level "verbose"', 'debug, info, warning, error, critical');
  assert.ok(m.length > 0);
  rejects('log:\n  filter: INFO\n', 'log.filter');
  rejects('log:\n  facility: local8\n', 'log.facility: unknown syslog facility "local8"', 'daemon', 'local7');
});

test('YAML errors become ConfigError', () => {
  rejects('log:\n  console: true\n  console: false\n', 'line 3, column 3: duplicate key "console"');
  rejects('domains: [tcp:127.0.0.1:1\n', 'YAML syntax error');
  rejects('a: b: c\n', 'line 1', 'YAML syntax error');
  rejects('---\na: 1\n---\nb: 2\n', 'YAML syntax error: more than one YAML document');
  rejects('log: {console: true, console: true}\n', 'duplicate key "console"');
  rejects('\t- x\n', 'YAML syntax error');
});

test('YAML 1.1 typing like the original (PyYAML)', () => {
  const c = parseConfigText(`${domainWith('idle: {min: 010, max: 1_000}')}log:\n  console: on\n  syslog: No\n`, SRC);
  assert.equal(c.domains[0]!.idle, { min: 8, max: 1000 });
  assert.is(c.log.console, true);
  assert.is(c.log.syslog, false);
});

test('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-config-'));
  try {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, DOMAIN);
    assert.equal(loadConfigFile(good).domains[0]!.sockets, [{ addr: 'tcp:127.0.0.1:1' }]);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'domains: [1]\n');
    assert.throws(() => loadConfigFile(bad), (e: unknown) =>
      e instanceof ConfigError && e.message === `error reading configuration ${bad}: line 1, column 11: domains[0]: must be a mapping, not an integer`);
    const missing = join(dir, 'missing.yaml');
    assert.throws(() => loadConfigFile(missing), (e: unknown) =>
      e instanceof ConfigError && e.message === `error reading configuration ${missing}: no such file`);
    assert.throws(() => loadConfigFile(dir), (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith(`error reading configuration ${dir}: `) && !e.message.includes('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('targets/default.yaml is valid', () => {
  const c = loadConfigFile('targets/default.yaml');
  assert.is(c.domains.length, 1);
  assert.is(c.domains[0]!.name, 'default');
  assert.equal(c.domains[0]!.sockets, [{ addr: 'tcp:127.0.0.1:4711' }]);
  assert.is(c.log.console, true);
  assert.is(c.log.syslog, false);
  assert.is(c.log.level, 'info');
  assert.is(c.resources.total.clients, 1000);
});

test.run();

test('uxf socket mode and group (issue 14)', () => {
  const c = parseConfigText('domains:\n  - sockets:\n      - {addr: "uxf:/run/paf/s", mode: 0640, group: paf}\n      - {addr: "uxf:/run/paf/t", mode: "0600", group: 1234}\n', SRC);
  assert.equal(c.domains[0]!.sockets, [
    { addr: 'uxf:/run/paf/s', mode: 0o640, group: 'paf' },
    { addr: 'uxf:/run/paf/t', mode: 0o600, group: 1234 },
  ]);
  rejects('domains:\n  - sockets: [{addr: "uxf:/x", mode: 660}]\n', 'domains[0].sockets[0].mode', 'octal', '660 (octal 1224)');
  rejects('domains:\n  - sockets: [{addr: "uxf:/x", mode: "rw-rw----"}]\n', 'domains[0].sockets[0].mode');
  rejects('domains:\n  - sockets: [{addr: "uxf:/x", group: "a b"}]\n', 'domains[0].sockets[0].group', 'group name or a gid');
  rejects('domains:\n  - sockets: [{addr: "ux:x", mode: 0600}]\n', 'domains[0].sockets[0].mode', 'valid transport: uxf');
  rejects('domains:\n  - sockets: [{addr: "tcp:127.0.0.1:1", group: paf}]\n', 'domains[0].sockets[0].group', 'valid transport: uxf');
});

test('local_users: shared (the default, absent) or per-uid (issue 14)', () => {
  assert.is(parseConfigText(DOMAIN, SRC).domains[0]!.localUsers, undefined);
  assert.is(parseConfigText(domainWith('local_users: per-uid'), SRC).domains[0]!.localUsers, 'per-uid');
  assert.is(parseConfigText(domainWith('local_users: shared'), SRC).domains[0]!.localUsers, 'shared');
  rejects(domainWith('local_users: uid'), 'domains[0].local_users', 'shared, per-uid');
});

test('a log file without log_file_backup keeps 3 backups; 0 is still "never rotate"', () => {
  assert.is(parseConfigText('log: {log_file: /tmp/x.log}\n', SRC).log.fileBackup, 3);
  assert.is(parseConfigText('log: {log_file: /tmp/x.log, log_file_backup: 0}\n', SRC).log.fileBackup, 0);
});
