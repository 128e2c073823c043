// The optional Prometheus endpoint (`metrics: {address: host:port}`):
// GET /metrics answers the text exposition format 0.0.4 over plain HTTP.
//
// What is counted all the time is a handful of integer increments per
// message and per closed connection (DomainCounters, owned by each
// domain); everything else — gauges, per-user usage, the HTTP server, the
// event-loop lag probe and its one timer a second (lag-probe.ts) — exists
// only once the endpoint is configured and is computed when scraped.
// Without a `metrics` section pafd opens no port and arms no timer for it.

import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsConfig } from '../config/config';
import type { Limits, Resource } from '../core/limits';
import { CHARGE_KINDS } from '../core/budget';
import type { Logger } from '../log/logger';
import type { DomainServer } from './domain';
import { LAG_BUCKETS, LagProbe } from './lag-probe';
import type { LagHistogram } from './lag-probe';

/** Upper bounds (seconds) of the track round-trip histogram buckets; +Inf is implied. */
export const RTT_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Traffic of one domain since start. */
export class DomainCounters {
  messagesIn = 0;
  messagesOut = 0;
  /** Payload bytes of received messages (frame headers not included). */
  bytesIn = 0;
  /** Payload bytes of sent messages; counted only while `countBytesOut` (it costs a UTF-8 length per message). */
  bytesOut = 0;
  countBytesOut = false;
  /** Closed connections by category (closeCategory()). */
  readonly closed = new Map<string, number>();
  /** Track query round trips: per-bucket counts (the last one is +Inf), sum and count. */
  readonly rttBuckets = new Array<number>(RTT_BUCKETS.length + 1).fill(0);
  rttSum = 0;
  rttCount = 0;

  connectionClosed(category: string): void {
    this.closed.set(category, (this.closed.get(category) ?? 0) + 1);
  }

  observeRtt(seconds: number): void {
    let i = 0;
    while (i < RTT_BUCKETS.length && seconds > RTT_BUCKETS[i]!) i++;
    this.rttBuckets[i]!++;
    this.rttSum += seconds;
    this.rttCount++;
  }
}

/**
 * A close reason reduced to a small fixed set, fit for a metric label
 * (the reason texts carry details such as the offending message).
 */
export function closeCategory(reason: string | undefined): string {
  if (reason === undefined || reason === 'closed' || reason === 'closed by peer') return 'peer-closed';
  if (reason === 'idle timeout') return 'idle-timeout';
  if (reason === 'handshake timeout') return 'handshake-timeout';
  if (reason === 'server shutting down' || reason === 'server stopping') return 'shutdown';
  if (reason === 'connection limit reached') return 'connection-limit';
  if (reason === 'output queue overflow') return 'output-overflow';
  if (reason === 'input over memory budget') return 'input-overflow';
  if (reason === 'internal error') return 'internal-error';
  if (reason.startsWith('protocol error') || reason.startsWith('framing error')) return 'protocol-error';
  if (reason.startsWith('outgoing message of')) return 'message-too-large';
  return 'transport-error';
}

// ---------------------------------------------------------------- exposition

const RESOURCES: readonly Resource[] = ['clients', 'services', 'subscriptions'];

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Builds one exposition text: HELP and TYPE once per family, then its samples. */
class Exposition {
  private out: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
    const text = Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
    this.out.push(`${name}${parts.length ? `{${parts.join(',')}}` : ''} ${text}`);
  }

  text(): string { return this.out.join('\n') + '\n'; }
}

/** The `domain` label: the domain's name, else its first bound address. */
export function domainLabel(d: DomainServer): string {
  return d.settings.name ?? d.listeners[0]?.address ?? d.settings.sockets[0]?.addr ?? '';
}

export interface ProcessSample {
  /** Event-loop lag observed since start, and its largest value since the previous scrape (seconds). */
  lag?: { histogram: LagHistogram; maxSinceScrape: number };
  residentBytes: number;
  heapUsedBytes: number;
  startTimeSeconds: number;
}

type DomainGauge = [name: string, help: string, value: (d: DomainServer) => number];

const DOMAIN_GAUGES: readonly DomainGauge[] = [
  ['pafd_connections', 'Open client connections, handshaked or not.', (d) => d.connections.size],
  ['pafd_clients', 'Connected clients (connections that completed hello).', (d) => {
    let n = 0;
    for (const c of d.connections) if (c.session.handshaked) n++;
    return n;
  }],
  ['pafd_services', 'Published services, orphans included.', (d) => d.directory.services.size],
  ['pafd_orphans', 'Orphan services (their client is gone; they expire after their TTL).', (d) => d.directory.orphanTotal],
  ['pafd_subscriptions', 'Live subscriptions.', (d) => d.directory.subscriptions.size],
];

type DomainCounter = [name: string, help: string, value: (c: DomainCounters) => number];

const DOMAIN_COUNTERS: readonly DomainCounter[] = [
  ['pafd_messages_received_total', 'Protocol messages received from clients.', (c) => c.messagesIn],
  ['pafd_messages_sent_total', 'Protocol messages sent to clients.', (c) => c.messagesOut],
  ['pafd_received_bytes_total', 'Payload bytes of the messages received.', (c) => c.bytesIn],
  ['pafd_sent_bytes_total', 'Payload bytes of the messages sent (counted while metrics are enabled).', (c) => c.bytesOut],
];

/** The whole exposition text for the given domains. */
export function renderMetrics(domains: readonly DomainServer[], proc: ProcessSample, version: string): string {
  const x = new Exposition();
  const labels = domains.map(domainLabel);

  x.family('pafd_info', 'gauge', 'pafd build information.');
  x.sample('pafd_info', { version }, 1);

  for (const [name, help, value] of DOMAIN_GAUGES) {
    x.family(name, 'gauge', help);
    domains.forEach((d, i) => x.sample(name, { domain: labels[i]! }, value(d)));
  }

  x.family('pafd_resource_used', 'gauge', 'Resources in use in the domain.');
  domains.forEach((d, i) => {
    for (const r of RESOURCES) x.sample('pafd_resource_used', { domain: labels[i]!, resource: r }, d.directory.limits.count(r));
    x.sample('pafd_resource_used', { domain: labels[i]!, resource: 'memory' }, d.directory.budget.bytes);
  });
  x.family('pafd_resource_limit', 'gauge', 'Configured resource limits (scope "total": per domain; "user": per user). Absent: unlimited.');
  domains.forEach((d, i) => {
    const limits = d.directory.limits;
    const scopes: [string, Limits][] = [['total', limits.total], ['user', limits.user]];
    for (const [scope, set] of scopes) {
      for (const r of RESOURCES) {
        const limit = set[r];
        if (limit !== undefined) x.sample('pafd_resource_limit', { domain: labels[i]!, scope, resource: r }, limit);
      }
      const memory = d.directory.budget.limits[scope as 'total' | 'user'];
      if (memory !== undefined) x.sample('pafd_resource_limit', { domain: labels[i]!, scope, resource: 'memory' }, memory);
    }
  });
  x.family('pafd_user_resource_used', 'gauge', 'Resources in use per user (compare with pafd_resource_limit{scope="user"}).');
  domains.forEach((d, i) => {
    for (const [user, usage] of d.directory.limits.usage()) {
      for (const r of RESOURCES) x.sample('pafd_user_resource_used', { domain: labels[i]!, user, resource: r }, usage[r]);
    }
    for (const account of d.directory.budget.usage()) {
      if (account.bytes !== 0) x.sample('pafd_user_resource_used', { domain: labels[i]!, user: account.user, resource: 'memory' }, account.bytes);
    }
  });
  x.family('pafd_memory_charged_bytes', 'gauge', 'Bytes charged to the memory budget (resource "memory") by what they hold.');
  domains.forEach((d, i) => {
    for (const kind of CHARGE_KINDS) x.sample('pafd_memory_charged_bytes', { domain: labels[i]!, kind }, d.directory.budget.byKind[kind]);
  });

  for (const [name, help, value] of DOMAIN_COUNTERS) {
    x.family(name, 'counter', help);
    domains.forEach((d, i) => x.sample(name, { domain: labels[i]! }, value(d.counters)));
  }

  x.family('pafd_connections_closed_total', 'counter', 'Closed client connections by reason.');
  domains.forEach((d, i) => {
    for (const [reason, n] of d.counters.closed) x.sample('pafd_connections_closed_total', { domain: labels[i]!, reason }, n);
  });

  x.family('pafd_track_rtt_seconds', 'histogram', 'Round-trip time of server-initiated track queries.');
  domains.forEach((d, i) => {
    const c = d.counters;
    let cumulative = 0;
    RTT_BUCKETS.forEach((le, b) => {
      cumulative += c.rttBuckets[b]!;
      x.sample('pafd_track_rtt_seconds_bucket', { domain: labels[i]!, le: String(le) }, cumulative);
    });
    x.sample('pafd_track_rtt_seconds_bucket', { domain: labels[i]!, le: '+Inf' }, c.rttCount);
    x.sample('pafd_track_rtt_seconds_sum', { domain: labels[i]! }, c.rttSum);
    x.sample('pafd_track_rtt_seconds_count', { domain: labels[i]! }, c.rttCount);
  });

  if (proc.lag !== undefined) {
    const h = proc.lag.histogram;
    x.family('pafd_event_loop_lag_seconds', 'histogram', 'How late a timer probing the event loop once a second fired.');
    let cumulative = 0;
    LAG_BUCKETS.forEach((le, b) => {
      cumulative += h.buckets[b]!;
      x.sample('pafd_event_loop_lag_seconds_bucket', { le: String(le) }, cumulative);
    });
    x.sample('pafd_event_loop_lag_seconds_bucket', { le: '+Inf' }, h.count);
    x.sample('pafd_event_loop_lag_seconds_sum', {}, h.sum);
    x.sample('pafd_event_loop_lag_seconds_count', {}, h.count);
    x.family('pafd_event_loop_lag_max_seconds', 'gauge', 'Largest event-loop lag observed since the previous scrape.');
    x.sample('pafd_event_loop_lag_max_seconds', {}, proc.lag.maxSinceScrape);
  }
  x.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
  x.sample('process_resident_memory_bytes', {}, proc.residentBytes);
  x.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, bytes.');
  x.sample('nodejs_heap_used_bytes', {}, proc.heapUsedBytes);
  x.family('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, seconds.');
  x.sample('process_start_time_seconds', {}, proc.startTimeSeconds);
  return x.text();
}

// ---------------------------------------------------------------- endpoint

const METRICS_PATH = '/metrics';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Scrapers keep connections open; do not let one hold pafd's shutdown. */
const SERVER_TIMEOUT_MS = 10_000;

export class MetricsEndpoint {
  private constructor(
    private readonly server: http.Server,
    private readonly lag: LagProbe,
    /** The bound address, `host:port` with the real port. */
    readonly address: string,
  ) {}

  /** Binds the endpoint and starts counting sent bytes; rejects if the bind fails. */
  static start(config: MetricsConfig, domains: () => readonly DomainServer[], version: string, log: Logger): Promise<MetricsEndpoint> {
    const lag = new LagProbe();
    const startTimeSeconds = Math.round((Date.now() - performance.now()) / 1000);
    // Loaded here: a pafd without metrics never loads the HTTP stack.
    const server = (require('node:http') as typeof http).createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== METRICS_PATH) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${METRICS_PATH}\n`);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      let body: string;
      try {
        const mem = process.memoryUsage();
        body = renderMetrics(domains(), {
          lag: { histogram: lag.histogram, maxSinceScrape: lag.histogram.takeMax() },
          residentBytes: mem.rss, heapUsedBytes: mem.heapUsed, startTimeSeconds,
        }, version);
      } catch (err) {
        log.error(`metrics: cannot render: ${(err as Error).stack ?? err}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.requestTimeout = SERVER_TIMEOUT_MS;
    server.keepAliveTimeout = SERVER_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`metrics address ${config.address}: ${err.code ?? err.message}`));
      });
      server.listen({ host: config.host, port: config.port }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => log.warning(`metrics: ${err.message}`));
        for (const d of domains()) d.counters.countBytesOut = true;
        lag.start();
        const bound = server.address() as AddressInfo;
        const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
        resolve(new MetricsEndpoint(server, lag, `${host}:${bound.port}`));
      });
    });
  }

  close(): Promise<void> {
    this.lag.stop();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
