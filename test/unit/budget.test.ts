// Memory budgets (src/core/budget.ts) and their use by the directory:
// every path that makes pafd keep something charges its estimated bytes
// to the user and the domain, and every path that lets it go releases
// exactly that. Also the size counts the estimates are built from
// (decodeProps, the filter parser) and the `memory` size syntax.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MemoryBudget, countFilterNodes, defaultMemoryLimits, measureProps, serviceBytes, subscriptionBytes,
} from '../../src/core/budget';
import type { PropsSize } from '../../src/core/budget';
import { MAX_NOTIFICATION_BYTES } from '../../src/core/directory';
import { FilterLimitError, FilterSyntaxError, MAX_FILTER_COMPARISONS, MAX_FILTER_NODES, formatFilter, parseFilter } from '../../src/core/filter';
import type { FilterShape } from '../../src/core/filter';
import { parseJson } from '../../src/protocol/json';
import type { JsonObject } from '../../src/protocol/json';
import { parseMemorySize } from '../../src/config/config';
import { decodeProps } from '../../src/protocol/schema';
import { World, notifiedProps, props } from '../helpers/core-fixtures';
import { propsEqual } from '../../src/protocol/props';
import { encodeProps } from '../../src/protocol/encode';
import { assertConsistent } from '../helpers/budget';

function world(total?: number, user?: number): World {
  const w = new World();
  const limits: { total?: number; user?: number } = {};
  if (total !== undefined) limits.total = total;
  if (user !== undefined) limits.user = user;
  w.directory.budget.limits = limits;
  return w;
}

// ---------------------------------------------------------------------------
const budget = suite('MemoryBudget');

budget('charges to user and domain; refuses over either limit, naming it; charges nothing then', () => {
  const b = new MemoryBudget({ total: 1000, user: 600 });
  assert.is(b.tryCharge('a', 'services', 500), undefined);
  assert.is(b.tryCharge('a', 'services', 101), 'user');
  assert.is(b.tryCharge('b', 'subscriptions', 501), 'total');
  assert.is(b.tryCharge('b', 'subscriptions', 400), undefined);
  assert.is(b.bytes, 900);
  assert.is(b.userBytes('a'), 500);
  assert.is(b.userBytes('b'), 400);
  assert.equal(b.byKind, { services: 500, subscriptions: 400, buffers: 0 });
  assert.match(b.describe('user', 'a'), /memory budget of user a \(500 of 600 bytes used\)/);
  assert.match(b.describe('total', 'a'), /domain memory budget \(900 of 1000 bytes used\)/);
  assert.is(b.tryCharge('c', 'services', 101), 'total');
  assert.equal([...b.usage()].map((x) => x.user), ['a', 'b'], 'a refused user leaves no account');
  b.release('a', 'services', 500);
  assert.is(b.userBytes('a'), 0);
  assert.equal([...b.usage()].map((x) => x.user), ['b'], 'an empty account is forgotten');
  assert.throws(() => b.release('b', 'services', 1), /not charged/);
});

budget('no limits: everything is charged', () => {
  const b = new MemoryBudget();
  assert.is(b.tryCharge('a', 'services', 1e12), undefined);
  assert.is(b.bytes, 1e12);
});

budget('buffers are adjusted without a check, kept while held, and make the account over', () => {
  const b = new MemoryBudget({ total: 1000, user: 100 });
  const a = b.hold('a');
  b.adjust(a, 'buffers', 150);
  assert.is(b.over(a), 'user');
  assert.is(b.tryCharge('a', 'services', 1), 'user', 'buffers count against the budget of new services');
  b.adjust(a, 'buffers', -150);
  assert.is(b.over(a), undefined);
  assert.equal([...b.usage()].map((x) => x.user), ['a'], 'a held account stays while empty');
  b.unhold(a);
  assert.equal([...b.usage()], []);
  const c = b.hold('c');
  b.adjust(c, 'buffers', 1001);
  assert.is(b.over(c), 'total');
});

budget('defaults follow the heap: half of it, split between domains; a user gets half of a domain', () => {
  assert.equal(defaultMemoryLimits(100 << 20, 1), { total: 50 << 20, user: 25 << 20 });
  assert.equal(defaultMemoryLimits(100 << 20, 2), { total: 25 << 20, user: 12.5 * (1 << 20) });
  assert.equal(defaultMemoryLimits(1000, 0), { total: 500, user: 250 });
});

budget('memory sizes: bytes or K/M/G (binary), as systemd takes them', () => {
  assert.is(parseMemorySize('24M'), 24 * 1024 * 1024);
  assert.is(parseMemorySize('24MiB'), 24 * 1024 * 1024);
  assert.is(parseMemorySize('24mb'), 24 * 1024 * 1024);
  assert.is(parseMemorySize('512K'), 512 * 1024);
  assert.is(parseMemorySize('2G'), 2 * 1024 ** 3);
  assert.is(parseMemorySize('1000'), 1000);
  assert.is(parseMemorySize('1000B'), 1000);
  assert.is(parseMemorySize(' 8 M '), 8 << 20);
  for (const bad of ['', 'M', '1.5M', '-1M', '24X', '24 MBs', '9'.repeat(40), '2000000T', '2000000G']) {
    assert.is(parseMemorySize(bad), undefined, bad);
  }
});

// ---------------------------------------------------------------------------
const sizes = suite('size counts');

sizes('decodeProps counts what it keeps, the same as measureProps', () => {
  const wire = parseJson('{"name":["svc","svc","é\\u0001"],"port":[80,80,443],"x":[],"one":["v"],"n":[7]}') as JsonObject;
  const size: PropsSize = { names: -1, values: -1, chars: -1 };
  const p = decodeProps(wire, size);
  assert.equal(size, measureProps(p));
  assert.equal(size, { names: 4, values: 6, chars: 4 + 3 + 2 + 4 + 3 + 1 + 1 });
});

sizes('the parser counts the nodes countFilterNodes counts', () => {
  for (const text of ['(a=b)', '(&(a=b)(c=*))', '(|(!(a=*x*y*z))(b>5)(c<-3))', '(a=x*y*)', '(&(|(a=1)(b=2))(!(c=d)))']) {
    const shape: FilterShape = { nodes: 0 };
    const f = parseFilter(text, shape);
    assert.is(shape.nodes, countFilterNodes(f), text);
  }
});

sizes('filters past the comparison or node caps are refused as too large, not as bad syntax', () => {
  const many = (n: number) => '(|' + '(k=*)'.repeat(n) + ')';
  parseFilter(many(MAX_FILTER_COMPARISONS));
  const tooLarge = (e: unknown) => e instanceof FilterLimitError && !(e instanceof FilterSyntaxError);
  assert.throws(() => parseFilter(many(MAX_FILTER_COMPARISONS + 1)), tooLarge);
  assert.throws(() => parseFilter('(|' + '(k=*)'.repeat(12000) + ')'), tooLarge);
  // Few comparisons, many substring parts: the node cap.
  const parts = '(|' + Array.from({ length: 10 }, () => '(k=*' + 'a*'.repeat(MAX_FILTER_NODES / 10) + ')').join('') + ')';
  assert.throws(() => parseFilter(parts), /more than 4000 nodes/);
});

sizes('integer operands longer than any 64-bit value are syntax errors, never echoed', () => {
  parseFilter('(a>-9223372036854775808)');
  parseFilter('(a<18446744073709551615)');
  const long = '1'.repeat(100_000);
  try {
    parseFilter(`(a>${long})`);
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, FilterSyntaxError);
    assert.ok((err as Error).message.length < 200, (err as Error).message);
  }
  assert.throws(() => parseFilter('(a>123456789012345678901)'), /longer than any 64-bit value/);
});

// ---------------------------------------------------------------------------
const paths = suite('directory accounting');

paths('publish charges the service; unpublish releases it', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  const p = props({ name: 'billing', port: [80n, 443n] });
  assert.is(w.publish(a, 10n, 1n, p), undefined);
  assert.is(w.directory.budget.userBytes('ua'), serviceBytes(measureProps(p)));
  assertConsistent(w.directory);
  assert.is(w.directory.unpublish(a.session, 10n), undefined);
  assert.is(w.directory.budget.bytes, 0);
  assertConsistent(w.directory);
});

paths('republish with other props charges the difference, up or down; the same generation changes nothing', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  w.publish(a, 10n, 1n, props({ name: 'x' }));
  w.publish(a, 10n, 2n, props({ name: 'x'.repeat(1000), more: 'y' }));
  assertConsistent(w.directory);
  const big = w.directory.budget.bytes;
  w.publish(a, 10n, 2n, props({ name: 'x'.repeat(1000), more: 'y' }));
  assert.is(w.directory.budget.bytes, big);
  w.publish(a, 10n, 3n, props({ name: 'z' }));
  assert.ok(w.directory.budget.bytes < big);
  assertConsistent(w.directory);
});

paths('a republish over the budget fails insufficient-resources and leaves the service as it was', () => {
  const small = props({ name: 'x' });
  const w = world(undefined, serviceBytes(measureProps(small)) + 1000);
  const a = w.connect(1n, 'ua');
  const b = w.connect(2n, 'ub');
  w.watch(b, 1n);
  b.take();
  assert.is(w.publish(a, 10n, 1n, small), undefined);
  b.take();
  assert.is(w.publish(a, 10n, 2n, props({ name: 'x'.repeat(1000) })), 'insufficient-resources');
  assert.match(w.directory.refusal, /memory budget of user ua/);
  const s = w.directory.services.get(10n)!;
  assert.is(s.generation, 1n);
  assert.is(s.props, small);
  assert.equal(b.take(), [], 'subscribers saw nothing');
  assertConsistent(w.directory);
});

paths('orphan expiry releases; the orphan stays charged until then', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  w.publish(a, 10n, 1n, props({ name: 'x' }), 5n);
  const charged = w.directory.budget.bytes;
  w.disconnect(a);
  assert.is(w.directory.budget.bytes, charged);
  assertConsistent(w.directory);
  w.clock.advance(6);
  assert.is(w.directory.expireOrphans(), 1);
  assert.is(w.directory.budget.bytes, 0);
  assertConsistent(w.directory);
});

paths('a takeover by another client of the same user keeps the one charge', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  const a2 = w.connect(2n, 'ua');
  w.publish(a, 10n, 1n, props({ name: 'x' }));
  const charged = w.directory.budget.bytes;
  assert.is(w.publish(a2, 10n, 1n, props({ name: 'x' })), undefined);
  assert.is(w.directory.services.get(10n)!.owner.id, 2n);
  assert.is(w.directory.budget.bytes, charged);
  assert.is(w.publish(a2, 10n, 2n, props({ name: 'y'.repeat(50) })), undefined, 'takeover with new props');
  assertConsistent(w.directory);
  w.disconnect(a);
  w.disconnect(a2);
  assertConsistent(w.directory);
});

paths('subscribe charges the parsed filter; unsubscribe and disconnect release it', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  w.watch(a, 1n, '(&(name=billing)(|(port>80)(zone=*eu*)))');
  w.watch(a, 2n);
  const f = parseFilter('(&(name=billing)(|(port>80)(zone=*eu*)))');
  assert.is(w.directory.budget.userBytes('ua'), subscriptionBytes(formatFilter(f).length, countFilterNodes(f)) + subscriptionBytes(0, 0));
  assertConsistent(w.directory);
  assert.is(w.directory.unsubscribe(a.session, 1n), undefined);
  assertConsistent(w.directory);
  w.disconnect(a);
  assert.is(w.directory.budget.bytes, 0);
});

paths('over the budget: insufficient-resources, the budget named, earlier services and subscriptions kept', () => {
  const p = (i: number) => props({ name: `svc-${i}`, blob: 'b'.repeat(1000) });
  const one = serviceBytes(measureProps(p(0)));
  const w = world(9 * one + 10, 3 * one);
  const a = w.connect(1n, 'ua');
  const b = w.connect(2n, 'ub');
  for (let i = 0; i < 3; i++) assert.is(w.publish(a, BigInt(100 + i), 1n, p(i)), undefined);
  assert.is(w.publish(a, 199n, 1n, p(9)), 'insufficient-resources');
  assert.match(w.directory.refusal, /^memory budget of user ua/);
  assert.is(w.subscribe(a, 5n, '(name=svc-1)'), 'insufficient-resources');
  assert.is(w.directory.services.size, 3);
  assert.is(w.directory.limits.count('services'), 3, 'the refused service holds no count either');
  for (let i = 0; i < 3; i++) assert.is(w.publish(b, BigInt(200 + i), 1n, p(i)), undefined);
  const c = w.connect(3n, 'uc');
  for (let i = 0; i < 3; i++) assert.is(w.publish(c, BigInt(300 + i), 1n, p(i)), undefined);
  const d = w.connect(4n, 'ud');
  assert.is(w.publish(d, 400n, 1n, p(0)), 'insufficient-resources');
  assert.match(w.directory.refusal, /^domain memory budget/);
  assertConsistent(w.directory);
});

paths('a service whose notification would exceed 65,535 bytes is refused; one that fits is kept', () => {
  const w = world();
  const a = w.connect(1n, 'ua');
  const sub = w.connect(2n, 'ub');
  w.watch(sub, 1n);
  sub.take();
  assert.is(w.publish(a, 10n, 1n, props({ blob: 'x'.repeat(MAX_NOTIFICATION_BYTES) })), 'insufficient-resources');
  assert.match(w.directory.refusal, /notification larger than 65535 bytes/);
  // Escapes count: 12,000 control characters take 72,000 bytes serialized.
  assert.is(w.publish(a, 11n, 1n, props({ blob: '\u0001'.repeat(12_000) })), 'insufficient-resources');
  assert.is(w.publish(a, 12n, 1n, props({ blob: 'x'.repeat(60_000) })), undefined);
  const [note] = sub.sent;
  assert.ok(Buffer.byteLength(note!) <= MAX_NOTIFICATION_BYTES, `${Buffer.byteLength(note!)}`);
  // The text serialized for the size check is the one notified: the same props.
  assert.ok(propsEqual(notifiedProps(parseJson(note!) as JsonObject), props({ blob: 'x'.repeat(60_000) })));
  assert.is(w.publish(a, 12n, 2n, props({ blob: 'z'.repeat(60_000) })), undefined, 'a near-limit republish');
  assert.ok(propsEqual(notifiedProps(parseJson(sub.sent[1]!) as JsonObject), props({ blob: 'z'.repeat(60_000) })));
  assert.is(w.directory.services.get(12n)!.propsJson, encodeProps(props({ blob: 'z'.repeat(60_000) })));
  assert.is(w.publish(a, 12n, 3n, props({ blob: 'y'.repeat(70_000) })), 'insufficient-resources', 'republish too');
  assert.is(w.directory.services.get(12n)!.generation, 2n);
  assertConsistent(w.directory);
});

paths('the estimates bound what was measured (docs/RELIABILITY.md): 60 KB props, tiny props', () => {
  // Measured heap per service with the real input path: 180 KB for 60 KB
  // of one string, 663 KB for 60 KB of 6,600 one-character props.
  const bigString = serviceBytes({ names: 2, values: 2, chars: 60_000 });
  assert.ok(bigString >= 180_000, `${bigString}`);
  const tiny = serviceBytes({ names: 6600, values: 6600, chars: 6600 * 2 });
  assert.ok(tiny >= 663_000, `${tiny}`);
  // 416 KB for 12,000 integer values of one name.
  assert.ok(serviceBytes({ names: 1, values: 11849, chars: 1 }) >= 416_000);
  // 245 KB for 1,000 `(a=N)` comparisons, 275 KB on 1,000 distinct keys.
  assert.ok(subscriptionBytes(6890, 1001) >= 245_000);
  assert.ok(subscriptionBytes(7890, 1001) >= 275_000);
});

budget.run();
sizes.run();
paths.run();
