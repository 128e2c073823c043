import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { parseAddress } from '../../src/transport/address';
import type { Address } from '../../src/transport/address';
import { TLS_HANDSHAKE_TIMEOUT_MS, XCM_TLS_CIPHERS, connectTls, listenTls } from '../../src/transport/tls';
import type { TlsReloadable } from '../../src/transport/tls';
import type { TlsCredentialFiles } from '../../src/transport/tls-credentials';
import { DEFAULT_TLS_CERT_DIR, currentNetnsName, resolveTlsFiles } from '../../src/transport/tls-credentials';
import type { MessageConnection, MessageListener } from '../../src/transport/types';
import type { Credential, TestPki } from '../helpers/certs';
import { makeTestPki, opensslSki } from '../helpers/certs';

type IpAddress = Extract<Address, { host: string }>;
type Outcome =
  | { kind: 'accepted'; conn: MessageConnection }
  | { kind: 'refused'; remote: string; reason: string };

// One PKI for every suite of the file; removed when the process exits.
const pki: TestPki = makeTestPki();
process.on('exit', () => pki.remove());

/** A TLS listener whose connections and handshake failures queue up as outcomes. */
class Harness {
  private readonly outcomes: Outcome[] = [];
  private waiters: ((o: Outcome) => void)[] = [];
  listener!: MessageListener & TlsReloadable;
  readonly accepted: MessageConnection[] = [];

  async start(files: TlsCredentialFiles, handshakeTimeoutMs?: number): Promise<this> {
    const opts = handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs };
    this.listener = await listenTls(parseAddress('tls:127.0.0.1:0') as IpAddress, files,
      (conn) => { this.accepted.push(conn); this.push({ kind: 'accepted', conn }); },
      (remote, reason) => this.push({ kind: 'refused', remote, reason }),
      opts);
    return this;
  }

  get address(): string { return this.listener.address; }
  get port(): number { return Number(this.address.slice(this.address.lastIndexOf(':') + 1)); }

  private push(o: Outcome): void {
    const w = this.waiters.shift();
    if (w) w(o); else this.outcomes.push(o);
  }

  next(): Promise<Outcome> {
    const o = this.outcomes.shift();
    if (o) return Promise.resolve(o);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async stop(): Promise<void> {
    for (const c of this.accepted) c.close();
    await this.listener.close();
  }
}

function serverFiles(extra: Partial<TlsCredentialFiles> = {}): TlsCredentialFiles {
  return { cert: pki.server.cert, key: pki.server.key, tc: pki.rootCa, ...extra };
}

function clientFiles(who: Credential, tc = pki.rootCa): TlsCredentialFiles {
  return { cert: who.cert, key: who.key, tc };
}

/** A raw node:tls client; resolves when it is closed, for whatever reason. */
function rawClient(port: number, options: tls.ConnectionOptions): Promise<{ error?: Error }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, checkServerIdentity: () => undefined, ...options });
    let error: Error | undefined;
    s.on('error', (e) => { error = e; });
    s.on('secureConnect', () => { s.write('\0\0\0\0'); });
    s.on('close', () => resolve(error ? { error } : {}));
    s.resume();
  });
}

function accepted(o: Outcome, what = ''): MessageConnection {
  if (o.kind !== 'accepted') assert.unreachable(`${what} refused: ${o.reason}`);
  return (o as Extract<Outcome, { kind: 'accepted' }>).conn;
}

function credOptions(who: Credential | undefined, tc = pki.rootCa): tls.ConnectionOptions {
  return {
    ca: readFileSync(tc),
    ...(who ? { cert: readFileSync(who.cert), key: readFileSync(who.key) } : {}),
  };
}

function closed(conn: MessageConnection): Promise<string | undefined> {
  return new Promise((resolve) => { conn.onClose = resolve; });
}

async function expectRefused(h: Harness, client: Promise<unknown>, reason: RegExp): Promise<void> {
  const o = await h.next();
  await client;
  if (o.kind !== 'refused') { assert.unreachable('accepted'); return; }
  assert.match(o.reason, reason, o.reason);
  assert.match(o.remote, /^tls:127\.0\.0\.1:\d+$/);
}

const auth = suite('tls authentication');

auth('valid client accepted, user from its SKI, addresses rendered as tls:', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const client = await connectTls(h.address, clientFiles(pki.alice));
    const conn = accepted(await h.next());
    assert.is(conn.user, `ski:${opensslSki(pki.alice.cert)}`);
    assert.match(conn.remoteAddress, /^tls:127\.0\.0\.1:\d+$/);
    assert.is(client.remoteAddress, `tls:127.0.0.1:${h.port}`);
    // The client side sees the server's certificate key.
    assert.is(client.user, `ski:${opensslSki(pki.server.cert)}`);
    client.close();
  } finally {
    await h.stop();
  }
});

auth('RSA client and a client issued by an intermediate (chain sent by the client)', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    for (const who of [pki.bob, pki.carol]) {
      const client = await connectTls(h.address, clientFiles(who));
      assert.is(accepted(await h.next(), who.cert).user, `ski:${opensslSki(who.cert)}`);
      client.close();
    }
  } finally {
    await h.stop();
  }
});

auth('partial chain: the intermediate alone as trust anchor', async () => {
  const h = await new Harness().start(serverFiles({ tc: pki.intermediateCa }));
  try {
    const client = await connectTls(h.address, clientFiles(pki.carol));
    accepted(await h.next());
    client.close();
    await expectRefused(h, rawClient(h.port, credOptions(pki.alice)), /rejected/);
  } finally {
    await h.stop();
  }
});

auth('with CRL checking the chain must reach a self-signed CA', async () => {
  const h = await new Harness().start(serverFiles({ tc: pki.intermediateCa, crl: pki.crlAll }));
  try {
    await expectRefused(h, rawClient(h.port, credOptions(pki.carol)), /rejected: [A-Z_]+$/);
  } finally {
    await h.stop();
  }
});

auth('client without a certificate is refused', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    await expectRefused(h, rawClient(h.port, credOptions(undefined)), /did not present a certificate/);
  } finally {
    await h.stop();
  }
});

auth('client certificate from an unknown CA is refused', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    await expectRefused(h, rawClient(h.port, credOptions(pki.stranger)), /rejected: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/);
  } finally {
    await h.stop();
  }
});

auth('expired client certificate is refused', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    await expectRefused(h, rawClient(h.port, credOptions(pki.expired)), /rejected: CERT_HAS_EXPIRED/);
  } finally {
    await h.stop();
  }
});

auth('client certificate limited to serverAuth is refused (EKU honoured)', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    await expectRefused(h, rawClient(h.port, credOptions(pki.serverOnly)), /rejected: INVALID_PURPOSE/);
  } finally {
    await h.stop();
  }
});

auth('CRL: revoked client refused, others accepted; every CA level needs a CRL', async () => {
  const h = await new Harness().start(serverFiles({ crl: pki.crlAll }));
  try {
    await expectRefused(h, rawClient(h.port, credOptions(pki.mallory)), /rejected: CERT_REVOKED/);
    for (const who of [pki.alice, pki.carol]) {
      const client = await connectTls(h.address, clientFiles(who));
      accepted(await h.next(), who.cert);
      client.close();
    }
  } finally {
    await h.stop();
  }
  const rootOnly = await new Harness().start(serverFiles({ crl: pki.crlRootOnly }));
  try {
    await expectRefused(rootOnly, rawClient(rootOnly.port, credOptions(pki.carol)), /rejected: UNABLE_TO_GET_CRL/);
  } finally {
    await rootOnly.stop();
  }
});

auth('certificate without SKI gives the user "ski:"', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const client = await connectTls(h.address, clientFiles(pki.noSki));
    assert.is(accepted(await h.next()).user, 'ski:');
    client.close();
  } finally {
    await h.stop();
  }
});

auth('the client verifies the server against its trusted CAs, without name checks', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    // Passing: the server certificate names server.invalid, not 127.0.0.1.
    (await connectTls(h.address, clientFiles(pki.alice))).close();
    await h.next();
    try {
      await connectTls(h.address, clientFiles(pki.alice, pki.otherCa));
      assert.unreachable('server from an untrusted CA accepted');
    } catch (err) {
      assert.match((err as Error).message, /^tls:127\.0\.0\.1:\d+: .*(issuer|self-signed|verify)/i);
    }
  } finally {
    await h.stop();
  }
});

const proto = suite('tls protocol parameters and framing');

proto('messages round-trip in both directions, in order, small and large', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const client = await connectTls(h.address, clientFiles(pki.alice));
    const o = await h.next();
    if (o.kind !== 'accepted') { assert.unreachable(o.reason); return; }
    const server = o.conn;
    const messages = ['{"ta-cmd":"ping"}', 'é€😀', 'x'.repeat(65535), '{"last":true}'];
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      server.onMessage = (p) => {
        received.push(p.toString('utf8'));
        server.send(p.toString('utf8'));
        if (received.length === messages.length) resolve();
      };
    });
    const echoed: string[] = [];
    const back = new Promise<void>((resolve) => {
      client.onMessage = (p) => { echoed.push(p.toString('utf8')); if (echoed.length === messages.length) resolve(); };
    });
    for (const m of messages) client.send(m);
    await all;
    await back;
    assert.equal(received, messages);
    assert.equal(echoed, messages);
    const gone = closed(server);
    client.close();
    assert.is(await gone, 'closed by peer');
  } finally {
    await h.stop();
  }
});

proto('a frame longer than the limit breaks the connection', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const s = tls.connect({ host: '127.0.0.1', port: h.port, checkServerIdentity: () => undefined, ...credOptions(pki.alice) });
    s.on('error', () => {});
    const o = await h.next();
    if (o.kind !== 'accepted') { assert.unreachable(o.reason); return; }
    const gone = closed(o.conn);
    s.write(Buffer.from([0x00, 0x04, 0x00, 0x01]));
    assert.match(String(await gone), /framing error/);
    s.destroy();
  } finally {
    await h.stop();
  }
});

proto('TLS 1.3 by default; TLS 1.2 with an XCM suite; no resumption', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const versions: string[] = [];
    const sessions: Buffer[] = [];
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const done = new Promise<void>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: h.port, checkServerIdentity: () => undefined, maxVersion, ...credOptions(pki.alice) });
        s.on('session', (sess) => sessions.push(sess));
        s.on('error', reject);
        s.on('secureConnect', () => {
          versions.push(`${s.getProtocol()} ${s.getCipher().standardName}`);
          assert.ok(XCM_TLS_CIPHERS.split(':').includes(s.getCipher().name), s.getCipher().name);
          // One message each way, so any ticket the server sends has arrived.
          s.write(Buffer.from([0, 0, 0, 2, 0x7b, 0x7d]));
          s.once('data', () => { s.end(); });
        });
        s.on('close', () => resolve());
      });
      const conn = accepted(await h.next());
      conn.onMessage = (p) => conn.send(p.toString());
      await done;
    }
    assert.equal(versions, ['TLSv1.3 TLS_AES_256_GCM_SHA384', 'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']);
    for (const session of sessions) {
      const reused = await new Promise<boolean>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: h.port, checkServerIdentity: () => undefined, session, ...credOptions(pki.alice) });
        s.on('error', reject);
        s.on('secureConnect', () => { resolve(s.isSessionReused()); s.destroy(); });
      });
      assert.is(reused, false);
      await h.next();
    }
  } finally {
    await h.stop();
  }
});

proto('DHE-RSA suites work with an RSA server key', async () => {
  const h = await new Harness().start(serverFiles({ cert: pki.bob.cert, key: pki.bob.key }));
  try {
    const cipher = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: h.port, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2',
        ciphers: 'DHE-RSA-AES256-GCM-SHA384', ...credOptions(pki.alice) });
      s.on('error', reject);
      s.on('secureConnect', () => { resolve(s.getCipher().name); s.destroy(); });
    });
    assert.is(cipher, 'DHE-RSA-AES256-GCM-SHA384');
    accepted(await h.next());
  } finally {
    await h.stop();
  }
});

proto('TLS 1.1 and suites outside XCM\'s list are refused', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    await expectRefused(h, rawClient(h.port, { ...credOptions(pki.alice), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' }),
      /no.shared.cipher/i);
    await expectRefused(h, rawClient(h.port, { ...credOptions(pki.alice), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
      /unsupported.protocol|version/i);
  } finally {
    await h.stop();
  }
});

proto('a peer that never does TLS is dropped after the handshake timeout', async () => {
  assert.is(TLS_HANDSHAKE_TIMEOUT_MS, 3000);
  const h = await new Harness().start(serverFiles(), 100);
  try {
    const sock = net.connect({ host: '127.0.0.1', port: h.port });
    const ended = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('error', () => {});
    await expectRefused(h, ended, /timeout/i);
  } finally {
    await h.stop();
  }
});

proto('close() drops connections still in the handshake', async () => {
  const h = await new Harness().start(serverFiles(), 60_000);
  const sock = net.connect({ host: '127.0.0.1', port: h.port });
  sock.on('error', () => {});
  const ended = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => sock.on('connect', () => resolve()));
  sock.write(Buffer.from([0x16, 0x03, 0x01]));
  // The server accepts in order: once a later TLS client is through, it holds the silent one too.
  const client = await connectTls(h.address, clientFiles(pki.alice));
  accepted(await h.next());
  client.close();
  // Were the silent connection left alone, the listener would only close after 60 s.
  let guard: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => { guard = setTimeout(() => reject(new Error('close() waited for the handshake')), 10_000); });
  try {
    await Promise.race([Promise.all([h.stop(), ended]), stuck]);
  } finally {
    clearTimeout(guard);
  }
});

proto('setCredentials: new handshakes use the new certificate, bad files keep the old ones', async () => {
  const h = await new Harness().start(serverFiles());
  try {
    const first = await connectTls(h.address, clientFiles(pki.alice));
    assert.is(first.user, `ski:${opensslSki(pki.server.cert)}`);
    await h.next();
    assert.throws(() => h.listener.setCredentials(serverFiles({ cert: join(pki.dir, 'nope.pem') })), /nope\.pem/);
    h.listener.setCredentials(serverFiles({ cert: pki.bob.cert, key: pki.bob.key }));
    const second = await connectTls(h.address, clientFiles(pki.alice));
    assert.is(second.user, `ski:${opensslSki(pki.bob.cert)}`);
    await h.next();
    first.close();
    second.close();
  } finally {
    await h.stop();
  }
});

const creds = suite('tls credentials');

creds('missing or unusable files reject listenTls with a one-line error naming the file', async () => {
  const addr = parseAddress('tls:127.0.0.1:0') as IpAddress;
  const missing = join(pki.dir, 'missing', 'key.pem');
  const cases: [TlsCredentialFiles, RegExp][] = [
    [serverFiles({ key: missing }), /^cannot read TLS private key file .*missing\/key\.pem: ENOENT$/],
    [serverFiles({ tc: join(pki.dir, 'none.pem') }), /^cannot read TLS trusted CA file .*none\.pem: ENOENT$/],
    [serverFiles({ crl: join(pki.dir, 'none.crl') }), /^cannot read TLS CRL file .*none\.crl: ENOENT$/],
    [serverFiles({ cert: pki.dir }), /^cannot read TLS certificate file .*: EISDIR$/],
    [serverFiles({ key: pki.alice.key }), /^invalid TLS credentials \(certificate .*server\.crt, key .*alice\.key.*\): .*mismatch/],
    [serverFiles({ cert: pki.server.key }), /^invalid TLS credentials .*: /],
  ];
  for (const [files, re] of cases) {
    try {
      await listenTls(addr, files, () => {});
      assert.unreachable(`listenTls accepted ${JSON.stringify(files)}`);
    } catch (err) {
      const msg = (err as Error).message;
      assert.match(msg, re);
      assert.not.match(msg, /\n/);
    }
  }
});

creds('directory lookup: $XCM_TLS_CERT, default directory, namespace names, explicit files win', () => {
  const none = (): undefined => undefined;
  assert.equal(resolveTlsFiles(undefined, { XCM_TLS_CERT: '/certs' }, none),
    { cert: '/certs/cert.pem', key: '/certs/key.pem', tc: '/certs/tc.pem' });
  assert.equal(resolveTlsFiles(undefined, {}, none),
    { cert: `${DEFAULT_TLS_CERT_DIR}/cert.pem`, key: `${DEFAULT_TLS_CERT_DIR}/key.pem`, tc: `${DEFAULT_TLS_CERT_DIR}/tc.pem` });
  assert.is(DEFAULT_TLS_CERT_DIR, '/etc/xcm/tls');
  assert.equal(resolveTlsFiles({}, { XCM_TLS_CERT: '/certs' }, () => 'blue'),
    { cert: '/certs/cert_blue.pem', key: '/certs/key_blue.pem', tc: '/certs/tc_blue.pem' });
  assert.equal(resolveTlsFiles({ key: '/k.pem', crl: '/c.pem' }, { XCM_TLS_CERT: '/certs' }, none),
    { cert: '/certs/cert.pem', key: '/k.pem', tc: '/certs/tc.pem', crl: '/c.pem' });
  let asked = 0;
  const counting = (): string => { asked++; return 'red'; };
  assert.equal(resolveTlsFiles({ cert: '/a', key: '/b', tc: '/c' }, {}, counting), { cert: '/a', key: '/b', tc: '/c' });
  assert.is(asked, 0, 'no namespace lookup when every file is explicit');
  // Here the process runs in no named namespace (or one we can find); either way no throw.
  const ns = currentNetnsName();
  assert.ok(ns === undefined || typeof ns === 'string');
});

creds('listener on credentials found through $XCM_TLS_CERT', async () => {
  const dir = join(pki.dir, 'xcm-tls');
  mkdirSync(dir);
  copyFileSync(pki.server.cert, join(dir, 'cert.pem'));
  copyFileSync(pki.server.key, join(dir, 'key.pem'));
  copyFileSync(pki.rootCa, join(dir, 'tc.pem'));
  const files = resolveTlsFiles(undefined, { XCM_TLS_CERT: dir }, () => undefined);
  const h = await new Harness().start(files);
  try {
    const client = await connectTls(h.address, clientFiles(pki.alice));
    assert.is(client.user, `ski:${opensslSki(pki.server.cert)}`);
    await h.next();
    client.close();
  } finally {
    await h.stop();
  }
  // Explicit cert and key override the directory's.
  const h2 = await new Harness().start(resolveTlsFiles({ cert: pki.bob.cert, key: pki.bob.key }, { XCM_TLS_CERT: dir }, () => undefined));
  try {
    const client = await connectTls(h2.address, clientFiles(pki.alice));
    assert.is(client.user, `ski:${opensslSki(pki.bob.cert)}`);
    await h2.next();
    client.close();
  } finally {
    await h2.stop();
  }
});

auth.run();
proto.run();
creds.run();
