// Conformance D2 with mixed ux/tcp/tls sockets in one domain, and `utls`
// (docs/transports.md §5): the UX half reached by ux and utls clients, the TLS
// half by tls clients, each connection getting the user id of the half it
// came over (docs/semantics.md §8.1: `default` over UX, the certificate's SKI
// over TLS). Against the real pafd bundle.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertComplete, assertFail } from '../helpers/directory-model';
import { startPafd } from '../helpers/pafd';
import { assertPings } from '../helpers/robust';
import { clientAddressPattern, freshAddress, matrixPki, serverEnv } from '../helpers/transport';
import type { Msg } from '../helpers/wire';
import { WireClient, randomId } from '../helpers/wire';

const t = suite('mixed transports');

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

t('D2 one domain with 18 sockets (6 ux, 6 tcp, 6 tls), one client per socket each publishing: every client sees all clients and services', async () => {
  const PER_TRANSPORT = 6;
  const sockets = (['ux', 'tcp', 'tls'] as const).flatMap((tr) => Array.from({ length: PER_TRANSPORT }, () => freshAddress(tr)));
  const pafd = await startPafd(['-m', sockets.join('+')], { env: serverEnv('tls') });
  const clients: WireClient[] = [];
  try {
    assert.is(pafd.addresses.length, sockets.length);
    for (const tr of ['ux', 'tcp', 'tls']) {
      assert.is(pafd.addresses.filter((a) => a.startsWith(`${tr}:`)).length, PER_TRANSPORT, `${tr} sockets`);
    }
    for (const a of pafd.addresses) clients.push(await WireClient.open(a));
    const serviceIds = clients.map(() => randomId());
    for (const [i, c] of clients.entries()) {
      assertComplete(await c.publish(serviceIds[i]!, 0, { name: ['d2'], via: [c.transport] }, 30), `publish over ${c.transport}`);
    }
    const clientIds = clients.map((c) => c.clientId).sort();
    for (const c of clients) {
      const listedClients = await c.list('clients');
      assert.equal(listedClients.map((m) => m['client-id'] as bigint).sort(), clientIds, `all clients, seen over ${c.transport}`);
      const services = await c.list('services');
      assert.equal(services.map((m) => m['service-id'] as bigint).sort(), [...serviceIds].sort(), `all services, seen over ${c.transport}`);
    }
    // Each client is listed with the address of the transport it came over.
    const listed = await clients[0]!.list('clients');
    for (const c of clients) {
      const m = listed.find((x) => x['client-id'] === c.clientId)!;
      assert.match(m['client-address'] as string, clientAddressPattern(undefined, c.transport as 'tcp' | 'tls' | 'ux'));
    }
  } finally {
    for (const c of clients) c.close();
    await pafd.stop();
  }
});

interface Utls { utls: string; uxHalf: string; tlsHalf: string; tlsOnly: string }

/** A pafd with one domain: a utls socket (credentials from its tls section) and a plain tls socket. */
async function utlsServer(): Promise<{ stop: () => Promise<number | null> } & Utls> {
  const pki = matrixPki();
  const section = `{cert: ${pki.server.cert}, key: ${pki.server.key}, tc: ${pki.ca}}`;
  const pafd = await startPafd([], {
    config: `domains:\n  - sockets:\n      - {addr: 'utls:127.0.0.1:0', tls: ${section}}\n      - {addr: 'tls:127.0.0.1:0', tls: ${section}}\n`,
  });
  const utls = pafd.addresses.find((a) => a.startsWith('utls:'))!;
  const tlsOnly = pafd.addresses.find((a) => a.startsWith('tls:'))!;
  assert.match(utls, /^utls:127\.0\.0\.1:\d+$/);
  const port = portOf(utls);
  return { stop: () => pafd.stop(), utls, uxHalf: `ux:127.0.0.1:${port}`, tlsHalf: `tls:127.0.0.1:${port}`, tlsOnly };
}

async function addressOf(observer: WireClient, c: WireClient): Promise<string> {
  const listed: Msg[] = await observer.list('clients');
  const m = listed.find((x) => x['client-id'] === c.clientId);
  assert.ok(m, 'client listed');
  return m!['client-address'] as string;
}

/** Opens clients (hello done) as a user, remembering them for the test's clean-up. */
function clientOpener(): { opened: WireClient[]; open: (address: string, user?: number) => Promise<WireClient> } {
  const opened: WireClient[] = [];
  const open = async (address: string, user?: number) => {
    const c = await WireClient.open(address, user === undefined ? {} : { user });
    opened.push(c);
    return c;
  };
  return { opened, open };
}

t('utls: ux and utls clients reach the UX half, tls clients the TLS half; a utls client without a UX half falls back to TLS', async () => {
  const server = await utlsServer();
  const { opened, open } = clientOpener();
  try {
    const ux = await open(server.uxHalf);
    const tls = await open(server.tlsHalf, 0);
    const utls = await open(server.utls, 1);
    const fallback = await open(`utls:127.0.0.1:${portOf(server.tlsOnly)}`, 1);
    assert.is(ux.transport, 'ux');
    assert.is(tls.transport, 'tls');
    assert.is(utls.transport, 'ux', 'a utls client uses the UX half when it exists');
    assert.is(fallback.transport, 'tls', 'a utls client without a UX half connects with TLS');
    assert.match(await addressOf(ux, ux), clientAddressPattern(undefined, 'ux'));
    assert.match(await addressOf(ux, utls), clientAddressPattern(undefined, 'ux'));
    assert.match(await addressOf(ux, tls), clientAddressPattern(undefined, 'tls'));
    assert.match(await addressOf(ux, fallback), clientAddressPattern(undefined, 'tls'));
    for (const c of opened) await assertPings(c);
    // Both halves and the plain tls socket are one domain.
    assert.is((await tls.list('clients')).length, opened.length);
  } finally {
    for (const c of opened) c.close();
    await server.stop();
  }
});

t('utls: user ids per half: all UX-half clients are one user, TLS-half clients are their certificates', async () => {
  const server = await utlsServer();
  const { opened, open } = clientOpener();
  try {
    const ux = await open(server.uxHalf);
    const utlsOverUx = await open(server.utls, 2);
    const tls0 = await open(server.tlsHalf, 0);
    const tls0b = await open(server.tlsHalf, 0);
    const tls1 = await open(server.tlsHalf, 1);
    const props = { name: ['utls-user'] };

    // A service of the UX user: no certificate may touch it, any UX-half client may.
    const local = randomId();
    assertComplete(await ux.publish(local, 1, props, 30));
    assertFail(await tls0.unpublish(local), 'permission-denied', 'certificate user on a UX user\'s service');
    assertFail(await tls0.publish(local, 2, props, 30), 'permission-denied');
    assertComplete(await utlsOverUx.unpublish(local), 'a utls client over UX is the UX user (whatever certificate it holds)');

    // A service of certificate client0: the UX user and client1 are others, client0 on another connection is the owner.
    const remote = randomId();
    assertComplete(await tls0.publish(remote, 1, props, 30));
    assertFail(await ux.unpublish(remote), 'permission-denied', 'UX user on a certificate user\'s service');
    assertFail(await utlsOverUx.unpublish(remote), 'permission-denied');
    assertFail(await tls1.unpublish(remote), 'permission-denied', 'another certificate');
    assertComplete(await tls0b.unpublish(remote), 'same certificate, other connection');
  } finally {
    for (const c of opened) c.close();
    await server.stop();
  }
});

t.run();
