import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchEventToJSON, propsToJSON } from '../../src/client/json-safe';
import { makeProps } from '../../src/protocol/props';

test('propsToJSON: integers as numbers in the safe range, as text outside, order kept', () => {
  const props = makeProps([['name', ['billing']], ['port', [80n, 443n]], ['big', [2n ** 53n, -(2n ** 63n)]], ['edge', [2n ** 53n - 1n, -(2n ** 53n - 1n)]]]);
  const plain = propsToJSON(props);
  assert.equal(plain, { name: ['billing'], port: [80, 443], big: ['9007199254740992', '-9223372036854775808'], edge: [9007199254740991, -9007199254740991] });
  assert.is(JSON.stringify(plain), '{"name":["billing"],"port":[80,443],"big":["9007199254740992","-9223372036854775808"],"edge":[9007199254740991,-9007199254740991]}');
  assert.equal(propsToJSON(props, { bigint: 'string' }).port, ['80', '443']);
});

test('propsToJSON: a property named __proto__ stays a property', () => {
  const plain = propsToJSON(makeProps([['__proto__', ['x']], ['constructor', [1n]]]));
  assert.equal(Object.keys(plain), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.is(JSON.stringify(plain), '{"__proto__":["x"],"constructor":[1]}');
});

test('matchEventToJSON: hex service id, decimal generation, orphanSince only when set', () => {
  const base = { type: 'modified' as const, serviceId: 0x1f2en, props: makeProps([['a', [1n]]]), ttl: 30, generation: 2n ** 62n };
  assert.equal(matchEventToJSON(base), { type: 'modified', serviceId: '0x1f2e', props: { a: [1] }, ttl: 30, generation: '4611686018427387904' });
  assert.is(matchEventToJSON({ ...base, orphanSince: 1700000000.5 }).orphanSince, 1700000000.5);
  assert.not.throws(() => JSON.stringify(matchEventToJSON(base)));
});

test.run();
