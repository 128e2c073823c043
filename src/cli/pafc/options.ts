// pafc's command line (docs/cli-and-config.md §3.1, plus -c for running
// commands without a terminal). Pure: argv in, what to do out.

import { ArgumentError, parseHexId, splitCommands } from './args';
import { DEFAULT_TIMEOUT_SECONDS, parseTimeoutSeconds } from '../timeout';

export const PAFC_USAGE = [
  'Usage:',
  '  pafc [-i <client-id>] [-p <version>] [-t <seconds>] [-c <commands>] <address>',
  '  pafc [-i <client-id>] [-p <version>] [-t <seconds>] [-n <index>] [-c <commands>] <domain>',
  '  pafc -a <domain>',
  '  pafc -l',
  '  pafc -h',
  'Options:',
  '  -i <client-id>  client id in hexadecimal (default: random)',
  '  -p <version>    offer exactly this protocol version (2 or 3)',
  '  -n <index>      use the index-th server (from 0) of the domain file (default 0)',
  `  -t <seconds>    give up when connecting, or the reply to hello, takes longer`,
  `                  (default ${DEFAULT_TIMEOUT_SECONDS})`,
  '  -c <commands>   run these ";"-separated commands instead of reading commands,',
  '                  then exit (repeatable); exit status 1 if any of them failed',
  '  -a              print the server addresses of the domain file and exit',
  '  -l              print the names of all domain files and exit',
  '  -h              print this help and exit',
].join('\n');

/** What the command line asks for. */
export type PafcInvocation =
  | { kind: 'help' }
  | { kind: 'list-domains' }
  | { kind: 'list-addresses'; domain: string }
  | {
    kind: 'connect';
    target: string;
    clientId?: bigint;
    /** -p: offered as both minimum and maximum. */
    version?: 2 | 3;
    /** -n: only meaningful for a domain. */
    serverIndex?: number;
    /** -c: command lines to run instead of reading them. */
    commands?: string[];
    /** -t: limit for the connect and, separately, for the hello reply. */
    timeoutSeconds: number;
  };

/** Options that take an argument. */
const WITH_ARGUMENT: ReadonlySet<string> = new Set(['-i', '-p', '-n', '-c', '-t']);
const FLAGS: ReadonlySet<string> = new Set(['-a', '-l', '-h']);
const INDEX = /^[0-9]+$/;

/** Parses pafc's arguments (without node and script); throws ArgumentError with a one-line reason. */
export function parsePafcArgs(argv: readonly string[]): PafcInvocation {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const commands: string[] = [];
  let runCommands = false;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { positional.push(arg); continue; }
    const name = arg.slice(0, 2);
    if (FLAGS.has(name) && arg.length === 2) { flags.add(name); continue; }
    if (!WITH_ARGUMENT.has(name)) throw new ArgumentError(`unknown option ${arg}`);
    // getopt style: the value may be attached (-p3) or the next argument.
    let value = arg.slice(2);
    if (value === '') {
      if (i + 1 >= argv.length) throw new ArgumentError(`option ${name} needs an argument`);
      value = argv[++i]!;
    }
    if (name === '-c') { runCommands = true; commands.push(...splitCommands(value)); }
    else values.set(name, value);
  }

  if (flags.has('-h')) return { kind: 'help' };
  if (flags.has('-l')) {
    if (positional.length > 0) throw new ArgumentError('-l takes no other argument');
    return { kind: 'list-domains' };
  }
  if (positional.length !== 1) throw new ArgumentError(positional.length === 0 ? 'no address or domain given' : 'too many arguments');
  const target = positional[0]!;
  if (flags.has('-a')) return { kind: 'list-addresses', domain: target };

  const timeout = values.get('-t');
  const timeoutSeconds = timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : parseTimeoutSeconds(timeout);
  if (timeoutSeconds === undefined) throw new ArgumentError(`timeout ${JSON.stringify(timeout)} is not a positive number of seconds`);
  const inv: PafcInvocation = { kind: 'connect', target, timeoutSeconds };
  const id = values.get('-i');
  if (id !== undefined) inv.clientId = parseHexId(id, 'client id');
  const version = values.get('-p');
  if (version !== undefined) {
    if (version !== '2' && version !== '3') throw new ArgumentError(`protocol version ${JSON.stringify(version)}: must be 2 or 3`);
    inv.version = Number(version) as 2 | 3;
  }
  const index = values.get('-n');
  if (index !== undefined) {
    if (!INDEX.test(index)) throw new ArgumentError(`server index ${JSON.stringify(index)} is not a non-negative integer`);
    inv.serverIndex = Number(index);
  }
  if (runCommands) inv.commands = commands;
  return inv;
}
