// pafc's pure parts: splitting and parsing what the user types, the
// command line, output formatting and tab completion.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProps } from '../../src/protocol/props';
import {
  ArgumentError, parseHexId, parsePropValue, parsePublishArgs, parseUint63, splitArgs, splitCommands,
} from '../../src/cli/pafc/args';
import { completePafc } from '../../src/cli/pafc/completion';
import {
  clientsTable, formatMatch, formatProps, formatTable, formatUptime, hexId, orphanTimeLeft, quoteString, servicesTable,
} from '../../src/cli/pafc/format';
import { parsePafcArgs } from '../../src/cli/pafc/options';
import { parsePafcDomainText } from '../../src/cli/pafc/target';

const isArgumentError = (e: Error): boolean => e instanceof ArgumentError;

const split = suite('splitArgs');

split('blanks separate words, runs of blanks count once', () => {
  assert.equal(splitArgs('  publish   1\t30  '), ['publish', '1', '30']);
  assert.equal(splitArgs(''), []);
});

split('single quotes are literal, double quotes escape \\ and "', () => {
  assert.equal(splitArgs(`services '(name=a b)'`), ['services', '(name=a b)']);
  assert.equal(splitArgs(`x 'a\\*b'`), ['x', 'a\\*b']);
  assert.equal(splitArgs(`x "say \\"hi\\" \\n"`), ['x', 'say "hi" \\n']);
  assert.equal(splitArgs(`x a'b c'"d"e`), ['x', 'ab cde']);
  assert.equal(splitArgs(`x '' ""`), ['x', '', '']);
});

split('a backslash outside quotes escapes the next character', () => {
  assert.equal(splitArgs('x a\\ b \\|'), ['x', 'a b', '|']);
});

split('unclosed quotes and a trailing backslash are errors', () => {
  assert.throws(() => splitArgs(`x 'abc`), (e: Error) => e instanceof ArgumentError && /closing/.test(e.message));
  assert.throws(() => splitArgs('x "abc'), isArgumentError);
  assert.throws(() => splitArgs('x \\'), isArgumentError);
});

split('-c text splits at semicolons outside quotes', () => {
  assert.equal(splitCommands('ping; publish 1 30 ; services'), ['ping', ' publish 1 30 ', ' services']);
  assert.equal(splitCommands(`services '(a=;)'; id`), [`services '(a=;)'`, ' id']);
  assert.equal(splitCommands('x a\\;b;; ;y'), ['x a\\;b', 'y']);
});

const values = suite('ids, integers and property values');

values('hex ids with and without 0x, up to 2^63-1', () => {
  assert.is(parseHexId('ff'), 255n);
  assert.is(parseHexId('0xFF'), 255n);
  assert.is(parseHexId('7fffffffffffffff'), (1n << 63n) - 1n);
  assert.throws(() => parseHexId('8000000000000000'), isArgumentError);
  assert.throws(() => parseHexId('0x'), isArgumentError);
  assert.throws(() => parseHexId('12g'), isArgumentError);
  assert.throws(() => parseHexId('-1'), isArgumentError);
});

values('generation and TTL are non-negative decimal 63-bit integers', () => {
  assert.is(parseUint63('0', 'ttl'), 0n);
  assert.is(parseUint63('9223372036854775807', 'ttl'), (1n << 63n) - 1n);
  assert.throws(() => parseUint63('9223372036854775808', 'ttl'), isArgumentError);
  assert.throws(() => parseUint63('-1', 'ttl'), isArgumentError);
  assert.throws(() => parseUint63('0x10', 'ttl'), isArgumentError);
  assert.throws(() => parseUint63('', 'ttl'), isArgumentError);
});

values('property values: |text| is a string, a decimal integer is an integer, the rest a string', () => {
  assert.is(parsePropValue('|42|'), '42');
  assert.is(parsePropValue('||'), '');
  assert.is(parsePropValue('|a b|'), 'a b');
  assert.is(parsePropValue('42'), 42n);
  assert.is(parsePropValue('-7'), -7n);
  assert.is(parsePropValue('+7'), 7n);
  assert.is(parsePropValue('4.2'), '4.2');
  assert.is(parsePropValue('|'), '|');
  assert.is(parsePropValue('|x'), '|x');
  assert.is(parsePropValue('0x10'), '0x10');
  assert.is(parsePropValue('-9223372036854775808'), -(1n << 63n));
  assert.throws(() => parsePropValue('9223372036854775808'), isArgumentError);
});

values('publish: an odd argument count starts with the service id', () => {
  const withId = parsePublishArgs(['0xab', '2', '30', 'name', 'foo', 'port', '80', 'port', '|80|']);
  assert.is(withId.serviceId, 0xabn);
  assert.is(withId.generation, 2n);
  assert.is(withId.ttl, 30n);
  assert.equal([...withId.props], [['name', ['foo']], ['port', [80n, '80']]]);
  const noId = parsePublishArgs(['0', '10', 'a', 'b']);
  assert.is(noId.serviceId, undefined);
  assert.is(noId.generation, 0n);
  assert.is(noId.ttl, 10n);
  assert.equal([...noId.props], [['a', ['b']]]);
  assert.is(parsePublishArgs(['1', '2']).props.size, 0);
  assert.throws(() => parsePublishArgs(['1']), (e: Error) => /usage: publish/.test(e.message));
  assert.throws(() => parsePublishArgs(['zz', '1', '2']), isArgumentError);
});

values('publish: a property without its value is named as such', () => {
  const missing = (args: string[], name: string) => assert.throws(() => parsePublishArgs(args),
    (e: Error) => isArgumentError(e) && e.message.startsWith(`property "${name}" has no value: properties come as <name> <value> pairs`), args.join(' '));
  missing(['0', '30', 'name'], 'name');
  missing(['0', '30', 'name', 'x', 'port'], 'port');
  missing(['1f', '0', '30', 'name'], 'name');
  missing(['0x1f', '0', '30', 'a', 'b', 'c'], 'c');
  // A real id, generation and TTL are still taken as such.
  assert.is(parsePublishArgs(['1f', '0', '30']).serviceId, 0x1fn);
  assert.throws(() => parsePublishArgs(['1f', 'x', '30']), (e: Error) => /generation "x"/.test(e.message));
});

const format = suite('output formatting');

format('props as a Python dict, one entry per value, strings quoted', () => {
  const props = makeProps([['name', ['value']], ['port', [8080n, '8080']], ['q', ["it's"]], ['e', ['a\\b\n']]]);
  assert.is(formatProps(props), `{'name': 'value', 'port': 8080, 'port': '8080', 'q': "it's", 'e': 'a\\\\b\\n'}`);
  assert.is(formatProps(makeProps([])), '{}');
  assert.is(quoteString(`a'b"c`), `'a\\'b"c'`);
});

format('ids, uptimes and orphan timeouts', () => {
  assert.is(hexId(255n), '0xff');
  assert.is(formatUptime(0), '0:00:00');
  assert.is(formatUptime(3725.9), '1:02:05');
  assert.is(formatUptime(36000), '10:00:00');
  assert.is(orphanTimeLeft(undefined, 30n, 100), '-');
  assert.is(orphanTimeLeft(100, 30n, 112.5), '17.5');
  assert.is(orphanTimeLeft(100, 30n, 200), '0.0');
});

format('tables pad every column but the last', () => {
  assert.equal(formatTable(['A', 'Long header'], [['xyz', '1'], ['x', '']]), ['A    Long header', 'xyz  1', 'x    ']);
  const services = servicesTable([{ serviceId: 0x10n, generation: 3n, ttl: 60n, clientId: 0xcn, props: makeProps([['a', [1n]]]), orphanSince: 1000 }], 1010);
  assert.equal(services, [
    'Service Id  Generation  TTL  Orphan Timeout  Client Id  Properties',
    "0x10        3           60   50.0            0xc        {'a': 1}",
  ]);
});

format('clients: idle, latency and version only on v3', () => {
  const list = [{ clientId: 1n, address: 'tcp:127.0.0.1:5000', time: 1000n, idle: 1.5, version: 3, latency: 0.0123 }];
  assert.equal(clientsTable(list, false, 1061), ['Client Id  Remote Address      Uptime', '0x1        tcp:127.0.0.1:5000  0:01:01']);
  assert.equal(clientsTable(list, true, 1061)[1], '0x1        tcp:127.0.0.1:5000  0:01:01  1.500  12.3 ms  3');
  assert.equal(clientsTable([{ ...list[0]!, latency: undefined }], true, 1061)[1]!.split(/ {2,}/)[4], '-');
});

format('match lines carry what the notification has', () => {
  assert.is(formatMatch(0xan, { matchType: 'disappeared', serviceId: 0xbn }, 0), 'Subscription 0xa: disappeared service 0xb');
  assert.is(formatMatch(0xan, {
    matchType: 'modified', serviceId: 0xbn, generation: 2n, ttl: 30n, clientId: 0xcn, props: makeProps([['n', ['x']]]), orphanSince: 100,
  }, 110), "Subscription 0xa: modified service 0xb generation 2 ttl 30 orphan-timeout 20.0 owner 0xc props {'n': 'x'}");
});

const complete = suite('tab completion');

complete('command names, with a blank after a unique one taking arguments', () => {
  assert.equal(completePafc('pu'), [['publish '], 'pu']);
  assert.equal(completePafc('qu'), [['quit'], 'qu']);
  assert.equal(completePafc('subscr'), [['subscriptions', 'subscribe'], 'subscr']);
  assert.equal(completePafc(''), [['id', 'hello', 'version', 'ping', 'track', 'clients', 'services', 'subscriptions', 'publish', 'unpublish', 'subscribe', 'unsubscribe', 'help', 'quit'], '']);
  assert.equal(completePafc('xyz'), [[], 'xyz']);
});

complete('track subcommands and help topics', () => {
  assert.equal(completePafc('track '), [['query', 'verbose', 'quiet'], '']);
  assert.equal(completePafc('track q'), [['query', 'quiet'], 'q']);
  assert.equal(completePafc('track v'), [['verbose'], 'v']);
  assert.equal(completePafc('help unp'), [['unpublish'], 'unp']);
  assert.equal(completePafc('publish 1'), [[], '1']);
  assert.equal(completePafc('track query x'), [[], 'x']);
});

const options = suite('pafc command line');

options('address with id, version and -c commands', () => {
  assert.equal(parsePafcArgs(['-i', 'ff', '-p', '2', '-c', 'ping; id', '-c', 'quit', 'tcp:1.2.3.4:5']), {
    kind: 'connect', target: 'tcp:1.2.3.4:5', clientId: 255n, version: 2, commands: ['ping', ' id', 'quit'], timeoutSeconds: 5,
  });
  assert.equal(parsePafcArgs(['-p3', 'dom', '-n', '1']), { kind: 'connect', target: 'dom', version: 3, serverIndex: 1, timeoutSeconds: 5 });
  assert.equal(parsePafcArgs(['-c', '', 'x']), { kind: 'connect', target: 'x', commands: [], timeoutSeconds: 5 });
  assert.equal(parsePafcArgs(['-t', '0.5', 'x']), { kind: 'connect', target: 'x', timeoutSeconds: 0.5 });
  assert.equal(parsePafcArgs(['-t12', 'x']), { kind: 'connect', target: 'x', timeoutSeconds: 12 });
});

options('listing and help forms', () => {
  assert.equal(parsePafcArgs(['-h']), { kind: 'help' });
  assert.equal(parsePafcArgs(['-l']), { kind: 'list-domains' });
  assert.equal(parsePafcArgs(['-a', 'dom']), { kind: 'list-addresses', domain: 'dom' });
  assert.equal(parsePafcArgs(['--', '-odd']), { kind: 'connect', target: '-odd', timeoutSeconds: 5 });
});

options('bad command lines', () => {
  for (const argv of [[], ['a', 'b'], ['-p', '4', 'x'], ['-p', '1', 'x'], ['-i', 'zz', 'x'], ['-n', '-1', 'x'], ['-x', 'a'], ['-i'], ['-l', 'x'],
    ['-t', '0', 'x'], ['-t', '-1', 'x'], ['-t', 'soon', 'x'], ['-t', '1e3', 'x'], ['-t', '9999999', 'x']]) {
    assert.throws(() => parsePafcArgs(argv), isArgumentError, argv.join(' '));
  }
});

options('pafc trims the lines of a line-format domain file', () => {
  assert.equal(parsePafcDomainText('# servers\n  tcp:127.0.0.1:4711  \r\n\n tls:a:1\n'), [{ address: 'tcp:127.0.0.1:4711' }, { address: 'tls:a:1' }]);
  assert.equal(parsePafcDomainText('{"servers": [{"address": "tcp:1.2.3.4:5", "maxProtocolVersion": 2}]}'),
    [{ address: 'tcp:1.2.3.4:5', maxProtocolVersion: 2 }]);
});

split.run();
values.run();
format.run();
complete.run();
options.run();
