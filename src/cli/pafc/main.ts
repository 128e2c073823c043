// pafc, the interactive debugging client (docs/cli-and-config.md §3): parse
// the command line, connect, then read commands from the terminal, from
// piped standard input, or from -c, until quit or end of input.
//
// Exit status: 0 after quit or end of input; 1 on a bad command line, a
// failed connect, a connection lost while running, or (when not at a
// terminal) if any command failed.

import * as readline from 'node:readline';
import { domainsDirectory } from '../../client/domain-files';
import { WireClient } from '../../client/wire';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../../protocol/schema';
import { ArgumentError } from './args';
import { TerminalConsole } from './console';
import { PAFC_USAGE, parsePafcArgs } from './options';
import type { PafcInvocation } from './options';
import { describeConnectFailure } from '../connect-failure';
import { connectTimeouts } from '../timeout';
import { LineRunner } from './runner';
import { Session } from './session';
import type { Sink, VersionRange } from './session';
import { listDomainNames, readPafcDomain, resolvePafcTarget } from './target';
import { terminalText } from '../../log/escape';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
/** The lowest idle limit a server can have (idle.min and idle.max are at least 1 s). */
const MIN_IDLE_LIMIT_SECONDS = 0.95;

/** The process pafc runs in; tests of the bundle drive it through real pipes and a pty. */
export interface PafcIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

function complain(io: PafcIo, text: string): void {
  io.stderr.write(`pafc: ${text}\n`);
}

/** Runs pafc; resolves with the exit status. */
export async function runPafc(argv: readonly string[], io: PafcIo): Promise<number> {
  let inv: PafcInvocation;
  try {
    inv = parsePafcArgs(argv);
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err;
    complain(io, err.message);
    io.stderr.write(PAFC_USAGE + '\n');
    return EXIT_FAILURE;
  }
  const dir = domainsDirectory(io.env);
  try {
    switch (inv.kind) {
      case 'help':
        io.stdout.write(PAFC_USAGE + '\n');
        return EXIT_OK;
      case 'list-domains':
        for (const name of await listDomainNames(dir)) io.stdout.write(name + '\n');
        return EXIT_OK;
      case 'list-addresses': {
        const servers = await readPafcDomain(dir, inv.domain);
        if (servers === undefined) throw new Error(`no domain file ${JSON.stringify(inv.domain)} in ${dir}`);
        for (const s of servers) io.stdout.write(s.address + '\n');
        return EXIT_OK;
      }
      case 'connect':
        return await session(inv, dir, io);
    }
  } catch (err) {
    complain(io, (err as Error).message);
    return EXIT_FAILURE;
  }
}

/**
 * Why a v3 server most likely closed on us: it drops a client that neither
 * sends anything nor runs a track transaction for the domain's idle limit
 * (30 s by default). pafc does not track on its own, as the original did
 * not, so that what the server sees is what the user did; this says what
 * happened and what to type instead of a bare "closed by peer".
 */
function idleHint(client: WireClient, reason: string): string {
  if (client.version !== 3 || client.tracking || reason !== 'closed by peer') return '';
  const silent = (performance.now() - client.lastSentAt) / 1000;
  if (silent < MIN_IDLE_LIMIT_SECONDS) return '';
  return ` (probably the server's idle limit: nothing was sent for ${silent.toFixed(1)} s and a protocol version 3 ` +
    'client without a track transaction is dropped when silent; run "track" to stay connected)';
}

async function session(inv: Extract<PafcInvocation, { kind: 'connect' }>, dir: string, io: PafcIo): Promise<number> {
  const server = await resolvePafcTarget(dir, inv.target, inv.serverIndex);
  const offered: VersionRange = inv.version !== undefined
    ? { min: inv.version, max: inv.version }
    : { min: server.minVersion ?? MIN_PROTOCOL_VERSION, max: server.maxVersion ?? MAX_PROTOCOL_VERSION };
  let client: WireClient;
  try {
    client = await WireClient.connect(server, {
      minVersion: offered.min, maxVersion: offered.max, env: io.env, ...connectTimeouts(inv.timeoutSeconds),
      ...(inv.clientId !== undefined ? { clientId: inv.clientId } : {}),
    });
  } catch (err) {
    throw new Error(`cannot connect to ${server.address}: ${describeConnectFailure(err, '-t')}`);
  }

  const interactive = inv.commands === undefined && io.stdin.isTTY === true;
  const terminal = interactive ? new TerminalConsole(io.stdin, io.stdout) : undefined;
  const sink: Sink = terminal ?? {
    line: (text) => io.stdout.write(text + '\n'),
    notice: (text) => io.stdout.write(text + '\n'),
  };
  const state = new Session(client, sink, offered);

  return new Promise<number>((resolve) => {
    let done = false;
    let reader: readline.Interface | undefined;
    const finish = (status: number) => {
      if (done) return;
      done = true;
      terminal?.close();
      reader?.close();
      client.close('pafc quit');
      resolve(status);
    };
    const runner = new LineRunner(state,
      () => finish(!interactive && runner.failures > 0 ? EXIT_FAILURE : EXIT_OK),
      () => terminal?.prompt());

    client.on('close', (reason) => {
      if (done) return;
      const text = terminalText(`Connection closed: ${reason}${idleHint(client, reason)}.`);
      if (terminal) terminal.farewell(text);
      else sink.line(text);
      finish(EXIT_FAILURE);
    });

    if (inv.commands !== undefined) {
      for (const line of inv.commands) runner.push(line);
      runner.end();
    } else if (terminal) {
      terminal.rl.on('line', (line) => { terminal.lineEntered(); runner.push(line); });
      // Ctrl-D on an empty line; move the shell's prompt to a line of its own.
      terminal.rl.on('close', () => { if (!done) io.stdout.write('\n'); runner.end(); });
      terminal.rl.on('SIGINT', () => { io.stdout.write('\n'); runner.end(); finish(EXIT_OK); });
      terminal.prompt();
    } else {
      reader = readline.createInterface({ input: io.stdin, terminal: false });
      reader.on('line', (line) => runner.push(line));
      reader.on('close', () => runner.end());
    }
  });
}
