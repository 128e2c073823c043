// Pipelined throughput (--pipelined): how many publishes, subscribes and
// pings per second the server completes when the client keeps up to
// 1024 requests outstanding per connection, first over one connection,
// then with the same total spread over N connections at once. Every
// publish and subscribe is undone afterwards, outside the timing.

import type { WireClient } from '../../client/wire';
import { newServiceId, newSubscriptionId } from '../../client/wire';
import { MAX_OUTSTANDING, elapsedMs, windowed } from './pipeline';
import { opsPerSecond } from './stats';
import { BENCH_GENERATION, BENCH_TTL, benchProps, ignoreMatches, serviceFilter, serviceName } from './workload';

/** Throughput of one kind of operation. */
export interface Throughput {
  oneConnection: number;
  manyConnections: number;
}

export interface ThroughputReport {
  /** Operations per figure (split evenly over the connections for the N-connection figure). */
  operations: number;
  connections: number;
  /** Outstanding requests per connection. */
  window: number;
  opsPerSecond: { publish: Throughput; subscribe: Throughput; ping: Throughput };
}

/** One kind of operation: what is timed, then how to undo it untimed. */
interface Workload {
  run(client: WireClient, i: number, ids: bigint[]): Promise<unknown>;
  undo?(client: WireClient, id: bigint): Promise<unknown>;
  newId?(): bigint;
}

const PUBLISH: Workload = {
  newId: newServiceId,
  run: (c, i, ids) => c.publish(ids[i]!, BENCH_GENERATION, benchProps(serviceName(i)), BENCH_TTL),
  undo: (c, id) => c.unpublish(id),
};
const SUBSCRIBE: Workload = {
  newId: newSubscriptionId,
  run: (c, i, ids) => c.subscribe(ids[i]!, ignoreMatches, serviceFilter(i)),
  undo: (c, id) => c.unsubscribe(id),
};
const PING: Workload = { run: (c) => c.ping() };

/** The share of `total` operations the k-th of n connections does. */
function share(total: number, n: number, k: number): number {
  return Math.floor(total / n) + (k < total % n ? 1 : 0);
}

/** Runs `total` operations spread over `clients` concurrently; ops/s over the whole run. */
async function measure(clients: readonly WireClient[], total: number, w: Workload): Promise<number> {
  const plans = clients.map((c, k) => {
    const n = share(total, clients.length, k);
    return { client: c, n, ids: w.newId ? Array.from({ length: n }, () => w.newId!()) : [] };
  });
  const start = performance.now();
  await Promise.all(plans.map((p) => windowed(p.n, MAX_OUTSTANDING, (i) => w.run(p.client, i, p.ids))));
  const ms = elapsedMs(start);
  if (w.undo) {
    await Promise.all(plans.map((p) => windowed(p.ids.length, MAX_OUTSTANDING, (i) => w.undo!(p.client, p.ids[i]!))));
  }
  return opsPerSecond(total, ms);
}

async function both(main: WireClient, many: readonly WireClient[], total: number, w: Workload): Promise<Throughput> {
  const oneConnection = await measure([main], total, w);
  const manyConnections = await measure(many, total, w);
  return { oneConnection, manyConnections };
}

/**
 * Measures on `main` and on `many` (the N connections, opened by the
 * caller). Publish first, then subscribe, then ping.
 */
export async function measureThroughput(main: WireClient, many: readonly WireClient[], operations: number): Promise<ThroughputReport> {
  const publish = await both(main, many, operations, PUBLISH);
  const subscribe = await both(main, many, operations, SUBSCRIBE);
  const ping = await both(main, many, operations, PING);
  return { operations, connections: many.length, window: MAX_OUTSTANDING, opsPerSecond: { publish, subscribe, ping } };
}
