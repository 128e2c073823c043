// Reload without downtime (SIGHUP): a new effective configuration is
// compared with what runs, everything it needs is checked, and only then
// is anything changed — so a broken file leaves the running configuration
// exactly as it was.
//
// Applied live: TLS credentials and CRLs (re-read on every reload; new
// handshakes use them, established connections keep theirs), resource
// limits (existing resources above a lowered limit stay; new ones are
// refused until usage drops), idle limits (used from the next liveness
// timer of each connection), the protocol version range (for the next
// hello) and the log settings. Not applied: anything that would need a
// socket bound or closed — a domain's socket list or name, domains added
// or removed, the metrics endpoint. Those are reported and left as they
// are; domains whose socket list changed keep all their old settings.

import { memoryLimitsOf } from './memory';
import type { DomainConfig, ServerConfig, SocketConfig } from '../config/config';
import type { LogOutputs } from './log-outputs';
import type { TlsReloadable } from '../transport/tls';
import type { TlsCredentialFiles } from '../transport/tls-credentials';
import { resolveTlsFiles } from '../transport/tls-credentials';
import type { MessageListener } from '../transport/types';
import { checkTlsFiles, usesTls } from './check-config';
import type { DomainServer } from './domain';
import type { PathfinderServer } from './server';

export interface ReloadReport {
  /** What changed, for the log ("protocol versions of east 2-3 -> 3-3"). */
  changes: string[];
  /** Differences that need a restart and were left alone. */
  notApplied: string[];
}

interface CredentialUpdate {
  listener: MessageListener & TlsReloadable;
  files: TlsCredentialFiles;
  socket: SocketConfig;
  target: SocketConfig;
}

interface DomainUpdate {
  domain: DomainServer;
  config: DomainConfig;
  credentials: CredentialUpdate[];
}

function domainName(d: { name?: string | undefined }, index: number): string {
  return d.name !== undefined ? `domain ${d.name}` : `domain #${index}`;
}

/** The sockets as bound: addresses and, for uxf files, their mode and group. */
function addrList(sockets: readonly SocketConfig[]): string {
  const file = (s: SocketConfig) => (s.mode === undefined ? '' : ` mode ${s.mode.toString(8).padStart(4, '0')}`) + (s.group === undefined ? '' : ` group ${s.group}`);
  return `[${sockets.map((s) => `${s.addr}${file(s)}`).join(', ')}]`;
}

function range(r: { min: number; max: number }): string { return `${r.min}-${r.max}`; }

function sameJson(a: unknown, b: unknown): boolean { return JSON.stringify(a) === JSON.stringify(b); }

function canReload(listener: MessageListener): listener is MessageListener & TlsReloadable {
  return typeof (listener as Partial<TlsReloadable>).setCredentials === 'function';
}

/** Domains are matched by position; a domain is reloadable if its name and socket list are unchanged. */
function planDomains(server: PathfinderServer, next: ServerConfig, report: ReloadReport, env: NodeJS.ProcessEnv): DomainUpdate[] {
  const updates: DomainUpdate[] = [];
  const running = server.domains;
  for (let i = 0; i < Math.max(running.length, next.domains.length); i++) {
    const d = running[i];
    const c = next.domains[i];
    if (d === undefined) {
      report.notApplied.push(`new ${domainName(c!, i)} with sockets ${addrList(c!.sockets)}`);
      continue;
    }
    const now = d.settings;
    const label = domainName(now, i);
    if (c === undefined) {
      report.notApplied.push(`removal of ${label}`);
      continue;
    }
    if (now.name !== c.name) {
      report.notApplied.push(`${label} renamed to ${c.name ?? '(no name)'}`);
      continue;
    }
    if (addrList(now.sockets) !== addrList(c.sockets)) {
      report.notApplied.push(`sockets of ${label} ${addrList(now.sockets)} -> ${addrList(c.sockets)}`);
      continue;
    }
    // Users are given at accept: changing them under live clients would split one client's records.
    if ((now.localUsers ?? 'shared') !== (c.localUsers ?? 'shared')) {
      report.notApplied.push(`local_users of ${label} ${now.localUsers ?? 'shared'} -> ${c.localUsers ?? 'shared'}`);
    }
    const credentials: CredentialUpdate[] = [];
    c.sockets.forEach((s, j) => {
      if (!usesTls(s)) return;
      const listener = d.listeners[j];
      if (listener === undefined) return;
      const files = resolveTlsFiles(s.tls, env);
      // Checked now, before anything changes: a bad file keeps the old configuration.
      try {
        checkTlsFiles(files);
      } catch (err) {
        throw new Error(`${label}, socket ${s.addr}: ${(err as Error).message}`);
      }
      if (!canReload(listener)) {
        report.notApplied.push(`TLS credentials of ${label} socket ${s.addr} (read only at start)`);
        return;
      }
      credentials.push({ listener, files, socket: now.sockets[j]!, target: s });
    });
    updates.push({ domain: d, config: c, credentials });
  }
  return updates;
}

/**
 * Applies `next` to the running server as far as it can be applied live.
 * Throws an Error with a one-line message — and changes nothing — if a TLS
 * credential file or the log file of the new configuration is unusable.
 */
export function reloadServer(server: PathfinderServer, next: ServerConfig, outputs: LogOutputs, env: NodeJS.ProcessEnv = process.env): ReloadReport {
  const report: ReloadReport = { changes: [], notApplied: [] };

  // 1. Check everything.
  const updates = planDomains(server, next, report, env);
  if (!sameJson(server.metricsConfig?.address, next.metrics?.address)) {
    report.notApplied.push(`metrics endpoint ${server.metricsConfig?.address ?? '(none)'} -> ${next.metrics?.address ?? '(none)'}`);
  }
  const log = outputs.prepare(next.log);   // the last thing that can fail

  // 2. Apply; nothing below throws.
  for (const { domain, config, credentials } of updates) {
    const s = domain.settings;
    const label = domainName(s, server.domains.indexOf(domain));
    if (!sameJson(s.protocolVersion, config.protocolVersion)) {
      report.changes.push(`protocol versions of ${label} ${range(s.protocolVersion)} -> ${range(config.protocolVersion)}`);
      s.protocolVersion = { ...config.protocolVersion };
    }
    if (!sameJson(s.idle, config.idle)) {
      report.changes.push(`idle limits of ${label} ${range(s.idle)} -> ${range(config.idle)}`);
      s.idle = { ...config.idle };
      domain.liveness.idle = s.idle;
    }
    for (const u of credentials) {
      try {
        u.listener.setCredentials(u.files);
      } catch (err) {
        // Only if a file changed between the check and now; the socket keeps its old credentials.
        server.log.error(`${label}, socket ${u.socket.addr}: TLS credentials not reloaded: ${(err as Error).message}`);
        continue;
      }
      if (!sameJson(u.socket.tls, u.target.tls)) report.changes.push(`TLS files of ${label} socket ${u.socket.addr}`);
      if (u.target.tls === undefined) delete u.socket.tls;
      else u.socket.tls = { ...u.target.tls };
    }
    if (credentials.length > 0) report.changes.push(`TLS credentials of ${label} re-read (${credentials.length} socket(s))`);
  }
  const resources = next.resources;
  for (const domain of server.domains) {
    const s = domain.settings;
    if (sameJson(s.limits, resources)) continue;
    s.limits = { total: { ...resources.total }, user: { ...resources.user } };
    domain.directory.limits.total = s.limits.total;
    domain.directory.limits.user = s.limits.user;
    s.memory = memoryLimitsOf(resources, server.domains.length);
    domain.directory.budget.limits = s.memory;
    if (domain === server.domains[0]) report.changes.push(`resource limits ${JSON.stringify(resources)}`);
  }
  if (!sameJson(outputs.current, next.log)) report.changes.push('log settings');
  outputs.commit(log);
  return report;
}
