import tls from 'node:tls';
import net from 'node:net';
import type { ErrorCode } from '../../errors/registry.js';
import { BadFrameError, FrameDecoder, FrameTooLargeError, encodeFrame } from '../../protocol/framing.js';
import { MAX_FRAME_BYTES } from '../../protocol/client-v1.js';
import { ClientConnection, type FrameTransport } from './connection.js';
import type { ClientEdgeDeps } from './deps.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Wraps one TLS (or, in tests, plain) TCP socket: length-prefixed frames, a `bye` frame before closing. */
export function attachTcpConnection(socket: net.Socket, deps: ClientEdgeDeps, register: (c: ClientConnection) => boolean): void {
  socket.setNoDelay(true);
  let closed = false;
  const uncork = () => socket.uncork();
  const transport: FrameTransport = {
    address: socket.remoteAddress ?? null,
    send(json) {
      if (closed || !socket.writable) return false;
      // frames written in one turn of the event loop leave in one TLS write
      if (socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(encodeFrame(json, Number.MAX_SAFE_INTEGER));
      return true;
    },
    bufferedBytes: () => socket.writableLength,
    close(code: ErrorCode | 'OK', message: string) {
      if (closed) return;
      closed = true;
      socket.end(encodeFrame(JSON.stringify({ t: 'bye', p: { code, message } }), Number.MAX_SAFE_INTEGER));
      // a slow consumer's bye waits behind its unread data: give it a moment, then drop the socket
      setTimeout(() => socket.destroy(), code === 'GW_SLOW_CONSUMER' ? 500 : 2000).unref();
    },
  };
  const conn = new ClientConnection(transport, deps);
  if (!register(conn)) return;
  const decoder = new FrameDecoder(MAX_FRAME_BYTES);
  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = decoder.push(chunk);
    } catch (e) {
      deps.metrics.badFrames += 1;
      if (e instanceof FrameTooLargeError) return conn.end('GW_FRAME_TOO_LARGE', `frames may be at most ${MAX_FRAME_BYTES} bytes`);
      return conn.end('GW_BAD_FRAME');
    }
    for (const f of frames) {
      let text: string;
      try {
        text = strictUtf8.decode(f);
      } catch {
        deps.metrics.badFrames += 1;
        conn.end('GW_BAD_FRAME', new BadFrameError('frame is not valid UTF-8').message);
        return;
      }
      conn.onFrame(text);
      if (conn.isClosed) return;
    }
  });
  socket.on('error', () => conn.transportClosed());
  socket.on('close', () => {
    closed = true;
    conn.transportClosed();
  });
}

export function createTcpServer(opts: { cert: string; key: string } | null, onSocket: (s: net.Socket) => void): net.Server {
  if (!opts) return net.createServer(onSocket);
  const server = tls.createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, onSocket);
  server.on('tlsClientError', () => {
    /* a failed handshake is the client's problem; nothing to log per attempt */
  });
  return server;
}

