// Memory budgets in bytes (README "Decisions", docs/pafd.md "Memory
// budgets"). Counts of clients, services and subscriptions (limits.ts) do
// not bound memory: one 60 KB service costs what 150 small ones do. So
// everything a client makes pafd keep is also charged, in estimated heap
// bytes, to its user and to the domain: stored services, parsed
// subscriptions, and connection buffers (input being framed, output
// waiting to be sent). A service or subscription that would take its user
// or the domain over the budget is refused; buffers cannot be refused, so
// they are charged as they grow and a connection whose unread output
// keeps a budget over its limit is closed by the server layer.
//
// Estimates, not measurements: each charge is computed in O(1) from sizes
// the request path already has at hand (string lengths counted while the
// props were decoded, the filter's node count from the parser, a
// transport's queued byte count). The constants below come from heap
// measurements of the real input path (docs/RELIABILITY.md, "Memory budget estimates")
// and err on the high side for every shape measured, so that a charged
// total is an upper bound of the heap it stands for.

import type { Filter } from './filter';
import type { Props, PropsSize } from '../protocol/props';

export type { PropsSize };

/** What a charge is for (per-kind totals are kept for metrics). */
export type ChargeKind = 'services' | 'subscriptions' | 'buffers';

export const CHARGE_KINDS: readonly ChargeKind[] = ['services', 'subscriptions', 'buffers'];

/** Which budget refused a charge. */
export type BudgetScope = 'total' | 'user';

/** A memory limit in bytes per scope; undefined = no limit. */
export interface MemoryLimits {
  total?: number;
  user?: number;
}

// ------------------------------------------------------------ estimates

/** A service record, its map and index entries, the props map itself. */
export const SERVICE_BASE_BYTES = 512;
/**
 * Per character of prop names and string values: the decoded string,
 * the serialized props cached for notifications and listings, and slack
 * for two-byte strings and escapes. Measured 2.0-3.1 per byte of request
 * for props dominated by long strings.
 */
export const SERVICE_BYTES_PER_CHAR = 3;
/** Per prop name: a map entry and a value array (measured about 90 with tiny props, values included). */
export const SERVICE_BYTES_PER_NAME = 80;
/**
 * Per value: an array slot and, for an integer, its bigint and its digits
 * in the serialized props (measured about 35 with 12,000 integers).
 */
export const SERVICE_BYTES_PER_VALUE = 48;

/** A subscription record, its envelope prefix, map entries and the match-all/index slot. */
export const SUBSCRIPTION_BASE_BYTES = 768;
/** Per character of canonical filter text: the text kept for listings plus the parsed strings. */
export const SUBSCRIPTION_BYTES_PER_CHAR = 3;
/**
 * Per node of the parsed filter (a comparison, `&`, `|`, `!`, a substring
 * part): the node object, its operand slot and its subscription-index
 * atom. Measured 160 with 12,000 `(k=*)` operands, up to about 270 with
 * 1,000 comparisons on distinct keys (each its own index entry).
 */
export const SUBSCRIPTION_BYTES_PER_NODE = 288;


/** Estimated heap bytes of a stored service with props of this size. */
export function serviceBytes(size: PropsSize): number {
  return SERVICE_BASE_BYTES + SERVICE_BYTES_PER_CHAR * size.chars
    + SERVICE_BYTES_PER_NAME * size.names + SERVICE_BYTES_PER_VALUE * size.values;
}

/** The same count as decodeProps makes, by walking props (tests and callers without a decoder). */
export function measureProps(props: Props): PropsSize {
  const size: PropsSize = { names: 0, values: 0, chars: 0 };
  for (const [name, values] of props) {
    size.names++;
    size.chars += name.length;
    size.values += values.length;
    for (const v of values) if (typeof v === 'string') size.chars += v.length;
  }
  return size;
}

/** Estimated heap bytes of a subscription: its canonical text length and filter node count. */
export function subscriptionBytes(filterTextLength: number, nodes: number): number {
  return SUBSCRIPTION_BASE_BYTES + SUBSCRIPTION_BYTES_PER_CHAR * filterTextLength + SUBSCRIPTION_BYTES_PER_NODE * nodes;
}

/** Nodes of a parsed filter as the parser counts them (comparisons, junctions, negations, substring parts). */
export function countFilterNodes(filter: Filter): number {
  switch (filter.op) {
    case 'and':
    case 'or': {
      let n = 1;
      for (const f of filter.operands) n += countFilterNodes(f);
      return n;
    }
    case 'not':
      return 1 + countFilterNodes(filter.operand);
    case 'substring':
      return 1 + filter.middle.length;
    default:
      return 1;
  }
}

// ------------------------------------------------------------- defaults

/**
 * Share of the V8 heap limit that the budgets of all domains together
 * may hand out. The rest is pafd's own baseline (code, the connection
 * and client records bounded by the client limits, 5-10 MB) and room for
 * garbage: V8's mark-compact needs the old space to have space to spare,
 * or it collects ever more often before giving up with "Reached heap
 * limit". Half keeps a full budget below the point where collection time
 * starts to climb in our measurements.
 */
export const HEAP_SHARE = 0.5;
/** A user's default share of its domain's budget: one user cannot take it all. */
export const USER_SHARE = 0.5;

/** Default budgets when the configuration sets none, from the heap the process actually has. */
export function defaultMemoryLimits(heapSizeLimit: number, domains: number): Required<MemoryLimits> {
  const total = Math.floor((heapSizeLimit * HEAP_SHARE) / Math.max(1, domains));
  return { total, user: Math.floor(total * USER_SHARE) };
}

// ------------------------------------------------------------- accounts

/** One user's charges in one domain. */
export class MemoryAccount {
  /** Bytes charged, all kinds together (what the limit is checked against). */
  bytes = 0;
  services = 0;
  subscriptions = 0;
  buffers = 0;
  /** Open connections holding this account (it is kept while any does). */
  holders = 0;

  constructor(readonly user: string) {}
}

/**
 * The byte budgets of one domain. Every operation is O(1): one map
 * lookup at most, then field arithmetic. Connections hold their account
 * object (hold/unhold), so charging their buffers needs no lookup.
 */
export class MemoryBudget {
  /** Bytes charged in the domain, all kinds together. */
  bytes = 0;
  readonly byKind: Record<ChargeKind, number> = { services: 0, subscriptions: 0, buffers: 0 };
  private readonly accounts = new Map<string, MemoryAccount>();

  constructor(public limits: MemoryLimits = {}) {}

  /** The user's account, created empty if it has none. */
  account(user: string): MemoryAccount {
    let a = this.accounts.get(user);
    if (a === undefined) { a = new MemoryAccount(user); this.accounts.set(user, a); }
    return a;
  }

  /** A connection of `user` opened: its account stays while the connection does. */
  hold(user: string): MemoryAccount {
    const a = this.account(user);
    a.holders++;
    return a;
  }

  unhold(a: MemoryAccount): void {
    a.holders--;
    this.forgetIfEmpty(a);
  }

  /**
   * Charges `bytes` to the user and the domain if both budgets allow it;
   * otherwise charges nothing and says which budget would be exceeded.
   */
  tryCharge(user: string, kind: ChargeKind, bytes: number): BudgetScope | undefined {
    const { total, user: perUser } = this.limits;
    if (total !== undefined && this.bytes + bytes > total) return 'total';
    const a = this.account(user);
    if (perUser !== undefined && a.bytes + bytes > perUser) {
      this.forgetIfEmpty(a);
      return 'user';
    }
    this.add(a, kind, bytes);
    return undefined;
  }

  /** Changes a charge by `delta` bytes (negative releases) without checking limits: buffers. */
  adjust(a: MemoryAccount, kind: ChargeKind, delta: number): void {
    this.add(a, kind, delta);
  }

  release(user: string, kind: ChargeKind, bytes: number): void {
    const a = this.accounts.get(user);
    if (a === undefined || a[kind] < bytes) throw new Error(`releasing ${bytes} ${kind} bytes that ${user} was not charged`);
    this.add(a, kind, -bytes);
    this.forgetIfEmpty(a);
  }

  /** Which budget the account (or the domain) is over, if any. */
  over(a: MemoryAccount): BudgetScope | undefined {
    const { total, user } = this.limits;
    if (total !== undefined && this.bytes > total) return 'total';
    if (user !== undefined && a.bytes > user) return 'user';
    return undefined;
  }

  userBytes(user: string): number {
    return this.accounts.get(user)?.bytes ?? 0;
  }

  /** Users with an account (charged or holding a connection), for metrics and tests. */
  usage(): IterableIterator<MemoryAccount> { return this.accounts.values(); }

  /** One line naming a budget, for the log line of a refusal. */
  describe(scope: BudgetScope, user: string): string {
    return scope === 'total'
      ? `domain memory budget (${this.bytes} of ${this.limits.total} bytes used)`
      : `memory budget of user ${user} (${this.userBytes(user)} of ${this.limits.user} bytes used)`;
  }

  private add(a: MemoryAccount, kind: ChargeKind, delta: number): void {
    a.bytes += delta;
    a[kind] += delta;
    this.bytes += delta;
    this.byKind[kind] += delta;
  }

  private forgetIfEmpty(a: MemoryAccount): void {
    if (a.bytes === 0 && a.holders === 0) this.accounts.delete(a.user);
  }
}
