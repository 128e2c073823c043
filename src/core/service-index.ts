// Finds the services a new subscription's initial burst must look at
// (docs/protocol.md §6.3: an `appeared` for every matching service), so that a
// subscribe to one name among 100,000 services runs a few filters instead
// of scanning the directory.
//
// Services are filed by (prop name, value text), but only for the names
// that some subscription's guard (filter-guard.ts) tests for equality, and
// only from the first such subscription on: a directory nobody subscribes
// to by equality pays nothing. A name once indexed stays indexed while
// there is room (a client that subscribes and unsubscribes in a loop must
// not rebuild it each time); at most MAX_INDEXED_NAMES names are. When a
// new name needs room, a name no live subscription tests (see retain) is
// dropped, so junk subscriptions, once gone, cannot keep the index full
// for the life of the process; only while every indexed name is in use
// does a subscribe scan. The burst keeps the directory's order (publish order) by sorting
// candidates on the sequence number each service gets when it is added.

import type { Guard } from './filter-guard';
import type { Props } from '../protocol/props';
import { valueText } from '../protocol/props';

/** What the index needs of a service. */
export interface Indexed {
  readonly props: Props;
  /** Position in publish order, from the directory. */
  readonly seq: number;
}

/** Names indexed at most; each costs a map entry per service carrying it. */
export const MAX_INDEXED_NAMES = 8;

/**
 * Past this share of the directory, sorting the candidates costs more
 * than filtering every service in order, so the caller scans.
 */
const SCAN_SHARE = 0.25;

/**
 * Services with one value text. Most (key, value) pairs name a single
 * service (a name, an address), so that case is stored without a Set.
 */
type Bucket<S> = S | Set<S>;

export class ServiceIndex<S extends Indexed> {
  /** name → value text → services carrying it. */
  private readonly byName = new Map<string, Map<string, Bucket<S>>>();
  /** name → equality atoms on it among the guards of live subscriptions. */
  private readonly inUse = new Map<string, number>();

  get indexedNames(): number {
    return this.byName.size;
  }

  /** Whether services are filed by this name. */
  indexes(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * The services a subscription with this guard may match, in publish
   * order, or null when the caller should scan every service instead (no
   * guard, a presence atom, too many candidates, or no room for another
   * indexed name). `all` is the directory, used once to index a new name.
   */
  candidates(guard: Guard | null, all: Iterable<S>, total: number): S[] | null {
    if (guard === null) return null;
    for (const atom of guard) {
      if (atom.value === null) return null;
      if (!this.byName.has(atom.key) && !this.indexName(atom.key, all)) return null;
    }
    let count = 0;
    for (const atom of guard) {
      const bucket = this.byName.get(atom.key)!.get(atom.value!);
      if (bucket !== undefined) count += bucket instanceof Set ? bucket.size : 1;
    }
    if (count > total * SCAN_SHARE) return null;
    const out: S[] = [];
    for (const atom of guard) {
      const bucket = this.byName.get(atom.key)!.get(atom.value!);
      if (bucket === undefined) continue;
      if (bucket instanceof Set) for (const s of bucket) out.push(s);
      else out.push(bucket);
    }
    if (out.length > 1) {
      out.sort((a, b) => a.seq - b.seq);
      // Several atoms (or values) can name the same service: keep one.
      let w = 1;
      for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r]!;
      out.length = w;
    }
    return out;
  }

  /** A subscription with this guard went live: its names may not be dropped from the index. */
  retain(guard: Guard | null): void {
    if (guard === null) return;
    for (const atom of guard) {
      if (atom.value !== null) this.inUse.set(atom.key, (this.inUse.get(atom.key) ?? 0) + 1);
    }
  }

  /** A subscription retained with this guard is gone. */
  release(guard: Guard | null): void {
    if (guard === null) return;
    for (const atom of guard) {
      if (atom.value === null) continue;
      const n = this.inUse.get(atom.key)!;
      if (n > 1) this.inUse.set(atom.key, n - 1);
      else this.inUse.delete(atom.key);
    }
  }

  /** A service entered the directory. */
  added(s: S): void {
    for (const [name, values] of this.byName) this.file(values, s, s.props.get(name));
  }

  /** A service left the directory. */
  removed(s: S): void {
    for (const [name, values] of this.byName) this.unfile(values, s, s.props.get(name));
  }

  /** A service's props changed from `before` (s.props is the new set). */
  changed(s: S, before: Props): void {
    for (const [name, values] of this.byName) {
      const old = before.get(name), now = s.props.get(name);
      if (old === now) continue;
      this.unfile(values, s, old);
      this.file(values, s, now);
    }
  }

  private indexName(name: string, all: Iterable<S>): boolean {
    if (this.byName.size >= MAX_INDEXED_NAMES && !this.dropUnused()) return false;
    const values = new Map<string, Bucket<S>>();
    for (const s of all) this.file(values, s, s.props.get(name));
    this.byName.set(name, values);
    return true;
  }

  /** Drops the oldest indexed name that no live subscription tests; false if every one is in use. */
  private dropUnused(): boolean {
    for (const name of this.byName.keys()) {
      if (!this.inUse.has(name)) {
        this.byName.delete(name);
        return true;
      }
    }
    return false;
  }

  private file(values: Map<string, Bucket<S>>, s: S, props: readonly (string | bigint)[] | undefined): void {
    if (props === undefined) return;
    for (const v of props) {
      const text = valueText(v);
      const bucket = values.get(text);
      if (bucket === undefined) values.set(text, s);
      else if (bucket instanceof Set) bucket.add(s);
      // "1" and 1 share a text: the service is filed once.
      else if (bucket !== s) values.set(text, new Set([bucket, s]));
    }
  }

  private unfile(values: Map<string, Bucket<S>>, s: S, props: readonly (string | bigint)[] | undefined): void {
    if (props === undefined) return;
    for (const v of props) {
      const text = valueText(v);
      const bucket = values.get(text);
      if (bucket === s) values.delete(text);
      else if (bucket instanceof Set && bucket.delete(s)) {
        if (bucket.size === 1) values.set(text, bucket.values().next().value!);
      }
    }
  }
}
