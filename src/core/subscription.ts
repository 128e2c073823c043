// A live subscription (semantics.md §1). The serialized envelope of its
// notifications is built once, so a notification costs one string concat.

import type { Filter } from './filter';
import type { Session } from './session';
import { envelope } from '../protocol/encode';

export class Subscription {
  /** '{"ta-cmd":"subscribe","ta-id":N,"msg-type":"notify",' */
  readonly notifyPrefix: string;
  /** Canonical filter text for listings; undefined = match-all. */
  readonly filterText: string | undefined;
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
    this.filterText = filterText;
  }
}
