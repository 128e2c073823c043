// XCM tcp framing (docs/transports.md §3): every message is a 4-byte big-endian
// unsigned length followed by that many payload bytes, back to back in the
// byte stream. TLS and the other stream-based XCM transports carry the same
// frames, so this decoder serves all of them.

/** XCM >= 1.11.1 receive limit; a longer announced length breaks the connection. */
export const MAX_FRAME_PAYLOAD = 262144;
/** What the original pafd, the Python client and libpaf can receive (docs/protocol.md §1). */
export const PATHFINDER_MAX_MESSAGE = 65535;

/** Bytes of the big-endian length that precedes each payload. */
export const FRAME_HEADER_LENGTH = 4;
const HEADER_LENGTH = FRAME_HEADER_LENGTH;
/** readHeader() result while fewer than HEADER_LENGTH bytes are buffered. */
const NO_HEADER = -1;

export class FramingError extends Error {
  override name = 'FramingError';
}

/**
 * Reassembles frames from stream chunks. Chunks are kept as received;
 * a frame lying wholly inside one chunk is handed out as a view of that
 * chunk (no copy), and only a frame spanning chunks is copied, once, when
 * its last byte arrives.
 */
export class FrameDecoder {
  /** Unconsumed input; the first chunk's unconsumed part starts at `offset`. */
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  /** Unconsumed bytes over all chunks. */
  private buffered = 0;
  /** Payload length of the frame whose header has been consumed, or NO_HEADER. */
  private frameLength = NO_HEADER;
  private broken = false;
  /** While paused, complete frames stay buffered (flow control towards a slow reader). */
  private paused = false;

  constructor(
    private readonly onFrame: (payload: Buffer) => void,
    private readonly maxPayload: number = MAX_FRAME_PAYLOAD,
  ) {}

  /**
   * Feed bytes as they arrive; calls onFrame for each complete frame in
   * order. Throws FramingError on length 0 or length > maxPayload; the
   * connection must then be closed (every later push throws as well).
   * The payload handed to onFrame may share memory with `chunk`.
   * If onFrame throws, the exception propagates and the frames after it
   * stay buffered (they are delivered by the next push).
   */
  push(chunk: Buffer): void {
    if (this.broken) throw new FramingError('frame stream already broken');
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.deliver();
  }

  /** Stops handing out frames, also in the middle of a chunk, until resume(). */
  pause(): void { this.paused = true; }

  /** Hands out the frames buffered while paused (may throw FramingError like push). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.broken) this.deliver();
  }

  get isPaused(): boolean { return this.paused; }

  private deliver(): void {
    while (!this.paused) {
      if (this.frameLength === NO_HEADER) {
        if (this.buffered < HEADER_LENGTH) return;
        this.frameLength = this.readLength();
      }
      const length = this.frameLength;
      if (this.buffered < length) return;
      const payload = this.take(length);
      this.frameLength = NO_HEADER;
      this.onFrame(payload);
    }
  }

  /** Bytes buffered but not yet a full frame (a consumed header included). */
  get pending(): number {
    return this.buffered + (this.frameLength === NO_HEADER ? 0 : HEADER_LENGTH);
  }

  /** Consumes a header (at least HEADER_LENGTH bytes are buffered) and checks it. */
  private readLength(): number {
    const first = this.chunks[0]!;
    let length: number;
    if (first.length - this.offset >= HEADER_LENGTH) {
      length = first.readUInt32BE(this.offset);
      this.skip(HEADER_LENGTH);
    } else {
      // Rare: the header itself is split across chunks.
      length = this.take(HEADER_LENGTH).readUInt32BE(0);
    }
    if (length === 0 || length > this.maxPayload) {
      this.broken = true;
      throw new FramingError(length === 0
        ? 'zero-length frame'
        : `frame length ${length} exceeds the maximum of ${this.maxPayload}`);
    }
    return length;
  }

  /** Advances within the first chunk (the caller knows it holds `n` more bytes). */
  private skip(n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }

  /** Removes and returns the next `n` buffered bytes (at least `n` are buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    const start = this.offset;
    if (first.length - start >= n) {
      const view = first.subarray(start, start + n);
      this.skip(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // chunks wholly consumed
    let offset = start;
    while (filled < n) {
      const chunk = this.chunks[used]!;
      const count = Math.min(chunk.length - offset, n - filled);
      chunk.copy(out, filled, offset, offset + count);
      filled += count;
      offset += count;
      if (offset === chunk.length) {
        used++;
        offset = 0;
      }
    }
    this.chunks.splice(0, used);
    this.offset = offset;
    this.buffered -= n;
    return out;
  }
}

