// Parsing what a pafc user types (docs/cli-and-config.md §3.2): a command line
// split shell-style, ids in hexadecimal, decimal integers, and property
// values where `|text|` forces a string. Pure: no I/O.

import type { PropValue, Props } from '../../protocol/props';
import { MAX_INT64, MIN_INT64, makeProps } from '../../protocol/props';
import { MAX_UINT63 } from '../../protocol/schema';

/** A line or an argument pafc cannot make sense of; the message is shown to the user. */
export class ArgumentError extends Error {
  override name = 'ArgumentError';
}


const HEX_ID = /^(?:0[xX])?([0-9a-fA-F]+)$/;
const DECIMAL = /^[0-9]+$/;
const SIGNED_DECIMAL = /^[+-]?[0-9]+$/;
/** Characters a backslash may escape inside double quotes (POSIX shell rules). */
const DOUBLE_QUOTE_ESCAPABLE = '\\"$`\n';

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/**
 * Splits a line into words the way a POSIX shell does, without any
 * expansion: blanks separate words, '…' is literal, "…" is literal except
 * that a backslash escapes \ " $ ` and newline, and a backslash outside
 * quotes escapes any character. `''` gives an empty word. Throws
 * ArgumentError on an unclosed quote or a trailing backslash.
 */
export function splitArgs(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (isSpace(c)) {
      if (inWord) { words.push(word); word = ''; inWord = false; }
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ArgumentError('no closing quotation');
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new ArgumentError('no closing quotation');
        const d = line[i]!;
        if (d === '"') { i++; break; }
        if (d === '\\' && i + 1 < line.length && DOUBLE_QUOTE_ESCAPABLE.includes(line[i + 1]!)) {
          word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ArgumentError('no escaped character');
      word += line[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Splits the text of pafc's -c option into command lines at every ';'
 * outside quotes (a backslash-escaped ';' does not split either). The
 * pieces are returned untrimmed and unsplit; empty ones are dropped.
 */
export function splitCommands(text: string): string[] {
  const commands: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '\\') {
      i++;
    } else if (c === ';') {
      commands.push(text.slice(start, i));
      start = i + 1;
    }
  }
  commands.push(text.slice(start));
  return commands.filter((c) => c.trim().length > 0);
}

/** A client, service or subscription id in hexadecimal, with or without 0x. */
export function parseHexId(text: string, what = 'id'): bigint {
  const m = HEX_ID.exec(text);
  if (!m) throw new ArgumentError(`${what} ${JSON.stringify(text)} is not a hexadecimal number`);
  const v = BigInt('0x' + m[1]);
  if (v > MAX_UINT63) throw new ArgumentError(`${what} ${text} is larger than 0x7fffffffffffffff`);
  return v;
}

/** A non-negative decimal integer of at most 63 bits (generation, TTL). */
export function parseUint63(text: string, what: string): bigint {
  if (!DECIMAL.test(text)) throw new ArgumentError(`${what} ${JSON.stringify(text)} is not a non-negative decimal integer`);
  const v = BigInt(text);
  if (v > MAX_UINT63) throw new ArgumentError(`${what} ${text} is larger than ${MAX_UINT63}`);
  return v;
}

/**
 * A property value as typed: `|text|` is the string text (so `|42|` is
 * the string "42"); a decimal integer with an optional sign and nothing
 * around it is an integer; anything else is the string as typed.
 */
export function parsePropValue(text: string): PropValue {
  if (text.length >= 2 && text.startsWith('|') && text.endsWith('|')) return text.slice(1, -1);
  if (SIGNED_DECIMAL.test(text)) {
    const v = BigInt(text);
    if (v < MIN_INT64 || v > MAX_INT64) throw new ArgumentError(`integer value ${text} is outside the signed 64-bit range (write |${text}| for a string)`);
    return v;
  }
  return text;
}

/** The arguments of `publish`, parsed. */
export interface PublishArgs {
  /** Undefined when the user gave none: pafc picks a random one. */
  serviceId: bigint | undefined;
  generation: bigint;
  ttl: bigint;
  props: Props;
}

export const PUBLISH_USAGE = 'publish [<service-id>] <generation> <ttl> [<name> <value>] ...';

/**
 * `publish [<service-id>] <generation> <ttl> [<name> <value>] ...`: with
 * an odd number of arguments the first is the service id. A name may be
 * given several times to give it several values.
 */
export function parsePublishArgs(args: readonly string[]): PublishArgs {
  if (args.length < 2) throw new ArgumentError(`usage: ${PUBLISH_USAGE}`);
  // The count decides whether the first argument is the service id. When
  // that reading fails where the other would fit, the likelier slip is a
  // property without its value: `publish 0 30 name` (read as id 0,
  // generation 30, TTL "name") or `publish 1f 0 30 name` (generation "1f").
  const odd = args.length % 2 === 1;
  const valueMissing = odd
    ? args.length >= 3 && DECIMAL.test(args[0]!) && DECIMAL.test(args[1]!) && !DECIMAL.test(args[2]!)
    : args.length >= 4 && !DECIMAL.test(args[0]!) && HEX_ID.test(args[0]!) && DECIMAL.test(args[1]!) && DECIMAL.test(args[2]!);
  if (valueMissing) {
    throw new ArgumentError(`property ${JSON.stringify(args[args.length - 1])} has no value: properties come as <name> <value> pairs; ` +
      `usage: ${PUBLISH_USAGE}`);
  }
  let i = 0;
  const serviceId = args.length % 2 === 1 ? parseHexId(args[i++]!, 'service id') : undefined;
  const generation = parseUint63(args[i++]!, 'generation');
  const ttl = parseUint63(args[i++]!, 'TTL');
  const pairs: [string, PropValue[]][] = [];
  for (; i < args.length; i += 2) pairs.push([args[i]!, [parsePropValue(args[i + 1]!)]]);
  return { serviceId, generation, ttl, props: makeProps(pairs) };
}
