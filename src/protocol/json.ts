// Lossless JSON codec for the Pathfinder wire (docs/protocol.md §2).
//
// JSON.parse cannot be used: ids are 63-bit integers (beyond 2^53) and the
// protocol must tell `5` from `5.0` (a uint63 field rejects the latter). So
// integers — numbers written without '.', 'e' or 'E' — become bigint of any
// size, and every other number becomes a JS number.
//
// The parser also enforces the stricter rules the server wants on input:
// duplicate keys, U+0000 in strings (libpaf would drop the connection on
// it) and unpaired surrogate escapes (not representable in UTF-8, libpaf
// rejects them too) are errors, and nesting depth is bounded so a hostile
// peer cannot exhaust the stack.
//
// It is a single pass over the string with charCodeAt; strings without
// escapes are returned as one slice of the input.

import { logText } from '../log/escape';

export type JsonValue = string | bigint | number | boolean | null | JsonValue[] | JsonObject;
/** Has no Object.prototype in its chain, so any key (even "__proto__") is an own property. */
export interface JsonObject { [key: string]: JsonValue }

/**
 * Parsed objects are made with `new ParsedObject()`: its prototype is an
 * empty null-prototype object, so the result inherits no names (as with
 * Object.create(null)), but V8 keeps it in fast mode with a hidden class
 * shared by every message with the same members in the same order.
 * Object.create(null) makes a dictionary-mode object: a hash insert per
 * member and a hash lookup per read, which made object building the
 * parser's largest cost.
 */
const ParsedObject = function ParsedObject() {} as unknown as { new (): JsonObject };
ParsedObject.prototype = Object.create(null);

/** A new empty object of the kind parseJson makes (for readers that build messages themselves). */
export function newJsonObject(): JsonObject { return new ParsedObject(); }

export class JsonError extends Error {
  override name = 'JsonError';
}

/** Deep enough for every Pathfinder message (props are at depth 3). */
const DEFAULT_MAX_DEPTH = 32;
/** Digits of the longest 64-bit integer (2^64 - 1): the protocol carries nothing longer. */
export const MAX_INT64_DIGITS = 20;
/** Integers with at most this many digits are exact as doubles (2^53 ≈ 9.007e15). */
export const SAFE_DIGITS = 15;
/**
 * Integers below this come from a shared table instead of a new bigint:
 * transaction ids, generations and TTLs are mostly small, and a service
 * record keeps its generation and TTL for its whole life.
 */
const SMALL_INTEGERS = 1024;
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: SMALL_INTEGERS }, (_, i) => BigInt(i));

/** The bigint of an integer exact as a double (at most SAFE_DIGITS digits), shared when small. */
export function safeIntegerValue(magnitude: number, negative: boolean): bigint {
  if (magnitude < SMALL_INTEGERS && !negative) return SMALL_BIGINTS[magnitude]!;
  return BigInt(negative ? -magnitude : magnitude);
}

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SPACE = 0x20;
const QUOTE = 0x22, PLUS = 0x2b, COMMA = 0x2c, MINUS = 0x2d, DOT = 0x2e, SLASH = 0x2f;
const D0 = 0x30, D1 = 0x31, D9 = 0x39, COLON = 0x3a;
const UPPER_A = 0x41, UPPER_E = 0x45, UPPER_F = 0x46;
const LBRACKET = 0x5b, BACKSLASH = 0x5c, RBRACKET = 0x5d;
const LOWER_A = 0x61, LOWER_B = 0x62, LOWER_E = 0x65, LOWER_F = 0x66, LOWER_N = 0x6e;
const LOWER_R = 0x72, LOWER_T = 0x74, LOWER_U = 0x75;
const LBRACE = 0x7b, RBRACE = 0x7d;
const FIRST_CONTROL_FREE = 0x20;
const HIGH_SURROGATE_MIN = 0xd800, HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00, LOW_SURROGATE_MAX = 0xdfff;
/** Length of "\uXXXX". */
const UNICODE_ESCAPE_LENGTH = 6;

/**
 * Fatal: invalid sequences throw instead of becoming U+FFFD. ignoreBOM keeps
 * a leading BOM in the text so that the parser rejects it, as the original
 * server's JSON decoder does.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The parser returns strings as slices of the message text, and V8 keeps
 * a slice (or a concatenation) of 13 or more characters as a view that
 * holds the whole text alive. Whatever outlives the message (prop values,
 * a subscription's filter) is copied out with this: one flat string of
 * its own. Shorter strings are always flat copies already.
 */
const SLICE_MIN_LENGTH = 13;
export function ownString(s: string): string {
  return s.length < SLICE_MIN_LENGTH ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** Strict UTF-8 decode (invalid sequences → JsonError). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new JsonError('invalid UTF-8');
  }
}

/**
 * RFC 8259 parse. Integers (no '.', 'e', 'E') → bigint of any size; other
 * numbers → number. Throws JsonError on: syntax errors, trailing data,
 * duplicate keys in one object, U+0000 in any string or key (raw or \u0000
 * escaped), unpaired surrogate escapes, nesting deeper than maxDepth
 * (the top-level object or array is depth 1), an integer of more than
 * maxIntegerDigits digits (checked before it is converted: BigInt of
 * 250,000 digits takes tens of milliseconds, and printing it back more).
 */
export function parseJson(text: string, maxDepth: number = DEFAULT_MAX_DEPTH, maxIntegerDigits: number = Infinity): JsonValue {
  const parser = new Parser(text, maxDepth, maxIntegerDigits);
  const value = parser.value(0);
  if (parser.skipWhitespace() !== -1) parser.fail('trailing data after the JSON value');
  return value;
}

class Parser {
  pos = 0;

  constructor(private readonly text: string, private readonly maxDepth: number, private readonly maxIntegerDigits: number) {}

  fail(what: string): never {
    throw new JsonError(`${what} (at offset ${this.pos})`);
  }

  /** Advances past whitespace; returns the next char code, or -1 at the end. */
  skipWhitespace(): number {
    const t = this.text;
    const n = t.length;
    let i = this.pos;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) {
        this.pos = i;
        return c;
      }
      i++;
    }
    this.pos = i;
    return -1;
  }

  value(depth: number): JsonValue {
    const c = this.skipWhitespace();
    switch (c) {
      case QUOTE: return this.string();
      case LBRACE: return this.object(depth + 1);
      case LBRACKET: return this.array(depth + 1);
      case LOWER_T: return this.literal('true', true);
      case LOWER_F: return this.literal('false', false);
      case LOWER_N: return this.literal('null', null);
      case -1: return this.fail('unexpected end of input');
      default:
        if (c === MINUS || (c >= D0 && c <= D9)) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
    }
  }

  private literal<T extends JsonValue>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`invalid literal, expected ${word}`);
    this.pos += word.length;
    return result;
  }

  private object(depth: number): JsonObject {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++; // '{'
    const obj = new ParsedObject();
    let c = this.skipWhitespace();
    if (c === RBRACE) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (c !== QUOTE) this.fail('expected a string key');
      const keyAt = this.pos;
      const key = this.string();
      // A null-prototype object has no inherited names, so `in` sees only
      // keys of this object.
      if (key in obj) {
        this.pos = keyAt;
        this.fail(`duplicate key "${logText(key)}"`);
      }
      if (this.skipWhitespace() !== COLON) this.fail("expected ':'");
      this.pos++;
      obj[key] = this.value(depth);
      c = this.skipWhitespace();
      if (c === COMMA) {
        this.pos++;
        c = this.skipWhitespace();
      } else if (c === RBRACE) {
        this.pos++;
        return obj;
      } else {
        this.fail("expected ',' or '}'");
      }
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++; // '['
    const arr: JsonValue[] = [];
    if (this.skipWhitespace() === RBRACKET) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      const c = this.skipWhitespace();
      if (c === COMMA) {
        this.pos++;
      } else if (c === RBRACKET) {
        this.pos++;
        return arr;
      } else {
        this.fail("expected ',' or ']'");
      }
    }
  }

  /** At the opening quote. */
  private string(): string {
    const t = this.text;
    const n = t.length;
    const start = this.pos + 1;
    for (let i = start; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === BACKSLASH) return this.escapedString(start, i);
      if (c < FIRST_CONTROL_FREE) this.controlCharacter(i, c);
    }
    this.pos = n;
    return this.fail('unterminated string');
  }

  private controlCharacter(at: number, c: number): never {
    this.pos = at;
    return this.fail(c === 0 ? 'U+0000 in string' : 'unescaped control character in string');
  }

  /** Slow path: `start` is the first content char, `i` the first backslash. */
  private escapedString(start: number, i: number): string {
    const t = this.text;
    const n = t.length;
    let out = t.slice(start, i);
    let runStart = i;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return out + t.slice(runStart, i);
      }
      if (c === BACKSLASH) {
        out += t.slice(runStart, i);
        i = this.escape(i);
        out += this.escaped;
        runStart = i;
        continue;
      }
      if (c < FIRST_CONTROL_FREE) this.controlCharacter(i, c);
      i++;
    }
    this.pos = n;
    return this.fail('unterminated string');
  }

  /** Text produced by the last escape() call. */
  private escaped = '';

  /** Decodes the escape at `i` (a backslash) into this.escaped; returns the index after it. */
  private escape(i: number): number {
    const t = this.text;
    this.pos = i;
    switch (t.charCodeAt(i + 1)) {
      case QUOTE: this.escaped = '"'; return i + 2;
      case BACKSLASH: this.escaped = '\\'; return i + 2;
      case SLASH: this.escaped = '/'; return i + 2;
      case LOWER_B: this.escaped = '\b'; return i + 2;
      case LOWER_F: this.escaped = '\f'; return i + 2;
      case LOWER_N: this.escaped = '\n'; return i + 2;
      case LOWER_R: this.escaped = '\r'; return i + 2;
      case LOWER_T: this.escaped = '\t'; return i + 2;
      case LOWER_U: break;
      default: return this.fail('invalid escape in string');
    }
    const unit = this.hex4(i + 2);
    if (unit === 0) this.fail('U+0000 in string');
    if (unit >= LOW_SURROGATE_MIN && unit <= LOW_SURROGATE_MAX) this.fail('unpaired surrogate escape');
    if (unit < HIGH_SURROGATE_MIN || unit > HIGH_SURROGATE_MAX) {
      this.escaped = String.fromCharCode(unit);
      return i + UNICODE_ESCAPE_LENGTH;
    }
    // A high surrogate must be followed by an escaped low surrogate.
    const next = i + UNICODE_ESCAPE_LENGTH;
    if (t.charCodeAt(next) !== BACKSLASH || t.charCodeAt(next + 1) !== LOWER_U) this.fail('unpaired surrogate escape');
    const low = this.hex4(next + 2);
    if (low < LOW_SURROGATE_MIN || low > LOW_SURROGATE_MAX) this.fail('unpaired surrogate escape');
    this.escaped = String.fromCharCode(unit, low);
    return next + UNICODE_ESCAPE_LENGTH;
  }

  private hex4(at: number): number {
    const t = this.text;
    let v = 0;
    for (let k = at; k < at + 4; k++) {
      const c = t.charCodeAt(k);
      let d: number;
      if (c >= D0 && c <= D9) d = c - D0;
      else if (c >= LOWER_A && c <= LOWER_F) d = c - LOWER_A + 10;
      else if (c >= UPPER_A && c <= UPPER_F) d = c - UPPER_A + 10;
      else return this.fail('invalid \\u escape');
      v = v * 16 + d;
    }
    return v;
  }

  /** At '-' or a digit. Grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
  private number(): bigint | number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    // charCodeAt past the end is NaN, which fails every comparison below.
    let c = t.charCodeAt(i);
    const negative = c === MINUS;
    if (negative) c = t.charCodeAt(++i);
    const digitsStart = i;
    let magnitude = 0;
    if (c === D0) {
      c = t.charCodeAt(++i);
      if (c >= D0 && c <= D9) this.failNumber(i, 'leading zero in number');
    } else if (c >= D1 && c <= D9) {
      do {
        magnitude = magnitude * 10 + (c - D0);
        c = t.charCodeAt(++i);
      } while (c >= D0 && c <= D9);
    } else {
      this.failNumber(i, 'digit expected in number');
    }
    const integerDigits = i - digitsStart;
    let integral = true;
    if (c === DOT) {
      integral = false;
      c = t.charCodeAt(++i);
      if (!(c >= D0 && c <= D9)) this.failNumber(i, 'digit expected after decimal point');
      do c = t.charCodeAt(++i); while (c >= D0 && c <= D9);
    }
    if (c === LOWER_E || c === UPPER_E) {
      integral = false;
      c = t.charCodeAt(++i);
      if (c === PLUS || c === MINUS) c = t.charCodeAt(++i);
      if (!(c >= D0 && c <= D9)) this.failNumber(i, 'digit expected in exponent');
      do c = t.charCodeAt(++i); while (c >= D0 && c <= D9);
    }
    this.pos = i;
    if (!integral) return Number(t.slice(start, i));
    if (integerDigits <= SAFE_DIGITS) return safeIntegerValue(magnitude, negative);
    if (integerDigits > this.maxIntegerDigits) this.failNumber(start, `integer of ${integerDigits} digits, longer than ${this.maxIntegerDigits}`);
    return BigInt(t.slice(start, i));
  }

  private failNumber(at: number, what: string): never {
    this.pos = at;
    return this.fail(what);
  }
}

/** bigint as bare digits; number via JSON rules (non-finite → JsonError); strings escaped. */
export function stringifyJson(value: JsonValue): string {
  switch (typeof value) {
    case 'string':
      return quoteJsonString(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new JsonError(`cannot encode ${value} as JSON`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let s = '[';
        for (let k = 0; k < value.length; k++) {
          if (k > 0) s += ',';
          s += stringifyJson(value[k]);
        }
        return s + ']';
      }
      let s = '{';
      let first = true;
      for (const key in value) {
        if (!first) s += ',';
        first = false;
        s += quoteJsonString(key) + ':' + stringifyJson(value[key]);
      }
      return s + '}';
    }
    default:
      throw new JsonError(`cannot encode a ${typeof value} as JSON`);
  }
}

/**
 * A JSON string literal for `s`. The engine's JSON.stringify of a single
 * string is native and already does exactly the RFC 8259 escaping we want
 * (quotes, backslash, control characters; unpaired surrogates as \uXXXX),
 * emitting other non-ASCII characters as raw UTF-8 — which docs/protocol.md §2
 * allows.
 */
export function quoteJsonString(s: string): string {
  return JSON.stringify(s);
}
