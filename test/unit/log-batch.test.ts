// Log lines below warning leave together, at most BATCH_DELAY_MS later
// (src/log/batch.ts); warnings and worse at once, with what waited before
// them; the rest at exit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { BATCH_DELAY_MS, LineBatch } from '../../src/log/batch';
import { Logger, consoleSink } from '../../src/log/logger';
import { PassThrough } from 'node:stream';

const CHILD = '--log-then-exit';
if (process.argv.includes(CHILD)) {
  const logger = new Logger('info');
  logger.setSinks([consoleSink(process.stderr)]);
  logger.info('before exit');
  process.exit(3);
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, BATCH_DELAY_MS + 5));

test('lines below warning are written together, after a short wait', async () => {
  const writes: string[] = [];
  const batch = new LineBatch((text) => writes.push(text));
  batch.add('a\n', false);
  batch.add('b\n', false);
  assert.equal(writes, []);
  await turn();
  assert.equal(writes, ['a\nb\n']);
  batch.add('c\n', false);
  await turn();
  assert.equal(writes, ['a\nb\n', 'c\n']);
  batch.close();
});

test('an urgent line goes at once, after what waited, in order', () => {
  const writes: string[] = [];
  const batch = new LineBatch((text) => writes.push(text));
  batch.add('info 1\n', false);
  batch.add('WARNING\n', true);
  assert.equal(writes, ['info 1\nWARNING\n']);
  batch.close();
});

test('the console sink: info waits for the turn, warning does not', async () => {
  const out = new PassThrough();
  let seen = '';
  out.on('data', (d) => { seen += d; });
  const logger = new Logger('debug');
  logger.setSinks([consoleSink(out)]);
  logger.info('first');
  logger.debug('second');
  await new Promise((r) => process.nextTick(r));
  assert.is(seen, '');
  logger.warning('third');
  await new Promise((r) => process.nextTick(r));
  assert.is(seen, 'INFO:pafd:first\nDEBUG:pafd:second\nWARNING:pafd:third\n');
});

test('what waits is written when the process exits', () => {
  // This file again, as a child that logs one info line and exits at once.
  const r = spawnSync(process.execPath, [__filename, CHILD], { encoding: 'utf8' });
  assert.is(r.status, 3);
  assert.is(r.stderr, 'INFO:pafd:before exit\n');
});

test.run();
