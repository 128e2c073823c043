// The *guard* of a filter: a set of atoms of which at least one must hold
// for the filter to be true. An atom is either "the service has key k with
// a value whose text is v" (implied by an equality test) or "the service
// has key k" (implied by presence, substring, > and <). Both indexes use
// it: the subscription index files a subscription under its guard's atoms,
// and the service index answers a new subscription's initial burst from
// the services filed under them.

import type { Filter } from './filter';

/** Guard atom: `value === null` means "has key", otherwise "has key with this value text". */
export interface Atom {
  readonly key: string;
  readonly value: string | null;
}

/** A guard: the filter can only be true if at least one atom holds. */
export type Guard = readonly Atom[];

// Relative cost of an atom when choosing between the guards of `and`
// operands: a (key, value) atom reaches only services carrying that exact
// value, a bare key atom reaches every service that has the key at all.
const EQ_ATOM_COST = 1;
const KEY_ATOM_COST = 16;

function guardCost(guard: Guard): number {
  let cost = 0;
  for (const a of guard) cost += a.value === null ? KEY_ATOM_COST : EQ_ATOM_COST;
  return cost;
}

/** The cheapest guard the filter implies, or null if it implies none. */
export function guardOf(filter: Filter): Guard | null {
  switch (filter.op) {
    case 'eq':
      return [{ key: filter.key, value: filter.value }];
    case 'present':
    case 'substring':
    case 'gt':
    case 'lt':
      return [{ key: filter.key, value: null }];
    case 'and': {
      // Every operand must hold, so any operand's guard is a guard of the whole.
      let best: Guard | null = null;
      let bestCost = Infinity;
      for (const f of filter.operands) {
        const g = guardOf(f);
        if (g === null) continue;
        const cost = guardCost(g);
        if (cost < bestCost) { best = g; bestCost = cost; }
      }
      return best;
    }
    case 'or': {
      // Some operand must hold: the union of their guards, if all have one.
      const atoms: Atom[] = [];
      for (const f of filter.operands) {
        const g = guardOf(f);
        if (g === null) return null;
        for (const a of g) atoms.push(a);
      }
      return atoms;
    }
    case 'not':
      // A negation holds precisely when something is absent: no positive guard.
      return null;
  }
}
