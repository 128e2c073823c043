// Domain files (docs/client-library.md §3) and the client environment (§4).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DomainFileError, MAX_DOMAIN_FILE_SIZE, diffServers, domainsDirectory, offeredVersions, parseDomainFile, readDomainFile, sameServer,
} from '../../src/client/domain-files';
import { envTtl, readSettings } from '../../src/client/env';
import { linkIdleLimits } from '../../src/client/link';
import { readPafcDomain } from '../../src/cli/pafc/target';

function rejects(text: string, why: RegExp): void {
  assert.throws(() => parseDomainFile(text), (err: Error) => err instanceof DomainFileError && why.test(err.message));
}

test('line format: one address per line, comments and blank lines skipped', () => {
  const servers = parseDomainFile('# servers\n\ntcp:127.0.0.1:4711\n   # indented comment\nux:paf\n\t\ntls:[::1]:99\n');
  assert.equal(servers, [{ address: 'tcp:127.0.0.1:4711' }, { address: 'ux:paf' }, { address: 'tls:[::1]:99' }]);
});

test('line format: lines are verbatim, so a trailing space or CR invalidates the file', () => {
  rejects('tcp:127.0.0.1:4711 \n', /line 1/);
  rejects('tcp:127.0.0.1:4711\r\ntcp:127.0.0.1:4712\r\n', /line 1/);
  rejects('tcp:127.0.0.1:4711\n  tcp:127.0.0.1:4712\n', /line 2/);
  rejects('tcp:::1:99\n', /IPv6/);
  rejects('nonsense\n', /line 1/);
});

test('an empty file or one with comments only lists no servers', () => {
  assert.equal(parseDomainFile(''), []);
  assert.equal(parseDomainFile('# nothing yet\n\n'), []);
});

test('JSON format, recognized after leading whitespace, with every option', () => {
  const text = `  \r\n\t{
    "servers": [
      {"address": "tls:10.0.0.5:7300", "tlsCertificateFile": "/c.pem", "tlsKeyFile": "/k.pem",
       "tlsTrustedCaFile": "/ca.pem", "tlsCrlFile": "/crl.pem"},
      {"address": "tcp:paf2.example.net:7400", "localAddress": "tcp:10.0.0.9:0", "networkNamespace": "oam",
       "minProtocolVersion": 3, "minIdleTime": 2, "maxIdleTime": 10.5},
      {"address": "ux:local-paf", "maxProtocolVersion": 2, "comment": "unknown keys are ignored"}
    ]
  }`;
  assert.equal(parseDomainFile(text), [
    { address: 'tls:10.0.0.5:7300', tlsCertificateFile: '/c.pem', tlsKeyFile: '/k.pem', tlsTrustedCaFile: '/ca.pem', tlsCrlFile: '/crl.pem' },
    { address: 'tcp:paf2.example.net:7400', localAddress: 'tcp:10.0.0.9:0', networkNamespace: 'oam', minProtocolVersion: 3, minIdleTime: 2, maxIdleTime: 10.5 },
    { address: 'ux:local-paf', maxProtocolVersion: 2 },
  ]);
  assert.equal(parseDomainFile('{"servers": []}'), []);
});

test('JSON format: every rejection rule', () => {
  rejects('{"servers": [', /invalid JSON/);
  rejects('{"servers": 5}', /not an array/);
  rejects('{"other": []}', /missing/);
  rejects('{"servers": ["tcp:127.0.0.1:1"]}', /not an object/);
  rejects('{"servers": [{"localAddress": "tcp:127.0.0.1:0"}]}', /address is missing/);
  rejects('{"servers": [{"address": 5}]}', /must be a string/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "minProtocolVersion": "3"}]}', /integer/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "minProtocolVersion": 3.0}]}', /integer/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "minIdleTime": "2"}]}', /number/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "tlsKeyFile": "/k.pem"}]}', /only allowed for tls/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "minProtocolVersion": 3, "maxProtocolVersion": 2}]}', /minProtocolVersion/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1", "minIdleTime": 5, "maxIdleTime": 2}]}', /minIdleTime/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:70000"}]}', /port/);
  rejects('{"servers": [{"address": "tcp:127.0.0.1:1"}, {"address": "tcp:127.0.0.1:1"}]}', /twice/);
  rejects('[1, 2]', /line 1/);                 // not '{': the line format
  // TLS keys are fine for utls.
  assert.is(parseDomainFile('{"servers": [{"address": "utls:127.0.0.1:1", "tlsKeyFile": "/k.pem"}]}').length, 1);
});

test('readDomainFile: reads from the directory, rejects big files and non-names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-domains-'));
  writeFileSync(join(dir, 'd1'), 'tcp:127.0.0.1:1\n');
  assert.equal(await readDomainFile(dir, 'd1'), [{ address: 'tcp:127.0.0.1:1' }]);
  writeFileSync(join(dir, 'big'), '#'.repeat(MAX_DOMAIN_FILE_SIZE));
  await readDomainFile(dir, 'big').then(() => assert.unreachable('accepted'), (err: Error) => assert.match(err.message, /limit/));
  writeFileSync(join(dir, 'almost'), '#'.repeat(MAX_DOMAIN_FILE_SIZE - 1));
  assert.equal(await readDomainFile(dir, 'almost'), []);
  await readDomainFile(dir, 'missing').then(() => assert.unreachable('accepted'), (err: NodeJS.ErrnoException) => assert.is(err.code, 'ENOENT'));
  await readDomainFile(dir, '../etc').then(() => assert.unreachable('accepted'), (err: Error) => assert.instance(err, DomainFileError));
});

test('readDomainFile: a FIFO, a device or a directory is refused before any read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-domains-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  symlinkSync('/dev/zero', join(dir, 'zero'));
  mkdirSync(join(dir, 'sub'));
  for (const [name, why] of [['fifo', /not a regular file/], ['zero', /not a regular file/], ['sub', /EISDIR/]] as const) {
    const outcome = await Promise.race([
      readDomainFile(dir, name).then(() => 'accepted', (err: Error) => err.message),
      new Promise<string>((r) => setTimeout(() => r('hung'), 2000).unref()),
    ]);
    assert.match(outcome, why, name);
  }
});

test('pafc\'s reader: a FIFO or a device is an invalid domain file, a directory none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-domains-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  symlinkSync('/dev/zero', join(dir, 'zero'));
  mkdirSync(join(dir, 'sub'));
  for (const name of ['fifo', 'zero']) {
    const outcome = await Promise.race([
      readPafcDomain(dir, name).then(() => 'accepted', (err: Error) => `${err.name}: ${err.message}`),
      new Promise<string>((r) => setTimeout(() => r('hung'), 2000).unref()),
    ]);
    assert.match(outcome, /DomainFileError: .*not a regular file/, name);
  }
  assert.is(await readPafcDomain(dir, 'sub'), undefined);
  writeFileSync(join(dir, 'd'), 'tcp:127.0.0.1:1 \n');
  assert.equal(await readPafcDomain(dir, 'd'), [{ address: 'tcp:127.0.0.1:1' }]);
});

test('a domain file\'s idle limits keep the 1 s floor', () => {
  const settings = { reconnectMin: 0.01, reconnectMax: 5, idleMin: 4, idleMax: 30 };
  assert.equal(linkIdleLimits({ address: 'tcp:127.0.0.1:1', minIdleTime: 0 }, settings), { min: 1, max: 30 });
  assert.equal(linkIdleLimits({ address: 'tcp:127.0.0.1:1', minIdleTime: 0.2, maxIdleTime: 0.5 }, settings), { min: 1, max: 1 });
  assert.equal(linkIdleLimits({ address: 'tcp:127.0.0.1:1', maxIdleTime: 2 }, settings), { min: 4, max: 4 });
  assert.equal(linkIdleLimits({ address: 'tcp:127.0.0.1:1' }, settings), { min: 4, max: 30 });
});

test('domainsDirectory: option, then PAF_DOMAINS, then the default', () => {
  assert.is(domainsDirectory({}, '/x'), '/x');
  assert.is(domainsDirectory({ PAF_DOMAINS: '/y' }), '/y');
  assert.is(domainsDirectory({}), '/run/paf/domains.d');
});

test('rescan comparison: everything but the network namespace matters', () => {
  const base = { address: 'tls:h:1', tlsKeyFile: '/k', minIdleTime: 2 };
  assert.ok(sameServer(base, { ...base, networkNamespace: 'other' }));
  assert.not.ok(sameServer(base, { ...base, tlsKeyFile: '/k2' }));
  assert.not.ok(sameServer(base, { ...base, minIdleTime: 3 }));
  assert.not.ok(sameServer(base, { ...base, maxProtocolVersion: 2 }));
  const kept = { address: 'tcp:a:1' };
  const changedOld = { address: 'tcp:b:1' };
  const { removed, added } = diffServers([kept, changedOld], [{ address: 'tcp:a:1' }, { address: 'tcp:b:1', localAddress: 'tcp:1.2.3.4:0' }, { address: 'tcp:c:1' }]);
  assert.equal(removed, [changedOld]);
  assert.equal(added.map((s) => s.address), ['tcp:b:1', 'tcp:c:1']);
});

test('offered version range', () => {
  assert.equal(offeredVersions({ address: 'tcp:a:1' }), { min: 2, max: 3 });
  assert.equal(offeredVersions({ address: 'tcp:a:1', minProtocolVersion: 3 }), { min: 3, max: 3 });
  assert.equal(offeredVersions({ address: 'tcp:a:1', maxProtocolVersion: 2 }), { min: 2, max: 2 });
  assert.equal(offeredVersions({ address: 'tcp:a:1', minProtocolVersion: 1, maxProtocolVersion: 9 }), { min: 2, max: 3 });
  assert.is(offeredVersions({ address: 'tcp:a:1', minProtocolVersion: 4 }), undefined);
  assert.is(offeredVersions({ address: 'tcp:a:1', maxProtocolVersion: 1 }), undefined);
});

test('environment: defaults, complete-float parsing, idle floor, TTL rule', () => {
  const d = readSettings({});
  assert.equal(d, { domainsDir: '/run/paf/domains.d', debug: false, rescan: 5, reconnectMin: 0.01, reconnectMax: 5, idleMin: 4, idleMax: 30 });
  const s = readSettings({ PAF_DEBUG: 'true', PAF_RESCAN: '0', PAF_RECONNECT_MIN: '0.5', PAF_RECONNECT_MAX: '2e1', PAF_IDLE_MIN: '0.2', PAF_IDLE_MAX: '7x' });
  assert.equal(s, { domainsDir: '/run/paf/domains.d', debug: true, rescan: 0, reconnectMin: 0.5, reconnectMax: 20, idleMin: 1, idleMax: 30 });
  assert.is(readSettings({ PAF_DEBUG: '0' }).debug, false);
  assert.is(readSettings({ PAF_RESCAN: ' 3' }).rescan, 5, 'not a complete number');
  assert.is(envTtl({}), 30);
  assert.is(envTtl({ PAF_TTL: '0.3' }), 1);
  assert.is(envTtl({ PAF_TTL: '0' }), 0);
  assert.is(envTtl({ PAF_TTL: '7.9' }), 7);
  assert.is(envTtl({ PAF_TTL: 'soon' }), 30);
});

test.run();
