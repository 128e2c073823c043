// Hostile inputs for the wire fuzzer, drawn from a seeded PRNG so that a
// failing run reproduces from its seed. Each generator returns the bytes
// to write on a TCP stream (framed or not, as its kind says).

const COMMANDS = ['hello', 'track', 'subscribe', 'unsubscribe', 'subscriptions', 'services', 'publish', 'unpublish', 'ping', 'clients'];
const TYPES = ['request', 'accept', 'notify', 'inform', 'complete', 'fail'];
const FIELDS = ['client-id', 'protocol-minimum-version', 'protocol-maximum-version', 'service-id', 'generation',
  'service-props', 'ttl', 'subscription-id', 'filter', 'track-type', 'fail-reason', 'match-type'];
/** Numbers and number-like texts that break naive integer handling. */
const NASTY_NUMBERS = ['18446744073709551616', '9223372036854775808', '-1', '-0', '1e400', '1.5', '0.0000001',
  '1e18', '99999999999999999999999999999999999999', '0x10', '1E2', 'NaN', 'Infinity', '00', '-9223372036854775809'];
const NASTY_VALUES = ['null', 'true', 'false', '""', '[]', '{}', '"\\u0000"', '"\\ud800"', '[[[[]]]]', '{"a":{"b":{}}}',
  '"(&(a=b)"', '"((((((((((x=1))))))))))"', '"(a=*\\\\)"', '"' + 'x'.repeat(70000) + '"'];

export type Rand = () => number;

function int(r: Rand, n: number): number {
  return Math.floor(r() * n);
}

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[int(r, xs.length)]!;
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length >>> 0, 0);
  return b;
}

function framed(payload: Buffer): Buffer {
  return Buffer.concat([header(payload.length), payload]);
}

function randomBytes(r: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** A valid request of a random command (what mutations start from). */
export function validMessage(r: Rand, ta = int(r, 1000)): string {
  const id = 1 + int(r, 1 << 30);
  switch (int(r, 6)) {
    case 0: return `{"ta-cmd":"hello","ta-id":${ta},"msg-type":"request","client-id":${id},"protocol-minimum-version":2,"protocol-maximum-version":3}`;
    case 1: return `{"ta-cmd":"publish","ta-id":${ta},"msg-type":"request","service-id":${id},"generation":${int(r, 5)},"service-props":{"name":["fuzz"],"port":[${int(r, 65536)}]},"ttl":${1 + int(r, 5)}}`;
    case 2: return `{"ta-cmd":"subscribe","ta-id":${ta},"msg-type":"request","subscription-id":${id},"filter":"(&(name=fuzz)(port>${int(r, 100)}))"}`;
    case 3: return `{"ta-cmd":"services","ta-id":${ta},"msg-type":"request","filter":"(name=*z*)"}`;
    case 4: return `{"ta-cmd":"unpublish","ta-id":${ta},"msg-type":"request","service-id":${id}}`;
    default: return `{"ta-cmd":"ping","ta-id":${ta},"msg-type":"request"}`;
  }
}

function wrongTypes(r: Rand): string {
  const parts = [`"ta-cmd":${r() < 0.8 ? `"${pick(r, COMMANDS)}"` : pick(r, NASTY_VALUES)}`,
    `"ta-id":${r() < 0.5 ? int(r, 100) : pick(r, [...NASTY_NUMBERS, ...NASTY_VALUES])}`,
    `"msg-type":"${pick(r, TYPES)}"`];
  const extra = int(r, 5);
  for (let i = 0; i < extra; i++) {
    const v = r() < 0.5 ? pick(r, NASTY_NUMBERS) : pick(r, NASTY_VALUES);
    parts.push(`"${pick(r, FIELDS)}":${v}`);
  }
  // Shuffle: field order must not matter to the server.
  for (let i = parts.length - 1; i > 0; i--) { const j = int(r, i + 1); [parts[i], parts[j]] = [parts[j]!, parts[i]!]; }
  return `{${parts.join(',')}}`;
}

function mutate(r: Rand, text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  const edits = 1 + int(r, 6);
  let out = b;
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = int(r, out.length);
    switch (int(r, 4)) {
      case 0: out[at] = int(r, 256); break;
      case 1: out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(r, 8))]); break;
      case 2: out = Buffer.concat([out.subarray(0, at), randomBytes(r, 1 + int(r, 8)), out.subarray(at)]); break;
      default: out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + int(r, 20)), out.subarray(at)]); break;
    }
  }
  return out;
}

export const FUZZ_KINDS = [
  'random-bytes-framed', 'random-bytes-raw', 'truncated-frame', 'oversize-length', 'zero-length', 'invalid-utf8',
  'deep-nesting', 'wrong-types', 'huge-ints', 'mutated-valid',
] as const;
export type FuzzKind = typeof FUZZ_KINDS[number];

/** One hostile input of the given kind, as the bytes to write. */
export function fuzzInput(r: Rand, kind: FuzzKind): Buffer {
  switch (kind) {
    case 'random-bytes-framed': return framed(randomBytes(r, 1 + int(r, 2000)));
    case 'random-bytes-raw': return randomBytes(r, 1 + int(r, 4000));
    case 'truncated-frame': {
      const full = framed(Buffer.from(validMessage(r)));
      return full.subarray(0, 1 + int(r, full.length - 1));
    }
    case 'oversize-length': {
      const length = pick(r, [65536, 262145, 1 << 24, 0x7fffffff, 0xffffffff, 262144 + int(r, 1 << 20)]);
      return Buffer.concat([header(length), randomBytes(r, int(r, 64))]);
    }
    case 'zero-length': return header(0);
    case 'invalid-utf8': {
      const bad = pick(r, [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
      const text = validMessage(r);
      const at = 1 + int(r, text.length - 2);
      return framed(Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]));
    }
    case 'deep-nesting': {
      const depth = pick(r, [64, 200, 1000, 30000]);
      const open = r() < 0.5 ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      const value = `${open.repeat(depth)}1${close.repeat(depth)}`;
      const text = r() < 0.5 ? value : `{"ta-cmd":"publish","ta-id":1,"msg-type":"request","service-props":${value}}`;
      return framed(Buffer.from(text.slice(0, 65535)));
    }
    case 'wrong-types': return framed(Buffer.from(wrongTypes(r)));
    case 'huge-ints': {
      const n = pick(r, NASTY_NUMBERS);
      const text = pick(r, [
        `{"ta-cmd":"ping","ta-id":${n},"msg-type":"request"}`,
        `{"ta-cmd":"hello","ta-id":1,"msg-type":"request","client-id":${n},"protocol-minimum-version":${n},"protocol-maximum-version":3}`,
        `{"ta-cmd":"publish","ta-id":1,"msg-type":"request","service-id":${n},"generation":${n},"service-props":{"n":[${n}]},"ttl":${n}}`,
        `{"ta-cmd":"subscribe","ta-id":1,"msg-type":"request","subscription-id":${n}}`,
      ]);
      return framed(Buffer.from(text));
    }
    case 'mutated-valid': return framed(mutate(r, validMessage(r)));
  }
}
