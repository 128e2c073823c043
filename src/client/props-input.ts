// Service properties as applications write them: a plain object such as
// {name: 'billing', port: [80, 443]}, with strings, integer numbers or
// bigints, turned into the normalized Props the wire layer sends
// (docs/protocol.md §2.2: values per name are a set, no empty names).

import type { PropValue, Props } from '../protocol/props';
import { MAX_INT64, MIN_INT64, makeProps } from '../protocol/props';

/** One property value as an application may give it; numbers must be integers. */
export type PropInputValue = string | number | bigint;

/**
 * Properties as an application may give them: a plain object whose values
 * are a single value or an array of values, or already-normalized Props
 * (a Map of name to values).
 */
export type PropsInput =
  | Readonly<Record<string, PropInputValue | readonly PropInputValue[]>>
  | ReadonlyMap<string, readonly PropInputValue[]>;

function toValue(name: string, v: PropInputValue): PropValue {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new TypeError(`property ${JSON.stringify(name)}: ${v} is not an integer in the safe range (use a bigint)`);
    }
    return BigInt(v);
  }
  if (typeof v === 'bigint') {
    if (v < MIN_INT64 || v > MAX_INT64) throw new RangeError(`property ${JSON.stringify(name)}: ${v} is outside the signed 64-bit range`);
    return v;
  }
  throw new TypeError(`property ${JSON.stringify(name)}: values must be strings, integers or bigints`);
}

/**
 * Normalizes application props: numbers become bigint, values of a name
 * are deduplicated (type-sensitively: '1' and 1 stay distinct), names
 * without values disappear. Throws TypeError/RangeError on a value that
 * cannot be sent.
 */
export function normalizeProps(input: PropsInput): Props {
  const entries: [string, PropValue[]][] = [];
  const source: Iterable<[string, PropInputValue | readonly PropInputValue[]]> =
    input instanceof Map ? input.entries() : Object.entries(input);
  for (const [name, raw] of source) {
    const list = Array.isArray(raw) ? (raw as readonly PropInputValue[]) : [raw as PropInputValue];
    entries.push([name, list.map((v) => toValue(name, v))]);
  }
  return makeProps(entries);
}

/** Props as a plain object of value arrays (integers stay bigint), e.g. for printing. */
export function propsToObject(props: Props): Record<string, PropValue[]> {
  const out: Record<string, PropValue[]> = Object.create(null);
  for (const [name, values] of props) out[name] = [...values];
  return out;
}

/** Per (name, value) pair: the name's bytes plus this much (docs/client-library.md §2.4). */
const PAIR_OVERHEAD = 5;
/** A string value counts its bytes plus this much; an integer counts a fixed amount. */
const STRING_VALUE_OVERHEAD = 5;
const INTEGER_VALUE_SIZE = 25;

/** libpaf's size estimate of a property set (docs/client-library.md §2.4). */
export function propsSizeEstimate(props: Props): number {
  let size = 0;
  for (const [name, values] of props) {
    const nameSize = Buffer.byteLength(name) + PAIR_OVERHEAD;
    for (const v of values) {
      size += nameSize + (typeof v === 'string' ? Buffer.byteLength(v) + STRING_VALUE_OVERHEAD : INTEGER_VALUE_SIZE);
    }
  }
  return size;
}
