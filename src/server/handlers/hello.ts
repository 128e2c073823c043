// hello: the handshake and version negotiation (docs/protocol.md §5.1–§5.2).

import type { Message } from '../../protocol/schema';
import { encodeFail, encodeMessage } from '../../protocol/encode';
import type { ClientConnection } from '../connection';

export function handleHello(client: ClientConnection, msg: Message): void {
  const { session, domain } = client;
  const f = msg.fields;
  const clientId = f['client-id'] as bigint;
  const cmin = f['protocol-minimum-version'] as bigint;
  const cmax = f['protocol-maximum-version'] as bigint;
  const fail = (reason: string) => session.send(encodeFail('hello', msg.taId, reason));

  // Steps 1–3: the connection's client id is fixed by its first hello.
  if (session.clientId === undefined) session.clientId = clientId;
  else if (session.clientId !== clientId) {
    client.logRequest('warning', 'hello', `hello with another client id 0x${clientId.toString(16)} refused`);
    return fail('permission-denied');
  }
  if (session.version !== undefined) {
    session.send(encodeMessage('hello', msg.taId, 'complete', `"protocol-version":${session.version}`));
    return;
  }

  // Step 5: the highest version both sides support.
  const range = domain.protocolRange;
  const lo = cmin > BigInt(range.min) ? cmin : BigInt(range.min);
  const hi = cmax < BigInt(range.max) ? cmax : BigInt(range.max);
  if (lo > hi) {
    client.logRequest('info', 'hello', `no common protocol version (client ${cmin}-${cmax}, server ${range.min}-${range.max})`);
    return fail('unsupported-protocol-version');
  }
  const version = Number(hi) as 2 | 3;

  // Step 6: register the client id in the domain.
  const result = domain.directory.register(session, clientId);
  if (!result.ok) {
    const why = result.reason === 'insufficient-resources' ? ` (${domain.directory.refusal})` : '';
    client.logRequest('info', 'hello', `hello failed: ${result.reason}${why}`);
    if (result.existing) domain.liveness.probe(result.existing);
    return fail(result.reason);
  }

  // Step 7: handshaked. v3 liveness replaces TCP keepalive, which a v2
  // connection turns on now (docs/transports.md §8; accepted sockets start
  // without it, src/transport/tcp.ts).
  session.version = version;
  domain.liveness.handshaked(session);
  client.transport.setKeepAlive(version === 2);
  session.send(encodeMessage('hello', msg.taId, 'complete', `"protocol-version":${version}`));
  domain.log.info(`${domain.label}${session.describe()} connected with protocol version ${version}`);
}
