// What `pafd --check-config FILE` and a reload check beyond the schema
// (config.ts): that the TLS credentials of every tls:/utls: socket can be
// read and make a usable certificate/key/CA/CRL set, exactly the files
// the listener would load (explicit ones, else XCM's certificate
// directory). Sockets are not bound and the addon is not needed: a check
// must be safe to run beside the running server.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { ServerConfig, SocketConfig } from '../config/config';
import { ConfigError, loadConfigFile, parseServerAddress } from '../config/config';
import type { TlsCredentialFiles } from '../transport/tls-credentials';
import { resolveTlsFiles } from '../transport/tls-credentials';

const PEM_CRL = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g;

function readFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read TLS ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Reads the files and builds a TLS context from them; throws a one-line
 * Error naming the file or the problem (a key that does not match the
 * certificate, a file without PEM data).
 */
export function checkTlsFiles(files: TlsCredentialFiles): void {
  const cert = readFile('certificate', files.cert);
  const key = readFile('private key', files.key);
  const ca = readFile('trusted CA', files.tc);
  const crlPem = files.crl === undefined ? undefined : readFile('CRL', files.crl);
  try {
    // Every CRL of the file, one by one (Node takes only the first of each buffer).
    const crl = crlPem === undefined ? undefined : (crlPem.toString('latin1').match(PEM_CRL) ?? crlPem);
    createSecureContext({ cert, key, ca, ...(crl === undefined ? {} : { crl }) });
  } catch (err) {
    throw new Error(`invalid TLS credentials (certificate ${files.cert}, key ${files.key}, trusted CAs ${files.tc}` +
      `${files.crl === undefined ? '' : `, CRL ${files.crl}`}): ${String((err as Error).message).replace(/\s+/g, ' ')}`);
  }
}

/** True for sockets whose transport carries TLS (and so has credentials). */
export function usesTls(socket: SocketConfig): boolean {
  const t = parseServerAddress(socket.addr).transport;
  return t === 'tls' || t === 'utls';
}

/** Checks the credentials of every TLS socket; throws an Error naming the socket by its parameter path. */
export function checkTlsSockets(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): void {
  config.domains.forEach((d, i) => d.sockets.forEach((s, j) => {
    if (!usesTls(s)) return;
    try {
      checkTlsFiles(resolveTlsFiles(s.tls, env));
    } catch (err) {
      throw new Error(`domains[${i}].sockets[${j}] (${s.addr}): ${(err as Error).message}`);
    }
  }));
}

/** `pafd --check-config FILE`: the loaded configuration, or a ConfigError with one line. */
export function checkConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config = loadConfigFile(path);
  try {
    checkTlsSockets(config, env);
  } catch (err) {
    throw new ConfigError(`error reading configuration ${path}: ${(err as Error).message}`);
  }
  return config;
}
