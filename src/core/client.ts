// A client as the directory knows it: identified by client id, living as
// long as it has a connection or still owns services (semantics.md §1).

import type { Service } from './service';
import type { Session } from './session';

export class ClientRecord {
  /** The live connection, if any. */
  session: Session | undefined = undefined;
  /** Services this client owns (bound to a connection or orphaned). */
  readonly services = new Set<Service>();

  constructor(readonly id: bigint, readonly user: string) {}

  /** A record with neither a connection nor services is forgotten (B8). */
  get disposable(): boolean { return this.session === undefined && this.services.size === 0; }
}
