// services: snapshot of the matching services, orphans included (protocol.md §6.6).

import type { Filter } from '../../core/filter';
import { FilterSyntaxError, matchFilter, parseFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { envelope, encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleServices(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const text = msg.fields['filter'] as string | undefined;
  let filter: Filter | null = null;
  if (text !== undefined) {
    try {
      filter = parseFilter(text);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      session.send(encodeFail('services', msg.taId, 'invalid-filter-syntax'));
      return;
    }
  }
  session.send(encodeMessage('services', msg.taId, 'accept'));
  const prefix = envelope('services', msg.taId, 'notify') + ',';
  const directory = domain.directory;
  for (const s of directory.services.values()) {
    if (filter === null || matchFilter(filter, s.props)) session.send(prefix + directory.serviceListing(s) + '}');
  }
  session.send(encodeMessage('services', msg.taId, 'complete'));
}
