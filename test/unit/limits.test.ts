// ResourceLimits (docs/semantics.md §8.2): per-domain totals and per-user
// limits for clients, services and subscriptions; absent = unlimited,
// 0 forbids, refused when the count equals the limit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ResourceLimits } from '../../src/core/limits';
import type { Resource } from '../../src/core/limits';

const KINDS: Resource[] = ['clients', 'services', 'subscriptions'];

function allocateN(limits: ResourceLimits, kind: Resource, user: string, n: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) if (limits.tryAllocate(kind, user)) granted++;
  return granted;
}

test('no limits: everything is granted and counted', () => {
  const limits = new ResourceLimits();
  for (const kind of KINDS) assert.is(allocateN(limits, kind, 'u', 1000), 1000);
  for (const kind of KINDS) {
    assert.is(limits.count(kind), 1000);
    assert.is(limits.userCount(kind, 'u'), 1000);
    assert.is(limits.userCount(kind, 'nobody'), 0);
  }
});

test('a total limit is shared by all users and refuses at equality', () => {
  const limits = new ResourceLimits({ services: 3 });
  assert.ok(limits.tryAllocate('services', 'u1'));
  assert.ok(limits.tryAllocate('services', 'u2'));
  assert.ok(limits.tryAllocate('services', 'u1'));
  assert.not.ok(limits.tryAllocate('services', 'u3'));
  assert.not.ok(limits.tryAllocate('services', 'u1'));
  assert.is(limits.count('services'), 3);
  assert.is(limits.userCount('services', 'u1'), 2);
  assert.is(limits.userCount('services', 'u3'), 0);
  assert.ok(limits.tryAllocate('clients', 'u3'), 'other kinds are unaffected');
});

test('a per-user limit applies to each user separately', () => {
  const limits = new ResourceLimits({}, { subscriptions: 2 });
  assert.is(allocateN(limits, 'subscriptions', 'u1', 5), 2);
  assert.is(allocateN(limits, 'subscriptions', 'u2', 5), 2);
  assert.is(limits.count('subscriptions'), 4);
  assert.is(allocateN(limits, 'services', 'u1', 5), 5);
});

test('both limits: the lower one binds', () => {
  const limits = new ResourceLimits({ clients: 3 }, { clients: 2 });
  assert.is(allocateN(limits, 'clients', 'u1', 5), 2);
  assert.is(allocateN(limits, 'clients', 'u2', 5), 1, 'the total runs out first');
  assert.is(limits.count('clients'), 3);
});

test('0 forbids the resource, totally or per user', () => {
  const total = new ResourceLimits({ clients: 0 });
  assert.not.ok(total.tryAllocate('clients', 'u'));
  assert.ok(total.tryAllocate('services', 'u'));
  const perUser = new ResourceLimits({}, { services: 0 });
  assert.not.ok(perUser.tryAllocate('services', 'u'));
  assert.ok(perUser.tryAllocate('clients', 'u'));
  assert.is(total.count('clients'), 0);
  assert.is(perUser.count('services'), 0);
});

test('a refused allocation leaves no trace', () => {
  const limits = new ResourceLimits({}, { services: 0 });
  assert.not.ok(limits.tryAllocate('services', 'u'));
  assert.equal([...limits.usage()], []);
  const full = new ResourceLimits({ services: 1 });
  full.tryAllocate('services', 'u1');
  assert.not.ok(full.tryAllocate('services', 'u2'));
  assert.equal([...full.usage()].map(([u]) => u), ['u1']);
});

test('release frees the resource for the same or another user', () => {
  const limits = new ResourceLimits({ services: 1 }, { subscriptions: 1 });
  assert.ok(limits.tryAllocate('services', 'u1'));
  assert.not.ok(limits.tryAllocate('services', 'u2'));
  limits.release('services', 'u1');
  assert.is(limits.count('services'), 0);
  assert.ok(limits.tryAllocate('services', 'u2'));

  assert.ok(limits.tryAllocate('subscriptions', 'u1'));
  assert.not.ok(limits.tryAllocate('subscriptions', 'u1'));
  limits.release('subscriptions', 'u1');
  assert.ok(limits.tryAllocate('subscriptions', 'u1'));
});

test('usage lists users holding resources and forgets them when all is released', () => {
  const limits = new ResourceLimits();
  limits.tryAllocate('clients', 'u1');
  limits.tryAllocate('services', 'u1');
  limits.tryAllocate('services', 'u2');
  const usage = new Map([...limits.usage()].map(([u, c]) => [u, { ...c }]));
  assert.equal(usage.get('u1'), { clients: 1, services: 1, subscriptions: 0 });
  assert.equal(usage.get('u2'), { clients: 0, services: 1, subscriptions: 0 });
  limits.release('clients', 'u1');
  assert.equal([...limits.usage()].map(([u]) => u).sort(), ['u1', 'u2'], 'u1 still holds a service');
  limits.release('services', 'u1');
  limits.release('services', 'u2');
  assert.equal([...limits.usage()], []);
  for (const kind of KINDS) assert.is(limits.count(kind), 0);
});

test('releasing what was not allocated throws and changes nothing', () => {
  const limits = new ResourceLimits();
  assert.throws(() => limits.release('clients', 'ghost'), /unallocated clients/);
  limits.tryAllocate('services', 'u');
  assert.throws(() => limits.release('clients', 'u'), /unallocated/);
  assert.throws(() => limits.release('services', 'other'), /unallocated/);
  assert.is(limits.count('services'), 1);
  assert.is(limits.count('clients'), 0);
  limits.release('services', 'u');
  assert.throws(() => limits.release('services', 'u'), /unallocated/, 'a double release');
  assert.is(limits.count('services'), 0);
});

test.run();
