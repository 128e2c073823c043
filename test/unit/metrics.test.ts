// Pieces of the metrics endpoint that need no server: close-reason
// categories, the round-trip histogram, the `metrics` config section and
// the --check-config command line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseConfigText, parseMetricsAddress } from '../../src/config/config';
import { UsageError, parsePafdArgs } from '../../src/config/options';
import { DomainCounters, RTT_BUCKETS, closeCategory } from '../../src/server/metrics';

test('close reasons become a small label set', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'peer-closed'], ['closed by peer', 'peer-closed'], ['closed', 'peer-closed'],
    ['idle timeout', 'idle-timeout'], ['handshake timeout', 'handshake-timeout'],
    ['server shutting down', 'shutdown'], ['connection limit reached', 'connection-limit'],
    ['output queue overflow', 'output-overflow'], ['internal error', 'internal-error'],
    ['protocol error: bad JSON at 3', 'protocol-error'], ['framing error: frame too long', 'protocol-error'],
    ['outgoing message of 300000 bytes exceeds the transport limit', 'message-too-large'],
    ['transport error: ECONNRESET', 'transport-error'],
  ];
  for (const [reason, category] of cases) assert.is(closeCategory(reason), category, String(reason));
});

test('round-trip histogram: bucket by upper bound, +Inf last; sum and count', () => {
  const c = new DomainCounters();
  c.observeRtt(0.001);          // exactly on a bound: that bucket
  c.observeRtt(0.003);
  c.observeRtt(1000);
  assert.is(c.rttBuckets[0], 1);
  assert.is(c.rttBuckets[RTT_BUCKETS.indexOf(0.005)], 1);
  assert.is(c.rttBuckets[RTT_BUCKETS.length], 1);
  assert.is(c.rttCount, 3);
  assert.ok(Math.abs(c.rttSum - 1000.004) < 1e-9);
  c.connectionClosed('idle-timeout');
  c.connectionClosed('idle-timeout');
  assert.equal([...c.closed], [['idle-timeout', 2]]);
});

test('metrics section: absent by default, host:port or [v6]:port, errors name the key', () => {
  assert.is(parseConfigText('log: {}\n', 't').metrics, undefined);
  assert.is(parseConfigText('metrics: ~\n', 't').metrics, undefined);
  assert.equal(parseConfigText('metrics: {address: 127.0.0.1:9464}\n', 't').metrics, { address: '127.0.0.1:9464', host: '127.0.0.1', port: 9464 });
  assert.equal(parseMetricsAddress('[::1]:0'), { address: '[::1]:0', host: '::1', port: 0 });
  assert.equal(parseMetricsAddress('localhost:80'), { address: 'localhost:80', host: 'localhost', port: 80 });
  for (const bad of ['9464', '127.0.0.1', '::1:9464', 'host:70000', 'a b:1', '']) assert.is(parseMetricsAddress(bad), undefined, bad);
  const rejects = (yaml: string, fragment: string) => {
    try {
      parseConfigText(yaml, 't');
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.ok((e as Error).message.includes(fragment), (e as Error).message);
      return;
    }
    assert.unreachable(yaml);
  };
  rejects('metrics: {}\n', 'metrics.address: required parameter missing');
  rejects('metrics: {address: nowhere}\n', 'metrics.address: invalid address "nowhere"');
  rejects('metrics: {address: 1.2.3.4:5, path: /m}\n', 'metrics.path: unknown parameter');
  rejects('metrics: 9464\n', 'metrics: must be a mapping');
});

test('--check-config FILE (or =FILE) stands alone', () => {
  assert.equal(parsePafdArgs(['--check-config', '/etc/paf.yaml']), { action: 'check-config', file: '/etc/paf.yaml' });
  assert.equal(parsePafdArgs(['--check-config=/etc/paf.yaml']), { action: 'check-config', file: '/etc/paf.yaml' });
  for (const argv of [['--check-config'], ['--check-config='], ['--check-config', 'f', '-s'], ['-s', '--check-config=f'], ['--checkconfig', 'f']]) {
    assert.throws(() => parsePafdArgs(argv), (e: unknown) => e instanceof UsageError, argv.join(' '));
  }
});

test.run();
