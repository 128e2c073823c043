// subscriptions: snapshot of every live subscription of the domain (docs/protocol.md §6.5).

import type { Message } from '../../protocol/schema';
import { envelope, encodeMessage } from '../../protocol/encode';
import { quoteJsonString } from '../../protocol/json';
import type { ClientConnection } from '../connection';
import type { Subscription } from '../../core/subscription';
import { Walk } from '../../core/walk';

export function handleSubscriptions(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  session.send(encodeMessage('subscriptions', msg.taId, 'accept'));
  const prefix = envelope('subscriptions', msg.taId, 'notify');
  const subscriptions = domain.directory.subscriptions;
  // Many subscriptions are listed a time slice per turn (see services.ts).
  client.runInTurns(new Walk<Subscription>(
    subscriptions.values(),
    (sub) => {
      let m = `${prefix},"subscription-id":${sub.id},"client-id":${sub.clientId}`;
      if (sub.filterText !== undefined) m += `,"filter":${quoteJsonString(sub.filterText)}`;
      session.send(m + '}');
    },
    (sub) => subscriptions.get(sub.id) === sub,
    () => session.send(encodeMessage('subscriptions', msg.taId, 'complete')),
  ));
}
