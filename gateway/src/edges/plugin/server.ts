import type net from 'node:net';
import type { Logger } from '../../log.js';
import { encodeFrame, FrameTooLargeError } from '../../protocol/framing.js';
import type { PluginLink } from '../../protocol/plugin-session.js';
import {
  decodePluginFrame,
  pluginFrameDecoder,
  PLUGIN_BAD_CODE_WINDOW_MS,
  PLUGIN_BAD_CODES_PER_WINDOW,
  PLUGIN_HANDSHAKE_TIMEOUT_MS,
  PLUGIN_MAX_FRAME_BYTES,
  PluginFrameType,
  PluginProtocolError,
  type ByeFrame,
  type PluginCloseCode,
  type PluginFrame,
} from '../../protocol/plugin-v1.js';
import { WindowLimiter } from '../../auth/rate-limit.js';
import type { ConnectionCodeService } from '../../settings/connection-code.js';
import { createTcpServer } from '../client/tcp.js';
import type { PluginHub } from './hub.js';

/** Connections that have not finished their handshake, at most; more are refused at once. */
export const MAX_PENDING_HANDSHAKES = 32;
/** How long a closed connection may take to read its bye before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;
/** Frames an adapter may send before its welcome arrives; they wait for the handshake. */
const MAX_EARLY_FRAMES = 64;

export interface PluginServerDeps {
  hub: PluginHub;
  codes: ConnectionCodeService;
  log: Logger;
  /** The gateway's certificate, or null for plaintext (loopback test setups only). */
  tls: { cert: string; key: string } | null;
  /** Tests: handshake timeout. */
  handshakeTimeoutMs?: number;
  /** Tests: wrong codes per address per window. */
  badCodes?: { max: number; windowMs: number };
}

export interface PluginServerMetrics {
  connections: number;
  badFrames: number;
  badCodes: number;
  rateLimited: number;
}

/**
 * The plugin edge: the TCP (TLS) listener on plugin.port (7014). Parses
 * length-prefixed frames, runs the handshake — version, connection code
 * (wrong codes rate-limited per remote address), one adapter at a time — and
 * hands the accepted link to the PluginHub. Every refusal is a `bye` with a
 * code from docs/errors.md, then the socket closes; bad input from one
 * connection never affects another.
 */
export class PluginServer {
  readonly server: net.Server;
  readonly metrics: PluginServerMetrics = { connections: 0, badFrames: 0, badCodes: 0, rateLimited: 0 };
  private readonly sockets = new Set<net.Socket>();
  private readonly limiter: WindowLimiter;
  private readonly blockedUntil = new Map<string, number>();
  private pending = 0;
  private stopped = false;

  constructor(private readonly deps: PluginServerDeps) {
    const bc = deps.badCodes ?? { max: PLUGIN_BAD_CODES_PER_WINDOW, windowMs: PLUGIN_BAD_CODE_WINDOW_MS };
    this.limiter = new WindowLimiter(bc.max, bc.windowMs);
    this.server = createTcpServer(deps.tls, (s) => this.accept(s));
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  port(): number | null {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /** Stops listening and drops every connection (the hub has already said bye to the adapter). */
  async close(): Promise<void> {
    this.stopped = true;
    const closing = new Promise<void>((r) => (this.server.listening ? this.server.close(() => r()) : r()));
    for (const s of this.sockets) s.destroy();
    await closing;
  }

  /** Milliseconds this address must wait, or 0. */
  private blocked(address: string, now: number): number {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return 0;
    if (until <= now) {
      this.blockedUntil.delete(address);
      return 0;
    }
    return until - now;
  }

  private accept(socket: net.Socket): void {
    const log = this.deps.log;
    const address = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    this.sockets.add(socket);
    this.metrics.connections += 1;
    let state: 'hello' | 'admitting' | 'open' | 'closed' = 'hello';
    let early: PluginFrame[] = [];
    this.pending += 1;
    let countedPending = true;
    const donePending = () => {
      if (countedPending) {
        countedPending = false;
        this.pending -= 1;
      }
    };
    const uncork = () => socket.uncork();
    const writeRaw = (json: string): boolean => {
      if (!socket.writable) return false;
      if (socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(encodeFrame(json, Number.MAX_SAFE_INTEGER));
      return true;
    };
    // declared before end(), which may run before the timer is set (refused at once while stopping or rate limited)
    let handshakeTimer: NodeJS.Timeout | undefined = undefined;
    const link: PluginLink = {
      write: (json) => state !== 'closed' && writeRaw(json),
      close: (code, message) => end(code, message),
    };
    const end = (code: PluginCloseCode, message: string, extra: Partial<ByeFrame> = {}) => {
      if (state === 'closed') return;
      state = 'closed';
      clearTimeout(handshakeTimer);
      donePending();
      const bye: ByeFrame = { t: PluginFrameType.Bye, code, message, ...extra };
      if (socket.writable) socket.end(encodeFrame(JSON.stringify(bye), Number.MAX_SAFE_INTEGER));
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      if (code !== 'OK' && code !== 'GW_SERVER_SHUTDOWN') log.info({ address, code }, `plugin connection closed: ${message}`);
    };

    if (this.stopped) return end('GW_SERVER_SHUTDOWN', 'the gateway is shutting down');
    if (this.pending > MAX_PENDING_HANDSHAKES) {
      this.metrics.rateLimited += 1;
      return end('GW_RATE_LIMITED', 'too many connections are in their handshake', { retryAfterMs: 5000 });
    }
    handshakeTimer = setTimeout(() => end('GW_HANDSHAKE_TIMEOUT', `no hello within ${this.deps.handshakeTimeoutMs ?? PLUGIN_HANDSHAKE_TIMEOUT_MS} ms`), this.deps.handshakeTimeoutMs ?? PLUGIN_HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();

    const onHello = async (frame: PluginFrame) => {
      if (frame.t !== PluginFrameType.Hello) return end('GW_HANDSHAKE_REQUIRED', 'the first frame must be hello');
      const now = Date.now();
      const wait = this.blocked(address, now);
      if (wait > 0) {
        this.metrics.rateLimited += 1;
        return end('GW_RATE_LIMITED', 'too many wrong connection codes from this address; wait before trying again', { retryAfterMs: wait });
      }
      if (!this.deps.codes.verify(frame.code)) {
        this.metrics.badCodes += 1;
        const retry = this.limiter.hit(address, now);
        log.warn({ address, adapterId: frame.adapterId }, 'plugin hello with a wrong connection code');
        if (retry > 0) {
          this.blockedUntil.set(address, now + retry);
          if (this.blockedUntil.size > 10_000) for (const [a, t] of this.blockedUntil) if (t <= now) this.blockedUntil.delete(a);
          this.metrics.rateLimited += 1;
          return end('GW_RATE_LIMITED', 'too many wrong connection codes from this address; wait before trying again', { retryAfterMs: retry });
        }
        return end('GW_PLUGIN_CODE_INVALID', 'the connection code is wrong: copy it from the console (Settings → RTX integration)');
      }
      state = 'admitting';
      clearTimeout(handshakeTimer);
      let refusal;
      try {
        refusal = await this.deps.hub.accept(frame, link, socket.remoteAddress ?? null);
      } catch (e) {
        log.error({ err: e, address }, 'plugin handshake failed');
        return end('GW_INTERNAL', 'the gateway could not open the stream; retry later');
      }
      donePending();
      if (refusal) {
        const { code, message, ...extra } = refusal;
        return end(code, message, extra);
      }
      if ((state as string) === 'closed') return;
      state = 'open';
      const queued = early;
      early = [];
      for (const f of queued) if (state === 'open') onOpenFrame(f);
    };

    const onOpenFrame = (frame: PluginFrame) => {
      switch (frame.t) {
        case PluginFrameType.Bye:
          state = 'closed';
          socket.end();
          return;
        case PluginFrameType.Hello:
        case PluginFrameType.Welcome:
          this.metrics.badFrames += 1;
          return end('GW_BAD_FRAME', `${frame.t} is not expected after the handshake`);
        default:
          this.deps.hub.onFrame(link, frame);
      }
    };

    const decoder = pluginFrameDecoder(PLUGIN_MAX_FRAME_BYTES);
    socket.on('data', (chunk: Buffer) => {
      if (state === 'closed') return;
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch (e) {
        this.metrics.badFrames += 1;
        if (e instanceof FrameTooLargeError) return end('GW_FRAME_TOO_LARGE', `frames may be at most ${PLUGIN_MAX_FRAME_BYTES} bytes (got a header of ${e.size})`);
        return end('GW_BAD_FRAME', 'unreadable frame');
      }
      for (const body of bodies) {
        let frame: PluginFrame;
        try {
          frame = decodePluginFrame(body);
        } catch (e) {
          this.metrics.badFrames += 1;
          return end('GW_BAD_FRAME', e instanceof PluginProtocolError ? e.message : 'malformed frame');
        }
        if (state === 'hello') {
          state = 'admitting';
          void onHello(frame);
        } else if (state === 'admitting') {
          if (early.length >= MAX_EARLY_FRAMES) return end('GW_HANDSHAKE_REQUIRED', 'wait for welcome before sending frames');
          early.push(frame);
        } else if (state === 'open') {
          onOpenFrame(frame);
        } else return;
      }
    });
    socket.on('error', () => {
      /* reported by 'close' */
    });
    socket.on('close', () => {
      state = 'closed';
      clearTimeout(handshakeTimer);
      donePending();
      this.sockets.delete(socket);
      this.deps.hub.linkClosed(link);
    });
  }
}
