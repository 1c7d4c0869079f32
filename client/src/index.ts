export { HuitongClient } from './client.js';
export type {
  ClosedEvent,
  ConnectionState,
  DirectorySnapshot,
  HuitongClientEvents,
  HuitongClientOptions,
  RequestOptions,
  SendOptions,
} from './client-types.js';
export { performHandshake, type HandshakeParams, type HandshakeResult } from './handshake.js';
export { Connection, type ConnectionHandlers, type ConnectionOptions } from './connection.js';
export { TypedEmitter } from './emitter.js';
export {
  CLIENT_ERRORS,
  ClientError,
  FATAL_HANDSHAKE_CODES,
  NO_RECONNECT_CODES,
  errorCodeForClose,
  isClientError,
  toClientError,
  type LocalErrorCode,
} from './errors.js';
export { BadFrameError, FRAME_HEADER_BYTES, FrameDecoder, FrameTooLargeError, encodeFrame, encodeJsonFrame, parseJsonFrame } from './framing.js';
export { SeqOrderer, type SeqOrdererDeps, type SyncPage } from './ordering.js';
export { Outbox, type SendAck } from './outbox.js';
export { FileStore, MemoryStore, type ClientStore, type OutboxEntry, type StoredSession } from './store.js';
export { backoffDelayMs } from './backoff.js';
export {
  TcpTransport,
  TlsSessionCache,
  WsTransport,
  openTransport,
  type Transport,
  type TransportCloseInfo,
  type TransportEvents,
  type TransportFactory,
  type TransportOptions,
} from './transport.js';
export { describeBody } from './describe.js';
