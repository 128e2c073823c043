// `pafd --check-config FILE` against the real bundle (issue 15): a file
// it passes must start, so it checks everything a start would short of
// binding: at least one domain, no socket address twice (within a domain
// or across domains), a log file whose directory exists, unknown keys
// anywhere (with a "did you mean"), and schema errors with the line and
// column. Each failure is one line on stderr and exit 1; a good file is one
// line on stdout and exit 0. The same files given to a start fail the same
// way before anything is bound.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../helpers/pafd';
import { assertOneLineFailure, runPafdBounded, tempFile } from '../helpers/robust';

const t = suite('check-config');

const dir = tempDir();
const domain = (sockets: string): string => `  - sockets: [${sockets}]\n`;

const BAD: [what: string, yaml: string, expected: RegExp][] = [
  ['the same tcp address twice in one domain', `domains:\n${domain('tcp:127.0.0.1:47110, tcp:127.0.0.1:47110')}`,
    /domains\[0\]\.sockets\[1\] \(tcp:127\.0\.0\.1:47110\): the same address as domains\[0\]\.sockets\[0\]/],
  ['a tcp wildcard and a tls address on the same port in two domains', `domains:\n${domain('tcp:*:47111')}${domain('tls:127.0.0.1:47111')}`,
    /domains\[1\]\.sockets\[0\] \(tls:127\.0\.0\.1:47111\): the same address as domains\[0\]\.sockets\[0\] \(tcp:\*:47111\)/],
  ['the same ux name in two domains', `domains:\n${domain('ux:paf-dup')}${domain('ux:paf-dup')}`,
    /domains\[1\]\.sockets\[0\] \(ux:paf-dup\): the same address as domains\[0\]\.sockets\[0\]/],
  ['a utls address whose ux half is a ux socket of another domain', `domains:\n${domain('ux:127.0.0.1:47112')}${domain('utls:127.0.0.1:47112')}`,
    /domains\[1\]\.sockets\[0\] \(utls:127\.0\.0\.1:47112\): the same address as domains\[0\]\.sockets\[0\] \(ux:127\.0\.0\.1:47112\)/],
  ['the same uxf path written two ways', `domains:\n${domain(`uxf:${dir}/s.sock`)}${domain(`uxf:${dir}/./s.sock`)}`,
    /domains\[1\]\.sockets\[0\] .*the same address as domains\[0\]\.sockets\[0\]/],
  ['a log file in a missing directory', `domains:\n${domain('tcp:127.0.0.1:0')}log:\n  log_file: ${dir}/missing/pafd.log\n`,
    /log\.log_file .*missing\/pafd\.log: directory .*missing does not exist/],
  ['a log file below a regular file', `domains:\n${domain('tcp:127.0.0.1:0')}log:\n  log_file: ${tempFile('plain', 'x')}/pafd.log\n`,
    /log\.log_file .*plain\/pafd\.log: .*plain is not a directory/],
  ['domains: []', 'domains: []\n', /no domains configured/],
  ['no domains at all', 'log:\n  syslog: false\n', /no domains configured/],
  ['an unknown top-level key next to the real one', `domains:\n${domain('tcp:127.0.0.1:0')}domian: x\n`,
    /line 3, column 1: domian: unknown parameter \(did you mean 'domains'\?\)/],
  ['a misspelt top-level key instead of the real one', `domain:\n${domain('tcp:127.0.0.1:0')}`,
    /line 1, column 1: domain: unknown parameter \(did you mean 'domains'\?\)/],
  ['an unknown key in log', `domains:\n${domain('tcp:127.0.0.1:0')}log:\n  filer: debug\n`,
    /line 4, column 3: log\.filer: unknown parameter \(did you mean 'filter'\?\)/],
  ['an unknown key in a domain', `domains:\n${domain('tcp:127.0.0.1:0')}    idle_max: 4\n`,
    /line 3, column 5: domains\[0\]\.idle_max: unknown parameter/],
  ['a schema error', `domains:\n${domain('tcp:127.0.0.1:0')}    idle: {min: 0}\n`,
    /line 3, column 17: domains\[0\]\.idle\.min: must be an integer/],
  ['a YAML error', 'domains: [\n', /line \d+, column \d+: YAML syntax error/],
];

for (const [what, yaml, expected] of BAD) {
  t(`--check-config refuses ${what}: one line, exit 1`, async () => {
    const file = join(dir, `${what.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, yaml);
    const r = await runPafdBounded(['--check-config', file]);
    const line = assertOneLineFailure(r, what);
    assert.is(r.stdout, '', what);
    assert.match(line, /^pafd: error reading configuration /, what);
    assert.match(line, expected, what);
  });
}

t('a start with a file that --check-config refuses fails the same way before binding', async () => {
  const file = tempFile('dup.yaml', `domains:\n${domain('tcp:127.0.0.1:0, ux:paf-start-dup')}${domain('ux:paf-start-dup')}`);
  const line = assertOneLineFailure(await runPafdBounded(['-n', '-f', file]), 'duplicate socket at start');
  assert.match(line, /cannot start: domains\[1\]\.sockets\[0\] \(ux:paf-start-dup\): the same address as domains\[0\]\.sockets\[1\]/);
  const unknown = tempFile('unknown.yaml', `domains:\n${domain('tcp:127.0.0.1:0')}loog: {}\n`);
  assert.match(assertOneLineFailure(await runPafdBounded(['-n', '-f', unknown]), 'unknown key at start'), /loog: unknown parameter \(did you mean 'log'\?\)/);
});

t('--check-config accepts distinct sockets, port 0 twice, distinct hosts on one port and a writable log directory', async () => {
  const file = tempFile('good.yaml', `domains:\n${domain('tcp:127.0.0.1:0, tcp:127.0.0.1:0, ux:paf-good')}` +
    `${domain('tcp:127.0.0.1:47113, tcp:127.0.0.2:47113, uxf:/tmp/paf-good.sock')}log:\n  log_file: ${dir}/pafd.log\n`);
  const r = await runPafdBounded(['--check-config', file]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.is(r.stdout, `pafd: configuration ${file} is valid\n`);
});

t.run();
