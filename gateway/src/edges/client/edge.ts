import type net from 'node:net';
import type { WebSocket } from 'ws';
import { ERRORS, type ErrorCode } from '../../errors/registry.js';
import { HANDSHAKE_TIMEOUT_MS, HEARTBEAT_TIMEOUT_MS } from '../../protocol/client-v1.js';
import { ClientConnection, type FrameTransport } from './connection.js';
import type { ClientEdgeDeps, EdgeMetrics } from './deps.js';
import { attachTcpConnection } from './tcp.js';

const SWEEP_INTERVAL_MS = 5000;

/**
 * The client edge: owns every client connection whatever its transport,
 * enforces the connection cap, and sweeps for handshake and heartbeat
 * timeouts with one timer (not one per connection).
 */
export class ClientEdge {
  readonly connections = new Set<ClientConnection>();
  readonly metrics: EdgeMetrics = { slowConsumers: 0, rateLimited: 0, badFrames: 0, heartbeatTimeouts: 0, refusedConnections: 0 };
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly deps: ClientEdgeDeps;

  constructor(deps: Omit<ClientEdgeDeps, 'metrics' | 'onClosed'>) {
    this.deps = { ...deps, metrics: this.metrics, onClosed: (c) => this.closed(c) };
  }

  start(): void {
    this.stopped = false;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private closed(c: ClientConnection): void {
    this.connections.delete(c);
    this.deps.sessions.remove(c);
  }

  private register = (c: ClientConnection): boolean => {
    // shutting down: a client that reconnects at once (its listener is still open until the
    // rest of the gateway has stopped) is told so, or it would keep the listener from closing
    if (this.stopped) {
      c.end('GW_SERVER_SHUTDOWN');
      return false;
    }
    if (this.connections.size >= this.deps.limits.maxConnections) {
      this.metrics.refusedConnections += 1;
      c.end('GW_RATE_LIMITED', 'the server holds its maximum number of connections');
      return false;
    }
    this.connections.add(c);
    return true;
  };

  sweep(now = Date.now()): void {
    for (const c of this.connections) {
      if (c.handshaking && now - c.openedAt > HANDSHAKE_TIMEOUT_MS) c.end('GW_HANDSHAKE_TIMEOUT');
      else if (now - c.lastSeenAt > HEARTBEAT_TIMEOUT_MS) {
        this.metrics.heartbeatTimeouts += 1;
        c.end('GW_HEARTBEAT_TIMEOUT');
      }
    }
  }

  acceptTcp = (socket: net.Socket): void => {
    attachTcpConnection(socket, this.deps, this.register);
  };

  acceptWebSocket(ws: WebSocket, address: string | null): void {
    let closing = false;
    const socket = (ws as unknown as { _socket: net.Socket | null })._socket;
    const uncork = () => socket?.uncork();
    const transport: FrameTransport = {
      address,
      send: (json) => {
        if (closing || ws.readyState !== ws.OPEN) return false;
        // frames written in one turn of the event loop leave in one TLS write
        if (socket && socket.writableCorked === 0) {
          socket.cork();
          process.nextTick(uncork);
        }
        ws.send(json);
        return true;
      },
      bufferedBytes: () => ws.bufferedAmount,
      close: (code: ErrorCode | 'OK', message: string) => {
        if (closing) return;
        closing = true;
        const wsCode = code === 'OK' ? 1000 : (ERRORS[code].close ?? 1000);
        // the reason carries the stable code; the meaning is in docs/errors.md
        ws.close(wsCode, code === 'OK' ? message.slice(0, 120) : code);
        // a slow consumer's close frame waits behind its unread data: give it a moment, then drop the socket
        setTimeout(() => ws.terminate(), code === 'GW_SLOW_CONSUMER' ? 500 : 2000).unref();
      },
    };
    const conn = new ClientConnection(transport, this.deps);
    if (!this.register(conn)) return;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.metrics.badFrames += 1;
        conn.end('GW_BAD_FRAME', 'frames are JSON text');
        return;
      }
      conn.onFrame(data.toString());
    });
    ws.on('error', () => conn.transportClosed());
    ws.on('close', () => conn.transportClosed());
  }

  /** Closes every connection with GW_SERVER_SHUTDOWN (clients reconnect and resume elsewhere or later). */
  stop(): void {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of [...this.connections]) c.end('GW_SERVER_SHUTDOWN');
  }
}
