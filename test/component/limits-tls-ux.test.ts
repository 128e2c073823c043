// Conformance §7 (X1–X7) with the spec's own fixture: one pafd serving a
// TLS domain and a UX domain with clients user 3 / total 5, services user
// 128 / total 192, subscriptions user 99 / total 100. TLS users are the
// client certificates client0..2 (A, B and the observer C); every UX
// client is the single user `default`. Each domain counts separately.
// The same scenarios over a single domain of each transport are in
// conformance/limits.test.ts.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringifyJson } from '../../src/protocol/json';
import type { Domain } from '../helpers/directory-model';
import {
  ClientPool, USER_A, USER_B, USER_C, assertComplete, assertFail, assertNoSession, publishPipelined, serviceBatch, subscribeOk,
} from '../helpers/directory-model';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { freshAddress, serverEnv } from '../helpers/transport';
import { WireClient, randomId } from '../helpers/wire';

const USER_CLIENTS = 3, TOTAL_CLIENTS = 5;
const USER_SERVICES = 128, TOTAL_SERVICES = 192;
const USER_SUBSCRIPTIONS = 99, TOTAL_SUBSCRIPTIONS = 100;
/** Silent connections are closed 3 s after accept (H13 allows up to 4 s). */
const HANDSHAKE_CLOSE_MS = 4000;

interface Ctx { pafd: Pafd; tls: Domain; ux: Domain }
const t = suite<Ctx>('limits tls+ux', {} as Ctx);

t.before.each(async (ctx) => {
  const config = `
domains:
  - name: tls
    sockets: [${freshAddress('tls')}]
  - name: ux
    sockets: [${freshAddress('ux')}]
resources:
  total: {clients: ${TOTAL_CLIENTS}, services: ${TOTAL_SERVICES}, subscriptions: ${TOTAL_SUBSCRIPTIONS}}
  user: {clients: ${USER_CLIENTS}, services: ${USER_SERVICES}, subscriptions: ${USER_SUBSCRIPTIONS}}
`;
  ctx.pafd = await startPafd([], { config, env: serverEnv('tls') });
  const [tlsAddr, uxAddr] = ctx.pafd.addresses as [string, string];
  assert.match(tlsAddr, /^tls:/);
  assert.match(uxAddr, /^ux:/);
  ctx.tls = { pafd: ctx.pafd, addr: tlsAddr, pool: new ClientPool(() => tlsAddr) };
  ctx.ux = { pafd: ctx.pafd, addr: uxAddr, pool: new ClientPool(() => uxAddr) };
});
t.after.each(async (ctx) => {
  ctx.tls?.pool.closeAll();
  ctx.ux?.pool.closeAll();
  await ctx.pafd?.stop();
});

async function openClients(d: Domain, n: number, user?: number): Promise<WireClient[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await d.pool.open(user === undefined ? {} : { user }));
  return out;
}


async function publishAll(c: WireClient, n: number, tag: string, ttl = 60): Promise<void> {
  for (const { reply } of await publishPipelined(c, serviceBatch(n, tag, ttl))) assertComplete(reply);
}

/** Waits until `count` disappeared notifications arrived on ta. */
async function disappearances(c: WireClient, ta: bigint, count: number): Promise<void> {
  for (let gone = 0; gone < count;) {
    const m = await c.nextOf(ta, 5000);
    if (m['match-type'] === 'disappeared') gone++;
  }
}

t('X1 certificate A opens 3 clients, the 4th hello fails; clients lists 3 + the observer; the UX domain counts on its own', async ({ tls, ux }) => {
  const observer = await tls.pool.open({ user: USER_C });
  const a = await openClients(tls, USER_CLIENTS, USER_A);
  const fourth = tls.pool.add(await WireClient.connect(tls.addr, { user: USER_A }));
  assertFail(await fourth.hello(), 'insufficient-resources', 'client 4 of certificate A');
  const listed = await observer.list('clients');
  assert.equal(new Set(listed.map((m) => m['client-id'] as bigint)), new Set([observer.clientId, ...a.map((c) => c.clientId)]));
  // The UX domain's `default` user has its own 3 clients.
  const local = await openClients(ux, USER_CLIENTS);
  const another = ux.pool.add(await WireClient.connect(ux.addr));
  assertFail(await another.hello(), 'insufficient-resources', 'client 4 of the UX user');
  assert.is((await local[0]!.list('clients')).length, USER_CLIENTS);
});

t('X2 certificate B opens 2 more (total 5); the next client, of any certificate, gets no session', async ({ tls }) => {
  await openClients(tls, USER_CLIENTS, USER_A);
  const b = await openClients(tls, TOTAL_CLIENTS - USER_CLIENTS, USER_B);
  await assertNoSession(tls, USER_B);
  await assertNoSession(tls, USER_C);
  assert.is((await b[0]!.list('clients')).length, TOTAL_CLIENTS);
});

t('X3 services: A publishes 128, the 129th fails; B 64, the next fails; services counts match', async ({ tls }) => {
  const [a] = await openClients(tls, 1, USER_A);
  const [b] = await openClients(tls, 1, USER_B);
  await publishAll(a!, USER_SERVICES, 'a');
  assertFail(await a!.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'service 129 of A');
  await publishAll(b!, TOTAL_SERVICES - USER_SERVICES, 'b');
  assertFail(await b!.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'B beyond the total');
  const listed = await b!.list('services');
  assert.is(listed.length, TOTAL_SERVICES);
  assert.is(listed.filter((m) => m['client-id'] === a!.clientId).length, USER_SERVICES);
  assert.is(listed.filter((m) => m['client-id'] === b!.clientId).length, TOTAL_SERVICES - USER_SERVICES);
});

t('X4 subscriptions: 99 for A, the next fails; 1 for B, the next fails', async ({ tls }) => {
  const [a] = await openClients(tls, 1, USER_A);
  const [b] = await openClients(tls, 1, USER_B);
  for (let i = 0; i < USER_SUBSCRIPTIONS; i++) await subscribeOk(a!, randomId(), `(i=${i})`);
  assertFail((await a!.subscribe(randomId())).reply, 'insufficient-resources', 'subscription 100 of A');
  await subscribeOk(b!, randomId());
  assertFail((await b!.subscribe(randomId())).reply, 'insufficient-resources', 'B beyond the total');
  assert.is((await b!.list('subscriptions')).length, TOTAL_SUBSCRIPTIONS);
});

t('X5 after all consumers exit only the observer is listed and the resources are free again', async ({ tls }) => {
  const observer = await tls.pool.open({ user: USER_C });
  const watch = await subscribeOk(observer, randomId());
  const a = await openClients(tls, USER_CLIENTS, USER_A);
  const [b] = await openClients(tls, 1, USER_B);
  await publishAll(a[0]!, USER_SERVICES, 'a', 0);
  await publishAll(b!, TOTAL_SERVICES - USER_SERVICES, 'b', 0);
  for (let i = 0; i < USER_SUBSCRIPTIONS - 1; i++) await subscribeOk(a[1 + (i % 2)]!, randomId());
  for (const c of [...a, b!]) c.close();
  await disappearances(observer, watch, TOTAL_SERVICES);
  const clients = await observer.list('clients');
  assert.is(clients.length, 1, stringifyJson(clients));
  assert.is(clients[0]!['client-id'], observer.clientId);
  assert.is((await observer.list('services')).length, 0);
  assert.is((await observer.list('subscriptions')).length, 1);
  const again = await openClients(tls, USER_CLIENTS, USER_A);
  await publishAll(again[0]!, USER_SERVICES, 'again');
  for (let i = 0; i < USER_SUBSCRIPTIONS; i++) await subscribeOk(again[1]!, randomId());
});

t('X6 UX domain: 128 services by UX clients; one more from any other UX client fails; after those clients exit it succeeds', async ({ ux }) => {
  const publishers = await openClients(ux, 2);
  const other = (await openClients(ux, 1))[0]!;
  const watch = await subscribeOk(other, randomId(), '(tag=full)');
  for (const p of publishers) await publishAll(p, USER_SERVICES / 2, 'full', 0);
  assertFail(await other.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'service 129 of the UX user');
  for (const p of publishers) p.close();
  await disappearances(other, watch, USER_SERVICES);
  assertComplete(await other.publish(randomId(), 1, {}, 60), 'publish once the others exited');
});

for (const which of ['tls', 'ux'] as const) {
  t(`X7 ${which} domain: the total client limit also gates connections that never say hello`, async (ctx) => {
    const d = ctx[which];
    const raw = [];
    for (let i = 0; i < TOTAL_CLIENTS; i++) raw.push(d.pool.add(await WireClient.connect(d.addr, which === 'tls' ? { user: i % 3 } : {})));
    await assertNoSession(d, which === 'tls' ? USER_B : undefined);
    await Promise.all(raw.map((c) => c.expectClosed(HANDSHAKE_CLOSE_MS)));
    const late = await d.pool.open(which === 'tls' ? { user: USER_B } : {});
    assertComplete(await late.ping());
  });
}

t.run();
