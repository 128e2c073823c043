// Public surface of the Pathfinder client library: the high-level,
// libpaf-style API (attach a context to a domain, publish, subscribe),
// the wire-level client for tools and tests, and the helpers both use.

export {
  attach, Context, Service, Subscription, filterEscape, MAX_PROPS_SIZE, MAX_FILTER_LENGTH,
} from './context';
export type {
  AttachTarget, AttachOptions, PublishOptions, SubscribeOptions, MatchEvent, MatchListener, ServerStatus, ContextEvents,
} from './context';
export type { MatchType } from './merge';
export type { LinkState } from './link';
export { PafError, PafErrorCode, strerror } from './errors';
export type { PafErrorCodeValue } from './errors';
export { normalizeProps, propsToObject, propsSizeEstimate } from './props-input';
export { propsToJSON, matchEventToJSON } from './json-safe';
export type { JsonProps, JsonMatchEvent } from './json-safe';
export type { PropsInput, PropInputValue } from './props-input';
export type { Props, PropValue } from '../protocol/props';
export {
  WireClient, TransactionFailed, ConnectionClosed, randomId, newServiceId, newSubscriptionId,
} from './wire';
export { MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION } from '../protocol/schema';
export type {
  MatchNotification, SubscriptionEvent, TrackEvent, ServiceInfo, SubscriptionInfo, ClientInfo, ServerDescription,
  WireConnectOptions, WireClientEvents,
} from './wire';
export {
  parseDomainFile, readDomainFile, domainsDirectory, DomainFileError, MAX_DOMAIN_FILE_SIZE,
} from './domain-files';
export type { ServerEntry } from './domain-files';
export { DEFAULT_DOMAINS_DIR } from './env';
export { connect } from '../transport/connect';
export type { ConnectOptions } from '../transport/connect';
