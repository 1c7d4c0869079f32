/** TCP framing is part of the protocol; client and server share one implementation. */
export {
  BadFrameError,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  encodeFrame,
  encodeJsonFrame,
  parseJsonFrame,
} from '../../gateway/src/protocol/framing.js';
