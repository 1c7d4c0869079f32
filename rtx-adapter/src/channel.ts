import net from 'node:net';
import tls from 'node:tls';
import { encodeFrame, FrameTooLargeError } from '../../gateway/src/protocol/framing.js';
import {
  PayloadDispatcher,
  PluginSession,
  type IdempotentHandler,
  type PluginLink,
  type SessionStatus,
  type SessionTimers,
  type TransactionalHandler,
} from '../../gateway/src/protocol/plugin-session.js';
import {
  decodePluginFrame,
  pluginFrameDecoder,
  PLUGIN_BAD_CODE_RETRY_MS,
  PLUGIN_HANDSHAKE_TIMEOUT_MS,
  PLUGIN_MAX_FRAME_BYTES,
  PLUGIN_RECONNECT_MAX_DELAY_MS,
  PLUGIN_RECONNECT_MIN_DELAY_MS,
  PLUGIN_RECONNECT_STABLE_MS,
  PLUGIN_SUPPORTED_VERSIONS,
  PluginFrameType,
  PluginProtocolError,
  reconnectDelayMs,
  type ByeFrame,
  type PluginCloseCode,
  type PluginFrame,
} from '../../gateway/src/protocol/plugin-v1.js';
import type { AdapterStore } from './outbox.js';

/**
 * The link's state, as the adapter reports it:
 * CONNECTING (TCP/TLS and handshake), CONNECTED, BACKOFF (waiting to
 * reconnect after a failure), BAD_CREDENTIALS (the gateway refused the
 * connection code; retried slowly, since an administrator may regenerate it
 * or fix the adapter's config), VERSION_UNSUPPORTED, STOPPED.
 */
export type ChannelState = 'STOPPED' | 'CONNECTING' | 'CONNECTED' | 'BACKOFF' | 'BAD_CREDENTIALS' | 'VERSION_UNSUPPORTED';

/**
 * How the adapter checks the gateway's certificate. The gateway's
 * certificate is usually self-signed (dataDir/tls/self-signed.crt), so give
 * one of:
 * - `ca`: that certificate (PEM) — chain and host name are verified (the
 *   self-signed certificate names localhost, 127.0.0.1, ::1, the gateway's
 *   host name and publicHost; set `servername` if you connect by another name);
 * - `fingerprint256`: its SHA-256 fingerprint (`AA:BB:…`, as `openssl x509
 *   -fingerprint -sha256` prints it; case and colons do not matter) — the
 *   certificate must be exactly that one, whatever its names;
 * - `insecure: true`: no check at all (tests; never in production).
 * With none of them the system's CAs are used (a certificate from a real CA).
 */
export interface ChannelTlsOptions {
  ca?: string | Buffer;
  fingerprint256?: string;
  servername?: string;
  insecure?: boolean;
}

/** Where the adapter logs; never given the connection code. */
export interface ChannelLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ChannelOptions {
  host: string;
  port: number;
  /** TLS options, or false for plaintext (only against a gateway with plugin.tls = false on loopback). */
  tls: ChannelTlsOptions | false;
  /** The connection code from the console (Settings → RTX integration). */
  code: string;
  store: AdapterStore;
  /** Display name (e.g. the RTX server's host name) and software version, shown in the console. */
  name?: string;
  software?: string;
  reconnect?: { minDelayMs?: number; maxDelayMs?: number; stableMs?: number; badCodeRetryMs?: number };
  log?: ChannelLog;
  timers?: SessionTimers;
  random?: () => number;
}

export interface ChannelStatus extends SessionStatus {
  state: ChannelState;
  adapterId: string;
  /** The last refusal or failure, e.g. `GW_PLUGIN_CODE_INVALID: …`; null after a good connection. */
  lastError: string | null;
  /** Connection attempts since the last stable connection. */
  attempt: number;
}

const quiet: ChannelLog = { info: () => {}, warn: () => {} };
const CLOSE_GRACE_MS = 2000;
const normaliseFingerprint = (f: string) => f.replace(/[^0-9a-f]/gi, '').toUpperCase();

/**
 * The adapter's end of the plugin channel (docs/protocol/plugin-v1.md):
 * connects to the gateway, says hello with the connection code and how far it
 * has processed, re-sends what the gateway has not acknowledged, and
 * reconnects with exponential backoff and jitter whenever the link drops.
 * Payloads go both ways exactly once and in order, across restarts of either
 * side, because both ends keep a persistent outbox and high-water.
 */
export class PluginChannel {
  private readonly session: PluginSession;
  private readonly dispatcher: PayloadDispatcher;
  private readonly log: ChannelLog;
  private state: ChannelState = 'STOPPED';
  private lastError: string | null = null;
  private attempt = 0;
  private socket: net.Socket | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly stateListeners = new Set<(state: ChannelState, detail: string | null) => void>();
  private unhandled = 0;

  constructor(private readonly opts: ChannelOptions) {
    this.log = opts.log ?? quiet;
    this.dispatcher = new PayloadDispatcher(opts.store, (ctx) => {
      this.unhandled += 1;
      this.log.warn({ type: ctx.type, seq: ctx.seq }, 'payload of a type nobody handles: skipped');
    });
    this.session = new PluginSession({
      outbox: opts.store,
      inbox: this.dispatcher,
      ...(opts.timers ? { timers: opts.timers } : {}),
      onWarning: (message, err) => this.log.warn({ err: err instanceof Error ? err.message : err }, message),
    });
  }

  get adapterId(): string {
    return this.opts.store.adapterId;
  }

  /** Queues a payload for the gateway; resolves its seq once durable in the adapter's outbox. */
  send(type: string, body: unknown): Promise<number> {
    return this.session.send(type, body);
  }

  /** Handles payloads of `type` inside the transaction that marks them processed (synchronous writes to store.db only). */
  on(type: string, handler: TransactionalHandler): void {
    this.dispatcher.on(type, handler);
  }

  /** Handles payloads of `type` with an asynchronous effect that is idempotent by `ctx.key`. */
  onIdempotent(type: string, handler: IdempotentHandler): void {
    this.dispatcher.onIdempotent(type, handler);
  }

  /** Calls fn on every state change; returns a function that stops it. */
  onState(fn: (state: ChannelState, detail: string | null) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  status(): ChannelStatus {
    return { ...this.session.status(), state: this.state, adapterId: this.adapterId, lastError: this.lastError, attempt: this.attempt };
  }

  /** Starts connecting (and reconnecting until stop()). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.session.load();
    this.connect();
  }

  /**
   * Stops reconnecting, stores queued sends, lets inbound processing finish,
   * says bye to the gateway and closes the connection. The store stays open
   * (the caller closes it).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.session.close('OK', 'the adapter is stopping');
    this.socket?.destroy();
    this.setState('STOPPED', null);
  }

  private setState(state: ChannelState, detail: string | null): void {
    if (state === this.state && detail === this.lastError) return;
    this.state = state;
    if (detail !== null || state === 'CONNECTED') this.lastError = detail;
    for (const l of this.stateListeners) l(state, detail);
  }

  private scheduleReconnect(bye: ByeFrame | null): void {
    if (this.stopped) return;
    const r = this.opts.reconnect ?? {};
    let delay = reconnectDelayMs(this.attempt++, r.minDelayMs ?? PLUGIN_RECONNECT_MIN_DELAY_MS, r.maxDelayMs ?? PLUGIN_RECONNECT_MAX_DELAY_MS, this.opts.random);
    const detail = bye ? `${bye.code}: ${bye.message}` : (this.lastError ?? 'connection lost');
    if (bye?.code === 'GW_PLUGIN_CODE_INVALID' || bye?.code === 'GW_PLUGIN_CODE_CHANGED') {
      delay = Math.max(delay, r.badCodeRetryMs ?? PLUGIN_BAD_CODE_RETRY_MS);
      this.setState('BAD_CREDENTIALS', detail);
    } else if (bye?.code === 'GW_VERSION_UNSUPPORTED') {
      delay = Math.max(delay, r.maxDelayMs ?? PLUGIN_RECONNECT_MAX_DELAY_MS);
      this.setState('VERSION_UNSUPPORTED', `${detail} (gateway speaks ${bye.supported?.join(', ') ?? '?'}, this adapter ${PLUGIN_SUPPORTED_VERSIONS.join(', ')})`);
    } else {
      this.setState('BACKOFF', detail);
    }
    if (bye?.retryAfterMs) delay = Math.max(delay, bye.retryAfterMs);
    this.log.info({ delayMs: delay, reason: detail }, 'plugin channel: reconnecting later');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('CONNECTING', null);
    const o = this.opts;
    let socket: net.Socket;
    if (o.tls === false) {
      socket = net.connect({ host: o.host, port: o.port });
    } else {
      const t = o.tls;
      const pinned = t.fingerprint256 !== undefined;
      socket = tls.connect({
        host: o.host,
        port: o.port,
        minVersion: 'TLSv1.2',
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.servername !== undefined ? { servername: t.servername } : net.isIP(o.host) ? {} : { servername: o.host }),
        // a pin replaces chain and name checks: the certificate must be exactly the pinned one
        rejectUnauthorized: !(t.insecure || pinned),
      });
    }
    this.socket = socket;
    socket.setNoDelay(true);
    let closed = false;
    let welcomed = false;
    let welcomedAt = 0;
    let bye: ByeFrame | null = null;
    let failure: string | null = null;
    const handshakeTimer = setTimeout(() => {
      failure = `no welcome within ${PLUGIN_HANDSHAKE_TIMEOUT_MS} ms`;
      socket.destroy();
    }, PLUGIN_HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();
    const uncork = () => socket.uncork();
    const link: PluginLink = {
      write: (json) => {
        if (closed || !socket.writable) return false;
        if (socket.writableCorked === 0) {
          socket.cork();
          process.nextTick(uncork);
        }
        socket.write(encodeFrame(json, Number.MAX_SAFE_INTEGER));
        return true;
      },
      close: (code: PluginCloseCode, message: string) => {
        if (closed) return;
        closed = true;
        failure ??= `${code}: ${message}`;
        if (socket.writable) socket.end(encodeFrame(JSON.stringify({ t: PluginFrameType.Bye, code, message } satisfies ByeFrame), Number.MAX_SAFE_INTEGER));
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      },
    };

    const onUp = async () => {
      if (o.tls !== false && o.tls.fingerprint256 !== undefined) {
        const got = (socket as tls.TLSSocket).getPeerCertificate().fingerprint256 ?? '';
        if (normaliseFingerprint(got) !== normaliseFingerprint(o.tls.fingerprint256)) {
          failure = `the gateway's certificate (SHA-256 ${got}) is not the pinned one`;
          socket.destroy();
          return;
        }
      }
      const recvSeq = await this.session.settledHighWater();
      if (closed) return;
      link.write(
        JSON.stringify({
          t: PluginFrameType.Hello,
          versions: [...PLUGIN_SUPPORTED_VERSIONS],
          adapterId: this.adapterId,
          code: o.code,
          recvSeq,
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.software !== undefined ? { software: o.software } : {}),
        }),
      );
    };
    socket.once(o.tls === false ? 'connect' : 'secureConnect', () => void onUp());

    const onFrame = (frame: PluginFrame) => {
      if (frame.t === PluginFrameType.Bye) {
        bye = frame;
        closed = true;
        socket.end();
        return;
      }
      if (!welcomed) {
        if (frame.t !== PluginFrameType.Welcome) return link.close('GW_HANDSHAKE_REQUIRED', 'expected welcome');
        if (!PLUGIN_SUPPORTED_VERSIONS.includes(frame.v)) return link.close('GW_VERSION_UNSUPPORTED', `the gateway chose version ${frame.v}`);
        welcomed = true;
        welcomedAt = Date.now();
        clearTimeout(handshakeTimer);
        this.setState('CONNECTED', null);
        this.log.info({ adapterId: this.adapterId, recvSeq: frame.recvSeq, server: frame.server }, 'plugin channel connected');
        void this.session.attach(link, { peerRecvSeq: frame.recvSeq, maxUnacked: frame.maxUnacked, heartbeatIntervalMs: frame.heartbeatIntervalMs, idleTimeoutMs: frame.idleTimeoutMs });
        return;
      }
      if (frame.t === PluginFrameType.Welcome || frame.t === PluginFrameType.Hello) return link.close('GW_BAD_FRAME', `${frame.t} is not expected now`);
      this.session.onFrame(link, frame);
    };

    const decoder = pluginFrameDecoder(PLUGIN_MAX_FRAME_BYTES);
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch (e) {
        return link.close(e instanceof FrameTooLargeError ? 'GW_FRAME_TOO_LARGE' : 'GW_BAD_FRAME', 'unreadable frame from the gateway');
      }
      for (const b of bodies) {
        if (closed) return;
        try {
          onFrame(decodePluginFrame(b));
        } catch (e) {
          return link.close('GW_BAD_FRAME', e instanceof PluginProtocolError ? e.message : 'malformed frame');
        }
      }
    });
    socket.on('error', (e: Error) => {
      failure ??= e.message;
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(handshakeTimer);
      this.session.detach(link);
      if (this.socket === socket) this.socket = null;
      if (welcomed) this.log.info({ reason: bye ? `${bye.code}: ${bye.message}` : failure }, 'plugin channel disconnected');
      const stable = welcomed && Date.now() - welcomedAt >= (o.reconnect?.stableMs ?? PLUGIN_RECONNECT_STABLE_MS);
      if (stable) this.attempt = 0;
      if (!bye && failure) this.lastError = failure;
      this.scheduleReconnect(bye);
    });
  }
}
