// subscribe: a live subscription with an initial burst (docs/protocol.md §6.3).

import type { FilterShape } from '../../core/filter';
import { formatFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';
import { requestFilter } from './request-filter';

/** The parser's count for the memory charge, reused by every request (no allocation). */
const shape: FilterShape = { nodes: 0 };

export function handleSubscribe(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const id = msg.fields['subscription-id'] as bigint;
  // Reasons are checked in the order of docs/protocol.md §6.3: syntax first.
  const filter = requestFilter(client, msg, shape);
  if (filter === undefined) return;
  const directory = domain.directory;
  const result = directory.subscribe(session, id, msg.taId, filter, filter ? formatFilter(filter) : undefined, shape.nodes);
  if (typeof result === 'string') {
    const why = result === 'insufficient-resources' ? ` (${directory.refusal})` : '';
    client.logRequest('info', 'subscribe', `subscribe 0x${id.toString(16)} failed: ${result}${why}`);
    session.send(encodeFail('subscribe', msg.taId, result));
    return;
  }
  session.send(encodeMessage('subscribe', msg.taId, 'accept'));
  // The burst of a large directory runs a time slice per turn.
  client.runInTurns(domain.directory.burst(result));
}
