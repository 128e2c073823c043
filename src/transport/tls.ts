// XCM `tls` transport (docs/transports.md §4): TCP, a TLS 1.2/1.3 handshake with
// mutual certificate authentication against the trusted-CA bundle (no
// name checks), then the same length-prefixed frames as `tcp`. The peer's
// user id is the Subject Key Identifier of its certificate.

import { readFileSync } from 'node:fs';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { IpAddress } from './address';
import { bindHost, parseAddress, renderIpAddress } from './address';
import { AcceptGuard } from './accept-guard';
import { CONNECT_TIMEOUT_MS, FramedConnection, KEEPALIVE_IDLE_MS, ipUser, listenServer } from './tcp';
import type { TlsCredentialFiles } from './tls-credentials';
import type { ConnectionHandler, MessageConnection, MessageListener } from './types';
import { skiUserId } from './x509';

/**
 * A peer that has not finished the TLS handshake by then is dropped. pafd
 * closes connections without a hello 3 s after accept, TLS handshake
 * included (docs/semantics.md §7.6, src/core/liveness.ts); Node only hands a
 * TLS connection over once the handshake is done, so that part of the
 * deadline is enforced here, and the rest of it counts from the TCP
 * accept too (FramedConnection.setupSeconds).
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 3000;

const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-CHACHA20-POLY1305',
];
/** XCM's suites, most preferred first; Node sends names starting with TLS_ to the TLS 1.3 list. */
export const XCM_TLS_CIPHERS: string = [...TLS13_SUITES, ...TLS12_CIPHERS].join(':');

/**
 * No session tickets, no compression, no renegotiation. With Node's default
 * session cache (no internal store, nobody listening for 'resumeSession')
 * nothing is ever resumed either: every connection does a full handshake.
 */
function xcmSecureOptions(): number {
  const c = (require('node:crypto') as typeof import('node:crypto')).constants;
  return c.SSL_OP_NO_TICKET | c.SSL_OP_NO_COMPRESSION | c.SSL_OP_NO_RENEGOTIATION;
}

let tlsModule: typeof tls | undefined;
/**
 * Node's TLS module, loaded when the first tls socket is made: loading it
 * initializes OpenSSL's TLS state, about 1 MiB of resident memory that a
 * pafd serving only tcp and ux never needs.
 */
function nodeTls(): typeof tls {
  return tlsModule ??= require('node:tls') as typeof tls;
}

/** Called for every connection that did not make it through the TLS handshake and certificate checks. */
export type HandshakeErrorHandler = (remote: string, reason: string) => void;

/** Lets new handshakes use replaced credentials; established connections keep theirs. */
export interface TlsReloadable {
  /** Reads the files at once; throws (keeping the old credentials) if they are unusable. */
  setCredentials(files: TlsCredentialFiles): void;
}

export interface TlsListenOptions {
  handshakeTimeoutMs?: number;
}

export interface TlsConnectOptions {
  timeoutMs?: number;
}

function errorText(err: unknown): string {
  const e = (err ?? {}) as NodeJS.ErrnoException;
  // File errors by their code alone (the message repeats the path); OpenSSL's text as it is.
  const text = e.code !== undefined && e.syscall !== undefined ? e.code : String(e.message ?? err);
  return text.replace(/\s+/g, ' ');
}

function readCredential(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read TLS ${what} file ${path}: ${errorText(err)}`);
  }
}

const PEM_CRL = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g;

/**
 * Node reads only the first CRL of each buffer it is given, but a CRL file
 * holds one CRL per CA level; hand them over one by one. A file without a
 * PEM CRL goes over unchanged, for OpenSSL to complain about.
 */
function splitCrls(pem: Buffer): Buffer | string[] {
  const crls = pem.toString('latin1').match(PEM_CRL);
  return crls === null ? pem : crls;
}

/**
 * tls.Server (Node 20) does not pass allowPartialTrustChain on to the
 * context it builds; only tls.createSecureContext() honours it. So the
 * server's shared context, which it hands to every socket it accepts, is
 * replaced by ours. Should a Node version lack that field, Node's own
 * context stays and only chains up to a self-signed CA are accepted.
 */
function installContext(server: tls.Server, context: tls.SecureContext): void {
  const internals = server as unknown as { _sharedCreds?: unknown };
  if (internals._sharedCreds instanceof Object) internals._sharedCreds = context;
}

/**
 * Reads the credential files and builds the TLS options XCM would use:
 * TLS 1.2–1.3, XCM's suites, the trusted CAs as the only trust anchors,
 * and a CRL check of the whole chain when a CRL is given (Node then sets
 * CRL_CHECK and CRL_CHECK_ALL, so the file must hold a CRL for every CA
 * level, as with XCM). Any certificate in the bundle may end a chain,
 * except with CRL checking, also as XCM. Throws a one-line error naming
 * the file or the problem.
 */
export function loadCredentials(files: TlsCredentialFiles): { options: tls.SecureContextOptions; context: tls.SecureContext } {
  const options: tls.SecureContextOptions = {
    cert: readCredential('certificate', files.cert),
    key: readCredential('private key', files.key),
    ca: readCredential('trusted CA', files.tc),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: XCM_TLS_CIPHERS,
    // OpenSSL's built-in DH groups, so the DHE-RSA suites are usable as with XCM.
    dhparam: 'auto',
    secureOptions: xcmSecureOptions(),
    allowPartialTrustChain: files.crl === undefined,
  };
  if (files.crl !== undefined) options.crl = splitCrls(readCredential('CRL', files.crl));
  try {
    // Built here to report bad PEM or a key not matching the certificate now, in one line.
    return { options, context: nodeTls().createSecureContext(options) };
  } catch (err) {
    throw new Error(`invalid TLS credentials (certificate ${files.cert}, key ${files.key}, trusted CAs ${files.tc}` +
      `${files.crl === undefined ? '' : `, CRL ${files.crl}`}): ${errorText(err)}`);
  }
}

/**
 * The peer's user id from its certificate (docs/semantics.md §8.1), or the
 * ip: rule if the certificate cannot be had or read at all.
 */
function peerUser(socket: tls.TLSSocket, remote: string): string {
  const raw = socket.getPeerX509Certificate()?.raw;
  if (raw === undefined) return ipUser(remote);
  try {
    return skiUserId(raw);
  } catch {
    return ipUser(remote);
  }
}

function remoteOf(socket: net.Socket): string | undefined {
  const ip = socket.remoteAddress;
  const port = socket.remotePort;
  return ip === undefined || port === undefined ? undefined : renderIpAddress('tls', ip, port);
}

/** Key of a TCP connection among those of one listening socket. */
function peerKey(ip: string | undefined, port: number | undefined): string {
  return `${ip}|${port}`;
}

/**
 * Binds a tls: server socket with mutual authentication. Resolves once
 * listening (with the real port); rejects if a credential file is missing,
 * unreadable or unusable, or the bind fails.
 */
export function listenTls(
  addr: IpAddress,
  files: TlsCredentialFiles,
  onConnection: ConnectionHandler,
  onHandshakeError: HandshakeErrorHandler = () => {},
  options: TlsListenOptions = {},
): Promise<MessageListener & TlsReloadable> {
  let secure: { options: tls.SecureContextOptions; context: tls.SecureContext };
  try {
    secure = loadCredentials(files);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const server = nodeTls().createServer({
      ...secure.options,
      requestCert: true,
      // Node's own rejectUnauthorized check drops a failed peer silently;
      // the same check is done in 'secureConnection' below, which can say
      // why. No connection reaches onConnection without passing it. (The
      // only visible difference: a peer without a certificate gets its
      // connection closed rather than a handshake alert.)
      rejectUnauthorized: false,
      handshakeTimeout: options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS,
      noDelay: true,
    });
    installContext(server, secure.context);
    let listener: (MessageListener & TlsReloadable) | undefined;
    const guard = new AcceptGuard(() => {}, (code) => listener?.onAcceptError?.(code));
    // TCP connections still in the handshake, so that close() can drop
    // them, with the time (performance.now()) each was accepted.
    const handshaking = new Map<string, { raw: net.Socket; since: number }>();
    let closing = false;

    server.on('connection', (raw: net.Socket) => {
      raw.setNoDelay(true);
      const key = peerKey(raw.remoteAddress, raw.remotePort);
      handshaking.set(key, { raw, since: performance.now() });
      raw.once('close', () => { if (handshaking.get(key)?.raw === raw) handshaking.delete(key); });
    });

    server.on('tlsClientError', (err, socket) => {
      // Connections dropped by close() are no news.
      if (!closing) onHandshakeError(remoteOf(socket) ?? 'tls:unknown', errorText(err));
      // Node leaves the socket open after a handshake timeout.
      socket.destroy();
    });

    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = peerKey(socket.remoteAddress, socket.remotePort);
      const since = handshaking.get(key)?.since;
      handshaking.delete(key);
      const setupSeconds = since === undefined ? 0 : (performance.now() - since) / 1000;
      const remote = remoteOf(socket);
      if (remote === undefined || closing) { socket.destroy(); return; }
      // XCM's post-handshake rule (docs/transports.md §4.3): a peer certificate
      // must be present and have passed verification.
      if (!socket.authorized) {
        const why = socket.getPeerX509Certificate() === undefined
          ? 'peer did not present a certificate'
          : `peer certificate rejected: ${String(socket.authorizationError)}`;
        onHandshakeError(remote, why);
        socket.destroy();
        return;
      }
      onConnection(new FramedConnection(socket, remote, peerUser(socket, remote), setupSeconds, false));
    });

    listenServer(server, addr, guard).then((port) => { listener = {
        address: `tls:${addr.host}:${port}`,
        setCredentials(next: TlsCredentialFiles): void {
          const loaded = loadCredentials(next);
          server.setSecureContext(loaded.options);
          installContext(server, loaded.context);
        },
        close: () => new Promise<void>((done) => {
          closing = true;
          guard.close();
          server.close(() => done());
          for (const { raw } of handshaking.values()) raw.destroy();
          handshaking.clear();
        }),
      }; resolve(listener); }, reject);
  });
}

/**
 * Opens a tls: connection as an XCM client does: presents the client
 * certificate, verifies the server's chain against the trusted CAs, checks
 * no names, sends no SNI. Resolves after the handshake. With TLS 1.3 the
 * server judges the client certificate only after that, so a refused
 * client sees its connection close right after this resolves.
 */
export function connectTls(address: string | IpAddress, files: TlsCredentialFiles, opts: TlsConnectOptions = {}): Promise<MessageConnection> {
  return new Promise((resolve, reject) => {
    let addr: IpAddress;
    let secureContext: tls.SecureContext;
    try {
      const parsed = typeof address === 'string' ? parseAddress(address) : address;
      if (parsed.transport !== 'tls') throw new Error(`${typeof address === 'string' ? address : parsed.transport}: not a tls: address`);
      addr = parsed as IpAddress;
      secureContext = loadCredentials(files).context;
    } catch (err) {
      reject(err);
      return;
    }
    const socket = nodeTls().connect({
      secureContext,
      host: bindHost(addr.host),
      port: addr.port,
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    socket.setTimeout(opts.timeoutMs ?? CONNECT_TIMEOUT_MS, () => {
      socket.destroy(new Error('timed out'));
    });
    const onError = (err: Error): void => { reject(new Error(`${formatTarget(addr)}: ${errorText(err)}`)); };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      socket.off('error', onError);
      const remote = remoteOf(socket);
      if (remote === undefined) {
        socket.destroy();
        reject(new Error(`${formatTarget(addr)}: connection lost during the handshake`));
        return;
      }
      resolve(new FramedConnection(socket, remote, peerUser(socket, remote)));
    });
  });
}

function formatTarget(addr: IpAddress): string {
  return `tls:${addr.host}:${addr.port}`;
}
