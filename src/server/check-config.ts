// What `pafd --check-config FILE` and a reload check beyond the schema
// (config.ts): that the TLS credentials of every tls:/utls: socket can be
// read and make a usable certificate/key/CA/CRL set, exactly the files
// the listener would load (explicit ones, else XCM's certificate
// directory). Sockets are not bound and the addon is not needed: a check
// must be safe to run beside the running server.

import type { ServerConfig, SocketConfig } from '../config/config';
import { ConfigError, loadConfigFile, parseServerAddress } from '../config/config';
import { loadCredentials } from '../transport/tls';
import type { TlsCredentialFiles } from '../transport/tls-credentials';
import { resolveTlsFiles } from '../transport/tls-credentials';

/**
 * Reads the files and builds a TLS context from them exactly as a
 * listener does; throws a one-line Error naming the file or the problem
 * (a key that does not match the certificate, a file without PEM data).
 */
export function checkTlsFiles(files: TlsCredentialFiles): void {
  loadCredentials(files);
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
