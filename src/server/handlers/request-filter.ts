// The optional `filter` of subscribe and services requests: parsed with
// the server's grammar; a syntax error answers `invalid-filter-syntax`.

import type { Filter } from '../../core/filter';
import { FilterSyntaxError, parseFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { encodeFail } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

/** The parsed filter, null for match-all, or undefined after sending the fail reply. */
export function requestFilter(client: ClientConnection, msg: Message): Filter | null | undefined {
  const text = msg.fields['filter'];
  if (text === undefined) return null;
  try {
    return parseFilter(text as string);
  } catch (err) {
    if (!(err instanceof FilterSyntaxError)) throw err;
    const { session } = client;
    client.logRequest('info', 'filter', `${msg.cmd} with ${err.message}`);
    session.send(encodeFail(msg.cmd, msg.taId, 'invalid-filter-syntax'));
    return undefined;
  }
}
