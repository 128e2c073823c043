// A subscription keeps its filter for as long as it lives, but not the
// request that carried it. The JSON parser returns strings as slices of
// the message text, and V8 keeps a slice of 13 or more characters as a
// view that holds the whole text alive: a filter parsed from such a slice
// (and the canonical text printed from it) would pin every byte of its
// subscribe request, whitespace included, for the subscription's life.
// Measured on the heap after a full collection, on the server's own path:
// UTF-8 bytes -> parseJson -> validateMessage -> parseFilter -> formatFilter
// -> Directory.subscribe.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeUtf8, parseJson } from '../../src/protocol/json';
import { validateMessage } from '../../src/protocol/schema';
import { World } from '../helpers/core-fixtures';

/** V8's gc() without --expose-gc on the command line. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const SUBSCRIPTIONS = 100;
/** Whitespace inside each request: legal JSON, and what a pinned request would keep. */
const PADDING = 64 * 1024;

function subscribeRequest(i: number): Uint8Array {
  return Buffer.from(`{"ta-cmd":"subscribe",${' '.repeat(PADDING)}"ta-id":${i + 10},"msg-type":"request",`
    + `"subscription-id":${i + 1},"filter":"(&(name=service-number-${String(i).padStart(6, '0')})(colour=*een*))"}`);
}

test('a subscription does not keep its request message alive', () => {
  const gc = collector();
  const heapAfterGc = (): number => { for (let k = 0; k < 3; k++) gc(); return process.memoryUsage().heapUsed; };
  const world = new World();
  const peer = world.connect(1n);
  const before = heapAfterGc();
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const msg = validateMessage(parseJson(decodeUtf8(subscribeRequest(i))), 3, 'to-server');
    world.watch(peer, msg.fields['subscription-id'] as bigint, msg.fields['filter'] as string);
  }
  const perSubscription = (heapAfterGc() - before) / SUBSCRIPTIONS;
  assert.is(world.directory.subscriptions.size, SUBSCRIPTIONS);
  const sub = world.directory.subscriptions.get(1n)!;
  assert.is(sub.filterText, '(&(name=service-number-000000)(colour=*een*))');
  // A few KiB of records, index entries and filter tree (3.7 KiB when written);
  // a pinned request adds its 64 KiB and more.
  assert.ok(perSubscription < PADDING / 8, `${Math.round(perSubscription)} bytes retained per subscription`);
});

test.run();
