// The optional `filter` of subscribe and services requests: parsed with
// the server's grammar; a syntax error answers `invalid-filter-syntax`, a
// valid filter beyond the server's caps (filter.ts MAX_FILTER_COMPARISONS,
// MAX_FILTER_NODES) answers `insufficient-resources`.

import type { Filter, FilterShape } from '../../core/filter';
import { FilterLimitError, FilterSyntaxError, parseFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { encodeFail } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

/**
 * The parsed filter, null for match-all, or undefined after sending the
 * fail reply. With `shape`, the parser's node count is reported there.
 */
export function requestFilter(client: ClientConnection, msg: Message, shape?: FilterShape): Filter | null | undefined {
  const text = msg.fields['filter'];
  if (text === undefined) return null;
  try {
    return parseFilter(text as string, shape);
  } catch (err) {
    const limit = err instanceof FilterLimitError;
    if (!limit && !(err instanceof FilterSyntaxError)) throw err;
    const { session } = client;
    client.logRequest('info', 'filter', `${msg.cmd} with ${(err as Error).message}`);
    session.send(encodeFail(msg.cmd, msg.taId, limit ? 'insufficient-resources' : 'invalid-filter-syntax'));
    return undefined;
  }
}
