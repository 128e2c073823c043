// pafbench's command line (docs/cli-and-config.md §4, plus the options for
// throughput, fan-out latency, server memory and JSON output). Pure.

import { DEFAULT_TIMEOUT_SECONDS, parseTimeoutSeconds } from '../timeout';

/** Raised for a command line pafbench cannot use; main prints it with the usage, exit 1. */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

export const PAFBENCH_USAGE = [
  'Usage: pafbench [options] <num-services> <num-subscriptions> <address-or-domain>',
  '       pafbench --quick [options] [<num-services> <num-subscriptions>] <address-or-domain>',
  'Options:',
  '  --pipelined         also measure pipelined throughput (ops/s) of publish,',
  '                      subscribe and ping from 1 and from N connections',
  '  --connections <N>   connections for the N-connection figures (default 4)',
  '  --ops <K>           operations per throughput figure (default 10000)',
  '  --fanout <N>,<M>    also measure publish-to-last-notification latency with',
  '                      N subscriptions spread over M connections',
  '  --samples <K>       publishes measured for the fan-out figures (default 100)',
  '  --pid <pid>         report the server\'s resident memory before and after',
  `  --timeout <s>       give up when connecting, or the reply to hello, takes`,
  `                      longer than <s> seconds (default ${DEFAULT_TIMEOUT_SECONDS})`,
  '  --json              print one JSON object with every figure instead of text',
  '  --quick             small sizes for CI: 100 services and subscriptions unless',
  '                      given, --pipelined with 200 ops over 2 connections,',
  '                      --fanout 20,2 with 10 samples (explicit options win)',
  '  -h, --help          print this help and exit',
].join('\n');

export interface FanoutSize {
  subscriptions: number;
  connections: number;
}

/** Everything pafbench was asked to do. */
export interface BenchOptions {
  numServices: number;
  numSubscriptions: number;
  target: string;
  /** Throughput figures; undefined when not asked for. */
  pipelined?: { operations: number; connections: number };
  fanout?: FanoutSize & { samples: number };
  serverPid?: number;
  /** Limit for each connect and, separately, for each hello reply. */
  timeoutSeconds: number;
  json: boolean;
  quick: boolean;
}

export type BenchInvocation = { kind: 'help' } | { kind: 'run'; options: BenchOptions };

const DEFAULT_CONNECTIONS = 4;
const DEFAULT_OPS = 10_000;
const DEFAULT_SAMPLES = 100;
const QUICK_POPULATION = 100;
const QUICK_CONNECTIONS = 2;
const QUICK_OPS = 200;
const QUICK_FANOUT: FanoutSize = { subscriptions: 20, connections: 2 };
const QUICK_SAMPLES = 10;

const COUNT = /^[0-9]+$/;
const FANOUT = /^([0-9]+),([0-9]+)$/;

function count(text: string, what: string, min = 0): number {
  if (!COUNT.test(text)) throw new BenchUsageError(`${what} ${JSON.stringify(text)} is not a non-negative integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new BenchUsageError(`${what} must be at least ${min}`);
  return n;
}

const VALUE_OPTIONS: ReadonlySet<string> = new Set(['--connections', '--ops', '--fanout', '--samples', '--pid', '--timeout']);
const FLAG_OPTIONS: ReadonlySet<string> = new Set(['--pipelined', '--json', '--quick', '--help', '-h']);

/** Parses pafbench's arguments (without node and script). */
export function parseBenchArgs(argv: readonly string[]): BenchInvocation {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (FLAG_OPTIONS.has(name) && eq < 0) { flags.add(name); continue; }
    if (!VALUE_OPTIONS.has(name)) throw new BenchUsageError(`unknown option ${arg}`);
    if (eq > 0) values.set(name, arg.slice(eq + 1));
    else if (i + 1 < argv.length) values.set(name, argv[++i]!);
    else throw new BenchUsageError(`option ${name} needs an argument`);
  }
  if (flags.has('--help') || flags.has('-h')) return { kind: 'help' };

  const quick = flags.has('--quick');
  let numServices: number;
  let numSubscriptions: number;
  if (positional.length === 3) {
    numServices = count(positional[0]!, 'number of services');
    numSubscriptions = count(positional[1]!, 'number of subscriptions');
  } else if (quick && positional.length === 1) {
    numServices = QUICK_POPULATION;
    numSubscriptions = QUICK_POPULATION;
  } else {
    throw new BenchUsageError('wrong number of arguments');
  }
  const options: BenchOptions = {
    numServices, numSubscriptions, target: positional[positional.length - 1]!, json: flags.has('--json'), quick,
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  };
  const timeout = values.get('--timeout');
  if (timeout !== undefined) {
    const seconds = parseTimeoutSeconds(timeout);
    if (seconds === undefined) throw new BenchUsageError(`--timeout ${JSON.stringify(timeout)} is not a positive number of seconds`);
    options.timeoutSeconds = seconds;
  }

  const connections = values.get('--connections');
  const ops = values.get('--ops');
  if (flags.has('--pipelined') || quick || connections !== undefined || ops !== undefined) {
    options.pipelined = {
      operations: ops !== undefined ? count(ops, '--ops', 1) : quick ? QUICK_OPS : DEFAULT_OPS,
      connections: connections !== undefined ? count(connections, '--connections', 1) : quick ? QUICK_CONNECTIONS : DEFAULT_CONNECTIONS,
    };
  }

  const fanout = values.get('--fanout');
  const samples = values.get('--samples');
  let size: FanoutSize | undefined = quick ? QUICK_FANOUT : undefined;
  if (fanout !== undefined) {
    const m = FANOUT.exec(fanout);
    if (!m) throw new BenchUsageError(`--fanout ${JSON.stringify(fanout)}: expected <subscriptions>,<connections>`);
    size = { subscriptions: count(m[1]!, 'fan-out subscriptions', 1), connections: count(m[2]!, 'fan-out connections', 1) };
  }
  if (size !== undefined) {
    options.fanout = {
      ...size,
      samples: samples !== undefined ? count(samples, '--samples', 1) : quick ? QUICK_SAMPLES : DEFAULT_SAMPLES,
    };
  } else if (samples !== undefined) {
    throw new BenchUsageError('--samples needs --fanout');
  }

  const pid = values.get('--pid');
  if (pid !== undefined) options.serverPid = count(pid, '--pid', 1);
  return { kind: 'run', options };
}
