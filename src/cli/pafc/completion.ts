// Tab completion for pafc's prompt, in the shape node:readline's
// completer returns: [candidates, the fragment they complete]. The first
// word completes to command names; the second to a command's own words
// (`track` subcommands) or, after `help`, to command names again.

import { COMMANDS, findCommand } from './commands';

const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);

function candidates(words: readonly string[], fragment: string): string[] {
  return words.filter((w) => w.startsWith(fragment));
}

/**
 * Completes `line` (the text left of the cursor). A single candidate
 * gets a trailing blank when more may follow, so the user can go on
 * typing the next argument.
 */
export function completePafc(line: string): [string[], string] {
  // Only plain words are completed: the line is cut at blanks, no quotes.
  const words = line.trimStart().split(/[ \t]+/);
  const fragment = words[words.length - 1]!;
  let hits: string[] = [];
  if (words.length === 1) {
    hits = candidates(COMMAND_NAMES, fragment);
    if (hits.length === 1) {
      const cmd = findCommand(hits[0]!)!;
      if (cmd.maxArgs > 0) hits[0] += ' ';
    }
  } else if (words.length === 2) {
    const cmd = findCommand(words[0]!);
    const words2 = cmd?.name === 'help' ? COMMAND_NAMES : (cmd?.completions ?? []);
    hits = candidates(words2, fragment);
  }
  return [hits, fragment];
}
