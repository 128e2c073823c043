// One handler per protocol command (docs/protocol.md §6). The connection has
// already validated the message against the command's field table and
// checked the handshake and transaction state; a handler decides, then
// answers. Fail replies always carry a fail-reason (docs/discrepancies.md A18).

import type { Command, Message } from '../../protocol/schema';
import type { ClientConnection } from '../connection';
import { handleHello } from './hello';
import { handleTrack } from './track';
import { handleSubscribe } from './subscribe';
import { handleUnsubscribe } from './unsubscribe';
import { handleSubscriptions } from './subscriptions';
import { handleServices } from './services';
import { handlePublish } from './publish';
import { handleUnpublish } from './unpublish';
import { handlePing } from './ping';
import { handleClients } from './clients';

export type Handler = (client: ClientConnection, msg: Message) => void;

export const HANDLERS: Record<Command, Handler> = {
  hello: handleHello,
  track: handleTrack,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  subscriptions: handleSubscriptions,
  services: handleServices,
  publish: handlePublish,
  unpublish: handleUnpublish,
  ping: handlePing,
  clients: handleClients,
};
