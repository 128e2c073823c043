// pafbench (docs/cli-and-config.md §4): pre-populate a server over one
// connection, time the basic operations, optionally measure pipelined
// throughput, fan-out latency and the server's memory, print the figures
// and clean up. Exit status 0 on success, 1 on a bad command line or any
// failure (connect, a failed request, a lost connection).

import { WireClient } from '../../client/wire';
import { describeConnectFailure } from '../connect-failure';
import { connectTimeouts } from '../timeout';
import { measureFanout } from './fanout';
import type { FanoutReport } from './fanout';
import { cleanup, measureOperations, prepopulate } from './original';
import { BenchUsageError, PAFBENCH_USAGE, parseBenchArgs } from './options';
import type { BenchOptions } from './options';
import { jsonReport, memoryEntry, textReport } from './report';
import type { BenchReport } from './report';
import { readMemory } from './rss';
import { measureThroughput } from './throughput';
import type { ThroughputReport } from './throughput';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;

export interface BenchIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/**
 * A connection that answers the server's track queries, so a long
 * pre-population or a quiet stretch does not get it disconnected as idle.
 */
async function open(o: BenchOptions, env: NodeJS.ProcessEnv): Promise<WireClient> {
  try {
    return await WireClient.connect(o.target, { track: true, env, ...connectTimeouts(o.timeoutSeconds) });
  } catch (err) {
    throw new Error(`cannot connect to ${o.target}: ${describeConnectFailure(err, '--timeout')}`);
  }
}

async function openMany(o: BenchOptions, n: number, env: NodeJS.ProcessEnv): Promise<WireClient[]> {
  const clients: WireClient[] = [];
  try {
    for (let i = 0; i < n; i++) clients.push(await open(o, env));
  } catch (err) {
    for (const c of clients) c.close();
    throw err;
  }
  return clients;
}

async function run(o: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const before = o.serverPid !== undefined ? await readMemory(o.serverPid) : undefined;
  const main = await open(o, io.env);
  const extra: WireClient[] = [];
  try {
    const population = await prepopulate(main, o.numServices, o.numSubscriptions);
    const msPerOp = await measureOperations(main);

    let pipelined: ThroughputReport | null = null;
    if (o.pipelined) {
      const many = await openMany(o, o.pipelined.connections, io.env);
      extra.push(...many);
      pipelined = await measureThroughput(main, many, o.pipelined.operations);
    }
    let fanout: FanoutReport | null = null;
    if (o.fanout) {
      const subscribers = await openMany(o, o.fanout.connections, io.env);
      extra.push(...subscribers);
      fanout = await measureFanout(main, subscribers, o.fanout.subscriptions, o.fanout.samples);
    }
    // Sampled while the pre-populated state is still on the server.
    const after = o.serverPid !== undefined ? await readMemory(o.serverPid) : undefined;
    await cleanup(main, population);

    return {
      target: o.target,
      protocolVersion: main.version ?? 0,
      quick: o.quick,
      prepopulated: { services: o.numServices, subscriptions: o.numSubscriptions, seconds: population.seconds },
      msPerOp,
      pipelined,
      fanout,
      serverRss: before && after ? memoryEntry(o.serverPid!, before, after) : null,
    };
  } finally {
    for (const c of extra) c.close();
    main.close();
  }
}

/** Runs pafbench; resolves with the exit status. */
export async function runBench(argv: readonly string[], io: BenchIo): Promise<number> {
  let options: BenchOptions;
  try {
    const inv = parseBenchArgs(argv);
    if (inv.kind === 'help') {
      io.stdout.write(PAFBENCH_USAGE + '\n');
      return EXIT_OK;
    }
    options = inv.options;
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    io.stderr.write(`pafbench: ${err.message}\n${PAFBENCH_USAGE}\n`);
    return EXIT_FAILURE;
  }
  try {
    const report = await run(options, io);
    io.stdout.write(options.json ? jsonReport(report) + '\n' : textReport(report).join('\n') + '\n');
    return EXIT_OK;
  } catch (err) {
    io.stderr.write(`pafbench: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}
