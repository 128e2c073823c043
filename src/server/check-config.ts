// What `pafd --check-config FILE` checks beyond the schema (config.ts):
// everything a start would find out short of binding. At least one domain;
// no socket address twice, within a domain or across domains (a start
// fails on the second bind); a log file that can be opened in an existing,
// writable directory; and TLS credentials of every tls:/utls: socket that
// can be read and make a usable certificate/key/CA/CRL set, exactly the
// files the listener would load (explicit ones, else XCM's certificate
// directory). Sockets are not bound and the addon is not needed: a check
// must be safe to run beside the running server. pafd runs the same checks
// (but TLS, which its listeners do themselves) before it binds anything.

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LogConfig, ServerConfig, SocketConfig } from '../config/config';
import { ConfigError, loadConfigFile, parseServerAddress } from '../config/config';
import { bindHost, isIpv6Literal } from '../transport/address';
import { utlsUxName } from '../transport/utls';
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

/** What a socket occupies once bound: a TCP port on a host, an abstract name, or a file. */
type Endpoint = { kind: 'ip'; host: string; port: number } | { kind: 'ux' | 'uxf'; name: string };

function endpointsOf(addr: string): Endpoint[] {
  const a = parseServerAddress(addr);
  if (a.transport === 'ux') return [{ kind: 'ux', name: a.name }];
  if (a.transport === 'uxf') return [{ kind: 'uxf', name: resolve(a.name) }];
  const { host, port } = a as { host: string; port: number };
  // Port 0 asks the kernel for a free port: never a clash.
  if (port === 0) return [];
  const ip: Endpoint = { kind: 'ip', host: bindHost(host).toLowerCase(), port };
  return a.transport === 'utls' ? [ip, { kind: 'ux', name: utlsUxName(host, port) }] : [ip];
}

/**
 * Whether binding both would fail with EADDRINUSE on Linux: the same host,
 * or a wildcard (`::` takes IPv4 too; `0.0.0.0` every IPv4 address, and a
 * DNS name may resolve to one).
 */
function clash(a: Endpoint, b: Endpoint): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'ip' || b.kind !== 'ip') return (a as { name: string }).name === (b as { name: string }).name;
  if (a.port !== b.port) return false;
  if (a.host === b.host || a.host === '::' || b.host === '::') return true;
  const v4Any = (x: string, y: string): boolean => x === '0.0.0.0' && !isIpv6Literal(y);
  return v4Any(a.host, b.host) || v4Any(b.host, a.host);
}

/** Throws an Error naming both sockets if two of them would take the same address. */
export function checkDistinctSockets(config: ServerConfig): void {
  const seen: { path: string; addr: string; endpoint: Endpoint }[] = [];
  config.domains.forEach((d, i) => d.sockets.forEach((s, j) => {
    const path = `domains[${i}].sockets[${j}]`;
    for (const endpoint of endpointsOf(s.addr)) {
      const other = seen.find((e) => clash(e.endpoint, endpoint));
      if (other !== undefined) {
        throw new Error(`${path} (${s.addr}): the same address as ${other.path} (${other.addr}); the second bind would fail`);
      }
      seen.push({ path, addr: s.addr, endpoint });
    }
  }));
}

/** Throws an Error if the log file could not be opened for appending. */
export function checkLogFile(log: LogConfig): void {
  if (log.file === undefined) return;
  const dir = dirname(resolve(log.file));
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new Error(`log.log_file ${log.file}: directory ${dir} does not exist`);
  }
  if (!isDir) throw new Error(`log.log_file ${log.file}: ${dir} is not a directory`);
  let file;
  try {
    file = statSync(log.file);
  } catch {
    file = undefined;
  }
  try {
    if (file === undefined) accessSync(dir, constants.W_OK | constants.X_OK);
    else if (file.isDirectory()) throw new Error('is a directory');
    else accessSync(log.file, constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`log.log_file ${log.file}: ${file === undefined ? `cannot create a file in ${dir}` : 'cannot write to it'}: ${why}`);
  }
}

/** What a start checks before binding: domains, sockets, the log file. Throws one-line Errors. */
export function checkStartable(config: ServerConfig): void {
  if (config.domains.length === 0) throw new Error('no domains configured');
  checkDistinctSockets(config);
  checkLogFile(config.log);
}

/** `pafd --check-config FILE`: the loaded configuration, or a ConfigError with one line. */
export function checkConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config = loadConfigFile(path);
  try {
    checkStartable(config);
    checkTlsSockets(config, env);
  } catch (err) {
    throw new ConfigError(`error reading configuration ${path}: ${(err as Error).message}`);
  }
  return config;
}
