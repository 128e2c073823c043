// Fan-out latency (--fanout N,M): N subscriptions to one name, spread
// round-robin over M connections; one service of that name is published
// and then republished `samples` times from the main connection. Each
// sample is the time from sending the publish to the arrival of the
// N-th notification it caused.

import type { SubscriptionEvent, WireClient } from '../../client/wire';
import { newServiceId, newSubscriptionId, randomId } from '../../client/wire';
import { MAX_OUTSTANDING, elapsedMs, inBatches } from './pipeline';
import { mean, percentile } from './stats';
import { BENCH_TTL } from './workload';

/** A sample not complete within this time means notifications were lost: the run fails. */
const SAMPLE_TIMEOUT_MS = 30_000;

export interface FanoutReport {
  subscriptions: number;
  connections: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Counts notifications down to zero and says when the last one came. */
class Countdown {
  private remaining = 0;
  private resolve: (() => void) | undefined;

  /** Expects `n` notifications; resolves when they are in. */
  expect(n: number, what: string): Promise<void> {
    this.remaining = n;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: ${this.remaining} of ${n} notifications missing after ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS);
      this.resolve = () => { clearTimeout(timer); resolve(); };
    });
  }

  readonly onEvent = (event: SubscriptionEvent): void => {
    if (event.type !== 'match') return;
    if (--this.remaining === 0) this.resolve?.();
  };
}

/**
 * Runs the fan-out measurement with `subscribers` (the M connections,
 * opened by the caller); leaves no service or subscription behind.
 */
export async function measureFanout(main: WireClient, subscribers: readonly WireClient[], subscriptions: number, samples: number): Promise<FanoutReport> {
  const name = `fanout-${randomId().toString(16)}`;
  const countdown = new Countdown();
  const subIds = Array.from({ length: subscriptions }, () => newSubscriptionId());
  const owner = (i: number) => subscribers[i % subscribers.length]!;
  await inBatches(subscriptions, MAX_OUTSTANDING, (i) => owner(i).subscribe(subIds[i]!, countdown.onEvent, `(name=${name})`));

  const serviceId = newServiceId();
  const publish = async (generation: number): Promise<number> => {
    const arrived = countdown.expect(subscriptions, `fan-out publish ${generation}`);
    const start = performance.now();
    await Promise.all([main.publish(serviceId, generation, { name, seq: generation }, BENCH_TTL), arrived]);
    return elapsedMs(start);
  };
  // The first publish (appeared everywhere) warms up; the republishes (modified) are measured.
  await publish(0);
  const times: number[] = [];
  for (let g = 1; g <= samples; g++) times.push(await publish(g));

  const gone = countdown.expect(subscriptions, 'fan-out unpublish');
  await Promise.all([main.unpublish(serviceId), gone]);
  await inBatches(subscriptions, MAX_OUTSTANDING, (i) => owner(i).unsubscribe(subIds[i]!));

  const sorted = [...times].sort((a, b) => a - b);
  return {
    subscriptions, connections: subscribers.length, samples,
    p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), meanMs: mean(sorted), maxMs: sorted[sorted.length - 1]!,
  };
}
