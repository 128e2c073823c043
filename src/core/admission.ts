// Connection admission (docs/semantics.md §8.3, README "Decisions"): which
// transport connections a domain keeps open, hello or not. Node cannot
// leave a connection waiting in the kernel backlog, so a refused one is
// closed at once by the caller.
//
// The rule, with T the domain's total client limit and U the per-user one
// (either may be absent):
// - at most T connections are open, handshaked or silent;
// - one user holds at most U + USER_PENDING_CONNECTIONS of them, hello or
//   not: a silent connection takes a slot of its user's quota, so a user
//   at its client limit keeps only a few spare connections for hellos
//   that will fail and for reconnects whose old connection is not yet gone;
// - with a per-user limit, one user never holds more than T − ⌊T/8⌋, so
//   even with U close to T one eighth of the total stays for the other
//   users. Without a per-user limit the operator chose to let one user
//   take everything (and conformance H14 fills the total from one address).

import type { Limits } from './limits';

/** Connections beyond its client limit one user may hold (hellos that fail, reconnects). */
export const USER_PENDING_CONNECTIONS = 8;
/** 1/TOTAL_RESERVE_SHARE of the total is kept for the users other than the biggest one. */
export const TOTAL_RESERVE_SHARE = 8;

export type Refusal =
  | { scope: 'total'; held: number; limit: number }
  | { scope: 'user'; held: number; limit: number };

/** Connections one user may hold at once, or undefined when nothing bounds it. */
export function userConnectionCap(total: Limits, user: Limits): number | undefined {
  const t = total.clients;
  const u = user.clients;
  if (u === undefined) return undefined;
  const byUser = u + USER_PENDING_CONNECTIONS;
  return t === undefined ? byUser : Math.min(byUser, t - Math.floor(t / TOTAL_RESERVE_SHARE));
}

export class ConnectionAdmission {
  private open = 0;
  private readonly byUser = new Map<string, number>();

  /** Open connections in the domain. */
  get size(): number { return this.open; }

  /** Open connections of `user`. */
  held(user: string): number { return this.byUser.get(user) ?? 0; }

  /** Counts a new connection of `user`, or returns why it is refused (and counts nothing). */
  admit(user: string, total: Limits, userLimits: Limits): Refusal | undefined {
    const t = total.clients;
    if (t !== undefined && this.open >= t) return { scope: 'total', held: this.open, limit: t };
    const held = this.byUser.get(user) ?? 0;
    const cap = userConnectionCap(total, userLimits);
    if (cap !== undefined && held >= cap) return { scope: 'user', held, limit: cap };
    this.byUser.set(user, held + 1);
    this.open++;
    return undefined;
  }

  /** A connection of `user` admitted earlier has closed. */
  release(user: string): void {
    const held = this.byUser.get(user);
    if (held === undefined) throw new Error(`releasing a connection ${user} does not hold`);
    if (held > 1) this.byUser.set(user, held - 1);
    else this.byUser.delete(user);
    this.open--;
  }
}
