// subscriptions: snapshot of every live subscription of the domain (docs/protocol.md §6.5).

import type { Message } from '../../protocol/schema';
import { envelope, encodeMessage } from '../../protocol/encode';
import { quoteJsonString } from '../../core/json';
import type { ClientConnection } from '../connection';

export function handleSubscriptions(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  session.send(encodeMessage('subscriptions', msg.taId, 'accept'));
  const prefix = envelope('subscriptions', msg.taId, 'notify');
  for (const sub of domain.directory.subscriptions.values()) {
    let m = `${prefix},"subscription-id":${sub.id},"client-id":${sub.clientId}`;
    if (sub.filterText !== undefined) m += `,"filter":${quoteJsonString(sub.filterText)}`;
    session.send(m + '}');
  }
  session.send(encodeMessage('subscriptions', msg.taId, 'complete'));
}
