import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJson, stringifyJson } from '../../src/protocol/json';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { makeProps } from '../../src/protocol/props';
import { COMMAND_KIND, decodeProps, MAX_UINT63, ProtocolError, validateMessage } from '../../src/protocol/schema';
import type { Command, MsgType, ProtocolVersion } from '../../src/protocol/schema';
import { encodeFail, encodeMessage, encodeProps, envelope, member } from '../../src/protocol/encode';

type Direction = 'to-server' | 'to-client';

function directionOf(type: MsgType): Direction {
  return type === 'request' || type === 'inform' ? 'to-server' : 'to-client';
}

/** Builds a message text: envelope plus the given members (a JSON object body without braces). */
function text(cmd: string, type: string, body = '', taId = '1'): string {
  return `{"ta-cmd":${JSON.stringify(cmd)},"ta-id":${taId},"msg-type":${JSON.stringify(type)}${body ? ',' + body : ''}}`;
}

function check(msg: string, version: ProtocolVersion, direction: Direction) {
  return validateMessage(parseJson(msg), version, direction);
}

function rejects(msg: string | JsonValue, version: ProtocolVersion, direction: Direction, pattern: RegExp): void {
  const value = typeof msg === 'string' ? parseJson(msg) : msg;
  try {
    validateMessage(value, version, direction);
  } catch (e) {
    assert.instance(e, ProtocolError, `error type for ${String(msg)}`);
    assert.match((e as Error).message, pattern, `message for ${String(msg)}`);
    return;
  }
  assert.unreachable(`accepted ${typeof msg === 'string' ? msg : stringifyJson(msg)}`);
}

/**
 * Every command × message type with a complete example (all fields, optional
 * ones included) and the names of its mandatory fields.
 */
interface Sample { cmd: Command; type: MsgType; fields: string; mandatory: string[]; versions: ProtocolVersion[] }

const PROPS = '{"name":["billing"],"port":[8443,"8443"],"zone":["eu-1","eu-2"],"empty":[]}';
const FAIL = (cmd: Command, versions: ProtocolVersion[] = [2, 3]): Sample =>
  ({ cmd, type: 'fail', fields: '"fail-reason":"permission-denied"', mandatory: [], versions });
const BARE = (cmd: Command, type: MsgType, versions: ProtocolVersion[] = [2, 3]): Sample =>
  ({ cmd, type, fields: '', mandatory: [], versions });

const SAMPLES: Sample[] = [
  { cmd: 'hello', type: 'request', fields: '"client-id":4611686018427387905,"protocol-minimum-version":2,"protocol-maximum-version":3', mandatory: ['client-id', 'protocol-minimum-version', 'protocol-maximum-version'], versions: [2, 3] },
  { cmd: 'hello', type: 'complete', fields: '"protocol-version":3', mandatory: ['protocol-version'], versions: [2, 3] },
  FAIL('hello'),

  BARE('track', 'request', [3]),
  BARE('track', 'accept', [3]),
  { cmd: 'track', type: 'notify', fields: '"track-type":"query"', mandatory: ['track-type'], versions: [3] },
  { cmd: 'track', type: 'inform', fields: '"track-type":"reply"', mandatory: ['track-type'], versions: [3] },
  BARE('track', 'complete', [3]),
  FAIL('track', [3]),

  { cmd: 'subscribe', type: 'request', fields: '"subscription-id":5177,"filter":"(&(name=billing)(zone=eu-*))"', mandatory: ['subscription-id'], versions: [2, 3] },
  BARE('subscribe', 'accept'),
  { cmd: 'subscribe', type: 'notify', fields: `"match-type":"modified","service-id":880011,"generation":3,"service-props":${PROPS},"ttl":20,"client-id":99,"orphan-since":1718000000.25`, mandatory: ['match-type', 'service-id'], versions: [2, 3] },
  BARE('subscribe', 'complete'),
  FAIL('subscribe'),

  { cmd: 'unsubscribe', type: 'request', fields: '"subscription-id":5177', mandatory: ['subscription-id'], versions: [2, 3] },
  BARE('unsubscribe', 'complete'),
  FAIL('unsubscribe'),

  BARE('subscriptions', 'request'),
  BARE('subscriptions', 'accept'),
  { cmd: 'subscriptions', type: 'notify', fields: '"subscription-id":5177,"client-id":99,"filter":"(port>8)"', mandatory: ['subscription-id', 'client-id'], versions: [2, 3] },
  BARE('subscriptions', 'complete'),
  FAIL('subscriptions'),

  { cmd: 'services', type: 'request', fields: '"filter":"(name=billing)"', mandatory: [], versions: [2, 3] },
  BARE('services', 'accept'),
  { cmd: 'services', type: 'notify', fields: `"service-id":880011,"generation":0,"service-props":${PROPS},"ttl":0,"client-id":99,"orphan-since":7.4e-05`, mandatory: ['service-id', 'generation', 'service-props', 'ttl', 'client-id'], versions: [2, 3] },
  BARE('services', 'complete'),
  FAIL('services'),

  { cmd: 'publish', type: 'request', fields: `"service-id":880011,"generation":3,"service-props":${PROPS},"ttl":20`, mandatory: ['service-id', 'generation', 'service-props', 'ttl'], versions: [2, 3] },
  BARE('publish', 'complete'),
  FAIL('publish'),

  { cmd: 'unpublish', type: 'request', fields: '"service-id":880011', mandatory: ['service-id'], versions: [2, 3] },
  BARE('unpublish', 'complete'),
  FAIL('unpublish'),

  BARE('ping', 'request'),
  BARE('ping', 'complete'),
  FAIL('ping'),

  BARE('clients', 'request'),
  BARE('clients', 'accept'),
  { cmd: 'clients', type: 'notify', fields: '"client-id":99,"client-address":"tcp:10.1.2.3:40122","time":1718000000', mandatory: ['client-id', 'client-address', 'time'], versions: [2] },
  { cmd: 'clients', type: 'notify', fields: '"client-id":99,"client-address":"tls:[fd00::5]:51234","time":1718000000,"idle":0.25,"protocol-version":2,"latency":0.001', mandatory: ['client-id', 'client-address', 'time', 'idle', 'protocol-version'], versions: [3] },
  BARE('clients', 'complete'),
  FAIL('clients'),
];

const ALL_TYPES: MsgType[] = ['request', 'accept', 'notify', 'inform', 'complete', 'fail'];
const ALL_COMMANDS = Object.keys(COMMAND_KIND) as Command[];

/** Splits '"a":1,"b":{"c":[2]}' into its members by parsing it. */
function members(fields: string): [string, string][] {
  const obj = parseJson('{' + fields + '}') as JsonObject;
  return Object.keys(obj).map((k) => [k, JSON.stringify(k) + ':' + stringifyJson(obj[k]!)]);
}

const table = suite('schema: command × message-type table');

table('transaction kinds', () => {
  assert.equal({ ...COMMAND_KIND }, {
    hello: 'single', track: 'two-way', subscribe: 'multi', unsubscribe: 'single', subscriptions: 'multi',
    services: 'multi', publish: 'single', unpublish: 'single', ping: 'single', clients: 'multi',
  });
});

table('every sample is accepted with all its fields and with only its mandatory ones', () => {
  for (const s of SAMPLES) {
    for (const v of s.versions) {
      const msg = check(text(s.cmd, s.type, s.fields, '42'), v, directionOf(s.type));
      assert.is(msg.cmd, s.cmd);
      assert.is(msg.type, s.type);
      assert.is(msg.taId, 42n);
      assert.is(msg.fields['ta-cmd'], s.cmd);
      for (const [name] of members(s.fields)) assert.ok(name in msg.fields, `${s.cmd} ${s.type} keeps ${name}`);
      const onlyMandatory = members(s.fields).filter(([n]) => s.mandatory.includes(n)).map(([, m]) => m).join(',');
      check(text(s.cmd, s.type, onlyMandatory), v, directionOf(s.type));
    }
  }
});

table('dropping any mandatory field is rejected', () => {
  for (const s of SAMPLES) {
    for (const v of s.versions) {
      for (const name of s.mandatory) {
        const rest = members(s.fields).filter(([n]) => n !== name).map(([, m]) => m).join(',');
        rejects(text(s.cmd, s.type, rest), v, directionOf(s.type), new RegExp(`missing field "${name}"`));
      }
    }
  }
});

table('an extra field is rejected, also one that belongs to another message', () => {
  for (const s of SAMPLES) {
    for (const v of s.versions) {
      const body = s.fields ? s.fields + ',' : '';
      rejects(text(s.cmd, s.type, body + '"bogus":1'), v, directionOf(s.type), /unknown field "bogus"/);
      if (s.type !== 'fail') rejects(text(s.cmd, s.type, body + '"fail-reason":"x"'), v, directionOf(s.type), /unknown field "fail-reason"/);
      if (!s.fields.includes('"filter"')) rejects(text(s.cmd, s.type, body + '"filter":"(a=b)"'), v, directionOf(s.type), /unknown field "filter"/);
    }
  }
});

table('null and booleans are rejected in every field', () => {
  for (const s of SAMPLES) {
    for (const v of s.versions) {
      for (const [name] of members(s.fields)) {
        for (const bad of ['null', 'true', 'false']) {
          const body = members(s.fields).map(([n, m]) => (n === name ? `${JSON.stringify(n)}:${bad}` : m)).join(',');
          rejects(text(s.cmd, s.type, body), v, directionOf(s.type), new RegExp(`field "${name}" must be`));
        }
      }
    }
  }
});

table('message types a command does not have are rejected', () => {
  const defined = new Set(SAMPLES.map((s) => `${s.cmd}/${s.type}`));
  let undefinedPairs = 0;
  for (const cmd of ALL_COMMANDS) {
    for (const type of ALL_TYPES) {
      if (defined.has(`${cmd}/${type}`)) continue;
      undefinedPairs++;
      rejects(text(cmd, type), 3, directionOf(type), /does not exist for command/);
    }
  }
  // accept/notify for the 5 single-response commands, inform for the 9 non-track ones.
  assert.is(undefinedPairs, 5 * 2 + 9);
  rejects(text('subscribe', 'inform', '"track-type":"query"'), 3, 'to-server', /"inform" does not exist for command "subscribe"/);
  rejects(text('ping', 'accept'), 2, 'to-client', /"accept" does not exist for command "ping"/);
});

table('direction: clients send request/inform, servers send accept/notify/complete/fail', () => {
  for (const type of ['accept', 'notify', 'complete', 'fail']) {
    rejects(text('subscribe', type), 3, 'to-server', new RegExp(`"${type}" cannot be sent by the client`));
  }
  rejects(text('ping', 'request'), 2, 'to-client', /"request" cannot be sent by the server/);
  rejects(text('track', 'inform', '"track-type":"reply"'), 3, 'to-client', /"inform" cannot be sent by the server/);
  rejects(text('ping', 'reply'), 2, 'to-server', /unknown msg-type "reply"/);
  rejects(text('ping', 'Request'), 2, 'to-server', /unknown msg-type "Request"/);
});

const versions = suite('schema: v2 versus v3');

versions('track and inform exist only in v3', () => {
  for (const type of ['request', 'inform'] as MsgType[]) {
    rejects(text('track', type, type === 'inform' ? '"track-type":"reply"' : ''), 2, 'to-server', /unknown command "track" for protocol version 2/);
  }
  rejects(text('track', 'notify', '"track-type":"query"'), 2, 'to-client', /unknown command "track"/);
  assert.is(check(text('track', 'request'), 3, 'to-server').cmd, 'track');
});

versions('clients notify field sets differ', () => {
  const v2 = '"client-id":99,"client-address":"ux:0002a","time":1718000000';
  const v3 = v2 + ',"idle":3,"protocol-version":3';
  check(text('clients', 'notify', v2), 2, 'to-client');
  check(text('clients', 'notify', v3), 3, 'to-client');
  check(text('clients', 'notify', v3 + ',"latency":1.5e-4'), 3, 'to-client');
  // v3-only fields must not appear on a v2 connection...
  rejects(text('clients', 'notify', v3), 2, 'to-client', /unknown field "idle"/);
  rejects(text('clients', 'notify', v2 + ',"latency":0.1'), 2, 'to-client', /unknown field "latency"/);
  // ...and are mandatory on v3.
  rejects(text('clients', 'notify', v2), 3, 'to-client', /missing field "idle"/);
  rejects(text('clients', 'notify', v2 + ',"idle":1'), 3, 'to-client', /missing field "protocol-version"/);
});

versions('unknown commands', () => {
  for (const cmd of ['bogus', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'HELLO']) {
    for (const v of [2, 3] as ProtocolVersion[]) rejects(text(cmd, 'request'), v, 'to-server', /unknown command/);
  }
});

const envelopeSuite = suite('schema: envelope and top level');

envelopeSuite('the top level must be an object (B4)', () => {
  rejects('[1,2]', 2, 'to-server', /an array, not a JSON object/);
  rejects('[]', 3, 'to-server', /not a JSON object/);
  rejects('"ping"', 2, 'to-server', /a string, not a JSON object/);
  rejects('42', 2, 'to-server', /integer 42, not a JSON object/);
  rejects('4.5', 2, 'to-server', /not a JSON object/);
  rejects('null', 2, 'to-server', /null, not a JSON object/);
  rejects('true', 2, 'to-server', /boolean true, not a JSON object/);
});

envelopeSuite('envelope fields are mandatory and typed', () => {
  rejects('{"ta-id":1,"msg-type":"request"}', 2, 'to-server', /missing field "ta-cmd"/);
  rejects('{"ta-cmd":"ping","msg-type":"request"}', 2, 'to-server', /missing field "ta-id"/);
  rejects('{"ta-cmd":"ping","ta-id":1}', 2, 'to-server', /missing field "msg-type"/);
  rejects('{}', 2, 'to-server', /missing field "ta-cmd"/);
  rejects('{"ta-cmd":5,"ta-id":1,"msg-type":"request"}', 2, 'to-server', /field "ta-cmd" must be a string, got integer 5/);
  rejects('{"ta-cmd":null,"ta-id":1,"msg-type":"request"}', 2, 'to-server', /"ta-cmd" must be a string, got null/);
  rejects('{"ta-cmd":"ping","ta-id":1,"msg-type":["request"]}', 2, 'to-server', /"msg-type" must be a string, got an array/);
  rejects('{"ta-cmd":"ping","ta-id":1,"msg-type":null}', 2, 'to-server', /"msg-type" must be a string/);
});

envelopeSuite('ta-id is a uint63: booleans (B13), fractions, negatives and 2^63 are rejected', () => {
  assert.is(check(text('ping', 'request', '', '9223372036854775807'), 2, 'to-server').taId, MAX_UINT63);
  assert.is(check(text('ping', 'request', '', '0'), 2, 'to-server').taId, 0n);
  for (const bad of ['true', 'false', '1.0', '1e0', '-1', '9223372036854775808', '"1"', 'null', '{}', '[1]']) {
    rejects(text('ping', 'request', '', bad), 2, 'to-server', /field "ta-id" must be an integer in 0..2\^63-1/);
  }
  rejects(text('ping', 'request', '', 'true'), 2, 'to-server', /got boolean true/);
  rejects(text('ping', 'request', '', '1.0'), 2, 'to-server', /got number 1$/);
  rejects(text('ping', 'request', '', '1' + '0'.repeat(200)), 2, 'to-server', /got integer 10{29}\.\.\.$/);
});

envelopeSuite('-0 is the integer 0', () => {
  assert.is(check(text('ping', 'request', '', '-0'), 2, 'to-server').taId, 0n);
});

const types = suite('schema: field types');

types('uint63 fields', () => {
  const publish = (sid: string, gen = '1', ttl = '20') => text('publish', 'request', `"service-id":${sid},"generation":${gen},"service-props":{},"ttl":${ttl}`);
  assert.is(check(publish('9223372036854775807'), 3, 'to-server').fields['service-id'], MAX_UINT63);
  check(publish('0', '0', '0'), 3, 'to-server');
  rejects(publish('9223372036854775808'), 3, 'to-server', /"service-id" must be an integer in 0..2\^63-1, got integer 9223372036854775808/);
  rejects(publish('-5'), 3, 'to-server', /"service-id"/);
  rejects(publish('5', '5.0'), 3, 'to-server', /"generation" must be an integer/);
  rejects(publish('5', '5e0'), 3, 'to-server', /"generation"/);
  rejects(publish('5', '1', 'false'), 3, 'to-server', /"ttl" must be an integer in 0..2\^63-1, got boolean false/);
  rejects(publish('5', '1', '"20"'), 3, 'to-server', /"ttl" must be an integer.*got a string/);
  const hello = (min: string, max: string) => text('hello', 'request', `"client-id":1,"protocol-minimum-version":${min},"protocol-maximum-version":${max}`);
  check(hello('0', '99999'), 2, 'to-server');
  rejects(hello('2.0', '3'), 2, 'to-server', /"protocol-minimum-version"/);
  rejects(hello('2', 'true'), 2, 'to-server', /"protocol-maximum-version"/);
});

types('number≥0 fields accept integers and fractions, nothing negative or non-numeric', () => {
  const notify = (since: string) => text('services', 'notify', `"service-id":1,"generation":1,"service-props":{},"ttl":1,"client-id":1,"orphan-since":${since}`);
  for (const ok of ['0', '0.0', '-0.0', '1718000000', '1718000000.25', '7.4e-05', '1E3', '99999999999999999999999']) {
    check(notify(ok), 2, 'to-client');
  }
  for (const bad of ['-1', '-0.5', '-1e-9', 'true', '"1"', 'null', '[]', '1e999']) {
    rejects(notify(bad), 2, 'to-client', /"orphan-since" must be a number >= 0/);
  }
  const clients = (idle: string, latency: string) => text('clients', 'notify', `"client-id":1,"client-address":"x","time":1,"idle":${idle},"protocol-version":3,"latency":${latency}`);
  check(clients('0', '0.5'), 3, 'to-client');
  rejects(clients('-2', '0.5'), 3, 'to-client', /"idle"/);
  rejects(clients('2', '-0.5'), 3, 'to-client', /"latency"/);
});

types('string fields reject every other type', () => {
  for (const bad of ['1', '1.5', 'true', 'null', '[]', '{}', '["a"]']) {
    rejects(text('subscribe', 'request', `"subscription-id":1,"filter":${bad}`), 3, 'to-server', /"filter" must be a string/);
    rejects(text('track', 'inform', `"track-type":${bad}`), 3, 'to-server', /"track-type" must be a string/);
  }
  // Any string is fine here; query/reply is checked by the track handler.
  check(text('track', 'inform', '"track-type":"nonsense"'), 3, 'to-server');
  check(text('subscribe', 'request', '"subscription-id":1,"filter":""'), 3, 'to-server');
});

types('props: an object of arrays of strings and signed 64-bit integers', () => {
  const publish = (props: string) => text('publish', 'request', `"service-id":1,"generation":1,"service-props":${props},"ttl":1`);
  for (const ok of ['{}', '{"x":[]}', '{"":[""]}', '{"a":["x",1,-1,"1"]}', '{"max":[9223372036854775807],"min":[-9223372036854775808]}', '{"__proto__":["p"]}']) {
    check(publish(ok), 2, 'to-server');
  }
  rejects(publish('{"big":[9223372036854775808]}'), 2, 'to-server', /service-props "big" holds integer 9223372036854775808, not a string or 64-bit integer/);
  rejects(publish('{"small":[-9223372036854775809]}'), 2, 'to-server', /"small" holds integer -9223372036854775809/);
  rejects(publish('{"f":[1.5]}'), 2, 'to-server', /"f" holds number 1.5/);
  rejects(publish('{"f":[1.0]}'), 2, 'to-server', /"f" holds number 1/);
  rejects(publish('{"b":[true]}'), 2, 'to-server', /"b" holds boolean true/);
  rejects(publish('{"n":[null]}'), 2, 'to-server', /"n" holds null/);
  rejects(publish('{"n":["ok",["nested"]]}'), 2, 'to-server', /"n" holds an array/);
  rejects(publish('{"o":[{}]}'), 2, 'to-server', /"o" holds an object/);
  rejects(publish('{"s":"single"}'), 2, 'to-server', /service-props "s" is a string, not an array/);
  rejects(publish('{"i":1}'), 2, 'to-server', /"i" is integer 1, not an array/);
  rejects(publish('{"z":null}'), 2, 'to-server', /"z" is null, not an array/);
  rejects(publish('[["a"]]'), 2, 'to-server', /"service-props" must be an object of arrays, got an array/);
  rejects(publish('"name=x"'), 2, 'to-server', /"service-props" must be an object of arrays/);
  rejects(publish('null'), 2, 'to-server', /"service-props" must be an object of arrays, got null/);
});

types('codec-level rules reach the connection as parse errors', () => {
  // Duplicates, U+0000 and deep nesting never get to the schema: parseJson throws first.
  assert.throws(() => check('{"ta-cmd":"ping","ta-id":1,"ta-id":2,"msg-type":"request"}', 2, 'to-server'), /duplicate key "ta-id"/);
  assert.throws(() => check(text('track', 'inform', '"track-type":"re\\u0000ply"'), 3, 'to-server'), /U\+0000/);
  assert.throws(() => check(text('publish', 'request', `"service-id":1,"generation":1,"service-props":{"a":[${'['.repeat(40)}]}`), 3, 'to-server'), /nesting/);
});

types('decodeProps normalizes to set semantics', () => {
  const msg = check(text('publish', 'request', '"service-id":1,"generation":1,"service-props":{"a":["x",1,1,"1","x"],"gone":[],"b":[-7]},"ttl":1'), 3, 'to-server');
  const props = decodeProps(msg.fields['service-props'] as JsonObject);
  assert.equal([...props.keys()], ['a', 'b']);
  assert.equal(props.get('a'), ['x', 1n, '1']);
  assert.equal(props.get('b'), [-7n]);
});

const enc = suite('encode');

enc('H5: the exact bytes of a hello fail', () => {
  assert.is(encodeFail('hello', 42n, 'unsupported-protocol-version'),
    '{"ta-cmd":"hello","ta-id":42,"msg-type":"fail","fail-reason":"unsupported-protocol-version"}');
});

enc('envelope and whole messages', () => {
  assert.is(envelope('subscribe', 7n, 'accept'), '{"ta-cmd":"subscribe","ta-id":7,"msg-type":"accept"');
  assert.is(encodeMessage('ping', 9223372036854775807n, 'complete'), '{"ta-cmd":"ping","ta-id":9223372036854775807,"msg-type":"complete"}');
  assert.is(encodeMessage('ping', 0n, 'complete', ''), '{"ta-cmd":"ping","ta-id":0,"msg-type":"complete"}');
  assert.is(encodeMessage('hello', 0n, 'complete', member('protocol-version', 3n)), '{"ta-cmd":"hello","ta-id":0,"msg-type":"complete","protocol-version":3}');
  assert.is(encodeMessage('track', 1n, 'notify', '"track-type":"query"'), '{"ta-cmd":"track","ta-id":1,"msg-type":"notify","track-type":"query"}');
});

enc('member serializes any JSON value under an escaped name', () => {
  assert.is(member('orphan-since', 1718000000.25), '"orphan-since":1718000000.25');
  assert.is(member('client-id', 4611686018427387905n), '"client-id":4611686018427387905');
  assert.is(member('filter', '(a=\\"b)'), '"filter":"(a=\\\\\\"b)"');
  assert.is(member('we"ird', null), '"we\\"ird":null');
});

enc('encodeProps', () => {
  assert.is(encodeProps(makeProps([])), '{}');
  const props = makeProps([['name', ['billing']], ['port', [8443n, '8443', -9223372036854775808n]], ['q"uote', ['a\\b\n']]]);
  const json = encodeProps(props);
  assert.is(json, '{"name":["billing"],"port":[8443,"8443",-9223372036854775808],"q\\"uote":["a\\\\b\\n"]}');
  const back = decodeProps(parseJson(json) as JsonObject);
  assert.equal([...back.entries()], [...props.entries()]);
});

enc('fail reasons are escaped', () => {
  assert.is(encodeFail('publish', 3n, 'a"b'), '{"ta-cmd":"publish","ta-id":3,"msg-type":"fail","fail-reason":"a\\"b"}');
});

enc('every encoded sample validates in its direction', () => {
  const props = makeProps([['zone', ['eu-1', 'eu-2']], ['port', [8443n]]]);
  const notify = encodeMessage('subscribe', 5n, 'notify', [
    member('match-type', 'appeared'),
    member('service-id', 880011n),
    member('generation', 3n),
    '"service-props":' + encodeProps(props),
    member('ttl', 20n),
    member('client-id', 99n),
    member('orphan-since', 1718000000.25),
  ].join(','));
  const msg = check(notify, 2, 'to-client');
  assert.is(msg.fields['service-id'], 880011n);
  assert.is(msg.fields['orphan-since'], 1718000000.25);
  for (const cmd of ALL_COMMANDS) {
    check(encodeFail(cmd, 1n, 'no-hello'), 3, 'to-client');
  }
});

table.run();
versions.run();
envelopeSuite.run();
types.run();
enc.run();
