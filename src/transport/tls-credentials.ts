// Where a TLS socket's credentials come from, by XCM's rules
// (docs/transports.md §4.4): files named explicitly for the socket win, one by
// one; the rest come from the certificate directory ($XCM_TLS_CERT, else
// XCM's build-time default), under names carrying the network namespace
// when the process runs in a named one. Only file names are decided here;
// no file is opened (the only I/O is the namespace check).

import { readdirSync, statSync } from 'node:fs';

/** The credential files a socket names explicitly (a socket's `tls` in the configuration, or a client's option); each may be absent. */
export interface TlsFiles { cert?: string; key?: string; tc?: string; crl?: string }
/** The files in use once resolved: certificate, key and trusted CAs always, a CRL when named. */
export interface TlsCredentialFiles { cert: string; key: string; tc: string; crl?: string }

/** XCM's `<sysconfdir>/xcm/tls` for the usual sysconfdir. */
export const DEFAULT_TLS_CERT_DIR = '/etc/xcm/tls';
export const TLS_CERT_DIR_ENV = 'XCM_TLS_CERT';

/** Where `ip netns` keeps the bind mounts that give namespaces their names. */
const NAMED_NETNS_DIR = '/run/netns';
/** The calling thread's network namespace; Node runs JavaScript on the main thread. */
const OWN_NETNS = '/proc/thread-self/ns/net';

/**
 * The name of the network namespace this process runs in, if it is a
 * named one: a file in /run/netns that is the same namespace inode as our
 * own. Any error (no /run/netns, no /proc) means "not named".
 */
export function currentNetnsName(): string | undefined {
  try {
    const own = statSync(OWN_NETNS);
    for (const name of readdirSync(NAMED_NETNS_DIR)) {
      try {
        const st = statSync(`${NAMED_NETNS_DIR}/${name}`);
        if (st.ino === own.ino && st.dev === own.dev) return name;
      } catch {
        // A namespace removed while we look, or one we may not stat: not ours.
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** cert.pem, or cert_<ns>.pem inside a named namespace. */
function fileName(item: 'cert' | 'key' | 'tc', ns: string | undefined): string {
  return ns === undefined ? `${item}.pem` : `${item}_${ns}.pem`;
}

/**
 * XCM's lookup: explicit per-socket files win; else the directory
 * $XCM_TLS_CERT (default /etc/xcm/tls) with cert.pem/key.pem/tc.pem, or
 * cert_<ns>.pem etc. when the process runs in the named network namespace
 * <ns>. A CRL is only ever explicit: pafd enables CRL checking exactly when
 * a socket names a CRL file, so the directory's crl.pem is never consulted.
 * `netns` is injectable for tests.
 */
export function resolveTlsFiles(
  explicit: TlsFiles | undefined,
  env: NodeJS.ProcessEnv = process.env,
  netns: () => string | undefined = currentNetnsName,
): TlsCredentialFiles {
  const given = explicit ?? {};
  let dir: string | undefined;
  let ns: string | undefined;
  // Like XCM, look at the environment and the namespace only if some file is missing.
  const fromDir = (item: 'cert' | 'key' | 'tc'): string => {
    if (dir === undefined) {
      // XCM tests for presence, not emptiness: XCM_TLS_CERT="" means the root directory.
      dir = env[TLS_CERT_DIR_ENV] ?? DEFAULT_TLS_CERT_DIR;
      ns = netns();
    }
    return `${dir}/${fileName(item, ns)}`;
  };
  const files: TlsCredentialFiles = {
    cert: given.cert ?? fromDir('cert'),
    key: given.key ?? fromDir('key'),
    tc: given.tc ?? fromDir('tc'),
  };
  if (given.crl !== undefined) files.crl = given.crl;
  return files;
}
