import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { MAX_FRAME_BYTES } from '../../gateway/src/protocol/client-v1.js';
import { TypedEmitter } from './emitter.js';
import { ClientError, errorCodeForClose } from './errors.js';
import { BadFrameError, FrameDecoder, FrameTooLargeError, encodeFrame, parseJsonFrame } from './framing.js';

export interface TransportCloseInfo {
  /** The GW_* (or CLIENT_*) code that ended the connection, or null when none was given (network loss, normal close). */
  code: string | null;
  reason: string;
}

export interface TransportEvents {
  /** One decoded JSON frame from the server, not yet validated. */
  frame: unknown;
  /** Emitted exactly once, after which the transport is unusable. */
  close: TransportCloseInfo;
}

/**
 * One open connection carrying JSON frames. Implementations never throw from
 * their event handlers; every failure ends in one `close` event.
 */
export interface Transport {
  /**
   * Sends one frame. Throws ClientError GW_FRAME_TOO_LARGE when the encoded frame
   * exceeds the limit, CLIENT_DISCONNECTED when the transport is closed. Does not block.
   */
  send(frame: object): void;
  /** Closes the connection, flushing what was already sent; `close` follows promptly. Idempotent. */
  close(): void;
  readonly isOpen: boolean;
  on<K extends keyof TransportEvents>(event: K, listener: (payload: TransportEvents[K]) => void): this;
  off<K extends keyof TransportEvents>(event: K, listener: (payload: TransportEvents[K]) => void): this;
}

export interface TransportOptions {
  /** Accept any server certificate (self-signed appliances in a lab); never for production. */
  insecure?: boolean;
  /** PEM of a private CA that signed the server certificate. */
  ca?: string | Buffer;
  /** Time allowed to establish the connection (TCP, TLS and WebSocket upgrade). */
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Remembered TLS sessions: a reconnect resumes the session instead of a full handshake. */
  tlsSessions?: TlsSessionCache;
}

/**
 * TLS sessions (tickets) by server address, so reconnecting skips the full
 * handshake — the expensive part of a reconnect for both sides. Per client
 * instance; nothing is written to disk.
 */
export class TlsSessionCache {
  private readonly sessions = new Map<string, Buffer>();
  /** Building a context loads the trust store: do it once, not per connection. */
  private readonly contexts = new Map<unknown, tls.SecureContext>();

  get(key: string): Buffer | undefined {
    return this.sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    this.sessions.set(key, session);
  }

  /** tls.connect options plus remembering the session the server offers. */
  connect(options: tls.ConnectionOptions): tls.TLSSocket {
    const key = `${options.host ?? ''}:${options.port ?? ''}`;
    const session = this.sessions.get(key);
    let secureContext = this.contexts.get(options.ca);
    if (!secureContext) {
      secureContext = tls.createSecureContext(options.ca !== undefined ? { ca: options.ca } : {});
      this.contexts.set(options.ca, secureContext);
    }
    const socket = tls.connect({ ...options, secureContext, ...(session ? { session } : {}) });
    socket.on('session', (s: Buffer) => this.sessions.set(key, s));
    return socket;
  }
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_TLS_PORT = 7006;
/** How long a polite close may take before the socket is dropped. */
const CLOSE_GRACE_MS = 1_000;

const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function connectError(url: string, err: unknown): ClientError {
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && TLS_TRUST_ERRORS.has(code)) {
    return new ClientError('CLIENT_TLS_UNTRUSTED', `Cannot connect to ${url}: ${detail}.`, { cause: err });
  }
  return new ClientError('CLIENT_UNREACHABLE', `Cannot connect to ${url}: ${detail}.`, { cause: err });
}

abstract class BaseTransport extends TypedEmitter<TransportEvents> {
  protected closeInfo: TransportCloseInfo | null = null;
  /** Code named by a `bye` frame, reported when the socket then closes. */
  protected byeCode: string | null = null;
  protected byeReason = '';
  /** Last socket error, used as the close reason when nothing better is known. */
  protected lastError = '';
  private ended = false;

  protected constructor(protected readonly maxFrameBytes: number) {
    super();
  }

  abstract get isOpen(): boolean;
  abstract send(frame: object): void;
  abstract close(): void;

  protected serialise(frame: object): string {
    if (!this.isOpen) throw new ClientError('CLIENT_DISCONNECTED');
    const text = JSON.stringify(frame);
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so measuring is only needed near the limit.
    if (text.length * 3 > this.maxFrameBytes && Buffer.byteLength(text, 'utf8') > this.maxFrameBytes) {
      throw new ClientError('GW_FRAME_TOO_LARGE', `The frame is larger than ${this.maxFrameBytes} bytes.`);
    }
    return text;
  }

  protected deliver(frame: unknown): void {
    if (typeof frame === 'object' && frame !== null && (frame as { t?: unknown }).t === 'bye') {
      const p = (frame as { p?: { code?: unknown; message?: unknown } }).p;
      if (typeof p?.code === 'string') this.byeCode = p.code;
      if (typeof p?.message === 'string') this.byeReason = p.message;
    }
    this.emit('frame', frame);
  }

  /** Records why we are about to drop the connection; the close event reports it. */
  protected fail(code: string, reason: string): void {
    this.closeInfo ??= { code, reason };
  }

  protected finish(info: TransportCloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    const chosen = this.closeInfo ?? {
      code: info.code ?? this.byeCode,
      reason: info.reason || this.byeReason || this.lastError,
    };
    this.emit('close', chosen);
  }
}

/** ws's own TLS connect (SNI from the host name, none for an address), with session reuse. */
function tlsConnectWith(cache: TlsSessionCache) {
  return (options: tls.ConnectionOptions & { path?: string }): tls.TLSSocket => {
    const host = options.host ?? '';
    return cache.connect({ ...options, path: undefined, ...(options.servername === undefined ? { servername: net.isIP(host) ? '' : host } : {}) } as tls.ConnectionOptions);
  };
}

/** Client protocol over WebSocket: one JSON text message per frame. */
export class WsTransport extends BaseTransport implements Transport {
  private constructor(
    private readonly ws: WebSocket,
    maxFrameBytes: number,
  ) {
    super(maxFrameBytes);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      this.finish({ code: errorCodeForClose(code), reason: reason.toString('utf8') });
    });
    // ws closes the socket after an error and then emits 'close'.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.fail('GW_FRAME_TOO_LARGE', err.message);
      else this.lastError = err.message;
    });
  }

  static open(url: string, opts: TransportOptions = {}): Promise<WsTransport> {
    const maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        rejectUnauthorized: !opts.insecure,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        maxPayload: maxFrameBytes,
        handshakeTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        perMessageDeflate: false,
        ...(opts.tlsSessions ? { createConnection: tlsConnectWith(opts.tlsSessions) as unknown as WebSocket.ClientOptions['createConnection'] } : {}),
      });
      const onError = (err: Error): void => {
        cleanup();
        ws.terminate();
        reject(connectError(url, err));
      };
      const onOpen = (): void => {
        cleanup();
        resolve(new WsTransport(ws, maxFrameBytes));
      };
      const cleanup = (): void => {
        ws.off('error', onError);
        ws.off('open', onOpen);
      };
      ws.on('error', onError);
      ws.on('open', onOpen);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: object): void {
    this.ws.send(this.serialise(frame));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private onMessage(data: WebSocket.RawData, _isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let frame: unknown;
    try {
      frame = parseJsonFrame(bytes);
    } catch (err) {
      this.fail('GW_BAD_FRAME', (err as Error).message);
      this.ws.terminate();
      return;
    }
    this.deliver(frame);
  }
}

/** Client protocol over TLS (or plain TCP, for tests): length-prefixed JSON frames. */
export class TcpTransport extends BaseTransport implements Transport {
  private readonly decoder: FrameDecoder;

  private constructor(
    private readonly socket: net.Socket,
    maxFrameBytes: number,
  ) {
    super(maxFrameBytes);
    this.decoder = new FrameDecoder(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.lastError = err.message;
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => this.finish({ code: null, reason: '' }));
  }

  static open(url: string, opts: TransportOptions = {}): Promise<TcpTransport> {
    const maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = u.port === '' ? DEFAULT_TLS_PORT : Number(u.port);
    const secure = u.protocol === 'tls:';
    return new Promise((resolve, reject) => {
      const tlsOptions: tls.ConnectionOptions = {
        host,
        port,
        rejectUnauthorized: !opts.insecure,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
      };
      const socket = secure ? (opts.tlsSessions ? opts.tlsSessions.connect(tlsOptions) : tls.connect(tlsOptions)) : net.connect({ host, port });
      const timer = setTimeout(() => {
        fail(new Error(`timed out after ${opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms`));
      }, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(connectError(url, err));
      };
      const ready = (): void => {
        cleanup();
        socket.setNoDelay(true);
        resolve(new TcpTransport(socket, maxFrameBytes));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off(secure ? 'secureConnect' : 'connect', ready);
      };
      socket.on('error', fail);
      socket.on(secure ? 'secureConnect' : 'connect', ready);
    });
  }

  get isOpen(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(frame: object): void {
    const text = this.serialise(frame);
    this.socket.write(encodeFrame(text, this.maxFrameBytes));
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onData(chunk: Buffer): void {
    let bodies: Buffer[];
    let tooLarge: FrameTooLargeError | null = null;
    try {
      bodies = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) throw err;
      tooLarge = err;
      bodies = err.frames;
    }
    this.deliverBodies(bodies);
    if (tooLarge && !this.socket.destroyed) {
      this.fail('GW_FRAME_TOO_LARGE', tooLarge.message);
      this.socket.destroy();
    }
  }

  private deliverBodies(bodies: Buffer[]): void {
    for (const body of bodies) {
      if (this.socket.destroyed) return;
      let frame: unknown;
      try {
        frame = parseJsonFrame(body);
      } catch (err) {
        this.fail('GW_BAD_FRAME', err instanceof BadFrameError ? err.message : 'Bad frame.');
        this.socket.destroy();
        return;
      }
      this.deliver(frame);
    }
  }
}

/**
 * Opens a transport for `wss://`/`ws://` (WebSocket) or `tls://`/`tcp://`
 * (length-prefixed frames) URLs. Resolves once the connection is established;
 * rejects with ClientError CLIENT_BAD_URL, CLIENT_UNREACHABLE or CLIENT_TLS_UNTRUSTED.
 */
export async function openTransport(url: string, opts: TransportOptions = {}): Promise<Transport> {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ClientError('CLIENT_BAD_URL', `Not a valid server URL: ${url}`);
  }
  switch (protocol) {
    case 'wss:':
    case 'ws:':
      return WsTransport.open(url, opts);
    case 'tls:':
    case 'tcp:':
      return TcpTransport.open(url, opts);
    default:
      throw new ClientError('CLIENT_BAD_URL', `Unsupported scheme ${protocol} in ${url}; use wss://, ws://, tls:// or tcp://.`);
  }
}

export type TransportFactory = (url: string, opts: TransportOptions) => Promise<Transport>;
