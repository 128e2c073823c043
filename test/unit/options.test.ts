import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config';
import type { ServerConfig } from '../../src/config/config';
import { PAFD_USAGE, UsageError, parsePafdArgs } from '../../src/config/options';

const ADDR = 'tcp:127.0.0.1:4711';
const dir = mkdtempSync(join(tmpdir(), 'paf-options-'));

const FILE = join(dir, 'paf.yaml');
writeFileSync(FILE, `domains:
  - name: filed
    idle: {min: 2, max: 9}
    protocol_version: {min: 3}
    sockets: [tcp:127.0.0.1:7000]
resources:
  total: {clients: 50, services: 60}
  user: {clients: 5}
log:
  console: false
  syslog: true
  filter: warning
  facility: local1
  log_file: /tmp/from-file.log
`);

function run(...argv: string[]): ServerConfig {
  const cmd = parsePafdArgs(argv);
  if (cmd.action !== 'run') throw new Error(`expected run, got ${cmd.action}`);
  return cmd.config;
}

function usageError(argv: string[], fragment: string): void {
  try {
    parsePafdArgs(argv);
  } catch (e) {
    assert.instance(e, UsageError, argv.join(' '));
    const msg = (e as Error).message;
    assert.not.ok(msg.includes('\n'), msg);
    assert.ok(msg.includes(fragment), `expected ${JSON.stringify(fragment)} in: ${msg}`);
    return;
  }
  assert.unreachable(`accepted: ${argv.join(' ')}`);
}

const CLI_DEFAULTS = { protocolVersion: { min: 2, max: 3 }, idle: { min: 4, max: 30 } };

test('positional addresses and -m groups, in that order', () => {
  const c = run('-m', 'tcp:127.0.0.1:1+ux:a', ADDR, '-m', 'tls:*:2', 'ux:b');
  assert.equal(c.domains, [
    { sockets: [{ addr: ADDR }], ...CLI_DEFAULTS },
    { sockets: [{ addr: 'ux:b' }], ...CLI_DEFAULTS },
    { sockets: [{ addr: 'tcp:127.0.0.1:1' }, { addr: 'ux:a' }], ...CLI_DEFAULTS },
    { sockets: [{ addr: 'tls:*:2' }], ...CLI_DEFAULTS },
  ]);
  // Without -f everything else is the default configuration.
  assert.equal(c.resources, { total: {}, user: {} });
  assert.is(c.log.syslog, true);
  assert.is(c.log.console, false);
});

test('log options', () => {
  const c = run('-s', '-n', '-o', '/tmp/p.log', '-b', '3', '-x', '+2048', '-u', '/run/log', '-y', 'local5', '-l', 'debug', ADDR);
  assert.equal(c.log, {
    console: true, file: '/tmp/p.log', fileBackup: 3, fileMaxSize: 2048, syslog: false,
    syslogSocket: '/run/log', facility: 'local5', level: 'debug',
  });
});

test('clustering, attached arguments and --', () => {
  const c = run('-snldebug', '-c7', '-mux:x+ux:y', '--', 'ux:-z');
  assert.is(c.log.console, true);
  assert.is(c.log.syslog, false);
  assert.is(c.log.level, 'debug');
  assert.is(c.resources.total.clients, 7);
  assert.equal(c.domains.map((d) => d.sockets.map((s) => s.addr)), [['ux:-z'], ['ux:x', 'ux:y']]);
  // After '--' a word starting with '-' is a positional (and here an invalid address).
  usageError(['--', '-s'], 'invalid address "-s"');
});

test('options may follow positionals', () => {
  const c = run(ADDR, '-s', '-l', 'error');
  assert.is(c.log.console, true);
  assert.is(c.log.level, 'error');
  assert.is(c.domains.length, 1);
});

test('-f: file settings, overridden by options; CLI domains replace the file domains', () => {
  const fileOnly = parsePafdArgs(['-f', FILE]);
  assert.is(fileOnly.action, 'run');
  assert.equal(Object.keys(fileOnly).sort(), ['action', 'config', 'configFile']);
  assert.is((fileOnly as { configFile: string }).configFile, FILE);
  const f = (fileOnly as { config: ServerConfig }).config;
  assert.equal(f.domains, [{ name: 'filed', sockets: [{ addr: 'tcp:127.0.0.1:7000' }], protocolVersion: { min: 3, max: 3 }, idle: { min: 2, max: 9 } }]);
  assert.is(f.log.level, 'warning');

  // -f is loaded first even when it comes last; options win over the file.
  const c = run('-s', '-n', '-l', 'debug', '-c', '9', ADDR, '-f', FILE);
  assert.equal(c.domains, [{ sockets: [{ addr: ADDR }], ...CLI_DEFAULTS }]);
  assert.is(c.log.console, true);
  assert.is(c.log.syslog, false);
  assert.is(c.log.level, 'debug');
  assert.is(c.log.facility, 'local1');
  assert.is(c.log.file, '/tmp/from-file.log');
  assert.equal(c.resources, { total: { clients: 9, services: 60 }, user: { clients: 5 } });

  // Options apply in command-line order: the last one wins.
  assert.is(run('-l', 'error', '-f', FILE, '-l', 'critical').log.level, 'critical');
});

test('-c 0 means no client limit (B10), also over a file limit', () => {
  assert.equal(run('-c', '0', ADDR).resources.total, {});
  assert.equal(run('-f', FILE, '-c', '0').resources.total, { services: 60 });
  assert.ok(PAFD_USAGE.includes('0 means'));
});

test('-r hook', () => {
  const cmd = parsePafdArgs(['-r', './hook.js#ready', ADDR]);
  assert.equal(cmd.action === 'run' && cmd.hook, './hook.js#ready');
  const plain = parsePafdArgs([ADDR]);
  assert.ok(plain.action === 'run' && !('hook' in plain) && !('configFile' in plain));
});

test('-v and -h act when reached', () => {
  assert.equal(parsePafdArgs(['-v']), { action: 'version' });
  assert.equal(parsePafdArgs(['-h']), { action: 'help' });
  assert.equal(parsePafdArgs(['-h', '-v']), { action: 'help' });
  assert.equal(parsePafdArgs(['--help']), { action: 'help' });
  assert.equal(parsePafdArgs(['--version']), { action: 'version' });
  assert.equal(parsePafdArgs(['--version', '--help']), { action: 'version' });
  usageError(['--helpme'], 'option --helpme not recognized');
  assert.equal(parsePafdArgs(['-sv', 'tcp:bad:address:x']), { action: 'version' });
  // A bad value before -h is reached first.
  usageError(['-l', 'loud', '-h'], 'option -l');
  assert.equal(parsePafdArgs(['-h', '-l', 'loud']), { action: 'help' });
  // Option syntax is checked for the whole line first.
  usageError(['-h', '-Q'], 'option -Q not recognized');
});

test('usage text lists every option', () => {
  for (const o of ['-m', '-s', '-o', '-b', '-x', '-n', '-u', '-y', '-l', '-c', '-f', '-r', '-v', '-h']) {
    assert.ok(PAFD_USAGE.includes(`  ${o}`), o);
  }
});

test('bad option values', () => {
  usageError(['-b', 'two', ADDR], 'option -b: "two" is not a non-negative integer');
  usageError(['-b', '-1', ADDR], 'option -b');
  usageError(['-x', '1.5', ADDR], 'option -x');
  usageError(['-x', '', ADDR], 'option -x');
  usageError(['-c', '-1', ADDR], 'option -c');
  usageError(['-c', 'many', ADDR], 'option -c');
  usageError(['-c', '99999999999999999999', ADDR], 'option -c');
  usageError(['-l', 'bogus', ADDR], 'option -l: unknown log level "bogus" (valid: debug, info, warning, error, critical)');
  usageError(['-y', 'bogus', ADDR], 'option -y: unknown syslog facility "bogus"');
  usageError(['-m', 'tcp:127.0.0.1:1+', ADDR], 'option -m: empty address');
  usageError(['-m', 'tcp:host:70000'], 'option -m: invalid address "tcp:host:70000"');
  usageError(['-m', 'btls:*:1'], 'not a messaging transport usable by Pathfinder');
  usageError(['tcp:::1:99'], 'invalid address "tcp:::1:99"');
  usageError(['sctp:*:1'], 'not a messaging transport');
});

test('option syntax errors', () => {
  usageError(['-q', ADDR], 'option -q not recognized');
  usageError([ADDR, '-l'], 'option -l requires an argument');
  usageError(['-sf'], 'option -f requires an argument');
});

test('no domains configured', () => {
  usageError([], 'no domains configured');
  usageError(['-s', '-n'], 'no domains configured');
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, 'log: {console: true}\n');
  usageError(['-f', empty], 'no domains configured');
});

test('config file errors are ConfigError', () => {
  const missing = join(dir, 'nope.yaml');
  assert.throws(() => parsePafdArgs(['-f', missing, ADDR]),
    (e: unknown) => e instanceof ConfigError && e.message === `error reading configuration ${missing}: no such file`);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'log:\n  filter: loud\n');
  assert.throws(() => parsePafdArgs([ADDR, '-f', bad]),
    (e: unknown) => e instanceof ConfigError && e.message.includes('log.filter'));
  // The file is loaded before -h is reached (§1.3 step 1).
  assert.throws(() => parsePafdArgs(['-h', '-f', missing]), (e: unknown) => e instanceof ConfigError);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
