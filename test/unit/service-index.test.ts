import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServiceIndex, MAX_INDEXED_NAMES } from '../../src/core/service-index';
import { guardOf } from '../../src/core/filter-guard';
import { parseFilter } from '../../src/core/filter';
import { makeProps, type Props, type PropValue } from '../../src/protocol/props';

interface Svc { props: Props; seq: number; id: string }

let seq = 0;
function svc(id: string, props: Record<string, PropValue[]>): Svc {
  return { id, seq: seq++, props: makeProps(Object.entries(props)) };
}

function guard(text: string) {
  return guardOf(parseFilter(text));
}

function ids(out: Svc[] | null): string[] | null {
  return out === null ? null : out.map((s) => s.id);
}

function directory(n: number): Svc[] {
  const all: Svc[] = [];
  for (let i = 0; i < n; i++) all.push(svc(`s${i}`, { name: [`n${i}`], color: [i % 2 ? 'red' : 'green'], port: [BigInt(i % 10)] }));
  return all;
}

test('equality on a unique name finds the one service, indexing the name on first use', () => {
  const all = directory(100);
  const idx = new ServiceIndex<Svc>();
  assert.is(idx.indexedNames, 0);
  assert.equal(ids(idx.candidates(guard('(name=n42)'), all, all.length)), ['s42']);
  assert.is(idx.indexedNames, 1);
  assert.equal(ids(idx.candidates(guard('(name=nothing)'), all, all.length)), []);
});

test('no guard, a presence atom or a negation means scan (null)', () => {
  const all = directory(10);
  const idx = new ServiceIndex<Svc>();
  assert.is(idx.candidates(null, all, all.length), null);
  assert.is(idx.candidates(guard('(name=*)'), all, all.length), null);
  assert.is(idx.candidates(guard('(!(name=n1))'), all, all.length), null);
  assert.is(idx.candidates(guard('(name=n*)'), all, all.length), null);
});

test('too many candidates means scan', () => {
  const all = directory(100);
  const idx = new ServiceIndex<Svc>();
  // half the directory is green
  assert.is(idx.candidates(guard('(color=green)'), all, all.length), null);
  assert.equal(ids(idx.candidates(guard('(port=3)'), all, all.length)), ['s3', 's13', 's23', 's33', 's43', 's53', 's63', 's73', 's83', 's93']);
});

test('an or of names gives each service once, in publish order', () => {
  const all = directory(100);
  const idx = new ServiceIndex<Svc>();
  assert.equal(ids(idx.candidates(guard('(|(name=n7)(name=n3)(name=n7))'), all, all.length)), ['s3', 's7']);
  // integer and string values with one text: filed once
  const dup = svc('dup', { name: ['5', 5n] });
  const idx2 = new ServiceIndex<Svc>();
  assert.equal(ids(idx2.candidates(guard('(name=5)'), [dup], 1000)), ['dup']);
});

test('added, changed and removed services keep the index current', () => {
  const all = directory(20);
  const idx = new ServiceIndex<Svc>();
  assert.equal(ids(idx.candidates(guard('(name=x)'), all, 1000)), []);
  const x = svc('x', { name: ['x'] });
  all.push(x); idx.added(x);
  const y = svc('y', { name: ['x', 'y'] });
  all.push(y); idx.added(y);
  assert.equal(ids(idx.candidates(guard('(name=x)'), all, 1000)), ['x', 'y']);
  const before = y.props;
  y.props = makeProps([['name', ['z']]]);
  idx.changed(y, before);
  assert.equal(ids(idx.candidates(guard('(name=x)'), all, 1000)), ['x']);
  assert.equal(ids(idx.candidates(guard('(name=z)'), all, 1000)), ['y']);
  idx.removed(x);
  assert.equal(ids(idx.candidates(guard('(name=x)'), all, 1000)), []);
  // a bucket that shrank back to one service still works
  const a = svc('a', { tag: ['t'] }), b = svc('b', { tag: ['t'] });
  idx.candidates(guard('(tag=t)'), [], 1000);
  idx.added(a); idx.added(b); idx.removed(a);
  assert.equal(ids(idx.candidates(guard('(tag=t)'), [b], 1000)), ['b']);
  idx.removed(b);
  assert.equal(ids(idx.candidates(guard('(tag=t)'), [], 1000)), []);
});

test(`at most ${MAX_INDEXED_NAMES} names are indexed; while all are in use a subscribe scans`, () => {
  const all = [svc('m', Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, ['v']])))];
  const idx = new ServiceIndex<Svc>();
  for (let i = 0; i < MAX_INDEXED_NAMES; i++) {
    idx.retain(guard(`(k${i}=v)`));
    assert.equal(ids(idx.candidates(guard(`(k${i}=v)`), all, 100)), ['m']);
  }
  idx.retain(guard(`(k${MAX_INDEXED_NAMES}=v)`));
  assert.is(idx.candidates(guard(`(k${MAX_INDEXED_NAMES}=v)`), all, 100), null);
  assert.is(idx.indexedNames, MAX_INDEXED_NAMES);
});

test('junk subscriptions, once gone, do not keep the index full: an unused name makes room', () => {
  const all = [svc('m', Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, ['v']])))];
  const idx = new ServiceIndex<Svc>();
  // A client fills every slot with names nobody else uses, then leaves.
  for (let i = 0; i < MAX_INDEXED_NAMES; i++) {
    idx.retain(guard(`(k${i}=v)`));
    idx.candidates(guard(`(k${i}=v)`), all, 100);
  }
  for (let i = 0; i < MAX_INDEXED_NAMES; i++) idx.release(guard(`(k${i}=v)`));
  idx.retain(guard('(k11=v)'));
  assert.equal(ids(idx.candidates(guard('(k11=v)'), all, 100)), ['m'], 'indexed, not a scan');
  assert.is(idx.indexedNames, MAX_INDEXED_NAMES);
  // The oldest unused name goes first; a name in use is never dropped.
  idx.release(guard('(k11=v)'));
  idx.retain(guard('(k1=v)'));
  idx.retain(guard('(k1=v)'));
  idx.release(guard('(k1=v)'));
  idx.retain(guard('(k10=v)'));
  assert.equal(ids(idx.candidates(guard('(k10=v)'), all, 100)), ['m']);
  assert.ok(idx.indexes('k1'), 'k1 is in use: kept');
  assert.not.ok(idx.indexes('k2'), 'k2 was the oldest unused name');
  assert.ok(idx.indexes('k10'));
  assert.is(idx.indexedNames, MAX_INDEXED_NAMES);
});

test.run();
