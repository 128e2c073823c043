// The client side of every messaging transport behind one call: an XCM
// address in, a MessageConnection out. tcp/tls/ux/uxf map onto their
// transport modules; utls is resolved here by XCM's client rule
// (docs/transports.md §5): the UX half first, TLS if nobody listens there.

import type { IpAddress } from './address';
import { AddressError, formatAddress, parseAddress } from './address';
import { connectTcp } from './tcp';
import { connectTls } from './tls';
import { resolveTlsFiles } from './tls-credentials';
import type { TlsFiles } from './tls-credentials';
import type { MessageConnection } from './types';
import { utlsUxName } from './utls';
import { UxError, connectUx } from './ux';

/** Client-side transport options (the subset of XCM attributes Pathfinder clients set). */
export interface ConnectOptions {
  /**
   * TLS credential files for tls:/utls:; files not given come from
   * $XCM_TLS_CERT (or /etc/xcm/tls) as XCM looks them up. A `crl` turns
   * on CRL checking.
   */
  tls?: TlsFiles;
  /** Source address to bind (XCM's xcm.local_addr), e.g. `tcp:10.0.0.9:0`; tcp: only. */
  localAddress?: string;
  /** Per-attempt connect timeout in ms (default XCM's 3 s). */
  timeoutMs?: number;
  /** Environment for the TLS directory lookup (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Path of the paf_native addon for ux:/uxf: (and utls's UX half); default: searched (native.ts). */
  nativeAddon?: string;
}

/** Error codes of a failed UX attempt after which a utls client tries TLS instead. */
const UTLS_FALLBACK_CODES: ReadonlySet<string> = new Set([
  // Nobody listens on the abstract name in this network namespace.
  'ECONNREFUSED',
  // No SEQPACKET addon in this build: the UX half is unreachable for us,
  // which is the same situation as far as the caller is concerned.
  'ENOTSUP',
]);

function localBind(text: string): { host: string; port: number } {
  const local = parseAddress(text);
  if (local.transport !== 'tcp') throw new AddressError(`local address ${text}: must be a tcp: address`);
  return { host: local.host, port: local.port };
}

/**
 * Connects to a Pathfinder server at an XCM address (ux, uxf, tcp, tls,
 * utls). Rejects with a one-line error naming the address on a bad
 * address, an unusable transport (btcp, btls, sctp), missing TLS
 * credentials or a failed connect.
 */
export async function connect(address: string, opts: ConnectOptions = {}): Promise<MessageConnection> {
  const addr = parseAddress(address);
  if (opts.localAddress !== undefined && addr.transport !== 'tcp') {
    // Node's TLS client and UNIX sockets cannot be bound to a chosen source here.
    throw new AddressError(`${address}: a local address is only supported for tcp: servers`);
  }
  switch (addr.transport) {
    case 'tcp':
      return connectTcp(addr, {
        ...(opts.localAddress !== undefined ? { localAddress: localBind(opts.localAddress) } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    case 'tls':
      return connectTls(addr, resolveTlsFiles(opts.tls, opts.env ?? process.env), tlsOptions(opts));
    case 'ux':
    case 'uxf':
      return connectUx(addr, opts.nativeAddon);
    case 'utls':
      return connectUtls(addr, opts);
    default:
      throw new AddressError(`${formatAddress(addr)}: transport ${addr.transport} cannot carry Pathfinder messages`);
  }
}

function tlsOptions(opts: ConnectOptions): { timeoutMs?: number } {
  return opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {};
}

/** utls:<host>:<port> → ux:<normalized host>:<port>, else tls:<host>:<port>. */
async function connectUtls(addr: IpAddress, opts: ConnectOptions): Promise<MessageConnection> {
  try {
    return await connectUx({ transport: 'ux', name: utlsUxName(addr.host, addr.port) }, opts.nativeAddon);
  } catch (err) {
    if (!(err instanceof UxError) || !UTLS_FALLBACK_CODES.has(err.code)) throw err;
  }
  return connectTls({ transport: 'tls', host: addr.host, port: addr.port },
    resolveTlsFiles(opts.tls, opts.env ?? process.env), tlsOptions(opts));
}
