// Serialization of outgoing messages by string concatenation: no
// intermediate object per message, and the envelope first so that the
// result reads like the examples in docs/protocol.md. Commands and message
// types are fixed ASCII words and need no escaping.

import { quoteJsonString, stringifyJson } from './json';
import type { JsonValue } from './json';
import type { Props } from './props';
import type { Command, MsgType } from './schema';

/**
 * The constant parts of an envelope, made once: a reply is then three
 * pieces (prefix, ta-id, rest) instead of seven, which is less garbage on
 * the path every request takes.
 */
const PREFIX = new Map<string, string>();
const TYPE_PART = new Map<string, string>();
const TYPE_END = new Map<string, string>();
function prefixOf(cmd: Command): string {
  let p = PREFIX.get(cmd);
  if (p === undefined) PREFIX.set(cmd, p = '{"ta-cmd":"' + cmd + '","ta-id":');
  return p;
}
function typePart(type: MsgType): string {
  let p = TYPE_PART.get(type);
  if (p === undefined) TYPE_PART.set(type, p = ',"msg-type":"' + type + '"');
  return p;
}

/** '{"ta-cmd":"<cmd>","ta-id":<id>,"msg-type":"<type>"' — the envelope without closing brace. */
export function envelope(cmd: Command, taId: bigint, type: MsgType): string {
  return prefixOf(cmd) + taId.toString() + typePart(type);
}

/** A whole message; fields is a string of already-serialized members like '"a":1,"b":"x"' or '' for none. */
export function encodeMessage(cmd: Command, taId: bigint, type: MsgType, fields: string = ''): string {
  if (fields !== '') return envelope(cmd, taId, type) + ',' + fields + '}';
  let end = TYPE_END.get(type);
  if (end === undefined) TYPE_END.set(type, end = typePart(type) + '}');
  return prefixOf(cmd) + taId.toString() + end;
}

/**
 * JSON object of arrays, integers as bare digits. Built as parts joined
 * once: the result is one flat string, where repeated `+=` would leave a
 * tree of concatenation nodes several times its size (the directory keeps
 * this string for as long as the service lives).
 */
export function encodeProps(props: Props): string {
  const parts: string[] = ['{'];
  let firstName = true;
  for (const [name, values] of props) {
    if (!firstName) parts.push(',');
    firstName = false;
    parts.push(quoteJsonString(name), ':[');
    for (let k = 0; k < values.length; k++) {
      if (k > 0) parts.push(',');
      const v = values[k]!;
      parts.push(typeof v === 'string' ? quoteJsonString(v) : v.toString());
    }
    parts.push(']');
  }
  parts.push('}');
  return parts.join('');
}

/** '"name":<json>' */
export function member(name: string, value: JsonValue): string {
  return quoteJsonString(name) + ':' + stringifyJson(value);
}

/**
 * A wall-clock time (orphan-since) as a JSON number with six decimals:
 * the clock's microseconds exactly (a double holds them to within a
 * tenth of a microsecond, well inside toFixed's rounding), and always
 * with a fraction, as the original's Python floats are (docs/protocol.md §2).
 */
export function encodeWallTime(seconds: number): string {
  return seconds.toFixed(6);
}

/** The server's track query (docs/protocol.md §6.2) in the transaction `taId`. */
export function trackQuery(taId: bigint): string {
  return envelope('track', taId, 'notify') + ',"track-type":"query"}';
}

/** A fail message; the original server always includes fail-reason. */
export function encodeFail(cmd: Command, taId: bigint, reason: string): string {
  return envelope(cmd, taId, 'fail') + ',"fail-reason":' + quoteJsonString(reason) + '}';
}
