// Conformance §7: resource limits (X1–X7) over the matrix transport.
// Users A, B and the observer C are helpers/transport.ts users 0, 1, 2:
// source addresses 127.0.0.2-4 over tcp, certificates client0-2 over tls.
// Over ux every client is the one user `default`, so only the scenarios
// that need no second user run there (the spec's own TLS + UX fixture is
// test/component/limits-tls-ux.test.ts). Every test gets its own pafd
// with the fixture limits.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WireClient, randomId } from '../../helpers/wire';
import type { Domain } from '../../helpers/directory-model';
import {
  USER_A, USER_B, USER_C, assertComplete, assertFail, assertNoSession, publishPipelined, serviceBatch, startDomain, stopDomain, subscribeOk,
} from '../../helpers/directory-model';
import { freshAddress, withUsers } from '../../helpers/transport';
import { stringifyJson } from '../../../src/protocol/json';

const USER_CLIENTS = 3, TOTAL_CLIENTS = 5;
const USER_SERVICES = 128, TOTAL_SERVICES = 192;
const USER_SUBSCRIPTIONS = 99, TOTAL_SUBSCRIPTIONS = 100;

const CONFIG = `
domains:
  - sockets:
      - ${freshAddress()}
resources:
  total: {clients: ${TOTAL_CLIENTS}, services: ${TOTAL_SERVICES}, subscriptions: ${TOTAL_SUBSCRIPTIONS}}
  user: {clients: ${USER_CLIENTS}, services: ${USER_SERVICES}, subscriptions: ${USER_SUBSCRIPTIONS}}
`;

/** The handshake deadline closes silent connections 3 s after accept (H13 allows up to 4 s). */
const HANDSHAKE_CLOSE_MS = 4000;

const t = suite<{ d: Domain }>('limits', {} as { d: Domain });
t.before.each(async (ctx) => { ctx.d = await startDomain(CONFIG); });
t.after.each(async (ctx) => { await stopDomain(ctx.d); });


/** Opens `n` clients of a user with a successful hello each. */
async function openClients(d: Domain, user: number, n: number): Promise<WireClient[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await d.pool.open({ user }));
  return out;
}

withUsers(t, 2)('X1 a user gets 3 clients; the 4th hello fails insufficient-resources; clients lists 3 + the observer', async ({ d }) => {
  const observer = await d.pool.open({ user: USER_C });
  const a = await openClients(d, USER_A, USER_CLIENTS);
  const fourth = d.pool.add(await WireClient.connect(d.addr, { user: USER_A }));
  assertFail(await fourth.hello(), 'insufficient-resources');
  fourth.close();
  const listed = await observer.list('clients');
  assert.is(listed.length, USER_CLIENTS + 1);
  assert.equal(
    new Set(listed.map((m) => m['client-id'] as bigint)),
    new Set([observer.clientId, ...a.map((c) => c.clientId)]),
  );
});

withUsers(t, 3)('X2 another user opens 2 more clients (total 5); the next client gets no session', async ({ d }) => {
  await openClients(d, USER_A, USER_CLIENTS);
  const b = await openClients(d, USER_B, TOTAL_CLIENTS - USER_CLIENTS);
  await assertNoSession(d, USER_B);
  await assertNoSession(d, USER_C);
  assert.is((await b[0].list('clients')).length, TOTAL_CLIENTS);
});

withUsers(t, 3)('X3 services: user A publishes 128, the 129th fails; user B 64, the next fails; services counts match', async ({ d }) => {
  const [a] = await openClients(d, USER_A, 1);
  const [b] = await openClients(d, USER_B, 1);
  const [c] = await openClients(d, USER_C, 1);
  for (const { reply } of await publishPipelined(a, serviceBatch(USER_SERVICES, 'a'))) assertComplete(reply);
  assertFail(await a.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'user A service 129');
  const bCount = TOTAL_SERVICES - USER_SERVICES;
  for (const { reply } of await publishPipelined(b, serviceBatch(bCount, 'b'))) assertComplete(reply);
  assertFail(await b.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'user B beyond the total');
  assertFail(await c.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'user C beyond the total');

  const listed = await c.list('services');
  assert.is(listed.length, TOTAL_SERVICES);
  assert.is(listed.filter((m) => m['client-id'] === a.clientId).length, USER_SERVICES);
  assert.is(listed.filter((m) => m['client-id'] === b.clientId).length, bCount);
  // Republishing an existing service allocates nothing, so it still works at the limit.
  const mine = listed.find((m) => m['client-id'] === a.clientId)!;
  assertComplete(await a.publish(mine['service-id'] as bigint, 2, { tag: ['a'] }, 60));
});

withUsers(t, 2)('X4 subscriptions: 99 for user A, the next fails; 1 for user B, the next fails', async ({ d }) => {
  const [a] = await openClients(d, USER_A, 1);
  const [b] = await openClients(d, USER_B, 1);
  for (let i = 0; i < USER_SUBSCRIPTIONS; i++) await subscribeOk(a, randomId(), `(i=${i})`);
  assertFail((await a.subscribe(randomId())).reply, 'insufficient-resources', 'user A subscription 100');
  await subscribeOk(b, randomId());
  assertFail((await b.subscribe(randomId())).reply, 'insufficient-resources', 'user B beyond the total');
  assert.is((await b.list('subscriptions')).length, TOTAL_SUBSCRIPTIONS);
});

withUsers(t, 3)('X5 after all consumers exit only the observer is listed and every resource is free again', async ({ d }) => {
  const observer = await d.pool.open({ user: USER_C });
  const watch = await subscribeOk(observer, randomId());
  const a = await openClients(d, USER_A, USER_CLIENTS);
  const [b] = await openClients(d, USER_B, 1);
  // Every consumer connection owns services, so seeing them all expire means every disconnect was handled.
  const perClient = Math.floor(USER_SERVICES / a.length);
  let published = 0;
  for (const [i, c] of a.entries()) {
    const n = i === a.length - 1 ? USER_SERVICES - published : perClient;
    for (const { reply } of await publishPipelined(c, serviceBatch(n, 'a', 0))) assertComplete(reply);
    published += n;
  }
  for (const { reply } of await publishPipelined(b, serviceBatch(TOTAL_SERVICES - USER_SERVICES, 'b', 0))) assertComplete(reply);
  for (let i = 0; i < USER_SUBSCRIPTIONS; i++) await subscribeOk(a[i % a.length], randomId());
  assertFail((await b.subscribe(randomId())).reply, 'insufficient-resources', 'total subscriptions with the observer\'s');

  for (const c of [...a, b]) c.close();
  let gone = 0;
  while (gone < TOTAL_SERVICES) {
    const m = await observer.nextOf(watch, 5000);
    if (m['match-type'] === 'disappeared') gone++;
  }
  const clients = await observer.list('clients');
  assert.is(clients.length, 1, stringifyJson(clients));
  assert.is(clients[0]['client-id'], observer.clientId);
  assert.is((await observer.list('services')).length, 0);
  assert.is((await observer.list('subscriptions')).length, 1);

  const again = await openClients(d, USER_A, USER_CLIENTS);
  for (const { reply } of await publishPipelined(again[0], serviceBatch(USER_SERVICES, 'again'))) assertComplete(reply);
  assertFail(await again[1].publish(randomId(), 1, {}, 60), 'insufficient-resources');
  for (let i = 0; i < USER_SUBSCRIPTIONS; i++) await subscribeOk(again[2], randomId());
});

withUsers(t, 2)('X6 all clients of one identity are one user: 128 services by two clients, a third client\'s next fails until they exit', async ({ d }) => {
  const publishers = await openClients(d, USER_A, 2);
  const other = (await openClients(d, USER_A, 1))[0];
  const watch = await subscribeOk(other, randomId(), '(tag=full)');
  for (const p of publishers) {
    for (const { reply } of await publishPipelined(p, serviceBatch(USER_SERVICES / 2, 'full', 0))) assertComplete(reply);
  }
  assertFail(await other.publish(randomId(), 1, {}, 60), 'insufficient-resources', 'one more service of the same user');
  // Only this user is full: another one still may publish.
  const [b] = await openClients(d, USER_B, 1);
  assertComplete(await b.publish(randomId(), 1, {}, 60));

  for (const p of publishers) p.close();
  let gone = 0;
  while (gone < USER_SERVICES) {
    const m = await other.nextOf(watch, 5000);
    if (m['match-type'] === 'disappeared') gone++;
  }
  assertComplete(await other.publish(randomId(), 1, {}, 60));
});

t('X7 the total client limit also gates connections that never say hello', async ({ d }) => {
  const raw = [];
  for (let i = 0; i < TOTAL_CLIENTS; i++) raw.push(d.pool.add(await WireClient.connect(d.addr, { user: USER_A })));
  await assertNoSession(d, USER_B);
  // The handshake deadline frees the slots; then a normal client gets in.
  await Promise.all(raw.map((c) => c.expectClosed(HANDSHAKE_CLOSE_MS)));
  const late = await d.pool.open({ user: USER_B });
  assertComplete(await late.ping());
});

t.run();
