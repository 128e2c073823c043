// Client text on its way into a log line or onto a terminal. A peer's
// socket name, an unknown field name or a filter is whatever the client
// chose: a newline in it would forge a whole log line, an escape sequence
// would drive the operator's terminal, and 256 KiB of it would make one
// line the size of the log file. So every client-derived string passes
// through logText() before it is written: control characters and other
// non-printables become visible escapes, the backslash is doubled (so an
// escape can always be told from text that looks like one), and anything
// beyond LOG_TEXT_MAX characters is cut, saying how long it was.

/** Characters of client text kept in one log line. */
export const LOG_TEXT_MAX = 200;

/** Printable ASCII without the backslash: the common case, returned as is. */
const PLAIN = /^[\x20-\x5b\x5d-\x7e]*$/;
/** C0 and C1 controls and DEL: the characters a terminal or a line-based log acts on. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
/**
 * Other characters not shown as themselves: format characters (bidi
 * overrides, zero-width), line and paragraph separators, unassigned
 * and private-use code points and lone surrogates.
 */
const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/u;

const NAMED: Readonly<Record<number, string>> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x5c: '\\\\' };

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeChar(ch: string, withBackslash: boolean): string {
  const cp = ch.codePointAt(0)!;
  if (cp === 0x5c) return withBackslash ? '\\\\' : ch;
  const named = NAMED[cp];
  if (named !== undefined) return named;
  if (cp < 0x100) return CONTROL.test(ch) ? `\\x${hex(cp, 2)}` : ch;
  return INVISIBLE.test(ch) ? `\\u{${hex(cp, 4)}}` : ch;
}

/**
 * `text` made safe for one log line: escaped and capped at `max`
 * characters (code points), e.g. `abc…(262144 chars)`.
 */
export function logText(text: string, max: number = LOG_TEXT_MAX): string {
  if (text.length <= max && PLAIN.test(text)) return text;
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n === max) return `${out}…(${[...text].length} chars)`;
    out += ch.length === 1 && PLAIN.test(ch) ? ch : escapeChar(ch, true);
    n++;
  }
  return out;
}

/**
 * The last line of defence, applied to every whole log message: control
 * characters become escapes so that one event is always one line, whatever
 * a message was built from (stack traces included). Backslashes are left
 * alone here; client text has already been through logText().
 */
export function oneLine(message: string): string {
  if (!CONTROL.test(message)) return message;
  let out = '';
  for (const ch of message) out += CONTROL.test(ch) ? escapeChar(ch, false) : ch;
  return out;
}

/**
 * For terminals (pafc): control characters of text that came from a
 * server become escapes, everything else (including backslashes and
 * non-ASCII letters) stays as it is, without a length cap.
 */
export function terminalText(text: string): string {
  if (!CONTROL.test(text) && !INVISIBLE.test(text)) return text;
  let out = '';
  for (const ch of text) out += escapeChar(ch, false);
  return out;
}
