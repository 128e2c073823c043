// Resource accounting per domain (docs/semantics.md §8.2): clients, services and
// subscriptions, each with an optional per-domain total and an optional
// per-user limit. Absent = unlimited; 0 forbids the resource. The total is
// checked first, then the user's limit; a resource is refused when the
// current count equals the limit.

export type Resource = 'clients' | 'services' | 'subscriptions';

/** The configured limits of one scope (a domain's total, or each user's). */
export interface Limits {
  clients?: number;
  services?: number;
  subscriptions?: number;
  /** Bytes: the memory budget, kept by MemoryBudget (budget.ts), not here. */
  memory?: number;
}

interface Usage { clients: number; services: number; subscriptions: number }

export class ResourceLimits {
  private readonly totals: Usage = { clients: 0, services: 0, subscriptions: 0 };
  private readonly users = new Map<string, Usage>();

  constructor(public total: Limits = {}, public user: Limits = {}) {}

  /** Counts one resource for `user` if both limits allow it. */
  tryAllocate(kind: Resource, user: string): boolean {
    const totalLimit = this.total[kind];
    if (totalLimit !== undefined && this.totals[kind] >= totalLimit) return false;
    let usage = this.users.get(user);
    const userLimit = this.user[kind];
    if (userLimit !== undefined && (usage ? usage[kind] : 0) >= userLimit) return false;
    if (!usage) { usage = { clients: 0, services: 0, subscriptions: 0 }; this.users.set(user, usage); }
    usage[kind]++;
    this.totals[kind]++;
    return true;
  }

  release(kind: Resource, user: string): void {
    const usage = this.users.get(user);
    if (!usage || usage[kind] === 0) throw new Error(`releasing an unallocated ${kind} resource of ${user}`);
    usage[kind]--;
    this.totals[kind]--;
    if (usage.clients === 0 && usage.services === 0 && usage.subscriptions === 0) this.users.delete(user);
  }

  count(kind: Resource): number { return this.totals[kind]; }

  userCount(kind: Resource, user: string): number {
    const usage = this.users.get(user);
    return usage ? usage[kind] : 0;
  }

  /** Users that hold any resource, with their usage (for metrics and tests). */
  usage(): IterableIterator<[string, Readonly<Usage>]> { return this.users.entries(); }
}
