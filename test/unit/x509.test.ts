import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DerError, OID_SUBJECT_KEY_IDENTIFIER, certificateExtension, readElement, skiUserId, subjectKeyIdentifier,
} from '../../src/transport/x509';
import type { TestPki } from '../helpers/certs';
import { certDer, makeTestPki, opensslSki } from '../helpers/certs';

const pki: TestPki = makeTestPki();
process.on('exit', () => pki.remove());

function hexColons(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** DER TLV with a definite length (long form when needed). */
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');

/** A skeleton certificate: tbs with version, serial, then the given extensions; fake signature. */
function fakeCert(extensions: Buffer[], padding = 0): Buffer {
  const tbs = tlv(0x30,
    tlv(0xa0, tlv(0x02, hex('02'))),
    tlv(0x02, hex('01')),
    tlv(0x30, tlv(0x06, hex('2a8648ce3d040302'))),
    tlv(0x30, Buffer.alloc(padding)),
    ...(extensions.length ? [tlv(0xa3, tlv(0x30, ...extensions))] : []));
  return tlv(0x30, tbs, tlv(0x30, tlv(0x06, hex('2a8648ce3d040302'))), tlv(0x03, hex('00 01 02')));
}

function ext(oid: Buffer, value: Buffer, critical?: boolean): Buffer {
  return tlv(0x30, tlv(0x06, oid), ...(critical === undefined ? [] : [tlv(0x01, Buffer.from([critical ? 0xff : 0]))]), tlv(0x04, value));
}

const real = suite('x509 on openssl-made certificates');


real('SKI of EC, RSA, CA and chained certificates matches openssl', () => {
  const files = [pki.alice.cert, pki.bob.cert, pki.carol.cert, pki.server.cert, pki.rootCa, pki.intermediateCa, pki.mallory.cert, pki.stranger.cert];
  const seen = new Set<string>();
  for (const file of files) {
    const expected = opensslSki(file);
    assert.ok(/^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/.test(expected), `openssl printed an SKI for ${file}: ${expected}`);
    const ski = subjectKeyIdentifier(certDer(file));
    assert.ok(ski !== null, file);
    assert.is(hexColons(ski!), expected, file);
    assert.is(skiUserId(certDer(file)), `ski:${expected}`, file);
    seen.add(expected);
  }
  // Sanity: the certificates do not all share one key.
  assert.ok(seen.size >= 7);
});

real('works on the DER Node hands out (X509Certificate.raw)', () => {
  const x = new X509Certificate(readFileSync(pki.bob.cert));
  assert.is(skiUserId(x.raw), `ski:${opensslSki(pki.bob.cert)}`);
  assert.equal(x.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(new X509Certificate(readFileSync(pki.alice.cert)).publicKey.asymmetricKeyType, 'ec');
});

real('certificate without SKI: null, and the user id is the bare "ski:" (B17)', () => {
  assert.is(opensslSki(pki.noSki.cert), '');
  assert.is(subjectKeyIdentifier(certDer(pki.noSki.cert)), null);
  assert.is(skiUserId(certDer(pki.noSki.cert)), 'ski:');
  // It does have other extensions; those are found.
  assert.ok(certificateExtension(certDer(pki.noSki.cert), hex('551d23')) !== null);
});

real('v1 certificate (no extensions at all): null', () => {
  assert.is(subjectKeyIdentifier(certDer(pki.v1.cert)), null);
  assert.is(skiUserId(certDer(pki.v1.cert)), 'ski:');
});

real('every truncation of a real certificate throws', () => {
  const der = certDer(pki.bob.cert);
  for (let n = 0; n < der.length; n++) {
    assert.throws(() => subjectKeyIdentifier(der.subarray(0, n)), (e: unknown) => e instanceof DerError, `prefix of ${n} bytes`);
  }
  assert.throws(() => subjectKeyIdentifier(Buffer.concat([der, Buffer.from([0])])), /trailing/);
});

real('random corruption never hangs: each result is a DerError, null or a buffer', () => {
  const der = certDer(pki.alice.cert);
  let seed = 12345;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  let threw = 0;
  for (let round = 0; round < 3000; round++) {
    const bad = Buffer.from(der);
    for (let k = 0; k <= rand(3); k++) bad[rand(bad.length)] = rand(256);
    try {
      const r = subjectKeyIdentifier(bad);
      assert.ok(r === null || Buffer.isBuffer(r));
    } catch (e) {
      assert.instance(e, DerError);
      threw++;
    }
  }
  assert.ok(threw > 0);
});

const synthetic = suite('x509 on hand-made DER');

synthetic('finds the SKI among other extensions, with and without the critical flag', () => {
  const keyId = hex('01 02 03 fe');
  const der = fakeCert([
    ext(hex('551d13'), tlv(0x30), true),
    ext(OID_SUBJECT_KEY_IDENTIFIER, tlv(0x04, keyId), false),
  ]);
  assert.equal(subjectKeyIdentifier(der), keyId);
  assert.is(skiUserId(der), 'ski:01:02:03:fe');
  const critical = fakeCert([ext(OID_SUBJECT_KEY_IDENTIFIER, tlv(0x04, hex('aa')), true)]);
  assert.is(skiUserId(critical), 'ski:aa');
});

synthetic('long-form lengths', () => {
  const der = fakeCert([ext(OID_SUBJECT_KEY_IDENTIFIER, tlv(0x04, hex('0b')))], 300);
  assert.is(der[1], 0x82);
  assert.is(skiUserId(der), 'ski:0b');
});

synthetic('empty key identifier is the bare ski:', () => {
  assert.is(skiUserId(fakeCert([ext(OID_SUBJECT_KEY_IDENTIFIER, tlv(0x04))])), 'ski:');
});

synthetic('an OID that merely starts like 2.5.29.14 does not match', () => {
  assert.is(subjectKeyIdentifier(fakeCert([ext(hex('551d0e01'), tlv(0x04, hex('01')))])), null);
  assert.is(subjectKeyIdentifier(fakeCert([])), null);
});

synthetic('no certificate: bare ski:', () => {
  assert.is(skiUserId(undefined), 'ski:');
});

synthetic('malformed input throws DerError', () => {
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', hex('30')],
    ['indefinite length', hex('30 80 00 00')],
    ['five length octets', hex('30 85 00 00 00 00 01 00')],
    ['huge length', hex('30 84 ff ff ff ff 00')],
    ['not a sequence', tlv(0x04, hex('00'))],
    ['high tag number', hex('3f 01 00')],
    ['SKI value not an OCTET STRING', fakeCert([ext(OID_SUBJECT_KEY_IDENTIFIER, tlv(0x02, hex('01')))])],
    ['SKI value with trailing bytes', fakeCert([ext(OID_SUBJECT_KEY_IDENTIFIER, Buffer.concat([tlv(0x04, hex('01')), hex('00')]))])],
    ['extension without value', fakeCert([tlv(0x30, tlv(0x06, OID_SUBJECT_KEY_IDENTIFIER))])],
    ['extensions not a sequence', tlv(0x30, tlv(0x30, tlv(0xa3, tlv(0x04))))],
  ];
  for (const [name, der] of cases) {
    assert.throws(() => skiUserId(der), (e: unknown) => e instanceof DerError, name);
  }
});

synthetic('readElement reports content ranges', () => {
  const der = Buffer.concat([tlv(0x02, hex('05')), tlv(0x04, Buffer.alloc(200))]);
  assert.equal(readElement(der, 0), { tag: 0x02, start: 2, end: 3 });
  assert.equal(readElement(der, 3), { tag: 0x04, start: 6, end: 206 });
  assert.throws(() => readElement(der, 3, 100), /runs past/);
});

real.run();
synthetic.run();
