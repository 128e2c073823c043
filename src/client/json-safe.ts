// Plain, JSON-safe copies of what the library hands out. Props are a Map
// and integers are bigint (values are signed 64-bit on the wire), which
// JSON.stringify refuses; applications that log, store or forward events
// want plain objects with numbers and strings.

import type { Props } from '../protocol/props';
import type { MatchEvent } from './context';

/** Props as a plain object: each name maps to its values, integers as numbers. */
export type JsonProps = Record<string, (string | number)[]>;

/** A MatchEvent with nothing JSON.stringify cannot take. */
export interface JsonMatchEvent {
  type: MatchEvent['type'];
  /** The service id as pafc and libpaf's logs show it: 0x and lower-case hex digits. */
  serviceId: string;
  props: JsonProps;
  ttl: number;
  /** The generation as a decimal string (a 64-bit counter). */
  generation: string;
  orphanSince?: number;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A JSON-safe copy of props: values keep their order, integers become
 * numbers. An integer outside ±(2^53 − 1), where a number would round,
 * becomes its decimal text instead, so nothing is silently changed; pass
 * `{ bigint: 'string' }` to have every integer as decimal text.
 */
export function propsToJSON(props: Props, opts: { bigint?: 'number' | 'string' } = {}): JsonProps {
  const asText = opts.bigint === 'string';
  const out: JsonProps = {};
  for (const [name, values] of props) {
    const plain = values.map((v) => {
      if (typeof v === 'string') return v;
      return !asText && v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
    });
    // Defined, not assigned: a property named "__proto__" must stay a property.
    Object.defineProperty(out, name, { value: plain, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A JSON-safe copy of a match event (see JsonMatchEvent); props as propsToJSON makes them. */
export function matchEventToJSON(event: MatchEvent, opts: { bigint?: 'number' | 'string' } = {}): JsonMatchEvent {
  const out: JsonMatchEvent = {
    type: event.type,
    serviceId: `0x${event.serviceId.toString(16)}`,
    props: propsToJSON(event.props, opts),
    ttl: event.ttl,
    generation: event.generation.toString(),
  };
  if (event.orphanSince !== undefined) out.orphanSince = event.orphanSince;
  return out;
}
