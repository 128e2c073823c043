// A minimal DER walker for X.509 certificates. Node hands out a peer
// certificate's raw DER but does not expose its Subject Key Identifier,
// which XCM reports as `tls.peer_subject_key_id` and pafd turns into the
// user id (docs/transports.md §4.5, docs/semantics.md §8.1). Only definite-length,
// low-tag-number DER is accepted (all X.509 needs); anything else, and
// any element running past its parent, throws DerError. Every step moves
// forward by at least one header, so no input can make it loop.
// Pure: no I/O.

export class DerError extends Error {
  override name = 'DerError';
}

/** One TLV: the identifier octet and the content range [start, end). */
export interface DerElement {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

export const DER_BOOLEAN = 0x01;
export const DER_OCTET_STRING = 0x04;
export const DER_OID = 0x06;
export const DER_SEQUENCE = 0x30;
/** tbsCertificate's `extensions [3] EXPLICIT` (context-specific, constructed, number 3). */
const TBS_EXTENSIONS = 0xa3;

/** Identifier octet low bits 11111 announce a multi-octet tag number. */
const HIGH_TAG_NUMBER = 0x1f;
const LONG_LENGTH = 0x80;
/** Lengths are kept below 2^32; four length octets are plenty for any certificate. */
const MAX_LENGTH_OCTETS = 4;

/** 2.5.29.14 (id-ce-subjectKeyIdentifier), DER content octets of the OID. */
export const OID_SUBJECT_KEY_IDENTIFIER: Buffer = Buffer.from([0x55, 0x1d, 0x0e]);

/** Reads the TLV at `offset`, which must lie wholly before `limit`. */
export function readElement(der: Buffer, offset: number, limit: number = der.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated element at offset ${offset}`);
  const tag = der[offset]!;
  if ((tag & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER) throw new DerError(`unsupported multi-octet tag at offset ${offset}`);
  const first = der[offset + 1]!;
  let start = offset + 2;
  let length = first;
  if (first & LONG_LENGTH) {
    const octets = first & ~LONG_LENGTH;
    if (octets === 0) throw new DerError(`indefinite length at offset ${offset} (not DER)`);
    if (octets > MAX_LENGTH_OCTETS) throw new DerError(`length of ${octets} octets at offset ${offset}`);
    if (start + octets > limit) throw new DerError(`truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  const end = start + length;
  if (end > limit) throw new DerError(`element at offset ${offset} runs past its container (${length} bytes announced)`);
  return { tag, start, end };
}

function expect(el: DerElement, tag: number, what: string): DerElement {
  if (el.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

function sameBytes(der: Buffer, el: DerElement, bytes: Buffer): boolean {
  return el.end - el.start === bytes.length && der.compare(bytes, 0, bytes.length, el.start, el.end) === 0;
}

/**
 * The extnValue content (the DER of the extension's value) of the first
 * extension with the given OID, or null if the certificate has none (also
 * for v1/v2 certificates, which carry no extensions at all).
 */
export function certificateExtension(der: Buffer, oid: Buffer): Buffer | null {
  const cert = expect(readElement(der, 0), DER_SEQUENCE, 'Certificate');
  if (cert.end !== der.length) throw new DerError('trailing bytes after the certificate');
  const tbs = expect(readElement(der, cert.start, cert.end), DER_SEQUENCE, 'tbsCertificate');
  for (let pos = tbs.start; pos < tbs.end;) {
    const field = readElement(der, pos, tbs.end);
    pos = field.end;
    if (field.tag !== TBS_EXTENSIONS) continue;
    const list = expect(readElement(der, field.start, field.end), DER_SEQUENCE, 'Extensions');
    for (let p = list.start; p < list.end;) {
      // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      const ext = expect(readElement(der, p, list.end), DER_SEQUENCE, 'Extension');
      p = ext.end;
      const id = expect(readElement(der, ext.start, ext.end), DER_OID, 'extnID');
      let value = readElement(der, id.end, ext.end);
      if (value.tag === DER_BOOLEAN) value = readElement(der, value.end, ext.end);
      expect(value, DER_OCTET_STRING, 'extnValue');
      if (sameBytes(der, id, oid)) return der.subarray(value.start, value.end);
    }
    return null;
  }
  return null;
}

/**
 * The raw key identifier bytes of the Subject Key Identifier extension
 * (OID 2.5.29.14; its value is `KeyIdentifier ::= OCTET STRING`), or null
 * if the certificate has no such extension. Throws DerError on malformed DER.
 */
export function subjectKeyIdentifier(der: Buffer): Buffer | null {
  const value = certificateExtension(der, OID_SUBJECT_KEY_IDENTIFIER);
  if (value === null) return null;
  const keyId = expect(readElement(value, 0), DER_OCTET_STRING, 'KeyIdentifier');
  if (keyId.end !== value.length) throw new DerError('trailing bytes after KeyIdentifier');
  // A copy, so that whoever keeps it does not pin the whole certificate.
  return Buffer.from(value.subarray(keyId.start, keyId.end));
}

const USER_PREFIX = 'ski:';
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * The user id of a TLS peer (docs/semantics.md §8.1): `ski:` + the SKI bytes as
 * lowercase hex joined by ':'. A certificate without an SKI extension (or
 * no certificate) yields the bare `ski:` — the original's quirk, kept on
 * purpose (docs/discrepancies.md B17): XCM reports an empty key id then, and
 * pafd builds the id from it, so all such peers form one user. Throws
 * DerError on malformed DER (callers fall back to the ip: rule then).
 */
export function skiUserId(der: Buffer | undefined): string {
  const ski = der === undefined ? null : subjectKeyIdentifier(der);
  if (ski === null || ski.length === 0) return USER_PREFIX;
  let id = USER_PREFIX + HEX_BYTE[ski[0]!]!;
  for (let i = 1; i < ski.length; i++) id += ':' + HEX_BYTE[ski[i]!]!;
  return id;
}
