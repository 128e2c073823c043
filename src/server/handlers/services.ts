// services: listing of the matching services, orphans included (docs/protocol.md §6.6).

import { matchFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { envelope, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';
import { requestFilter } from './request-filter';
import type { Service } from '../../core/service';
import { Walk } from '../../core/walk';

export function handleServices(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const filter = requestFilter(client, msg);
  if (filter === undefined) return;
  session.send(encodeMessage('services', msg.taId, 'accept'));
  const prefix = envelope('services', msg.taId, 'notify') + ',';
  const directory = domain.directory;
  // A large directory or an expensive filter is listed a time slice per
  // turn: each service there when the request came and still there when
  // its turn comes is listed once, in its state at that moment.
  client.runInTurns(new Walk<Service>(
    directory.services.values(),
    (s) => { if (filter === null || matchFilter(filter, s.props)) session.send(prefix + directory.serviceListing(s) + '}'); },
    (s) => directory.services.get(s.id) === s,
    () => session.send(encodeMessage('services', msg.taId, 'complete')),
  ));
}
