// pafc at a terminal: node:readline gives line editing, history (kept in
// ~/.pafc_history, best effort) and tab completion. Lines that arrive on
// their own (matches) are printed above the prompt: the prompt line is
// cleared, the line printed, and the prompt redrawn with whatever the
// user had typed so far, cursor included.

import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as readline from 'node:readline';
import { completePafc } from './completion';
import type { Sink } from './session';

export const PROMPT = '> ';
export const HISTORY_FILE_NAME = '.pafc_history';
/** Lines kept in memory and in the history file. */
export const HISTORY_SIZE = 1000;

/** ~/.pafc_history ($HOME decides where ~ is). */
export function historyPath(): string {
  return join(homedir(), HISTORY_FILE_NAME);
}

/** The saved history, newest first as readline wants it; empty if there is none. */
function loadHistory(path: string): string[] {
  try {
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0);
    return lines.slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(path: string, newestFirst: readonly string[]): void {
  try {
    writeFileSync(path, [...newestFirst].reverse().join('\n') + '\n', { mode: 0o600 });
  } catch {
    // Best effort: a read-only home must not stop pafc.
  }
}

export class TerminalConsole implements Sink {
  readonly rl: readline.Interface;
  private prompting = false;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    private readonly history = historyPath(),
  ) {
    this.rl = readline.createInterface({
      input, output, terminal: true, prompt: PROMPT,
      completer: completePafc,
      history: loadHistory(history), historySize: HISTORY_SIZE, removeHistoryDuplicates: true,
    });
    // Written at every new entry, so history survives however pafc ends.
    this.rl.on('history', (h: string[]) => saveHistory(this.history, h));
  }

  /** Shows the prompt and waits for a line. */
  prompt(): void {
    this.prompting = true;
    this.rl.prompt();
  }

  /** The user entered a line: the prompt is no longer on screen. */
  lineEntered(): void {
    this.prompting = false;
  }

  line(text: string): void {
    this.output.write(text + '\n');
  }

  notice(text: string): void {
    if (!this.prompting) {
      this.output.write(text + '\n');
      return;
    }
    readline.clearLine(this.output, 0);
    readline.cursorTo(this.output, 0);
    this.output.write(text + '\n');
    // Redraws prompt and the partly typed line, keeping the cursor where it was.
    this.rl.prompt(true);
  }

  /** A last line before pafc exits: replaces the prompt line instead of redrawing the prompt under it. */
  farewell(text: string): void {
    if (this.prompting) {
      readline.clearLine(this.output, 0);
      readline.cursorTo(this.output, 0);
    }
    this.prompting = false;
    this.output.write(text + '\n');
  }

  close(): void {
    this.prompting = false;
    this.rl.close();
  }
}
