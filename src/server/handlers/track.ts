// track: v3 two-way liveness transaction (docs/protocol.md §6.2, docs/semantics.md §7.4).

import type { Message } from '../../protocol/schema';
import { ProtocolError } from '../../protocol/schema';
import { encodeFail, encodeMessage, trackQuery } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleTrack(client: ClientConnection, msg: Message): void {
  const { session } = client;
  if (session.track) {
    client.logRequest('info', 'track', `track failed: track-exists`);
    session.send(encodeFail('track', msg.taId, 'track-exists'));
    return;
  }
  session.track = { taId: msg.taId, query: trackQuery(msg.taId), querySentAt: undefined, latency: undefined };
  session.open.set(msg.taId, 'track');
  session.send(encodeMessage('track', msg.taId, 'accept'));
}

/** An inform in the open track transaction: the client asks, or answers our query. */
export function handleTrackInform(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const type = msg.fields['track-type'];
  if (type === 'query') {
    session.send(encodeMessage('track', msg.taId, 'notify', '"track-type":"reply"'));
  } else if (type === 'reply') {
    if (!domain.liveness.replied(session)) throw new ProtocolError('track reply without an outstanding query');
  } else {
    throw new ProtocolError(`unknown track-type ${JSON.stringify(type)}`);
  }
}
