// AcceptGuard: after an accept error a listener stops accepting for a
// moment instead of spinning on a socket that stays readable, and the
// error is reported once per episode.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AcceptGuard } from '../../src/transport/accept-guard';

const PAUSE_MS = 30;

function guarded() {
  const switches: boolean[] = [];
  const reports: string[] = [];
  const guard = new AcceptGuard((on) => switches.push(on), (code) => reports.push(code), PAUSE_MS);
  return { guard, switches, reports };
}

test('a burst of errors: one report, accepting off once, back on after the pause', async () => {
  const { guard, switches, reports } = guarded();
  for (let i = 0; i < 1000; i++) guard.failed(i % 2 ? 'ENOMEM' : 'ENFILE');
  assert.equal(reports, ['ENFILE']);
  assert.equal(switches, [false]);
  await new Promise((r) => setTimeout(r, PAUSE_MS * 3));
  assert.equal(switches, [false, true]);
  guard.close();
});

test('still failing after the pause: paused again, not reported again; an accept starts a new episode', async () => {
  const { guard, switches, reports } = guarded();
  guard.failed('ENOBUFS');
  await new Promise((r) => setTimeout(r, PAUSE_MS * 3));
  guard.failed('ENOBUFS');
  assert.equal(switches, [false, true, false]);
  assert.equal(reports, ['ENOBUFS']);
  guard.accepted();
  guard.failed('ENFILE');
  assert.equal(reports, ['ENOBUFS', 'ENFILE']);
  guard.close();
});

test('closed while paused: accepting is not switched back on', async () => {
  const { guard, switches } = guarded();
  guard.failed('ENFILE');
  guard.close();
  await new Promise((r) => setTimeout(r, PAUSE_MS * 3));
  assert.equal(switches, [false]);
});

test.run();
