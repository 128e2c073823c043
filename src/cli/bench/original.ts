// The original pafbench procedure (docs/cli-and-config.md §4): pre-populate
// the server, then time batches of 16 subscribes, unsubscribes,
// publishes, unpublishes and pings on one connection.

import type { WireClient } from '../../client/wire';
import { newServiceId, newSubscriptionId } from '../../client/wire';
import { MAX_OUTSTANDING, elapsedMs, inBatches } from './pipeline';
import { BENCH_GENERATION, BENCH_TTL, benchProps, ignoreMatches, serviceFilter, serviceName } from './workload';

/** Operations per measured batch. */
export const MEASURED_OPERATIONS = 16;

/** Milliseconds per operation of each measured kind, in the order they are printed. */
export interface OperationLatencies {
  subscribe: number;
  unsubscribe: number;
  publish: number;
  unpublish: number;
  ping: number;
}

/** What pre-population left on the server, for the final cleanup. */
export interface Population {
  serviceIds: bigint[];
  subscriptionIds: bigint[];
  /** Time pre-population took, in seconds. */
  seconds: number;
}

/** Subscriptions first, then services, in batches of at most 1024 outstanding requests. */
export async function prepopulate(client: WireClient, numServices: number, numSubscriptions: number): Promise<Population> {
  const start = performance.now();
  const subscriptionIds = Array.from({ length: numSubscriptions }, () => newSubscriptionId());
  await inBatches(numSubscriptions, MAX_OUTSTANDING,
    (i) => client.subscribe(subscriptionIds[i]!, ignoreMatches, serviceFilter(i)));
  const serviceIds = Array.from({ length: numServices }, () => newServiceId());
  await inBatches(numServices, MAX_OUTSTANDING,
    (i) => client.publish(serviceIds[i]!, BENCH_GENERATION, benchProps(serviceName(i)), BENCH_TTL));
  return { serviceIds, subscriptionIds, seconds: elapsedMs(start) / 1000 };
}

/** Time per operation of `count` operations sent as one batch. */
async function timeBatch(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await inBatches(count, count, op);
  return elapsedMs(start) / count;
}

/** The five measurements, each over one batch of 16 operations. */
export async function measureOperations(client: WireClient): Promise<OperationLatencies> {
  const n = MEASURED_OPERATIONS;
  const subIds = Array.from({ length: n }, () => newSubscriptionId());
  const subscribe = await timeBatch(n, (i) => client.subscribe(subIds[i]!, ignoreMatches, serviceFilter(i)));
  const unsubscribe = await timeBatch(n, (i) => client.unsubscribe(subIds[i]!));
  const serviceIds = Array.from({ length: n }, () => newServiceId());
  // New ids, same names as pre-populated services: each publish notifies the subscriptions on that name.
  const publish = await timeBatch(n, (i) => client.publish(serviceIds[i]!, BENCH_GENERATION, benchProps(serviceName(i)), BENCH_TTL));
  const unpublish = await timeBatch(n, (i) => client.unpublish(serviceIds[i]!));
  const ping = await timeBatch(n, () => client.ping());
  return { subscribe, unsubscribe, publish, unpublish, ping };
}

/** Unpublishes the pre-populated services; the subscriptions go with the connection. */
export async function cleanup(client: WireClient, population: Population): Promise<void> {
  await inBatches(population.serviceIds.length, MAX_OUTSTANDING, (i) => client.unpublish(population.serviceIds[i]!));
}
