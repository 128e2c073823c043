// The shipped board configurations (targets/*.yaml) are valid pafd
// configurations with the properties docs/PACKAGING.md promises, each board
// has its environment file with the heap flags. (That a single executable
// finds its addon beside itself is proved on the executables by
// build/test-targets.mjs.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/config';

const TARGETS = join(process.cwd(), 'targets');
const yamlFiles = readdirSync(TARGETS).filter((f) => f.endsWith('.yaml')).sort();
const boards = yamlFiles.filter((f) => f !== 'default.yaml').map((f) => f.slice(0, -'.yaml'.length));
const MIN_BOARDS = 3;
const RESOURCE_TYPES = ['clients', 'services', 'subscriptions'] as const;

function load(name: string) {
  const file = join(TARGETS, name);
  return parseConfigText(readFileSync(file, 'utf8'), file);
}

test('at least three boards besides default.yaml', () => {
  assert.ok(boards.length >= MIN_BOARDS, boards.join(', '));
  for (const arch of ['armv7', 'aarch64', 'x86_64']) assert.ok(boards.some((b) => b.startsWith(arch)), `a board for ${arch}`);
});

test('every targets/*.yaml is accepted by the configuration reader', () => {
  for (const f of yamlFiles) {
    const config = load(f);
    assert.ok(config.domains.length >= 1, `${f}: a domain`);
  }
});

test('boards listen on a uxf: socket under /run/paf/ and an abstract ux: name', () => {
  for (const b of boards) {
    const addrs = load(`${b}.yaml`).domains.flatMap((d) => d.sockets.map((s) => s.addr));
    assert.ok(addrs.some((a) => a.startsWith('uxf:/run/paf/')), `${b}: ${addrs.join(' ')}`);
    assert.ok(addrs.some((a) => a.startsWith('ux:')), `${b}: ${addrs.join(' ')}`);
  }
});

test('boards limit every resource, per user no more than in total', () => {
  for (const b of boards) {
    const { total, user } = load(`${b}.yaml`).resources;
    for (const t of RESOURCE_TYPES) {
      assert.type(total[t], 'number', `${b}: total.${t}`);
      assert.type(user[t], 'number', `${b}: user.${t}`);
      assert.ok(user[t]! <= total[t]!, `${b}: user.${t} ${user[t]} > total ${total[t]}`);
    }
  }
});

test('boards log to syslog or a file, not to a console nobody reads', () => {
  for (const b of boards) {
    const { log } = load(`${b}.yaml`);
    assert.is(log.console, false, b);
    assert.ok(log.syslog || log.file !== undefined, b);
  }
});

test('larger boards get larger limits', () => {
  const clients = (b: string) => load(`${b}.yaml`).resources.total.clients!;
  const small = boards.find((b) => b.startsWith('armv7'))!;
  const host = boards.find((b) => b.startsWith('x86_64'))!;
  assert.ok(clients(small) < clients(host), `${clients(small)} < ${clients(host)}`);
});

test('each board has an environment file whose NODE_OPTIONS caps the old space', () => {
  for (const b of boards) {
    const env = join(TARGETS, `${b}.env`);
    assert.ok(existsSync(env), env);
    const m = /^NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(env, 'utf8'));
    assert.ok(m, `${b}.env: NODE_OPTIONS="..."`);
    const heap = /--max-old-space-size=(\d+)\b/.exec(m![1]!);
    assert.ok(heap && Number(heap[1]) > 0, `${b}.env: ${m![1]}`);
  }
});

test('the armv7 board serves metrics on loopback or not at all (its Node 20.11.0 misses later node:http fixes)', () => {
  const small = boards.filter((b) => b.startsWith('armv7'));
  assert.ok(small.length > 0);
  for (const b of small) {
    const { metrics } = load(`${b}.yaml`);
    if (metrics === undefined) continue;
    assert.ok(/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(metrics.host), `${b}: metrics on ${metrics.address}`);
  }
});

test.run();
