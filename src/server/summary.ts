// The lines pafd logs once it is up: one per domain with its effective
// configuration (what the operator's file, options and defaults came to),
// then the start line. They must tell the truth: a domain limited to
// protocol version 3 is reported as such, not as the server's 2 3.

import type { Limits } from '../core/limits';
import type { DomainServer } from './domain';

const RESOURCES = ['clients', 'services', 'subscriptions'] as const;

/** `2 3` or `3`: the versions a domain accepts, as `-v` prints them. */
export function versionsText(range: { min: number; max: number }): string {
  const out: number[] = [];
  for (let v = range.min; v <= range.max; v++) out.push(v);
  return out.join(' ');
}

/** `clients 100 (10 per user), services unlimited, ...`. */
export function limitsText(total: Limits, user: Limits): string {
  return RESOURCES.map((r) => {
    const t = total[r], u = user[r];
    return `${r} ${t ?? 'unlimited'}${u !== undefined ? ` (${u} per user)` : ''}`;
  }).join(', ');
}

/** How a domain is named in these lines: its name, or its place in the list. */
export function domainTitle(domain: DomainServer, index: number): string {
  return domain.settings.name !== undefined ? `[${domain.settings.name}]` : `domain ${index + 1}`;
}

/** One compact line with a domain's effective configuration. */
export function domainSummary(domain: DomainServer, index: number): string {
  const s = domain.settings;
  const sockets = domain.listeners.length > 0 ? domain.listeners.map((l) => l.address) : s.sockets.map((x) => x.addr);
  return `${domainTitle(domain, index)} configuration: sockets ${sockets.join(' ')}; protocol versions ${versionsText(s.protocolVersion)}; ` +
    `idle ${s.idle.min}-${s.idle.max} s; limits ${limitsText(s.limits.total, s.limits.user)}`;
}

/** The start line: version, domains and the protocol versions each accepts. */
export function startedLine(version: string, domains: readonly DomainServer[], logLevel: string): string {
  const ranges = domains.map((d) => versionsText(d.protocolRange));
  const versions = ranges.every((r) => r === ranges[0])
    ? `protocol versions ${ranges[0] ?? '-'}`
    : `protocol versions ${domains.map((d, i) => `${ranges[i]} (${domainTitle(d, i)})`).join(', ')}`;
  return `pafd ${version} started: ${domains.length} domain(s), ${versions}, log level ${logLevel}`;
}
