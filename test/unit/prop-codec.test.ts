// Property-based tests of the wire codec: the lossless JSON parser and
// serializer (src/core/json.ts), message validation against the command
// table of docs/protocol.md §6 (src/protocol/schema.ts) and message encoding
// (src/protocol/encode.ts). The example-based tests pin single cases; these
// check the rules over thousands of generated inputs, with V8's JSON.parse
// and a validator written here from the spec table as independent oracles.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { decodeUtf8, JsonError, parseJson, quoteJsonString, stringifyJson } from '../../src/protocol/json';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { makeProps, propsEqual } from '../../src/protocol/props';
import type { PropValue } from '../../src/protocol/props';
import { decodeProps, MAX_UINT63, ProtocolError, validateMessage } from '../../src/protocol/schema';
import type { Command, Direction, MsgType, ProtocolVersion } from '../../src/protocol/schema';
import { encodeFail, encodeMessage, encodeProps, envelope, member } from '../../src/protocol/encode';
import { applyEdits, runs } from '../helpers/property';

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Generators of JSON values as our codec represents them.

/** The parser's default nesting limit (json.ts DEFAULT_MAX_DEPTH). */
const DEFAULT_MAX_DEPTH = 32;
const MIN_INT64 = -(1n << 63n);

/** Characters that stress escaping: quote, backslash, controls, separators, BOM, astral. */
const TRICKY_CHAR = fc.constantFrom(
  '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\x01', '\x1f', '\x7f', '\u0080', '\u2028', '\u2029',
  '\ufeff', '\uffff', 'é', '\u{1F600}', '\u{10000}', '\u{10FFFF}',
);
/**
 * Any code point except U+0000 (rejected by design) and lone surrogates
 * (not UTF-8): ASCII, the rest of the BMP and the astral planes equally
 * likely. (fast-check's unit 'binary' would do, but it builds a table of all
 * 1.1 million code points on first use, which costs seconds.)
 */
const ANY_CODE_POINT = fc.oneof(
  fc.integer({ min: 1, max: 0x7f }),
  fc.oneof(fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff })),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
).map((c) => String.fromCodePoint(c));
const TEXT = fc.string({ unit: fc.oneof(TRICKY_CHAR, ANY_CODE_POINT), maxLength: 12 });

/** Integers: around the 15/16-digit fast-path boundary, 2^53, 2^63, and far beyond. */
const INTEGER = fc.oneof(
  fc.bigInt({ min: -2000n, max: 2000n }),
  fc.constantFrom(1023n, 1024n, 999_999_999_999_999n, 1_000_000_000_000_000n, -999_999_999_999_999n,
    -1_000_000_000_000_000n, 1n << 53n, (1n << 53n) + 1n, MAX_UINT63, MAX_UINT63 + 1n, MIN_INT64, MIN_INT64 - 1n),
  fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }),
  fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }),
);

/** Doubles whose JSON text is not an integer lexeme (those read back as bigint, by design). */
const FRACTION = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => /[.eE]/.test(String(v)));

const KEY = fc.oneof(TEXT, fc.constantFrom('', '__proto__', 'constructor', 'toString', '0', '10', 'ta-id'));

function objectOf(value: fc.Arbitrary<JsonValue>): fc.Arbitrary<JsonObject> {
  return fc.uniqueArray(fc.tuple(KEY, value), { selector: ([k]) => k, maxLength: 5 }).map(toObject);
}

function toObject(entries: readonly (readonly [string, JsonValue])[]): JsonObject {
  // Null prototype, as the parser builds them, so "__proto__" is an ordinary key.
  const obj: JsonObject = Object.create(null);
  for (const [k, v] of entries) obj[k] = v;
  return obj;
}

const LEAF: fc.Arbitrary<JsonValue> = fc.oneof(TEXT, INTEGER, FRACTION, fc.boolean(), fc.constant(null));

/** Nested at most 8 deep, well inside the parser's limit. */
const { json: JSON_VALUE } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', maxDepth: 8 },
    LEAF, fc.array(tie('json'), { maxLength: 5 }), objectOf(tie('json'))),
}));

/** Strict structural equality: bigint and number are different, key order is not significant. */
function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as JsonValue[];
    return a.length === bs.length && a.every((v, i) => sameJson(v, bs[i]!));
  }
  const bo = b as JsonObject;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && sameJson(a[k]!, bo[k]!));
}

function show(v: unknown): string {
  return fc.stringify(v);
}

/** Runs parseJson; any exception other than JsonError fails the property. */
function tryParse(text: string, maxDepth?: number): { value: JsonValue } | { error: JsonError } {
  try {
    return { value: parseJson(text, maxDepth) };
  } catch (e) {
    if (e instanceof JsonError) return { error: e };
    throw new Error(`parseJson threw ${String(e)} (not a JsonError) for ${show(text)}`);
  }
}

// ---------------------------------------------------------------------------

const codec = suite('prop: JSON codec');

codec('stringify → parse round-trips every value, and the text is a fixpoint', () => {
  fc.assert(fc.property(JSON_VALUE, (v) => {
    const text = stringifyJson(v);
    const back = parseJson(text);
    assert.ok(sameJson(back, v), `round trip of ${show(v)} gave ${show(back)}`);
    assert.is(stringifyJson(back), text);
    // The wire carries UTF-8: the text survives encoding and strict decoding.
    assert.is(decodeUtf8(Buffer.from(text, 'utf8')), text);
    // Our output is RFC 8259 JSON by an independent parser's judgement.
    JSON.parse(text);
  }), runs(400));
});

codec('strings with U+0000 or a lone surrogate serialize, but the parser rejects them', () => {
  const FORBIDDEN = fc.oneof(fc.constant('\0'), fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)));
  fc.assert(fc.property(TEXT, FORBIDDEN, TEXT, (before, bad, after) => {
    const text = stringifyJson([before + bad + after]);
    const r = tryParse(text);
    assert.ok('error' in r, `accepted ${show(text)}`);
  }), runs(200));
});

/** Number lexemes built from the RFC 8259 grammar, with up to 400 integer digits. */
const NUMBER_LEXEME = fc.record({
  minus: fc.boolean(),
  int: fc.oneof(fc.constant('0'), fc.tuple(fc.integer({ min: 1, max: 9 }), fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 400 }))
    .map(([d, rest]) => `${d}${rest}`)),
  frac: fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 20 })),
  exp: fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 4 }))
    .map((p) => p.join(''))),
}).map(({ minus, int, frac, exp }) => `${minus ? '-' : ''}${int}${frac === null ? '' : '.' + frac}${exp ?? ''}`);

codec('numbers: integer lexemes of any size are exact bigints, others are doubles', () => {
  fc.assert(fc.property(NUMBER_LEXEME, (lexeme) => {
    const integral = !/[.eE]/.test(lexeme);
    for (const text of [lexeme, `[${lexeme}]`, ` ${lexeme}\n`]) {
      const v = parseJson(text);
      const scalar = Array.isArray(v) ? v[0] : v;
      if (integral) assert.is(scalar, BigInt(lexeme), text);
      else assert.ok(Object.is(scalar, Number(lexeme)), `${text} gave ${show(scalar)}`);
    }
  }), runs(300));
});

// Mutations of valid JSON texts: the parser must agree with V8's JSON.parse,
// except for the stricter rules json.ts documents.

const JSONISH_CHAR = fc.constantFrom(...'{}[],:"\\ \t\n\r0123456789-+.eEtrufalsnbx/', '\0', '\ud800', '\udc00', 'é', '\u{1F600}');

/** One edit of a text: insert, delete or replace a character, or cut it short. */
const EDIT = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'truncate'), JSONISH_CHAR);

const JSON_LIKE_TEXT = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.tuple(fc.oneof(fc.json({ maxDepth: 4 }), JSON_VALUE.map(stringifyJson)), fc.array(EDIT, { minLength: 1, maxLength: 3 }))
    .map(([t, edits]) => applyEdits(t, edits)),
  fc.string({ unit: JSONISH_CHAR, maxLength: 30 }),
  // Duplicate keys, which JSON.parse tolerates and we must not.
  fc.tuple(KEY, JSON_VALUE, JSON_VALUE).map(([k, a, b]) => `{${quoteJsonString(k)}:${stringifyJson(a)},${quoteJsonString(k)}:${stringifyJson(b)}}`),
);

/** What json.ts rejects on purpose although RFC 8259 (and so V8) accepts it. */
const STRICTER_THAN_RFC = /duplicate key|U\+0000|unpaired surrogate|nesting deeper/;

/** Our value with bigints as doubles, for comparison with JSON.parse's result. */
function asV8(v: JsonValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(asV8);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: asV8(v[k]!), enumerable: true });
    return out;
  }
  return v;
}

function sameAsV8(ours: unknown, v8: unknown): boolean {
  // 0 and -0 compare equal on purpose: "-0" is the integer 0 for us, -0 for V8.
  if (typeof ours !== 'object' || ours === null) return ours === v8;
  if (typeof v8 !== 'object' || v8 === null || Array.isArray(ours) !== Array.isArray(v8)) return false;
  const a = ours as Record<string, unknown>, b = v8 as Record<string, unknown>;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameAsV8(a[k], b[k]));
}

codec('parse agrees with JSON.parse on valid and mutated texts, apart from the documented stricter rules', () => {
  fc.assert(fc.property(JSON_LIKE_TEXT, (text) => {
    let v8: unknown;
    let v8Accepts = true;
    try { v8 = JSON.parse(text); } catch { v8Accepts = false; }
    const ours = tryParse(text);
    if ('value' in ours) {
      assert.ok(v8Accepts, `we accept ${show(text)}, which is not JSON`);
      assert.ok(sameAsV8(asV8(ours.value), v8), `${show(text)}: ${show(ours.value)} vs ${show(v8)}`);
    } else if (v8Accepts) {
      assert.match(ours.error.message, STRICTER_THAN_RFC, `we reject valid JSON ${show(text)}`);
    }
  }), runs(1500));
});

codec('parse throws only JsonError on arbitrary text, lone surrogates included', () => {
  const UNIT = fc.oneof(ANY_CODE_POINT, JSONISH_CHAR, fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)));
  fc.assert(fc.property(fc.string({ unit: UNIT, maxLength: 40 }), (text) => {
    tryParse(text);
  }), runs(500));
});

/** Bytes: random, or UTF-8 JSON with a byte changed, inserted or cut (breaking multi-byte sequences). */
const WIRE_BYTES = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.tuple(JSON_VALUE, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'cut')).map(([v, at, byte, how]) => {
    const b = Buffer.from(stringifyJson(v), 'utf8');
    const i = at % (b.length + 1);
    if (how === 'cut') return b.subarray(0, i);
    if (how === 'insert') return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    const c = Buffer.from(b);
    if (i < c.length) c[i] = byte;
    return c;
  }),
);

codec('decodeUtf8 accepts exactly the valid UTF-8 and parse of the result throws only JsonError', () => {
  fc.assert(fc.property(WIRE_BYTES, (bytes) => {
    const lossy = Buffer.from(bytes).toString('utf8');
    // Valid UTF-8 iff the replacement-character decoding re-encodes to the same bytes.
    const valid = Buffer.from(lossy, 'utf8').equals(Buffer.from(bytes));
    let text: string;
    try {
      text = decodeUtf8(bytes);
    } catch (e) {
      assert.instance(e, JsonError);
      assert.not.ok(valid, `rejected valid UTF-8 ${show(bytes)}`);
      return;
    }
    assert.ok(valid, `accepted invalid UTF-8 ${show(bytes)}`);
    assert.is(text, lossy);
    tryParse(text);
  }), runs(600));
});

/** Nesting of arrays and objects in random order, `depth` levels deep. */
const NESTING = fc.array(fc.boolean(), { minLength: 1, maxLength: 80 }).map((kinds) => {
  let text = '0';
  for (let i = kinds.length - 1; i >= 0; i--) text = kinds[i] ? `[${text}]` : `{"k":${text}}`;
  return { depth: kinds.length, text };
});

codec('nesting within the limit parses; deeper nesting is a JsonError, never a stack overflow', () => {
  fc.assert(fc.property(NESTING, fc.option(fc.integer({ min: 1, max: 60 })), ({ depth, text }, limit) => {
    const max = limit ?? DEFAULT_MAX_DEPTH;
    const r = tryParse(text, limit ?? undefined);
    if (depth <= max) assert.ok('value' in r, `depth ${depth} <= ${max} rejected`);
    else assert.ok('error' in r && /nesting deeper/.test(r.error.message), `depth ${depth} > ${max}: ${show(r)}`);
  }), runs(300));
  // Hostile depths, closed or not: refused long before the stack could run out.
  fc.assert(fc.property(fc.integer({ min: DEFAULT_MAX_DEPTH + 1, max: 200_000 }), fc.constantFrom('[', '{"a":'), fc.boolean(), (depth, open, closed) => {
    const close = open === '[' ? ']' : '}';
    const r = tryParse(open.repeat(depth) + '1' + (closed ? close.repeat(depth) : ''));
    assert.ok('error' in r && /nesting deeper/.test(r.error.message), show(r));
  }), runs(20));
});

// ---------------------------------------------------------------------------
// Messages. The reference below is docs/protocol.md §6 transcribed independently
// of schema.ts: [field, type, mandatory] per command and message type.

type WireType = 'string' | 'uint63' | 'number>=0' | 'props';
type FieldRow = readonly [name: string, type: WireType, mandatory: boolean];
type CommandTable = Partial<Record<MsgType, readonly FieldRow[]>>;

const M = true, O = false;
const FAIL_ROWS: readonly FieldRow[] = [['fail-reason', 'string', O]];
const BARE_MULTI: CommandTable = { request: [], accept: [], complete: [], fail: FAIL_ROWS };

const COMMON_TABLE: Record<string, CommandTable> = {
  hello: {
    request: [['client-id', 'uint63', M], ['protocol-minimum-version', 'uint63', M], ['protocol-maximum-version', 'uint63', M]],
    complete: [['protocol-version', 'uint63', M]],
    fail: FAIL_ROWS,
  },
  subscribe: {
    ...BARE_MULTI,
    request: [['subscription-id', 'uint63', M], ['filter', 'string', O]],
    notify: [['match-type', 'string', M], ['service-id', 'uint63', M], ['generation', 'uint63', O], ['service-props', 'props', O],
      ['ttl', 'uint63', O], ['client-id', 'uint63', O], ['orphan-since', 'number>=0', O]],
  },
  unsubscribe: { request: [['subscription-id', 'uint63', M]], complete: [], fail: FAIL_ROWS },
  subscriptions: { ...BARE_MULTI, notify: [['subscription-id', 'uint63', M], ['client-id', 'uint63', M], ['filter', 'string', O]] },
  services: {
    ...BARE_MULTI,
    request: [['filter', 'string', O]],
    notify: [['service-id', 'uint63', M], ['generation', 'uint63', M], ['service-props', 'props', M], ['ttl', 'uint63', M],
      ['client-id', 'uint63', M], ['orphan-since', 'number>=0', O]],
  },
  publish: {
    request: [['service-id', 'uint63', M], ['generation', 'uint63', M], ['service-props', 'props', M], ['ttl', 'uint63', M]],
    complete: [],
    fail: FAIL_ROWS,
  },
  unpublish: { request: [['service-id', 'uint63', M]], complete: [], fail: FAIL_ROWS },
  ping: { request: [], complete: [], fail: FAIL_ROWS },
};
const CLIENTS_V2_ROWS: readonly FieldRow[] = [['client-id', 'uint63', M], ['client-address', 'string', M], ['time', 'uint63', M]];

const SPEC_TABLE: Record<ProtocolVersion, Record<string, CommandTable>> = {
  2: { ...COMMON_TABLE, clients: { ...BARE_MULTI, notify: CLIENTS_V2_ROWS } },
  3: {
    ...COMMON_TABLE,
    clients: { ...BARE_MULTI, notify: [...CLIENTS_V2_ROWS, ['idle', 'number>=0', M], ['protocol-version', 'uint63', M], ['latency', 'number>=0', O]] },
    track: { request: [], accept: [], notify: [['track-type', 'string', M]], inform: [['track-type', 'string', M]], complete: [], fail: FAIL_ROWS },
  },
};

/** docs/protocol.md §3.1: requests and informs come from clients, the rest from the server. */
function senderSide(type: string): Direction | undefined {
  if (type === 'request' || type === 'inform') return 'to-server';
  if (type === 'accept' || type === 'notify' || type === 'complete' || type === 'fail') return 'to-client';
  return undefined;
}

const ENVELOPE = ['ta-cmd', 'ta-id', 'msg-type'];

function isPlainObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUint63(v: JsonValue | undefined): boolean {
  return typeof v === 'bigint' && v >= 0n && v <= MAX_UINT63;
}

function hasType(v: JsonValue, type: WireType): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'uint63': return isUint63(v);
    case 'number>=0': return typeof v === 'bigint' ? v >= 0n : typeof v === 'number' && Number.isFinite(v) && v >= 0;
    case 'props':
      return isPlainObject(v) && Object.values(v).every((values) => Array.isArray(values)
        && values.every((x) => typeof x === 'string' || (typeof x === 'bigint' && x >= MIN_INT64 && x <= MAX_UINT63)));
  }
}

/** The spec's verdict on one message. */
function specAccepts(value: JsonValue, version: ProtocolVersion, direction: Direction): boolean {
  if (!isPlainObject(value)) return false;
  const cmd = value['ta-cmd'], type = value['msg-type'];
  if (typeof cmd !== 'string' || !isUint63(value['ta-id']) || typeof type !== 'string') return false;
  if (!Object.prototype.hasOwnProperty.call(SPEC_TABLE[version], cmd)) return false;
  if (senderSide(type) !== direction) return false;
  const rows = SPEC_TABLE[version][cmd]![type as MsgType];
  if (rows === undefined) return false;
  for (const name of Object.keys(value)) {
    if (ENVELOPE.includes(name)) continue;
    const row = rows.find(([n]) => n === name);
    if (row === undefined || !hasType(value[name]!, row[1])) return false;
  }
  return rows.every(([name, , mandatory]) => !mandatory || Object.prototype.hasOwnProperty.call(value, name));
}

/** Every (version, command, message type) of the table. */
const SLOTS: { version: ProtocolVersion; cmd: Command; type: MsgType; rows: readonly FieldRow[] }[] = [];
for (const version of [2, 3] as const) {
  for (const [cmd, table] of Object.entries(SPEC_TABLE[version])) {
    for (const [type, rows] of Object.entries(table)) SLOTS.push({ version, cmd: cmd as Command, type: type as MsgType, rows: rows! });
  }
}

const UINT63 = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: MAX_UINT63 }), fc.constantFrom(0n, MAX_UINT63));
const NON_NEGATIVE = fc.oneof(UINT63, fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }));
const PROP_VALUE: fc.Arbitrary<PropValue> = fc.oneof(
  fc.constantFrom('1', 'a', 'eu-1'), TEXT, fc.bigInt({ min: -5n, max: 5n }), fc.bigInt({ min: MIN_INT64, max: MAX_UINT63 }),
);
const WIRE_PROPS: fc.Arbitrary<JsonObject> = fc.uniqueArray(
  fc.tuple(fc.oneof(fc.constantFrom('', 'name', 'port', '__proto__'), TEXT), fc.array(PROP_VALUE, { maxLength: 4 })),
  { selector: ([k]) => k, maxLength: 5 },
).map(toObject);

const VALUE_OF: Record<WireType, fc.Arbitrary<JsonValue>> = { 'string': TEXT, 'uint63': UINT63, 'number>=0': NON_NEGATIVE, 'props': WIRE_PROPS };

/** A message valid for its slot: mandatory fields, a random subset of the optional ones, shuffled. */
const VALID_MESSAGE = fc.constantFrom(...SLOTS).chain((slot) => fc.tuple(
  fc.constant(slot),
  UINT63,
  fc.tuple(...slot.rows.map(([name, type, mandatory]) => {
    const field = VALUE_OF[type].map((v) => [name, v] as const);
    return mandatory ? field : fc.option(field);
  })),
).chain(([s, taId, fields]) => {
  const present = fields.filter((f): f is readonly [string, JsonValue] => f !== null);
  const members: (readonly [string, JsonValue])[] = [['ta-cmd', s.cmd], ['ta-id', taId], ['msg-type', s.type], ...present];
  return fc.shuffledSubarray(members, { minLength: members.length }).map((order) => ({ slot: s, message: toObject(order) }));
}));

const FIELD_NAMES = [...new Set(SLOTS.flatMap((s) => s.rows.map(([n]) => n))), ...ENVELOPE];

/** A message with one deviation: a field removed, or a field (known or not) set to an arbitrary value. */
const MUTATED_MESSAGE = fc.tuple(
  VALID_MESSAGE,
  fc.oneof(fc.constantFrom(...FIELD_NAMES), KEY),
  fc.oneof(JSON_VALUE, TEXT, UINT63, INTEGER, NON_NEGATIVE, WIRE_PROPS, fc.constantFrom<JsonValue>(null, true, -1n, 5.0, '', 'request', 'notify', 'track', 'hello')),
  fc.boolean(),
).map(([{ message }, name, value, remove]) => {
  const copy = toObject(Object.entries(message));
  if (remove) delete copy[name];
  else copy[name] = value;
  return copy;
});

const schema = suite('prop: message schema');

schema('validateMessage agrees with the spec table and throws only ProtocolError', () => {
  const ANY_MESSAGE = fc.oneof(VALID_MESSAGE.map((m) => m.message), MUTATED_MESSAGE, JSON_VALUE);
  fc.assert(fc.property(ANY_MESSAGE, fc.constantFrom<ProtocolVersion>(2, 3), fc.constantFrom<Direction>('to-server', 'to-client'), (value, version, direction) => {
    const expected = specAccepts(value, version, direction);
    let accepted: ReturnType<typeof validateMessage> | undefined;
    try {
      accepted = validateMessage(value, version, direction);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw new Error(`validateMessage threw ${String(e)} for ${show(value)}`);
      assert.ok((e.message.length > 0), 'a reason is given');
      assert.not.ok(expected, `v${version} ${direction} rejected a valid message ${show(value)}: ${e.message}`);
      return;
    }
    assert.ok(expected, `v${version} ${direction} accepted an invalid message ${show(value)}`);
    const obj = value as JsonObject;
    assert.is(accepted.cmd, obj['ta-cmd']);
    assert.is(accepted.taId, obj['ta-id']);
    assert.is(accepted.type, obj['msg-type']);
    assert.is(accepted.fields, obj);
  }), runs(2000));
});

schema('every generated valid message is accepted in its own direction and version', () => {
  fc.assert(fc.property(VALID_MESSAGE, ({ slot, message }) => {
    validateMessage(parseJson(stringifyJson(message)), slot.version, senderSide(slot.type)!);
  }), runs(400));
});

/** Wire props as a Props multimap, in first-occurrence order: the reference for decodeProps. */
function expectedProps(wire: JsonObject) {
  return makeProps(Object.keys(wire).map((k) => [k, wire[k] as PropValue[]] as [string, PropValue[]]));
}

schema('decodeProps keeps first occurrences in order, drops duplicates and empty names', () => {
  fc.assert(fc.property(WIRE_PROPS, (wire) => {
    const parsed = parseJson(stringifyJson(wire)) as JsonObject;
    const decoded = decodeProps(parsed);
    assert.equal([...decoded], [...expectedProps(wire)]);
    for (const values of decoded.values()) assert.is(new Set(values).size, values.length);
    // Encoding gives the same multimap back.
    assert.ok(propsEqual(decodeProps(parseJson(encodeProps(decoded)) as JsonObject), decoded));
  }), runs(400));
});

/** Re-encodes a validated message the way the server builds outgoing ones. */
function reencode(m: ReturnType<typeof validateMessage>): string {
  const members: string[] = [];
  for (const name of Object.keys(m.fields)) {
    if (ENVELOPE.includes(name)) continue;
    const v = m.fields[name]!;
    members.push(name === 'service-props' ? quoteJsonString(name) + ':' + encodeProps(decodeProps(v as JsonObject)) : member(name, v));
  }
  return encodeMessage(m.cmd, m.taId, m.type, members.join(','));
}

schema('encode(decode(x)) keeps the meaning of x and is a fixpoint', () => {
  fc.assert(fc.property(VALID_MESSAGE, ({ slot, message }) => {
    const direction = senderSide(slot.type)!;
    // The message as received: a generated integral double (e.g. idle 0) reads back as a bigint, by design.
    const received = parseJson(stringifyJson(message)) as JsonObject;
    const decoded = validateMessage(received, slot.version, direction);
    const text = reencode(decoded);
    assert.ok(text.startsWith(envelope(decoded.cmd, decoded.taId, decoded.type)));
    const again = validateMessage(parseJson(text), slot.version, direction);
    assert.is(again.cmd, slot.cmd);
    assert.is(again.taId, message['ta-id']);
    assert.is(again.type, slot.type);
    assert.equal(Object.keys(again.fields).sort(), Object.keys(received).sort());
    for (const name of Object.keys(received)) {
      if (name === 'service-props') {
        assert.ok(propsEqual(decodeProps(again.fields[name] as JsonObject), expectedProps(received[name] as JsonObject)), name);
      } else {
        assert.ok(sameJson(again.fields[name]!, received[name]!), `${name}: ${show(again.fields[name])} vs ${show(received[name])}`);
      }
    }
    assert.is(reencode(again), text);
  }), runs(500));
});

schema('encodeFail is a valid fail message carrying the reason', () => {
  const CMD_SLOT = fc.constantFrom(...SLOTS.filter((s) => s.type === 'fail'));
  fc.assert(fc.property(CMD_SLOT, UINT63, TEXT, ({ version, cmd }, taId, reason) => {
    const m = validateMessage(parseJson(encodeFail(cmd, taId, reason)), version, 'to-client');
    assert.is(m.cmd, cmd);
    assert.is(m.taId, taId);
    assert.is(m.type, 'fail');
    assert.is(m.fields['fail-reason'], reason);
  }), runs(200));
});

codec.run();
schema.run();
