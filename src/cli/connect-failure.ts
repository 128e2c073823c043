// What pafc and pafbench say when they cannot get a session going. The
// transport and the wire client report what happened ("closed by peer",
// "hello failed: insufficient-resources"); an operator needs to know why
// that usually happens, so the likely cause is named.

import { ConnectionClosed, TimeoutError, TransactionFailed } from '../client/wire';

/** One line (without the address) for an error of WireClient.connect(). */
export function describeConnectFailure(err: unknown, timeoutOption: string): string {
  if (err instanceof TransactionFailed && err.reason === 'insufficient-resources') {
    return `${err.message} (the server's client limit is reached, for the domain or for this user)`;
  }
  if (err instanceof ConnectionClosed && err.message === 'closed by peer') {
    return 'the server closed the connection before answering hello ' +
      '(a server at its client limit closes new connections at once)';
  }
  if (err instanceof TimeoutError) return `${err.message} (${timeoutOption} sets the limit)`;
  return err instanceof Error ? err.message : String(err);
}
