// What pafbench prints: the original text (a header and one line per
// operation, milliseconds with three decimals), extra sections for the
// optional figures, or one JSON object (schema in docs/pafbench.md).
// Pure.

import type { FanoutReport } from './fanout';
import type { OperationLatencies } from './original';
import type { MemorySample } from './rss';
import type { ThroughputReport } from './throughput';

/** Bumped whenever a key changes meaning or disappears (adding keys does not). */
export const JSON_SCHEMA = 'pafbench/1';

export interface BenchReport {
  target: string;
  protocolVersion: number;
  quick: boolean;
  prepopulated: { services: number; subscriptions: number; seconds: number };
  msPerOp: OperationLatencies;
  pipelined: ThroughputReport | null;
  fanout: FanoutReport | null;
  serverRss: { pid: number; beforeKiB: number; afterKiB: number; peakKiB: number | null } | null;
}

/** The five operation lines, labels as the original prints them. */
const OPERATION_LABELS: readonly [keyof OperationLatencies, string][] = [
  ['subscribe', 'Subscribe'],
  ['unsubscribe', 'Unsubscribe'],
  ['publish', 'Publish'],
  ['unpublish', 'Unpublish'],
  ['ping', 'Ping'],
];
const LABEL_WIDTH = 'Unsubscribe:'.length;

function ms(v: number): string {
  return v.toFixed(3);
}

function rate(v: number): string {
  return Math.round(v).toString();
}

/** Original header and operation lines. */
export function originalLines(services: number, subscriptions: number, latencies: OperationLatencies): string[] {
  const lines = [`Pre-populated with ${services} services and ${subscriptions} subscriptions.`];
  for (const [key, label] of OPERATION_LABELS) lines.push(`${(label + ':').padEnd(LABEL_WIDTH)} ${ms(latencies[key])} ms`);
  return lines;
}

/** The whole text report. */
export function textReport(r: BenchReport): string[] {
  const lines = originalLines(r.prepopulated.services, r.prepopulated.subscriptions, r.msPerOp);
  const p = r.pipelined;
  if (p) {
    lines.push(`Pipelined throughput (${p.operations} operations per figure, ${p.window} outstanding per connection):`);
    for (const [key, label] of [['publish', 'Publish'], ['subscribe', 'Subscribe'], ['ping', 'Ping']] as const) {
      const t = p.opsPerSecond[key];
      lines.push(`  ${(label + ':').padEnd(LABEL_WIDTH)} ${rate(t.oneConnection)} ops/s over 1 connection, ${rate(t.manyConnections)} ops/s over ${p.connections}`);
    }
  }
  const f = r.fanout;
  if (f) {
    lines.push(`Fan-out latency (${f.subscriptions} subscriptions over ${f.connections} connections, ${f.samples} publishes):`);
    lines.push(`  p50 ${ms(f.p50Ms)} ms, p99 ${ms(f.p99Ms)} ms, mean ${ms(f.meanMs)} ms, max ${ms(f.maxMs)} ms`);
  }
  const m = r.serverRss;
  if (m) {
    lines.push(`Server RSS (pid ${m.pid}): ${m.beforeKiB} KiB before, ${m.afterKiB} KiB after` +
      (m.peakKiB !== null ? `, peak ${m.peakKiB} KiB` : ''));
  }
  return lines;
}

/** The JSON report: one object, keys in a fixed order. */
export function jsonReport(r: BenchReport): string {
  return JSON.stringify({ schema: JSON_SCHEMA, ...r });
}

/** The serverRss entry from two samples. */
export function memoryEntry(pid: number, before: MemorySample, after: MemorySample): NonNullable<BenchReport['serverRss']> {
  return { pid, beforeKiB: before.rssKiB, afterKiB: after.rssKiB, peakKiB: after.peakKiB ?? null };
}
