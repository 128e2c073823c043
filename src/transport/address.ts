// XCM addresses (docs/transports.md §1): parsing with exactly XCM's acceptance
// rules, rendering, and the host conversions the socket layer needs.
// Pure: no DNS, no sockets. A DNS name is only checked for shape here; it
// is resolved when a server binds or a client connects.

export type Transport = 'ux' | 'uxf' | 'tcp' | 'tls' | 'utls' | 'btcp' | 'btls' | 'sctp';

export type IpTransport = 'tcp' | 'tls' | 'utls' | 'btcp' | 'btls' | 'sctp';

export type Address =
  | { transport: 'ux' | 'uxf'; name: string }
  /** `host` is kept exactly as written: '*', '[*]', '[::1]', '127.0.0.1', 'paf.example.net'. */
  | { transport: IpTransport; host: string; port: number };
/** An address of one of the IP transports. */
export type IpAddress = Extract<Address, { host: string }>;

export class AddressError extends Error {
  override name = 'AddressError';
}

const MAX_ADDRESS_LEN = 578;
const MAX_TRANSPORT_LEN = 32;
/** sizeof(sun_path) minus the terminating (or, for ux, leading) NUL. */
const MAX_UX_NAME_BYTES = 107;
const MAX_HOST_LEN = 512;
const MAX_DNS_NAME_LEN = 253;
const MAX_PORT = 65535;

const IPV4_WILDCARD = '*';
const IPV6_WILDCARD = '[*]';

const LOCAL_TRANSPORTS: ReadonlySet<string> = new Set(['ux', 'uxf']);
const IP_TRANSPORTS: ReadonlySet<string> = new Set(['tcp', 'tls', 'utls', 'btcp', 'btls', 'sctp']);
const MESSAGING_TRANSPORTS: ReadonlySet<Transport> = new Set<Transport>(['ux', 'uxf', 'tcp', 'tls', 'utls']);

/** XCM's DNS-name shape check, applied case-insensitively (docs/transports.md §1.2). */
const DNS_NAME = /^[a-z0-9-]+(\.[a-z0-9-]+\.?)*$/i;

/** Transports usable by Pathfinder: ux, uxf, tcp, tls, utls (btcp/btls are byte streams, sctp is unused). */
export function isMessagingTransport(t: Transport): boolean {
  return MESSAGING_TRANSPORTS.has(t);
}

function fail(text: string, why: string): never {
  // JSON quoting keeps the message on one line even if the text holds a newline.
  throw new AddressError(`invalid address ${JSON.stringify(text)}: ${why}`);
}

/** C isspace() in the "C" locale, which is what XCM tests each character with. */
function hasCWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  }
  return false;
}

/**
 * strtol() followed by XCM's "whole string consumed" and range checks:
 * optional sign, decimal digits, any number of leading zeros. The empty
 * string converts nothing and leaves the end pointer at the terminator, so
 * XCM accepts it as port 0 (quirk kept).
 */
function parsePort(s: string): number | undefined {
  if (s.length === 0) return 0;
  let i = 0;
  let negative = false;
  if (s[0] === '+' || s[0] === '-') { negative = s[0] === '-'; i = 1; }
  if (i === s.length) return undefined;         // a lone sign converts nothing
  let value = 0;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    // Saturate instead of overflowing; anything above the limit is rejected anyway.
    if (value <= MAX_PORT) value = value * 10 + d;
  }
  if (negative && value !== 0) return undefined;
  return value <= MAX_PORT ? value : undefined;
}

/** inet_pton(AF_INET) rules: exactly four decimal parts 0–255, no leading zeros. */
export function isIpv4Literal(s: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false;        // leading zero
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      if (digits === 0) parts++;
      digits++;
    } else if (c === 46 /* . */ && digits > 0 && parts < 4) {
      digits = 0;
      value = 0;
    } else {
      return false;
    }
  }
  return parts === 4 && digits > 0;
}

/** Parses an IPv6 literal (inet_pton(AF_INET6) rules, no zone id) into eight 16-bit words. */
function parseIpv6Words(s: string): number[] | undefined {
  const words: number[] = [];
  let gap = -1;                      // index in `words` where '::' stands
  let i = 0;
  if (s.startsWith('::')) { gap = 0; i = 2; }
  else if (s.startsWith(':')) return undefined;
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] !== ':' && s[j] !== '.') j++;
    if (j < s.length && s[j] === '.') {
      // Embedded dotted quad: must be the last thing and fit in two words.
      const quad = s.slice(i);
      if (!isIpv4Literal(quad) || words.length > 6) return undefined;
      const b = quad.split('.').map(Number);
      words.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      i = s.length;
      break;
    }
    const group = s.slice(i, j);
    if (group.length < 1 || group.length > 4 || !/^[0-9a-f]+$/i.test(group)) return undefined;
    words.push(parseInt(group, 16));
    if (words.length > 8) return undefined;
    if (j === s.length) { i = j; break; }
    // s[j] === ':'
    if (s[j + 1] === ':') {
      if (gap >= 0) return undefined;                     // a second '::'
      gap = words.length;
      i = j + 2;
    } else {
      if (j + 1 === s.length) return undefined;           // trailing single ':'
      i = j + 1;
    }
  }
  if (gap >= 0) {
    if (words.length >= 8) return undefined;              // '::' must stand for at least one word
    words.splice(gap, 0, ...new Array<number>(8 - words.length).fill(0));
  }
  return words.length === 8 ? words : undefined;
}

export function isIpv6Literal(s: string): boolean {
  return parseIpv6Words(s) !== undefined;
}

function checkHost(text: string, host: string): void {
  if (host.length === 0) fail(text, 'empty host');
  if (host.length > MAX_HOST_LEN) fail(text, `host longer than ${MAX_HOST_LEN} characters`);
  if (host === IPV4_WILDCARD || host === IPV6_WILDCARD) return;
  if (host.startsWith('[') && host.endsWith(']')) {
    if (!isIpv6Literal(host.slice(1, -1))) fail(text, 'invalid IPv6 address');
    return;
  }
  if (isIpv4Literal(host)) return;
  if (host.length > MAX_DNS_NAME_LEN || !DNS_NAME.test(host)) {
    fail(text, host.includes(':')
      ? 'invalid host (IPv6 addresses must be written in brackets)'
      : 'invalid host name');
  }
}

/** Parses an XCM address with XCM's rules (docs/transports.md §1); throws AddressError. */
export function parseAddress(text: string): Address {
  if (text.length > MAX_ADDRESS_LEN) fail(text, `longer than ${MAX_ADDRESS_LEN} characters`);
  if (hasCWhitespace(text)) fail(text, 'contains whitespace');
  const colon = text.indexOf(':');
  if (colon < 0) fail(text, "missing ':' after the transport name");
  const transport = text.slice(0, colon);
  if (transport.length > MAX_TRANSPORT_LEN) fail(text, 'transport name too long');
  const rest = text.slice(colon + 1);
  if (LOCAL_TRANSPORTS.has(transport)) {
    if (rest.length === 0) fail(text, 'empty socket name');
    if (Buffer.byteLength(rest) > MAX_UX_NAME_BYTES) fail(text, `socket name longer than ${MAX_UX_NAME_BYTES} bytes`);
    return { transport: transport as 'ux' | 'uxf', name: rest };
  }
  if (!IP_TRANSPORTS.has(transport)) {
    fail(text, transport.length === 0 ? 'missing transport name' : `unknown transport "${transport}"`);
  }
  const portColon = rest.lastIndexOf(':');
  if (portColon < 0) fail(text, 'missing port');
  const host = rest.slice(0, portColon);
  const port = parsePort(rest.slice(portColon + 1));
  if (port === undefined) fail(text, `invalid port (must be 0-${MAX_PORT})`);
  checkHost(text, host);
  return { transport: transport as IpTransport, host, port };
}

export function formatAddress(a: Address): string {
  return 'name' in a ? `${a.transport}:${a.name}` : `${a.transport}:${a.host}:${a.port}`;
}

/** For binding: '*' → '0.0.0.0', '[*]' → '::', '[x]' → 'x', others unchanged. */
export function bindHost(host: string): string {
  if (host === IPV4_WILDCARD) return '0.0.0.0';
  if (host === IPV6_WILDCARD) return '::';
  if (host.length >= 2 && host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host;
}

/**
 * inet_ntop(AF_INET6) text: lowercase hex, the longest run (>= 2) of zero
 * words compressed to '::' (first run on ties), and IPv4-compatible /
 * IPv4-mapped addresses with a dotted-quad tail, as glibc renders them.
 */
function ipv6Text(w: readonly number[]): string {
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  const dottedTail = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff));
  const end = dottedTail ? 6 : 8;
  let out = '';
  for (let i = 0; i < end; i++) {
    if (i === bestStart) { out += '::'; i += bestLen - 1; continue; }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += w[i]!.toString(16);
  }
  if (dottedTail) {
    if (!out.endsWith(':')) out += ':';
    out += `${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
  }
  return out;
}

/**
 * Renders a remote peer like XCM: tcp:10.0.0.7:40122 / tcp:[fd00::7]:40122.
 * An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 peer,
 * '::ffff:1.2.3.4') is rendered as IPv4; a zone suffix ('%eth0') is dropped
 * since inet_ntop does not print one.
 */
export function renderIpAddress(transport: string, ip: string, port: number): string {
  if (!ip.includes(':')) return `${transport}:${ip}:${port}`;
  const zone = ip.indexOf('%');
  const bare = zone >= 0 ? ip.slice(0, zone) : ip;
  const words = parseIpv6Words(bare);
  if (words === undefined) return `${transport}:[${bare}]:${port}`;
  const mapped = words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 &&
    words[4] === 0 && words[5] === 0xffff;
  if (mapped) {
    return `${transport}:${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}:${port}`;
  }
  return `${transport}:[${ipv6Text(words)}]:${port}`;
}
