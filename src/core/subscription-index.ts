// Pre-selects the subscriptions a service change may concern, so that a
// publish evaluates a few filters instead of every subscription's.
//
// Each filter is reduced to its guard (filter-guard.ts); an item is filed
// under each atom of its guard; a service then only reaches the items
// filed under its own keys and (key, value text) pairs. Filters with no
// guard (match-all, negations, ...) are visited on every call.

import { valueText, type Props } from '../protocol/props';
import type { Filter } from './filter';
import { guardOf, type Guard } from './filter-guard';

/** Per-item bookkeeping; the sets hold these so a visit can be marked in place. */
interface Entry<T> {
  readonly item: T;
  readonly guard: Guard | null;
  /** Value of `SubscriptionIndex.epoch` of the last call that visited this entry. */
  visited: number;
}

export class SubscriptionIndex<T> {
  private readonly entries = new Map<T, Entry<T>>();
  /** Items guarded by (key, value text). */
  private readonly byValue = new Map<string, Map<string, Set<Entry<T>>>>();
  /** Items guarded by the presence of a key. */
  private readonly byKey = new Map<string, Set<Entry<T>>>();
  /** Items without a guard: candidates for every service. */
  private readonly scan = new Set<Entry<T>>();
  /** Incremented per candidate call; an entry is visited once per epoch. */
  private epoch = 0;
  private visiting = false;

  get size(): number {
    return this.entries.size;
  }

  /** Files `item` under its filter's guard (null = match-all). Re-adding an item replaces its filter. */
  add(item: T, filter: Filter | null): void {
    if (this.entries.has(item)) this.remove(item);
    const guard = filter === null ? null : guardOf(filter);
    // Marked as already visited in the current epoch: an item added from
    // inside a visit callback is not visited by that same call, so an item
    // removed and re-added there cannot be visited twice.
    const entry: Entry<T> = { item, guard, visited: this.epoch };
    this.entries.set(item, entry);
    if (guard === null) {
      this.scan.add(entry);
      return;
    }
    for (const atom of guard) {
      if (atom.value === null) {
        let set = this.byKey.get(atom.key);
        if (!set) { set = new Set(); this.byKey.set(atom.key, set); }
        set.add(entry);
      } else {
        let values = this.byValue.get(atom.key);
        if (!values) { values = new Map(); this.byValue.set(atom.key, values); }
        let set = values.get(atom.value);
        if (!set) { set = new Set(); values.set(atom.value, set); }
        set.add(entry);
      }
    }
  }

  /** The guard `item` is filed under (null: visited on every call), or undefined if it is not indexed. */
  guardOf(item: T): Guard | null | undefined {
    return this.entries.get(item)?.guard;
  }

  /** Forgets `item`; a no-op for an item that is not indexed. */
  remove(item: T): void {
    const entry = this.entries.get(item);
    if (!entry) return;
    this.entries.delete(item);
    if (entry.guard === null) {
      this.scan.delete(entry);
      return;
    }
    // Atoms may repeat (e.g. `(|(a=1)(a=1))`); deleting twice is harmless.
    for (const atom of entry.guard) {
      if (atom.value === null) {
        const set = this.byKey.get(atom.key);
        if (set && set.delete(entry) && set.size === 0) this.byKey.delete(atom.key);
      } else {
        const values = this.byValue.get(atom.key);
        const set = values?.get(atom.value);
        if (values && set && set.delete(entry) && set.size === 0) {
          values.delete(atom.value);
          if (values.size === 0) this.byValue.delete(atom.key);
        }
      }
    }
  }

  /**
   * Calls visit(item) once for every item whose filter MAY match props (a
   * superset of the true matches, each item at most once per call); the
   * caller then runs matchFilter. `visit` may add or remove items, but must
   * not start another candidate call on the same index.
   */
  forEachCandidate(props: Props, visit: (item: T) => void): void {
    this.begin();
    try {
      this.visitScan(visit);
      this.visitProps(props, visit);
    } finally {
      this.visiting = false;
    }
  }

  /** Candidates for either of two prop sets (a modification: old and new), each item at most once. */
  forEachCandidate2(a: Props, b: Props, visit: (item: T) => void): void {
    this.begin();
    try {
      this.visitScan(visit);
      this.visitProps(a, visit);
      if (b !== a) this.visitProps(b, visit);
    } finally {
      this.visiting = false;
    }
  }

  private begin(): void {
    // A nested call would start a new epoch and make the outer call revisit items.
    if (this.visiting) throw new Error('SubscriptionIndex: candidate iteration is not re-entrant');
    this.visiting = true;
    this.epoch++;
  }

  private visitScan(visit: (item: T) => void): void {
    const epoch = this.epoch;
    for (const entry of this.scan) {
      // A Set iteration also reaches entries added during it; those were
      // marked with this epoch when added and must wait for the next call.
      if (entry.visited === epoch) continue;
      entry.visited = epoch;
      visit(entry.item);
    }
  }

  private visitProps(props: Props, visit: (item: T) => void): void {
    for (const [key, values] of props) {
      const keyed = this.byKey.get(key);
      if (keyed) this.visitSet(keyed, visit);
      const byText = this.byValue.get(key);
      if (byText) {
        for (const v of values) {
          const set = byText.get(valueText(v));
          if (set) this.visitSet(set, visit);
        }
      }
    }
  }

  private visitSet(set: Set<Entry<T>>, visit: (item: T) => void): void {
    const epoch = this.epoch;
    for (const entry of set) {
      if (entry.visited === epoch) continue;
      entry.visited = epoch;
      visit(entry.item);
    }
  }
}
