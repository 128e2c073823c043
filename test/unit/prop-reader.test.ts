// Property test of the server's fast input path (src/protocol/reader.ts)
// against the general path (decodeUtf8 → parseJson → validateMessage →
// decodeProps): on messages built from the protocol's real pieces — every
// command and message type, the fields of the schema, ids up to and past
// 2^63, props with ASCII and non-ASCII names and values, integers,
// duplicates, empty value lists, any JSON whitespace — and on mutations of
// them (a member dropped, repeated or renamed, a field of another message,
// a value of another type, an escape, trailing garbage, a stray byte), readRequest either declines
// (undefined) or returns exactly what the general path makes of the same
// bytes (test/helpers/reader-contract.ts says what "exactly" is).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { MAX_INT64, MIN_INT64 } from '../../src/protocol/props';
import { MAX_UINT63, messageSpec } from '../../src/protocol/schema';
import type { Command, FieldType, MsgType, ProtocolVersion } from '../../src/protocol/schema';
import { readRequest } from '../../src/protocol/reader';
import { divergence, generalOutcome } from '../helpers/reader-contract';
import { runs } from '../helpers/property';

// ---------------------------------------------------------------------------
// A message as a tree of JSON text pieces, rendered with whitespace chosen
// per gap, so that a mutation can work on members rather than characters.

type Node =
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'object'; readonly members: readonly Member[] }
  | { readonly kind: 'array'; readonly items: readonly Node[] };
/** A member's key is JSON text already (a quoted, possibly escaped, string). */
interface Member { readonly key: string; readonly value: Node }

const raw = (text: string): Node => ({ kind: 'raw', text });

/** JSON's four whitespace characters, runs of them and nothing (the common case). */
const WHITESPACE = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constant(' ') },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), minLength: 1, maxLength: 3 }) },
);

/** Renders `node`; gap k gets whitespace ws[k mod ws.length]. */
function render(node: Node, ws: readonly string[]): string {
  let gap = 0;
  const w = (): string => (ws.length === 0 ? '' : ws[gap++ % ws.length]!);
  const go = (n: Node): string => {
    switch (n.kind) {
      case 'raw': return n.text;
      case 'array': return '[' + w() + n.items.map((item) => go(item) + w()).join(',' + w()) + ']';
      case 'object': return '{' + w() + n.members.map((m) => m.key + w() + ':' + w() + go(m.value) + w()).join(',' + w()) + '}';
    }
  };
  return w() + go(node) + w();
}

// ---------------------------------------------------------------------------
// Strings: plain ASCII (the fast path's), with characters that need an
// escape, non-ASCII; written as JSON.stringify does (raw UTF-8) or as
// Python's json.dumps does (every non-ASCII character as \uXXXX), or with a
// gratuitous escape.

const ASCII = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 8 });
const ODD_CHAR = fc.constantFrom('"', '\\', '/', '\n', '\t', '\x01', '\x7f', 'é', 'ö', '\u2028', '\ufeff', '€', '\u{1F600}');
const TEXT = fc.oneof(
  { weight: 10, arbitrary: ASCII },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(ODD_CHAR, fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))), maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '0', '10', '01', '-1', '4294967294', '4294967295', '__proto__', 'constructor', 'ta-id') },
);
type Style = 'plain' | 'python' | 'solidus' | 'raw';
const STYLE: fc.Arbitrary<Style> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Style>('plain') },
  { weight: 1, arbitrary: fc.constant<Style>('python') },
  { weight: 1, arbitrary: fc.constant<Style>('solidus') },
  { weight: 1, arbitrary: fc.constant<Style>('raw') },
);
/** Control characters as they would be unescaped: not JSON. */
const RAW_CONTROL: Record<string, string> = { '\\n': '\n', '\\t': '\t', '\\r': '\r', '\\b': '\b', '\\f': '\f' };
function quote(s: string, style: Style): string {
  const q = JSON.stringify(s);
  if (style === 'raw') {
    return q.replace(/\\[ntrbf]|\\u00[01][0-9a-f]/g, (e) => RAW_CONTROL[e] ?? String.fromCharCode(Number.parseInt(e.slice(2), 16)));
  }
  if (style === 'python') return q.replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  // An escape where none is needed: the same string, another text.
  if (style === 'solidus') return q.length > 2 ? '"\\u' + q.charCodeAt(1).toString(16).padStart(4, '0') + q.slice(2) : '"\\/"';
  return q;
}
const STRING_TEXT = fc.tuple(TEXT, STYLE).map(([s, style]) => quote(s, style));

// ---------------------------------------------------------------------------
// Integers: ids mostly small, often 16 to 19 digits, at and past 2^63.

const ID = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 2000n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: MAX_UINT63 }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 10n ** 15n - 5n, max: MAX_UINT63 }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1023n, 1024n, 999_999_999_999_999n, 10n ** 15n, 1n << 53n, MAX_UINT63 - 1n, MAX_UINT63, MAX_UINT63 + 1n, 10n ** 19n - 1n) },
).map((v) => v.toString());

const PROP_INTEGER = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: -50n, max: 50n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: MIN_INT64, max: MAX_INT64 }) },
  { weight: 1, arbitrary: fc.constantFrom(MIN_INT64, MAX_INT64, MIN_INT64 - 1n, MAX_INT64 + 1n, -(10n ** 15n), 10n ** 15n, -(10n ** 18n), 10n ** 19n - 1n) },
).map((v) => v.toString());

/** Numbers the fast path must never take as an integer, most of them valid JSON. */
const ODD_NUMBER = fc.constantFrom('-0', '1.0', '1e3', '1E3', '0.5', '-1', '01', '-01', '00', '1e-2', '123456789012345678901', '-', '1.', '+1');

// ---------------------------------------------------------------------------
// Props: names from a small pool so that duplicates happen, value lists
// with duplicates (also "1" beside 1) and empty ones.

const PROP_NAME = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('name', 'port', 'zone', 'a', 'b', 'x-y', 'caf\u00e9', '10', '2', '') },
  { weight: 1, arbitrary: TEXT },
);
const PROP_VALUE = fc.oneof(
  { weight: 3, arbitrary: STRING_TEXT },
  { weight: 1, arbitrary: fc.constantFrom('"x"', '"1"', '"eu-1"') },
  { weight: 3, arbitrary: PROP_INTEGER },
  { weight: 1, arbitrary: fc.constantFrom('1', '2', '-1') },
);
const PROP_VALUES = fc.oneof(
  { weight: 4, arbitrary: fc.array(PROP_VALUE, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant([]) },
);
/** Mostly distinct names (a repeated one is a JsonError); sometimes repeats, and the mutations add more. */
const PROP_LIST = fc.oneof(
  { weight: 5, arbitrary: fc.uniqueArray(fc.tuple(PROP_NAME, STYLE, PROP_VALUES), { maxLength: 6, selector: ([name]) => name }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(PROP_NAME, STYLE, PROP_VALUES), { maxLength: 6 }) },
);
const PROPS: fc.Arbitrary<Node> = PROP_LIST.map((list) => ({
  kind: 'object',
  members: list.map(([name, style, values]) => ({ key: quote(name, style), value: { kind: 'array', items: values.map(raw) } })),
}));

// ---------------------------------------------------------------------------
// Messages: a command and a type (mostly existing request/inform pairs),
// its fields from the schema (optional ones sometimes), the envelope, in a
// random order.

const COMMANDS: readonly Command[] = ['hello', 'track', 'subscribe', 'unsubscribe', 'subscriptions', 'services', 'publish', 'unpublish', 'ping', 'clients'];
const ALL_TYPES: readonly MsgType[] = ['request', 'inform', 'accept', 'notify', 'complete', 'fail'];
/** Every field a message of the schema has, with its type, for fields out of place. */
const FIELD_TYPES: readonly (readonly [string, FieldType])[] = [
  ['client-id', 'uint63'], ['protocol-minimum-version', 'uint63'], ['protocol-maximum-version', 'uint63'], ['track-type', 'string'],
  ['subscription-id', 'uint63'], ['filter', 'string'], ['service-id', 'uint63'], ['generation', 'uint63'], ['service-props', 'props'],
  ['ttl', 'uint63'], ['match-type', 'string'], ['protocol-version', 'uint63'], ['fail-reason', 'string'], ['orphan-since', 'number>=0'],
  ['client-address', 'string'], ['time', 'uint63'], ['idle', 'number>=0'], ['latency', 'number>=0'],
];
const FIELD_NAMES = ['ta-cmd', 'ta-id', 'msg-type', ...FIELD_TYPES.map(([name]) => name)];

function valueOf(type: FieldType): fc.Arbitrary<Node> {
  switch (type) {
    case 'uint63': return ID.map(raw);
    case 'string': return STRING_TEXT.map(raw);
    case 'props': return PROPS;
    case 'number>=0': return fc.constantFrom('0', '0.25', '12').map(raw);
  }
}

interface Sample {
  version: ProtocolVersion;
  bytes: Buffer;
  mutation: Mutation;
  /** The bytes as text, for the counterexample fast-check prints. */
  toString(): string;
}

/** Publish, the request with props, the most often; now and then a command that does not exist. */
const COMMAND = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...COMMANDS) },
  { weight: 10, arbitrary: fc.constant('publish') },
  { weight: 1, arbitrary: fc.constantFrom('launch', 'Ping', '') },
);
/** Request mostly; inform mostly where it exists (track); now and then a type no client sends. */
const typeFor = (cmd: string): fc.Arbitrary<string> => fc.oneof(
  { weight: 12, arbitrary: cmd === 'track' ? fc.constantFrom('request', 'inform') : fc.constant('request') },
  { weight: 1, arbitrary: fc.constantFrom(...ALL_TYPES, 'query') },
);

const MUTATIONS = ['none', 'drop', 'duplicate', 'rename', 'extra', 'retype', 'escape', 'garbage', 'byte', 'drop-prop', 'duplicate-prop', 'retype-prop'] as const;
type Mutation = typeof MUTATIONS[number];
const MUTATION: fc.Arbitrary<Mutation> = fc.oneof({ weight: 12, arbitrary: fc.constant<Mutation>('none') }, { weight: 10, arbitrary: fc.constantFrom(...MUTATIONS) });

/** A value of another type than the field's, or a number outside its grammar. */
const OTHER_VALUE: fc.Arbitrary<Node> = fc.oneof(
  ODD_NUMBER.map(raw),
  fc.constantFrom('null', 'true', 'false', '{}', '[]', '"1"', '""', '["x"]', '{"a":1}', '9223372036854775808', '-9223372036854775809').map(raw),
  ID.map(raw), STRING_TEXT.map(raw), PROPS,
);
const GARBAGE = fc.constantFrom('{}', 'x', ',', '}', ']', '\u0000', ' 1', '"', '\ufeff');

const SAMPLE: fc.Arbitrary<Sample> = fc.gen().map((g): Sample => {
  const version = g(fc.constantFrom, 2, 3) as ProtocolVersion;
  const cmd = g(() => COMMAND);
  const type = g(() => typeFor(cmd));
  const spec = messageSpec(version, cmd, type) ?? messageSpec(3, cmd, type) ?? messageSpec(3, cmd, 'request');
  const members: Member[] = [
    { key: '"ta-cmd"', value: raw(quote(cmd, g(() => STYLE))) },
    { key: '"ta-id"', value: raw(g(() => ID)) },
    { key: '"msg-type"', value: raw(quote(type, g(() => STYLE))) },
  ];
  for (const [name, field] of spec?.fields ?? []) {
    if (field.mandatory || g(fc.boolean)) members.push({ key: '"' + name + '"', value: g(() => valueOf(field.type)) });
  }
  // Any order: clients put the envelope first, nothing requires it.
  if (g(fc.integer, { min: 0, max: 3 }) === 0) {
    const order = members.map(() => g(fc.integer, { min: 0, max: 1000 }));
    const sorted = members.map((m, i) => [order[i]!, m] as const).sort((a, b) => a[0] - b[0]).map(([, m]) => m);
    members.splice(0, members.length, ...sorted);
  }
  const mutation = g(() => MUTATION);
  const at = (n: number): number => g(fc.integer, { min: 0, max: Math.max(0, n - 1) });
  const propsAt = members.findIndex((m) => m.key === '"service-props"' && m.value.kind === 'object');
  let suffix = '';
  switch (mutation) {
    case 'none': break;
    case 'drop': members.splice(at(members.length), 1); break;
    case 'duplicate': { const m = members[at(members.length)]!; members.splice(at(members.length + 1), 0, m); break; }
    case 'rename': {
      const i = at(members.length);
      const name = g(() => fc.oneof(fc.constantFrom(...FIELD_NAMES), ASCII));
      members[i] = { key: quote(name, g(() => STYLE)), value: members[i]!.value };
      break;
    }
    case 'extra': {
      // A field of another command (or message type), with a value of its type.
      const [name, type] = g(fc.constantFrom, ...FIELD_TYPES);
      members.splice(at(members.length + 1), 0, { key: '"' + name + '"', value: g(() => valueOf(type)) });
      break;
    }
    case 'retype': { const i = at(members.length); members[i] = { key: members[i]!.key, value: g(() => OTHER_VALUE) }; break; }
    case 'escape': {
      // The same string with one character escaped (\u form): equal value, other text.
      const i = at(members.length);
      const v = members[i]!.value;
      if (v.kind === 'raw' && v.text.startsWith('"') && v.text.length > 2 && v.text[1] !== '\\') {
        members[i] = { key: members[i]!.key, value: raw('"\\u' + v.text.charCodeAt(1).toString(16).padStart(4, '0') + v.text.slice(2)) };
      } else {
        members[i] = { key: '"\\u' + members[i]!.key.charCodeAt(1).toString(16).padStart(4, '0') + members[i]!.key.slice(2), value: v };
      }
      break;
    }
    case 'garbage': suffix = g(() => GARBAGE); break;
    case 'byte': break; // applied to the bytes below
    case 'drop-prop': case 'duplicate-prop': case 'retype-prop': {
      if (propsAt < 0) break;
      const props = members[propsAt]!.value as Extract<Node, { kind: 'object' }>;
      const list = [...props.members];
      if (list.length === 0) break;
      const i = at(list.length);
      if (mutation === 'drop-prop') list.splice(i, 1);
      else if (mutation === 'duplicate-prop') {
        // The repeated name with the same values, none, or others.
        const values = g(() => fc.oneof(fc.constant(list[i]!.value), fc.constant<Node>({ kind: 'array', items: [] }), PROP_VALUES.map((v): Node => ({ kind: 'array', items: v.map(raw) }))));
        list.splice(at(list.length + 1), 0, { key: list[i]!.key, value: values });
      }
      else list[i] = { key: list[i]!.key, value: g(() => fc.oneof(OTHER_VALUE, OTHER_VALUE.map((v): Node => ({ kind: 'array', items: [v] })))) };
      members[propsAt] = { key: members[propsAt]!.key, value: { kind: 'object', members: list } };
      break;
    }
  }
  const ws = g(fc.array, WHITESPACE, { maxLength: 8 });
  let bytes = Buffer.from(render({ kind: 'object', members }, ws) + suffix, 'utf8');
  if (mutation === 'byte') {
    // A byte inserted (any, so also a broken UTF-8 sequence) or one removed.
    const i = at(bytes.length + 1);
    const b = g(() => fc.oneof(fc.constantFrom(...Buffer.from('\\"0-.e [{,:}')), fc.integer({ min: 0, max: 255 })));
    bytes = g(fc.boolean)
      ? Buffer.concat([bytes.subarray(0, i), Buffer.from([b]), bytes.subarray(i)])
      : Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
  }
  return { version, bytes, mutation, toString: () => `v${version} ${mutation} ${JSON.stringify(bytes.toString('latin1'))}` };
});

// ---------------------------------------------------------------------------

const NUM_RUNS = 5000;
/**
 * Shrinking a failure of this generator unbounded runs for minutes (fc.gen
 * keeps finding equivalent smaller draws); a few hundred steps give a
 * readable counterexample, and it names its mutation anyway.
 */
const SHRINKS = 300;
const contract = suite('reader: the fast path returns what the general path would, or nothing');

contract('readRequest never throws, and what it returns the general path accepts with the same message', () => {
  const stats = new Map<string, number>();
  let taken = 0, declinedValid = 0, declinedInvalid = 0;
  fc.assert(fc.property(fc.limitShrink(SAMPLE, SHRINKS), ({ version, bytes, mutation }) => {
    const fast = readRequest(bytes, version);
    const general = generalOutcome(bytes, version);
    const outcome = `${mutation} ${fast ? 'taken' : general instanceof Error ? 'invalid' : 'valid'}`;
    stats.set(outcome, (stats.get(outcome) ?? 0) + 1);
    if (fast === undefined) {
      if (general instanceof Error) declinedInvalid++;
      else declinedValid++;
      return;
    }
    taken++;
    const why = divergence(fast, general);
    if (why !== undefined) throw new Error(`v${version} ${JSON.stringify(bytes.toString('latin1'))}: ${why}`);
  }), runs(NUM_RUNS));
  // PAF_READER_STATS=1: how each mutation fared, to keep the generator honest.
  if (process.env.PAF_READER_STATS) console.log([...stats].sort());
  // The generator must keep feeding all three outcomes, or the property
  // says little: a third of the cases on the fast path, and both kinds of
  // declined ones. (Counts include shrinking runs only on failure.)
  const total = taken + declinedValid + declinedInvalid;
  assert.ok(taken >= total / 3, `fast path taken ${taken} of ${total}`);
  assert.ok(declinedValid >= total / 50, `declined but valid ${declinedValid} of ${total}`);
  assert.ok(declinedInvalid >= total / 5, `declined and invalid ${declinedInvalid} of ${total}`);
});

contract.run();
