// The TLS-only conformance scenarios against the real pafd bundle: H13's
// TLS variants (a plain TCP peer on a TLS port, a TLS peer that never
// says hello), users by certificate (P19, O10: same address, different
// certificates = different users), refused certificates (revoked,
// expired, unknown CA, none) while a connected client keeps working, and
// S5 with missing TLS credentials.

import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TlsFiles } from '../../src/transport/tls-credentials';
import { encodeFrame } from '../helpers/frame';
import type { Credential, TestPki } from '../helpers/certs';
import { makeTestPki } from '../helpers/certs';
import {
  assertComplete, assertDisappeared, assertFail, assertMatch, nextAbout, reconnect, subscribeOk,
} from '../helpers/directory-model';
import { startPafd, tempDir } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { assertOneLineFailure, assertPings, assertWithin, closedAt, nowS, runPafdBounded } from '../helpers/robust';
import { serverEnv } from '../helpers/transport';
import { WireClient, randomId } from '../helpers/wire';

/** docs/protocol.md §5.3 / conformance H13: closed 2–4 s after connect. */
const HANDSHAKE_WINDOW = { lo: 2, hi: 4 };
const USER_1 = 0, USER_2 = 1;

// One PKI with certificates of every kind for the refusal cases; removed at exit.
const pki: TestPki = makeTestPki();
process.on('exit', () => pki.remove());

interface Ctx { pafd: Pafd; addr: string; strict: Pafd; strictAddr: string }
const t = suite<Ctx>('tls', {} as Ctx);

t.before(async (ctx) => {
  // Credentials from $XCM_TLS_CERT, as the original harness gives them.
  ctx.pafd = await startPafd(['tls:127.0.0.1:0'], { env: serverEnv('tls') });
  ctx.addr = ctx.pafd.addresses[0]!;
  // Credentials from the socket's tls section, with CRL checking.
  const tlsSection = `{cert: ${pki.server.cert}, key: ${pki.server.key}, tc: ${pki.rootCa}, crl: ${pki.crlAll}}`;
  ctx.strict = await startPafd([], { config: `domains:\n  - sockets:\n      - {addr: 'tls:127.0.0.1:0', tls: ${tlsSection}}\n` });
  ctx.strictAddr = ctx.strict.addresses[0]!;
});
t.after(async (ctx) => {
  await ctx.pafd?.stop();
  await ctx.strict?.stop();
});

// ------------------------------------------------------------------ H13

t('H13 a plain TCP connection to a TLS port that never starts TLS is closed 2–4 s after connect', async ({ addr, pafd }) => {
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const t0 = nowS();
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = 0;
  socket.on('data', (d) => { received += d.length; });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  assertWithin(nowS() - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
  assert.is(received, 0, 'nothing was sent to the silent peer');
  assert.is(pafd.proc.exitCode, null, 'pafd keeps running');
});

t('H13 a TLS connection that never says hello is closed 2–4 s after connect', async ({ addr }) => {
  const t0 = nowS();
  const c = await WireClient.connect(addr);
  const closed = await closedAt(c, (HANDSHAKE_WINDOW.hi + 1) * 1000);
  assertWithin(closed - t0, HANDSHAKE_WINDOW.lo, HANDSHAKE_WINDOW.hi, 'close after connect');
  assert.is(c.unread.length, 0, 'closed without a message');
});

t('H13 a TCP peer that sends garbage instead of a TLS ClientHello is dropped; the server keeps serving', async ({ addr }) => {
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write(encodeFrame('{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":1,"protocol-minimum-version":2,"protocol-maximum-version":3}'));
  const t0 = nowS();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  assert.ok(nowS() - t0 < HANDSHAKE_WINDOW.hi, 'closed within the handshake window');
  const c = await WireClient.open(addr);
  await assertPings(c);
  c.close();
});

// ---------------------------------------------------------- certificate users

t('P19 users are certificates: from the same address, another certificate can neither unpublish nor republish; the same certificate can', async ({ addr }) => {
  const u1 = await WireClient.open(addr, { user: USER_1 });
  const u2 = await WireClient.open(addr, { user: USER_2 });
  try {
    const id = randomId();
    const props = { name: ['p19-tls'] };
    assertComplete(await u1.publish(id, 1, props, 10));
    assertFail(await u2.unpublish(id), 'permission-denied');
    assertFail(await u2.publish(id, 2, props, 10), 'permission-denied');
    const u1b = await WireClient.open(addr, { user: USER_1 });
    assertComplete(await u1b.unpublish(id), 'unpublish by a later client with the owner\'s certificate');
    u1b.close();
    const listed = await u2.list('clients');
    for (const m of listed) assert.match(m['client-address'] as string, /^tls:127\.0\.0\.1:\d+$/);
  } finally {
    u1.close();
    u2.close();
  }
});

t('O10 an orphan of certificate U1: hello with its client id and certificate U2 fails until the TTL passed, then succeeds', async ({ addr }) => {
  const observer = await WireClient.open(addr);
  const ta = await subscribeOk(observer, randomId());
  const u1 = await WireClient.open(addr, { user: USER_1 });
  const clientId = u1.clientId;
  const id = randomId();
  assertComplete(await u1.publish(id, 1, {}, 1));
  assertMatch(await nextAbout(observer, ta, id), ta, 'appeared', { id, generation: 1, props: {}, ttl: 1, clientId });
  u1.close();
  assertMatch(await nextAbout(observer, ta, id), ta, 'modified', { id, generation: 1, props: {}, ttl: 1, clientId, orphan: true });
  const u2 = await WireClient.connect(addr, { user: USER_2 });
  u2.clientId = clientId;
  assertFail(await u2.hello(), 'permission-denied');
  u2.close();
  assertDisappeared(await nextAbout(observer, ta, id, 3000), ta, id);
  assert.is((await observer.list('services')).length, 0);
  const again = await reconnect(addr, clientId, { user: USER_2 });
  await assertPings(again);
  again.close();
  observer.close();
});

// ------------------------------------------------------- refused certificates

function files(c: Credential, tc: string = pki.rootCa): TlsFiles {
  return { cert: c.cert, key: c.key, tc };
}

/**
 * A client the server must refuse: the connect fails, or the connection
 * is closed with nothing sent even though it said hello.
 */
async function assertRefused(address: string, creds: TlsFiles, what: string): Promise<void> {
  let c: WireClient;
  try {
    c = await WireClient.connect(address, { tls: creds });
  } catch (err) {
    // Refused by the server, not failed on our side.
    assert.not.match((err as Error).message, /cannot read|invalid TLS credentials/, `${what}: client-side failure`);
    return;
  }
  c.send('hello', c.taId(), 'request', { 'client-id': c.clientId, 'protocol-minimum-version': 2n, 'protocol-maximum-version': 3n });
  await c.expectClosed(HANDSHAKE_WINDOW.lo * 1000);
  assert.is(c.unread.length, 0, `${what}: no reply`);
}

/** A TLS client without any certificate: closed before any Pathfinder message. */
function assertNoCertRefused(address: string): Promise<void> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(pki.rootCa), checkServerIdentity: () => undefined });
    let received = 0;
    socket.on('secureConnect', () => {
      socket.write(encodeFrame(`{"ta-cmd":"hello","ta-id":0,"msg-type":"request","client-id":${randomId()},"protocol-minimum-version":2,"protocol-maximum-version":3}`));
    });
    socket.on('data', (d) => { received += d.length; });
    socket.on('error', () => {});
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('a client without a certificate was not closed within 2 s')); }, HANDSHAKE_WINDOW.lo * 1000);
    socket.on('close', () => {
      clearTimeout(timer);
      if (received > 0) reject(new Error(`a client without a certificate was sent ${received} bytes`));
      else resolve();
    });
  });
}

t('revoked, expired, unknown-CA and certificate-less clients are refused while a connected client keeps working', async ({ strictAddr, strict }) => {
  const alice = await WireClient.open(strictAddr, { tls: files(pki.alice) });
  const ta = await subscribeOk(alice, randomId());
  await assertRefused(strictAddr, files(pki.mallory), 'revoked');
  await assertRefused(strictAddr, files(pki.expired), 'expired');
  await assertRefused(strictAddr, files(pki.stranger, pki.rootCa), 'unknown CA');
  await assertNoCertRefused(strictAddr);
  // Each was refused by the certificate check, for its own reason.
  for (const reason of [/CERT_REVOKED/, /CERT_HAS_EXPIRED/, /UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/, /did not present a certificate/]) {
    await strict.waitForLog(new RegExp(`TLS handshake with tls:127\\.0\\.0\\.1:\\d+ failed: .*${reason.source}`), 2000);
  }
  // The connected client noticed nothing, and valid certificates still get in (also through the intermediate CA).
  await assertPings(alice, 'the connected client still works');
  assert.is(alice.unread.filter((m) => m['ta-id'] !== ta).length, 0);
  assert.is((await alice.list('clients')).length, 1, 'no refused client got a session');
  for (const ok of [pki.bob, pki.carol]) {
    const c = await WireClient.open(strictAddr, { tls: files(ok) });
    await assertPings(c);
    c.close();
  }
  assert.is(strict.proc.exitCode, null);
  alice.close();
});

// ------------------------------------------------------------------ S5

t('S5 missing TLS certificates in $XCM_TLS_CERT: exit 1 with one line naming the file', async () => {
  const dir = join(tempDir(), 'no-such-dir');
  const line = assertOneLineFailure(await runPafdBounded(['-n', 'tls:127.0.0.1:0'], 30000, { XCM_TLS_CERT: dir }), 'empty certificate dir');
  assert.match(line, dir);
});

t('S5 missing TLS certificate files named in the configuration: exit 1 with one line naming the file', async () => {
  const dir = tempDir();
  const missing = join(dir, 'missing-cert.pem');
  const config = join(dir, 'pafd.yaml');
  writeFileSync(config, `domains:\n  - sockets:\n      - {addr: 'tls:127.0.0.1:0', tls: {cert: ${missing}, key: ${pki.server.key}, tc: ${pki.rootCa}}}\n`);
  const line = assertOneLineFailure(await runPafdBounded(['-n', '-f', config]), 'missing certificate file');
  assert.match(line, missing);
});

t('S5 a missing certificate for a utls socket fails the start the same way', async () => {
  const dir = join(tempDir(), 'no-such-dir');
  assertOneLineFailure(await runPafdBounded(['-n', 'utls:127.0.0.1:0'], 30000, { XCM_TLS_CERT: dir }), 'utls without certificates');
});

t.run();
