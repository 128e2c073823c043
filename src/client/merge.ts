// Merging one subscription's matches from several servers into a single
// stream of appeared / modified / disappeared (docs/client-library.md §6).
//
// Every server (a "source", one per link) reports the services it has;
// the merger keeps, per service id, what it last announced to the
// application and one entry per source that reported the service. A
// report at a higher generation wins; a lagging server's older report is
// ignored; a service disappears only when no connected server has the
// announced generation any more, or — when contact with every such server
// was lost — when its orphan TTL has run out locally.
//
// Pure: no I/O and no timers. Times are wall-clock UNIX seconds passed in
// by the caller; nextDeadline() says when advance() has work to do.

import type { Props } from '../protocol/props';
import { EMPTY_PROPS, propsEqual } from '../protocol/props';
import type { Timed } from '../core/timer-queue';
import { TimerQueue } from '../core/timer-queue';

/** Identifies one link (one server connection lifetime series) of a context. */
export type SourceId = number;

/** The match types delivered to the application. */
export type MatchType = 'appeared' | 'modified' | 'disappeared';

/** A stale record (disappeared) is forgotten this long after it went stale (docs/client-library.md §6.5). */
export const STALE_RECORD_TIMEOUT = 30;

/** A service as last announced to the application. */
export interface MatchView {
  readonly serviceId: bigint;
  readonly generation: bigint;
  readonly props: Props;
  readonly ttl: number;
  /**
   * When the service became an orphan, if every server that has the
   * announced generation says it is one (or contact with it was lost);
   * undefined while some connected server reports it owned.
   */
  readonly orphanSince: number | undefined;
}

/** Receives the merged events; `match` is the record itself, valid during the call. */
export type MergeListener = (type: MatchType, match: MatchView) => void;

export interface MergeOptions {
  /**
   * Also deliver `modified` when only the merged orphan state changes
   * (libpaf never does; off by default).
   */
  orphanEvents?: boolean;
  /** Seconds a stale record is remembered (default 30). */
  staleTimeout?: number;
}

type RecordState = 'initial' | 'announced' | 'orphaned-out' | 'unpublished';

interface SourceEntry {
  readonly source: SourceId;
  generation: bigint;
  /** Between the source's appeared and its disappeared (or the link's loss). */
  connected: boolean;
  orphanSince: number | undefined;
}

/** No generation announced yet: lower than any real one. */
const NONE = -1n;

class MatchRecord implements MatchView, Timed {
  state: RecordState = 'initial';
  generation = NONE;
  props: Props = EMPTY_PROPS;
  ttl = 0;
  orphanSince: number | undefined = undefined;
  /** Few: one per server of the domain. */
  readonly entries: SourceEntry[] = [];
  staleSince = 0;
  due = Infinity;
  heapKey = Infinity;
  heapIndex = -1;
  constructor(readonly serviceId: bigint) {}

  entry(source: SourceId): SourceEntry | undefined {
    for (const e of this.entries) if (e.source === source) return e;
    return undefined;
  }

  get isStale(): boolean { return this.state === 'orphaned-out' || this.state === 'unpublished'; }
}

/** A message's orphan-since: keep the earliest known time; none clears the orphan state. */
function updateOrphan(entry: SourceEntry, orphanSince: number | undefined): void {
  if (orphanSince === undefined) entry.orphanSince = undefined;
  else if (entry.orphanSince === undefined || orphanSince < entry.orphanSince) entry.orphanSince = orphanSince;
}

/**
 * The merge state of one subscription. Source reports return false when
 * they violate the match rules (§6.2); the caller then restarts that
 * link, which reports the loss with sourceLost().
 */
export class MatchMerger {
  private readonly records = new Map<bigint, MatchRecord>();
  private readonly deadlines = new TimerQueue<MatchRecord>();
  private readonly orphanEvents: boolean;
  private readonly staleTimeout: number;

  constructor(private readonly listener: MergeListener, options: MergeOptions = {}) {
    this.orphanEvents = options.orphanEvents ?? false;
    this.staleTimeout = options.staleTimeout ?? STALE_RECORD_TIMEOUT;
  }

  /** A source reports a service that (newly) matches. */
  appeared(source: SourceId, serviceId: bigint, generation: bigint, props: Props, ttl: number,
    orphanSince: number | undefined, now: number): boolean {
    let record = this.records.get(serviceId);
    let entry = record?.entry(source);
    if (entry !== undefined) {
      if (entry.connected || generation < entry.generation) return false;
      entry.generation = generation;
      entry.connected = true;
      updateOrphan(entry, orphanSince);
    } else {
      if (record === undefined) {
        record = new MatchRecord(serviceId);
        this.records.set(serviceId, record);
      }
      entry = { source, generation, connected: true, orphanSince };
      record.entries.push(entry);
    }
    const r = record!;
    if (r.state === 'initial' || generation > r.generation || (generation === r.generation && r.state === 'orphaned-out')) {
      this.announce(r, generation, props, ttl);
    } else {
      this.orphanStateChanged(r);
    }
    this.settle(r, now);
    return true;
  }

  /** A source reports a change of a service it reported before. */
  modified(source: SourceId, serviceId: bigint, generation: bigint, props: Props, ttl: number,
    orphanSince: number | undefined, now: number): boolean {
    const record = this.records.get(serviceId);
    const entry = record?.entry(source);
    if (record === undefined || entry === undefined || !entry.connected || generation < entry.generation) return false;
    entry.generation = generation;
    updateOrphan(entry, orphanSince);
    if (generation > record.generation) this.announce(record, generation, props, ttl);
    else this.orphanStateChanged(record);
    this.settle(record, now);
    return true;
  }

  /** A source reports that a service no longer matches (or is gone). */
  disappeared(source: SourceId, serviceId: bigint, now: number): boolean {
    const record = this.records.get(serviceId);
    const entry = record?.entry(source);
    if (record === undefined || entry === undefined || !entry.connected) return false;
    entry.connected = false;
    if (record.state === 'announced' && !this.hasConnected(record, record.generation)) {
      let allOrphans = true;
      for (const e of record.entries) {
        if (e.generation === record.generation && e.orphanSince === undefined) { allOrphans = false; break; }
      }
      this.retire(record, allOrphans ? 'orphaned-out' : 'unpublished', now);
    } else if (record.state === 'announced') {
      this.orphanStateChanged(record);
    }
    this.settle(record, now);
    return true;
  }

  /**
   * A link was lost or removed (§6.3): its entries are disconnected and,
   * unless the server already called them orphans, orphans since now.
   */
  sourceLost(source: SourceId, now: number): void {
    for (const record of this.records.values()) {
      const entry = record.entry(source);
      if (entry === undefined || !entry.connected) continue;
      entry.connected = false;
      if (entry.orphanSince === undefined) entry.orphanSince = now;
      if (record.state === 'announced') this.orphanStateChanged(record);
      this.settle(record, now);
    }
  }

  /** Local orphan expiry (§6.4) and forgetting stale records (§6.5), for everything due by `now`. */
  advance(now: number): void {
    for (let r = this.deadlines.popDue(now); r !== undefined; r = this.deadlines.popDue(now)) {
      if (r.state === 'announced') {
        const expiry = this.expiry(r);
        if (expiry <= now) this.retire(r, 'orphaned-out', now);
      } else if (r.isStale && r.staleSince + this.staleTimeout <= now) {
        this.forget(r);
        continue;
      }
      this.settle(r, now);
    }
  }

  /** Wall-clock time advance() should run next (may be early); Infinity if never. */
  nextDeadline(): number {
    return this.deadlines.nextKey();
  }

  /** The services currently announced. */
  matches(): MatchView[] {
    const out: MatchView[] = [];
    for (const r of this.records.values()) if (r.state === 'announced') out.push(r);
    return out;
  }

  /** Records kept (announced and stale), for tests and diagnostics. */
  get size(): number { return this.records.size; }

  /** The announced view of a service, if it is announced. */
  get(serviceId: bigint): MatchView | undefined {
    const r = this.records.get(serviceId);
    return r?.state === 'announced' ? r : undefined;
  }

  // ------------------------------------------------------------------

  private hasConnected(r: MatchRecord, generation: bigint): boolean {
    for (const e of r.entries) if (e.connected && e.generation === generation) return true;
    return false;
  }

  /**
   * The merged orphan state: undefined while a connected source has the
   * announced generation as an owned service; otherwise the latest orphan
   * time among the entries with that generation.
   */
  private mergedOrphanSince(r: MatchRecord): number | undefined {
    let latest: number | undefined;
    for (const e of r.entries) {
      if (e.generation !== r.generation) continue;
      if (e.orphanSince === undefined) {
        if (e.connected) return undefined;
        continue;                       // a source that said "gone" holds nothing
      }
      if (latest === undefined || e.orphanSince > latest) latest = e.orphanSince;
    }
    return latest;
  }

  /**
   * When an announced record expires locally: once no connected source
   * has the announced generation, at the latest orphan time of those
   * entries plus the TTL. Entries of sources that reported the service
   * gone do not hold it up (a literal reading of §6.4 would keep such a
   * record forever after losing the last server that had it).
   */
  private expiry(r: MatchRecord): number {
    if (this.hasConnected(r, r.generation)) return Infinity;
    const since = this.mergedOrphanSince(r);
    return since === undefined ? Infinity : since + r.ttl;
  }

  private announce(r: MatchRecord, generation: bigint, props: Props, ttl: number): void {
    const wasAnnounced = r.state === 'announced';
    const changed = !propsEqual(r.props, props);
    r.generation = generation;
    r.props = props;
    r.ttl = ttl;
    r.state = 'announced';
    const orphanSince = this.mergedOrphanSince(r);
    const orphanChanged = orphanSince !== r.orphanSince;
    r.orphanSince = orphanSince;
    if (!wasAnnounced) this.listener('appeared', r);
    else if (changed || (orphanChanged && this.orphanEvents)) this.listener('modified', r);
  }

  /** Delivers `modified` for a change of the merged orphan state alone, if asked to. */
  private orphanStateChanged(r: MatchRecord): void {
    if (r.state !== 'announced') return;
    const orphanSince = this.mergedOrphanSince(r);
    if (orphanSince === r.orphanSince) return;
    r.orphanSince = orphanSince;
    if (this.orphanEvents) this.listener('modified', r);
  }

  private retire(r: MatchRecord, state: 'orphaned-out' | 'unpublished', now: number): void {
    r.state = state;
    r.staleSince = now;
    this.listener('disappeared', r);
  }

  private forget(r: MatchRecord): void {
    // A source still connected keeps reporting this service (at a lower
    // generation than the one that disappeared): keep its entry, so that
    // its later reports are not violations, in a record that announces
    // afresh on its next report.
    const live = r.entries.filter((e) => e.connected);
    if (live.length === 0) {
      this.deadlines.cancel(r);
      this.records.delete(r.serviceId);
      return;
    }
    r.entries.length = 0;
    r.entries.push(...live);
    r.state = 'initial';
    r.generation = NONE;
    r.props = EMPTY_PROPS;
    r.orphanSince = undefined;
  }

  /** Re-files the record's deadline after a change; drops records nothing refers to any more. */
  private settle(r: MatchRecord, _now: number): void {
    let due: number;
    if (r.state === 'announced') due = this.expiry(r);
    else if (r.isStale) due = r.staleSince + this.staleTimeout;
    else {
      // Initial: only a connected source keeps it.
      if (!r.entries.some((e) => e.connected)) {
        this.deadlines.cancel(r);
        this.records.delete(r.serviceId);
        return;
      }
      due = Infinity;
    }
    if (due === Infinity) this.deadlines.cancel(r);
    else if (due !== r.due) {
      // TimerQueue only moves items earlier eagerly; a later deadline is re-filed lazily.
      this.deadlines.schedule(r, due);
    }
  }
}
