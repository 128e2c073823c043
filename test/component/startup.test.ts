// What pafd says when it starts or fails to (issue 15), against the real
// bundle: the start line reports each domain's own protocol versions, the
// effective configuration is logged at info in one line per domain,
// `--help` is accepted, and a start failure is one line on stderr also
// when the log goes to the console (-s), as the README promises.

import * as net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import { assertOneLineFailure, runPafdBounded } from '../helpers/robust';

const t = suite('startup');

t('the start line and the per-domain configuration lines tell the truth', async () => {
  const pafd = await startPafd([], {
    config: 'domains:\n  - name: east\n    protocol_version: {min: 3, max: 3}\n    idle: {min: 2, max: 9}\n    sockets: [tcp:127.0.0.1:0]\n' +
      '  - sockets: [tcp:127.0.0.1:0]\nresources:\n  total: {clients: 100, subscriptions: 7}\n  user: {clients: 10}\n',
  });
  try {
    const started = pafd.log.find((l) => /pafd \S+ started/.test(l))!;
    assert.match(started, /^INFO:pafd:pafd \S+ started: 2 domain\(s\), protocol versions 3 \(\[east\]\), 2 3 \(domain 2\), log level debug$/);
    const east = pafd.log.filter((l) => l.startsWith('INFO:pafd:[east] configuration: '));
    assert.is(east.length, 1, pafd.log.join('\n'));
    assert.is(east[0], `INFO:pafd:[east] configuration: sockets ${pafd.addresses[0]}; protocol versions 3; idle 2-9 s; ` +
      'limits clients 100 (10 per user), services unlimited, subscriptions 7');
    const second = pafd.log.filter((l) => l.startsWith('INFO:pafd:domain 2 configuration: '));
    assert.is(second.length, 1, pafd.log.join('\n'));
    assert.match(second[0]!, /protocol versions 2 3; idle 4-30 s;/);
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t('with every domain on the same versions the start line names them once', async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0', 'tcp:127.0.0.1:0']);
  try {
    assert.ok(pafd.log.some((l) => /started: 2 domain\(s\), protocol versions 2 3, log level debug$/.test(l)), pafd.log.join('\n'));
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t('--help prints the usage and exits 0, like -h', async () => {
  const long = await runPafdBounded(['--help']);
  const short = await runPafdBounded(['-h']);
  assert.is(long.code, 0);
  assert.match(long.stdout, /^Usage: pafd /);
  assert.match(long.stdout, /--check-config <file>/);
  assert.is(long.stdout, short.stdout);
  assert.is(long.stderr, '');
});

t('a bind failure with -s is one line on stderr, not the log record and a second copy', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const line = assertOneLineFailure(await runPafdBounded(['-s', '-n', `tcp:127.0.0.1:${port}`]), 'bind failure with -s');
    assert.match(line, new RegExp(`^ERROR:pafd:cannot start: .*${port}`));
    // With errors filtered out of the log (-l critical) the line still appears, once.
    const quiet = assertOneLineFailure(await runPafdBounded(['-s', '-n', '-l', 'critical', `tcp:127.0.0.1:${port}`]), 'bind failure with -s -l critical');
    assert.match(quiet, new RegExp(`^pafd: cannot start: .*${port}`));
    const dup = assertOneLineFailure(await runPafdBounded(['-s', '-n', 'ux:paf-s-dup', 'ux:paf-s-dup']), 'duplicate with -s');
    assert.match(dup, /^ERROR:pafd:cannot start: domains\[1\]\.sockets\[0\] \(ux:paf-s-dup\): the same address as domains\[0\]\.sockets\[0\]/);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

t.run();
