// Fair connection admission (README "Decisions", src/core/admission.ts)
// against the real pafd over tcp with two source addresses: 127.0.0.1
// fills its quota with handshaked and silent connections, and a client
// from 127.0.0.2 still gets hello and ping through.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { WireClient } from '../helpers/wire';

/** The bystander: helpers/transport.ts user 0, source address 127.0.0.2. */
const BYSTANDER = 0;
/** A refused connection is closed at accept; the handshake deadline would take 3 s. */
const REFUSED_WITHIN_MS = 1000;

function config(total: number, user?: number): string {
  return `
domains:
  - sockets: [tcp:127.0.0.1:0]
resources:
  total: {clients: ${total}}
${user === undefined ? '' : `  user: {clients: ${user}}`}
`;
}

/** A connection that pafd refuses: closed at once, its hello never answered. */
async function assertRefused(address: string, what: string): Promise<void> {
  const c = await WireClient.connect(address);
  c.send('hello', c.taId(), 'request', { 'client-id': c.clientId, 'protocol-minimum-version': 2n, 'protocol-maximum-version': 3n });
  const answer = c.next(() => true, REFUSED_WITHIN_MS).then((m) => m, () => undefined);
  await c.expectClosed(REFUSED_WITHIN_MS).catch(() => { throw new Error(`${what}: not closed within ${REFUSED_WITHIN_MS} ms`); });
  assert.is(await answer, undefined, `${what}: the hello was answered`);
}

async function assertBystanderServed(address: string): Promise<void> {
  const b = await WireClient.open(address, { user: BYSTANDER });
  assert.is((await b.ping())['msg-type'], 'complete');
  b.close();
}

async function withPafd(cfg: string, fn: (pafd: Pafd, address: string) => Promise<void>): Promise<void> {
  const pafd = await startPafd([], { config: cfg });
  try {
    await fn(pafd, pafd.addresses[0]!);
  } finally {
    await pafd.stop();
  }
}

test('silent connections count against the user: 127.0.0.1 holds U + 8, 127.0.0.2 still gets in', async () => {
  const U = 20, T = 40;
  await withPafd(config(T, U), async (pafd, address) => {
    const held: WireClient[] = [];
    try {
      for (let i = 0; i < U; i++) held.push(await WireClient.open(address));
      for (let i = 0; i < 8; i++) held.push(await WireClient.connect(address));
      // Every one of them is still open (the silent ones until their deadline).
      assert.is((await held[0]!.ping())['msg-type'], 'complete');
      await assertRefused(address, `connection ${U + 9} of 127.0.0.1`);
      await pafd.waitForLog(/refusing connection from tcp:127\.0\.0\.1:\d+ \(user ip:127\.0\.0\.1\): 28 connections of this user open, limit 28/);
      await assertBystanderServed(address);
    } finally {
      for (const c of held) c.close();
    }
  });
});

test('a per-user limit as high as the total: one address leaves an eighth of it to the others', async () => {
  const T = 16;
  await withPafd(config(T, T), async (pafd, address) => {
    const held: WireClient[] = [];
    try {
      for (let i = 0; i < T - T / 8; i++) held.push(await WireClient.connect(address));
      await assertRefused(address, 'connection 15 of 127.0.0.1');
      await pafd.waitForLog(/14 connections of this user open, limit 14/);
      await assertBystanderServed(address);
      // The total still binds everyone: fill it from 127.0.0.2, then nobody gets in.
      held.push(await WireClient.open(address, { user: BYSTANDER }));
      held.push(await WireClient.connect(address, { user: BYSTANDER }));
      const late = await WireClient.connect(address, { user: BYSTANDER });
      await late.expectClosed(REFUSED_WITHIN_MS);
      await pafd.waitForLog(/16 connections open, client limit 16/);
    } finally {
      for (const c of held) c.close();
    }
  });
});

test.run();
