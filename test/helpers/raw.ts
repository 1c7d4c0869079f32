import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { FrameDecoder, encodeFrame } from '../../gateway/src/protocol/framing.js';

/**
 * A deliberately naive client for the client protocol, for tests that must put
 * bytes on the wire that no well-behaved client would: malformed JSON, binary
 * WebSocket messages, invalid UTF-8, oversized frames, floods, stalls. It keeps
 * every frame the server sent, and reports how the connection ended.
 */

/** A frame as the server sent it (unvalidated). `t` is `<unparseable>` when it was not JSON. */
export interface Frame {
  t: string;
  rid?: number | null;
  p?: Record<string, unknown> & { code?: string; message?: string; retryAfterMs?: number };
}

export interface Ended {
  /** WebSocket close code; null on TCP. */
  code: number | null;
  /** WebSocket close reason; '' on TCP. */
  reason: string;
  /** The last `bye` frame received (TCP). */
  bye: { code: string; message: string } | null;
}

export type TransportKind = 'wss' | 'tcp';

interface Waiter {
  pred: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
}

export abstract class RawClient {
  abstract readonly kind: TransportKind;
  readonly frames: Frame[] = [];
  readonly ended: Promise<Ended>;
  endedWith: Ended | null = null;
  private readonly waiters = new Set<Waiter>();
  private rid = 0;
  protected finish!: (e: Ended) => void;

  protected constructor() {
    this.ended = new Promise<Ended>((resolve) => {
      this.finish = (e) => {
        if (this.endedWith) return;
        this.endedWith = e;
        resolve(e);
      };
    });
  }

  /** Sends one frame whose body is this text (a WS text message; a length-prefixed TCP frame). */
  abstract sendText(text: string): void;
  /** Sends many frames in as few socket writes as possible. */
  abstract sendTexts(texts: string[]): void;
  /** Stops reading from the socket: the kernel buffers fill and the server's writes back up. */
  abstract pauseReading(): void;
  abstract resumeReading(): void;
  /** Closes politely (WS close 1000; TCP end). */
  abstract close(): void;
  abstract destroy(): void;

  get closed(): boolean {
    return this.endedWith !== null;
  }

  send(frame: object): void {
    this.sendText(JSON.stringify(frame));
  }

  /** Next request id of this client. */
  nextRid(): number {
    return ++this.rid;
  }

  protected received(text: string): void {
    let f: Frame;
    try {
      f = JSON.parse(text) as Frame;
    } catch {
      f = { t: '<unparseable>', p: { message: text.slice(0, 200) } };
    }
    this.frames.push(f);
    for (const w of [...this.waiters]) {
      if (w.pred(f)) {
        this.waiters.delete(w);
        w.resolve(f);
      }
    }
  }

  /**
   * The first frame (already received or still to come) that matches. Rejects
   * with `what` in the message after timeoutMs, or when the connection ends first.
   */
  waitFor(pred: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise<Frame>((resolve, reject) => {
      const fail = (why: string) => {
        this.waiters.delete(w);
        clearTimeout(timer);
        reject(new Error(`${this.kind}: ${why} while waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`));
      };
      const w: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => fail(`nothing after ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(w);
      void this.ended.then((e) => {
        if (!this.waiters.has(w)) return;
        // frames that came with the close were delivered before 'close'
        const late = this.frames.find(pred);
        if (late) {
          this.waiters.delete(w);
          w.resolve(late);
        } else fail(`connection ended (${JSON.stringify(e)})`);
      });
    });
  }

  /** The answer (result or error) to a request id. */
  answer(rid: number, timeoutMs = 10_000): Promise<Frame> {
    return this.waitFor((f) => (f.t === 'result' || f.t === 'error') && f.rid === rid, `the answer to rid ${rid}`, timeoutMs);
  }

  /** Sends a request with a fresh rid and resolves its answer (result or error). */
  async request(t: string, p?: unknown, timeoutMs = 10_000): Promise<Frame> {
    const rid = this.nextRid();
    this.send(p === undefined ? { t, rid } : { t, rid, p });
    return this.answer(rid, timeoutMs);
  }

  /** Resolves how the connection ended; rejects after timeoutMs. */
  endedWithin(timeoutMs = 10_000, what = 'the server to close the connection'): Promise<Ended> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.kind}: timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    });
    return Promise.race([this.ended, late]).finally(() => clearTimeout(timer));
  }

  /** hello then login; rejects unless both succeed. */
  async logIn(account: string, password: string, deviceId: string, type = 'desktop'): Promise<Frame> {
    const h = await this.request('hello', { v: 1, client: 'raw-test' });
    if (h.t !== 'result') throw new Error(`hello refused: ${JSON.stringify(h)}`);
    const l = await this.request('login', { account, password, device: { id: deviceId, type } });
    if (l.t !== 'result') throw new Error(`login refused: ${JSON.stringify(l)}`);
    return l;
  }
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

export class RawWs extends RawClient {
  readonly kind = 'wss' as const;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.received(isBinary ? `<binary ${buf.length}>` : buf.toString('utf8'));
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => this.finish({ code, reason: reason.toString('utf8'), bye: null }));
  }

  static open(url: string, ca: string): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca, perMessageDeflate: false, handshakeTimeout: 10_000 });
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new RawWs(ws));
      });
      ws.once('error', reject);
    });
  }

  /** The TLS socket under the WebSocket (a private field of the ws library). */
  get socket(): tls.TLSSocket {
    return (this.ws as unknown as { _socket: tls.TLSSocket })._socket;
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendTexts(texts: string[]): void {
    const s = this.socket;
    s.cork();
    for (const x of texts) this.ws.send(x);
    s.uncork();
  }

  sendBinary(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }

  /**
   * Writes one masked WebSocket text frame carrying exactly these payload bytes,
   * straight to the socket: the ws library itself refuses to send invalid UTF-8.
   */
  sendRawTextFrame(payload: Buffer): void {
    if (payload.length > 125) throw new Error('sendRawTextFrame: payloads up to 125 bytes only');
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
    this.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }
}

export class RawTcp extends RawClient {
  readonly kind = 'tcp' as const;
  private readonly decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  private lastBye: { code: string; message: string } | null = null;

  private constructor(readonly socket: tls.TLSSocket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.decoder.push(chunk)) {
        this.received(body.toString('utf8'));
        const f = this.frames[this.frames.length - 1];
        if (f?.t === 'bye') this.lastBye = { code: String(f.p?.code), message: String(f.p?.message) };
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    socket.on('close', () => this.finish({ code: null, reason: '', bye: this.lastBye }));
  }

  static open(url: string, ca: string): Promise<RawTcp> {
    const { host, port } = hostPort(url);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host, port, ca });
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawTcp(socket));
      });
      socket.once('error', reject);
    });
  }

  sendText(text: string): void {
    this.socket.write(encodeFrame(text, Number.MAX_SAFE_INTEGER));
  }

  sendTexts(texts: string[]): void {
    this.socket.write(Buffer.concat(texts.map((x) => encodeFrame(x, Number.MAX_SAFE_INTEGER))));
  }

  /** One length-prefixed frame with these exact body bytes. */
  sendFrameBytes(body: Buffer): void {
    this.socket.write(encodeFrame(body, Number.MAX_SAFE_INTEGER));
  }

  /** Bytes as given, no framing (e.g. a lone length header). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function openRaw(kind: TransportKind, urls: { wss: string; tcp: string }, ca: string): Promise<RawClient> {
  return kind === 'wss' ? RawWs.open(urls.wss, ca) : RawTcp.open(urls.tcp, ca);
}

/** The error code a connection was ended with: the WS close reason, or the TCP bye code. */
export function endCode(e: Ended): string | null {
  return e.bye?.code ?? (e.reason || null);
}
