// What pafbench publishes and subscribes to (docs/cli-and-config.md §4):
// services named service-<i> with a fixed address and colour, and
// subscriptions to one name each.

import type { PropsInput } from '../../client/props-input';
import type { SubscriptionEvent } from '../../client/wire';

/** TTL of every benchmark service. */
export const BENCH_TTL = 30;
export const BENCH_GENERATION = 0;
const BENCH_ADDR = 'tls:10.10.10.10:4711';
const BENCH_COLOR = 'green';

/** Properties of the i-th benchmark service. */
export function benchProps(name: string): PropsInput {
  return { name, addr: BENCH_ADDR, color: BENCH_COLOR };
}

export function serviceName(i: number): string {
  return `service-${i}`;
}

/** The filter matching the i-th benchmark service. */
export function serviceFilter(i: number): string {
  return `(name=${serviceName(i)})`;
}

/** For subscriptions whose matches the benchmark does not look at. */
export function ignoreMatches(_event: SubscriptionEvent): void {}
