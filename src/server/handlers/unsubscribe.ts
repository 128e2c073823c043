// unsubscribe (docs/protocol.md §6.4): the subscribe transaction completes first.

import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleUnsubscribe(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const id = msg.fields['subscription-id'] as bigint;
  const reason = domain.directory.unsubscribe(session, id);
  if (reason) {
    client.logRequest('info', 'unsubscribe', `unsubscribe 0x${id.toString(16)} failed: ${reason}`);
    session.send(encodeFail('unsubscribe', msg.taId, reason));
    return;
  }
  session.send(encodeMessage('unsubscribe', msg.taId, 'complete'));
}
