// Service properties: a multimap from name to a *set* of values, each a
// string or a 64-bit signed integer (docs/protocol.md §2.2). Values of one name
// are deduplicated type-sensitively ("1" and 1 are distinct); a name with
// no values does not exist. Props are immutable once built: the directory
// shares one instance between the service record, the filter matcher and
// the serialized notification.

export type PropValue = string | bigint;
export type Props = ReadonlyMap<string, readonly PropValue[]>;

export const EMPTY_PROPS: Props = new Map();

/** The range of a prop integer: signed 64-bit. */
export const MIN_INT64 = -(1n << 63n);
export const MAX_INT64 = (1n << 63n) - 1n;

/** Builds normalized props from (name, values) pairs; duplicates collapse, empty names vanish. */
export function makeProps(entries: Iterable<[string, Iterable<PropValue>]>): Props {
  const out = new Map<string, PropValue[]>();
  for (const [name, values] of entries) {
    let list = out.get(name);
    for (const v of values) {
      if (!list) { list = []; out.set(name, list); }
      if (!list.includes(v)) list.push(v);
    }
  }
  return out;
}

/** Set equality per name, type-sensitive. */
export function propsEqual(a: Props, b: Props): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [name, av] of a) {
    const bv = b.get(name);
    if (!bv || bv.length !== av.length) return false;
    for (const v of av) if (!bv.includes(v)) return false;
  }
  return true;
}

/** Canonical decimal form used when an integer is compared with a string. */
export function valueText(v: PropValue): string {
  return typeof v === 'string' ? v : v.toString();
}

/** Sizes of decoded props, counted by decodeProps as it builds them (no second walk). */
export interface PropsSize {
  /** Prop names. */
  names: number;
  /** Values over all names, after duplicates are removed. */
  values: number;
  /** UTF-16 length of every name and string value. */
  chars: number;
}
