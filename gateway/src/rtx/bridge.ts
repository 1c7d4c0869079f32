import { createHash } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import type { DirectoryService } from '../directory/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { MessagingService } from '../messaging/service.js';
import type { Conversation, UserId } from '../protocol/client-v1.js';
import type { PayloadContext } from '../protocol/plugin-session.js';
import {
  BridgePayloadError,
  checkDelivery,
  checkImCaptured,
  FromAdapter,
  ToAdapter,
  type AdapterStatus,
  type Delivery,
  type ImCaptured,
  type NotifySend,
} from '../protocol/rtx-bridge-v1.js';
import type { Db } from '../storage/sqlite.js';
import type { Kind } from './sqlite-sync.js';
import { RtxRelay } from './relay.js';
import type { RtxSyncService } from './sync-service.js';
import { checkOrgBegin, checkOrgEnd, checkOrgPage, checkPresence } from './validate.js';

/** The hub as the bridge uses it (PluginHub). */
export interface BridgeHub {
  send(type: string, body: unknown): Promise<number>;
  sendInTransaction<T>(fn: (queue: (type: string, body: unknown) => void) => T): T;
  on(type: string, handler: (body: unknown, ctx: PayloadContext) => void): void;
  onIdempotent(type: string, handler: (body: unknown, ctx: PayloadContext) => Promise<void>): void;
  onLinkChange(listener: (connected: boolean) => void): () => void;
  status(): { state: string };
}

/** Presence as the sessions registry takes it. */
export interface PresenceSink {
  setRtxPresence(items: readonly { userId: UserId; state: 'online' | 'away' | 'offline' }[], full: boolean): void;
}

export interface RtxBridgeDeps {
  hub: BridgeHub;
  db: Db;
  bus: Bus;
  sync: RtxSyncService;
  messaging: MessagingService;
  directory: DirectoryService;
  presence: PresenceSink;
  log: Logger;
}

/** Automatic sync requests (an unknown account was seen) at most this often. */
export const AUTO_SYNC_MIN_INTERVAL_MS = 60_000;
const CMID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

const REASONS: Record<string, string> = {
  RTX_UNKNOWN_USER: 'RTX 中没有这个用户',
  RTX_UNREACHABLE: 'RTX 服务器在重试期限内无法连接',
  RTX_REFUSED: 'RTX 拒绝了这条消息',
  RTX_BAD_REQUEST: 'RTX 无法接受这条消息',
};

export interface BridgeCounters {
  captured: number;
  unknownAccounts: number;
  skipped: number;
  badPayloads: number;
  failuresNotified: number;
  notifyFallbacks: number;
}

/**
 * The gateway's RTX service on the plugin channel: what it does with the
 * adapter's payloads (docs/protocol/rtx-bridge-v1.md) and what it sends —
 * org snapshots into the sync, captured messages into messaging's one path,
 * delivery failures back to the sender as a notice from the system app,
 * presence into the sessions registry, and the outbound relay. Handlers are
 * registered when it is built (before the hub starts); start()/stop() run
 * the relay.
 */
export class RtxBridge {
  readonly relay: RtxRelay;
  readonly counters: BridgeCounters = { captured: 0, unknownAccounts: 0, skipped: 0, badPayloads: 0, failuresNotified: 0, notifyFallbacks: 0 };
  /** The adapter's last rtx.status, for the console. */
  adapterStatus: AdapterStatus | null = null;
  private lastAutoSync = 0;
  private unlink: (() => void) | null = null;

  constructor(private readonly deps: RtxBridgeDeps) {
    const { hub, sync } = deps;
    this.relay = new RtxRelay({ db: deps.db, outbox: hub, bus: deps.bus, log: deps.log });
    const guard = <T>(what: string, check: (v: unknown) => T, fn: (v: T, ctx: PayloadContext) => void) => (body: unknown, ctx: PayloadContext) => {
      let v: T;
      try {
        v = check(body);
      } catch (e) {
        if (!(e instanceof BridgePayloadError)) throw e;
        this.counters.badPayloads += 1;
        deps.log.warn({ type: what, seq: ctx.seq, problem: e.message }, 'RTX payload refused');
        return;
      }
      fn(v, ctx);
    };
    hub.on(FromAdapter.OrgBegin, guard(FromAdapter.OrgBegin, checkOrgBegin, (b) => sync.stageBegin(b)));
    for (const [type, kind] of [[FromAdapter.OrgDepts, 'depts'], [FromAdapter.OrgUsers, 'users'], [FromAdapter.OrgGroups, 'groups']] as const) {
      hub.on(type, guard(type, (v) => checkOrgPage(v, type), (p) => sync.stagePage(kind as Kind, p.snapshotId, p.page, p.items)));
    }
    hub.onIdempotent(FromAdapter.OrgEnd, async (body, ctx) => {
      let end;
      try {
        end = checkOrgEnd(body);
      } catch (e) {
        this.counters.badPayloads += 1;
        deps.log.warn({ seq: ctx.seq, problem: (e as Error).message }, 'rtx.org.end refused');
        return;
      }
      await sync.finishSnapshot(end);
    });
    hub.onIdempotent(FromAdapter.ImCaptured, (body, ctx) => this.captured(body, ctx));
    hub.onIdempotent(FromAdapter.Delivery, (body, ctx) => this.delivery(body, ctx));
    hub.onIdempotent(FromAdapter.Presence, (body, ctx) => this.presence(body, ctx));
    hub.on(FromAdapter.Status, (body) => {
      if (typeof body === 'object' && body !== null) this.adapterStatus = body as AdapterStatus;
    });
    sync.attach({
      connected: () => hub.status().state === 'CONNECTED',
      request: async (reason) => void (await hub.send(ToAdapter.SyncRequest, { reason })),
    });
  }

  start(): void {
    this.relay.start();
    // RTX presence is only as good as the link: gone with it
    this.unlink = this.deps.hub.onLinkChange((connected) => {
      if (!connected) this.deps.presence.setRtxPresence([], true);
    });
  }

  stop(): void {
    this.relay.stop();
    this.unlink?.();
    this.unlink = null;
    this.deps.presence.setRtxPresence([], true);
  }

  /** Asks for a snapshot because the adapter named an account or group the directory does not know (at most once a minute). */
  private unknown(what: string, value: string, seq: number): void {
    this.counters.unknownAccounts += 1;
    this.deps.log.warn({ what, value, seq }, 'RTX payload names something the directory does not know: skipped, sync requested');
    const now = Date.now();
    if (now - this.lastAutoSync < AUTO_SYNC_MIN_INTERVAL_MS) return;
    this.lastAutoSync = now;
    void this.deps.hub.send(ToAdapter.SyncRequest, { reason: `unknown ${what} ${value}` }).catch((e: unknown) => this.deps.log.warn({ err: e }, 'could not queue gw.sync.request'));
  }

  // ---- from RTX: captured messages ----

  private async captured(body: unknown, ctx: PayloadContext): Promise<void> {
    let m: ImCaptured;
    try {
      m = checkImCaptured(body);
    } catch (e) {
      if (!(e instanceof BridgePayloadError)) throw e;
      this.counters.badPayloads += 1;
      this.deps.log.warn({ seq: ctx.seq, problem: e.message }, 'rtx.im.captured refused');
      return;
    }
    const { directory } = this.deps;
    const sender = await directory.getUserByAccount(m.sender);
    if (!sender) return this.unknown('sender', m.sender, ctx.seq);
    if (m.text.trim() === '') {
      this.counters.skipped += 1;
      return;
    }
    const base = cmidBase(m.imMessageId);
    if (m.kind === 'group') {
      const g = m.group ? await directory.groupByExternalId(m.group.id) : null;
      if (!g || g.origin !== 'rtx') return this.unknown('group', m.group?.id ?? '', ctx.seq);
      if (m.sessionKey) this.relay.rememberGroup(m.group?.id ?? '', m.sessionKey);
      await this.deliver(sender, { kind: 'group', id: g.id }, base, m.text, ctx.seq);
      return;
    }
    for (let i = 0; i < m.receivers.length; i++) {
      const account = m.receivers[i] as string;
      const to = await directory.getUserByAccount(account);
      if (!to) {
        this.unknown('receiver', account, ctx.seq);
        continue;
      }
      if (m.sessionKey) this.relay.rememberPair(m.sender, account, m.sessionKey);
      // one message per receiver; the first keeps the plain key
      await this.deliver(sender, { kind: 'user', id: to.id }, i === 0 ? base : `${base}.${i}`, m.text, ctx.seq);
    }
  }

  private async deliver(sender: { id: UserId; account: string }, to: Conversation, cmid: string, text: string, seq: number): Promise<void> {
    try {
      const ack = await this.deps.messaging.send({ senderId: sender.id, senderAccount: sender.account, cmid, to, kind: 'text', body: { text }, origin: 'rtx' });
      if (!ack.duplicate) this.counters.captured += 1;
    } catch (e) {
      // passing trouble: the frame comes again after the reconnect
      if (e instanceof GatewayError && (e.code === 'GW_STORAGE_BUSY' || e.code === 'GW_SERVER_SHUTDOWN')) throw e;
      if (!(e instanceof GatewayError)) throw e;
      this.counters.skipped += 1;
      this.deps.log.warn({ seq, code: e.code, problem: e.message, to }, 'captured RTX message could not be stored: skipped');
      if (e.code === 'GW_NOT_MEMBER' || e.code === 'GW_NOT_FOUND') this.unknown('membership', `${sender.account} in ${to.kind} ${to.id}`, seq);
    }
  }

  // ---- delivery results ----

  private async delivery(body: unknown, ctx: PayloadContext): Promise<void> {
    let d: Delivery;
    try {
      d = checkDelivery(body);
    } catch (e) {
      if (!(e instanceof BridgePayloadError)) throw e;
      this.counters.badPayloads += 1;
      this.deps.log.warn({ seq: ctx.seq, problem: e.message }, 'rtx.delivery refused');
      return;
    }
    const m = /^([mn])(\d{1,15})$/.exec(d.ref);
    if (!m) return;
    const notify = m[1] === 'n';
    const messageId = Number(m[2]);
    const failed = d.failed ?? [];
    if (d.ok && failed.length === 0) return;
    // SendIM not possible: RTX refused it, or the sender has no RTX account (a phone/web-only or LDAP user) — a notification instead
    const imImpossible = d.error?.code === 'RTX_REFUSED' || (d.error?.code === 'RTX_UNKNOWN_USER' && !this.senderInRtx(messageId));
    if (!d.ok && !notify && imImpossible && this.notifyFallback(messageId)) return;
    await this.noticeToSender(messageId, d.ok ? null : (d.error?.code ?? 'RTX_REFUSED'), d.ok ? failed : [], notify);
  }

  /** Whether the message's sender is an RTX user (SendIM can only speak as one). */
  private senderInRtx(messageId: number): boolean {
    const origin = this.deps.db.prepare('SELECT u.origin FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = ?').pluck().get(messageId) as string | undefined;
    return origin === 'rtx';
  }

  /**
   * RTX refused the IM: queue a SendNotify of the same text instead (once per
   * message: the fallback row and the payload share one transaction). False
   * when no fallback was queued (already done, or the message is gone).
   */
  private notifyFallback(messageId: number): boolean {
    const send = this.relay.imSendFor(messageId);
    if (!send) return false;
    const queued = this.deps.hub.sendInTransaction((queue) => {
      const info = this.deps.db.prepare('INSERT OR IGNORE INTO rtx_notify_fallback (message_id, at) VALUES (?, ?)').run(messageId, Date.now());
      if (info.changes === 0) return false;
      const notify: NotifySend = { ref: `n${messageId}`, receivers: send.receivers, title: send.group ? `${send.sender} 在「${send.group.name}」` : `${send.sender} 的消息`, text: send.text };
      queue(ToAdapter.NotifySend, notify);
      return true;
    });
    if (queued) this.counters.notifyFallbacks += 1;
    return queued;
  }

  /** A notice from the system app to the message's sender: the message did not (fully) reach RTX, and why. Idempotent by message. */
  private async noticeToSender(messageId: number, code: string | null, failedAccounts: string[], viaNotify: boolean): Promise<void> {
    const send = this.relay.imSendFor(messageId);
    const row = this.deps.db.prepare('SELECT sender_id FROM messages WHERE id = ?').pluck().get(messageId) as number | undefined;
    if (row === undefined || row <= 0) return;
    const excerpt = send ? ([...send.text].length > 40 ? `${[...send.text].slice(0, 40).join('')}…` : send.text) : `#${messageId}`;
    const who = send ? (send.group ? `群「${send.group.name}」` : send.receivers.join('、')) : 'RTX';
    const reason = code === null ? `以下 RTX 用户没有收到：${failedAccounts.join('、')}` : `${REASONS[code] ?? 'RTX 未能投递'}（${code}${viaNotify ? '，改发通知也失败' : ''}）`;
    const text = `您发给 ${who} 的消息「${excerpt}」没有送达 RTX：${reason}`;
    try {
      await this.deps.messaging.sendAsApp({ appId: 'system', cmid: `rtx:failed:${messageId}`, to: [row as UserId], kind: 'text', body: { text }, origin: 'rtx' });
      this.counters.failuresNotified += 1;
    } catch (e) {
      if (e instanceof GatewayError && (e.code === 'GW_STORAGE_BUSY' || e.code === 'GW_SERVER_SHUTDOWN')) throw e;
      this.deps.log.warn({ err: e, messageId }, 'could not tell the sender that a message did not reach RTX');
    }
  }

  // ---- presence ----

  private async presence(body: unknown, ctx: PayloadContext): Promise<void> {
    let p;
    try {
      p = checkPresence(body);
    } catch (e) {
      if (!(e instanceof BridgePayloadError)) throw e;
      this.counters.badPayloads += 1;
      this.deps.log.warn({ seq: ctx.seq, problem: e.message }, 'rtx.presence refused');
      return;
    }
    const ids = new Map<string, number>();
    const accounts = p.items.map((i) => i.account);
    const lookup = this.deps.db.prepare("SELECT id, account FROM users WHERE account IN (SELECT value FROM json_each(?)) AND origin = 'rtx'");
    for (let i = 0; i < accounts.length; i += 5000) {
      for (const r of lookup.all(JSON.stringify(accounts.slice(i, i + 5000))) as { id: number; account: string }[]) ids.set(r.account.toLowerCase(), r.id);
    }
    const items: { userId: UserId; state: 'online' | 'away' | 'offline' }[] = [];
    for (const it of p.items) {
      const id = ids.get(it.account.toLowerCase());
      if (id !== undefined) items.push({ userId: id as UserId, state: it.state });
    }
    this.deps.presence.setRtxPresence(items, p.full);
  }
}

/** `rtx:<imMessageId>` when it fits a cmid (with room for a receiver suffix), else `rtx:h:<hash>`. */
export function cmidBase(imMessageId: string): string {
  const plain = `rtx:${imMessageId}`;
  if (plain.length <= 58 && CMID_RE.test(plain)) return plain;
  return `rtx:h:${createHash('sha256').update(imMessageId).digest('base64url').slice(0, 40)}`;
}
