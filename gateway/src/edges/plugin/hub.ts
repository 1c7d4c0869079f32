import { GatewayError } from '../../errors/gateway-error.js';
import type { Logger } from '../../log.js';
import {
  PayloadDispatcher,
  PluginSession,
  type IdempotentHandler,
  type PluginLink,
  type SessionTimers,
  type TransactionalHandler,
} from '../../protocol/plugin-session.js';
import {
  negotiateVersion,
  MAX_PAYLOAD_TYPE_CHARS,
  PAYLOAD_TYPE_RE,
  PLUGIN_HEARTBEAT_INTERVAL_MS,
  PLUGIN_IDLE_TIMEOUT_MS,
  PLUGIN_MAX_FRAME_BYTES,
  PLUGIN_MAX_UNACKED,
  PLUGIN_SUPPORTED_VERSIONS,
  PluginFrameType,
  PluginProtocolError,
  type HelloFrame,
  type PluginCloseCode,
  type PluginFrame,
  type WelcomeFrame,
} from '../../protocol/plugin-v1.js';
import type { Db } from '../../storage/sqlite.js';
import { SqlitePluginStore } from './store.js';

/** The state of the RTX link, as /healthz-style status and the console show it. */
export type PluginLinkState = 'DISABLED' | 'WAITING' | 'CONNECTED';

export interface PluginHubStatus {
  state: PluginLinkState;
  /** The adapter connected now, or the one bound last. */
  adapter: { id: string; name: string; software: string; address: string | null; connectedAt: number | null } | null;
  /** Last frame from the adapter (ms since the epoch), or null. */
  lastSeenAt: number | null;
  /** Frames for the adapter: last seq, highest acknowledged, and how many wait (the lag). */
  outbound: { lastSeq: number; ackedSeq: number; backlog: number };
  /** Frames from the adapter: highest processed, received but not yet processed. */
  inbound: { highWater: number; pending: number };
  /** Since start: frames (re-)sent after an attach, duplicates dropped, connections accepted, payloads nobody handles. */
  counters: { resent: number; duplicatesDropped: number; links: number; unhandled: number };
}

/** Why a hello was refused. */
export interface Refusal {
  code: PluginCloseCode;
  message: string;
  retryAfterMs?: number;
  supported?: number[];
}

export interface PluginHubOptions {
  db: Db;
  log: Logger;
  /** Gateway version, sent in welcome. */
  version: string;
  /** False when plugin.enabled is off: the hub still queues, nothing connects. */
  enabled?: boolean;
  timers?: SessionTimers;
  /** Tests: shorter heartbeats and a smaller window. */
  link?: { heartbeatIntervalMs?: number; idleTimeoutMs?: number; maxUnacked?: number };
}

/** How long an adapter with another id is told to wait while one is connected. */
const BUSY_RETRY_MS = 30_000;

interface Current {
  link: PluginLink;
  adapterId: string;
  name: string;
  software: string;
  address: string | null;
  connectedAt: number;
}

/**
 * The gateway's end of the plugin channel, as services see it (docs/protocol/plugin-v1.md):
 * - `send(type, body)` queues a payload for the RTX side; it resolves once
 *   the payload is durable in the outbox, and payloads reach the adapter
 *   exactly once, in the order of the calls, whenever it is connected;
 * - `on(type, handler)` / `onIdempotent(type, handler)` handle payloads from
 *   the adapter, each exactly once and in the adapter's order (see
 *   PayloadDispatcher for what each kind of handler must do);
 * - `status()` for /healthz-style reporting and the console.
 * The plugin edge (server.ts) feeds it connections; there is one adapter at a time.
 */
export class PluginHub {
  readonly store: SqlitePluginStore;
  private readonly dispatcher: PayloadDispatcher;
  private readonly session: PluginSession;
  private readonly log: Logger;
  private current: Current | null = null;
  private handshakes: Promise<unknown> = Promise.resolve();
  private unhandled = 0;
  private closed = false;
  private readonly linkListeners = new Set<(connected: boolean) => void>();

  constructor(private readonly opts: PluginHubOptions) {
    this.log = opts.log;
    this.store = new SqlitePluginStore(opts.db);
    this.dispatcher = new PayloadDispatcher(this.store, (ctx) => {
      this.unhandled += 1;
      this.log.warn({ type: ctx.type, seq: ctx.seq, adapterId: ctx.stream }, 'plugin payload of a type nobody handles: skipped');
    });
    this.session = new PluginSession({
      outbox: this.store,
      inbox: this.dispatcher,
      ...(opts.timers ? { timers: opts.timers } : {}),
      onWarning: (message, err) => this.log.warn({ err }, `plugin channel: ${message}`),
    });
  }

  /** Reads the stream state (for status before the first connection). */
  async start(): Promise<void> {
    await this.session.load();
  }

  // ---- service-facing ----

  /**
   * Queues a payload for the adapter. Resolves its seq once durable; order
   * is the order of the calls. Throws GW_BAD_REQUEST for a malformed type,
   * GW_FRAME_TOO_LARGE for a body over the frame limit, GW_SERVER_SHUTDOWN
   * once closed.
   */
  async send(type: string, body: unknown): Promise<number> {
    try {
      return await this.session.send(type, body);
    } catch (e) {
      if (e instanceof PluginProtocolError) {
        throw new GatewayError(e.code === 'GW_FRAME_TOO_LARGE' ? 'GW_FRAME_TOO_LARGE' : e.code === 'GW_SERVER_SHUTDOWN' ? 'GW_SERVER_SHUTDOWN' : 'GW_BAD_REQUEST', e.message);
      }
      throw e;
    }
  }

  /**
   * Runs `fn` in one SQLite transaction of the gateway database in which
   * `queue(type, body)` appends payloads to the outbox: they are durable, and
   * sent, exactly when the caller's own writes in `fn` commit (e.g. a relay
   * cursor). Synchronous; a throw from `fn` rolls everything back. Throws
   * GW_SERVER_SHUTDOWN once closed, GW_BAD_REQUEST / GW_FRAME_TOO_LARGE like send().
   */
  sendInTransaction<T>(fn: (queue: (type: string, body: unknown) => void) => T): T {
    if (this.closed) throw new GatewayError('GW_SERVER_SHUTDOWN', 'the plugin channel is closed');
    let last = 0;
    const result = this.store.transaction(() => {
      const items: { type: string; bodyJson: string }[] = [];
      const out = fn((type, body) => {
        if (typeof type !== 'string' || type.length > MAX_PAYLOAD_TYPE_CHARS || !PAYLOAD_TYPE_RE.test(type)) throw new GatewayError('GW_BAD_REQUEST', `not a payload type: ${String(type).slice(0, 40)}`);
        const bodyJson = JSON.stringify(body === undefined ? null : body);
        if (Buffer.byteLength(bodyJson) + Buffer.byteLength(type) + 64 > PLUGIN_MAX_FRAME_BYTES) throw new GatewayError('GW_FRAME_TOO_LARGE', `payload ${type} exceeds the frame limit`);
        items.push({ type, bodyJson });
      });
      if (items.length > 0) last = this.store.append(items).at(-1) ?? 0;
      return out;
    });
    if (last > 0) this.session.noteAppended(last);
    return result;
  }

  /** Calls `listener(true)` when an adapter's link is attached and `listener(false)` when it ends. Returns an unsubscribe function. */
  onLinkChange(listener: (connected: boolean) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  private linkChanged(connected: boolean): void {
    for (const l of this.linkListeners) {
      try {
        l(connected);
      } catch (e) {
        this.log.warn({ err: e }, 'plugin link listener failed');
      }
    }
  }

  /** Handles payloads of `type` inside the transaction that marks them processed (synchronous writes to the gateway database only). */
  on(type: string, handler: TransactionalHandler): void {
    this.dispatcher.on(type, handler);
  }

  /** Handles payloads of `type` with an asynchronous effect that is idempotent by `ctx.key`. */
  onIdempotent(type: string, handler: IdempotentHandler): void {
    this.dispatcher.onIdempotent(type, handler);
  }

  status(): PluginHubStatus {
    const s = this.session.status();
    const c = this.current;
    const row = c ? this.store.row(c.adapterId) : this.store.bound();
    const adapter = c
      ? { id: c.adapterId, name: c.name, software: c.software, address: c.address, connectedAt: c.connectedAt }
      : row && row.adapterId !== ''
        ? { id: row.adapterId, name: row.name, software: row.software, address: null, connectedAt: null }
        : null;
    return {
      state: this.opts.enabled === false ? 'DISABLED' : c ? 'CONNECTED' : 'WAITING',
      adapter,
      lastSeenAt: s.lastSeenAt ?? row?.lastSeenAt ?? null,
      outbound: { lastSeq: s.lastSeq, ackedSeq: s.ackedSeq, backlog: s.backlog },
      inbound: { highWater: s.highWater, pending: s.pending },
      counters: { resent: s.resent, duplicatesDropped: s.duplicatesDropped, links: s.links, unhandled: this.unhandled },
    };
  }

  // ---- edge-facing ----

  /**
   * Admits an authenticated hello (the code was checked by the edge): picks
   * the version, applies the one-adapter policy (the same id replaces its
   * older connection; another id is refused while one is connected), binds
   * the stream, writes welcome through `link`, then re-sends what the adapter
   * has not processed. Handshakes run one at a time. Resolves a Refusal, or
   * null once the link is attached.
   */
  accept(hello: HelloFrame, link: PluginLink, address: string | null): Promise<Refusal | null> {
    const run = this.handshakes.then(() => this.admit(hello, link, address));
    this.handshakes = run.catch(() => undefined);
    return run;
  }

  private async admit(hello: HelloFrame, link: PluginLink, address: string | null): Promise<Refusal | null> {
    if (this.closed) return { code: 'GW_SERVER_SHUTDOWN', message: 'the gateway is shutting down' };
    const v = negotiateVersion(hello.versions);
    if (v === null) {
      return { code: 'GW_VERSION_UNSUPPORTED', message: `this gateway speaks plugin protocol ${PLUGIN_SUPPORTED_VERSIONS.join(', ')}`, supported: [...PLUGIN_SUPPORTED_VERSIONS] };
    }
    const cur = this.current;
    if (cur && cur.adapterId !== hello.adapterId) {
      return { code: 'GW_PLUGIN_BUSY', message: `another adapter (${cur.adapterId}) is connected; only one adapter may be connected at a time`, retryAfterMs: BUSY_RETRY_MS };
    }
    if (cur) {
      this.log.warn({ adapterId: cur.adapterId, old: cur.address, new: address }, 'plugin adapter connected again: the older connection is replaced');
      this.drop(cur.link, 'GW_PLUGIN_REPLACED', 'the same adapter connected again; this older connection was closed');
    }
    // frames of an earlier link still being processed belong to the stream bound now
    await this.session.settledHighWater();
    if (this.store.stream() !== hello.adapterId) {
      await this.session.flush();
      const moved = this.store.bind(hello.adapterId);
      await this.session.load();
      this.log.info({ adapterId: hello.adapterId, moved }, 'plugin stream bound to this adapter');
    }
    this.store.touch(hello.adapterId, { ...(hello.name !== undefined ? { name: hello.name } : {}), ...(hello.software !== undefined ? { software: hello.software } : {}) });
    const params = {
      heartbeatIntervalMs: this.opts.link?.heartbeatIntervalMs ?? PLUGIN_HEARTBEAT_INTERVAL_MS,
      idleTimeoutMs: this.opts.link?.idleTimeoutMs ?? PLUGIN_IDLE_TIMEOUT_MS,
      maxUnacked: this.opts.link?.maxUnacked ?? PLUGIN_MAX_UNACKED,
    };
    const welcome: WelcomeFrame = {
      t: PluginFrameType.Welcome,
      v,
      recvSeq: await this.session.settledHighWater(),
      ...params,
      maxFrameBytes: PLUGIN_MAX_FRAME_BYTES,
      server: this.opts.version,
    };
    if (!link.write(JSON.stringify(welcome))) return null;
    this.current = { link, adapterId: hello.adapterId, name: hello.name ?? '', software: hello.software ?? '', address, connectedAt: Date.now() };
    this.log.info({ adapterId: hello.adapterId, address, recvSeq: welcome.recvSeq, peerRecvSeq: hello.recvSeq }, 'plugin adapter connected');
    await this.session.attach(link, { peerRecvSeq: hello.recvSeq, ...params });
    if (this.current?.link === link) this.linkChanged(true);
    return null;
  }

  /** A frame of an accepted link (data, ack, ping). */
  onFrame(link: PluginLink, frame: PluginFrame): void {
    this.session.onFrame(link, frame);
  }

  /** The link's connection ended. */
  linkClosed(link: PluginLink): void {
    this.session.detach(link);
    if (this.current?.link === link) {
      this.log.info({ adapterId: this.current.adapterId }, 'plugin adapter disconnected');
      this.current = null;
      this.linkChanged(false);
    }
  }

  /** Closes the adapter's connection, if any (e.g. GW_PLUGIN_CODE_CHANGED after the code was regenerated). */
  disconnect(code: PluginCloseCode, message: string): void {
    if (this.current) this.drop(this.current.link, code, message);
  }

  private drop(link: PluginLink, code: PluginCloseCode, message: string): void {
    this.session.detach(link);
    if (this.current?.link === link) {
      this.current = null;
      this.linkChanged(false);
    }
    link.close(code, message);
  }

  /** Stores queued sends, finishes inbound processing, closes the adapter's connection (GW_SERVER_SHUTDOWN). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handshakes;
    this.current = null;
    await this.session.close('GW_SERVER_SHUTDOWN', 'the gateway is shutting down');
  }
}
