// The Pathfinder filter language (docs/filter.md): an LDAP-like prefix notation
// that selects services by their properties. This module parses filter text
// into a tree, evaluates a tree against one service's props, and renders the
// canonical text that `subscriptions` echoes back.

import { ownString } from '../protocol/json';
import type { Props, PropValue } from '../protocol/props';

export type Filter =
  | { op: 'and' | 'or'; operands: Filter[] }
  | { op: 'not'; operand: Filter }
  | { op: 'eq'; key: string; value: string }
  | { op: 'present'; key: string }
  | { op: 'substring'; key: string; initial: string | null; middle: string[]; final: string | null }
  | { op: 'gt' | 'lt'; key: string; value: bigint };

/** A filter text the grammar rejects; `offset` is the index in the input where parsing failed. */
export class FilterSyntaxError extends Error {
  readonly offset: number;
  constructor(reason: string, offset: number) {
    super(`invalid filter: ${reason} at offset ${offset}`);
    this.name = 'FilterSyntaxError';
    this.offset = offset;
  }
}

/**
 * Parentheses nest at most this deep. The parser (and the recursive
 * matcher and formatter) use the JS stack, so a hostile filter such as
 * 100000 nested negations must be refused before it can overflow it.
 * Legitimate filters are a handful of levels deep.
 */
export const MAX_FILTER_DEPTH = 256;

/**
 * Comparisons one filter may hold. Legitimate filters have a handful;
 * generated ones (a `|` over a list of names) tens. Each comparison costs
 * heap (about 160 bytes with its index atom) and time for every service
 * the filter is evaluated against, and a 60 KB filter of 12,000 `(k=*)`
 * cost megabytes. Refused with `insufficient-resources` (FilterLimitError):
 * the text is valid, this server just will not hold that much.
 */
export const MAX_FILTER_COMPARISONS = 1000;
/**
 * Nodes one filter may hold: comparisons, `&`, `|`, `!` and every
 * substring part, i.e. the steps of one evaluation against one service
 * (each step looks at the values of one name). Bounds the work of a
 * match where substring parts (`(k=*a*a*a*...)`) or deep junctions would
 * otherwise multiply it.
 */
export const MAX_FILTER_NODES = 4000;
/**
 * Digits of a `>`/`<` operand after its sign: 20, enough for any 64-bit
 * value (2^64 - 1 has 20 digits). A longer literal is refused as a syntax
 * error before it is converted (BigInt of 100,000 digits takes
 * milliseconds) and is never echoed.
 */
export const MAX_INTEGER_DIGITS = 20;

// Character codes of the server's special characters (docs/filter.md §1).
const OPEN = 0x28;      // (
const CLOSE = 0x29;     // )
const STAR = 0x2a;      // *
const BACKSLASH = 0x5c; // \
const AMP = 0x26;       // &
const PIPE = 0x7c;      // |
const EQUALS = 0x3d;    // =
const LESS = 0x3c;      // <
const GREATER = 0x3e;   // >
const BANG = 0x21;      // !  (not special; NOT operator only where an expression starts)

function isSpecial(c: number): boolean {
  return c === OPEN || c === CLOSE || c === STAR || c === BACKSLASH || c === AMP
    || c === PIPE || c === EQUALS || c === LESS || c === GREATER;
}

// Integer operands of > and <: optional sign, then ASCII decimal digits,
// at most MAX_INTEGER_DIGITS digits (compared as bigint). Deliberately narrower than the
// original's Python int(): the `_` digit separators (`1_000`) and non-ASCII
// Unicode digits are rejected, because docs/filter.md §3 makes them optional,
// no known client uses them, and accepting them would let two servers
// disagree silently about what a filter means.
const INTEGER_SYNTAX = /^[+-]?[0-9]+$/;

/** A valid filter larger than this server evaluates (MAX_FILTER_COMPARISONS, MAX_FILTER_NODES). */
export class FilterLimitError extends Error {
  constructor(reason: string) {
    super(`filter too large: ${reason}`);
    this.name = 'FilterLimitError';
  }
}

/** Size of a parsed filter, counted by the parser (for the memory budget, budget.ts). */
export interface FilterShape {
  /** Comparisons, junctions, negations and substring parts (countFilterNodes). */
  nodes: number;
}

/**
 * Parses filter text (docs/filter.md §2); throws FilterSyntaxError, or
 * FilterLimitError as soon as the filter exceeds the caps above. With
 * `shape`, reports the node count.
 */
export function parseFilter(text: string, shape?: FilterShape): Filter {
  // The tree's strings are slices of the text, so the text is copied
  // first: a filter taken from a request message must not keep the
  // message alive for as long as its subscription lives.
  const parser = new Parser(ownString(text));
  const filter = parser.parseWhole();
  if (shape !== undefined) shape.nodes = parser.nodes;
  return filter;
}

class Parser {
  private pos = 0;
  private depth = 0;
  private comparisons = 0;
  nodes = 0;

  constructor(private readonly src: string) {}

  parseWhole(): Filter {
    const filter = this.parseGroup();
    if (this.pos < this.src.length) this.fail('unexpected data after the end of the filter');
    return filter;
  }

  private fail(reason: string, at: number = this.pos): never {
    // Running out of input is the most common cause; name it as such.
    if (at >= this.src.length) throw new FilterSyntaxError(`unexpected end of filter (${reason})`, at);
    throw new FilterSyntaxError(reason, at);
  }

  private peek(): number {
    // NaN past the end compares unequal to every character code.
    return this.src.charCodeAt(this.pos);
  }

  private expect(code: number, what: string): void {
    if (this.peek() !== code) this.fail(`${what} expected`);
    this.pos++;
  }

  /** group = "(" expression ")" */
  private parseGroup(): Filter {
    this.expect(OPEN, "'('");
    if (++this.depth > MAX_FILTER_DEPTH) this.fail(`filter nested deeper than ${MAX_FILTER_DEPTH} levels`, this.pos - 1);
    const filter = this.parseExpression();
    this.expect(CLOSE, "')'");
    this.depth--;
    return filter;
  }

  /** Counts `n` nodes of evaluation work; refuses the filter past the cap. */
  private count(n: number): void {
    this.nodes += n;
    if (this.nodes > MAX_FILTER_NODES) throw new FilterLimitError(`more than ${MAX_FILTER_NODES} nodes`);
  }

  private parseExpression(): Filter {
    this.count(1);
    const c = this.peek();
    if (c === AMP || c === PIPE) return this.parseJunction(c === AMP ? 'and' : 'or');
    if (c === BANG) {
      this.pos++;
      if (this.peek() !== OPEN) this.fail("'(' expected after '!'");
      const operand = this.parseGroup();
      if (this.peek() === OPEN) this.fail("'!' takes exactly one operand");
      return { op: 'not', operand };
    }
    return this.parseComparison();
  }

  /** "&" or "|" followed by two or more groups (docs/discrepancies.md A7). */
  private parseJunction(op: 'and' | 'or'): Filter {
    const opAt = this.pos++;
    const operands: Filter[] = [];
    while (this.peek() === OPEN) operands.push(this.parseGroup());
    if (operands.length < 2) {
      if (this.peek() === CLOSE) this.fail(`'${op === 'and' ? '&' : '|'}' needs at least two operands`, opAt);
      this.fail("'(' expected");
    }
    return { op, operands };
  }

  private parseComparison(): Filter {
    if (++this.comparisons > MAX_FILTER_COMPARISONS) throw new FilterLimitError(`more than ${MAX_FILTER_COMPARISONS} comparisons`);
    const keyAt = this.pos;
    const key = this.readText();
    if (key.length === 0) this.fail('empty property name', keyAt);
    const c = this.peek();
    if (c === EQUALS) {
      this.pos++;
      return this.parseEqualsRhs(key);
    }
    if (c === GREATER || c === LESS) {
      this.pos++;
      const numAt = this.pos;
      const digits = this.readText();
      if (digits.length - (digits.charCodeAt(0) === 0x2b || digits.charCodeAt(0) === 0x2d ? 1 : 0) > MAX_INTEGER_DIGITS) this.fail(`integer after '${c === GREATER ? '>' : '<'}' longer than any 64-bit value`, numAt);
      if (!INTEGER_SYNTAX.test(digits)) this.fail(`integer expected after '${c === GREATER ? '>' : '<'}'`, numAt);
      return { op: c === GREATER ? 'gt' : 'lt', key, value: BigInt(digits) };
    }
    return this.fail("'=', '>' or '<' expected");
  }

  /** Equality, presence or substring, resolved as docs/filter.md §2 describes. */
  private parseEqualsRhs(key: string): Filter {
    const valueAt = this.pos;
    const first = this.readText();
    if (this.peek() !== STAR) {
      if (first.length === 0) this.fail('empty value', valueAt);
      return { op: 'eq', key, value: first };
    }
    this.pos++;
    const middle: string[] = [];
    let final: string | null = null;
    for (;;) {
      const partAt = this.pos;
      const part = this.readText();
      if (this.peek() !== STAR) {
        if (part.length > 0) final = part;
        break;
      }
      if (part.length === 0) this.fail("empty substring part ('**')", partAt);
      this.count(1);
      middle.push(part);
      this.pos++;
    }
    const initial = first.length > 0 ? first : null;
    if (initial === null && middle.length === 0 && final === null) return { op: 'present', key };
    return { op: 'substring', key, initial, middle, final };
  }

  /**
   * Reads key or value text up to the next unescaped special character.
   * `\` must be followed by a special character or by `!` (docs/filter.md §7:
   * accepted so that clients escaping `!` work; the original rejected it).
   */
  private readText(): string {
    const src = this.src;
    let out = '';
    let chunkStart = this.pos;
    let i = this.pos;
    while (i < src.length) {
      const c = src.charCodeAt(i);
      if (c === BACKSLASH) {
        const escaped = src.charCodeAt(i + 1);
        if (i + 1 >= src.length) { this.pos = i + 1; this.fail('escape character at end'); }
        if (!isSpecial(escaped) && escaped !== BANG) this.fail('escaped character is not special', i + 1);
        out += src.slice(chunkStart, i);
        chunkStart = i + 1; // the escaped character starts the next literal chunk
        i += 2;
        continue;
      }
      if (isSpecial(c)) break;
      i++;
    }
    this.pos = i;
    return chunkStart === i ? out : out + src.slice(chunkStart, i);
  }
}

/** Evaluates a filter against one service's props (docs/filter.md §4). */
export function matchFilter(filter: Filter, props: Props): boolean {
  switch (filter.op) {
    case 'and':
      for (const f of filter.operands) if (!matchFilter(f, props)) return false;
      return true;
    case 'or':
      for (const f of filter.operands) if (matchFilter(f, props)) return true;
      return false;
    case 'not':
      return !matchFilter(filter.operand, props);
    case 'present':
      return props.has(filter.key); // props never hold a name without values
    case 'eq': {
      const values = props.get(filter.key);
      if (!values) return false;
      for (const v of values) if (equalsText(v, filter.value)) return true;
      return false;
    }
    case 'gt': {
      const values = props.get(filter.key);
      if (!values) return false;
      for (const v of values) if (typeof v === 'bigint' && v > filter.value) return true;
      return false;
    }
    case 'lt': {
      const values = props.get(filter.key);
      if (!values) return false;
      for (const v of values) if (typeof v === 'bigint' && v < filter.value) return true;
      return false;
    }
    case 'substring': {
      const values = props.get(filter.key);
      if (!values) return false;
      for (const v of values) {
        // Integers are matched by their decimal text (docs/discrepancies.md B3).
        if (substringMatches(typeof v === 'string' ? v : v.toString(), filter.initial, filter.middle, filter.final)) return true;
      }
      return false;
    }
  }
}

/** A string equals the text itself; an integer equals its canonical decimal form only. */
function equalsText(v: PropValue, text: string): boolean {
  if (typeof v === 'string') return v === text;
  // Cheap rejection before rendering: canonical decimals start with '-' or a digit.
  const c = text.charCodeAt(0);
  if (c !== 0x2d && (c < 0x30 || c > 0x39)) return false;
  return v.toString() === text;
}

/**
 * Plain string wildcard match (no RegExp, newline is ordinary: B16).
 * The initial part is a prefix, the final part a suffix that may not
 * overlap the prefix, and each middle part is found at its leftmost
 * occurrence after the previous part; leftmost is optimal because it
 * leaves the most room for the parts that follow.
 */
function substringMatches(x: string, initial: string | null, middle: readonly string[], final: string | null): boolean {
  let from = 0;
  let end = x.length;
  if (initial !== null) {
    if (!x.startsWith(initial)) return false;
    from = initial.length;
  }
  if (final !== null) {
    end = x.length - final.length;
    if (end < from || !x.endsWith(final)) return false;
  }
  for (const part of middle) {
    const at = x.indexOf(part, from);
    if (at < 0) return false;
    from = at + part.length;
    if (from > end) return false;
  }
  return true;
}

/** Canonical text of a filter (docs/filter.md §5); parseFilter(formatFilter(f)) equals f. */
export function formatFilter(filter: Filter): string {
  switch (filter.op) {
    case 'and':
    case 'or': {
      let out = filter.op === 'and' ? '(&' : '(|';
      for (const f of filter.operands) out += formatFilter(f);
      return out + ')';
    }
    case 'not':
      return '(!' + formatFilter(filter.operand) + ')';
    case 'eq':
      return '(' + formatKey(filter.key) + '=' + escapeFilterText(filter.value) + ')';
    case 'present':
      return '(' + formatKey(filter.key) + '=*)';
    case 'gt':
      return '(' + formatKey(filter.key) + '>' + filter.value.toString() + ')';
    case 'lt':
      return '(' + formatKey(filter.key) + '<' + filter.value.toString() + ')';
    case 'substring': {
      let out = '(' + formatKey(filter.key) + '=';
      if (filter.initial !== null) out += escapeFilterText(filter.initial);
      out += '*';
      for (const m of filter.middle) out += escapeFilterText(m) + '*';
      if (filter.final !== null) out += escapeFilterText(filter.final);
      return out + ')';
    }
  }
}

/**
 * Keys are escaped like values, except that a key *starting* with `!`
 * gets `\!`: unescaped it would read back as the NOT operator. Only this
 * server can parse such a key at all (the original rejected `\!`), so no
 * old client can ever see this rendering; every other `!` stays bare as
 * the original renders it (docs/filter.md §5, §7).
 */
function formatKey(key: string): string {
  const escaped = escapeFilterText(key);
  return escaped.charCodeAt(0) === BANG ? '\\' + escaped : escaped;
}

/**
 * Client-side escape of a key or value for embedding in filter text
 * (docs/conformance.md §10): a backslash before each of the nine server
 * specials `( ) * \ & | = < >`; `!` is left alone (docs/filter.md §7).
 */
export function escapeFilterText(text: string): string {
  let out = '';
  let chunkStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (isSpecial(text.charCodeAt(i))) {
      out += text.slice(chunkStart, i) + '\\';
      chunkStart = i; // the special itself begins the next chunk
    }
  }
  return out.length === 0 ? text : out + text.slice(chunkStart);
}
