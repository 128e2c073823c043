// subscribe: a live subscription with an initial burst (protocol.md §6.3).

import type { Filter } from '../../core/filter';
import { FilterSyntaxError, formatFilter, parseFilter } from '../../core/filter';
import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleSubscribe(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const id = msg.fields['subscription-id'] as bigint;
  const text = msg.fields['filter'] as string | undefined;

  // Reasons are checked in the order of protocol.md §6.3: syntax first.
  let filter: Filter | null = null;
  if (text !== undefined) {
    try {
      filter = parseFilter(text);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      domain.log.info(`${domain.label}${session.describe()}: subscribe with ${err.message}`);
      session.send(encodeFail('subscribe', msg.taId, 'invalid-filter-syntax'));
      return;
    }
  }
  const result = domain.directory.subscribe(session, id, msg.taId, filter, filter ? formatFilter(filter) : undefined);
  if (typeof result === 'string') {
    domain.log.info(`${domain.label}${session.describe()}: subscribe 0x${id.toString(16)} failed: ${result}`);
    session.send(encodeFail('subscribe', msg.taId, result));
    return;
  }
  session.send(encodeMessage('subscribe', msg.taId, 'accept'));
  domain.directory.announceExisting(result);
}
