// clients: every handshaked connection of the domain; the field set follows
// the requester's version (docs/protocol.md §6.10).

import type { Message } from '../../protocol/schema';
import { envelope, encodeMessage } from '../../protocol/encode';
import { quoteJsonString } from '../../protocol/json';
import type { ClientConnection } from '../connection';

export function handleClients(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const v3 = session.version === 3;
  const now = domain.clock.now();
  session.send(encodeMessage('clients', msg.taId, 'accept'));
  const prefix = envelope('clients', msg.taId, 'notify');
  for (const { session: s } of domain.connections) {
    if (!s.handshaked) continue;
    let m = `${prefix},"client-id":${s.clientId},"client-address":${quoteJsonString(s.address)},"time":${Math.floor(s.acceptedAt)}`;
    if (v3) {
      m += `,"idle":${Math.max(0, now - s.lastSeen)},"protocol-version":${s.version}`;
      if (s.track?.latency !== undefined) m += `,"latency":${s.track.latency}`;
    }
    session.send(m + '}');
  }
  session.send(encodeMessage('clients', msg.taId, 'complete'));
}
