import net from 'node:net';
import type { Logger } from '../../log.js';
import {
  RTX_IP_DENIED_TEXT,
  RtxHttpParseError,
  RtxHttpRequestParser,
  extractRtxParams,
  normalizeRtxPath,
  rtxError,
  rtxParseErrorResponse,
  type RtxHttpRequest,
} from '../../protocol/rtx-http.js';
import { parseIpAllowList, type IpAllowList } from '../../settings/ip-allow.js';
import { RTX_ENDPOINTS, type RtxEndpointDeps } from './endpoints.js';

/** Connections held at once; more are closed at once. */
export const RTX_SDK_MAX_CONNECTIONS = 1024;
/** A connection with nothing to read or answer for this long is closed. */
export const RTX_SDK_IDLE_TIMEOUT_MS = 30_000;
/** Requests of one connection waiting for their answer (pipelining); more close the connection. */
export const RTX_SDK_MAX_PIPELINED = 32;
/** Answer bytes a connection may leave unread before it is dropped. */
export const RTX_SDK_MAX_UNREAD_BYTES = 1024 * 1024;
/** Largest request body (form parameters); a notification of 10 000 characters fits several times. */
export const RTX_SDK_MAX_BODY_BYTES = 512 * 1024;

export interface RtxCompatOptions extends RtxEndpointDeps {
  log: Logger;
}

/**
 * The RTX-compatible HTTP SDK front (port 8012, F-10.3, docs/protocol/rtx-sdk-compat.md): a raw
 * `net` server, because RTX callers put raw GBK bytes in the request line, which Node's HTTP
 * parser refuses. It parses with the shared codec (protocol/rtx-http.ts), checks the caller's
 * address against the `rtxSdkAllowIps` setting on every request, and translates each endpoint
 * into service calls (endpoints.ts). Answers are GBK text like a real RTX server's.
 */
export class RtxCompatServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private allowText = '';
  private allow: IpAllowList = parseIpAllowList('');
  private requestCounter = 0;
  /** Requests answered and refused, for the log and tests. */
  readonly metrics = { requests: 0, refusedIp: 0, parseErrors: 0, internalErrors: 0 };

  constructor(private readonly opts: RtxCompatOptions) {
    // half-open: a caller that shuts down its sending side after the request still gets the answer
    this.server = net.createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    this.server.maxConnections = RTX_SDK_MAX_CONNECTIONS;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
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

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server.listening ? this.server.close(() => r()) : r()));
  }

  /** The allow-list of the current setting (re-parsed only when the setting changed). */
  private allowed(address: string | null): boolean {
    const text = this.opts.settings.get().rtxSdkAllowIps;
    if (text !== this.allowText) {
      try {
        this.allow = parseIpAllowList(text);
      } catch {
        // settings.set refuses bad lists; a bad stored value allows nobody
        this.allow = parseIpAllowList('');
      }
      this.allowText = text;
    }
    return this.allow.allows(address);
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    socket.setTimeout(RTX_SDK_IDLE_TIMEOUT_MS, () => socket.destroy());
    const address = socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') ?? null;
    const parser = new RtxHttpRequestParser({ maxBodyBytes: RTX_SDK_MAX_BODY_BYTES });
    let queue: Promise<void> = Promise.resolve();
    let waiting = 0;
    let ended = false;
    const send = (res: Buffer, keepAlive: boolean) => {
      if (socket.destroyed || ended) return;
      if (socket.writableLength > RTX_SDK_MAX_UNREAD_BYTES) {
        socket.destroy();
        return;
      }
      if (keepAlive) socket.write(res);
      else {
        ended = true;
        socket.end(res);
      }
    };
    socket.on('end', () => {
      queue = queue.then(() => {
        if (!socket.destroyed && !ended) {
          ended = true;
          socket.end();
        }
      });
    });
    socket.on('data', (chunk) => {
      if (ended) return;
      let reqs: RtxHttpRequest[];
      try {
        reqs = parser.push(chunk);
      } catch (err) {
        this.metrics.parseErrors += 1;
        const res = err instanceof RtxHttpParseError ? rtxParseErrorResponse(err) : rtxError('Bad Request', false, { status: 400 });
        queue = queue.then(() => send(res, false));
        return;
      }
      for (const req of reqs) {
        if (++waiting > RTX_SDK_MAX_PIPELINED) {
          queue = queue.then(() => send(rtxError('Too Many Requests', false, { status: 503 }), false));
          ended = true;
          socket.pause();
          return;
        }
        queue = queue.then(async () => {
          const res = await this.answer(req, address);
          waiting -= 1;
          send(res, req.keepAlive);
        });
      }
    });
  }

  private async answer(req: RtxHttpRequest, address: string | null): Promise<Buffer> {
    this.metrics.requests += 1;
    const ka = req.keepAlive;
    let res: Buffer;
    const path = normalizeRtxPath(req.path);
    if (!this.allowed(address)) {
      this.metrics.refusedIp += 1;
      this.opts.log.debug({ address, path }, 'rtx-sdk: caller not on the allow-list');
      res = rtxError(RTX_IP_DENIED_TEXT, ka);
    } else {
      const endpoint = RTX_ENDPOINTS.get(path);
      if (!endpoint) res = rtxError('Not Found', ka, { status: 404 });
      else if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') res = rtxError('Method Not Allowed', ka, { status: 405 });
      else {
        try {
          res = await endpoint(this.opts, { params: extractRtxParams(req), method: req.method, address, keepAlive: ka });
        } catch (err) {
          // never the error's own text: it may hold internals
          this.metrics.internalErrors += 1;
          const requestId = `r${Date.now().toString(36)}-${++this.requestCounter}`;
          this.opts.log.error({ err, requestId, path }, 'rtx-sdk request failed');
          res = rtxError(`内部错误(请求 ${requestId})`, ka);
        }
      }
    }
    if (req.method === 'HEAD') {
      const end = res.indexOf('\r\n\r\n');
      if (end >= 0) res = res.subarray(0, end + 4);
    }
    if (req.httpVersion === '1.0') res = Buffer.concat([Buffer.from('HTTP/1.0', 'latin1'), res.subarray(8)]);
    return res;
  }
}
