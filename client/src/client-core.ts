import { randomUUID } from 'node:crypto';
import {
  ClientFrame,
  MAX_FRAME_BYTES,
  MAX_SYNC_PAGE,
  ServerFrame,
  type AuthOk,
  type DeviceCommand,
  type MessageView,
  type PushFrame,
  type RequestPayload,
  type ResultPayload,
  type UserId,
} from '../../gateway/src/protocol/client-v1.js';
import { backoffDelayMs } from './backoff.js';
import type { ConnectionState, HuitongClientEvents, HuitongClientOptions, RequestOptions } from './client-types.js';
import { Connection } from './connection.js';
import { TypedEmitter } from './emitter.js';
import { ClientError, FATAL_HANDSHAKE_CODES, NO_RECONNECT_CODES, toClientError } from './errors.js';
import { performHandshake } from './handshake.js';
import { SeqOrderer } from './ordering.js';
import { Outbox, type SendAck } from './outbox.js';
import { MemoryStore, type ClientStore, type OutboxEntry, type StoredSession } from './store.js';
import { openTransport, TlsSessionCache, type TransportCloseInfo, type TransportFactory } from './transport.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_MIN_DELAY_MS = 500;
const DEFAULT_MAX_DELAY_MS = 30_000;
const SYNC_RETRY_MS = 1_000;

/**
 * The connection lifecycle behind HuitongClient: connect, hello, resume or
 * login, catch up, heartbeat, reconnect with backoff, and stop for good on the
 * codes that forbid reconnecting. The public request methods live in the subclass.
 */
export abstract class ClientCore extends TypedEmitter<HuitongClientEvents> {
  protected readonly opts: HuitongClientOptions;
  protected readonly store: ClientStore;
  protected readonly orderer: SeqOrderer;
  protected readonly outbox: Outbox;
  protected readonly presenceIds = new Set<UserId>();
  protected credentials: { account: string; password: string } | null;
  protected explicitToken: string | null;
  protected forceLogin = false;
  protected running = false;
  protected maxFrameBytes: number;
  protected authOk: AuthOk | null = null;
  private readonly openTransport: TransportFactory;
  private session: StoredSession | null = null;
  private deviceId: string | null = null;
  private initialised = false;
  private stateValue: ConnectionState = 'stopped';
  private conn: Connection | null = null;
  private authed = false;
  private paused = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private syncRetryTimer: NodeJS.Timeout | null = null;
  private readonly writes = new Set<Promise<unknown>>();

  constructor(options: HuitongClientOptions) {
    super();
    this.opts = { tlsSessions: new TlsSessionCache(), ...options };
    this.store = options.store ?? new MemoryStore();
    this.openTransport = options.transportFactory ?? openTransport;
    this.credentials = options.credentials ? { ...options.credentials } : null;
    this.explicitToken = options.token ?? null;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.orderer = new SeqOrderer(options.lastSeq ?? 0, {
      fetch: (after) => this.request(ClientFrame.Sync, { after, limit: MAX_SYNC_PAGE }),
      deliver: (m) => this.emit('message', m),
      advanced: (seq) => this.track(this.store.setLastSeq(seq)),
      syncFailed: (err) => this.onSyncFailed(err),
    });
    this.outbox = new Outbox(this.store, {
      sent: (cmid, ack, entry) => {
        this.emit('sent', { cmid, ack });
        this.ownMessage(entry, ack);
      },
      failed: (cmid, error) => this.emit('sendFailed', { cmid, error }),
      persistFailed: (err) => this.emit('warning', toClientError(err, 'CLIENT_STORE_FAILED')),
    });
  }

  /**
   * The server does not push a message back to the device that sent it: the
   * ack carries its inbox seq, and the message goes into the ordered stream here.
   */
  private ownMessage(entry: OutboxEntry, ack: SendAck): void {
    const me = this.authOk?.user;
    if (this.opts.receive === false || !me || !(ack.seq > 0)) return;
    this.orderer.push({
      id: ack.id, seq: ack.seq, cmid: entry.cmid, from: me.id, fromAccount: me.account, to: entry.to, kind: entry.kind,
      // the ack names what the server stored when it differs from what was sent
      body: ack.body ?? entry.body, ts: ack.ts, origin: 'client', ...((ack.mentions ?? entry.mentions) ? { mentions: ack.mentions ?? entry.mentions } : {}),
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Connects and authenticates once. Rejects (and stays stopped) if that first attempt fails. */
  async connect(): Promise<AuthOk> {
    if (this.running) throw new ClientError('CLIENT_ALREADY_RUNNING');
    this.running = true;
    this.attempt = 0;
    try {
      await this.init();
      return await this.establish();
    } catch (err) {
      const e = toClientError(err, 'CLIENT_UNREACHABLE');
      await this.applyFatal(e.code);
      this.stop(e.code, e.message);
      throw e;
    }
  }

  /** Closes the connection and stops reconnecting. Unacknowledged sends stay in the store for the next run. */
  async close(): Promise<void> {
    const conn = this.conn;
    this.stop(null, 'Closed by the application.');
    if (conn) await conn.done;
    await this.settleWrites();
  }

  /** Sends a typed request on the authenticated connection. */
  request<T extends ClientFrame>(t: T, p: RequestPayload[T], opts: RequestOptions = {}): Promise<ResultPayload[T]> {
    const conn = this.authed ? this.conn : null;
    if (!conn) return Promise.reject(new ClientError(this.running ? 'CLIENT_OFFLINE' : 'CLIENT_STOPPED'));
    return conn.request(t, p, opts.timeoutMs ?? this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /** Stops 'message' events at once, even mid-page; later messages wait (in the server inbox) until resumeMessages(). */
  pauseMessages(): void {
    this.paused = true;
    this.orderer.hold();
  }

  resumeMessages(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.conn && this.authed) this.startSync(this.conn);
  }

  protected forgetSession(): void {
    this.session = null;
    this.explicitToken = null;
    this.track(this.store.setSession(null));
  }

  private async init(): Promise<void> {
    if (this.initialised) return;
    try {
      const [session, storedSeq, storedDevice] = await Promise.all([
        this.store.getSession(),
        this.store.getLastSeq(),
        this.store.getDeviceId(),
      ]);
      this.session = session;
      if (this.opts.lastSeq === undefined && storedSeq > this.orderer.lastSeq) this.orderer.reset(storedSeq);
      await this.outbox.load();
      this.deviceId = this.opts.device?.id ?? storedDevice;
      if (!this.deviceId) {
        this.deviceId = `${this.opts.device?.type ?? 'desktop'}-${randomUUID()}`;
        await this.store.setDeviceId(this.deviceId);
      }
    } catch (err) {
      throw toClientError(err, 'CLIENT_STORE_FAILED');
    }
    this.initialised = true;
  }

  /** One connection attempt: transport, handshake, online. A refused token is followed by one login when credentials exist. */
  private async establish(): Promise<AuthOk> {
    let loginOnly = this.forceLogin;
    for (;;) {
      this.setState('connecting');
      const transport = await this.openTransport(this.opts.url, this.opts);
      if (!this.running) {
        transport.close();
        throw new ClientError('CLIENT_CLOSED');
      }
      const conn: Connection = new Connection(
        transport,
        {
          requestTimeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
          ...(this.opts.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs } : {}),
        },
        { push: (f) => this.onPush(conn, f), closed: (info) => this.onConnectionClosed(conn, info) },
      );
      this.conn = conn;
      this.authed = false;
      try {
        const { hello, auth } = await performHandshake(conn, {
          clientName: this.opts.clientName ?? 'huitong-client',
          token: loginOnly ? null : this.currentToken(),
          credentials: this.credentials,
          device: { ...this.opts.device, id: this.deviceId as string, type: this.opts.device?.type ?? 'desktop' },
        });
        if (!this.running || this.conn !== conn) throw new ClientError('CLIENT_CLOSED');
        this.maxFrameBytes = Math.min(this.opts.maxFrameBytes ?? MAX_FRAME_BYTES, hello.maxFrameBytes || MAX_FRAME_BYTES);
        this.goOnline(conn, auth, this.opts.heartbeatIntervalMs ?? (hello.heartbeatIntervalMs || auth.limits.heartbeatIntervalMs));
        return auth;
      } catch (err) {
        if (this.conn === conn) this.conn = null;
        conn.close();
        const e = toClientError(err);
        if (e.code === 'GW_TOKEN_INVALID' && !loginOnly) {
          this.forgetSession();
          if (this.credentials) {
            loginOnly = true;
            continue;
          }
        }
        throw e;
      }
    }
  }

  private currentToken(): string | null {
    if (this.explicitToken) return this.explicitToken;
    const s = this.session;
    if (!s || s.deviceId !== this.deviceId) return null;
    if (this.credentials && s.account.toLowerCase() !== this.credentials.account.toLowerCase()) return null;
    return s.token;
  }

  private goOnline(conn: Connection, auth: AuthOk, heartbeatIntervalMs: number): void {
    const previous = this.session;
    if (previous && previous.userId !== auth.user.id) {
      // The store held another user's state: their cursor and unsent messages do not apply.
      this.orderer.reset(0);
      this.track(this.store.setLastSeq(0));
      this.outbox.discardRestored();
    } else if (auth.lastSeq < this.orderer.lastSeq) {
      // The server's inbox is behind our cursor (restored from a backup): follow the server.
      this.orderer.reset(auth.lastSeq);
      this.track(this.store.setLastSeq(auth.lastSeq));
    }
    this.session = { token: auth.token, userId: auth.user.id, account: auth.user.account, deviceId: auth.deviceId };
    this.explicitToken = null;
    this.track(this.store.setSession(this.session));
    this.authed = true;
    this.authOk = auth;
    this.forceLogin = false;
    this.attempt = 0;
    conn.startHeartbeat(heartbeatIntervalMs);
    this.setState('online');
    this.startSync(conn);
    this.outbox.attach(conn);
    if (this.presenceIds.size > 0) {
      this.request(ClientFrame.PresenceSubscribe, { userIds: [...this.presenceIds] }).then(
        (r) => this.emit('presence', r),
        (err: unknown) => this.emit('warning', toClientError(err)),
      );
    }
  }

  private startSync(conn: Connection): void {
    if (this.paused || this.opts.receive === false) return;
    this.orderer.sync().catch((err: unknown) => {
      if (this.conn === conn) this.onSyncFailed(err);
    });
  }

  private onSyncFailed(err: unknown): void {
    const conn = this.conn;
    if (!conn || !this.authed || !conn.isOpen) return;
    const e = toClientError(err);
    this.emit('warning', e);
    if (this.syncRetryTimer) clearTimeout(this.syncRetryTimer);
    this.syncRetryTimer = setTimeout(() => {
      this.syncRetryTimer = null;
      if (this.conn === conn && this.authed) this.startSync(conn);
    }, e.retryAfterMs ?? SYNC_RETRY_MS);
  }

  private onPush(conn: Connection, frame: PushFrame): void {
    if (conn !== this.conn) return;
    const p = frame.p as never;
    if (frame.t === ServerFrame.Message) {
      const m = frame.p as MessageView;
      if (this.opts.receive !== false && Number.isSafeInteger(m?.seq)) this.orderer.push(m);
    } else if (frame.t === ServerFrame.Receipt) this.emit('receipt', p);
    else if (frame.t === ServerFrame.Presence) this.emit('presence', p);
    else if (frame.t === ServerFrame.DirChanged) this.emit('dirChanged', p);
    else if (frame.t === ServerFrame.AppsChanged) this.emit('appsChanged', p);
    else if (frame.t === ServerFrame.WorkbenchChanged) this.emit('workbenchChanged', p);
    else if (frame.t === ServerFrame.Command) this.onCommand(conn, p);
  }

  private onCommand(conn: Connection, cmd: DeviceCommand): void {
    this.emit('command', cmd);
    // Not tracked as a write: wipeLocal() itself waits for the tracked writes.
    void (async () => {
      if (cmd.kind === 'wipe') await this.wipeLocal();
      else if (cmd.kind === 'force_offline') this.forgetSession();
      await conn.request(ClientFrame.CommandAck, { id: cmd.id }).catch(() => undefined);
    })();
  }

  private onConnectionClosed(conn: Connection, info: TransportCloseInfo): void {
    if (conn !== this.conn) return;
    const wasAuthed = this.authed;
    this.conn = null;
    this.authed = false;
    this.orderer.hold();
    this.outbox.detach();
    if (this.syncRetryTimer) clearTimeout(this.syncRetryTimer);
    this.syncRetryTimer = null;
    // During the handshake the pending request fails and establish() decides.
    if (!wasAuthed || !this.running) return;
    void this.afterLoss(info);
  }

  private async afterLoss(info: TransportCloseInfo): Promise<void> {
    const { code } = info;
    // Some closes carry only the code as their reason; the registry's meaning reads better.
    const reason = info.reason && info.reason !== code ? info.reason : code ? new ClientError(code).message : 'The connection was lost.';
    if (code && NO_RECONNECT_CODES.has(code)) {
      if (code === 'GW_TOKEN_INVALID' && this.credentials && this.opts.reconnect !== false) {
        this.forgetSession();
        this.forceLogin = true;
        this.emit('closed', { code, reason, willReconnect: true });
        this.setState('offline');
        this.scheduleReconnect(0);
        return;
      }
      await this.applyFatal(code);
      this.stop(code, reason);
      return;
    }
    if (this.opts.reconnect === false) {
      this.stop(code ?? 'CLIENT_DISCONNECTED', reason);
      return;
    }
    this.emit('closed', { code, reason, willReconnect: true });
    this.setState('offline');
    this.scheduleReconnect();
  }

  private scheduleReconnect(delayMs?: number): void {
    if (!this.running) return;
    const backoff = backoffDelayMs(
      this.attempt++,
      this.opts.minDelayMs ?? DEFAULT_MIN_DELAY_MS,
      this.opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, delayMs ?? backoff);
  }

  private async reconnect(): Promise<void> {
    if (!this.running) return;
    try {
      await this.establish();
    } catch (err) {
      if (!this.running) return;
      const e = toClientError(err);
      if (FATAL_HANDSHAKE_CODES.has(e.code)) {
        await this.applyFatal(e.code);
        this.stop(e.code, e.message);
        return;
      }
      this.emit('warning', e);
      this.setState('offline');
      this.scheduleReconnect(e.retryAfterMs);
    }
  }

  /** Local consequences of a code that ends the session for good. */
  private async applyFatal(code: string): Promise<void> {
    if (code === 'GW_DEVICE_WIPED') await this.wipeLocal();
    else if (code === 'GW_FORCED_OFFLINE' || code === 'GW_TOKEN_INVALID') this.forgetSession();
  }

  private stop(code: string | null, reason: string): void {
    if (!this.running) return;
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.syncRetryTimer) clearTimeout(this.syncRetryTimer);
    this.reconnectTimer = this.syncRetryTimer = null;
    this.orderer.hold();
    this.outbox.detach();
    const conn = this.conn;
    this.conn = null;
    this.authed = false;
    conn?.close();
    this.outbox.rejectWaiters(new ClientError(code ?? 'CLIENT_CLOSED', reason));
    this.emit('closed', { code, reason, willReconnect: false });
    this.setState('stopped');
  }

  private async wipeLocal(): Promise<void> {
    this.orderer.reset(0);
    this.outbox.clear(new ClientError('GW_DEVICE_WIPED'));
    this.session = null;
    this.explicitToken = null;
    this.credentials = null;
    this.presenceIds.clear();
    this.initialised = false;
    await this.settleWrites();
    try {
      await this.store.wipe();
    } catch (err) {
      this.emit('warning', toClientError(err, 'CLIENT_STORE_FAILED'));
    }
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.emit('warning', toClientError(err, 'CLIENT_STORE_FAILED')));
    this.writes.add(tracked);
    void tracked.finally(() => this.writes.delete(tracked));
  }

  private async settleWrites(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    await this.outbox.flushed();
  }
}
