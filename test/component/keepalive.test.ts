// TCP keepalive on pafd's side of a connection (docs/transports.md §8):
// none before the hello (the 3 s handshake deadline closes a silent peer
// first), on after a v2 hello (v2 liveness is keepalive alone), never for
// v3 (track queries instead). Read from the kernel: /proc/net/tcp shows
// the timer of each socket, "2" being keepalive's on an idle connection.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { WireClient } from '../helpers/wire';

/** The timer field (tr of "tr:tm->when") of pafd's socket that talks to our `clientPort`. */
function serverTimer(serverPort: number, clientPort: number): number {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    if (f[1]!.endsWith(`:${hex(serverPort)}`) && f[2]!.endsWith(`:${hex(clientPort)}`)) return Number.parseInt(f[5]!.split(':')[0]!, 16);
  }
  throw new Error(`no socket of port ${serverPort} to ${clientPort} in /proc/net/tcp`);
}
const KEEPALIVE_TIMER = 2;
/** The retransmission timer: data sent and not yet acknowledged (our ACK may be delayed by 40 ms). */
const RETRANSMIT_TIMER = 1;

/**
 * The socket's timer once what pafd sent is acknowledged. The kernel
 * tells nobody when that happens, so this looks again every 5 ms, for
 * at most a second.
 */
async function settledTimer(serverPort: number, clientPort: number): Promise<number> {
  const until = Date.now() + 1000;
  for (;;) {
    const timer = serverTimer(serverPort, clientPort);
    if (timer !== RETRANSMIT_TIMER || Date.now() > until) return timer;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Ctx { pafd: Pafd; address: string; port: number }
const t = suite<Ctx>('keepalive on accepted connections', {} as Ctx);

t.before(async (ctx) => {
  ctx.pafd = await startPafd(['tcp:127.0.0.1:0']);
  ctx.address = ctx.pafd.addresses[0]!;
  ctx.port = Number(ctx.address.slice(ctx.address.lastIndexOf(':') + 1));
});
t.after(async (ctx) => { await ctx.pafd.stop(); });

t('none before the hello; on after a v2 hello', async (ctx) => {
  const c = await WireClient.connect(ctx.address);
  assert.is((await c.ping())['msg-type'], 'fail'); // a round trip: the connection is established on both sides
  assert.is.not(await settledTimer(ctx.port, c.localPort!), KEEPALIVE_TIMER);
  assert.is((await c.hello(2, 2))['msg-type'], 'complete');
  assert.is(await settledTimer(ctx.port, c.localPort!), KEEPALIVE_TIMER);
  c.close();
  await c.closed;
});

t('never for v3', async (ctx) => {
  const c = await WireClient.connect(ctx.address);
  assert.is((await c.hello(3, 3))['msg-type'], 'complete');
  assert.is((await c.ping())['msg-type'], 'complete');
  assert.is.not(await settledTimer(ctx.port, c.localPort!), KEEPALIVE_TIMER);
  c.close();
  await c.closed;
});

t.run();
