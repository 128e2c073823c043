// The fast path of the server's input: reads a request (or a track inform)
// straight from its bytes, validating while it parses, and decodes a
// publish's service-props into their stored form in the same pass.
//
// It handles the messages clients actually send: ASCII text, strings
// without escapes, integers without fraction or exponent, known fields
// only, each once. Anything else — an escape, a byte above 0x7f, an
// unknown or repeated key, a value of the wrong type, a missing field, a
// prop name that is an array index ("0", "17") — makes it return
// undefined, and the caller runs the general path
// (decodeUtf8 → parseJson → validateMessage → decodeProps), which accepts
// or rejects the message with its exact error. So the fast path can only
// ever accept what the general path accepts, with the same result; the
// property test test/unit/prop-reader.test.ts holds it to that.
//
// Why: the general path builds every key and value as a string sliced
// from the decoded text, tests each key against the object built so far,
// then walks the object again to validate it and once more to decode the
// props; on a publish that was 5.7 µs of the 8 µs the core spends
// (docs/PERFORMANCE.md). Here keys are matched as bytes against the
// protocol's few field names, and only what is kept becomes a string:
// `toString('latin1')` of ASCII bytes is a fresh flat string, which
// pins no message text (json.ts ownString) and needs no UTF-8 decode.

import type { JsonObject, JsonValue } from './json';
import { SAFE_DIGITS, newJsonObject, safeIntegerValue } from './json';
import type { Command, FieldType, Message, MsgType, ProtocolVersion, ReadProps } from './schema';
import { MAX_UINT63, internPropName, messageSpec } from './schema';
import type { PropValue } from './props';
import { MAX_INT64, MIN_INT64 } from './props';

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SPACE = 0x20, QUOTE = 0x22, COMMA = 0x2c, MINUS = 0x2d;
const D0 = 0x30, D9 = 0x39, COLON = 0x3a, BACKSLASH = 0x5c, LBRACKET = 0x5b, RBRACKET = 0x5d;
const LBRACE = 0x7b, RBRACE = 0x7d, DOT = 0x2e, LOWER_E = 0x65, UPPER_E = 0x45;
/** Below: control characters (the general parser's error); from: not ASCII (needs the UTF-8 decoder). */
const FIRST_PRINTABLE = 0x20, FIRST_NON_ASCII = 0x80;
/** Digits of 2^63: a longer integer is out of every range the protocol has. */
const MAX_INT63_DIGITS = 19;

/** Every field a client sends, the envelope first; the index is the field's bit in a mask. */
const KEYS = [
  'ta-cmd', 'ta-id', 'msg-type',
  'client-id', 'protocol-minimum-version', 'protocol-maximum-version', 'track-type',
  'subscription-id', 'filter', 'service-id', 'generation', 'service-props', 'ttl',
] as const;
const TA_CMD = 0, TA_ID = 1, MSG_TYPE = 2;
const ENVELOPE_MASK = (1 << TA_CMD) | (1 << TA_ID) | (1 << MSG_TYPE);

/** What a field's value must be; fields the schema gives another type make init fail loudly. */
const enum Kind { Word, Uint63, Text, Props }
const KEY_KIND: readonly Kind[] = KEYS.map((k, i): Kind => {
  if (i === TA_CMD || i === MSG_TYPE) return Kind.Word;
  if (i === TA_ID) return Kind.Uint63;
  if (k === 'service-props') return Kind.Props;
  return k === 'filter' || k === 'track-type' ? Kind.Text : Kind.Uint63;
});
const KIND_OF_TYPE: Record<FieldType, Kind | undefined> = { 'string': Kind.Text, 'uint63': Kind.Uint63, 'props': Kind.Props, 'number>=0': undefined };

const COMMANDS: readonly Command[] = ['hello', 'track', 'subscribe', 'unsubscribe', 'subscriptions', 'services', 'publish', 'unpublish', 'ping', 'clients'];
/** Only these travel towards the server; the others are the general path's error. */
const TYPES: readonly MsgType[] = ['request', 'inform'];

const bytesOf = (words: readonly string[]): Uint8Array[] => words.map((w) => Uint8Array.from(w, (c) => c.charCodeAt(0)));
const KEY_BYTES = bytesOf(KEYS);
const COMMAND_BYTES = bytesOf(COMMANDS);
const TYPE_BYTES = bytesOf(TYPES);

/** Allowed and mandatory field masks of a (version, command, type), from the schema's own tables. */
interface Masks { readonly allowed: number; readonly mandatory: number }
function masksFor(version: ProtocolVersion): (Masks | undefined)[][] {
  return COMMANDS.map((cmd) => TYPES.map((type) => {
    const spec = messageSpec(version, cmd, type);
    if (spec === undefined) return undefined;
    let allowed = ENVELOPE_MASK, mandatory = ENVELOPE_MASK;
    for (const [name, field] of spec.fields) {
      const k = (KEYS as readonly string[]).indexOf(name);
      if (k < 0 || KIND_OF_TYPE[field.type] !== KEY_KIND[k]) throw new Error(`reader: field ${name} of ${cmd} ${type} is not in its key table`);
      allowed |= 1 << k;
      if (field.mandatory) mandatory |= 1 << k;
    }
    return { allowed, mandatory };
  }));
}
const MASKS: Record<ProtocolVersion, (Masks | undefined)[][]> = { 2: masksFor(2), 3: masksFor(3) };

// The reader's position: one message at a time, never re-entered, so
// module state instead of an object per message.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;

/** Skips whitespace; the byte there, or -1 at the end. */
function next(): number {
  while (pos < end) {
    const c = buf[pos]!;
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return c;
    pos++;
  }
  return -1;
}

/** separator(): the object or array ended; the fast path does not take what follows. */
const CLOSED = -2, NOT_TAKEN = -3;

/**
 * After a member or an element: past a comma, the byte that starts the
 * next one; past `close`, CLOSED; anything else, NOT_TAKEN.
 */
function separator(close: number): number {
  const c = next();
  if (c === COMMA) {
    pos++;
    return next();
  }
  if (c !== close) return NOT_TAKEN;
  pos++;
  return CLOSED;
}

/**
 * At a quote: the end of a plain string (ASCII, no escape, no control
 * character), its content being [pos + 1, the result); -1 otherwise.
 */
function plainStringEnd(): number {
  for (let i = pos + 1; i < end; i++) {
    const c = buf[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < FIRST_PRINTABLE || c >= FIRST_NON_ASCII) return -1;
  }
  return -1;
}

/** At a quote: the index of the word the string spells, or -1; past the string if found. */
function word(words: readonly Uint8Array[]): number {
  const close = plainStringEnd();
  if (close < 0) return -1;
  const start = pos + 1, length = close - start;
  search: for (let w = 0; w < words.length; w++) {
    const bytes = words[w]!;
    if (bytes.length !== length) continue;
    for (let k = 0; k < length; k++) if (buf[start + k] !== bytes[k]) continue search;
    pos = close + 1;
    return w;
  }
  return -1;
}

/**
 * Buffer's own latin1 decoder, which toString('latin1', …) ends in after
 * checking its arguments; for ASCII bytes its result is the text itself.
 */
interface Latin1Buffer { latin1Slice(start: number, end: number): string }

/** At a quote: the plain string as a fresh string, or undefined. */
function text(): string | undefined {
  const close = plainStringEnd();
  if (close < 0) return undefined;
  const s = (buf as unknown as Latin1Buffer).latin1Slice(pos + 1, close);
  pos = close + 1;
  return s;
}

/**
 * An integer in [min, max] written plainly (no leading zero, fraction or
 * exponent; a minus sign only where min < 0), or undefined.
 */
function integer(min: bigint, max: bigint): bigint | undefined {
  const start = pos;
  let c = buf[pos];
  const negative = c === MINUS;
  if (negative) {
    if (min >= 0n) return undefined;
    c = buf[++pos];
  }
  if (c === undefined || c < D0 || c > D9) return undefined;
  const digitsStart = pos;
  let magnitude = 0;
  if (c === D0) {
    pos++;
  } else {
    do {
      magnitude = magnitude * 10 + (c - D0);
      c = buf[++pos];
    } while (c !== undefined && c >= D0 && c <= D9);
  }
  c = buf[pos];
  if (c !== undefined && ((c >= D0 && c <= D9) || c === DOT || c === LOWER_E || c === UPPER_E)) return undefined;
  const digits = pos - digitsStart;
  if (digits <= SAFE_DIGITS) return safeIntegerValue(magnitude, negative);
  if (digits > MAX_INT63_DIGITS) return undefined;
  const v = BigInt((buf as unknown as Latin1Buffer).latin1Slice(start, pos));
  return v >= min && v <= max ? v : undefined;
}

/**
 * Prop names and single string values recently read, found again by
 * their bytes: a name (or a value such as "green") that recurs costs
 * neither a new string nor a hash-table lookup of one. Direct-mapped on
 * an FNV-1a hash of the bytes; a slot simply holds the last string that
 * hashed there. Sharing is an optimization, never a rule (as with
 * schema.ts's intern tables, which the names go through on a miss).
 */
const CACHE_SLOTS = 4096;
const FNV_OFFSET = 0x811c9dc5, FNV_PRIME = 0x01000193;
class ByteCache<T> {
  private readonly keys: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);
  private readonly values: (T | undefined)[] = new Array<T | undefined>(CACHE_SLOTS).fill(undefined);
  constructor(private readonly make: (s: string) => T) {}

  /** The entry for the plain string whose content is [start, close). */
  get(start: number, close: number): T {
    let h = FNV_OFFSET;
    for (let i = start; i < close; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
    const slot = h & (CACHE_SLOTS - 1);
    const key = this.keys[slot];
    if (key !== undefined && key.length === close - start) {
      let k = 0;
      while (k < key.length && key.charCodeAt(k) === buf[start + k]) k++;
      if (k === key.length) return this.values[slot]!;
    }
    const s = (buf as unknown as Latin1Buffer).latin1Slice(start, close);
    const v = this.make(s);
    this.keys[slot] = s;
    this.values[slot] = v;
    return v;
  }
}
const NAMES = new ByteCache<string>(internPropName);
const SINGLE_VALUES = new ByteCache<readonly PropValue[]>((v) => [v]);

/**
 * Whether a prop name is an array index ("0" … "4294967294"). A JS object
 * lists such keys first, in numeric order, whatever their place in the
 * text, so decodeProps (which walks the parsed object) orders them before
 * the others; the map built here keeps the wire order. Rather than copy
 * that ordering, the fast path leaves such names to the general path:
 * clients do not use them in practice.
 */
const MAX_ARRAY_INDEX = 4294967294, MAX_ARRAY_INDEX_DIGITS = 10;
function isArrayIndex(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > MAX_ARRAY_INDEX_DIGITS) return false;
  const first = name.charCodeAt(0);
  if (first < D0 || first > D9 || (first === D0 && n > 1)) return false;
  for (let i = 1; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c < D0 || c > D9) return false;
  }
  return Number(name) <= MAX_ARRAY_INDEX;
}

/** At '{': service-props decoded as decodeProps would, with their sizes; undefined to fall back. */
function props(): ReadProps | undefined {
  pos++;
  const out = new Map<string, readonly PropValue[]>();
  let names = 0, values = 0, chars = 0;
  /** Names given with no values: kept out of the map, but still a duplicate key if repeated. */
  let empty: string[] | undefined;
  let c = next();
  if (c === RBRACE) {
    pos++;
    return { props: out, names, values, chars };
  }
  for (;;) {
    if (c !== QUOTE) return undefined;
    let close = plainStringEnd();
    if (close < 0) return undefined;
    const name = NAMES.get(pos + 1, close);
    pos = close + 1;
    if (out.has(name) || empty?.includes(name) || isArrayIndex(name)) return undefined;
    if (next() !== COLON) return undefined;
    pos++;
    if (next() !== LBRACKET) return undefined;
    pos++;
    c = next();
    /** Values read; the first is kept as `first`, or, if it is a string, as its bytes until it is known whether it is alone. */
    let n = 0;
    let first: PropValue | undefined;
    let firstStart = -1, firstClose = -1;
    let list: PropValue[] | undefined;
    if (c === RBRACKET) {
      pos++;
    } else {
      for (;;) {
        if (n === 0 && c === QUOTE) {
          close = plainStringEnd();
          if (close < 0) return undefined;
          firstStart = pos + 1;
          firstClose = close;
          pos = close + 1;
        } else {
          const v = c === QUOTE ? text() : integer(MIN_INT64, MAX_INT64);
          if (v === undefined) return undefined;
          if (n === 0) first = v;
          else if (n === 1) list = [first ?? (buf as unknown as Latin1Buffer).latin1Slice(firstStart, firstClose), v];
          else list!.push(v);
        }
        n++;
        c = separator(RBRACKET);
        if (c === CLOSED) break;
        if (c === NOT_TAKEN) return undefined;
      }
    }
    if (n === 0) {
      (empty ??= []).push(name);
    } else {
      names++;
      chars += name.length;
      if (list === undefined) {
        values++;
        if (firstStart >= 0) {
          chars += firstClose - firstStart;
          out.set(name, SINGLE_VALUES.get(firstStart, firstClose));
        } else {
          out.set(name, [first!]);
        }
      } else {
        // Duplicates go, the first occurrence stays (as decodeProps does).
        const distinct = list.filter((v, i) => list!.indexOf(v) === i);
        values += distinct.length;
        for (let i = 0; i < distinct.length; i++) {
          const v = distinct[i]!;
          if (typeof v === 'string') chars += v.length;
        }
        out.set(name, distinct);
      }
    }
    c = separator(RBRACE);
    if (c === CLOSED) return { props: out, names, values, chars };
    if (c === NOT_TAKEN) return undefined;
  }
}

/**
 * The message `payload` holds, read and validated for a connection of
 * `version` — or undefined when the fast path does not handle it (the
 * caller then runs the general path). Never throws.
 */
export function readRequest(payload: Buffer, version: ProtocolVersion): Message | undefined {
  buf = payload;
  pos = 0;
  end = payload.length;
  try {
    return readObject(version);
  } finally {
    buf = EMPTY;
  }
}
const EMPTY = Buffer.alloc(0);

function readObject(version: ProtocolVersion): Message | undefined {
  if (next() !== LBRACE) return undefined;
  pos++;
  const fields: JsonObject = newJsonObject();
  let seen = 0;
  let cmd = -1, type = -1;
  let taId: bigint | undefined;
  let decoded: ReadProps | undefined;
  let c = next();
  for (;;) {
    if (c !== QUOTE) return undefined;
    const k = word(KEY_BYTES);
    if (k < 0) return undefined;
    const bit = 1 << k;
    if ((seen & bit) !== 0) return undefined;
    seen |= bit;
    if (next() !== COLON) return undefined;
    pos++;
    c = next();
    let value: JsonValue | undefined;
    switch (KEY_KIND[k]) {
      case Kind.Word:
        if (c !== QUOTE) return undefined;
        if (k === TA_CMD) {
          cmd = word(COMMAND_BYTES);
          if (cmd < 0) return undefined;
          value = COMMANDS[cmd]!;
        } else {
          type = word(TYPE_BYTES);
          if (type < 0) return undefined;
          value = TYPES[type]!;
        }
        break;
      case Kind.Uint63:
        value = integer(0n, MAX_UINT63);
        if (k === TA_ID) taId = value;
        break;
      case Kind.Text:
        if (c !== QUOTE) return undefined;
        value = text();
        break;
      case Kind.Props:
        if (c !== LBRACE) return undefined;
        decoded = props();
        if (decoded === undefined) return undefined;
        break;
    }
    if (k !== SERVICE_PROPS) {
      if (value === undefined) return undefined;
      fields[KEYS[k]] = value;
    }
    c = separator(RBRACE);
    if (c === CLOSED) break;
    if (c === NOT_TAKEN) return undefined;
  }
  if (next() !== -1 || cmd < 0 || type < 0 || taId === undefined) return undefined;
  const masks = MASKS[version][cmd]![type];
  if (masks === undefined || (seen & ~masks.allowed) !== 0 || (seen & masks.mandatory) !== masks.mandatory) return undefined;
  return { cmd: COMMANDS[cmd]!, taId, type: TYPES[type]!, fields, props: decoded };
}
const SERVICE_PROPS = KEYS.indexOf('service-props');
