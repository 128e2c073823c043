// The Pathfinder message schema (docs/protocol.md §3, §6): which message types
// each command has, which fields each of those carries, and the strict
// validation that turns a parsed JSON value into a Message. Anything that
// does not fit is a ProtocolError, on which the connection is closed
// without a reply (docs/protocol.md §4.3).

import type { JsonObject, JsonValue } from './json';
import { ownString } from './json';
import { logText } from '../log/escape';
import type { PropValue, Props, PropsSize } from './props';
import { MAX_INT64, MIN_INT64 } from './props';

export type ProtocolVersion = 2 | 3;
/** The protocol versions this implementation speaks, server and client alike. */
export const MIN_PROTOCOL_VERSION = 2;
export const MAX_PROTOCOL_VERSION = 3;
export type Command = 'hello' | 'track' | 'subscribe' | 'unsubscribe' | 'subscriptions' | 'services' | 'publish' | 'unpublish' | 'ping' | 'clients';
export type MsgType = 'request' | 'accept' | 'notify' | 'inform' | 'complete' | 'fail';
export type TransactionKind = 'single' | 'multi' | 'two-way';
export type Direction = 'to-server' | 'to-client';

export const COMMAND_KIND: Record<Command, TransactionKind> = {
  hello: 'single',
  track: 'two-way',
  subscribe: 'multi',
  unsubscribe: 'single',
  subscriptions: 'multi',
  services: 'multi',
  publish: 'single',
  unpublish: 'single',
  ping: 'single',
  clients: 'multi',
};

/** The message says exactly what was wrong (for the log line). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * Fields are read by wire name, e.g. fields['service-id'] as bigint; the
 * envelope fields are included. A message read by the fast path
 * (reader.ts) carries its service-props decoded in `props` instead of in
 * `fields`; validateMessage leaves `props` undefined and the props (if
 * any) in `fields`.
 */
export interface Message { cmd: Command; taId: bigint; type: MsgType; fields: JsonObject; props: ReadProps | undefined }

/** Decoded service-props with the sizes the memory budget charges. */
export interface ReadProps extends PropsSize { props: Props }

/** 2^63 − 1: upper bound of a uint63 field (ids, generations, TTLs). */
export const MAX_UINT63 = (1n << 63n) - 1n;

export type FieldType = 'string' | 'uint63' | 'number>=0' | 'props';
export interface FieldSpec { readonly type: FieldType; readonly mandatory: boolean }
export interface MessageSpec {
  readonly fields: ReadonlyMap<string, FieldSpec>;
  readonly mandatory: readonly string[];
}
type CommandSpec = Partial<Record<MsgType, MessageSpec>>;

const M = true; // mandatory
const O = false; // optional

function message(...fields: [name: string, type: FieldType, mandatory: boolean][]): MessageSpec {
  return {
    fields: new Map(fields.map(([name, type, mandatory]) => [name, { type, mandatory }])),
    mandatory: fields.filter((f) => f[2]).map((f) => f[0]),
  };
}

const NO_FIELDS = message();
const FAIL = message(['fail-reason', 'string', O]);

/** Commands whose tables are the same in v2 and v3 (docs/protocol.md §6.1, §6.3–6.9). */
const COMMON: [Command, CommandSpec][] = [
  ['hello', {
    request: message(
      ['client-id', 'uint63', M],
      ['protocol-minimum-version', 'uint63', M],
      ['protocol-maximum-version', 'uint63', M]),
    complete: message(['protocol-version', 'uint63', M]),
    fail: FAIL,
  }],
  ['subscribe', {
    request: message(['subscription-id', 'uint63', M], ['filter', 'string', O]),
    accept: NO_FIELDS,
    notify: message(
      ['match-type', 'string', M],
      ['service-id', 'uint63', M],
      ['generation', 'uint63', O],
      ['service-props', 'props', O],
      ['ttl', 'uint63', O],
      ['client-id', 'uint63', O],
      ['orphan-since', 'number>=0', O]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['unsubscribe', {
    request: message(['subscription-id', 'uint63', M]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['subscriptions', {
    request: NO_FIELDS,
    accept: NO_FIELDS,
    notify: message(['subscription-id', 'uint63', M], ['client-id', 'uint63', M], ['filter', 'string', O]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['services', {
    request: message(['filter', 'string', O]),
    accept: NO_FIELDS,
    notify: message(
      ['service-id', 'uint63', M],
      ['generation', 'uint63', M],
      ['service-props', 'props', M],
      ['ttl', 'uint63', M],
      ['client-id', 'uint63', M],
      ['orphan-since', 'number>=0', O]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['publish', {
    request: message(
      ['service-id', 'uint63', M],
      ['generation', 'uint63', M],
      ['service-props', 'props', M],
      ['ttl', 'uint63', M]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['unpublish', {
    request: message(['service-id', 'uint63', M]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['ping', {
    request: NO_FIELDS,
    complete: NO_FIELDS,
    fail: FAIL,
  }],
];

const CLIENTS_V2_NOTIFY: [string, FieldType, boolean][] = [
  ['client-id', 'uint63', M],
  ['client-address', 'string', M],
  ['time', 'uint63', M],
];

function clientsSpec(notify: MessageSpec): CommandSpec {
  return { request: NO_FIELDS, accept: NO_FIELDS, notify, complete: NO_FIELDS, fail: FAIL };
}

/** Keyed by a Map so that a hostile ta-cmd like "constructor" cannot hit a prototype member. */
const V2_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ...COMMON,
  ['clients', clientsSpec(message(...CLIENTS_V2_NOTIFY))],
]);

const V3_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ...COMMON,
  ['track', {
    request: NO_FIELDS,
    accept: NO_FIELDS,
    notify: message(['track-type', 'string', M]),
    inform: message(['track-type', 'string', M]),
    complete: NO_FIELDS,
    fail: FAIL,
  }],
  ['clients', clientsSpec(message(
    ...CLIENTS_V2_NOTIFY,
    ['idle', 'number>=0', M],
    ['protocol-version', 'uint63', M],
    ['latency', 'number>=0', O]))],
]);

/** Who may send each message type (docs/protocol.md §3.1). */
const SENT_TOWARDS: ReadonlyMap<string, Direction> = new Map<string, Direction>([
  ['request', 'to-server'],
  ['inform', 'to-server'],
  ['accept', 'to-client'],
  ['notify', 'to-client'],
  ['complete', 'to-client'],
  ['fail', 'to-client'],
]);

const TA_CMD = 'ta-cmd';
const TA_ID = 'ta-id';
const MSG_TYPE = 'msg-type';

/**
 * Validates one parsed message travelling in `direction` for a connection
 * using `version`'s command table (before the hello completes the server
 * uses version 2, docs/protocol.md §5.3). Throws ProtocolError on any deviation
 * from docs/protocol.md §2/§3/§6. On success `fields` is `value` itself.
 */
export function validateMessage(value: JsonValue, version: ProtocolVersion, direction: Direction): Message {
  if (!isObject(value)) throw new ProtocolError(`message is ${describe(value)}, not a JSON object`);
  const cmd = value[TA_CMD];
  const taId = value[TA_ID];
  const type = value[MSG_TYPE];
  if (cmd === undefined) throw missing(TA_CMD);
  if (typeof cmd !== 'string') throw wrongType(TA_CMD, 'a string', cmd);
  if (taId === undefined) throw missing(TA_ID);
  if (!isUint63(taId)) throw wrongType(TA_ID, 'an integer in 0..2^63-1', taId);
  if (type === undefined) throw missing(MSG_TYPE);
  if (typeof type !== 'string') throw wrongType(MSG_TYPE, 'a string', type);

  const command = (version === 3 ? V3_COMMANDS : V2_COMMANDS).get(cmd);
  if (!command) throw new ProtocolError(`unknown command ${quote(cmd)} for protocol version ${version}`);
  const towards = SENT_TOWARDS.get(type);
  if (!towards) throw new ProtocolError(`unknown msg-type ${quote(type)}`);
  if (towards !== direction) {
    throw new ProtocolError(`msg-type ${quote(type)} cannot be sent by the ${direction === 'to-server' ? 'client' : 'server'}`);
  }
  const spec = command[type as MsgType];
  if (!spec) throw new ProtocolError(`msg-type ${quote(type)} does not exist for command ${quote(cmd)}`);

  let mandatorySeen = 0;
  for (const name in value) {
    if (name === TA_CMD || name === TA_ID || name === MSG_TYPE) continue;
    const field = spec.fields.get(name);
    if (!field) throw new ProtocolError(`unknown field ${quote(name)} in ${cmd} ${type}`);
    checkField(name, value[name], field.type);
    if (field.mandatory) mandatorySeen++;
  }
  if (mandatorySeen !== spec.mandatory.length) {
    for (const name of spec.mandatory) if (!(name in value)) throw missing(name, `${cmd} ${type}`);
  }
  return { cmd: cmd as Command, taId, type: type as MsgType, fields: value, props: undefined };
}

/**
 * The field table of a message type of a command, or undefined if the
 * command or the type does not exist in `version` (the fast reader
 * builds its masks from these, so that both paths accept the same).
 */
export function messageSpec(version: ProtocolVersion, cmd: string, type: string): MessageSpec | undefined {
  return (version === 3 ? V3_COMMANDS : V2_COMMANDS).get(cmd)?.[type as MsgType];
}

/**
 * Converts validated wire props (validateMessage has checked the shape)
 * into normalized Props: values deduplicated, empty names dropped
 * (docs/protocol.md §2.2 set semantics). With `size`, also counts the names,
 * values and characters kept, for the memory budget (budget.ts), in the
 * same pass.
 */
export function decodeProps(wire: JsonObject, size?: PropsSize): Props {
  const out = new Map<string, readonly PropValue[]>();
  let names = 0, values = 0, chars = 0;
  // Same order as Object.entries (the JSON object's own key order).
  for (const key in wire) {
    const list = wire[key] as PropValue[];
    const n = list.length;
    if (n === 0) continue;
    const name = PROP_NAMES.intern(key);
    names++;
    chars += name.length;
    if (n === 1) {
      const v = list[0]!;
      values++;
      if (typeof v === 'string') {
        chars += v.length;
        out.set(name, SINGLE_VALUES.intern(v));
      } else {
        out.set(name, [v]);
      }
      continue;
    }
    const distinct = distinctValues(list);
    values += distinct.length;
    for (let i = 0; i < distinct.length; i++) {
      const v = distinct[i]!;
      if (typeof v === 'string') chars += v.length;
    }
    out.set(name, distinct);
  }
  if (size !== undefined) {
    size.names = names;
    size.values = values;
    size.chars = chars;
  }
  return out;
}

/**
 * Values of one name, duplicates removed (first occurrence kept), in an
 * array of exactly that length: the parser's arrays grow by push and carry
 * spare capacity, which a stored service would keep for its whole life.
 */
function distinctValues(values: readonly PropValue[]): readonly PropValue[] {
  const n = values.length;
  let distinct = true;
  for (let i = 1; i < n && distinct; i++) {
    const v = values[i]!;
    for (let k = 0; k < i; k++) if (values[k] === v) { distinct = false; break; }
  }
  const out = distinct ? values.slice() : values.filter((v, i) => values.indexOf(v) === i).slice();
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (typeof v === 'string') out[i] = ownString(v);
  }
  return out;
}

/**
 * Bounded sharing of recurring prop names and single values between
 * services (most services of a deployment repeat the same names and many
 * repeat values such as an address family or a colour). Props are
 * immutable, so one array instance can serve many services. The table is
 * simply emptied when full: sharing is an optimization, never a rule.
 */
const INTERN_CAPACITY = 4096;

class InternTable<T> {
  private readonly table = new Map<string, T>();
  constructor(private readonly make: (key: string) => T) {}

  /** `fresh`: the key is a string of its own already (not a slice of a message), no copy needed. */
  intern(key: string, fresh = false): T {
    let v = this.table.get(key);
    if (v === undefined) {
      if (this.table.size >= INTERN_CAPACITY) this.table.clear();
      if (!fresh) key = ownString(key);
      v = this.make(key);
      this.table.set(key, v);
    }
    return v;
  }
}

const PROP_NAMES = new InternTable<string>((name) => name);
const SINGLE_VALUES = new InternTable<readonly PropValue[]>((v) => [v]);

/**
 * The shared instance of a prop name, for readers whose strings are
 * their own already (the fast reader's; decodeProps copies slices first).
 */
export function internPropName(name: string): string { return PROP_NAMES.intern(name, true); }
/** The shared one-element value list of a single string value (a string of its own). */
export function internSingleValue(value: string): readonly PropValue[] { return SINGLE_VALUES.intern(value, true); }

function checkField(name: string, v: JsonValue, type: FieldType): void {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') throw wrongType(name, 'a string', v);
      return;
    case 'uint63':
      if (!isUint63(v)) throw wrongType(name, 'an integer in 0..2^63-1', v);
      return;
    case 'number>=0':
      if (typeof v === 'bigint' ? v < 0n : typeof v !== 'number' || !(v >= 0) || v === Infinity) {
        throw wrongType(name, 'a number >= 0', v);
      }
      return;
    case 'props':
      checkProps(name, v);
      return;
  }
}

function checkProps(field: string, v: JsonValue): void {
  if (!isObject(v)) throw wrongType(field, 'an object of arrays', v);
  for (const prop in v) {
    const values = v[prop]!;
    if (!Array.isArray(values)) {
      throw new ProtocolError(`${field} ${quote(prop)} is ${describe(values)}, not an array`);
    }
    for (const item of values) {
      if (typeof item === 'string') continue;
      if (typeof item === 'bigint' && item >= MIN_INT64 && item <= MAX_INT64) continue;
      throw new ProtocolError(`${field} ${quote(prop)} holds ${describe(item)}, not a string or 64-bit integer`);
    }
  }
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUint63(v: JsonValue): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= MAX_UINT63;
}

function missing(name: string, where?: string): ProtocolError {
  return new ProtocolError(`missing field ${quote(name)}${where ? ` in ${where}` : ''}`);
}

function wrongType(name: string, expected: string, got: JsonValue): ProtocolError {
  return new ProtocolError(`field ${quote(name)} must be ${expected}, got ${describe(got)}`);
}

const MAX_DESCRIBED_DIGITS = 30;
/**
 * A name from the peer in an error message, which ends up in a log line:
 * escaped and capped by logText (an unknown field name may be 256 KiB
 * long; the cap says how long it was).
 */
function quote(name: string): string {
  return `"${logText(name)}"`;
}

/** Short description of a value for error messages (bounded length). */
function describe(v: JsonValue): string {
  switch (typeof v) {
    case 'bigint': {
      const digits = v.toString();
      return `integer ${digits.length > MAX_DESCRIBED_DIGITS ? digits.slice(0, MAX_DESCRIBED_DIGITS) + '...' : digits}`;
    }
    case 'number': return `number ${v}`;
    case 'boolean': return `boolean ${v}`;
    case 'string': return 'a string';
    default:
      if (v === null) return 'null';
      return Array.isArray(v) ? 'an array' : 'an object';
  }
}
