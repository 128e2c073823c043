// A published service as the directory stores it (docs/semantics.md §1).
//
// Kept small: a directory holds up to 100,000 of these. Orphan state
// (a deadline in the expiry queue and the orphan-since time) lives in a
// separate OrphanTimer that exists only while the service is an orphan,
// and the serialized props are built on first use and kept flat.

import type { Props } from '../protocol/props';
import type { Timed } from './timer-queue';
import type { Session } from './session';
import type { ClientRecord } from './client';
import { encodeProps } from '../protocol/encode';

/** An orphaned service's place in the directory's expiry queue. */
export class OrphanTimer implements Timed {
  due = Infinity;
  heapKey = Infinity;
  heapIndex = -1;

  constructor(
    readonly service: Service,
    /** Wall-clock time the service became an orphan. */
    readonly since: number,
  ) {}
}

export class Service {
  /** Serialized props, cached: built once per change, shared by every notification and listing. */
  private propsJsonCache: string | undefined = undefined;
  /** Present while the service is an orphan. */
  orphan: OrphanTimer | undefined = undefined;
  /** The connection it is bound to; undefined while an orphan. */
  boundTo: Session | undefined = undefined;
  /** Position in publish order, set by the directory; orders initial bursts. */
  seq = 0;
  /** Bytes charged to the owner user's memory budget (budget.ts serviceBytes). */
  charge = 0;

  constructor(
    readonly id: bigint,
    public generation: bigint,
    private propsValue: Props,
    public ttl: bigint,
    public owner: ClientRecord,
    /** Owner user; fixed for the service's life since takeovers stay within one user. */
    readonly user: string,
  ) {}

  get props(): Props { return this.propsValue; }
  set props(p: Props) {
    if (p !== this.propsValue) { this.propsValue = p; this.propsJsonCache = undefined; }
  }

  get propsJson(): string {
    return this.propsJsonCache ??= encodeProps(this.propsValue);
  }

  /** Hands over serialized props already built for the current props (the directory's size check). */
  primePropsJson(json: string): void {
    this.propsJsonCache = json;
  }

  /** Wall-clock time the service became an orphan; undefined = not an orphan. */
  get orphanSince(): number | undefined { return this.orphan?.since; }

  get isOrphan(): boolean { return this.orphan !== undefined; }
}
