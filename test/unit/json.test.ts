import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeUtf8, JsonError, parseJson, quoteJsonString, stringifyJson } from '../../src/protocol/json';
import type { JsonValue } from '../../src/protocol/json';

/** Parsed objects have a null prototype; copy them into plain objects so uvu's deep equality can compare. */
function plain(v: JsonValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) Object.defineProperty(out, key, { value: plain(v[key]!), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

function rejects(text: string, pattern: RegExp, maxDepth?: number): void {
  try {
    parseJson(text, maxDepth);
  } catch (e) {
    assert.instance(e, JsonError, `error type for ${JSON.stringify(text)}`);
    assert.match((e as Error).message, pattern, `message for ${JSON.stringify(text)}`);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(text)}`);
}

function nested(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}

const numbers = suite('json numbers');

numbers('integers become bigint, fractions and exponents become number', () => {
  assert.is(parseJson('5'), 5n);
  assert.is(parseJson('0'), 0n);
  assert.is(parseJson('-0'), 0n);
  assert.is(parseJson('-17'), -17n);
  assert.is(parseJson('5.0'), 5);
  assert.is(typeof parseJson('5.0'), 'number');
  assert.is(parseJson('5e0'), 5);
  assert.is(parseJson('5E+0'), 5);
  assert.is(parseJson('7.4e-05'), 7.4e-5);
  assert.is(parseJson('-0.5'), -0.5);
  assert.is(parseJson('1718000000.25'), 1718000000.25);
});

numbers('integers are exact at every size', () => {
  assert.is(parseJson('999999999999999'), 999999999999999n); // 15 digits: fast path
  assert.is(parseJson('-999999999999999'), -999999999999999n);
  assert.is(parseJson('9007199254740993'), 9007199254740993n); // 2^53 + 1
  assert.is(parseJson('9223372036854775807'), 9223372036854775807n);
  assert.is(parseJson('9223372036854775808'), 9223372036854775808n);
  assert.is(parseJson('-9223372036854775808'), -9223372036854775808n);
  assert.is(parseJson('4611686018427387905'), 4611686018427387905n);
  const huge = '1' + '0'.repeat(99);
  assert.is(parseJson(huge), 10n ** 99n);
  assert.equal(parseJson('[12345678901234567890123]'), [12345678901234567890123n]);
});

numbers('number grammar is strict', () => {
  for (const bad of ['+1', '01', '-01', '00', '.5', '1.', '1.e5', '1e', '1e+', '-', '-a', '0x10', 'NaN', 'Infinity', '-Infinity', '1_000', '- 1']) {
    rejects(bad, /./);
  }
  rejects('01', /leading zero/);
  rejects('1.', /decimal point/);
  rejects('1e+', /exponent/);
});

const strings = suite('json strings');

strings('plain and escaped strings', () => {
  assert.is(parseJson('"billing"'), 'billing');
  assert.is(parseJson('""'), '');
  assert.is(parseJson('"a\\"b\\\\c\\/d"'), 'a"b\\c/d');
  assert.is(parseJson('"\\b\\f\\n\\r\\t"'), '\b\f\n\r\t');
  assert.is(parseJson('"x\\u00e9y\\u20ACz"'), 'xéy€z');
  assert.is(parseJson('"\\ud83d\\ude00"'), '😀');
  assert.is(parseJson('"raw é € 😀"'), 'raw é € 😀');
  assert.is(parseJson('"tail after escape \\n and more text"'), 'tail after escape \n and more text');
});

strings('U+0000 is rejected raw and escaped, in values and keys', () => {
  rejects('"a\u0000b"', /U\+0000/);
  rejects('"a\\u0000b"', /U\+0000/);
  rejects('"\\n\\u0000"', /U\+0000/);
  rejects('{"k\\u0000":1}', /U\+0000/);
  rejects('{"k\u0000":1}', /U\+0000/);
});

strings('malformed strings are rejected', () => {
  rejects('"abc', /unterminated/);
  rejects('"ab\\n', /unterminated/);
  rejects('"a\nb"', /control character/);
  rejects('"a\tb"', /control character/);
  rejects('"\\x41"', /invalid escape/);
  rejects('"\\u12"', /\\u escape/);
  rejects('"\\u12G4"', /\\u escape/);
  rejects("'single'", /unexpected character/);
});

strings('unpaired surrogate escapes are rejected', () => {
  rejects('"\\ud83d"', /surrogate/);
  rejects('"\\ud83dx"', /surrogate/);
  rejects('"\\ud83d\\u0041"', /surrogate/);
  rejects('"\\ude00"', /surrogate/);
});

const structure = suite('json structure');

structure('objects and arrays', () => {
  assert.equal(plain(parseJson(' { "a" : [ 1 , "x" , true , false , null , 2.5 , { } , [ ] ] } ')), {
    a: [1n, 'x', true, false, null, 2.5, {}, []],
  });
  assert.equal(plain(parseJson('\t\r\n[]\n')), []);
  const obj = parseJson('{"a":1}') as Record<string, JsonValue>;
  // Nothing inherited: the prototype is an empty object without a prototype.
  const proto = Object.getPrototypeOf(obj);
  assert.is(Object.getPrototypeOf(proto), null);
  assert.equal(Object.getOwnPropertyNames(proto), []);
  assert.not.ok('toString' in obj);
  assert.not.ok('hasOwnProperty' in obj);
});

structure('"__proto__" is an ordinary own key', () => {
  const obj = parseJson('{"__proto__":{"x":1},"constructor":2}') as Record<string, JsonValue>;
  assert.ok(Object.hasOwn(obj, '__proto__'));
  assert.is(Object.getPrototypeOf(Object.getPrototypeOf(obj)), null, 'the key did not set the prototype');
  assert.equal(obj['__proto__'], parseJson('{"x":1}'));
  assert.is(obj['constructor'], 2n);
  assert.equal(Object.keys(obj), ['__proto__', 'constructor']);
});

structure('duplicate keys are rejected within one object only', () => {
  rejects('{"a":1,"a":2}', /duplicate key "a"/);
  rejects('{"a":1,"b":{"c":1,"c":1}}', /duplicate key "c"/);
  rejects('{"__proto__":1,"__proto__":2}', /duplicate key/);
  assert.equal(plain(parseJson('{"a":{"a":1},"b":{"a":2}}')), { a: { a: 1n }, b: { a: 2n } });
});

structure('nesting depth is bounded', () => {
  parseJson(nested(32));
  rejects(nested(33), /nesting deeper than 32/);
  parseJson('{"a":'.repeat(32) + '1' + '}'.repeat(32));
  rejects('{"a":'.repeat(33) + '1' + '}'.repeat(33), /nesting deeper/);
  parseJson(nested(3), 3);
  rejects(nested(4), /nesting deeper than 3/, 3);
  // Hostile depth must not blow the stack.
  rejects(nested(100000), /nesting deeper/);
});

structure('syntax errors and trailing data', () => {
  rejects('', /end of input/);
  rejects('   ', /end of input/);
  rejects('{', /./);
  rejects('{"a"}', /':'/);
  rejects('{"a":}', /unexpected character/);
  rejects('{"a":1,}', /string key/);
  rejects('{a:1}', /string key/);
  rejects('[1,]', /unexpected character/);
  rejects('[1 2]', /',' or '\]'/);
  rejects('{"a":1 "b":2}', /',' or '}'/);
  rejects('tru', /literal/);
  rejects('nul', /literal/);
  rejects('True', /unexpected character/);
  rejects('{} {}', /trailing data/);
  rejects('{}x', /trailing data/);
  rejects('1 2', /trailing data/);
  rejects('\ufeff{}', /unexpected character/);
  assert.equal(plain(parseJson('  {}  ')), {});
});

structure('scalars at top level parse (the schema rejects them, not the codec)', () => {
  assert.is(parseJson('null'), null);
  assert.is(parseJson('true'), true);
  assert.is(parseJson('"s"'), 's');
});

const utf8 = suite('decodeUtf8');

utf8('valid UTF-8 decodes', () => {
  assert.is(decodeUtf8(Buffer.from('{"a":"é€😀"}', 'utf8')), '{"a":"é€😀"}');
  assert.is(decodeUtf8(new Uint8Array([0x7b, 0x7d])), '{}');
  const backing = new Uint8Array([0x20, 0x61, 0x62, 0x20]);
  assert.is(decodeUtf8(backing.subarray(1, 3)), 'ab');
  assert.is(decodeUtf8(new Uint8Array(0)), '');
});

utf8('invalid UTF-8 throws JsonError', () => {
  const bad = [
    [0xff],
    [0x61, 0x80],              // stray continuation byte
    [0xc0, 0x80],              // overlong NUL
    [0xe2, 0x82],              // truncated sequence
    [0xed, 0xa0, 0x80],        // encoded surrogate
    [0xf4, 0x90, 0x80, 0x80],  // above U+10FFFF
  ];
  for (const bytes of bad) {
    assert.throws(() => decodeUtf8(Uint8Array.from(bytes)), (e: unknown) => e instanceof JsonError, `bytes ${bytes}`);
    // A failure leaves no state behind for the next message.
    assert.is(decodeUtf8(Buffer.from('ok')), 'ok');
  }
});

utf8('a byte order mark is kept, so the parser rejects it', () => {
  const text = decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]));
  assert.is(text, '\ufeff{}');
  rejects(text, /unexpected character/);
});

const out = suite('stringifyJson');

out('scalars', () => {
  assert.is(stringifyJson(9223372036854775807n), '9223372036854775807');
  assert.is(stringifyJson(-5n), '-5');
  assert.is(stringifyJson(0.25), '0.25');
  assert.is(stringifyJson(7.4e-5), '0.000074');
  assert.is(stringifyJson(1e21), '1e+21');
  assert.is(stringifyJson(true), 'true');
  assert.is(stringifyJson(false), 'false');
  assert.is(stringifyJson(null), 'null');
  assert.is(stringifyJson('a"b\\c\n\u0001é'), '"a\\"b\\\\c\\n\\u0001é"');
});

out('non-finite numbers throw', () => {
  for (const v of [NaN, Infinity, -Infinity]) {
    assert.throws(() => stringifyJson(v), (e: unknown) => e instanceof JsonError);
    assert.throws(() => stringifyJson([v]), (e: unknown) => e instanceof JsonError);
  }
});

out('containers', () => {
  assert.is(stringifyJson([]), '[]');
  assert.is(stringifyJson({}), '{}');
  assert.is(stringifyJson({ a: [1n, 'x', null], 'b c': { d: 0.5 } }), '{"a":[1,"x",null],"b c":{"d":0.5}}');
  const withProto = parseJson('{"__proto__":1}');
  assert.is(stringifyJson(withProto), '{"__proto__":1}');
});

out('quoteJsonString', () => {
  assert.is(quoteJsonString('plain'), '"plain"');
  assert.is(quoteJsonString(''), '""');
  assert.is(quoteJsonString('"\\\b\f\n\r\t\u001f'), '"\\"\\\\\\b\\f\\n\\r\\t\\u001f"');
  assert.is(quoteJsonString('\ud800'), '"\\ud800"');
  assert.is(parseJson(quoteJsonString('zone=eu-*\u0007')), 'zone=eu-*\u0007');
});

out('round trips parse(stringify(x))', () => {
  const samples: JsonValue[] = [
    9223372036854775807n,
    -9223372036854775808n,
    10n ** 40n,
    0n,
    1718000000.25,
    7.4e-5,
    -1.5e300,
    'é€😀 "quoted" \\ \n\t\u0001',
    '',
    true,
    false,
    null,
    [],
    [1n, [2n, [3n, 'x']], { k: [] }],
    { 'ta-cmd': 'publish', 'ta-id': 3n, 'service-props': { name: ['billing'], port: [8443n, '8443'] }, 'orphan-since': 0.5 },
  ];
  for (const v of samples) {
    const text = stringifyJson(v);
    assert.equal(plain(parseJson(text)), plain(v), text);
    assert.is(stringifyJson(parseJson(text)), text);
  }
});

out('round trips stringify(parse(text)) for canonical text', () => {
  for (const text of ['{"a":[1,-2,"x",true,false,null,0.5]}', '[{"b":{}},[]]', '"\\u0001\\n\\"\\\\"']) {
    assert.is(stringifyJson(parseJson(text)), text);
  }
});

numbers.run();
strings.run();
structure.run();
utf8.run();
out.run();
