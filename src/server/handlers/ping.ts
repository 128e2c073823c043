// ping: round-trip and activity (docs/protocol.md §6.9).

import type { Message } from '../../protocol/schema';
import { encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handlePing(client: ClientConnection, msg: Message): void {
  client.session.send(encodeMessage('ping', msg.taId, 'complete'));
}
