// The transport a component test file runs over. build/test.mjs runs the
// files of test/component/conformance/ once per transport with
// PAF_TEST_TRANSPORT set (tcp, ux or tls); everything a test needs to be
// transport-neutral comes from here: a fresh server address, what pafd
// needs to serve it (TLS credentials), and distinct client identities
// ("users", docs/semantics.md §8.1):
//   tcp  user N = source address 127.0.0.(2+N), the default 127.0.0.1;
//   tls  user N = client certificate clientN (own SKI), the default `client`;
//   ux   every client is the one user `default`.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Callback, Test } from 'uvu';
import type { ConnectOptions } from '../../src/transport/connect';
import type { TlsCredentialFiles } from '../../src/transport/tls-credentials';
import { openssl } from './certs';

export type TestTransport = 'tcp' | 'ux' | 'tls';

const TRANSPORTS: readonly TestTransport[] = ['tcp', 'ux', 'tls'];

function transportFromEnv(): TestTransport {
  const value = process.env.PAF_TEST_TRANSPORT ?? 'tcp';
  if (!(TRANSPORTS as readonly string[]).includes(value)) {
    throw new Error(`PAF_TEST_TRANSPORT=${value}: expected one of ${TRANSPORTS.join(', ')}`);
  }
  return value as TestTransport;
}

export const TRANSPORT: TestTransport = transportFromEnv();

/** Named users a test can connect as (user 0 .. USER_COUNT-1), each different from the default identity. */
const NAMED_USERS = 3;

/**
 * How many different user ids a test can have at once, the default
 * identity included: 4 over tcp and tls, 1 over ux (every UNIX socket
 * client is user `default`).
 */
export const DISTINCT_USERS: number = TRANSPORT === 'ux' ? 1 : NAMED_USERS + 1;

/** The named users 0..USER_COUNT-1 (they all collapse into `default` over ux). */
export const USER_COUNT: number = NAMED_USERS;

/** True if a scenario needing `n` different users can run over this transport. */
export function hasUsers(n: number): boolean {
  return n <= DISTINCT_USERS;
}

/**
 * Registers a scenario that needs `n` different users: as a normal test
 * where the transport has them, else as a skipped one (uvu counts it in
 * "Skipped"), with the reason in its name.
 */
export function withUsers<T>(t: Test<T>, n: number): (name: string, fn: Callback<T>) => void {
  if (hasUsers(n)) return t;
  return (name, fn) => t.skip(`${name} [needs ${n} users; ${TRANSPORT} has ${DISTINCT_USERS}]`, fn);
}

/** Whether the transport is a byte stream, so bytes outside the message framing can be sent (tcp, tls). */
export const RAW_BYTES: boolean = TRANSPORT !== 'ux';

/** Registers a scenario about the byte stream's framing, skipped over ux (packets have no framing to violate). */
export function withRawBytes<T>(t: Test<T>): (name: string, fn: Callback<T>) => void {
  if (RAW_BYTES) return t;
  return (name, fn) => t.skip(`${name} [no byte stream over ${TRANSPORT}]`, fn);
}

/** Loopback source address of tcp user N. */
export function tcpUserHost(user: number): string {
  return `127.0.0.${2 + user}`;
}

let uxSerial = 0;

/** A server address of the matrix transport nobody else uses: port 0, or a fresh abstract name. */
export function freshAddress(transport: TestTransport = TRANSPORT): string {
  switch (transport) {
    case 'tcp': return 'tcp:127.0.0.1:0';
    case 'tls': return 'tls:127.0.0.1:0';
    case 'ux': return `ux:paf-test-${process.pid}-${uxSerial++}-${Math.random().toString(36).slice(2, 10)}`;
  }
}

// ------------------------------------------------------------------ PKI

/** The throw-away PKI of this test process: one root CA, a server and client certificates. */
export interface MatrixPki {
  dir: string;
  ca: string;
  /** Directory with cert.pem, key.pem and tc.pem, for $XCM_TLS_CERT. */
  serverDir: string;
  server: TlsCredentialFiles;
  /** The identity of clients that name no user. */
  defaultClient: TlsCredentialFiles;
  /** client0 .. client(USER_COUNT-1). */
  users: TlsCredentialFiles[];
}

const LEAF_EXTENSIONS = 'basicConstraints=CA:false\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';

let pki: MatrixPki | undefined;

/** Issues an EC P-256 certificate signed by the CA in dir (ca.crt/ca.key). */
function issue(dir: string, name: string, ca: string, caKey: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, 'leaf.ext');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
    '-subj', `/CN=${name}`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '30',
    '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** The PKI, made on first use (a few openssl runs) and removed when the process exits. */
export function matrixPki(): MatrixPki {
  if (pki !== undefined) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'paf-matrix-pki-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'leaf.ext'), LEAF_EXTENSIONS);
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey,
    '-subj', '/CN=paf-test-ca', '-days', '30', '-extensions', 'v3_ca', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', ca]);
  const server = issue(dir, 'server', ca, caKey);
  const serverDir = join(dir, 'server-dir');
  mkdirSync(serverDir);
  copyFileSync(server.cert, join(serverDir, 'cert.pem'));
  copyFileSync(server.key, join(serverDir, 'key.pem'));
  copyFileSync(ca, join(serverDir, 'tc.pem'));
  const client = (name: string): TlsCredentialFiles => ({ ...issue(dir, name, ca, caKey), tc: ca });
  pki = {
    dir, ca, serverDir,
    server: { ...server, tc: ca },
    defaultClient: client('client'),
    users: Array.from({ length: USER_COUNT }, (_, i) => client(`client${i}`)),
  };
  return pki;
}

/** Environment pafd needs to serve the matrix transport: $XCM_TLS_CERT for tls. */
export function serverEnv(transport: TestTransport = TRANSPORT): NodeJS.ProcessEnv {
  return transport === 'tls' ? { XCM_TLS_CERT: matrixPki().serverDir } : {};
}

/** TLS credentials of a client: user N's certificate, or the default identity's. */
export function clientTls(user?: number): TlsCredentialFiles {
  const p = matrixPki();
  if (user === undefined) return p.defaultClient;
  const files = p.users[user];
  if (files === undefined) throw new Error(`no TLS user ${user} (there are ${USER_COUNT})`);
  return files;
}

/**
 * Transport options for a client of `user` (undefined = the default
 * identity) connecting to `address`, whatever the matrix transport: a
 * source address on tcp:, a client certificate on tls:/utls:, nothing on
 * ux:/uxf: (one user there).
 */
export function connectAs(address: string, user?: number): ConnectOptions {
  if (address.startsWith('tcp:')) {
    if (user === undefined) return {};
    if (user < 0 || user >= USER_COUNT) throw new Error(`no tcp user ${user} (there are ${USER_COUNT})`);
    return { localAddress: `tcp:${tcpUserHost(user)}:0` };
  }
  if (address.startsWith('tls:') || address.startsWith('utls:')) return { tls: clientTls(user) };
  return {};
}

/** What the server reports as client-address for a client of `user` on the matrix transport. */
export function clientAddressPattern(user?: number, transport: TestTransport = TRANSPORT): RegExp {
  switch (transport) {
    case 'tcp': return new RegExp(`^tcp:${(user === undefined ? '127.0.0.1' : tcpUserHost(user)).replace(/\./g, '\\.')}:\\d+$`);
    case 'tls': return /^tls:127\.0\.0\.1:\d+$/;
    // XCM's (and our) UX clients are auto-bound to a 5-hex-digit abstract name.
    case 'ux': return /^ux:[0-9a-f]{5}$/;
  }
}
