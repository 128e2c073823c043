// The server's fast input path (src/protocol/reader.ts) on examples: the
// requests clients really send must take it, and give exactly what the
// general path (decodeUtf8 → parseJson → validateMessage → decodeProps)
// gives; everything outside its narrow grammar must be declined
// (undefined), and for those the general path's own verdict is pinned too,
// so that declining is never mistaken for rejecting.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonError } from '../../src/protocol/json';
import type { PropValue } from '../../src/protocol/props';
import { MAX_UINT63, ProtocolError } from '../../src/protocol/schema';
import type { Message, ProtocolVersion } from '../../src/protocol/schema';
import { readRequest } from '../../src/protocol/reader';
import { divergence, generalOutcome, generalRead } from '../helpers/reader-contract';

/** A message text: envelope plus members (a JSON object body without braces). */
function text(cmd: string, type: string, body = '', taId = '1'): string {
  return `{"ta-cmd":${JSON.stringify(cmd)},"ta-id":${taId},"msg-type":${JSON.stringify(type)}${body ? ',' + body : ''}}`;
}

const publish = (props: string, ids = '"service-id":880011,"generation":3', ttl = '20'): string =>
  text('publish', 'request', `${ids},"service-props":${props},"ttl":${ttl}`);

/** A failed assertion, typed as not returning (assert.unreachable is typed void). */
function fail(message: string): never {
  throw new assert.Assertion({ message, operator: 'unreachable', expects: undefined, actual: undefined });
}

/** Reads `msg` on the fast path, asserts it took it and that the general path agrees; the fast message. */
function fast(msg: string | Buffer, version: ProtocolVersion): Message {
  const bytes = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
  const m = readRequest(bytes, version);
  if (m === undefined) fail(`fast path declined (v${version}): ${bytes.toString('latin1')}`);
  const why = divergence(m, generalOutcome(bytes, version));
  if (why !== undefined) fail(`fast and general paths differ on ${bytes.toString('latin1')}: ${why}`);
  return m;
}

/** The fast path declines `msg`, and the general path accepts it; the general message. */
function declinedAccepted(msg: string | Buffer, version: ProtocolVersion): Message {
  const bytes = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
  assert.is(readRequest(bytes, version), undefined, `fast path took (v${version}): ${bytes.toString('latin1')}`);
  return generalRead(bytes, version);
}

/** The fast path declines `msg`, and the general path rejects it with `error` matching `pattern`. */
function declinedRejected(msg: string | Buffer, version: ProtocolVersion, error: typeof ProtocolError | typeof JsonError, pattern: RegExp): void {
  const bytes = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
  assert.is(readRequest(bytes, version), undefined, `fast path took (v${version}): ${bytes.toString('latin1')}`);
  const outcome = generalOutcome(bytes, version);
  if (!(outcome instanceof Error)) fail(`general path accepted ${bytes.toString('latin1')}`);
  assert.instance(outcome, error, `error type for ${bytes.toString('latin1')}: ${outcome.name}: ${outcome.message}`);
  assert.match(outcome.message, pattern);
}

/** Decoded props as plain [name, values] pairs, bigints kept, for deep equality. */
function entries(m: Message): [string, readonly PropValue[]][] {
  assert.ok(m.props, 'props decoded');
  return [...m.props!.props];
}

const VERSIONS: ProtocolVersion[] = [2, 3];

// ---------------------------------------------------------------------------
const taken = suite('reader: what clients send takes the fast path');

/** Every to-server message of every command, as libpaf writes them (compact). */
const REQUESTS: { name: string; msg: string; versions: ProtocolVersion[] }[] = [
  { name: 'hello', msg: text('hello', 'request', '"client-id":4611686018427387905,"protocol-minimum-version":2,"protocol-maximum-version":3', '0'), versions: VERSIONS },
  { name: 'subscribe with filter', msg: text('subscribe', 'request', '"subscription-id":5177,"filter":"(&(name=billing)(zone=eu-*))"'), versions: VERSIONS },
  { name: 'subscribe without filter', msg: text('subscribe', 'request', '"subscription-id":5177'), versions: VERSIONS },
  { name: 'unsubscribe', msg: text('unsubscribe', 'request', '"subscription-id":5177'), versions: VERSIONS },
  { name: 'subscriptions', msg: text('subscriptions', 'request'), versions: VERSIONS },
  { name: 'services with filter', msg: text('services', 'request', '"filter":"(name=billing)"'), versions: VERSIONS },
  { name: 'services without filter', msg: text('services', 'request'), versions: VERSIONS },
  { name: 'publish', msg: publish('{"name":["billing"],"port":[8443,"8443"],"zone":["eu-1","eu-2"]}'), versions: VERSIONS },
  { name: 'unpublish', msg: text('unpublish', 'request', '"service-id":880011'), versions: VERSIONS },
  { name: 'ping', msg: text('ping', 'request'), versions: VERSIONS },
  { name: 'clients', msg: text('clients', 'request'), versions: VERSIONS },
  { name: 'track request', msg: text('track', 'request'), versions: [3] },
  { name: 'track inform', msg: text('track', 'inform', '"track-type":"reply"'), versions: [3] },
];

for (const { name, msg, versions } of REQUESTS) {
  for (const v of versions) {
    taken(`${name} (v${v})`, () => {
      const m = fast(msg, v);
      const [cmd, type] = [JSON.parse(msg)['ta-cmd'], JSON.parse(msg)['msg-type']];
      assert.is(m.cmd, cmd);
      assert.is(m.type, type);
    });
  }
}

taken('the fields, values and their order are the message\'s', () => {
  const m = fast(text('subscribe', 'request', '"filter":"(a=b)","subscription-id":42', '7'), 3);
  assert.is(m.taId, 7n);
  assert.equal(Object.keys(m.fields), ['ta-cmd', 'ta-id', 'msg-type', 'filter', 'subscription-id']);
  assert.is(m.fields['subscription-id'], 42n);
  assert.is(m.fields['filter'], '(a=b)');
  assert.is(m.props, undefined);
});

taken('publish: service-props left out of fields, decoded into props with their sizes', () => {
  const m = fast(publish('{"name":["billing"],"port":[8443,"8443"]}'), 2);
  assert.equal(Object.keys(m.fields), ['ta-cmd', 'ta-id', 'msg-type', 'service-id', 'generation', 'ttl']);
  assert.equal(entries(m), [['name', ['billing']], ['port', [8443n, '8443']]]);
  assert.equal({ names: m.props!.names, values: m.props!.values, chars: m.props!.chars }, { names: 2, values: 3, chars: 4 + 7 + 4 + 4 });
});

taken('publish with no props at all', () => {
  const m = fast(publish('{}'), 3);
  assert.equal(entries(m), []);
  assert.equal({ names: m.props!.names, values: m.props!.values, chars: m.props!.chars }, { names: 0, values: 0, chars: 0 });
});

taken('the Python client\'s separators ", " and ": "', () => {
  for (const v of VERSIONS) {
    fast('{"ta-cmd": "hello", "ta-id": 0, "msg-type": "request", "client-id": 8913470931, "protocol-minimum-version": 2, "protocol-maximum-version": 3}', v);
    const m = fast('{"ta-cmd": "publish", "ta-id": 3, "msg-type": "request", "service-id": 77, "generation": 0, '
      + '"service-props": {"name": ["x"], "port": [1, 2]}, "ttl": 30}', v);
    assert.equal(entries(m), [['name', ['x']], ['port', [1n, 2n]]]);
    fast('{"ta-cmd": "subscribe", "ta-id": 4, "msg-type": "request", "subscription-id": 5, "filter": "(name=x)"}', v);
  }
  fast('{"ta-cmd": "track", "ta-id": 9, "msg-type": "inform", "track-type": "reply"}', 3);
});

taken('any JSON whitespace around every token, and none', () => {
  const m = fast(' \t\r\n{ "ta-cmd"\n:\t"publish" ,\r\n"ta-id" : 1 , "msg-type":"request","service-id":2,"generation":3,'
    + '"service-props" :\n{ "a" : [ "x" , 1 ] ,"b":[ ] , "c":[\t-5\t] } ,"ttl":4 }\n\t ', 3);
  assert.equal(entries(m), [['a', ['x', 1n]], ['c', [-5n]]]);
  fast('{"ta-cmd":"ping","ta-id":1,"msg-type":"request"}', 2);
});

taken('19-digit ids up to 2^63-1', () => {
  const max = MAX_UINT63.toString();
  assert.is(max, '9223372036854775807');
  for (const id of ['1000000000000000', '999999999999999', '1000000000000000000', '9223372036854775806', max]) {
    const m = fast(text('publish', 'request', `"service-id":${id},"generation":${id},"service-props":{},"ttl":${id}`, id), 3);
    assert.is(m.taId, BigInt(id));
    assert.is(m.fields['service-id'], BigInt(id));
    assert.is(m.fields['generation'], BigInt(id));
    assert.is(m.fields['ttl'], BigInt(id));
    fast(text('hello', 'request', `"client-id":${id},"protocol-minimum-version":2,"protocol-maximum-version":${id}`, id), 2);
    fast(text('subscribe', 'request', `"subscription-id":${id}`, id), 2);
  }
});

taken('negative and 19-digit integer prop values within int64', () => {
  const m = fast(publish('{"n":[-1,0,-0,9223372036854775807,-9223372036854775808,-1000000000000000,1000000000000000000,-999999999999999]}'), 2);
  assert.equal(entries(m), [['n', [-1n, 0n, 9223372036854775807n, -9223372036854775808n, -1000000000000000n, 1000000000000000000n, -999999999999999n]]]);
  assert.is(m.props!.values, 7, '-0 is 0, a duplicate');
});

taken('multi-valued props: duplicates removed, the first kept, 1 and "1" distinct', () => {
  const m = fast(publish('{"a":["x","y","x","z","y"],"n":[1,2,1,"1",2],"s":["same","same"],"one":[7]}'), 3);
  assert.equal(entries(m), [['a', ['x', 'y', 'z']], ['n', [1n, 2n, '1']], ['s', ['same']], ['one', [7n]]]);
  assert.equal({ names: m.props!.names, values: m.props!.values, chars: m.props!.chars }, { names: 4, values: 8, chars: 1 + 3 + 1 + 1 + 1 + 4 + 3 });
});

taken('prop names with empty arrays are dropped, and do not count', () => {
  const m = fast(publish('{"gone":[],"kept":["v"],"also-gone":[ ]}'), 2);
  assert.equal(entries(m), [['kept', ['v']]]);
  assert.equal({ names: m.props!.names, values: m.props!.values, chars: m.props!.chars }, { names: 1, values: 1, chars: 5 });
});

taken('printable ASCII of every kind in strings, DEL included', () => {
  let printable = '';
  for (let c = 0x20; c <= 0x7f; c++) if (c !== 0x22 && c !== 0x5c) printable += String.fromCharCode(c);
  const m = fast(publish(`{${JSON.stringify(printable)}:[${JSON.stringify(printable)}],"":[""]}`), 3);
  assert.equal(entries(m), [[printable, [printable]], ['', ['']]]);
  fast(text('services', 'request', `"filter":${JSON.stringify(printable)}`), 2);
});

taken.run();

// ---------------------------------------------------------------------------
const declined = suite('reader: everything else is left to the general path');

declined('string escapes: accepted by the general path, unescaped', () => {
  let m = declinedAccepted(text('services', 'request', '"filter":"(name=a\\"b)"'), 2);
  assert.is(m.fields['filter'], '(name=a"b)');
  m = declinedAccepted(publish('{"a":["line\\nbreak"]}'), 3);
  assert.equal((m.fields['service-props'] as Record<string, unknown>)['a'], ['line\nbreak']);
  m = declinedAccepted(publish('{"caf\\u00e9":["\\u00e9"]}'), 3);
  assert.equal(Object.keys(m.fields['service-props'] as object), ['café']);
  declinedAccepted(text('track', 'inform', '"track-type":"re\\u0070ly"'), 3);
  // An escape in a key: the general path sees the known field.
  m = declinedAccepted('{"ta-cmd":"ping","ta\\u002did":5,"msg-type":"request"}', 2);
  assert.is(m.taId, 5n);
});

declined('bytes from 0x80: UTF-8 é accepted, an invalid sequence a JsonError', () => {
  const m = declinedAccepted(publish('{"city":["Malmö"],"é":["x"]}'), 2);
  assert.equal(Object.keys(m.fields['service-props'] as object), ['city', 'é']);
  declinedAccepted(text('subscribe', 'request', '"subscription-id":1,"filter":"(name=café)"'), 3);
  const [head, tail] = text('services', 'request', '"filter":"(a=#)"').split('#');
  declinedRejected(Buffer.concat([Buffer.from(head!), Buffer.from([0xff]), Buffer.from(tail!)]), 2, JsonError, /invalid UTF-8/);
  declinedRejected(Buffer.concat([Buffer.from(head!), Buffer.from([0xc3]), Buffer.from(tail!)]), 3, JsonError, /invalid UTF-8/);
  declinedRejected(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text('ping', 'request'))]), 2, JsonError, /unexpected character/);
});

declined('control characters in a string: a JsonError', () => {
  declinedRejected(text('services', 'request', '"filter":"a\tb"'), 2, JsonError, /unescaped control character/);
  declinedRejected(publish('{"a":["x\u0000"]}'), 2, JsonError, /U\+0000/);
});

declined('duplicate top-level keys: a JsonError', () => {
  declinedRejected('{"ta-cmd":"ping","ta-id":1,"msg-type":"request","ta-id":2}', 2, JsonError, /duplicate key "ta-id"/);
  declinedRejected(text('subscribe', 'request', '"subscription-id":1,"filter":"(a=b)","filter":"(a=b)"'), 3, JsonError, /duplicate key "filter"/);
  declinedRejected(publish('{}', '"service-id":1,"service-id":1,"generation":0'), 3, JsonError, /duplicate key "service-id"/);
});

declined('duplicate prop names: a JsonError, also when the first had no values', () => {
  declinedRejected(publish('{"a":["x"],"b":[1],"a":["y"]}'), 2, JsonError, /duplicate key "a"/);
  declinedRejected(publish('{"a":[],"a":["y"]}'), 3, JsonError, /duplicate key "a"/);
  declinedRejected(publish('{"a":["y"],"a":[]}'), 3, JsonError, /duplicate key "a"/);
  declinedRejected(publish('{"a":[],"a":[]}'), 2, JsonError, /duplicate key "a"/);
});

declined('prop names that are array indices: accepted, the general path lists them first', () => {
  // A JS object enumerates "0" … "4294967294" before its other keys, so
  // decodeProps reorders them; the fast path would keep the wire order.
  const m = declinedAccepted(publish('{"b":["x"],"10":["y"],"2":["z"]}'), 3);
  assert.equal(Object.keys(m.fields['service-props'] as object), ['2', '10', 'b']);
  declinedAccepted(publish('{"0":["x"]}'), 2);
  declinedAccepted(publish('{"4294967294":["x"]}'), 2);
  // Not indices: the object keeps them in place, and so does the fast path.
  const n = fast(publish('{"b":["x"],"4294967295":["y"],"01":["z"],"-1":["w"],"1a":["v"]}'), 3);
  assert.equal(entries(n).map(([k]) => k), ['b', '4294967295', '01', '-1', '1a']);
});

declined('unknown field, a field of another command, a missing mandatory field: a ProtocolError', () => {
  declinedRejected(text('ping', 'request', '"colour":"blue"'), 2, ProtocolError, /unknown field "colour" in ping request/);
  declinedRejected(text('unsubscribe', 'request', '"subscription-id":1,"filter":"(a=b)"'), 3, ProtocolError, /unknown field "filter" in unsubscribe request/);
  declinedRejected(text('unpublish', 'request', '"service-id":1,"ttl":5'), 2, ProtocolError, /unknown field "ttl" in unpublish request/);
  declinedRejected(text('services', 'request', '"subscription-id":1'), 2, ProtocolError, /unknown field "subscription-id" in services request/);
  declinedRejected(text('track', 'request', '"track-type":"query"'), 3, ProtocolError, /unknown field "track-type" in track request/);
  declinedRejected(text('hello', 'request', '"client-id":1,"protocol-minimum-version":2'), 2, ProtocolError, /missing field "protocol-maximum-version" in hello request/);
  declinedRejected(publish('{}', '"service-id":1'), 3, ProtocolError, /missing field "generation" in publish request/);
  declinedRejected(text('subscribe', 'request'), 2, ProtocolError, /missing field "subscription-id"/);
  declinedRejected(text('track', 'inform'), 3, ProtocolError, /missing field "track-type" in track inform/);
  declinedRejected('{"ta-id":1,"msg-type":"request"}', 2, ProtocolError, /missing field "ta-cmd"/);
  declinedRejected('{"ta-cmd":"ping","msg-type":"request"}', 2, ProtocolError, /missing field "ta-id"/);
  declinedRejected('{"ta-cmd":"ping","ta-id":1}', 2, ProtocolError, /missing field "msg-type"/);
});

declined('ids out of 0..2^63-1: a ProtocolError; -0 is 0 and accepted', () => {
  const tooBig = (MAX_UINT63 + 1n).toString();
  declinedRejected(text('ping', 'request', '', tooBig), 2, ProtocolError, /"ta-id" must be an integer in 0..2\^63-1/);
  declinedRejected(text('unpublish', 'request', `"service-id":${tooBig}`), 3, ProtocolError, /"service-id" must be an integer/);
  declinedRejected(text('unpublish', 'request', '"service-id":99999999999999999999'), 3, ProtocolError, /"service-id" must be an integer/);
  declinedRejected(text('unpublish', 'request', '"service-id":123456789012345678901'), 3, JsonError, /integer of 21 digits/);
  declinedRejected(text('ping', 'request', '', '-1'), 2, ProtocolError, /"ta-id" must be an integer/);
  declinedRejected(text('subscribe', 'request', '"subscription-id":-5'), 2, ProtocolError, /"subscription-id" must be an integer/);
  const m = declinedAccepted(text('ping', 'request', '', '-0'), 3);
  assert.is(m.taId, 0n);
  declinedAccepted(text('unpublish', 'request', '"service-id":-0'), 2);
});

declined('numbers with a fraction or an exponent: a ProtocolError', () => {
  declinedRejected(text('ping', 'request', '', '1.0'), 2, ProtocolError, /"ta-id" must be an integer.*number 1/);
  declinedRejected(text('ping', 'request', '', '1e3'), 2, ProtocolError, /"ta-id" must be an integer.*number 1000/);
  declinedRejected(text('unpublish', 'request', '"service-id":5E0'), 3, ProtocolError, /"service-id" must be an integer/);
  declinedRejected(publish('{"a":[1.5]}'), 3, ProtocolError, /"a" holds number 1.5/);
  declinedRejected(publish('{"a":[2e2]}'), 2, ProtocolError, /"a" holds number 200/);
});

declined('leading zeros: a JsonError', () => {
  declinedRejected(text('ping', 'request', '', '01'), 2, JsonError, /leading zero/);
  declinedRejected(text('unpublish', 'request', '"service-id":007'), 3, JsonError, /leading zero/);
  declinedRejected(publish('{"a":[-01]}'), 2, JsonError, /leading zero/);
});

declined('wrong value types: a ProtocolError', () => {
  declinedRejected(text('ping', 'request', '', '"1"'), 2, ProtocolError, /"ta-id" must be an integer.*a string/);
  declinedRejected('{"ta-cmd":1,"ta-id":1,"msg-type":"request"}', 2, ProtocolError, /"ta-cmd" must be a string/);
  declinedRejected(text('services', 'request', '"filter":5'), 3, ProtocolError, /"filter" must be a string/);
  declinedRejected(text('unpublish', 'request', '"service-id":"1"'), 3, ProtocolError, /"service-id" must be an integer/);
  declinedRejected(publish('[]'), 3, ProtocolError, /"service-props" must be an object of arrays/);
  declinedRejected(publish('{"a":"x"}'), 3, ProtocolError, /"a" is a string, not an array/);
});

declined('track in v2, unknown commands and types: a ProtocolError', () => {
  declinedRejected(text('track', 'request'), 2, ProtocolError, /unknown command "track" for protocol version 2/);
  declinedRejected(text('track', 'inform', '"track-type":"reply"'), 2, ProtocolError, /unknown command "track" for protocol version 2/);
  declinedRejected(text('ping', 'inform'), 3, ProtocolError, /msg-type "inform" does not exist for command "ping"/);
  declinedRejected(text('launch', 'request'), 3, ProtocolError, /unknown command "launch"/);
  declinedRejected(text('ping', 'query'), 3, ProtocolError, /unknown msg-type "query"/);
});

declined('msg-types only the server sends (accept, complete, notify, fail): a ProtocolError', () => {
  for (const v of VERSIONS) {
    declinedRejected(text('subscribe', 'accept'), v, ProtocolError, /msg-type "accept" cannot be sent by the client/);
    declinedRejected(text('ping', 'complete'), v, ProtocolError, /msg-type "complete" cannot be sent by the client/);
    declinedRejected(text('services', 'notify'), v, ProtocolError, /cannot be sent by the client/);
    declinedRejected(text('hello', 'fail'), v, ProtocolError, /cannot be sent by the client/);
  }
  declinedRejected(text('track', 'complete'), 3, ProtocolError, /cannot be sent by the client/);
});

declined('trailing data, a truncated message: a JsonError', () => {
  declinedRejected(text('ping', 'request') + '{}', 2, JsonError, /trailing data/);
  declinedRejected(text('ping', 'request') + 'x', 3, JsonError, /trailing data/);
  declinedRejected(text('ping', 'request') + '\u0000', 3, JsonError, /trailing data/);
  declinedRejected(text('ping', 'request').slice(0, -1), 2, JsonError, /expected ',' or '}'|unexpected end/);
  declinedRejected(publish('{"a":["x"]').slice(0, -10), 2, JsonError, /./);
  declinedRejected('', 2, JsonError, /unexpected end of input/);
});

declined('empty object, top-level array or scalar: a ProtocolError', () => {
  declinedRejected('{}', 2, ProtocolError, /missing field "ta-cmd"/);
  declinedRejected(' { } ', 3, ProtocolError, /missing field "ta-cmd"/);
  declinedRejected(`[${text('ping', 'request')}]`, 2, ProtocolError, /an array, not a JSON object/);
  declinedRejected('"ping"', 3, ProtocolError, /a string, not a JSON object/);
});

declined('int64 overflow in a prop value: a ProtocolError', () => {
  declinedRejected(publish('{"a":[9223372036854775808]}'), 2, ProtocolError, /"a" holds integer 9223372036854775808, not a string or 64-bit integer/);
  declinedRejected(publish('{"a":[-9223372036854775809]}'), 3, ProtocolError, /"a" holds integer -9223372036854775809/);
  declinedRejected(publish('{"a":[18446744073709551615]}'), 3, ProtocolError, /"a" holds integer/);
  declinedRejected(publish('{"a":[123456789012345678901]}'), 3, JsonError, /integer of 21 digits/);
});

declined('a prop value that is an object, an array, null or a boolean: a ProtocolError', () => {
  declinedRejected(publish('{"a":[{}]}'), 2, ProtocolError, /"a" holds an object/);
  declinedRejected(publish('{"a":[["x"]]}'), 2, ProtocolError, /"a" holds an array/);
  declinedRejected(publish('{"a":["x",null]}'), 3, ProtocolError, /"a" holds null/);
  declinedRejected(publish('{"a":[true]}'), 3, ProtocolError, /"a" holds boolean true/);
  declinedRejected(publish('{"a":[false]}'), 2, ProtocolError, /"a" holds boolean false/);
});

declined('JSON syntax errors inside the props: a JsonError', () => {
  declinedRejected(publish('{"a":["x",]}'), 2, JsonError, /./);
  declinedRejected(publish('{"a":["x"],}'), 2, JsonError, /expected a string key/);
  declinedRejected(publish('{"a" ["x"]}'), 3, JsonError, /expected ':'/);
  declinedRejected(publish('{"a":[-]}'), 3, JsonError, /digit expected/);
});

declined.run();
