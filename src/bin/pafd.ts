// pafd: the Pathfinder server (cli-and-config.md §1).

import { systemClock } from '../core/clock';
import { ConfigError } from '../config/config';
import { PAFD_USAGE, UsageError, parsePafdArgs } from '../config/options';
import { Logger, consoleSink } from '../log/logger';
import { runHook } from '../server/hook';
import { PROTOCOL_VERSIONS, PathfinderServer, SERVER_VERSION } from '../server/server';

/** How long a fatal error may spend closing sockets before the process exits anyway. */
const FATAL_EXIT_GRACE_MS = 1000;

/** Ends the process with one clear line (cli-and-config.md §1.4: startup errors exit 1). */
function die(message: string): never {
  process.stderr.write(`pafd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let command;
  try {
    command = parsePafdArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) die(err.message);
    throw err;
  }
  if (command.action === 'help') { process.stdout.write(PAFD_USAGE); return; }
  if (command.action === 'version') {
    process.stdout.write(`${SERVER_VERSION}\n${PROTOCOL_VERSIONS.join(' ')}\n`);
    return;
  }
  const { config } = command;
  const log = new Logger(config.log.level);
  let toConsole = config.log.console;
  if (config.log.syslog && !toConsole) toConsole = true;
  if (toConsole) log.addSink(consoleSink());
  if (config.log.syslog) log.warning(`syslog (${config.log.syslogSocket}) is not available in this build; logging to the console instead`);
  if (config.log.file) log.warning(`file logging (${config.log.file}) is not available in this build; logging to the console instead`);

  const server = new PathfinderServer(config, systemClock, log);
  try {
    await server.start();
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    die(`cannot start: ${(err as Error).message}`);
  }
  if (command.hook !== undefined) {
    try {
      await runHook(command.hook, server.domains);
    } catch (err) {
      log.error(`hook ${command.hook} failed: ${(err as Error).message}`);
      await server.stop();
      die(`hook ${command.hook} failed: ${(err as Error).message}`);
    }
  }
  log.info(`pafd ${SERVER_VERSION} started: ${server.domains.length} domain(s), protocol versions ${PROTOCOL_VERSIONS.join(' ')}`);

  // A failure outside any one connection's handling is a bug of ours: log
  // it, close what we can and exit 1 (cli-and-config.md §1.4).
  let failing = false;
  process.on('uncaughtException', (err) => {
    if (failing) return;
    failing = true;
    log.critical(`internal error: ${err.stack ?? err}`);
    setTimeout(() => process.exit(1), FATAL_EXIT_GRACE_MS).unref();
    server.stop().finally(() => process.exit(1));
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received; shutting down`);
    server.stop().then(() => process.exit(0), () => process.exit(0));
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => shutdown(sig));
}

main().catch((err) => die(`internal error: ${(err as Error).stack ?? err}`));
