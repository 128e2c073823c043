// Drives the pure core (Directory, Session, Liveness) without sockets: a
// manual clock, sessions whose sink records every serialized message, and
// helpers that parse those messages back and check their exact field sets
// (docs/protocol.md §6.3) so every test also asserts the wire shape.

import type { Clock } from '../../src/core/clock';
import { Directory } from '../../src/core/directory';
import type { FailReason } from '../../src/core/directory';
import { formatFilter, parseFilter } from '../../src/core/filter';
import { parseJson, stringifyJson } from '../../src/protocol/json';
import type { JsonObject, JsonValue } from '../../src/protocol/json';
import { ResourceLimits } from '../../src/core/limits';
import type { Limits } from '../../src/core/limits';
import { EMPTY_PROPS, makeProps } from '../../src/protocol/props';
import type { PropValue, Props } from '../../src/protocol/props';
import { Session } from '../../src/core/session';
import { WHOLE } from '../../src/core/walk';
import type { ProtocolVersion } from '../../src/protocol/schema';
import type { Subscription } from '../../src/core/subscription';

/** Monotonic origin of every test clock. */
export const MONO_ORIGIN = 1000;
/**
 * Wall-clock time at MONO_ORIGIN. A binary fraction, so orphan-since is
 * written as a JSON float and, with advances by binary fractions, compares
 * exactly.
 */
export const WALL_ORIGIN = 1_700_000_000.5;

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private mono = MONO_ORIGIN, private wallOffset = 1_700_000_000) {}
  now(): number { return this.mono; }
  wall(): number { return this.wallOffset + this.mono; }
  advance(seconds: number): void { this.mono += seconds; }
}

export function manualClock(): ManualClock {
  return new ManualClock(MONO_ORIGIN, WALL_ORIGIN - MONO_ORIGIN);
}

/** Props from a plain record: `props({ name: 'foo', port: [80n, 443n] })`. */
export function props(record: Record<string, PropValue | PropValue[]>): Props {
  return makeProps(Object.entries(record).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

/** One connection: its core session and everything the core sent to it. */
export class Peer {
  readonly sent: string[] = [];
  readonly session: Session;

  constructor(serial: number, user: string, clock: ManualClock) {
    this.session = new Session(serial, `ux:peer-${serial}`, user, clock.wall(), clock.now(), (m) => { this.sent.push(m); });
  }

  /** Parses and removes every message received so far. */
  take(): JsonObject[] {
    const out = this.sent.map((m) => parseJson(m) as JsonObject);
    this.sent.length = 0;
    return out;
  }

  /**
   * Removes every message received so far; each must be a subscribe
   * notification with exactly the fields docs/protocol.md §6.3 allows. Returns
   * one summary line per notification (see `summarize`).
   */
  notes(): string[] {
    return this.take().map(summarize);
  }
}

const STATE_FIELDS = ['ta-cmd', 'ta-id', 'msg-type', 'match-type', 'service-id', 'generation', 'service-props', 'ttl', 'client-id'];
const GONE_FIELDS = ['ta-cmd', 'ta-id', 'msg-type', 'match-type', 'service-id'];

/**
 * Checks a subscribe notification's shape and renders it as a line:
 *   "<ta> appeared <id> gen=<g> ttl=<t> client=<c>[ orphan=<since>]"
 *   "<ta> disappeared <id>"
 * Ids are decimal. Props are left out (see `notifiedProps`).
 */
export function summarize(msg: JsonObject): string {
  if (msg['ta-cmd'] !== 'subscribe' || msg['msg-type'] !== 'notify') throw new Error(`not a subscribe notification: ${stringifyJson(msg)}`);
  const type = msg['match-type'];
  const keys = Object.keys(msg).sort();
  if (type === 'disappeared') {
    if (stringifyJson(keys) !== stringifyJson([...GONE_FIELDS].sort())) throw new Error(`bad disappeared fields: ${stringifyJson(msg)}`);
    return `${msg['ta-id']} disappeared ${msg['service-id']}`;
  }
  if (type !== 'appeared' && type !== 'modified') throw new Error(`bad match-type: ${stringifyJson(msg)}`);
  const orphan = msg['orphan-since'];
  const expected = orphan === undefined ? STATE_FIELDS : [...STATE_FIELDS, 'orphan-since'];
  if (stringifyJson(keys) !== stringifyJson([...expected].sort())) throw new Error(`bad ${type} fields: ${stringifyJson(msg)}`);
  for (const f of ['ta-id', 'service-id', 'generation', 'ttl', 'client-id']) {
    if (typeof msg[f] !== 'bigint') throw new Error(`${f} is not an integer: ${stringifyJson(msg)}`);
  }
  if (orphan !== undefined && typeof orphan !== 'number' && typeof orphan !== 'bigint') throw new Error(`orphan-since is not a number: ${stringifyJson(msg)}`);
  let line = `${msg['ta-id']} ${type} ${msg['service-id']} gen=${msg['generation']} ttl=${msg['ttl']} client=${msg['client-id']}`;
  if (orphan !== undefined) line += ` orphan=${Number(orphan)}`;
  return line;
}

/** The service-props of a parsed appeared/modified notification, as Props. */
export function notifiedProps(msg: JsonObject): Props {
  const obj = msg['service-props'] as JsonObject;
  return makeProps(Object.entries(obj).map(([k, v]) => [k, (v as JsonValue[]).map((x) => x as PropValue)]));
}

/** A domain's directory on a manual clock, and helpers to act as its clients. */
export class World {
  readonly clock = manualClock();
  readonly limits: ResourceLimits;
  readonly directory: Directory;
  private serial = 0;
  private nextTaId = 100n;

  constructor(total: Limits = {}, user: Limits = {}) {
    this.limits = new ResourceLimits(total, user);
    this.directory = new Directory(this.clock, this.limits);
  }

  /** An accepted connection that has not said hello. */
  accept(user = 'default'): Peer {
    return new Peer(++this.serial, user, this.clock);
  }

  /** An accepted connection that completed hello as `clientId`; throws if the directory refuses it. */
  connect(clientId: bigint, user = 'default', version: ProtocolVersion = 3): Peer {
    const peer = this.accept(user);
    const reason = this.hello(peer, clientId, version);
    if (reason) throw new Error(`register 0x${clientId.toString(16)} failed: ${reason}`);
    return peer;
  }

  /** What the hello handler does with the directory; returns the fail reason if any. */
  hello(peer: Peer, clientId: bigint, version: ProtocolVersion = 3): FailReason | undefined {
    peer.session.clientId ??= clientId;
    const result = this.directory.register(peer.session, clientId);
    if (!result.ok) return result.reason;
    peer.session.version = version;
    return undefined;
  }

  disconnect(peer: Peer): void {
    peer.session.closed = true;
    this.directory.disconnect(peer.session);
  }

  publish(peer: Peer, id: bigint, generation: bigint, p: Props = EMPTY_PROPS, ttl = 5n): FailReason | undefined {
    return this.directory.publish(peer.session, id, generation, p, ttl);
  }

  /**
   * Subscribes as the subscribe handler does (filter parsed and
   * canonicalized, then the initial burst). Returns the subscription or
   * the fail reason. The transaction id is fresh for each call.
   */
  subscribe(peer: Peer, subId: bigint, filter?: string): Subscription | FailReason {
    const parsed = filter === undefined ? null : parseFilter(filter);
    const taId = this.nextTaId++;
    const result = this.directory.subscribe(peer.session, subId, taId, parsed, parsed ? formatFilter(parsed) : undefined);
    if (typeof result === 'string') return result;
    this.directory.burst(result).step(WHOLE);
    return result;
  }

  /** Like subscribe, but throws on failure. */
  watch(peer: Peer, subId: bigint, filter?: string): Subscription {
    const result = this.subscribe(peer, subId, filter);
    if (typeof result === 'string') throw new Error(`subscribe failed: ${result}`);
    return result;
  }
}
