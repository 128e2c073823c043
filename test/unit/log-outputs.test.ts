// Log destinations from the `log` settings (src/server/log-outputs.ts): the
// syslog fallback to the console (S4 of this server: warn once, keep
// running), level filtering for every destination, and prepare/commit so
// that a reload with an unusable log file changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { LogConfig } from '../../src/config/config';
import { defaultConfig } from '../../src/config/config';
import { Logger } from '../../src/log/logger';
import type { LogDependencies } from '../../src/server/log-outputs';
import { LogOutputs } from '../../src/server/log-outputs';
import { flushLogBatches } from '../../src/log/batch';

interface World {
  deps: LogDependencies;
  console: string[];
  datagrams: { name: string; abstract: boolean; data: string }[];
}

function world(opts: { addon?: string; socketProblem?: string } = {}): World {
  const stderr = new PassThrough();
  const w: World = { console: [], datagrams: [], deps: undefined as unknown as LogDependencies };
  stderr.on('data', (d: Buffer) => w.console.push(...d.toString().split('\n').filter((l) => l !== '')));
  w.deps = {
    datagram: () => opts.addon ?? ((name, abstract, data) => { w.datagrams.push({ name, abstract, data }); return null; }),
    socketProblem: () => opts.socketProblem ?? '',
    stderr,
    pid: 77,
  };
  return w;
}

function logConfig(patch: Partial<LogConfig>): LogConfig {
  return { ...defaultConfig().log, ...patch };
}

/** Lets the PassThrough deliver what was written. */
/** What waits in the log batches (src/log/batch.ts) is written now; then the stream's data events run. */
const flush = () => { flushLogBatches(); return new Promise((resolve) => setImmediate(resolve)); };

test('default settings with syslog available: datagrams only, nothing on the console', async () => {
  const w = world();
  const log = new Logger();
  new LogOutputs(log, w.deps).apply(logConfig({}));
  log.info('hello');
  log.debug('filtered');
  await flush();
  assert.equal(w.datagrams, [{ name: '/dev/log', abstract: false, data: '<30>pafd[77]: hello' }]);
  assert.equal(w.console, []);
});

test('no syslog socket: one warning, then everything on the console (the server keeps running)', async () => {
  const w = world({ socketProblem: 'no such file' });
  const log = new Logger();
  new LogOutputs(log, w.deps).apply(logConfig({ syslogSocket: '/run/none' }));
  log.info('after');
  await flush();
  assert.equal(w.console, [
    'WARNING:pafd:syslog socket /run/none cannot be used (no such file); logging to the console instead',
    'INFO:pafd:after',
  ]);
  assert.equal(w.datagrams, []);
});

test('no addon: the same one warning naming why', async () => {
  const w = world({ addon: 'native addon paf_native.node for x64 not found' });
  const log = new Logger();
  new LogOutputs(log, w.deps).apply(logConfig({}));
  await flush();
  assert.is(w.console.length, 1);
  assert.match(w.console[0]!, /^WARNING:pafd:syslog socket \/dev\/log cannot be used \(native addon .* not found\); logging to the console instead$/);
});

test('an abstract syslog name is not stat()ed; facility and level apply', async () => {
  const w = world({ socketProblem: 'must not be asked' });
  const log = new Logger();
  new LogOutputs(log, w.deps).apply(logConfig({ syslogSocket: '@log', facility: 'local1', level: 'warning', console: true }));
  log.info('dropped');
  log.error('kept');
  await flush();
  assert.equal(w.datagrams, [{ name: 'log', abstract: true, data: '<139>pafd[77]: kept' }]);
  assert.equal(w.console, ['ERROR:pafd:kept']);
});

test('a reload whose log file cannot be opened throws from prepare and leaves the running outputs alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paf-outputs-'));
  try {
    const w = world();
    const log = new Logger();
    const outputs = new LogOutputs(log, w.deps);
    const file = join(dir, 'a.log');
    outputs.apply(logConfig({ syslog: false, file }));
    assert.throws(() => outputs.prepare(logConfig({ syslog: false, console: true, file: join(dir, 'no', 'b.log'), level: 'debug' })),
      /^cannot open log file .*b\.log: ENOENT$/);
    log.debug('not at info');
    log.info('still to the file only');
    await flush();
    assert.equal(w.console, []);
    assert.match(readFileSync(file, 'utf8'), /^\S+ INFO still to the file only\n$/);
    // A good reload switches everything at once.
    outputs.apply(logConfig({ syslog: false, console: true, level: 'debug' }));
    log.debug('now debug on the console');
    await flush();
    assert.equal(w.console, ['DEBUG:pafd:now debug on the console']);
    assert.is(readFileSync(file, 'utf8').split('\n').length, 2, 'the old file got nothing more');
    outputs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
