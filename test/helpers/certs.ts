// A throw-away PKI for TLS tests, made at test time with the openssl CLI in
// a temp dir: a root CA, an intermediate CA, an unrelated CA, a server
// certificate and client certificates of every kind the tests need
// (valid EC and RSA, issued by the intermediate, revoked, expired,
// without SKI, server-only EKU, from the unrelated CA, a v1 certificate
// without extensions), plus CRLs for both CA levels.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Credential {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  rootCa: string;
  intermediateCa: string;
  otherCa: string;
  server: Credential;
  /** EC key, issued by the root. */
  alice: Credential;
  /** RSA key, issued by the root. */
  bob: Credential;
  /** Issued by the intermediate; the cert file holds carol's and the intermediate's certificates. */
  carol: Credential;
  /** Issued by the root, then revoked in the root's CRL. */
  mallory: Credential;
  /** Issued by the root, valid only in January 2020. */
  expired: Credential;
  /** Issued by the root without a Subject Key Identifier extension. */
  noSki: Credential;
  /** Extended key usage serverAuth only: not usable as a client certificate. */
  serverOnly: Credential;
  /** Issued by the unrelated CA. */
  stranger: Credential;
  /** X.509 v1 (no extensions at all), issued by the root. */
  v1: Credential;
  /** Root CRL (revokes mallory) followed by the intermediate's (empty) CRL. */
  crlAll: string;
  /** Only the root's CRL: not enough for chains through the intermediate. */
  crlRootOnly: string;
  remove(): void;
}

const CA_CONFIG = `
[ca]
default_ca = this_ca
[this_ca]
database = index.txt
new_certs_dir = .
serial = serial
crlnumber = crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = CA:false
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:server.invalid
[no_ski_ext]
basicConstraints = CA:false
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
[server_only_ext]
basicConstraints = CA:false
subjectKeyIdentifier = hash
extendedKeyUsage = serverAuth
`;

export function openssl(args: string[], cwd?: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The SKI as `openssl x509 -ext subjectKeyIdentifier` prints it, lowercased; '' if there is none. */
export function opensslSki(certFile: string): string {
  const out = openssl(['x509', '-in', certFile, '-noout', '-ext', 'subjectKeyIdentifier']);
  const line = out.split('\n').map((l) => l.trim()).find((l) => /^[0-9A-F]{2}(:[0-9A-F]{2})*$/i.test(l));
  return line === undefined ? '' : line.toLowerCase();
}

/** The DER of the first certificate in a PEM file. */
export function certDer(certFile: string): Buffer {
  const pem = readFileSync(certFile, 'utf8');
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error(`no certificate in ${certFile}`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

function ecKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

function rsaKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file]);
}

/** A CA with its own openssl-ca database directory. */
class Ca {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;

  constructor(root: string, readonly name: string, issuer?: Ca) {
    this.dir = join(root, name);
    mkdirSync(this.dir);
    writeFileSync(join(this.dir, 'ca.cnf'), CA_CONFIG);
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '01\n');
    writeFileSync(join(this.dir, 'crlnumber'), '01\n');
    this.key = join(this.dir, 'ca.key');
    this.cert = join(this.dir, 'ca.crt');
    ecKey(this.key);
    if (issuer === undefined) {
      openssl(['req', '-new', '-x509', '-config', 'ca.cnf', '-extensions', 'ca_ext', '-key', 'ca.key',
        '-subj', `/CN=${name}`, '-days', '30', '-out', 'ca.crt'], this.dir);
    } else {
      openssl(['req', '-new', '-config', 'ca.cnf', '-key', 'ca.key', '-subj', `/CN=${name}`, '-out', 'ca.csr'], this.dir);
      issuer.sign(join(this.dir, 'ca.csr'), this.cert, 'ca_ext');
    }
  }

  sign(csr: string, out: string, extensions: string, extra: string[] = []): void {
    openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key',
      '-extfile', 'ca.cnf', '-extensions', extensions, '-in', csr, '-out', out, ...extra], this.dir);
  }

  issue(root: string, name: string, extensions = 'leaf_ext', opts: { rsa?: boolean; extra?: string[] } = {}): Credential {
    const key = join(root, `${name}.key`);
    const cert = join(root, `${name}.crt`);
    const csr = join(root, `${name}.csr`);
    if (opts.rsa) rsaKey(key); else ecKey(key);
    openssl(['req', '-new', '-config', join(this.dir, 'ca.cnf'), '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
    this.sign(csr, cert, extensions, opts.extra);
    return { cert, key };
  }

  revoke(cert: string): void {
    openssl(['ca', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-revoke', cert], this.dir);
  }

  crl(): string {
    const out = join(this.dir, 'ca.crl');
    openssl(['ca', '-gencrl', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-out', out], this.dir);
    return readFileSync(out, 'utf8');
  }
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'paf-pki-'));
  try {
    const root = new Ca(dir, 'root');
    const intermediate = new Ca(dir, 'intermediate', root);
    const other = new Ca(dir, 'other');
    const carol = intermediate.issue(dir, 'carol');
    writeFileSync(carol.cert, readFileSync(carol.cert, 'utf8') + readFileSync(intermediate.cert, 'utf8'));
    // Certificates without extensions come out as v1 from `openssl x509 -req`.
    const v1 = { key: join(dir, 'v1.key'), cert: join(dir, 'v1.crt') };
    ecKey(v1.key);
    openssl(['req', '-new', '-config', join(root.dir, 'ca.cnf'), '-key', v1.key, '-subj', '/CN=v1', '-out', join(dir, 'v1.csr')]);
    openssl(['x509', '-req', '-in', join(dir, 'v1.csr'), '-CA', root.cert, '-CAkey', root.key, '-set_serial', '1000',
      '-days', '30', '-out', v1.cert]);
    const pki = {
      dir,
      rootCa: root.cert,
      intermediateCa: intermediate.cert,
      otherCa: other.cert,
      server: root.issue(dir, 'server', 'server_ext'),
      alice: root.issue(dir, 'alice'),
      bob: root.issue(dir, 'bob', 'leaf_ext', { rsa: true }),
      carol,
      mallory: root.issue(dir, 'mallory'),
      expired: root.issue(dir, 'expired', 'leaf_ext', { extra: ['-startdate', '20200101000000Z', '-enddate', '20200131000000Z'] }),
      noSki: root.issue(dir, 'noski', 'no_ski_ext'),
      serverOnly: root.issue(dir, 'serveronly', 'server_only_ext'),
      stranger: other.issue(dir, 'stranger'),
      v1,
      crlAll: join(dir, 'crl-all.pem'),
      crlRootOnly: join(dir, 'crl-root.pem'),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
    root.revoke(pki.mallory.cert);
    const rootCrl = root.crl();
    writeFileSync(pki.crlRootOnly, rootCrl);
    writeFileSync(pki.crlAll, rootCrl + intermediate.crl());
    return pki;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
