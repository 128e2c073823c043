// Closes initiated on our side of a tcp: connection (src/transport/tcp.ts,
// FramedConnection.close): the peer sees a FIN, never a reset, even with
// input we never read; the connection is reported gone at once; the socket
// waits for the peer's side at most CLOSE_LINGER_MS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as net from 'node:net';
import { parseAddress } from '../../src/transport/address';
import { CLOSE_LINGER_MS, listenTcp } from '../../src/transport/tcp';
import type { MessageConnection, MessageListener } from '../../src/transport/types';

type TcpAddress = Parameters<typeof listenTcp>[0];

/** Sockets and listeners of the running test, closed after it whatever happened. */
const open: { client: net.Socket; listener: MessageListener }[] = [];
test.after.each(async () => {
  for (const { client, listener } of open.splice(0)) {
    client.destroy();
    await listener.close();
  }
});

async function pair(allowHalfOpen: boolean): Promise<{ listener: MessageListener; conn: MessageConnection; client: net.Socket; errors: Error[] }> {
  let accept!: (c: MessageConnection) => void;
  const accepted = new Promise<MessageConnection>((resolve) => { accept = resolve; });
  const listener = await listenTcp(parseAddress('tcp:127.0.0.1:0') as TcpAddress, (c) => accept(c));
  const port = Number(listener.address.slice(listener.address.lastIndexOf(':') + 1));
  const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  client.resume();
  open.push({ client, listener });
  const conn = await accepted;
  return { listener, conn, client, errors };
}

/** The socket under a FramedConnection (a private field, read by name for this test). */
function socketOf(conn: MessageConnection): net.Socket {
  const socket = (conn as unknown as { socket?: net.Socket }).socket;
  if (socket === undefined) throw new Error('FramedConnection has no socket field (renamed?)');
  return socket;
}

const ended = (s: net.Socket): Promise<void> => new Promise((resolve) => s.once('end', () => resolve()));
const closedAt = (s: net.Socket): Promise<number> => new Promise((resolve) => s.once('close', () => resolve(performance.now())));

test('close(): reported gone at once with its reason; the peer gets a FIN; a peer that closes too ends it at once', async () => {
  const { conn, client, errors } = await pair(false);
  const reason = new Promise<string | undefined>((resolve) => { conn.onClose = resolve; });
  const socketClosed = closedAt(socketOf(conn));
  const t0 = performance.now();
  conn.close('idle timeout');
  assert.is(await reason, 'idle timeout');
  await ended(client);
  const closed = await socketClosed;
  assert.ok(closed - t0 < CLOSE_LINGER_MS / 2, `socket closed ${(closed - t0).toFixed(0)} ms after close()`);
  assert.equal(errors, []);
});

test('close() with input we never read: the peer sees an end of stream, not a reset', async () => {
  // A peer that keeps writing for a while after our FIN, as one that has not looked yet.
  const { conn, client, errors } = await pair(true);
  conn.onMessage = () => {};
  // Requests keep coming while the server closes: they arrive after its close.
  const frame = Buffer.from('\0\0\0\x02{}');
  const writer = setInterval(() => { if (!client.destroyed && client.writable) client.write(frame); }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  conn.close('protocol error: test');
  await ended(client);
  await new Promise((resolve) => setTimeout(resolve, 100));
  clearInterval(writer);
  assert.equal(errors.map((e) => e.message), []);
});

test(`a peer that never closes its side is cut off ${CLOSE_LINGER_MS} ms after close()`, async () => {
  const { conn, client } = await pair(true);
  const socketClosed = closedAt(socketOf(conn));
  const t0 = performance.now();
  conn.close('output queue overflow');
  await ended(client);
  const lived = (await socketClosed) - t0;
  assert.ok(lived >= CLOSE_LINGER_MS - 20 && lived <= CLOSE_LINGER_MS + 500, `socket lived ${lived.toFixed(0)} ms after close()`);
});

test.run();
