// pafd's command line (docs/cli-and-config.md §1.2–§1.3), turned into the
// effective ServerConfig. Pure apart from reading the -f file.
//
// Syntax is getopt-like: single-letter options, clustering (`-sn`), option
// arguments attached or separate (`-ldebug`, `-l debug`), `--` ends the
// options. Unlike Python's getopt (which stops at the first positional),
// options and positional addresses may be interleaved, GNU style: no
// address can start with '-', so nothing is ambiguous and
// `pafd tcp:*:4711 -s` does what it says.
//
// Processing order (§1.3): the whole line is checked for unknown options
// and missing arguments first; then -f is loaded (the last one if repeated);
// then the other options are applied in order over the file, -v/-h acting
// when reached; finally command-line domains replace the file's domains.

import {
  LOG_LEVELS, SYSLOG_FACILITIES, commandLineDomain, defaultConfig, loadConfigFile, parseServerAddress,
} from './config';
import type { DomainConfig, ServerConfig } from './config';
import type { LogLevel } from '../log/logger';
import { AddressError } from '../transport/address';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type PafdCommand =
  | { action: 'run'; config: ServerConfig; hook?: string; configFile?: string }
  | { action: 'check-config'; file: string }
  | { action: 'version' }
  | { action: 'help' };

export const PAFD_USAGE = `Usage: pafd [options] [<domain-addr> ...]
Serve one Pathfinder domain per <domain-addr> (an XCM address such as
tcp:127.0.0.1:4711, tls:*:7711, ux:my-domain or uxf:/run/paf/sock).
Options:
  -m <addr0>+<addr1>+...  Serve one domain on all the listed addresses.
                          May be repeated.
  -s                      Log to the console (standard error).
  -o <file>               Log to <file>.
  -b <count>              Keep <count> rotated backups of the -o file
                          (default 0: never rotate).
  -x <bytes>              Rotate the -o file at <bytes> (default 1000000;
                          only with -b > 0).
  -n                      Do not log to syslog.
  -u <path>               Syslog socket path (default /dev/log).
  -y <facility>           Syslog facility (default daemon).
  -l <level>              Discard log records below <level>: debug, info,
                          warning, error or critical (default info).
  -c <clients>            Limit the number of clients per domain; 0 means
                          no limit (default: no limit).
  -f <file>               Read the YAML configuration <file>. Domains given
                          on the command line replace the file's domains;
                          other options override the file's settings.
  -r <file>[#<export>]    Once all server sockets are bound, load the
                          JavaScript module <file> and call its function
                          <export> (default: run) with one entry per
                          domain: {name, addresses}.
  -v, --version           Print the server and protocol versions and exit.
  -h, --help              Print this text and exit.
  --check-config <file>   Check the configuration <file> as a start would,
                          short of binding (schema, unknown keys, sockets
                          used twice, log file directory, TLS files), print
                          one line and exit: 0 if it is valid, 1 if not.
Signals: SIGHUP re-reads the -f file and applies what can change while
running (without -f it reopens the log file); SIGTERM or SIGINT stop pafd.`;

/** Options taking an argument; the others are flags. */
const WITH_ARGUMENT: ReadonlySet<string> = new Set(['m', 'o', 'b', 'x', 'u', 'y', 'l', 'c', 'f', 'r']);
const FLAGS: ReadonlySet<string> = new Set(['s', 'n', 'v', 'h']);
/** The GNU spellings every tool is expected to understand. */
const LONG_OPTIONS: ReadonlyMap<string, string> = new Map([['--help', 'h'], ['--version', 'v']]);
const END_OF_OPTIONS = '--';
const CHECK_CONFIG = '--check-config';
const DOMAIN_SEPARATOR = '+';

interface Option { letter: string; arg: string }

/** Splits argv into options (in order) and positionals; only checks option syntax. */
function scan(argv: readonly string[]): { options: Option[]; positionals: string[] } {
  const options: Option[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === END_OF_OPTIONS) { positionals.push(...argv.slice(i + 1)); break; }
    if (word.length < 2 || !word.startsWith('-')) { positionals.push(word); continue; }
    if (word.startsWith('--')) {
      const letter = LONG_OPTIONS.get(word);
      if (letter === undefined) throw new UsageError(`option ${word.split('=')[0]} not recognized`);
      options.push({ letter, arg: '' });
      continue;
    }
    for (let j = 1; j < word.length; j++) {
      const letter = word[j]!;
      if (FLAGS.has(letter)) { options.push({ letter, arg: '' }); continue; }
      if (!WITH_ARGUMENT.has(letter)) throw new UsageError(`option -${letter} not recognized`);
      let arg: string;
      if (j + 1 < word.length) arg = word.slice(j + 1);
      else if (i + 1 < argv.length) arg = argv[++i]!;
      else throw new UsageError(`option -${letter} requires an argument`);
      options.push({ letter, arg });
      break;
    }
  }
  return { options, positionals };
}

/** A non-negative decimal integer as Python's int() would read it (no sign other than '+'). */
function nonNegativeInt(letter: string, arg: string): number {
  const n = /^\+?[0-9]+$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`option -${letter}: ${JSON.stringify(arg)} is not a non-negative integer`);
  }
  return n;
}

function checkAddress(letter: string | undefined, addr: string): void {
  try {
    parseServerAddress(addr);
  } catch (e) {
    if (e instanceof AddressError) {
      throw new UsageError(letter === undefined ? e.message : `option -${letter}: ${e.message}`);
    }
    throw e;
  }
}

function domainGroup(arg: string): string[] {
  const addrs = arg.split(DOMAIN_SEPARATOR);
  if (addrs.some((a) => a.length === 0)) {
    throw new UsageError(`option -m: empty address in ${JSON.stringify(arg)}`);
  }
  for (const a of addrs) checkAddress('m', a);
  return addrs;
}

/**
 * `--check-config <file>` (or `--check-config=<file>`) stands alone: it
 * checks a file, it does not start a server with extra options.
 */
function checkConfigCommand(argv: readonly string[]): PafdCommand | undefined {
  const at = argv.findIndex((w) => w === CHECK_CONFIG || w.startsWith(`${CHECK_CONFIG}=`));
  if (at < 0) return undefined;
  const word = argv[at]!;
  const inline = word.length > CHECK_CONFIG.length;
  const file = inline ? word.slice(CHECK_CONFIG.length + 1) : argv[at + 1];
  if (file === undefined || file === '') throw new UsageError(`option ${CHECK_CONFIG} requires a file argument`);
  if (argv.length !== (inline ? 1 : 2)) throw new UsageError(`option ${CHECK_CONFIG} takes a file and no other arguments`);
  return { action: 'check-config', file };
}

/** Parses pafd's arguments (without node and script); throws UsageError or ConfigError. */
export function parsePafdArgs(argv: string[]): PafdCommand {
  const check = checkConfigCommand(argv);
  if (check !== undefined) return check;
  const { options, positionals } = scan(argv);

  let configFile: string | undefined;
  for (const o of options) if (o.letter === 'f') configFile = o.arg;
  const config = configFile === undefined ? defaultConfig() : loadConfigFile(configFile);

  let hook: string | undefined;
  const groups: string[][] = [];
  for (const { letter, arg } of options) {
    switch (letter) {
      case 'v': return { action: 'version' };
      case 'h': return { action: 'help' };
      case 'f': break;                                   // already loaded
      case 'm': groups.push(domainGroup(arg)); break;
      case 's': config.log.console = true; break;
      case 'n': config.log.syslog = false; break;
      case 'o': config.log.file = arg; break;
      case 'b': config.log.fileBackup = nonNegativeInt(letter, arg); break;
      case 'x': config.log.fileMaxSize = nonNegativeInt(letter, arg); break;
      case 'u': config.log.syslogSocket = arg; break;
      case 'y':
        if (!SYSLOG_FACILITIES.has(arg)) {
          throw new UsageError(`option -y: unknown syslog facility ${JSON.stringify(arg)} (valid: ${[...SYSLOG_FACILITIES.keys()].join(', ')})`);
        }
        config.log.facility = arg;
        break;
      case 'l':
        if (!(LOG_LEVELS as readonly string[]).includes(arg)) {
          throw new UsageError(`option -l: unknown log level ${JSON.stringify(arg)} (valid: ${LOG_LEVELS.join(', ')})`);
        }
        config.log.level = arg as LogLevel;
        break;
      case 'c': {
        // 0 means "no limit" (the original's intent; it crashes instead, B10).
        const n = nonNegativeInt(letter, arg);
        if (n === 0) delete config.resources.total.clients;
        else config.resources.total.clients = n;
        break;
      }
      case 'r': hook = arg; break;
    }
  }

  for (const p of positionals) checkAddress(undefined, p);
  const cliDomains: DomainConfig[] = [
    ...positionals.map((p) => commandLineDomain([p])),
    ...groups.map((g) => commandLineDomain(g)),
  ];
  if (cliDomains.length > 0) config.domains = cliDomains;
  if (config.domains.length === 0) throw new UsageError('no domains configured');

  const command: PafdCommand = { action: 'run', config };
  if (hook !== undefined) command.hook = hook;
  if (configFile !== undefined) command.configFile = configFile;
  return command;
}
