import {
  ClientFrame,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
  ServerFrame,
  type ErrorPayload,
  type PushFrame,
  type RequestPayload,
  type ResultPayload,
} from '../../gateway/src/protocol/client-v1.js';
import { ClientError } from './errors.js';
import type { Transport, TransportCloseInfo } from './transport.js';

export interface ConnectionOptions {
  requestTimeoutMs: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
}

export interface ConnectionHandlers {
  /** A server push (any frame that is not `result`/`error`), in arrival order. */
  push(frame: PushFrame): void;
  /** Called exactly once when the connection ends, after pending requests were rejected. */
  closed(info: TransportCloseInfo): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: ClientError): void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response bookkeeping and heartbeat over one transport. It assigns
 * request ids, matches `result`/`error` answers to them, times requests out,
 * pings when idle and declares the connection dead when nothing arrives within
 * the heartbeat timeout. It knows nothing about sessions or messages.
 */
export class Connection {
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();
  private heartbeat: NodeJS.Timeout | null = null;
  private lastReceivedAt = Date.now();
  private lastSentAt = Date.now();
  private localClose: TransportCloseInfo | null = null;
  private ended = false;
  private markDone!: () => void;
  /** Resolves once the transport has closed and the closed handler has run. */
  readonly done: Promise<void> = new Promise((resolve) => {
    this.markDone = resolve;
  });

  constructor(
    private readonly transport: Transport,
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    transport.on('frame', (frame) => this.onFrame(frame));
    transport.on('close', (info) => this.onClose(info));
  }

  get isOpen(): boolean {
    return !this.ended && this.transport.isOpen;
  }

  /**
   * Sends a request and resolves with its result payload. Rejects with a
   * ClientError carrying the server's code, CLIENT_TIMEOUT after timeoutMs, or
   * the code that closed the connection (CLIENT_DISCONNECTED when none).
   */
  request<T extends ClientFrame>(t: T, p: RequestPayload[T], timeoutMs = this.opts.requestTimeoutMs): Promise<ResultPayload[T]> {
    if (!this.isOpen) return Promise.reject(new ClientError('CLIENT_DISCONNECTED'));
    const rid = this.nextRid++;
    return new Promise<ResultPayload[T]>((resolve, reject) => {
      try {
        this.transport.send({ t, rid, p });
      } catch (err) {
        reject(err instanceof ClientError ? err : new ClientError('CLIENT_DISCONNECTED', undefined, { cause: err }));
        return;
      }
      this.lastSentAt = Date.now();
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new ClientError('CLIENT_TIMEOUT', `No answer to ${t} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  /** Starts pinging when idle; the interval from the server's hello wins over the default. */
  startHeartbeat(intervalMs = this.opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS): void {
    if (this.heartbeat || this.ended) return;
    const timeoutMs = this.opts.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    const tickMs = Math.max(50, Math.min(1_000, Math.floor(intervalMs / 4)));
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceivedAt >= timeoutMs) {
        this.close({ code: 'CLIENT_HEARTBEAT_TIMEOUT', reason: `Nothing received for ${timeoutMs} ms.` });
        return;
      }
      if (now - this.lastSentAt >= intervalMs && now - this.lastReceivedAt >= intervalMs) {
        // The answer matters only as traffic; a dead link shows up as the receive timeout above.
        this.request(ClientFrame.Ping, {}, timeoutMs).catch(() => undefined);
      }
    }, tickMs);
    this.heartbeat.unref();
  }

  /** Closes the transport; `info` is what the closed handler will report. */
  close(info: TransportCloseInfo = { code: null, reason: 'Closed by the client.' }): void {
    this.localClose ??= info;
    this.transport.close();
  }

  private onFrame(raw: unknown): void {
    this.lastReceivedAt = Date.now();
    if (typeof raw !== 'object' || raw === null || typeof (raw as { t?: unknown }).t !== 'string') return;
    const frame = raw as { t: string; rid?: unknown; p?: unknown };
    if (frame.t === ServerFrame.Result || frame.t === ServerFrame.Error) {
      const pending = typeof frame.rid === 'number' ? this.pending.get(frame.rid) : undefined;
      if (!pending) return;
      this.pending.delete(frame.rid as number);
      clearTimeout(pending.timer);
      if (frame.t === ServerFrame.Result) {
        pending.resolve(frame.p ?? {});
      } else {
        const p = (frame.p ?? {}) as Partial<ErrorPayload>;
        const code = typeof p.code === 'string' ? p.code : 'CLIENT_PROTOCOL';
        const opts = typeof p.retryAfterMs === 'number' ? { retryAfterMs: p.retryAfterMs } : undefined;
        pending.reject(new ClientError(code, typeof p.message === 'string' ? p.message : undefined, opts));
      }
      return;
    }
    this.handlers.push(frame as PushFrame);
  }

  private onClose(info: TransportCloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const final = this.localClose ?? info;
    for (const [rid, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(rid);
      pending.reject(
        new ClientError(final.code ?? 'CLIENT_DISCONNECTED', final.reason || 'The connection closed before the server answered.'),
      );
    }
    try {
      this.handlers.closed(final);
    } finally {
      this.markDone();
    }
  }
}
