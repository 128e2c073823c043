// Connection admission: silent connections count against their user's
// quota, and one user never holds the share of the total kept for others.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectionAdmission, USER_PENDING_CONNECTIONS, userConnectionCap } from '../../src/core/admission';
import type { Limits } from '../../src/core/limits';

/** Admits connections of `user` until one is refused; returns how many got in. */
function fill(a: ConnectionAdmission, user: string, total: Limits, perUser: Limits, max = 10_000): number {
  let n = 0;
  while (n < max && a.admit(user, total, perUser) === undefined) n++;
  return n;
}

test('the board limits (total 200, user 100): one address holds 108, another still gets in', () => {
  const total = { clients: 200 }, user = { clients: 100 };
  const a = new ConnectionAdmission();
  assert.is(fill(a, 'ip:127.0.0.1', total, user), 100 + USER_PENDING_CONNECTIONS);
  assert.equal(a.admit('ip:127.0.0.1', total, user), { scope: 'user', held: 108, limit: 108 });
  assert.is(fill(a, 'ip:127.0.0.2', total, user), 92, 'the rest of the total is left for the others');
  assert.equal(a.admit('ip:127.0.0.3', total, user), { scope: 'total', held: 200, limit: 200 });
  assert.is(a.size, 200);
});

test('a per-user limit as high as the total still leaves an eighth of it to the others', () => {
  const a = new ConnectionAdmission();
  assert.is(fill(a, 'x', { clients: 64 }, { clients: 64 }), 56);
  assert.is(fill(a, 'y', { clients: 64 }, { clients: 64 }), 8);
  assert.is(userConnectionCap({ clients: 1 }, { clients: 1 }), 1, 'a one-connection domain still admits one');
  assert.is(userConnectionCap({ clients: 0 }, { clients: 5 }), 0);
});

test('without a per-user limit one user may fill the total (conformance H14)', () => {
  const a = new ConnectionAdmission();
  assert.is(userConnectionCap({ clients: 250 }, {}), undefined);
  assert.is(fill(a, 'x', { clients: 250 }, {}), 250);
  assert.equal(a.admit('y', { clients: 250 }, {}), { scope: 'total', held: 250, limit: 250 });
});

test('a user limit far below the total is the binding one', () => {
  assert.is(userConnectionCap({ clients: 200 }, { clients: 10 }), 18);
  assert.is(userConnectionCap({}, { clients: 0 }), USER_PENDING_CONNECTIONS, 'a refused hello can still be answered');
  assert.is(userConnectionCap({}, {}), undefined);
  const a = new ConnectionAdmission();
  assert.is(fill(a, 'u', {}, {}, 5000), 5000, 'no limits: everything is admitted');
});

test('release frees the slot of that user only; releasing what is not held throws', () => {
  const total = { clients: 16 }, user = { clients: 2 };
  const a = new ConnectionAdmission();
  assert.is(fill(a, 'a', total, user), 10);
  a.release('a');
  assert.is(a.held('a'), 9);
  assert.is(a.admit('a', total, user), undefined);
  for (let i = 0; i < 10; i++) a.release('a');
  assert.is(a.held('a'), 0);
  assert.is(a.size, 0);
  assert.throws(() => a.release('a'), /does not hold/);
});

test('a lowered limit (reload) keeps what is open and refuses new ones until usage drops', () => {
  const a = new ConnectionAdmission();
  assert.is(fill(a, 'a', {}, { clients: 10 }), 18);
  assert.equal(a.admit('a', {}, { clients: 2 }), { scope: 'user', held: 18, limit: 10 });
  assert.is(a.held('a'), 18);
});

test.run();
