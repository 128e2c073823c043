// pafd: the Pathfinder server (docs/cli-and-config.md §1).

import { systemClock } from '../core/clock';
import { ConfigError } from '../config/config';
import { PAFD_USAGE, UsageError, parsePafdArgs } from '../config/options';
import { Logger } from '../log/logger';
import { LogOutputs } from '../server/log-outputs';
import { checkConfigFile, checkDistinctSockets } from '../server/check-config';
import { runHook } from '../server/hook';
import { reloadServer } from '../server/reload';
import { PROTOCOL_VERSIONS, PathfinderServer, SERVER_VERSION } from '../server/server';
import { domainSummary, startedLine } from '../server/summary';
import { SystemdNotifier } from '../server/systemd';
import { limitYoungGeneration } from '../server/memory';

/** How long a fatal error may spend closing sockets before the process exits anyway. */
const FATAL_EXIT_GRACE_MS = 1000;
/** SIGTERM must end the process within a second (systemd and init scripts wait no longer); closing normally takes milliseconds. */
const SHUTDOWN_DEADLINE_MS = 900;

/** Ends the process with one clear line (docs/cli-and-config.md §1.4: startup errors exit 1). */
function die(message: string): never {
  process.stderr.write(`pafd: ${message}\n`);
  process.exit(1);
}

/**
 * SIGUSR1: Node's default opens the V8 inspector on 127.0.0.1:9229, and
 * whoever reaches that port runs code inside pafd (Node 20 has no flag to
 * turn this off). A listener of our own replaces that default for good,
 * so it goes in before anything else runs; it reopens the log file (the
 * logrotate convention) once there is one.
 */
let onUsr1 = (): void => {};
process.on('SIGUSR1', () => onUsr1());

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  limitYoungGeneration();
  const argv = process.argv.slice(2);
  let command;
  try {
    command = parsePafdArgs(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) die(err.message);
    throw err;
  }
  if (command.action === 'help') { process.stdout.write(`${PAFD_USAGE}\n`); return; }
  if (command.action === 'version') {
    // The original's two lines, which scripts parse.
    process.stdout.write(`Server version: ${SERVER_VERSION}\nProtocol version(s): ${PROTOCOL_VERSIONS.join(' ')}\n`);
    return;
  }
  if (command.action === 'check-config') {
    try {
      checkConfigFile(command.file);
    } catch (err) {
      if (err instanceof ConfigError) die(err.message);
      throw err;
    }
    process.stdout.write(`pafd: configuration ${command.file} is valid\n`);
    return;
  }

  const { config, configFile } = command;
  const log = new Logger(config.log.level);
  const outputs = new LogOutputs(log);
  try {
    outputs.apply(config.log);
  } catch (err) {
    die(messageOf(err));
  }
  const systemd = SystemdNotifier.fromEnvironment(process.env, log);
  /**
   * A start-up failure: logged, and one line on stderr. When the log
   * already goes to the console (-s, or no syslog socket) and lets errors
   * through, that record is the line; a second, differently worded one
   * would only confuse.
   */
  const fail = (message: string): never => {
    log.error(message);
    if (outputs.logsToConsole && log.enabled('error')) process.exit(1);
    die(message);
  };
  try {
    checkDistinctSockets(config);
  } catch (err) {
    fail(`cannot start: ${messageOf(err)}`);
  }

  // Signal handlers go in before anything is announced: until Node has a
  // listener, the kernel's default action kills the process outright. A
  // stop asked for during start-up is carried out once start-up is done.
  let stopping = false;
  let pendingStop: string | undefined;
  let shutdown = (signal: string): void => { pendingStop ??= signal; };
  let reload = (): void => { log.info('SIGHUP received while starting; ignored'); };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP reloads (the original exits instead).
  process.on('SIGHUP', () => reload());
  onUsr1 = () => {
    outputs.reopen();
    log.info(`SIGUSR1 received; ${outputs.current?.file === undefined ? 'no log file to reopen' : `log file ${outputs.current.file} reopened`}`);
  };

  const server = new PathfinderServer(config, systemClock, log);
  try {
    await server.start();
  } catch (err) {
    fail(`cannot start: ${messageOf(err)}`);
  }
  if (command.hook !== undefined) {
    try {
      await runHook(command.hook, server.domains);
    } catch (err) {
      await server.stop();
      fail(`hook ${command.hook} failed: ${messageOf(err)}`);
    }
  }

  // A failure outside any one connection's handling is a bug of ours: log
  // it, close what we can and exit 1 (docs/cli-and-config.md §1.4).
  let failing = false;
  process.on('uncaughtException', (err) => {
    if (failing) return;
    failing = true;
    log.critical(`internal error: ${err.stack ?? err}`);
    systemd?.stopping();
    setTimeout(() => process.exit(1), FATAL_EXIT_GRACE_MS).unref();
    server.stop().finally(() => process.exit(1));
  });

  shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    systemd?.stopping();
    log.info(`${signal} received; shutting down`);
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
    server.stop().finally(() => {
      outputs.close();
      process.exit(0);
    });
  };

  // The same command line is parsed again, so options keep overriding the re-read file.
  reload = () => {
    if (stopping) return;
    if (configFile === undefined) {
      outputs.reopen();
      log.info('SIGHUP received; no configuration file (-f) to re-read; log file reopened');
      return;
    }
    systemd?.reloading();
    let status: string;
    try {
      const next = parsePafdArgs(argv);
      if (next.action !== 'run') throw new Error(`unexpected ${next.action} command`);
      const report = reloadServer(server, next.config, outputs);
      log.info(`SIGHUP received; configuration ${configFile} reloaded: ${report.changes.length > 0 ? report.changes.join('; ') : 'no changes'}`);
      if (report.notApplied.length > 0) {
        log.warning(`configuration ${configFile}: changes not applied (they need a restart): ${report.notApplied.join('; ')}`);
      }
      status = `${serving}; configuration reloaded`;
    } catch (err) {
      log.error(`SIGHUP received; keeping the running configuration: ${messageOf(err)}`);
      status = `${serving}; last reload failed: ${messageOf(err)}`;
    }
    systemd?.reloaded(status);
  };

  const serving = `serving ${server.domains.length} domain(s) on ${server.domains.flatMap((d) => d.listeners.map((l) => l.address)).join(' ')}`;
  if (pendingStop !== undefined) { shutdown(pendingStop); return; }
  server.domains.forEach((d, i) => log.info(domainSummary(d, i)));
  log.info(startedLine(SERVER_VERSION, server.domains, config.log.level));
  systemd?.ready(serving);
}

main().catch((err) => die(`internal error: ${(err as Error).stack ?? err}`));
