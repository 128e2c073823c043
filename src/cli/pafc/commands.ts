// pafc's command table (docs/cli-and-config.md §3.2, docs/discrepancies.md C3/C4):
// one entry per command with its usage, its help text and what it does.
// Commands that talk to the server end with "OK." (printed by the
// interpreter); a thrown error becomes the one-line failure instead.

import { TransactionFailed, newServiceId, newSubscriptionId } from '../../client/wire';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../../protocol/schema';
import { parseFilter } from '../../core/filter';
import type { SubscriptionEvent, TrackEvent } from '../../client/wire';
import { ArgumentError, PUBLISH_USAGE, parseHexId, parsePublishArgs } from './args';
import { clientsTable, formatMatch, formatMs, hexId, servicesTable, subscriptionsTable } from './format';
import type { Session } from './session';

export interface Command {
  readonly name: string;
  /** The command with its arguments, as `help` shows it. */
  readonly usage: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More lines for `help <command>`. */
  readonly details?: readonly string[];
  /** Talks to the server, so ends with "OK." on success. */
  readonly server: boolean;
  readonly minArgs: number;
  /** Infinity when the number of arguments is open. */
  readonly maxArgs: number;
  /** Words offered by tab completion after the command name. */
  readonly completions?: readonly string[];
  run(session: Session, args: readonly string[]): Promise<void> | void;
}

const TRACK_SUBCOMMANDS = ['query', 'verbose', 'quiet'] as const;

function track(session: Session, args: readonly string[]): Promise<void> | void {
  const { client } = session;
  const sub = args[0];
  if (sub === 'verbose') { session.trackVerbose = true; return; }
  if (sub === 'quiet') { session.trackVerbose = false; return; }
  if (client.version !== 3) {
    // The original pafc exits here (docs/discrepancies.md C4); an error is enough.
    throw new Error(`track needs protocol version 3; this connection uses version ${client.version ?? 'unknown'}`);
  }
  if (sub === 'query') return trackQuery(session);
  if (sub !== undefined) throw new ArgumentError(`unknown track subcommand ${JSON.stringify(sub)}; usage: track [query|verbose|quiet]`);
  return client.track((event: TrackEvent) => {
    if (event.type === 'query' && session.trackVerbose) session.notify('Track query from the server; replied.');
    else if (event.type === 'complete') session.notify('Track transaction completed by the server.');
    else if (event.type === 'fail') session.notify(`Track transaction failed: ${event.reason ?? 'no reason given'}.`);
  }).catch((err: Error) => {
    if (err.message.includes('already open')) throw new Error('a track transaction already exists');
    throw err;
  });
}

async function trackQuery(session: Session): Promise<void> {
  let latency: number;
  try {
    latency = await session.client.trackQuery();
  } catch (err) {
    if ((err as Error).message.includes('no accepted track')) throw new Error('no track transaction; run "track" first');
    throw err;
  }
  session.say(`Track query latency: ${formatMs(latency)} ms.`);
}

/**
 * The server only says `invalid-filter-syntax`; our own parser (the one
 * pafd uses) knows what is wrong and where, so a refused filter is
 * explained. The filter is still sent as typed: pafc is for probing
 * servers, and the server's verdict is the one that counts.
 */
function explainFilterFailure(err: unknown, filter: string | undefined): never {
  if (err instanceof TransactionFailed && err.reason === 'invalid-filter-syntax' && filter !== undefined) {
    let problem: string | undefined;
    try {
      parseFilter(filter);
    } catch (e) {
      problem = (e as Error).message.replace(/^invalid filter: /, '');
    }
    if (problem !== undefined) throw new Error(`${err.message} (${problem})`);
  }
  throw err;
}

async function subscribe(session: Session, args: readonly string[]): Promise<void> {
  const id = newSubscriptionId();
  const filter = args[0];
  let accepted = false;
  await session.client.subscribe(id, (event: SubscriptionEvent) => {
    switch (event.type) {
      case 'accept':
        accepted = true;
        // Shown once the server took it, before its first match.
        session.say(`Subscription Id: ${hexId(id)}.`);
        return;
      case 'match': session.notify(formatMatch(id, event.match, session.now())); return;
      case 'complete': session.notify(`Subscription ${hexId(id)}: canceled.`); return;
      case 'fail':
        // A fail before the accept is the command's own failure.
        if (accepted) session.notify(`Subscription ${hexId(id)}: failed: ${event.reason ?? 'no reason given'}.`);
    }
  }, filter).catch((err: unknown) => explainFilterFailure(err, filter));
}

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: 'id', usage: 'id', summary: 'show this client\'s id', server: false, minArgs: 0, maxArgs: 0,
    run: (s) => s.say(hexId(s.client.clientId)),
  },
  {
    name: 'hello', usage: 'hello', summary: 'send another hello and show the negotiated protocol version',
    server: true, minArgs: 0, maxArgs: 0,
    run: async (s) => {
      const v = await s.client.hello(s.offered.min, s.offered.max);
      s.say(`Protocol version: ${v}.`);
    },
  },
  {
    name: 'version', usage: 'version', summary: 'show the supported, offered and negotiated protocol versions',
    server: false, minArgs: 0, maxArgs: 0,
    run: (s) => {
      s.say(`Supported protocol versions: ${MIN_PROTOCOL_VERSION}-${MAX_PROTOCOL_VERSION}`);
      s.say(`Offered protocol versions: ${s.offered.min}-${s.offered.max}`);
      s.say(`Protocol version in use: ${s.client.version ?? '-'}`);
    },
  },
  {
    name: 'ping', usage: 'ping', summary: 'ping the server and show the round-trip time', server: true, minArgs: 0, maxArgs: 0,
    run: async (s) => {
      const rtt = await s.client.ping();
      s.say(`Round-trip time: ${formatMs(rtt)} ms.`);
    },
  },
  {
    name: 'track', usage: 'track [query|verbose|quiet]', summary: 'start tracking, send a track query, or show/hide server queries',
    details: [
      'track          start the track transaction (protocol version 3); pafc then',
      '               answers the server\'s track queries by itself',
      'track query    send a track query and show the latency of the reply',
      'track verbose  print a line for every track query from the server',
      'track quiet    do not print them (the default)',
    ],
    server: true, minArgs: 0, maxArgs: 1, completions: TRACK_SUBCOMMANDS, run: track,
  },
  {
    name: 'clients', usage: 'clients', summary: 'list the clients connected to the server', server: true, minArgs: 0, maxArgs: 0,
    details: ['Columns: client id, remote address, connection uptime (h:mm:ss); on protocol', 'version 3 also idle seconds, track latency and protocol version.'],
    run: async (s) => {
      const list = await s.client.clients();
      for (const line of clientsTable(list, s.client.version === 3, s.now())) s.say(line);
    },
  },
  {
    name: 'services', usage: 'services [<filter>]', summary: 'list services, all or those matching the filter',
    details: ['Columns: service id, generation, TTL, seconds until an orphan expires (or -),', 'owner client id, properties. Quote a filter that contains blanks.'],
    server: true, minArgs: 0, maxArgs: 1,
    run: async (s, args) => {
      const list = await s.client.services(args[0]).catch((err: unknown) => explainFilterFailure(err, args[0]));
      for (const line of servicesTable(list, s.now())) s.say(line);
    },
  },
  {
    name: 'subscriptions', usage: 'subscriptions', summary: 'list the subscriptions on the server', server: true, minArgs: 0, maxArgs: 0,
    run: async (s) => {
      const list = await s.client.subscriptions();
      for (const line of subscriptionsTable(list)) s.say(line);
    },
  },
  {
    name: 'publish', usage: PUBLISH_USAGE, summary: 'publish or republish a service', server: true, minArgs: 2, maxArgs: Infinity,
    details: [
      'With an odd number of arguments the first is the service id (hex); otherwise',
      'a random id is chosen and shown. A value written |text| is the string text',
      '(|42| is the string "42"); a decimal integer is an integer; anything else is',
      'a string. Repeat a name to give it several values.',
    ],
    run: async (s, args) => {
      const p = parsePublishArgs(args);
      let id = p.serviceId;
      if (id === undefined) {
        id = newServiceId();
        s.say(`Service Id: ${hexId(id)}.`);
      }
      await s.client.publish(id, p.generation, p.props, p.ttl);
    },
  },
  {
    name: 'unpublish', usage: 'unpublish <service-id>', summary: 'remove a service', server: true, minArgs: 1, maxArgs: 1,
    run: (s, args) => s.client.unpublish(parseHexId(args[0]!, 'service id')),
  },
  {
    name: 'subscribe', usage: 'subscribe [<filter>]', summary: 'subscribe to services, all or those matching the filter',
    details: ['A random subscription id is chosen and shown. Every match is printed as it', 'arrives; "canceled" is printed when the subscription ends.'],
    server: true, minArgs: 0, maxArgs: 1, run: subscribe,
  },
  {
    name: 'unsubscribe', usage: 'unsubscribe <subscription-id>', summary: 'cancel a subscription', server: true, minArgs: 1, maxArgs: 1,
    run: (s, args) => s.client.unsubscribe(parseHexId(args[0]!, 'subscription id')),
  },
  {
    name: 'help', usage: 'help [<command>]', summary: 'list the commands or show help for one', server: false, minArgs: 0, maxArgs: 1,
    run: (s, args) => help(s, args[0]),
  },
  {
    name: 'quit', usage: 'quit', summary: 'close the connection and exit', server: false, minArgs: 0, maxArgs: 0,
    run: (s) => { s.quitRequested = true; },
  },
];

const BY_NAME: ReadonlyMap<string, Command> = new Map(COMMANDS.map((c) => [c.name, c]));

/** The command of that name, if any. */
export function findCommand(name: string): Command | undefined {
  return BY_NAME.get(name);
}

/** Widest usage shown beside its summary in the command list. */
const HELP_USAGE_COLUMN = 32;

function help(session: Session, name: string | undefined): void {
  if (name === undefined) {
    // A usage too long for the column gets its summary on the next line.
    const fits = COMMANDS.filter((c) => c.usage.length <= HELP_USAGE_COLUMN);
    const width = Math.max(...fits.map((c) => c.usage.length));
    for (const c of COMMANDS) {
      if (c.usage.length <= HELP_USAGE_COLUMN) {
        session.say(`${c.usage.padEnd(width)}  ${c.summary}`);
      } else {
        session.say(c.usage);
        session.say(`${' '.repeat(width)}  ${c.summary}`);
      }
    }
    return;
  }
  const cmd = findCommand(name);
  if (cmd === undefined) throw new ArgumentError(`unknown command ${JSON.stringify(name)}`);
  session.say(`${cmd.usage}: ${cmd.summary}.`);
  for (const line of cmd.details ?? []) session.say(line);
}
