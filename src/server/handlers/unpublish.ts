// unpublish: the decision itself is Directory.unpublish (docs/semantics.md §4).

import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleUnpublish(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const id = msg.fields['service-id'] as bigint;
  const reason = domain.directory.unpublish(session, id);
  if (reason) {
    client.logRequest('info', 'unpublish', `unpublish of service 0x${id.toString(16)} failed: ${reason}`);
    session.send(encodeFail('unpublish', msg.taId, reason));
    return;
  }
  session.send(encodeMessage('unpublish', msg.taId, 'complete'));
}
