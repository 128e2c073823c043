// services: snapshot of the matching services, orphans included (docs/protocol.md §6.6).

import { matchFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { envelope, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';
import { requestFilter } from './request-filter';

export function handleServices(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const filter = requestFilter(client, msg);
  if (filter === undefined) return;
  session.send(encodeMessage('services', msg.taId, 'accept'));
  const prefix = envelope('services', msg.taId, 'notify') + ',';
  const directory = domain.directory;
  for (const s of directory.services.values()) {
    if (filter === null || matchFilter(filter, s.props)) session.send(prefix + directory.serviceListing(s) + '}');
  }
  session.send(encodeMessage('services', msg.taId, 'complete'));
}
