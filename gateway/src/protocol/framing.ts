import { MAX_FRAME_BYTES } from './client-v1.js';

/**
 * TCP framing of client protocol v1: each frame is a 4-byte big-endian unsigned
 * length followed by that many bytes of UTF-8 JSON. Pure functions and a
 * stateful decoder with no I/O, so they can be tested on their own.
 */

export const FRAME_HEADER_BYTES = 4;

export class FrameTooLargeError extends Error {
  /** Complete frames that preceded the oversized one in the refused push(), in order. */
  frames: Buffer[] = [];

  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`Frame of ${size} bytes exceeds the limit of ${limit} bytes.`);
    this.name = 'FrameTooLargeError';
  }
}

export class BadFrameError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'BadFrameError';
  }
}

/**
 * Encodes one frame. A string payload is UTF-8 encoded; bytes are framed as given.
 * Throws FrameTooLargeError when the payload exceeds maxFrameBytes.
 */
export function encodeFrame(payload: string | Uint8Array, maxFrameBytes: number = MAX_FRAME_BYTES): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > maxFrameBytes) throw new FrameTooLargeError(body.length, maxFrameBytes);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** Encodes a frame object as JSON and frames it. */
export function encodeJsonFrame(frame: unknown, maxFrameBytes: number = MAX_FRAME_BYTES): Buffer {
  return encodeFrame(JSON.stringify(frame), maxFrameBytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a frame body as strict UTF-8 JSON. Throws BadFrameError on invalid UTF-8 or JSON. */
export function parseJsonFrame(body: Uint8Array): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch (err) {
    throw new BadFrameError('Frame is not valid UTF-8.', { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadFrameError('Frame is not valid JSON.', { cause: err });
  }
}

/**
 * Incremental decoder: feed it chunks as they arrive (a frame may be split
 * across chunks, and one chunk may hold several frames) and it returns the
 * bodies of the frames completed so far, in order.
 *
 * An oversized length header is refused as soon as it is read, before any of
 * the body is buffered: push() throws FrameTooLargeError, whose `frames` holds
 * the complete frames that came before it in that chunk. The decoder then stays
 * failed (every later push throws, with no frames), since the stream can no
 * longer be re-synchronised.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;
  private needed: number | null = null;
  private failure: FrameTooLargeError | null = null;

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {}

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.length;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.length += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.needed === null) {
        if (this.length < FRAME_HEADER_BYTES) break;
        const size = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (size > this.maxFrameBytes) {
          this.failure = new FrameTooLargeError(size, this.maxFrameBytes);
          this.chunks = [];
          this.length = 0;
          const err = new FrameTooLargeError(size, this.maxFrameBytes);
          err.frames = frames;
          throw err;
        }
        this.needed = size;
      }
      if (this.length < this.needed) break;
      frames.push(this.take(this.needed));
      this.needed = null;
    }
    return frames;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      // Copy out of the chunk so a returned frame never pins a larger socket buffer.
      const out = Buffer.from(first.subarray(0, n));
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0];
      if (!head) throw new Error('FrameDecoder: internal length mismatch');
      const used = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    this.length -= n;
    return out;
  }
}
