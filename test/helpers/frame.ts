// XCM tcp frames as a peer writes them: pafd itself never builds a whole
// frame (it writes the header and the payload it already has side by
// side), so this lives with the tests that play the peer.

import { FRAME_HEADER_LENGTH, FramingError, MAX_FRAME_PAYLOAD } from '../../src/transport/framing';

/**
 * One frame: header + payload in a single buffer. Throws FramingError for
 * an empty payload (a receiver reads it as end of stream) or one longer
 * than MAX_FRAME_PAYLOAD (a receiver would break the connection).
 */
export function encodeFrame(payload: string | Buffer): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  if (length === 0) throw new FramingError('cannot send an empty frame');
  if (length > MAX_FRAME_PAYLOAD) throw new FramingError(`frame payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + length);
  frame.writeUInt32BE(length, 0);
  if (typeof payload === 'string') frame.write(payload, FRAME_HEADER_LENGTH, 'utf8');
  else payload.copy(frame, FRAME_HEADER_LENGTH);
  return frame;
}
