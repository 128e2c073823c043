// The pafd process: every configured domain, started together and stopped
// together. A bind failure of any socket stops everything (exit 1).

import type { Clock } from '../core/clock';
import type { ServerConfig } from '../config/config';
import type { Logger } from '../log/logger';
import { DomainServer } from './domain';

export const SERVER_VERSION = '0.1.0';
export const PROTOCOL_VERSIONS = [2, 3] as const;

export class PathfinderServer {
  readonly domains: DomainServer[];

  constructor(config: ServerConfig, clock: Clock, readonly log: Logger) {
    this.domains = config.domains.map((d) => new DomainServer({
      name: d.name,
      sockets: d.sockets,
      protocolVersion: d.protocolVersion,
      idle: d.idle,
      limits: config.resources,
    }, clock, log));
  }

  async start(): Promise<void> {
    try {
      for (const d of this.domains) await d.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.domains.map((d) => d.stop()));
  }
}
