// Client text in log lines and on pafc's terminal (src/log/escape.ts) and
// the rate limit of repeated log lines (src/log/rate-limit.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_TEXT_MAX, logText, oneLine, terminalText } from '../../src/log/escape';
import { Logger } from '../../src/log/logger';
import { LOG_BURST, LOG_WINDOW_S, LineBudget, suppressedText } from '../../src/log/rate-limit';

test('logText leaves printable ASCII alone', () => {
  const s = 'tcp:10.0.0.7:40122 (name=a*) {x} ~';
  assert.is(logText(s), s);
});

test('logText escapes controls, DEL, C1, backslash and invisible characters', () => {
  assert.is(logText('a\nb\r\tc'), 'a\\nb\\r\\tc');
  assert.is(logText('\x1b[2J\x00\x7f\x9b'), '\\x1b[2J\\x00\\x7f\\x9b');
  assert.is(logText('back\\slash'), 'back\\\\slash');
  assert.is(logText('bidi\u202eevil\u2028x\ufeff'), 'bidi\\u{202e}evil\\u{2028}x\\u{feff}');
  assert.is(logText('lone \ud800 surrogate'), 'lone \\u{d800} surrogate');
  assert.is(logText('grüße 日本 😀'), 'grüße 日本 😀', 'printable non-ASCII stays');
});

test('logText caps at LOG_TEXT_MAX code points and gives the original length', () => {
  const long = 'x'.repeat(300_000);
  const out = logText(long);
  assert.is(out, `${'x'.repeat(LOG_TEXT_MAX)}…(300000 chars)`);
  assert.is(logText('😀'.repeat(LOG_TEXT_MAX + 1)), `${'😀'.repeat(LOG_TEXT_MAX)}…(${LOG_TEXT_MAX + 1} chars)`, 'no surrogate pair is split');
  assert.is(logText('y'.repeat(LOG_TEXT_MAX)), 'y'.repeat(LOG_TEXT_MAX), 'exactly the cap is not cut');
});

test('oneLine escapes only control characters; the Logger applies it to every message', () => {
  assert.is(oneLine('Error: x\n    at f (a.js:1)'), 'Error: x\\n    at f (a.js:1)');
  assert.is(oneLine('keep \\ and ü'), 'keep \\ and ü');
  const seen: string[] = [];
  const log = new Logger('debug');
  log.setSinks([(_level, m) => seen.push(m)]);
  log.info('a\nCRITICAL:pafd:forged');
  assert.equal(seen, ['a\\nCRITICAL:pafd:forged']);
});

test('terminalText escapes controls and invisibles, not backslashes, without a cap', () => {
  assert.is(terminalText('ux:peer\x1b]0;t\x07\n'), 'ux:peer\\x1b]0;t\\x07\\n');
  assert.is(terminalText('(a=\\*)'), '(a=\\*)');
  assert.is(terminalText('z'.repeat(1000)).length, 1000);
});

test('LineBudget: LOG_BURST lines per window, the rest counted and summarized', () => {
  const b = new LineBudget();
  let logged = 0;
  for (let i = 0; i < 20_000; i++) if (b.take(100 + i / 10_000)) logged++;
  assert.is(logged, LOG_BURST);
  assert.is(b.summary(102), undefined, 'not before the window is over');
  assert.equal(b.summary(102, true), { count: 20_000 - LOG_BURST, seconds: 2 });
  assert.is(b.summary(103, true), undefined, 'reported once');
  assert.ok(b.take(100 + LOG_WINDOW_S), 'a new window allows lines again');
});

test('LineBudget: a line after the window first yields the summary of the last one', () => {
  const b = new LineBudget(2, 10);
  b.take(0); b.take(1); b.take(2); b.take(3);
  assert.equal(b.summary(10.5), { count: 2, seconds: 10 });
  assert.ok(b.take(10.5));
});

test('suppressedText groups thousands', () => {
  assert.is(suppressedText({ count: 19_874, seconds: 10 }), '… 19,874 more like this suppressed in the last 10 s');
  assert.is(suppressedText({ count: 1_234_567, seconds: 3 }), '… 1,234,567 more like this suppressed in the last 3 s');
});

test.run();
