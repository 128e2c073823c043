// reloadServer (src/server/reload.ts) on an in-process server: what applies
// live, what is only reported, and that a failing check changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { systemClock } from '../../src/core/clock';
import type { ServerConfig } from '../../src/config/config';
import { parseConfigText } from '../../src/config/config';
import { Logger } from '../../src/log/logger';
import { LogOutputs } from '../../src/server/log-outputs';
import { reloadServer } from '../../src/server/reload';
import { PathfinderServer } from '../../src/server/server';

const BASE = `domains:
  - name: a
    sockets: [tcp:127.0.0.1:0]
  - sockets: [tcp:127.0.0.1:0]
resources: {user: {services: 1}}
log: {syslog: false}
`;

function config(text: string): ServerConfig { return parseConfigText(text, 'test.yaml'); }

async function withServer(fn: (server: PathfinderServer, outputs: LogOutputs) => void): Promise<void> {
  const log = new Logger();
  const outputs = new LogOutputs(log, {
    datagram: () => 'none', socketProblem: () => '', stderr: new PassThrough(), pid: 1,
  });
  const initial = config(BASE);
  outputs.apply(initial.log);
  const server = new PathfinderServer(initial, systemClock, log);
  await server.start();
  try {
    fn(server, outputs);
  } finally {
    await server.stop();
    outputs.close();
  }
}

test('idle limits, protocol versions and resource limits apply live; unchanged settings are not reported', async () => {
  await withServer((server, outputs) => {
    const [a, b] = server.domains;
    const report = reloadServer(server, config(BASE.replace('    sockets: [tcp:127.0.0.1:0]\n  - sockets',
      '    sockets: [tcp:127.0.0.1:0]\n    idle: {min: 2, max: 9}\n    protocol_version: {min: 3}\n  - sockets').replace('services: 1', 'services: 7')), outputs);
    assert.equal(report.notApplied, []);
    assert.equal(report.changes, [
      'protocol versions of domain a 2-3 -> 3-3',
      'idle limits of domain a 4-30 -> 2-9',
      'resource limits {"total":{},"user":{"services":7}}',
    ]);
    assert.equal(a!.liveness.idle, { min: 2, max: 9 });
    assert.equal(a!.protocolRange, { min: 3, max: 3 });
    assert.equal(b!.liveness.idle, { min: 4, max: 30 });
    for (const d of [a!, b!]) assert.equal(d.directory.limits.user, { services: 7 });
    assert.equal(reloadServer(server, config(BASE.replace('services: 1', 'services: 7').replace('    sockets: [tcp:127.0.0.1:0]\n  - sockets',
      '    sockets: [tcp:127.0.0.1:0]\n    idle: {min: 2, max: 9}\n    protocol_version: {min: 3}\n  - sockets')), outputs).changes, []);
  });
});

test('socket, name and domain-list changes are reported, not applied; that domain keeps its settings', async () => {
  await withServer((server, outputs) => {
    const next = config(`domains:
  - name: renamed
    sockets: [tcp:127.0.0.1:0]
    idle: {min: 1, max: 2}
  - sockets: [tcp:127.0.0.1:0, tcp:127.0.0.1:1]
  - sockets: [tcp:127.0.0.1:2]
resources: {user: {services: 3}}
log: {syslog: false}
metrics: {address: 127.0.0.1:0}
`);
    const report = reloadServer(server, next, outputs);
    assert.equal(report.notApplied, [
      'domain a renamed to renamed',
      'sockets of domain #1 [tcp:127.0.0.1:0] -> [tcp:127.0.0.1:0, tcp:127.0.0.1:1]',
      'new domain #2 with sockets [tcp:127.0.0.1:2]',
      'metrics endpoint (none) -> 127.0.0.1:0',
    ]);
    assert.equal(server.domains[0]!.liveness.idle, { min: 4, max: 30 }, 'not applied to the renamed domain');
    assert.is(server.domains.length, 2);
    assert.equal(server.domains[1]!.directory.limits.user, { services: 3 }, 'resources are global and apply');
  });
});

test('local_users and a uxf socket\'s mode and group need a restart: reported, not applied', async () => {
  await withServer((server, outputs) => {
    const report = reloadServer(server, config(BASE.replace('- name: a\n', '- name: a\n    local_users: per-uid\n')), outputs);
    assert.equal(report.notApplied, ['local_users of domain a shared -> per-uid']);
    assert.is(server.domains[0]!.settings.localUsers, undefined);
  });
  const dir = mkdtempSync(join(tmpdir(), 'paf-reload-'));
  const uxf = `uxf:${join(dir, 's')}`;
  const log = new Logger();
  const outputs = new LogOutputs(log, { datagram: () => 'none', socketProblem: () => '', stderr: new PassThrough(), pid: 1 });
  const server = new PathfinderServer(config(`domains: [{sockets: ["${uxf}"]}]\nlog: {syslog: false}\n`), systemClock, log);
  try {
    await server.start();
    const report = reloadServer(server, config(`domains: [{sockets: [{addr: "${uxf}", mode: 0600, group: 0}]}]\nlog: {syslog: false}\n`), outputs);
    assert.equal(report.notApplied, [`sockets of domain #0 [${uxf}] -> [${uxf} mode 0600 group 0]`]);
  } finally {
    await server.stop();
    outputs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a log file that fails the check changes nothing (TLS files: component test operations)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-reload-'));
  try {
    await withServer((server, outputs) => {
      const limited = BASE.replace('services: 1', 'services: 9').replace('- name: a', '- name: a\n    idle: {min: 5, max: 50}');
      assert.throws(() => reloadServer(server, config(limited.replace('log: {syslog: false}', `log: {syslog: false, log_file: ${join(dir, 'no', 'x.log')}}`)), outputs),
        /cannot open log file .*x\.log: ENOENT/);
      assert.equal(server.domains[0]!.directory.limits.user, { services: 1 });
      assert.equal(server.domains[0]!.liveness.idle, { min: 4, max: 30 });
      assert.is(outputs.current!.file, undefined);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
