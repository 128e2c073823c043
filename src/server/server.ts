// The pafd process: every configured domain, started together and stopped
// together, and the optional metrics endpoint beside them. A bind failure
// of any socket stops everything (exit 1).

import type { Clock } from '../core/clock';
import type { MetricsConfig, ServerConfig } from '../config/config';
import type { Logger } from '../log/logger';
import { DomainServer } from './domain';
import { MetricsEndpoint } from './metrics';
import { memoryLimitsOf } from './memory';

export const SERVER_VERSION = '0.1.0';
export const PROTOCOL_VERSIONS = [2, 3] as const;

export class PathfinderServer {
  readonly domains: DomainServer[];
  /** The metrics section the server was started with (a reload does not move the endpoint). */
  readonly metricsConfig: MetricsConfig | undefined;
  metrics: MetricsEndpoint | undefined = undefined;

  constructor(config: ServerConfig, clock: Clock, readonly log: Logger) {
    this.domains = config.domains.map((d) => new DomainServer({
      name: d.name,
      sockets: d.sockets.map((s) => ({ ...s })),
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
