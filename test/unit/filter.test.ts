import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  parseFilter, matchFilter, formatFilter, escapeFilterText, FilterSyntaxError, MAX_FILTER_DEPTH,
  type Filter,
} from '../../src/core/filter';
import { makeProps, type PropValue } from '../../src/protocol/props';
import { prng } from '../helpers/prng';

const r = String.raw;


function parseError(text: string): FilterSyntaxError {
  try {
    parseFilter(text);
  } catch (e) {
    if (e instanceof FilterSyntaxError) return e;
    throw e;
  }
  assert.unreachable(`expected a syntax error for ${JSON.stringify(text)}`);
  throw new Error('unreachable');
}

const eq = (key: string, value: string): Filter => ({ op: 'eq', key, value });
const sub = (key: string, initial: string | null, middle: string[], final: string | null): Filter =>
  ({ op: 'substring', key, initial, middle, final });

// ---------------------------------------------------------------------------
// docs/filter.md §6.1: valid inputs, their parse result and canonical form.

const parsing = suite('docs/filter.md §6.1 valid inputs');

const VALID: Array<[string, Filter, string | null]> = [
  ['(name=billing)', eq('name', 'billing'), null],
  ['(name=*)', { op: 'present', key: 'name' }, null],
  ['(name=bill*)', sub('name', 'bill', [], null), null],
  ['(name=*ing)', sub('name', null, [], 'ing'), null],
  ['(name=b*l*g)', sub('name', 'b', ['l'], 'g'), null],
  ['(name=*ill*)', sub('name', null, ['ill'], null), null],
  [r`(a\(b=c\)d)`, eq('a(b', 'c)d'), null],
  [r`(k=\*)`, eq('k', '*'), null],
  [r`(k=\\)`, eq('k', '\\'), null],
  [r`(path=/usr/\*/bin)`, eq('path', '/usr/*/bin'), null],
  ['(a=b!)', eq('a', 'b!'), null],
  ['(a!=b)', eq('a!', 'b'), null],
  ['(!(a=b))', { op: 'not', operand: eq('a', 'b') }, null],
  ['(&(a=1)(b=2)(c=3))', { op: 'and', operands: [eq('a', '1'), eq('b', '2'), eq('c', '3')] }, null],
  ['(|(a=1)(!(b=*)))', { op: 'or', operands: [eq('a', '1'), { op: 'not', operand: { op: 'present', key: 'b' } }] }, null],
  ['( a = b )', eq(' a ', ' b '), null],
  ['(port>8080)', { op: 'gt', key: 'port', value: 8080n }, null],
  ['(port<-1)', { op: 'lt', key: 'port', value: -1n }, null],
  ['(port>+007)', { op: 'gt', key: 'port', value: 7n }, '(port>7)'],
  ['(x>99999999999999999999)', { op: 'gt', key: 'x', value: 99999999999999999999n }, null],
  // §7: the new server accepts `\!` but renders a bare `!`.
  [r`(a=\!)`, eq('a', '!'), '(a=!)'],
  [r`(a\!b=c\!)`, eq('a!b', 'c!'), '(a!b=c!)'],
];

for (const [input, expected, canonical] of VALID) {
  parsing(`parses ${input}`, () => {
    const f = parseFilter(input);
    assert.equal(f, expected);
    assert.is(formatFilter(f), canonical ?? input);
  });
}

parsing('round trip: canonical(parse(s)) == s for every canonical valid input', () => {
  let checked = 0;
  for (const [input, , canonical] of VALID) {
    if (canonical !== null) continue;
    assert.is(formatFilter(parseFilter(input)), input);
    checked++;
  }
  assert.is(checked, 19);
});

parsing('non-canonical inputs canonicalise to a fixed point', () => {
  for (const [input, , canonical] of VALID) {
    if (canonical === null) continue;
    assert.is(formatFilter(parseFilter(canonical)), canonical, input);
    assert.equal(parseFilter(canonical), parseFilter(input), input);
  }
});

parsing.run();

// ---------------------------------------------------------------------------
// docs/filter.md §6.1: invalid inputs.

const errors = suite('docs/filter.md §6.1 invalid inputs');

const INVALID: Array<[string, string]> = [
  ['', 'empty string'],
  ['a=b', 'must start with ('],
  ['(a=b', 'unexpected end'],
  ['(a=b))', 'data after end'],
  [' (a=b)', 'leading whitespace'],
  ['(a=b) ', 'trailing whitespace'],
  ['(=b)', 'empty key'],
  ['(a=)', 'empty value'],
  ['(a)', 'operator expected'],
  ['(a=**)', 'empty substring part'],
  ['(a=b**c)', 'empty substring part'],
  ['(&(a=b))', 'one operand to &'],
  ['(|)', 'no operand to |'],
  ['(|(a=b))', 'one operand to |'],
  ['(!a=b)', '( expected after !'],
  ['(!(a=b)(c=d))', '! takes exactly one operand'],
  ['(& (a=b)(c=d))', 'space between operands'],
  ['(&(a=b) (c=d))', 'space between operands'],
  ['(a>)', 'not an integer'],
  ['(a> 5)', 'not an integer'],
  ['(a>5 )', 'not an integer'],
  ['(a>0x10)', 'not an integer'],
  ['(a>1.5)', 'not an integer'],
  ['(a<b)', 'not an integer'],
  ['(a>1e3)', 'not an integer'],
  ['(a>++1)', 'not an integer'],
  ['(a>-)', 'not an integer'],
  // Decision (docs/filter.md §3 makes Python's extras optional): `_` separators
  // and non-ASCII digits are rejected.
  ['(port>1_000)', 'digit separator'],
  ['(a>\u0663)', 'Arabic-Indic digit three'],
  ['(a>5*)', ') expected'],
  [r`(a=\b)`, 'escaped non-special'],
  [r`(a=b\)`, 'escape consumes ), then input ends'],
  ['(a=b\\', 'escape at the very end'],
  ['(a=b=c)', 'unescaped = in value'],
  ['(a(b=c)', 'unescaped ( in key'],
  ['(a=b)(c=d)', 'two filters'],
  ['()', 'empty expression'],
  ['(!)', 'negation without operand'],
  ['(a=b<c)', 'unescaped < in value'],
  ['(a=b&c)', 'unescaped & in value'],
];

for (const [input, why] of INVALID) {
  errors(`rejects ${JSON.stringify(input)} (${why})`, () => {
    const e = parseError(input);
    assert.instance(e, Error);
    assert.is(e.name, 'FilterSyntaxError');
    assert.ok(e.offset >= 0 && e.offset <= input.length, `offset ${e.offset}`);
    assert.match(e.message, `offset ${e.offset}`);
  });
}

errors('error offsets and reasons point at the problem', () => {
  const cases: Array<[string, number, string]> = [
    ['', 0, 'unexpected end'],
    ['a=b', 0, "'(' expected"],
    ['(a=b))', 5, 'after the end'],
    ['(=b)', 1, 'empty property name'],
    ['(a=)', 3, 'empty value'],
    ['(a)', 2, "'=', '>' or '<' expected"],
    ['(a=b**c)', 5, 'empty substring part'],
    ['(&(a=b))', 1, 'at least two operands'],
    ['(!a=b)', 2, "'(' expected after '!'"],
    ['(!(a=b)(c=d))', 7, 'exactly one operand'],
    ['(a>0x10)', 3, 'integer expected'],
    [r`(a=\b)`, 4, 'not special'],
    [r`(a=b\)`, 6, 'unexpected end'],
    ['(a=b=c)', 4, "')' expected"],
  ];
  for (const [input, offset, reason] of cases) {
    const e = parseError(input);
    assert.is(e.offset, offset, input);
    assert.match(e.message, reason, input);
  }
});

errors.run();

// ---------------------------------------------------------------------------
// docs/filter.md §6.2: matching against one service.

const matching = suite('docs/filter.md §6.2 matching');

const SERVICE = makeProps([
  ['name', ['billing']],
  ['port', [8080n, '9090']],
  ['zone', ['eu-1', 'eu-2']],
  ['weight', [-3n]],
  ['path', ['/usr/*/bin']],
  ['k)', ['v']],
]);

const MATCHES: Array<[string, boolean]> = [
  ['(name=billing)', true],
  ['(name=Billing)', false],
  ['(port=8080)', true],
  ['(port=9090)', true],
  ['(port=08080)', false],
  ['(port>9000)', false],
  ['(port<8081)', true],
  ['(weight<0)', true],
  ['(weight=-3)', true],
  ['(zone=eu-2)', true],
  ['(zone=eu*)', true],
  ['(zone=*2)', true],
  ['(name=b*l*g)', true],
  ['(name=*ll*ll*)', false],
  ['(name=bill*ing)', true],
  ['(name=billing*g)', false],
  [r`(path=/usr/\*/bin)`, true],
  ['(path=/usr/*/bin)', true],
  [r`(k\)=v)`, true],
  ['(missing=*)', false],
  ['(!(missing=*))', true],
  ['(!(name=billing))', false],
  ['(&(name=billing)(port>8000))', true],
  ['(|(name=x)(zone=eu-1))', true],
];

for (const [filter, expected] of MATCHES) {
  matching(`${filter} → ${expected ? 'match' : 'no match'}`, () => {
    assert.is(matchFilter(parseFilter(filter), SERVICE), expected);
  });
}

matching.run();

// ---------------------------------------------------------------------------
// Further matching rules of docs/filter.md §4 and docs/discrepancies.md B3/B16.

const rules = suite('matching rules');

function matches(filter: string, entries: Array<[string, PropValue[]]>): boolean {
  return matchFilter(parseFilter(filter), makeProps(entries));
}

rules('missing property makes every comparison false and its negation true', () => {
  for (const f of ['(k=v)', '(k=*)', '(k=v*)', '(k>0)', '(k<0)']) {
    assert.is(matches(f, [['other', ['v', 1n]]]), false, f);
    assert.is(matches(`(!${f})`, [['other', ['v', 1n]]]), true, f);
  }
});

rules('multi-valued: & operands may be satisfied by different values', () => {
  assert.is(matches('(&(port>5)(port<3))', [['port', [1n, 9n]]]), true);
  assert.is(matches('(&(port>5)(port<3))', [['port', [4n]]]), false);
});

rules('> and < consider only integer values, strings never', () => {
  assert.is(matches('(k>4)', [['k', ['5']]]), false);
  assert.is(matches('(k>4)', [['k', [5n]]]), true);
  assert.is(matches('(k=5)', [['k', ['5']]]), true);
  assert.is(matches('(k=5)', [['k', [5n]]]), true);
  assert.is(matches('(k>4)', [['k', [4n]]]), false);
  assert.is(matches('(k<4)', [['k', [4n]]]), false);
});

rules('> and < compare with arbitrary precision', () => {
  const max = 9223372036854775807n;
  assert.is(matches('(k>99999999999999999999)', [['k', [max]]]), false);
  assert.is(matches('(k<99999999999999999999)', [['k', [max]]]), true);
  assert.is(matches('(k>9223372036854775806)', [['k', [max]]]), true);
  assert.is(matches('(k<-9223372036854775808)', [['k', [-max - 1n]]]), false);
  assert.is(matches('(k>-0)', [['k', [0n]]]), false);
  assert.is(matches('(k>-1)', [['k', [0n]]]), true);
});

rules('equality with integers uses canonical decimal text only', () => {
  assert.is(matches('(k=-3)', [['k', [-3n]]]), true);
  assert.is(matches('(k=+8)', [['k', [8n]]]), false);
  assert.is(matches('(k=08)', [['k', [8n]]]), false);
  assert.is(matches('(k=-0)', [['k', [0n]]]), false);
  assert.is(matches('(k=0)', [['k', [0n]]]), true);
  assert.is(matches('(k=x)', [['k', [0n]]]), false);
});

rules('substring on integer values matches their decimal text (B3)', () => {
  assert.is(matches('(port=80*)', [['port', [8080n]]]), true);
  assert.is(matches('(port=*80)', [['port', [8080n]]]), true);
  assert.is(matches('(port=*08*)', [['port', [8080n]]]), true);
  assert.is(matches('(port=9*)', [['port', [8080n]]]), false);
  assert.is(matches('(weight=-*)', [['weight', [-3n]]]), true);
});

rules('newline is an ordinary character (B16)', () => {
  assert.is(matches('(k=x*y)', [['k', ['x\ny']]]), true);
  assert.is(matches('(k=*b)', [['k', ['ab\n']]]), false);
  assert.is(matches('(k=a\nb)', [['k', ['a\nb']]]), true);
  assert.equal(parseFilter('(k\n=\n)'), eq('k\n', '\n'));
  assert.is(matches('(k=*\n*)', [['k', ['a\nb']]]), true);
});

rules('substring parts never overlap', () => {
  const cases: Array<[string, string, boolean]> = [
    ['(k=ab*ba)', 'aba', false],
    ['(k=ab*ba)', 'abba', true],
    ['(k=a*a)', 'a', false],
    ['(k=a*a)', 'aa', true],
    ['(k=*a*a*)', 'a', false],
    ['(k=*a*a*)', 'aa', true],
    ['(k=*aba*aba*)', 'ababa', false],
    ['(k=*aba*aba*)', 'abaaba', true],
    ['(k=*ab*b)', 'ab', false],
    ['(k=*ab*b)', 'abb', true],
    ['(k=a*b*a)', 'aba', true],
    ['(k=a*b*a)', 'ab', false],
    ['(k=a*)', 'a', true],
    ['(k=*a)', 'a', true],
    ['(k=*a*)', 'a', true],
    ['(k=ö*)', 'öl', true],
    ['(k=*😀*)', 'x😀y', true],
  ];
  for (const [filter, value, expected] of cases) {
    assert.is(matches(filter, [['k', [value]]]), expected, `${filter} on ${JSON.stringify(value)}`);
  }
});

/** The §4 definition, checked by trying every placement (exponential; tiny inputs only). */
function referenceSubstring(x: string, initial: string | null, middle: string[], final: string | null): boolean {
  let from = 0;
  let end = x.length;
  if (initial !== null) {
    if (!x.startsWith(initial)) return false;
    from = initial.length;
  }
  if (final !== null) {
    if (!x.endsWith(final) || x.length - final.length < from) return false;
    end = x.length - final.length;
  }
  const place = (i: number, at: number): boolean => {
    if (i === middle.length) return true;
    for (let p = at; p + middle[i]!.length <= end; p++) {
      if (x.startsWith(middle[i]!, p) && place(i + 1, p + middle[i]!.length)) return true;
    }
    return false;
  };
  return place(0, from);
}

rules('substring matcher agrees with an exhaustive reference (random, seeded)', () => {
  const rnd = prng(0x5eed);
  const word = (min: number, max: number) => {
    const n = min + Math.floor(rnd() * (max - min + 1));
    let s = '';
    for (let i = 0; i < n; i++) s += rnd() < 0.5 ? 'a' : 'b';
    return s;
  };
  let positives = 0;
  for (let i = 0; i < 5000; i++) {
    const initial = rnd() < 0.5 ? word(1, 2) : null;
    const final = rnd() < 0.5 ? word(1, 2) : null;
    const middle: string[] = [];
    const nm = Math.floor(rnd() * 3);
    for (let j = 0; j < nm; j++) middle.push(word(1, 2));
    if (initial === null && final === null && middle.length === 0) continue;
    const x = word(0, 7);
    const f: Filter = { op: 'substring', key: 'k', initial, middle, final };
    const expected = referenceSubstring(x, initial, middle, final);
    if (expected) positives++;
    assert.is(matchFilter(f, makeProps([['k', [x]]])), expected, `${formatFilter(f)} on ${x}`);
  }
  assert.ok(positives > 500, `only ${positives} positive cases`);
});

rules('and/or/not combine operands', () => {
  const p: Array<[string, PropValue[]]> = [['a', ['1']], ['b', ['2']]];
  assert.is(matches('(&(a=1)(b=2))', p), true);
  assert.is(matches('(&(a=1)(b=3))', p), false);
  assert.is(matches('(|(a=2)(b=3))', p), false);
  assert.is(matches('(|(a=2)(b=2))', p), true);
  assert.is(matches('(!(!(a=1)))', p), true);
  assert.is(matches('(&(a=1)(|(b=3)(!(c=*))))', p), true);
});

rules.run();

// ---------------------------------------------------------------------------
// Escaping, canonical form, nesting limit.

const text = suite('escaping and canonical form');

text('escape function cases of docs/conformance.md §10', () => {
  const cases: Array<[string, string]> = [
    ['foo', 'foo'],
    ['foo\\bar', 'foo\\\\bar'],
    ['foo*', 'foo\\*'],
    ['fo(o)', 'fo\\(o\\)'],
    ['', ''],
    ['=foo', '\\=foo'],
    ['fo<o', 'fo\\<o'],
    ['>foo', '\\>foo'],
  ];
  for (const [input, expected] of cases) assert.is(escapeFilterText(input), expected, input);
});

text('escape function escapes exactly the nine server specials, not !', () => {
  assert.is(escapeFilterText('()*\\&|=<>'), '\\(\\)\\*\\\\\\&\\|\\=\\<\\>');
  assert.is(escapeFilterText('a!b'), 'a!b');
  assert.is(escapeFilterText('!'), '!');
  assert.is(escapeFilterText(' \n\tä'), ' \n\tä');
});

text('escaped key and value round-trip through the parser (random, seeded)', () => {
  const rnd = prng(42);
  const alphabet = 'ab!()*\\&|=<> \n';
  const str = (min: number) => {
    const n = min + Math.floor(rnd() * 6);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  for (let i = 0; i < 2000; i++) {
    let key = str(1);
    if (key.startsWith('!')) key = 'x' + key; // a leading bare `!` is the NOT operator
    const value = str(1);
    const filterText = `(${escapeFilterText(key)}=${escapeFilterText(value)})`;
    assert.equal(parseFilter(filterText), eq(key, value), filterText);
    assert.is(formatFilter(parseFilter(filterText)), filterText);
  }
});

text('a key starting with ! is rendered with \\! so it reparses', () => {
  const f = parseFilter(r`(\!a=b)`);
  assert.equal(f, eq('!a', 'b'));
  assert.is(formatFilter(f), r`(\!a=b)`);
  assert.is(formatFilter({ op: 'present', key: '!' }), r`(\!=*)`);
  assert.equal(parseFilter(formatFilter({ op: 'gt', key: '!x', value: 1n })), { op: 'gt', key: '!x', value: 1n });
});

/** Random filter trees over awkward keys and values. */
function randomFilter(rnd: () => number, depth: number): Filter {
  const alphabet = 'ab!()*\\&|=<> -9';
  const str = () => {
    const n = 1 + Math.floor(rnd() * 4);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  const roll = rnd();
  if (depth > 0 && roll < 0.3) {
    const n = 2 + Math.floor(rnd() * 3);
    const operands: Filter[] = [];
    for (let i = 0; i < n; i++) operands.push(randomFilter(rnd, depth - 1));
    return { op: rnd() < 0.5 ? 'and' : 'or', operands };
  }
  if (depth > 0 && roll < 0.4) return { op: 'not', operand: randomFilter(rnd, depth - 1) };
  const key = str();
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) return { op: 'eq', key, value: str() };
  if (kind === 1) return { op: 'present', key };
  if (kind === 2) {
    const value = BigInt(Math.floor(rnd() * 2e6) - 1e6) * (rnd() < 0.2 ? 10n ** 12n : 1n);
    return { op: rnd() < 0.5 ? 'gt' : 'lt', key, value };
  }
  const initial = rnd() < 0.5 ? str() : null;
  const middle: string[] = [];
  const nm = Math.floor(rnd() * 3);
  for (let i = 0; i < nm; i++) middle.push(str());
  const final = rnd() < 0.5 || (initial === null && nm === 0) ? str() : null;
  return { op: 'substring', key, initial, middle, final };
}

text('parse(format(f)) equals f for random filter trees (seeded)', () => {
  const rnd = prng(7);
  for (let i = 0; i < 2000; i++) {
    const f = randomFilter(rnd, 4);
    const canonical = formatFilter(f);
    assert.equal(parseFilter(canonical), f, canonical);
    assert.is(formatFilter(parseFilter(canonical)), canonical);
  }
});

text('canonical form never contains \\! except before a leading key !', () => {
  const rnd = prng(99);
  for (let i = 0; i < 2000; i++) {
    const canonical = formatFilter(randomFilter(rnd, 3));
    // Every `\!` must directly follow the `(` that opens a comparison.
    for (let at = canonical.indexOf('\\!'); at >= 0; at = canonical.indexOf('\\!', at + 1)) {
      let backslashes = 0;
      for (let j = at - 1; j >= 0 && canonical[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 1) continue; // that backslash escapes a backslash
      assert.is(canonical[at - 1], '(', canonical);
    }
  }
});

text(`nesting up to ${MAX_FILTER_DEPTH} levels parses, deeper is a syntax error`, () => {
  const nested = (levels: number) => '(!'.repeat(levels - 1) + '(a=b)' + ')'.repeat(levels - 1);
  const ok = parseFilter(nested(MAX_FILTER_DEPTH));
  assert.is(formatFilter(ok), nested(MAX_FILTER_DEPTH));
  const e = parseError(nested(MAX_FILTER_DEPTH + 1));
  assert.match(e.message, 'nested deeper');
  assert.is(e.offset, 2 * MAX_FILTER_DEPTH);
});

text('a hostile deeply nested filter is refused without exhausting the stack', () => {
  const levels = 200_000;
  for (const opener of ['(!', '(&', '(|']) {
    const e = parseError(opener.repeat(levels) + '(a=b)' + ')'.repeat(levels));
    assert.match(e.message, 'nested deeper');
  }
  // Unbalanced openers: `((` is an empty key; `(&(&…` stops at the limit.
  assert.match(parseError('('.repeat(levels)).message, 'empty property name');
  assert.match(parseError('(&'.repeat(levels)).message, 'nested deeper');
});

text('FilterSyntaxError is an Error subclass usable with instanceof', () => {
  const e = parseError('(');
  assert.ok(e instanceof FilterSyntaxError);
  assert.ok(e instanceof Error);
});

text.run();
