// A live subscription (docs/semantics.md §1). The serialized envelope of its
// notifications is built once, so a notification costs one string concat.

import type { Filter } from './filter';
import type { Session } from './session';
import { envelope } from '../protocol/encode';
import { ownString } from '../protocol/json';
import type { Service } from './service';
import type { Walk } from './walk';

export class Subscription {
  /** '{"ta-cmd":"subscribe","ta-id":N,"msg-type":"notify",' */
  readonly notifyPrefix: string;
  /** Canonical filter text for listings; undefined = match-all. */
  readonly filterText: string | undefined;
  /** The initial burst while it is under way (Directory.burst). */
  burst: Walk<Service> | undefined = undefined;
  /** Bytes charged to the subscriber's memory budget (budget.ts subscriptionBytes). */
  charge = 0;

  constructor(
    readonly id: bigint,
    readonly session: Session,
    readonly clientId: bigint,
    readonly taId: bigint,
    readonly filter: Filter | null,
    filterText: string | undefined,
  ) {
    this.notifyPrefix = envelope('subscribe', taId, 'notify') + ',';
    // Printed from the tree in pieces: one flat string, not a tree of them.
    this.filterText = filterText === undefined ? undefined : ownString(filterText);
  }
}
