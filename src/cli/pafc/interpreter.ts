// Runs one line typed at pafc: split it, find the command, check the
// number of arguments, run it, and end with "OK." (server commands) or a
// single "Error: …" line.

import { ArgumentError, splitArgs } from './args';
import { findCommand } from './commands';
import type { Session } from './session';

/** Prefix of the one line a failed command prints. */
export const ERROR_PREFIX = 'Error: ';
export const OK_LINE = 'OK.';

function describe(err: unknown): string {
  if (err instanceof Error) {
    // ConnectionClosed carries only the reason; say what it is.
    return err.name === 'ConnectionClosed' ? `connection closed: ${err.message}` : err.message;
  }
  return String(err);
}

/** Whether a line is blank or a comment (first non-blank character '#'). */
function isNothing(line: string): boolean {
  const t = line.trimStart();
  return t.length === 0 || t.startsWith('#');
}

/** Runs `line`; resolves with false if it failed (an error line was printed). */
export async function executeLine(session: Session, line: string): Promise<boolean> {
  if (isNothing(line)) return true;
  session.begin();
  try {
    const words = splitArgs(line);
    const name = words[0]!;
    const args = words.slice(1);
    const cmd = findCommand(name);
    if (cmd === undefined) throw new ArgumentError(`unknown command ${JSON.stringify(name)}; type "help" for a list`);
    if (args.length < cmd.minArgs || args.length > cmd.maxArgs) throw new ArgumentError(`usage: ${cmd.usage}`);
    await cmd.run(session, args);
    if (cmd.server) session.say(OK_LINE);
    return true;
  } catch (err) {
    session.say(ERROR_PREFIX + describe(err));
    return false;
  } finally {
    session.end();
  }
}
