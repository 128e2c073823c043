// The contract between the server's two input paths (src/protocol/reader.ts):
// whenever the fast reader returns a message, the general path must accept
// the same bytes and give the same message. Shared by the example tests
// (test/unit/reader.test.ts) and the property (test/unit/prop-reader.test.ts).

import { decodeUtf8, MAX_INT64_DIGITS, parseJson } from '../../src/protocol/json';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import type { PropsSize } from '../../src/protocol/props';
import { decodeProps, validateMessage } from '../../src/protocol/schema';
import type { Message, ProtocolVersion } from '../../src/protocol/schema';

/** What the server does when the fast reader declines: throws ProtocolError or JsonError on bad input. */
export function generalRead(payload: Buffer, version: ProtocolVersion): Message {
  return validateMessage(parseJson(decodeUtf8(payload), undefined, MAX_INT64_DIGITS), version, 'to-server');
}

/** A value for a failure message: bigints marked, so that 1n and "1" read differently. */
function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (v instanceof Map) return `Map{${[...v].map(([k, x]) => `${JSON.stringify(k)}=>${show(x)}`).join(',')}}`;
  if (typeof v === 'object' && v !== null) return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${show((v as JsonObject)[k])}`).join(',')}}`;
  return String(v);
}

/** Same type and value: bigint and string never compare equal, numbers by Object.is. */
function sameValue(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return typeof a === typeof b && (typeof a === 'object' && a !== null ? false : Object.is(a, b));
}

/**
 * Why `fast` (the reader's message) differs from what the general path
 * makes of the same bytes, or undefined if they agree as the contract
 * says: same cmd, taId, type; the same fields in the same order, except
 * 'service-props', which the fast path decodes into `props` — the same
 * map (order, values and their types) and the sizes decodeProps counts.
 * `general` is the general path's message, or the error it threw.
 */
export function divergence(fast: Message, general: Message | Error): string | undefined {
  if (general instanceof Error) return `the general path rejects what the fast path accepted: ${general.name}: ${general.message}`;
  if (fast.cmd !== general.cmd) return `cmd ${fast.cmd} vs ${general.cmd}`;
  if (!sameValue(fast.taId, general.taId)) return `ta-id ${show(fast.taId)} vs ${show(general.taId)}`;
  if (fast.type !== general.type) return `msg-type ${fast.type} vs ${general.type}`;
  const generalKeys = Object.keys(general.fields).filter((k) => k !== 'service-props');
  const fastKeys = Object.keys(fast.fields);
  if (fastKeys.join('\n') !== generalKeys.join('\n')) return `field names ${show(fastKeys)} vs ${show(generalKeys)}`;
  for (const k of fastKeys) {
    if (!sameValue(fast.fields[k], general.fields[k])) return `field ${k}: ${show(fast.fields[k])} vs ${show(general.fields[k])}`;
  }
  const wire = general.fields['service-props'];
  if (wire === undefined) return fast.props === undefined ? undefined : `props ${show(fast.props.props)} where the message has none`;
  if (fast.props === undefined) return 'service-props not decoded by the fast path';
  const size: PropsSize = { names: -1, values: -1, chars: -1 };
  const props = decodeProps(wire as JsonObject, size);
  const fastNames = [...fast.props.props.keys()], names = [...props.keys()];
  if (fastNames.join('\n') !== names.join('\n')) return `prop names ${show(fastNames)} vs ${show(names)}`;
  for (const name of names) {
    const a = fast.props.props.get(name)!, b = props.get(name)!;
    if (a.length !== b.length || a.some((v, i) => !sameValue(v, b[i]))) return `prop ${JSON.stringify(name)}: ${show(a)} vs ${show(b)}`;
  }
  const { names: n, values, chars } = fast.props;
  if (n !== size.names || values !== size.values || chars !== size.chars) {
    return `sizes names/values/chars ${n}/${values}/${chars} vs ${size.names}/${size.values}/${size.chars}`;
  }
  return undefined;
}

/** The general path's message for `payload`, or the error it throws. */
export function generalOutcome(payload: Buffer, version: ProtocolVersion): Message | Error {
  try {
    return generalRead(payload, version);
  } catch (e) {
    return e as Error;
  }
}
