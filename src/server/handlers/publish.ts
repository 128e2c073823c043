// publish: the decision itself is Directory.publish (docs/semantics.md §3).

import type { JsonObject } from '../../protocol/json';
import type { Message } from '../../protocol/schema';
import { decodeProps } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handlePublish(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const f = msg.fields;
  const id = f['service-id'] as bigint;
  const reason = domain.directory.publish(
    session, id, f['generation'] as bigint, decodeProps(f['service-props'] as JsonObject), f['ttl'] as bigint);
  if (reason) {
    client.logRequest('info', 'publish', `publish of service 0x${id.toString(16)} failed: ${reason}`);
    session.send(encodeFail('publish', msg.taId, reason));
    return;
  }
  session.send(encodeMessage('publish', msg.taId, 'complete'));
}
