import type { BusEvent } from '../../bus/bus.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { ERRORS, type ErrorCode } from '../../errors/registry.js';
import {
  ClientFrame,
  HEARTBEAT_INTERVAL_MS,
  MAX_DIR_PAGE,
  MAX_FRAME_BYTES,
  MAX_PRESENCE_SUBSCRIPTIONS,
  PROTOCOL_VERSION,
  RECALL_WINDOW_MS,
  type AuthOk,
  type ClientType,
  type DeviceCommand,
  type UserId,
} from '../../protocol/client-v1.js';
import type { Session } from '../../sessions/registry.js';
import type { ClientEdgeDeps } from './deps.js';
import { userView } from '../../directory/service.js';
import type { UserRecord } from '../../directory/types.js';
import type { DeviceRecord } from '../../devices/repo.js';

/** The socket side of a connection: WebSocket or length-prefixed TLS TCP. */
export interface FrameTransport {
  readonly address: string | null;
  /** Queues one frame; false when the socket no longer takes data (closing or closed). */
  send(json: string): boolean;
  bufferedBytes(): number;
  /** Sends the close/bye carrying `code` and ends the socket. */
  close(code: ErrorCode | 'OK', message: string): void;
}

type State = 'hello' | 'auth' | 'ready' | 'closed';
const KNOWN = new Set<string>(Object.values(ClientFrame));
/** Malformed frames tolerated before the connection is closed. */
const MAX_BAD_FRAMES = 20;
/** How long a device has to acknowledge a sign-out or wipe before it is disconnected anyway. */
const COMMAND_ACK_WAIT_MS = 2000;

/**
 * One client connection: parses frames, enforces the handshake, rate and
 * queue limits, and calls services. Transport-independent: the WSS and TCP
 * listeners feed it text frames and give it a FrameTransport.
 */
export class ClientConnection implements Session {
  private state: State = 'hello';
  private user: UserRecord | null = null;
  private device: DeviceRecord | null = null;
  private token: string | null = null;
  private badFrames = 0;
  private tokens: number;
  private lastRefill = Date.now();
  lastSeenAt = Date.now();
  readonly openedAt = Date.now();
  since = 0;
  private queue: Promise<void> = Promise.resolve();
  private pendingCommandClose: { code: ErrorCode; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly t: FrameTransport, private readonly deps: ClientEdgeDeps) {
    this.tokens = deps.limits.framesPerSecond * 2;
  }

  get userId(): UserId { return (this.user?.id ?? 0) as UserId; }
  get deviceKey(): string { return this.device?.key ?? ''; }
  get deviceId(): number { return this.device?.id ?? 0; }
  get clientType(): ClientType { return this.device?.type ?? 'cli'; }
  get address(): string | null { return this.t.address; }
  get isReady(): boolean { return this.state === 'ready'; }
  get isClosed(): boolean { return this.state === 'closed'; }
  get handshaking(): boolean { return this.state === 'hello' || this.state === 'auth'; }

  sendRaw(json: string): boolean {
    if (this.state === 'closed') return false;
    if (this.t.bufferedBytes() > this.deps.limits.sendQueueBytes) {
      this.deps.metrics.slowConsumers += 1;
      this.end('GW_SLOW_CONSUMER');
      return false;
    }
    return this.t.send(json);
  }

  private reply(rid: number, p: unknown): void {
    const json = `{"t":"result","rid":${rid},"p":${JSON.stringify(p)}}`;
    // services page their answers to fit; this guard keeps the frame limit a promise either way
    if (Buffer.byteLength(json) > MAX_FRAME_BYTES) {
      this.deps.log.error({ rid, bytes: json.length }, 'result larger than the frame limit');
      return this.fail(rid, new GatewayError('GW_INTERNAL', 'the answer is too large; ask for a smaller page'));
    }
    this.sendRaw(json);
  }

  private fail(rid: number | null, e: GatewayError): void {
    const p: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.retryAfterMs !== undefined) p.retryAfterMs = e.retryAfterMs;
    this.sendRaw(JSON.stringify({ t: 'error', rid, p }));
  }

  end(code: ErrorCode, message?: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.pendingCommandClose) clearTimeout(this.pendingCommandClose.timer);
    this.t.close(code, message ?? ERRORS[code].meaning);
    this.deps.onClosed(this);
  }

  /** The transport is gone (peer closed, error). */
  transportClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.pendingCommandClose) clearTimeout(this.pendingCommandClose.timer);
    this.deps.onClosed(this);
  }

  private allowFrame(): boolean {
    const now = Date.now();
    const rate = this.deps.limits.framesPerSecond;
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** One frame's text, already bounded to MAX_FRAME_BYTES and decoded as UTF-8 by the transport. */
  onFrame(text: string): void {
    if (this.state === 'closed') return;
    this.lastSeenAt = Date.now();
    const allowed = this.allowFrame();
    let f: { t?: unknown; rid?: unknown; p?: unknown };
    try {
      f = JSON.parse(text) as typeof f;
      if (!f || typeof f !== 'object' || Array.isArray(f)) throw new Error('not an object');
    } catch {
      return allowed ? this.badFrame(null, 'the frame is not a JSON object') : this.limited(null);
    }
    const rid = Number.isSafeInteger(f.rid) ? (f.rid as number) : null;
    if (!allowed) return this.limited(rid);
    if (typeof f.t !== 'string') return this.badFrame(rid, 'the frame has no type t');
    if (!KNOWN.has(f.t)) return this.fail(rid, new GatewayError('GW_UNKNOWN_FRAME', `unknown frame type ${f.t.slice(0, 40)}`));
    if (rid === null) return this.badFrame(null, 'the frame has no request id rid');
    const p = f.p === undefined ? {} : f.p;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return this.badFrame(rid, 'p must be an object');
    // requests of one connection are handled in order
    this.queue = this.queue.then(() => this.handle(f.t as ClientFrame, rid, p as Record<string, unknown>)).catch((e: unknown) => this.handleError(rid, e));
  }

  private limited(rid: number | null): void {
    this.deps.metrics.rateLimited += 1;
    // a sustained flood runs the bucket far below zero: then the connection is closed
    this.tokens -= 1;
    if (this.tokens < -this.deps.limits.framesPerSecond) return this.end('GW_RATE_LIMITED');
    this.fail(rid, new GatewayError('GW_RATE_LIMITED', 'too many frames; this one was dropped', { retryAfterMs: 1000 }));
  }

  private badFrame(rid: number | null, message: string): void {
    this.badFrames += 1;
    this.deps.metrics.badFrames += 1;
    this.fail(rid, new GatewayError('GW_BAD_FRAME', message));
    if (this.badFrames >= MAX_BAD_FRAMES) this.end('GW_BAD_FRAME', 'too many malformed frames');
  }

  private handleError(rid: number, e: unknown): void {
    if (e instanceof GatewayError) {
      this.fail(rid, e);
      if (this.handshaking && (e.code === 'GW_USER_BLOCKED' || e.code === 'GW_USER_DISABLED' || e.code === 'GW_USER_UNAUTHORISED')) this.end(e.code);
      return;
    }
    const requestId = `c${this.openedAt.toString(36)}-${rid}`;
    this.deps.log.error({ err: e, requestId }, 'client request failed');
    this.fail(rid, new GatewayError('GW_INTERNAL', `internal error (request ${requestId})`));
  }

  private async handle(t: ClientFrame, rid: number, p: Record<string, unknown>): Promise<void> {
    if (this.state === 'closed') return;
    if (t === ClientFrame.Ping) return this.reply(rid, {});
    if (this.state === 'hello') {
      if (t !== ClientFrame.Hello) return this.refuseBeforeHandshake(rid);
      if (p.v !== PROTOCOL_VERSION) {
        this.fail(rid, new GatewayError('GW_VERSION_UNSUPPORTED', `this server speaks protocol version ${PROTOCOL_VERSION}`));
        return this.end('GW_VERSION_UNSUPPORTED');
      }
      this.state = 'auth';
      return this.reply(rid, { v: PROTOCOL_VERSION, server: `huitong/${this.deps.version}`, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, maxFrameBytes: MAX_FRAME_BYTES });
    }
    if (this.state === 'auth') {
      if (t === ClientFrame.Login) return this.login(rid, p);
      if (t === ClientFrame.Resume) return this.resume(rid, p);
      return this.refuseBeforeHandshake(rid);
    }
    const me = this.user as UserRecord;
    const d = this.deps;
    switch (t) {
      case ClientFrame.Hello:
      case ClientFrame.Login:
      case ClientFrame.Resume:
        throw new GatewayError('GW_BAD_REQUEST', 'already logged in');
      case ClientFrame.Logout:
        if (this.token) await d.auth.logout(this.token);
        this.reply(rid, {});
        return this.end('GW_TOKEN_INVALID', 'logged out');
      case ClientFrame.DirSnapshot: {
        const limit = p.limit === undefined ? 500 : Number(p.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DIR_PAGE) throw new GatewayError('GW_BAD_REQUEST', `limit must be 1–${MAX_DIR_PAGE}`);
        if (p.cursor !== undefined && typeof p.cursor !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'cursor must be a string');
        return this.reply(rid, await d.directory.snapshotPage(me.id, p.cursor as string | undefined, limit));
      }
      case ClientFrame.DirDelta:
        if (!Number.isSafeInteger(p.since)) throw new GatewayError('GW_BAD_REQUEST', 'since must be an integer');
        return this.reply(rid, await d.directory.delta(me.id, p.since as number));
      case ClientFrame.PresenceSubscribe: {
        const ids = p.userIds;
        if (!Array.isArray(ids) || ids.length > MAX_PRESENCE_SUBSCRIPTIONS || !ids.every((x) => Number.isSafeInteger(x))) {
          throw new GatewayError('GW_BAD_REQUEST', `userIds must be at most ${MAX_PRESENCE_SUBSCRIPTIONS} user ids`);
        }
        return this.reply(rid, { presence: d.sessions.watch(this, ids as UserId[]) });
      }
      case ClientFrame.Send:
        if ((p.to as { kind?: unknown } | null)?.kind === 'app') {
          if (!d.appInbound) throw new GatewayError('GW_BAD_REQUEST', 'this server takes no messages to apps');
          d.appInbound.send(me, { cmid: p.cmid, to: p.to, kind: p.kind, body: p.body, mentions: p.mentions }, this.deviceKey).then((ack) => this.reply(rid, ack), (e: unknown) => this.handleError(rid, e));
          return;
        }
        // not awaited: the service keeps this sender's order, so later frames need not wait for durability
        d.messaging
          .send({ senderId: me.id, senderAccount: me.account, cmid: p.cmid, to: p.to, kind: p.kind, body: p.body, mentions: p.mentions, origin: 'client', originDeviceKey: this.deviceKey })
          .then((ack) => this.reply(rid, ack), (e: unknown) => this.handleError(rid, e));
        return;
      case ClientFrame.Sync:
        return this.reply(rid, await d.messaging.sync(me.id, p.after, p.limit));
      case ClientFrame.Read:
        await d.messaging.markRead(me.id, p.conv, p.upTo);
        return this.reply(rid, {});
      case ClientFrame.ReadCounts:
        return this.reply(rid, { counts: await d.messaging.readCounts(me.id, p.ids) });
      case ClientFrame.Recall:
        d.messaging.recall(me.id, me.account, p.messageId).then((ack) => this.reply(rid, { id: ack.id, seq: ack.seq }), (e: unknown) => this.handleError(rid, e));
        return;
      case ClientFrame.SsoSign:
        return this.reply(rid, d.sso.sign(me));
      case ClientFrame.AppEnter:
        if (!d.appInbound) throw new GatewayError('GW_BAD_REQUEST', 'this server has no apps');
        d.appInbound.enter(me, p.app);
        return this.reply(rid, {});
      case ClientFrame.AppMenu:
        if (!d.appInbound) throw new GatewayError('GW_BAD_REQUEST', 'this server has no apps');
        return this.reply(rid, d.appInbound.menu(me, p.app));
      case ClientFrame.AppMenuClick:
        if (!d.appInbound) throw new GatewayError('GW_BAD_REQUEST', 'this server has no apps');
        await d.appInbound.menuClick(me, p.app, p.key);
        return this.reply(rid, {});
      case ClientFrame.AppsList:
        return this.reply(rid, { apps: d.appList?.(me.id) ?? [] });
      case ClientFrame.WorkbenchGet:
        if (!d.workbench) throw new GatewayError('GW_BAD_REQUEST', 'this server has no workbench');
        return this.reply(rid, d.workbench(me.id));
      case ClientFrame.BroadcastRights:
        if (!d.broadcast) throw new GatewayError('GW_BAD_REQUEST', 'this server has no broadcasts');
        return this.reply(rid, d.broadcast.rightView(me.id));
      case ClientFrame.BroadcastSend: {
        if (!d.broadcast) throw new GatewayError('GW_BAD_REQUEST', 'this server has no broadcasts');
        const r = await d.broadcast.sendAsMember(me, p);
        return this.reply(rid, { id: r.id, messageId: r.messageId, reached: r.reached });
      }
      case ClientFrame.CommandAck: {
        if (!Number.isSafeInteger(p.id)) throw new GatewayError('GW_BAD_REQUEST', 'id must be a command id');
        const ok = await d.auth.ackCommand(p.id as number, this.deviceId);
        if (!ok) throw new GatewayError('GW_NOT_FOUND', 'no such pending command for this device');
        this.reply(rid, {});
        if (this.pendingCommandClose) {
          clearTimeout(this.pendingCommandClose.timer);
          this.end(this.pendingCommandClose.code);
        }
        return;
      }
    }
  }

  private refuseBeforeHandshake(rid: number): void {
    this.fail(rid, new GatewayError('GW_HANDSHAKE_REQUIRED', this.state === 'hello' ? 'send hello first' : 'log in or resume first'));
    this.end('GW_HANDSHAKE_REQUIRED');
  }

  private async login(rid: number, p: Record<string, unknown>): Promise<void> {
    const a = await this.deps.auth.login(p.account, p.password, p.device as never, this.address);
    this.token = a.token;
    await this.admit(rid, a.user, a.device, a.token);
  }

  private async resume(rid: number, p: Record<string, unknown>): Promise<void> {
    const a = await this.deps.auth.resume(p.token, this.address);
    this.token = p.token as string;
    await this.admit(rid, a.user, a.device, this.token);
  }

  private async admit(rid: number, user: UserRecord, device: DeviceRecord, token: string): Promise<void> {
    if (this.state === 'closed') return;
    this.user = user;
    this.device = device;
    this.state = 'ready';
    this.since = Date.now();
    const s = this.deps.settings.get();
    const ok: AuthOk = {
      token, user: userView(user), deviceId: device.key, dirVersion: await this.deps.directory.version(), lastSeq: await this.deps.messaging.lastSeq(user.id),
      limits: { offlineFileMaxBytes: s.offlineFileMaxBytes, p2pFileMaxBytes: s.p2pFileMaxBytes, maxFrameBytes: MAX_FRAME_BYTES, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, recallWindowMs: RECALL_WINDOW_MS },
    };
    this.deps.sessions.add(this);
    this.reply(rid, ok);
    for (const n of this.deps.appNotices?.pending(user.id) ?? []) this.sendRaw(JSON.stringify({ t: 'app.notice', p: n }));
    for (const c of await this.deps.auth.pendingCommands(device.id)) this.deliverCommand({ id: c.id, kind: c.kind, issuedAt: c.issuedAt });
  }

  onCommand(e: Extract<BusEvent, { type: 'device.command' }>): void {
    this.deliverCommand(e.command);
  }

  /** Writes the command, records delivery (which revokes the device's tokens), and closes after the ack or a short wait. */
  private deliverCommand(cmd: DeviceCommand): void {
    if (this.state !== 'ready') return;
    // a socket that already stopped taking data did not get it: it stays pending for the next contact
    if (!this.sendRaw(JSON.stringify({ t: 'device.cmd', p: cmd }))) return;
    void this.deps.auth.commandDelivered(cmd, this.deviceId).catch((e: unknown) => this.deps.log.error({ err: e }, 'recording command delivery failed'));
    const code: ErrorCode = cmd.kind === 'wipe' ? 'GW_DEVICE_WIPED' : 'GW_FORCED_OFFLINE';
    if (this.pendingCommandClose) clearTimeout(this.pendingCommandClose.timer);
    const timer = setTimeout(() => this.end(code), COMMAND_ACK_WAIT_MS);
    timer.unref();
    this.pendingCommandClose = { code, timer };
  }
}
