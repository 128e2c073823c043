// publish: the decision itself is Directory.publish (docs/semantics.md §3).

import type { JsonObject } from '../../protocol/json';
import type { Message } from '../../protocol/schema';
import { decodeProps } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';
import type { PropsSize } from '../../core/budget';

/** What decodeProps counts for the memory charge, reused by every request (no allocation). */
const size: PropsSize = { names: 0, values: 0, chars: 0 };

export function handlePublish(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const f = msg.fields;
  const id = f['service-id'] as bigint;
  const directory = domain.directory;
  // The fast reader has decoded and measured the props already (src/protocol/reader.ts).
  const read = msg.props;
  const props = read !== undefined ? read.props : decodeProps(f['service-props'] as JsonObject, size);
  const reason = directory.publish(session, id, f['generation'] as bigint, props, f['ttl'] as bigint, read ?? size);
  if (reason) {
    const why = reason === 'insufficient-resources' ? ` (${directory.refusal})` : '';
    client.logRequest('info', 'publish', `publish of service 0x${id.toString(16)} failed: ${reason}${why}`);
    session.send(encodeFail('publish', msg.taId, reason));
    return;
  }
  session.send(encodeMessage('publish', msg.taId, 'complete'));
}
