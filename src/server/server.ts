// The pafd process: every configured domain, started together and stopped
// together, and the optional metrics endpoint beside them. A bind failure
// of any socket stops everything (exit 1).

import type { Clock } from '../core/clock';
import type { MetricsConfig, ServerConfig } from '../config/config';
import type { Logger } from '../log/logger';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../protocol/schema';
import { DomainServer } from './domain';
import { MetricsEndpoint } from './metrics';
import { memoryLimitsOf } from './memory';

export const SERVER_VERSION = '0.1.0';
/** Every version from MIN_PROTOCOL_VERSION to MAX_PROTOCOL_VERSION, for `pafd -v`. */
export const PROTOCOL_VERSIONS: readonly number[] =
  Array.from({ length: MAX_PROTOCOL_VERSION - MIN_PROTOCOL_VERSION + 1 }, (_, k) => MIN_PROTOCOL_VERSION + k);

/** Whether a metrics bind host is a loopback address (only local processes can scrape it). */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}

export class PathfinderServer {
  readonly domains: DomainServer[];
  /** The metrics section the server was started with (a reload does not move the endpoint). */
  readonly metricsConfig: MetricsConfig | undefined;
  metrics: MetricsEndpoint | undefined = undefined;

  constructor(config: ServerConfig, clock: Clock, readonly log: Logger) {
    this.domains = config.domains.map((d) => new DomainServer({
      name: d.name,
      sockets: d.sockets.map((s) => ({ ...s })),
      localUsers: d.localUsers,
      protocolVersion: { ...d.protocolVersion },
      idle: { ...d.idle },
      limits: { total: { ...config.resources.total }, user: { ...config.resources.user } },
      memory: memoryLimitsOf(config.resources, config.domains.length),
    }, clock, log));
    this.metricsConfig = config.metrics;
  }

  /** Binds every domain's sockets, then the metrics endpoint; on any failure closes everything and rejects. */
  async start(): Promise<void> {
    try {
      for (const d of this.domains) await d.start();
      if (this.metricsConfig !== undefined) {
        this.metrics = await MetricsEndpoint.start(this.metricsConfig, () => this.domains, SERVER_VERSION, this.log);
        this.log.info(`metrics at http://${this.metrics.address}/metrics`);
        if (!isLoopback(this.metricsConfig.host)) {
          this.log.warning(`metrics endpoint ${this.metricsConfig.address} is not on loopback: anyone who reaches it reads client addresses, certificate SKIs and uids (docs/pafd.md, Metrics)`);
        }
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    const metrics = this.metrics;
    this.metrics = undefined;
    await Promise.all([...this.domains.map((d) => d.stop()), metrics?.close()]);
  }
}
