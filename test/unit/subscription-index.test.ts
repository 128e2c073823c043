import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SubscriptionIndex } from '../../src/core/subscription-index';
import { parseFilter, matchFilter, type Filter } from '../../src/core/filter';
import { makeProps, type Props, type PropValue } from '../../src/protocol/props';
import { prng } from '../helpers/prng';


/** Visits per item in one call; fails on a double visit. */
function candidates<T>(index: SubscriptionIndex<T>, props: Props, other?: Props): Set<T> {
  const seen = new Set<T>();
  const visit = (item: T) => {
    assert.not.ok(seen.has(item), `item ${String(item)} visited twice`);
    seen.add(item);
  };
  if (other) index.forEachCandidate2(props, other, visit);
  else index.forEachCandidate(props, visit);
  return seen;
}

// Tiny vocabularies so random filters and random services collide often.
const KEYS = ['a', 'b', 'c', 'd'];
const STRINGS = ['1', '2', 'x', 'xy', '-1'];
const INTS = [-1n, 0n, 1n, 2n];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function randomFilter(rnd: () => number, depth: number): Filter {
  const roll = rnd();
  if (depth > 0 && roll < 0.35) {
    const operands: Filter[] = [];
    const n = 2 + Math.floor(rnd() * 2);
    for (let i = 0; i < n; i++) operands.push(randomFilter(rnd, depth - 1));
    return { op: rnd() < 0.5 ? 'and' : 'or', operands };
  }
  if (depth > 0 && roll < 0.45) return { op: 'not', operand: randomFilter(rnd, depth - 1) };
  const key = pick(rnd, KEYS);
  switch (Math.floor(rnd() * 5)) {
    case 0: return { op: 'eq', key, value: pick(rnd, STRINGS) };
    case 1: return { op: 'present', key };
    case 2: return { op: 'gt', key, value: pick(rnd, INTS) };
    case 3: return { op: 'lt', key, value: pick(rnd, INTS) };
    default: return { op: 'substring', key, initial: rnd() < 0.5 ? 'x' : null, middle: [], final: rnd() < 0.5 ? '1' : 'y' };
  }
}

function randomProps(rnd: () => number): Props {
  const entries: Array<[string, PropValue[]]> = [];
  for (const key of KEYS) {
    if (rnd() < 0.5) continue;
    const values: PropValue[] = [];
    const n = 1 + Math.floor(rnd() * 2);
    for (let i = 0; i < n; i++) values.push(rnd() < 0.5 ? pick(rnd, STRINGS) : pick(rnd, INTS));
    entries.push([key, values]);
  }
  return makeProps(entries);
}

test('every matching item is a candidate, none twice (random, seeded)', () => {
  const rnd = prng(2024);
  const index = new SubscriptionIndex<number>();
  const filters = new Map<number, Filter | null>();
  for (let id = 0; id < 400; id++) {
    const f = rnd() < 0.05 ? null : randomFilter(rnd, 3);
    filters.set(id, f);
    index.add(id, f);
  }
  assert.is(index.size, 400);
  let matched = 0;
  let visited = 0;
  for (let round = 0; round < 500; round++) {
    const props = randomProps(rnd);
    const seen = candidates(index, props);
    visited += seen.size;
    for (const [id, f] of filters) {
      if (f === null || matchFilter(f, props)) {
        matched++;
        assert.ok(seen.has(id), `item ${id} matches but was not visited`);
      }
    }
    // Churn: replace a few filters, drop and re-add a few items.
    for (let k = 0; k < 5; k++) {
      const id = Math.floor(rnd() * 400);
      if (filters.has(id) && rnd() < 0.5) {
        index.remove(id);
        filters.delete(id);
      } else {
        const f = randomFilter(rnd, 3);
        index.add(id, f);
        filters.set(id, f);
      }
    }
    assert.is(index.size, filters.size);
  }
  assert.ok(matched > 10_000, `only ${matched} matches: the test is too weak`);
  // The index must actually prune: far fewer visits than items × rounds.
  assert.ok(visited < 0.9 * 400 * 500, `visited ${visited}`);
});

test('forEachCandidate2 covers matches of either prop set, none twice (random, seeded)', () => {
  const rnd = prng(77);
  const index = new SubscriptionIndex<number>();
  const filters: Array<Filter | null> = [];
  for (let id = 0; id < 300; id++) {
    const f = rnd() < 0.05 ? null : randomFilter(rnd, 3);
    filters.push(f);
    index.add(id, f);
  }
  for (let round = 0; round < 300; round++) {
    const before = randomProps(rnd);
    const after = randomProps(rnd);
    const seen = candidates(index, before, after);
    filters.forEach((f, id) => {
      if (f === null || matchFilter(f, before) || matchFilter(f, after)) {
        assert.ok(seen.has(id), `item ${id} matches but was not visited`);
      }
    });
  }
  // Same props object twice is fine too.
  const p = randomProps(rnd);
  assert.equal(candidates(index, p, p), candidates(index, p));
});

test('a publish of name=x visits only subscriptions guarded by name=x', () => {
  const index = new SubscriptionIndex<string>();
  for (let i = 0; i < 1000; i++) index.add(`other${i}`, parseFilter(`(name=svc${i})`));
  index.add('exact', parseFilter('(name=x)'));
  index.add('conj', parseFilter('(&(name=x)(port>10))'));
  index.add('conj-presence-first', parseFilter('(&(port=*)(name=x))'));
  index.add('either', parseFilter('(|(name=x)(name=y))'));
  const props = makeProps([['name', ['x']], ['port', [80n]]]);
  assert.equal([...candidates(index, props)].sort(), ['conj', 'conj-presence-first', 'either', 'exact']);
  assert.is(index.size, 1004);
});

test('equality guards use the integer decimal text', () => {
  const index = new SubscriptionIndex<string>();
  index.add('eq8080', parseFilter('(port=8080)'));
  index.add('eq08080', parseFilter('(port=08080)'));
  index.add('neg', parseFilter('(w=-3)'));
  assert.equal([...candidates(index, makeProps([['port', [8080n]]]))], ['eq8080']);
  assert.equal([...candidates(index, makeProps([['port', ['8080']]]))], ['eq8080']);
  assert.equal([...candidates(index, makeProps([['w', [-3n]]]))], ['neg']);
});

test('key guards for presence, substring and comparisons; scan for negation and match-all', () => {
  const index = new SubscriptionIndex<string>();
  index.add('present', parseFilter('(a=*)'));
  index.add('substring', parseFilter('(a=x*)'));
  index.add('gt', parseFilter('(b>1)'));
  index.add('lt', parseFilter('(b<1)'));
  index.add('not', parseFilter('(!(a=1))'));
  index.add('all', null);
  index.add('or-with-not', parseFilter('(|(a=1)(!(b=*)))'));
  const none = makeProps([['z', ['1']]]);
  assert.equal([...candidates(index, none)].sort(), ['all', 'not', 'or-with-not']);
  const a = makeProps([['a', ['q']]]);
  assert.equal([...candidates(index, a)].sort(), ['all', 'not', 'or-with-not', 'present', 'substring']);
  const b = makeProps([['b', [5n]]]);
  assert.equal([...candidates(index, b)].sort(), ['all', 'gt', 'lt', 'not', 'or-with-not']);
});

test('remove forgets an item and empties its buckets; unknown items are ignored', () => {
  const index = new SubscriptionIndex<string>();
  index.add('s', parseFilter('(|(a=1)(a=1)(b=*))'));
  index.add('t', null);
  index.remove('nope');
  assert.is(index.size, 2);
  index.remove('s');
  index.remove('t');
  index.remove('s');
  assert.is(index.size, 0);
  assert.equal([...candidates(index, makeProps([['a', ['1']], ['b', ['2']]]))], []);
  // Internal buckets are dropped so keys of departed subscriptions do not accumulate.
  const internals = index as unknown as { byKey: Map<unknown, unknown>; byValue: Map<unknown, unknown> };
  assert.is(internals.byKey.size, 0);
  assert.is(internals.byValue.size, 0);
});

test('re-adding an item replaces its filter', () => {
  const index = new SubscriptionIndex<string>();
  index.add('s', parseFilter('(a=1)'));
  index.add('s', parseFilter('(a=2)'));
  assert.is(index.size, 1);
  assert.equal([...candidates(index, makeProps([['a', ['1']]]))], []);
  assert.equal([...candidates(index, makeProps([['a', ['2']]]))], ['s']);
});

test('visit may remove and add items; the call still visits each item at most once', () => {
  const index = new SubscriptionIndex<number>();
  for (let i = 0; i < 10; i++) index.add(i, parseFilter('(|(a=1)(b=*))'));
  const props = makeProps([['a', ['1']], ['b', ['1']]]);
  const seen: number[] = [];
  index.forEachCandidate(props, (i) => {
    seen.push(i);
    if (i === 0) index.remove(5);          // removed before its turn: not visited
    index.add(i, parseFilter('(a=1)'));    // re-added under the same guard: not revisited
    index.add(100 + i, null);              // added during the call: not visited by it
  });
  assert.equal(seen.sort((x, y) => x - y), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
  assert.is(index.size, 18); // 9 originals (5 removed) + 9 added
});

test('a nested candidate call is refused instead of breaking deduplication', () => {
  const index = new SubscriptionIndex<number>();
  index.add(1, null);
  const props = makeProps([]);
  assert.throws(() => index.forEachCandidate(props, () => index.forEachCandidate(props, () => {})), /re-entrant/);
  // The index is usable again afterwards.
  assert.equal([...candidates(index, props)], [1]);
});

test.run();
