// The memory budget as it should be, recomputed from what a directory
// holds: the reference the accounting tests (test/unit/budget.test.ts,
// test/unit/prop-budget.test.ts) compare the directory's running charges
// with.

import * as assert from 'uvu/assert';
import { countFilterNodes, measureProps, serviceBytes, subscriptionBytes } from '../../src/core/budget';
import type { Directory } from '../../src/core/directory';

/** What the directory should have charged, recomputed from what it holds. */
export function recomputed(directory: Directory): { total: number; users: Map<string, number> } {
  const users = new Map<string, number>();
  let total = 0;
  const add = (user: string, bytes: number) => { total += bytes; users.set(user, (users.get(user) ?? 0) + bytes); };
  for (const s of directory.services.values()) add(s.user, serviceBytes(measureProps(s.props)));
  for (const sub of directory.subscriptions.values()) {
    add(sub.session.user, subscriptionBytes(sub.filterText?.length ?? 0, sub.filter === null ? 0 : countFilterNodes(sub.filter)));
  }
  return { total, users };
}

/** Fails unless the directory's charges equal the recomputation, in total, by kind and per user. */
export function assertConsistent(directory: Directory): void {
  const expected = recomputed(directory);
  const budget = directory.budget;
  assert.is(budget.bytes, expected.total, 'domain total');
  assert.is(budget.byKind.services + budget.byKind.subscriptions, expected.total, 'by kind');
  for (const [user, bytes] of expected.users) assert.is(budget.userBytes(user), bytes, `user ${user}`);
  for (const account of budget.usage()) assert.is(account.bytes, expected.users.get(account.user) ?? 0, `account ${account.user}`);
}

