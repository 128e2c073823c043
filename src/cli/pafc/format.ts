// How pafc shows things (docs/cli-and-config.md §3.2): ids in 0x-hex,
// properties as `{'name': 'value', 'port': 8080}`, listings as aligned
// tables, and one line per asynchronous match. Pure: the caller passes
// the current time where a value depends on it.

import type { PropValue, Props } from '../../protocol/props';
import type { ClientInfo, MatchNotification, ServiceInfo, SubscriptionInfo } from '../../client/wire';

/** Spaces between table columns. */
const COLUMN_GAP = 2;
const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_MINUTE = 60;
const MS_PER_SECOND = 1000;

/** An id as pafc shows it: 0x followed by lower-case hex digits. */
export function hexId(id: bigint): string {
  return '0x' + id.toString(16);
}

function escapeChar(c: string): string {
  switch (c) {
    case '\\': return '\\\\';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: {
      const code = c.charCodeAt(0);
      if (code < 0x20 || code === 0x7f) return '\\x' + code.toString(16).padStart(2, '0');
      return c;
    }
  }
}

/**
 * A string quoted the way Python's repr() does it, which is what users
 * of the original pafc know: single quotes unless the text contains a
 * single quote and no double quote; backslashes and control characters
 * escaped.
 */
export function quoteString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of s) out += c === quote ? '\\' + c : escapeChar(c);
  return out + quote;
}

/** A property value: strings quoted, integers bare. */
export function formatValue(v: PropValue): string {
  return typeof v === 'string' ? quoteString(v) : v.toString();
}

/** `{'name': 'value', 'port': 8080}`, one entry per value. */
export function formatProps(props: Props): string {
  const entries: string[] = [];
  for (const [name, values] of props) {
    const key = quoteString(name);
    for (const v of values) entries.push(`${key}: ${formatValue(v)}`);
  }
  return '{' + entries.join(', ') + '}';
}

/** Seconds as h:mm:ss (hours are not wrapped). */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / SECONDS_PER_HOUR);
  const m = Math.floor((s % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE);
  const sec = s % SECONDS_PER_MINUTE;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Seconds → milliseconds with `decimals` decimals. */
export function formatMs(seconds: number, decimals = 3): string {
  return (seconds * MS_PER_SECOND).toFixed(decimals);
}

/**
 * Rows under a header, every column padded to its widest cell; the last
 * column is not padded so lines carry no trailing blanks.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    row.forEach((cell, i) => { if (cell.length > (widths[i] ?? 0)) widths[i] = cell.length; });
  }
  const gap = ' '.repeat(COLUMN_GAP);
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join(gap);
  return [line(header), ...rows.map(line)];
}

/** Seconds until an orphan expires (never negative), or '-' for a service that is not an orphan. */
export function orphanTimeLeft(orphanSince: number | undefined, ttl: bigint, now: number): string {
  if (orphanSince === undefined) return '-';
  return Math.max(0, orphanSince + Number(ttl) - now).toFixed(1);
}

/** The `clients` table; v3 connections add idle, latency and version columns. */
export function clientsTable(clients: readonly ClientInfo[], v3: boolean, now: number): string[] {
  const header = ['Client Id', 'Remote Address', 'Uptime'];
  if (v3) header.push('Idle', 'Latency', 'Version');
  const rows = clients.map((c) => {
    const row = [hexId(c.clientId), c.address, formatUptime(now - Number(c.time))];
    if (v3) {
      row.push(c.idle === undefined ? '-' : c.idle.toFixed(3));
      row.push(c.latency === undefined ? '-' : `${formatMs(c.latency, 1)} ms`);
      row.push(c.version === undefined ? '-' : String(c.version));
    }
    return row;
  });
  return formatTable(header, rows);
}

/** The `services` table. */
export function servicesTable(services: readonly ServiceInfo[], now: number): string[] {
  const header = ['Service Id', 'Generation', 'TTL', 'Orphan Timeout', 'Client Id', 'Properties'];
  const rows = services.map((s) => [
    hexId(s.serviceId), s.generation.toString(), s.ttl.toString(), orphanTimeLeft(s.orphanSince, s.ttl, now),
    hexId(s.clientId), formatProps(s.props),
  ]);
  return formatTable(header, rows);
}

/** The `subscriptions` table; '-' for a subscription without a filter. */
export function subscriptionsTable(subscriptions: readonly SubscriptionInfo[]): string[] {
  const header = ['Subscription Id', 'Client Id', 'Filter'];
  const rows = subscriptions.map((s) => [hexId(s.subscriptionId), hexId(s.clientId), s.filter ?? '-']);
  return formatTable(header, rows);
}

/**
 * One asynchronous match line: subscription id, match type, service id,
 * then what the notification carries (generation, TTL, orphan timeout,
 * owner, properties).
 */
export function formatMatch(subscriptionId: bigint, m: MatchNotification, now: number): string {
  let line = `Subscription ${hexId(subscriptionId)}: ${m.matchType} service ${hexId(m.serviceId)}`;
  if (m.generation !== undefined) line += ` generation ${m.generation}`;
  if (m.ttl !== undefined) line += ` ttl ${m.ttl}`;
  if (m.orphanSince !== undefined && m.ttl !== undefined) line += ` orphan-timeout ${orphanTimeLeft(m.orphanSince, m.ttl, now)}`;
  if (m.clientId !== undefined) line += ` owner ${hexId(m.clientId)}`;
  if (m.props !== undefined) line += ` props ${formatProps(m.props)}`;
  return line;
}
