// Property-based tests of the length-prefixed frame decoder
// (src/transport/framing.ts, docs/transports.md §3). Whatever way the byte
// stream is cut into chunks — single bytes, chunks ending inside a header,
// chunks spanning several frames — the decoder must hand out exactly the
// frames a straightforward reference decoder of the whole stream finds, in
// order, and fail with FramingError exactly where the reference does.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { FRAME_HEADER_LENGTH, FrameDecoder, FramingError, MAX_FRAME_PAYLOAD } from '../../src/transport/framing';
import { encodeFrame } from '../helpers/frame';
import { runs } from '../helpers/property';

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------

/** The whole-stream reading of docs/transports.md §3: frames until a bad length or the end of the data. */
function referenceDecode(stream: Uint8Array, maxPayload: number): { frames: Buffer[]; broken: boolean; rest: number } {
  const b = Buffer.from(stream);
  const frames: Buffer[] = [];
  let pos = 0;
  while (b.length - pos >= FRAME_HEADER_LENGTH) {
    const length = b.readUInt32BE(pos);
    if (length === 0 || length > maxPayload) return { frames, broken: true, rest: 0 };
    if (b.length - pos - FRAME_HEADER_LENGTH < length) break;
    frames.push(b.subarray(pos + FRAME_HEADER_LENGTH, pos + FRAME_HEADER_LENGTH + length));
    pos += FRAME_HEADER_LENGTH + length;
  }
  return { frames, broken: false, rest: b.length - pos };
}

/**
 * Chunk sizes, cycled over the stream: single bytes, small cuts that end
 * inside headers, and large ones spanning several frames. Size 0 pushes an
 * empty chunk (a no-op by contract).
 */
const CHUNKING = fc.oneof(
  fc.constant([1]),
  fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 12 }),
  fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 3000 })), { minLength: 1, maxLength: 12 }),
).filter((sizes) => sizes.some((s) => s > 0));

/** Cuts `stream` into separately allocated chunks, as sockets deliver them. */
function cut(stream: Uint8Array, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0, k = 0; pos < stream.length; k++) {
    const n = sizes[k % sizes.length]!;
    chunks.push(Buffer.from(stream.subarray(pos, pos + n)));
    pos += n;
  }
  return chunks;
}

/**
 * Any Unicode scalar value: ASCII, the rest of the BMP and astral planes
 * equally likely. (fast-check's unit 'binary' would do, but it builds a
 * table of all 1.1 million code points on first use, which costs seconds.)
 */
const CODE_POINT = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.oneof(fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff })),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
).map((c) => String.fromCodePoint(c));

const PAYLOAD = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 40 }),
  fc.uint8Array({ minLength: 1, maxLength: 600 }),
);
const MESSAGES = fc.array(PAYLOAD, { maxLength: 25 });

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

function show(v: unknown): string {
  return fc.stringify(v);
}

// ---------------------------------------------------------------------------

const decoding = suite('prop: frame decoding');

decoding('any chunking of a frame sequence yields exactly those frames, in order', () => {
  fc.assert(fc.property(MESSAGES, CHUNKING, (messages, sizes) => {
    const stream = concat(messages.map((m) => encodeFrame(Buffer.from(m))));
    const got: Buffer[] = [];
    // Frames may be views of the chunks: copy, as a consumer that keeps them must.
    const decoder = new FrameDecoder((p) => got.push(Buffer.from(p)));
    for (const chunk of cut(stream, sizes)) decoder.push(chunk);
    assert.equal(got.map((b) => b.toString('hex')), messages.map((m) => Buffer.from(m).toString('hex')));
    assert.is(decoder.pending, 0);
  }), runs(400));
});

decoding('string payloads arrive as their UTF-8 bytes', () => {
  const TEXT = fc.string({ unit: CODE_POINT, minLength: 1, maxLength: 50 });
  fc.assert(fc.property(fc.array(TEXT, { maxLength: 10 }), CHUNKING, (texts, sizes) => {
    const frames = texts.map((t) => encodeFrame(t));
    frames.forEach((f, i) => assert.is(f.readUInt32BE(0), Buffer.byteLength(texts[i]!, 'utf8')));
    const got: string[] = [];
    const decoder = new FrameDecoder((p) => got.push(p.toString('utf8')));
    for (const chunk of cut(concat(frames), sizes)) decoder.push(chunk);
    assert.equal(got, texts);
  }), runs(200));
});

/**
 * A stream with hostile pieces: valid frames, headers announcing edge
 * lengths (0, the limit, just over it, 2^32-1) and raw random bytes.
 */
function hostileStream(maxPayload: number) {
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: Math.min(maxPayload, 50) }).map((p) => encodeFrame(Buffer.from(p))) },
    { weight: 1, arbitrary: fc.constantFrom(0, maxPayload, maxPayload + 1, 0xffffffff).map((n) => {
      const h = Buffer.alloc(FRAME_HEADER_LENGTH);
      h.writeUInt32BE(n, 0);
      return h;
    }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }) },
  );
  return fc.array(piece, { maxLength: 12 }).map(concat);
}

/** Feeds all chunks; returns what was delivered and whether (and that only) FramingError was thrown. */
function feed(decoder: FrameDecoder, chunks: readonly Buffer[]): { broken: boolean } {
  let broken = false;
  for (const chunk of chunks) {
    let threw = false;
    try {
      decoder.push(chunk);
    } catch (e) {
      if (!(e instanceof FramingError)) throw new Error(`push threw ${String(e)}, not a FramingError`);
      threw = true;
    }
    assert.not.ok(broken && chunk.length > 0 && !threw, 'a push after the stream broke must throw');
    broken ||= threw;
  }
  return { broken };
}

decoding('hostile streams: same frames and same failure point as the reference, only FramingError', () => {
  const MAX = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(MAX_FRAME_PAYLOAD));
  fc.assert(fc.property(MAX.chain((max) => fc.tuple(fc.constant(max), hostileStream(max), CHUNKING)), ([max, stream, sizes]) => {
    const expected = referenceDecode(stream, max);
    const got: string[] = [];
    const decoder = new FrameDecoder((p) => got.push(p.toString('hex')), max);
    const { broken } = feed(decoder, cut(stream, sizes));
    assert.equal(got, expected.frames.map((f) => f.toString('hex')), `stream ${stream.toString('hex')} max ${max}`);
    assert.is(broken, expected.broken, `stream ${stream.toString('hex')} max ${max}`);
    if (broken) {
      // Broken for good: later pushes (also of valid frames) and resume() deliver nothing.
      assert.throws(() => decoder.push(encodeFrame('x')), (e: unknown) => e instanceof FramingError);
      decoder.pause();
      decoder.resume();
      assert.is(got.length, expected.frames.length);
    } else {
      assert.is(decoder.pending, expected.rest);
    }
  }), runs(600));
});

decoding('random garbage never throws anything but FramingError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), CHUNKING, fc.integer({ min: 1, max: 300 }), (bytes, sizes, max) => {
    feed(new FrameDecoder(() => {}, max), cut(bytes, sizes));
    feed(new FrameDecoder(() => {}), cut(bytes, sizes));
  }), runs(300));
});

// Flow control and consumer exceptions: the order and completeness of the
// frame sequence must survive pauses and a throwing onFrame.

/** What to do between pushes, and inside onFrame. */
const STEP = fc.constantFrom('push', 'push', 'push', 'pause', 'resume');

decoding('pause/resume at random points (also from inside onFrame) loses, repeats and reorders nothing', () => {
  fc.assert(fc.property(MESSAGES, CHUNKING, fc.array(STEP, { minLength: 1, maxLength: 30 }).filter((s) => s.includes('push')), fc.array(fc.boolean(), { maxLength: 30 }),
    (messages, sizes, steps, pauseInCallback) => {
      const got: string[] = [];
      let decoder: FrameDecoder | undefined;
      decoder = new FrameDecoder((p) => {
        assert.not.ok(decoder!.isPaused, 'a frame was delivered while paused');
        if (pauseInCallback[got.length % Math.max(1, pauseInCallback.length)]) decoder!.pause();
        got.push(p.toString('hex'));
      });
      const chunks = cut(concat(messages.map((m) => encodeFrame(Buffer.from(m)))), sizes);
      let next = 0;
      for (let k = 0; next < chunks.length; k++) {
        const step = steps[k % steps.length]!;
        if (step === 'pause') decoder.pause();
        else if (step === 'resume') decoder.resume();
        else decoder.push(chunks[next++]!);
      }
      // Drain: resume until a delivery run ends without the callback pausing.
      while (decoder.isPaused) decoder.resume();
      assert.equal(got, messages.map((m) => Buffer.from(m).toString('hex')));
      assert.is(decoder.pending, 0);
    }), runs(300));
});

class ConsumerFailure extends Error {}

decoding('a throwing onFrame propagates, and every frame is still handed out once, in order', () => {
  fc.assert(fc.property(MESSAGES, CHUNKING, fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), (messages, sizes, throwAt) => {
    const got: string[] = [];
    const decoder = new FrameDecoder((p) => {
      got.push(p.toString('hex'));
      if (throwAt[got.length % throwAt.length]) throw new ConsumerFailure();
    });
    const guarded = (step: () => void): void => {
      try {
        step();
      } catch (e) {
        if (!(e instanceof ConsumerFailure)) throw e;
      }
    };
    for (const chunk of cut(concat(messages.map((m) => encodeFrame(Buffer.from(m)))), sizes)) guarded(() => decoder.push(chunk));
    // Frames left behind by the last throw come out on the next delivery run; pause+resume starts one.
    for (let i = 0; i <= messages.length && decoder.pending > 0; i++) {
      decoder.pause();
      guarded(() => decoder.resume());
    }
    assert.equal(got, messages.map((m) => Buffer.from(m).toString('hex')));
    assert.is(decoder.pending, 0);
  }), runs(300));
});

const encoding = suite('prop: frame encoding limits');

encoding('encodeFrame rejects empty and oversize payloads with FramingError and frames the rest', () => {
  fc.assert(fc.property(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD + 1)), fc.boolean(), (length, asString) => {
    const payload = asString ? 'a'.repeat(length) : Buffer.alloc(length, 0x61);
    if (length === 0 || length > MAX_FRAME_PAYLOAD) {
      assert.throws(() => encodeFrame(payload), (e: unknown) => e instanceof FramingError, `length ${length}`);
      return;
    }
    const frame = encodeFrame(payload);
    assert.is(frame.length, FRAME_HEADER_LENGTH + length);
    assert.is(frame.readUInt32BE(0), length);
    const got: number[] = [];
    new FrameDecoder((p) => got.push(p.length)).push(frame);
    assert.equal(got, [length], show({ length, asString }));
  }), runs(60));
});

decoding.run();
encoding.run();
