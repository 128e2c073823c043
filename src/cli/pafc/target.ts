// Which server pafc talks to (docs/cli-and-config.md §3.1): its argument is
// first looked up as a domain file, else taken as an XCM address. pafc's
// reader differs from the library's in one way: it trims the lines of the
// line format (the original Python tool did), so a trailing blank or CR
// does not invalidate the file.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerEntry } from '../../client/domain-files';
import { DomainFileError, isDomainName, parseDomainFile, readDomainFileBytes } from '../../client/domain-files';
import type { ServerDescription } from '../../client/wire';
import { describeServer } from '../../client/wire';
import { decodeUtf8 } from '../../protocol/json';

/** A domain-file text as pafc reads it: JSON as is, the line format with every line trimmed. */
export function parsePafcDomainText(text: string): ServerEntry[] {
  if (text.trimStart().startsWith('{')) return parseDomainFile(text);
  return parseDomainFile(text.split('\n').map((l) => l.trim()).join('\n'));
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * The servers of domain `name` in `dir`, or undefined if there is no
 * such file. Throws DomainFileError on a file that exists but is invalid.
 */
export async function readPafcDomain(dir: string, name: string): Promise<ServerEntry[] | undefined> {
  if (!isDomainName(name)) return undefined;
  const path = join(dir, name);
  let bytes: Buffer;
  try {
    // Size and file type are checked before reading (a FIFO or a device there is refused).
    bytes = await readDomainFileBytes(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    if (err instanceof DomainFileError) throw err;
    throw new DomainFileError(`${path}: ${(err as Error).message}`);
  }
  try {
    return parsePafcDomainText(decodeUtf8(bytes));
  } catch (err) {
    throw new DomainFileError(`${path}: ${(err as Error).message}`);
  }
}

/** Names of the regular files in the domains directory, sorted; none if the directory is missing. */
export async function listDomainNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    try {
      if ((await stat(join(dir, name))).isFile()) files.push(name);
    } catch {
      // Vanished or unreadable between readdir and stat: not listed.
    }
  }
  return files;
}

/**
 * The server for `target`: the serverIndex-th entry (default 0) of the
 * domain file of that name, else `target` as an address. Asking for an
 * index when `target` is not a domain, or one past the end, is an error.
 */
export async function resolvePafcTarget(dir: string, target: string, serverIndex?: number): Promise<ServerDescription> {
  const servers = await readPafcDomain(dir, target);
  if (servers === undefined || servers.length === 0) {
    if (serverIndex !== undefined) throw new Error(`-n given, but ${JSON.stringify(target)} is not a domain with servers in ${dir}`);
    // Every XCM address has a ':' after its transport; a word without one
    // was meant as a domain name.
    if (!target.includes(':')) {
      throw new Error(servers === undefined
        ? `no domain file ${JSON.stringify(target)} in ${dir} (and it is not an address: those look like tcp:<host>:<port>)`
        : `domain file ${join(dir, target)} lists no server`);
    }
    return { address: target };
  }
  const index = serverIndex ?? 0;
  const entry = servers[index];
  if (entry === undefined) throw new Error(`server index ${index} is out of range: domain ${target} has ${servers.length} server(s)`);
  return describeServer(entry);
}
