// A client as the directory knows it: identified by client id, living as
// long as it has a connection or still owns services (docs/semantics.md §1).

import type { Session } from './session';

/**
 * The services a client owns, without a set: a service names its owner
 * (Service.owner), so ownership is a field and a count. One set entry per
 * service was tens of bytes on every service of the directory.
 */
export class OwnedServices {
  /** Maintained by the directory with Service.owner, in the same step. */
  count = 0;
  get size(): number { return this.count; }
}

export class ClientRecord {
  /** The live connection, if any. */
  session: Session | undefined = undefined;
  /** Services this client owns (bound to a connection or orphaned). */
  readonly services = new OwnedServices();

  constructor(readonly id: bigint, readonly user: string) {}

  /** A record with neither a connection nor services is forgotten (B8). */
  get disposable(): boolean { return this.session === undefined && this.services.count === 0; }
}
