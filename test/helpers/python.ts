// Runs one of the python3 interop clients of test/interop (clients that
// are not ours) and collects what it prints.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { clientTls } from './transport';

export interface PythonRun {
  /** "<script> <args>", for assertion messages. */
  what: string;
  status: number | null;
  /** stdout and stderr together, trimmed. */
  out: string;
}

/**
 * Runs test/interop/<script> with args and then the address; a tls:
 * address gets the matrix PKI's default client certificate, key and CA
 * appended. Killed after timeoutMs.
 */
export function runInteropClient(script: string, args: readonly string[], address: string, timeoutMs = 60000): Promise<PythonRun> {
  const creds = clientTls();
  const argv = [join(process.cwd(), 'test', 'interop', script), ...args, address,
    ...(address.startsWith('tls:') ? [creds.cert, creds.key, creds.tc] : [])];
  return new Promise((resolve) => {
    const child = spawn('python3', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ what: `${script} ${[...args, address].join(' ')}`, status, out: out.trim() });
    });
  });
}
