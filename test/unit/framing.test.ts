import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, FramingError, MAX_FRAME_PAYLOAD, PATHFINDER_MAX_MESSAGE } from '../../src/transport/framing';
import { encodeFrame } from '../helpers/frame';

function collector(maxPayload?: number): { decoder: FrameDecoder; frames: string[] } {
  const frames: string[] = [];
  const decoder = new FrameDecoder((p) => frames.push(p.toString('utf8')), maxPayload);
  return { decoder, frames };
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

function isFramingError(pattern: RegExp) {
  return (e: unknown) => e instanceof FramingError && pattern.test(e.message);
}

const MESSAGES = ['{"ta-cmd":"ping","ta-id":0,"msg-type":"request"}', 'é€😀', 'x', '{"a":"' + 'y'.repeat(300) + '"}'];

const encode = suite('encodeFrame');

encode('constants', () => {
  assert.is(MAX_FRAME_PAYLOAD, 262144);
  assert.is(PATHFINDER_MAX_MESSAGE, 65535);
});

encode('4-byte big-endian length then the payload', () => {
  assert.equal([...encodeFrame('{}')], [0, 0, 0, 2, 0x7b, 0x7d]);
  // Length counts UTF-8 bytes, not UTF-16 units.
  const f = encodeFrame('é€');
  assert.equal([...f.subarray(0, 4)], [0, 0, 0, 5]);
  assert.is(f.subarray(4).toString('utf8'), 'é€');
  const big = encodeFrame(Buffer.alloc(0x012345, 0x61));
  assert.equal([...big.subarray(0, 4)], [0, 0x01, 0x23, 0x45]);
  assert.is(big.length, 4 + 0x012345);
  assert.is(big[4 + 0x012344], 0x61);
});

encode('empty and oversized payloads are refused', () => {
  assert.throws(() => encodeFrame(''), isFramingError(/empty/));
  assert.throws(() => encodeFrame(Buffer.alloc(0)), isFramingError(/empty/));
  assert.is(encodeFrame(Buffer.alloc(MAX_FRAME_PAYLOAD)).length, MAX_FRAME_PAYLOAD + 4);
  assert.throws(() => encodeFrame(Buffer.alloc(MAX_FRAME_PAYLOAD + 1)), isFramingError(/exceeds/));
  assert.throws(() => encodeFrame('é'.repeat(MAX_FRAME_PAYLOAD / 2 + 1)), isFramingError(/exceeds/));
});

const decode = suite('FrameDecoder');

decode('one frame per chunk', () => {
  const { decoder, frames } = collector();
  for (const m of MESSAGES) decoder.push(encodeFrame(m));
  assert.equal(frames, MESSAGES);
  assert.is(decoder.pending, 0);
});

decode('several frames in one chunk', () => {
  const { decoder, frames } = collector();
  decoder.push(Buffer.concat(MESSAGES.map((m) => encodeFrame(m))));
  assert.equal(frames, MESSAGES);
  assert.is(decoder.pending, 0);
});

decode('hundreds of frames in one large chunk', () => {
  const { decoder, frames } = collector();
  const many = Array.from({ length: 700 }, (_, i) => `{"ta-id":${i}}`);
  decoder.push(Buffer.concat(many.map((m) => encodeFrame(m))));
  assert.equal(frames, many);
  assert.is(decoder.pending, 0);
});

decode('a stream split at every possible position', () => {
  const stream = Buffer.concat(MESSAGES.map((m) => encodeFrame(m)));
  for (let cut = 0; cut <= stream.length; cut++) {
    const { decoder, frames } = collector();
    decoder.push(stream.subarray(0, cut));
    decoder.push(stream.subarray(cut));
    assert.equal(frames, MESSAGES, `cut at ${cut}`);
    assert.is(decoder.pending, 0);
  }
});

decode('one byte at a time, with pending counting buffered bytes', () => {
  const stream = Buffer.concat(MESSAGES.map((m) => encodeFrame(m)));
  const { decoder, frames } = collector();
  const firstFrameLength = encodeFrame(MESSAGES[0]!).length;
  for (let i = 0; i < stream.length; i++) {
    decoder.push(stream.subarray(i, i + 1));
    if (i < firstFrameLength - 1) {
      assert.is(decoder.pending, i + 1);
      assert.is(frames.length, 0);
    }
    if (i === firstFrameLength - 1) {
      assert.is(decoder.pending, 0);
      assert.equal(frames, [MESSAGES[0]]);
    }
  }
  assert.equal(frames, MESSAGES);
  assert.is(decoder.pending, 0);
});

decode('a frame spread over three chunks with the next frame starting in the last', () => {
  const a = encodeFrame('abcdefghij');
  const b = encodeFrame('KLM');
  const { decoder, frames } = collector();
  decoder.push(a.subarray(0, 2)); // half a header
  decoder.push(a.subarray(2, 9));
  assert.is(decoder.pending, 9);
  decoder.push(Buffer.concat([a.subarray(9), b.subarray(0, 5)]));
  assert.equal(frames, ['abcdefghij']);
  assert.is(decoder.pending, 5);
  decoder.push(b.subarray(5));
  assert.equal(frames, ['abcdefghij', 'KLM']);
  assert.is(decoder.pending, 0);
});

decode('a frame inside one chunk is delivered without a copy', () => {
  const chunk = Buffer.concat([encodeFrame('first'), encodeFrame('second')]);
  const payloads: Buffer[] = [];
  new FrameDecoder((p) => payloads.push(p)).push(chunk);
  assert.is(payloads.length, 2);
  assert.is(payloads[1]!.buffer, chunk.buffer);
  assert.is(payloads[1]!.byteOffset, chunk.byteOffset + 4 + 5 + 4);
});

decode('empty chunks are harmless', () => {
  const { decoder, frames } = collector();
  decoder.push(Buffer.alloc(0));
  decoder.push(encodeFrame('x'));
  decoder.push(Buffer.alloc(0));
  assert.equal(frames, ['x']);
});

decode('zero length is a framing error and breaks the decoder', () => {
  const { decoder, frames } = collector();
  assert.throws(() => decoder.push(Buffer.concat([encodeFrame('ok'), header(0)])), isFramingError(/zero-length/));
  assert.equal(frames, ['ok']);
  assert.throws(() => decoder.push(encodeFrame('later')), isFramingError(/broken/));
  assert.equal(frames, ['ok']);
});

decode('an oversized length fails as soon as the header is complete', () => {
  const { decoder } = collector();
  decoder.push(header(MAX_FRAME_PAYLOAD + 1).subarray(0, 3));
  assert.throws(() => decoder.push(header(MAX_FRAME_PAYLOAD + 1).subarray(3)), isFramingError(/262145 exceeds the maximum of 262144/));
  const huge = collector();
  assert.throws(() => huge.decoder.push(header(0xffffffff)), isFramingError(/4294967295/));
});

decode('exactly the maximum payload is accepted', () => {
  const { decoder, frames } = collector();
  const payload = 'z'.repeat(MAX_FRAME_PAYLOAD);
  const frame = encodeFrame(payload);
  decoder.push(frame.subarray(0, 100000));
  decoder.push(frame.subarray(100000, 200000));
  decoder.push(frame.subarray(200000));
  assert.is(frames.length, 1);
  assert.is(frames[0], payload);
});

decode('a custom maximum', () => {
  const { decoder, frames } = collector(PATHFINDER_MAX_MESSAGE);
  decoder.push(encodeFrame('q'.repeat(PATHFINDER_MAX_MESSAGE)));
  assert.is(frames[0]!.length, PATHFINDER_MAX_MESSAGE);
  assert.throws(() => decoder.push(header(PATHFINDER_MAX_MESSAGE + 1)), isFramingError(/65536 exceeds the maximum of 65535/));
});

decode('a throwing consumer leaves the following frames buffered', () => {
  const seen: string[] = [];
  const decoder = new FrameDecoder((p) => {
    const s = p.toString();
    seen.push(s);
    if (s === 'bad') throw new Error('consumer failed');
  });
  const stream = Buffer.concat(['a', 'bad', 'c', 'd'].map((m) => encodeFrame(m)));
  assert.throws(() => decoder.push(stream), /consumer failed/);
  assert.equal(seen, ['a', 'bad']);
  assert.is(decoder.pending, 10);
  decoder.push(Buffer.alloc(0));
  decoder.push(encodeFrame('e'));
  assert.equal(seen, ['a', 'bad', 'c', 'd', 'e']);
  assert.is(decoder.pending, 0);
});

encode.run();
decode.run();
