// Property: whatever clients do, in whatever order, the memory budget the
// directory keeps running (charged on publish and subscribe, adjusted on
// republish, released on unpublish, orphan expiry, unsubscribe and
// disconnect) equals the budget recomputed from what the directory holds,
// per user and in total, and never exceeds a limit. Random sequences of
// those operations by a few clients of a few users, on tight budgets so
// that refusals are frequent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import type { Peer } from '../helpers/core-fixtures';
import { World, props } from '../helpers/core-fixtures';
import { assertConsistent } from '../helpers/budget';
import { runs } from '../helpers/property';

type Op =
  | { kind: 'connect'; client: number }
  | { kind: 'disconnect'; client: number }
  | { kind: 'publish'; client: number; service: number; generation: number; size: number; names: number }
  | { kind: 'unpublish'; client: number; service: number }
  | { kind: 'subscribe'; client: number; sub: number; filter: string | undefined }
  | { kind: 'unsubscribe'; client: number; sub: number }
  | { kind: 'advance'; seconds: number };

const CLIENTS = 5;
/** Clients 0-2 belong to user a (so takeovers happen), 3-4 to user b. */
const userOf = (client: number) => (client < 3 ? 'a' : 'b');

const FILTERS = [undefined, '(name=s1)', '(|(name=s1)(name=s2)(blob=*x*))', '(&(name=*)(!(n>3)))', '(|' + '(k=*)'.repeat(300) + ')'];

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('connect' as const), client }),
  fc.record({ kind: fc.constant('disconnect' as const), client }),
  fc.record({
    kind: fc.constant('publish' as const), client, service: fc.integer({ min: 1, max: 3 }),
    generation: fc.integer({ min: 0, max: 4 }), size: fc.integer({ min: 0, max: 3000 }), names: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant('publish' as const), client, service: fc.integer({ min: 1, max: 3 }), generation: fc.integer({ min: 0, max: 4 }), size: fc.constant(0), names: fc.constant(1) }),
  fc.record({ kind: fc.constant('unpublish' as const), client, service: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('subscribe' as const), client, sub: fc.integer({ min: 1, max: 3 }), filter: fc.constantFrom(...FILTERS) }),
  fc.record({ kind: fc.constant('unsubscribe' as const), client, sub: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 8 }) }),
);

function servicePropsOf(o: { service: number; size: number; names: number }) {
  const record: Record<string, string | bigint[]> = { name: `s${o.service}`, blob: 'x'.repeat(o.size) };
  for (let i = 1; i < o.names; i++) record[`k${i}`] = [BigInt(i)];
  return props(record);
}

function run(ops: readonly Op[], total: number, user: number): void {
  const w = new World();
  w.directory.budget.limits = { total, user };
  const peers = new Map<number, Peer>();
  // A client acting while disconnected connects first (if the limits let it).
  const live = (c: number): Peer | undefined => {
    let peer = peers.get(c);
    if (peer === undefined) {
      peer = w.accept(userOf(c));
      if (w.hello(peer, BigInt(c + 1)) !== undefined) return undefined;
      peers.set(c, peer);
    }
    return peer;
  };
  for (const o of ops) {
    switch (o.kind) {
      case 'connect':
        live(o.client);
        break;
      case 'disconnect': {
        const peer = peers.get(o.client);
        if (peer) { w.disconnect(peer); peers.delete(o.client); }
        break;
      }
      case 'publish': {
        const peer = live(o.client);
        if (peer) w.publish(peer, BigInt(o.service), BigInt(o.generation), servicePropsOf(o), 3n);
        break;
      }
      case 'unpublish': {
        const peer = live(o.client);
        if (peer) w.directory.unpublish(peer.session, BigInt(o.service));
        break;
      }
      case 'subscribe': {
        const peer = live(o.client);
        if (peer) w.subscribe(peer, BigInt(o.client * 100 + o.sub), o.filter);
        break;
      }
      case 'unsubscribe': {
        const peer = peers.get(o.client);
        if (peer) w.directory.unsubscribe(peer.session, BigInt(o.client * 100 + o.sub));
        break;
      }
      case 'advance':
        w.clock.advance(o.seconds);
        w.directory.expireOrphans();
        break;
    }
    for (const p of peers.values()) p.sent.length = 0;
    assertConsistent(w.directory);
    assert.ok(w.directory.budget.bytes <= total, 'within the domain budget');
    for (const account of w.directory.budget.usage()) assert.ok(account.bytes <= user, `within the budget of ${account.user}`);
  }
  for (const peer of peers.values()) w.disconnect(peer);
  w.clock.advance(10);
  w.directory.expireOrphans();
  assertConsistent(w.directory);
  assert.is(w.directory.budget.bytes, 0, 'everything released at the end');
}

test('the charged budget always equals a recomputation from the directory', () => {
  fc.assert(fc.property(
    fc.array(op, { minLength: 10, maxLength: 120 }),
    fc.integer({ min: 5_000, max: 200_000 }),
    fc.integer({ min: 2_000, max: 100_000 }),
    (ops, total, user) => run(ops, total, user),
  ), runs(300));
});

test.run();
