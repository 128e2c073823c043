import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AddressError, bindHost, formatAddress, isMessagingTransport, parseAddress, renderIpAddress,
} from '../../src/transport/address';

function rejects(text: string, fragment?: string): void {
  try {
    parseAddress(text);
  } catch (e) {
    assert.instance(e, AddressError, text);
    const msg = (e as Error).message;
    assert.not.ok(msg.includes('\n'), `one line: ${msg}`);
    if (fragment !== undefined) assert.ok(msg.includes(fragment), `${JSON.stringify(text)}: ${msg}`);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(text)}`);
}

test('spec valid examples', () => {
  assert.equal(parseAddress('tcp:*:7711'), { transport: 'tcp', host: '*', port: 7711 });
  assert.equal(parseAddress('tcp:[*]:7711'), { transport: 'tcp', host: '[*]', port: 7711 });
  assert.equal(parseAddress('tls:10.20.30.40:7711'), { transport: 'tls', host: '10.20.30.40', port: 7711 });
  assert.equal(parseAddress('tcp:[::1]:7099'), { transport: 'tcp', host: '[::1]', port: 7099 });
  assert.equal(parseAddress('tls:paf.example.net:7711'), { transport: 'tls', host: 'paf.example.net', port: 7711 });
  assert.equal(parseAddress('utls:127.0.0.1:0'), { transport: 'utls', host: '127.0.0.1', port: 0 });
  assert.equal(parseAddress('ux:my-domain'), { transport: 'ux', name: 'my-domain' });
  assert.equal(parseAddress('uxf:/run/paf/sock'), { transport: 'uxf', name: '/run/paf/sock' });
});

test('spec invalid examples', () => {
  rejects('tcp:::1:99', 'brackets');
  rejects('tcp:host:70000', 'port');
  rejects('tcp:host:x1', 'port');
  rejects('tcp::80', 'empty host');
  rejects('ux:', 'empty');
  rejects('ux:a b', 'whitespace');
  rejects('foo', "':'");
});

test('ux names: colons allowed, 107 bytes max', () => {
  assert.equal(parseAddress('ux:10.0.0.1:4711'), { transport: 'ux', name: '10.0.0.1:4711' });
  assert.equal(parseAddress('ux:' + 'a'.repeat(107)), { transport: 'ux', name: 'a'.repeat(107) });
  rejects('ux:' + 'a'.repeat(108), '107');
  // Counted in bytes like sun_path: 54 two-byte characters = 108 bytes.
  rejects('uxf:' + 'é'.repeat(54), '107');
  assert.is((parseAddress('uxf:' + 'é'.repeat(53)) as { name: string }).name.length, 53);
});

test('port: strtol-like', () => {
  const port = (t: string) => (parseAddress(t) as { port: number }).port;
  assert.is(port('tcp:host:+80'), 80);
  assert.is(port('tcp:host:0080'), 80);
  assert.is(port('tcp:host:'), 0);
  assert.is(port('tcp:host:65535'), 65535);
  assert.is(port('tcp:host:000000000000000000000001'), 1);
  rejects('tcp:host:65536', 'port');
  rejects('tcp:host:-1', 'port');
  rejects('tcp:host:+', 'port');
  rejects('tcp:host:99999999999999999999999', 'port');
  rejects('tcp:host:1x', 'port');
  rejects('tcp:host', 'missing port');
});

test('IPv4 literals and DNS names', () => {
  // Short forms are not IPv4 literals but still valid DNS-shaped names.
  assert.equal(parseAddress('tcp:10.1:80'), { transport: 'tcp', host: '10.1', port: 80 });
  assert.equal(parseAddress('tcp:256.1.1.1:80'), { transport: 'tcp', host: '256.1.1.1', port: 80 });
  assert.equal(parseAddress('tcp:Paf-1.Example.NET.:80'), { transport: 'tcp', host: 'Paf-1.Example.NET.', port: 80 });
  rejects('tcp:a_b:80', 'host');
  rejects('tcp:.a:80', 'host');
  rejects('tcp:a/b:80', 'host');
  rejects('tcp:' + 'a'.repeat(254) + ':80', 'host');
  assert.ok(parseAddress('tcp:' + 'a'.repeat(253) + ':80'));
  rejects('tcp:' + 'a.'.repeat(300) + ':1', 'longer than');
});

test('IPv6 literals (inet_pton rules)', () => {
  for (const ok of ['[::]', '[1::]', '[fd00::7]', '[1:2:3:4:5:6:7:8]', '[::ffff:1.2.3.4]', '[1:2:3:4:5:6:1.2.3.4]',
    '[FE80::A]', '[1:2:3:4:5:6:7::]', '[0000:0::1]']) {
    assert.is((parseAddress(`tcp:${ok}:1`) as { host: string }).host, ok);
  }
  for (const bad of ['[]', '[:1]', '[1:]', '[1:::2]', '[1::2::3]', '[1:2:3:4:5:6:7:8:9]', '[1:2:3:4::5:6:7:8]',
    '[12345::]', '[g::]', '[1.2.3.4]', '[1:2:3:4:5:6:7:1.2.3.4]', '[::1%eth0]', '[::1.2.3]', '[::01.2.3.4]']) {
    rejects(`tcp:${bad}:1`, 'IPv6');
  }
  rejects('tcp:[::1:1', 'host');
});

test('transport names and overall length', () => {
  rejects(':x', 'missing transport');
  rejects('http:host:80', 'unknown transport');
  rejects('x'.repeat(33) + ':a', 'too long');
  rejects('TCP:host:80', 'unknown transport');
  rejects('ux:' + 'a'.repeat(576), '578');
  for (const ws of ['\t', '\n', '\r', '\v', '\f']) rejects(`tcp:host:8${ws}0`, 'whitespace');
  for (const t of ['btcp', 'btls', 'sctp']) assert.is(parseAddress(`${t}:*:1`).transport, t);
});

test('formatAddress round-trips and normalizes the port', () => {
  for (const t of ['tcp:*:7711', 'tcp:[*]:7711', 'tls:[::1]:1', 'ux:a:b', 'uxf:/x', 'utls:h.example:0']) {
    assert.is(formatAddress(parseAddress(t)), t);
  }
  assert.is(formatAddress(parseAddress('tcp:h:+0080')), 'tcp:h:80');
  assert.is(formatAddress(parseAddress('tcp:h:')), 'tcp:h:0');
});

test('bindHost', () => {
  assert.is(bindHost('*'), '0.0.0.0');
  assert.is(bindHost('[*]'), '::');
  assert.is(bindHost('[::1]'), '::1');
  assert.is(bindHost('127.0.0.1'), '127.0.0.1');
  assert.is(bindHost('paf.example.net'), 'paf.example.net');
});

test('renderIpAddress', () => {
  assert.is(renderIpAddress('tcp', '10.0.0.7', 40122), 'tcp:10.0.0.7:40122');
  assert.is(renderIpAddress('tcp', 'fd00::7', 40122), 'tcp:[fd00::7]:40122');
  assert.is(renderIpAddress('tls', '::ffff:1.2.3.4', 5), 'tls:1.2.3.4:5');
  assert.is(renderIpAddress('tls', '::FFFF:102:304', 5), 'tls:1.2.3.4:5');
  assert.is(renderIpAddress('tcp', '::1', 1), 'tcp:[::1]:1');
  assert.is(renderIpAddress('tcp', 'FD00:0:0:0:0:0:0:7', 1), 'tcp:[fd00::7]:1');
  assert.is(renderIpAddress('tcp', '1:0:0:2:0:0:0:3', 1), 'tcp:[1:0:0:2::3]:1');
  assert.is(renderIpAddress('tcp', '1:0:2:3:4:5:6:7', 1), 'tcp:[1:0:2:3:4:5:6:7]:1');
  assert.is(renderIpAddress('tcp', '::', 1), 'tcp:[::]:1');
  assert.is(renderIpAddress('tcp', 'fe80::1%eth0', 1), 'tcp:[fe80::1]:1');
});

test('isMessagingTransport', () => {
  for (const t of ['ux', 'uxf', 'tcp', 'tls', 'utls'] as const) assert.ok(isMessagingTransport(t), t);
  for (const t of ['btcp', 'btls', 'sctp'] as const) assert.not.ok(isMessagingTransport(t), t);
});

test.run();
