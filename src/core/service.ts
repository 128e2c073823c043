// A published service as the directory stores it (semantics.md §1).

import type { Props } from './props';
import type { Timed } from './timer-queue';
import type { Session } from './session';
import type { ClientRecord } from './client';
import { encodeProps } from '../protocol/encode';

export class Service implements Timed {
  /** Serialized props, cached: built once per change, shared by every notification and listing. */
  private propsJsonCache: string | undefined = undefined;
  /** Wall-clock time the service became an orphan; undefined = not an orphan. */
  orphanSince: number | undefined = undefined;
  /** The connection it is bound to; undefined while an orphan. */
  boundTo: Session | undefined = undefined;

  // Timed: orphan expiry deadline.
  due = Infinity;
  heapKey = Infinity;
  heapIndex = -1;

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

  get isOrphan(): boolean { return this.orphanSince !== undefined; }
}
