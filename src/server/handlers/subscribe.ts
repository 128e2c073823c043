// subscribe: a live subscription with an initial burst (docs/protocol.md §6.3).

import { formatFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';
import { requestFilter } from './request-filter';

export function handleSubscribe(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const id = msg.fields['subscription-id'] as bigint;
  // Reasons are checked in the order of docs/protocol.md §6.3: syntax first.
  const filter = requestFilter(client, msg);
  if (filter === undefined) return;
  const result = domain.directory.subscribe(session, id, msg.taId, filter, filter ? formatFilter(filter) : undefined);
  if (typeof result === 'string') {
    client.logRequest('info', 'subscribe', `subscribe 0x${id.toString(16)} failed: ${result}`);
    session.send(encodeFail('subscribe', msg.taId, result));
    return;
  }
  session.send(encodeMessage('subscribe', msg.taId, 'accept'));
  // The burst of a large directory runs a time slice per turn.
  client.runInTurns(domain.directory.burst(result));
}
