// Syslog datagrams (src/log/syslog.ts): <PRI> from facility and level,
// the ident, truncation, and the sink's behaviour while syslog fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSLOG_FACILITIES } from '../../src/config/config';
import type { LogLevel } from '../../src/log/logger';
import { MAX_SYSLOG_MESSAGE, datagramTarget, syslogDatagram, syslogSink } from '../../src/log/syslog';

test('PRI is facility * 8 + severity; severities as docs/cli-and-config.md §1.5 maps them', () => {
  const daemon = SYSLOG_FACILITIES.get('daemon')!;
  const expected: [LogLevel, number][] = [['debug', 7], ['info', 6], ['warning', 4], ['error', 3], ['critical', 2]];
  for (const [level, severity] of expected) {
    assert.is(syslogDatagram(daemon, level, 42, 'x'), `<${3 * 8 + severity}>pafd[42]: x`, level);
  }
  assert.is(syslogDatagram(SYSLOG_FACILITIES.get('local7')!, 'critical', 1, 'm'), '<186>pafd[1]: m');
  assert.is(syslogDatagram(SYSLOG_FACILITIES.get('kern')!, 'debug', 7, ''), '<7>pafd[7]: ');
});

test('long messages are cut', () => {
  const d = syslogDatagram(3, 'info', 1, 'z'.repeat(MAX_SYSLOG_MESSAGE + 100));
  assert.is(d, `<30>pafd[1]: ${'z'.repeat(MAX_SYSLOG_MESSAGE)}`);
});

test('targets: a path, or @name for the abstract namespace', () => {
  assert.equal(datagramTarget('/dev/log'), { name: '/dev/log', abstract: false });
  assert.equal(datagramTarget('@syslog'), { name: 'syslog', abstract: true });
});

test('sink: one datagram per record; while sending fails records go to the fallback and the change is told once each way', () => {
  const sent: string[] = [];
  let failure: string | null = null;
  const fallback: string[] = [];
  const changes: (string | null)[] = [];
  const sink = syslogSink({
    target: { name: '/x/log', abstract: false },
    facility: 16,
    pid: 9,
    send: (name, abstract, data) => {
      assert.is(name, '/x/log');
      assert.is(abstract, false);
      if (failure === null) sent.push(data);
      return failure;
    },
    fallback: (level, m) => fallback.push(`${level}:${m}`),
    onStateChange: (f) => changes.push(f),
  });
  sink('info', 'one');
  failure = 'EAGAIN';
  sink('warning', 'two');
  sink('error', 'three');
  failure = null;
  sink('debug', 'four');
  assert.equal(sent, ['<134>pafd[9]: one', '<135>pafd[9]: four']);
  assert.equal(fallback, ['warning:two', 'error:three']);
  assert.equal(changes, ['EAGAIN', null]);
});

test.run();
