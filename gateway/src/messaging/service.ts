import type { Bus } from '../bus/bus.js';
import type { DirectoryService } from '../directory/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import {
  MAX_SYNC_PAGE,
  RECALL_WINDOW_MS,
  type BodyByKind,
  type Conversation,
  type MessageId,
  type MessageKind,
  type MessageView,
  type SendableKind,
  type AppSendableKind,
  type UserId,
} from '../protocol/client-v1.js';
import { validateAppBody, validateBody } from './validate.js';
import { PAGE_BUDGET_BYTES } from '../directory/service.js';
import { appSenderId, type AppRecord, type AppendItem, type AppendResult, type InboxEntry, type MessageRepo } from './repo.js';

export interface SendRequest {
  senderId: UserId;
  senderAccount: string;
  cmid: unknown;
  to: unknown;
  kind: unknown;
  body: unknown;
  mentions?: unknown;
  /** 'client' for people; 'rtx', 'app:<id>', 'openapi', 'broadcast'... for other entry points. */
  origin: string;
  /** The sending device: it learns its message's seq from the ack, so it gets no push of it. */
  originDeviceKey?: string;
  /**
   * A person's message to an app (`to` is `{kind: 'app', id: key}`): the app, already checked by
   * apps/inbound.ts (enabled, visible to the sender). It is stored in the sender's app conversation only.
   */
  toApp?: AppRecord;
}

export interface SendAck {
  id: MessageId;
  seq: number;
  ts: number;
  duplicate: boolean;
  /** The stored body, when it differs from what was sent. */
  body?: BodyByKind[SendableKind];
  /** The stored mentions, when they differ from what was sent. */
  mentions?: UserId[];
}

/** A message from an app (not a person): a notification, a broadcast, later the open API's apps. */
export interface AppSendRequest {
  /** The app's key: `system` (SYSTEM_APP) for notifications from scripts and systems. */
  appId: string;
  /** The origin's id for this message (1–64 of [A-Za-z0-9._:-]); sending it again stores nothing new. */
  cmid: string;
  /** The users whose inbox gets it, or 'all': every active, authorised user. */
  to: readonly UserId[] | 'all';
  kind: unknown;
  body: unknown;
  /** The entry point, e.g. 'rtx-sdk'. */
  origin: string;
}

/** What the sender is told about normalisation of its message; for an app, which app. */
interface Normalised {
  normalised?: Pick<SendAck, 'body' | 'mentions'>;
  app?: AppRecord;
  /** For a person's message to an app: the app. */
  toApp?: AppRecord;
}

interface Pending {
  item: AppendItem;
  /** What to tell the sender about normalisation, added to its ack. */
  normalised: Pick<SendAck, 'body' | 'mentions'> | undefined;
  originDeviceKey: string | undefined;
  view: Omit<MessageView, 'seq'>;
  resolve: (r: SendAck) => void;
  reject: (e: Error) => void;
}

const CMID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface MessagingMetrics {
  stored: number;
  deliveries: number;
  batches: number;
  lastBatchMs: number;
  queueDepth: number;
}

/**
 * The one path every message takes: validate → de-duplicate by origin id →
 * store durably (group commit) → assign inbox seqs → hand to the bus. A send's
 * promise resolves only after its transaction committed.
 */
export class MessagingService {
  private queue: Pending[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Group members, refreshed whenever the directory changes. */
  private readonly memberCache = new Map<number, UserId[]>();
  /** Whether a user may receive 1:1 messages, refreshed whenever the directory changes. */
  private readonly recipientCache = new Map<number, { account: string; active: boolean }>();
  /** Per sender: settles once that sender's latest submission is queued. */
  private readonly senderChains = new Map<number, Promise<void>>();
  readonly metrics: MessagingMetrics = { stored: 0, deliveries: 0, batches: 0, lastBatchMs: 0, queueDepth: 0 };

  constructor(
    private readonly repo: MessageRepo,
    private readonly directory: DirectoryService,
    private readonly bus: Bus,
    private readonly files: { size(fileId: string): Promise<number | null> },
    private readonly maxBatch: number,
  ) {
    bus.subscribe((e) => {
      if (e.type === 'dir.changed') {
        this.memberCache.clear();
        this.recipientCache.clear();
      }
    });
  }

  private async members(groupId: number): Promise<UserId[]> {
    let m = this.memberCache.get(groupId);
    if (!m) {
      m = await this.directory.groupMemberIds(groupId as never);
      this.memberCache.set(groupId, m);
    }
    return m;
  }

  private async recipients(senderId: UserId, to: Conversation): Promise<UserId[]> {
    if (to.kind === 'group') {
      const members = await this.members(to.id);
      if (members.length === 0 && !(await this.directory.getGroup(to.id))) throw new GatewayError('GW_NOT_FOUND', `group ${to.id} does not exist`);
      if (!members.includes(senderId)) throw new GatewayError('GW_NOT_MEMBER', 'you are not a member of this group');
      return members;
    }
    await this.checkRecipient(to.id);
    return to.id === senderId ? [senderId] : [senderId, to.id];
  }

  /** Throws unless the user exists and may receive messages. */
  private async checkRecipient(id: UserId): Promise<void> {
    let peer = this.recipientCache.get(id);
    if (!peer) {
      const u = await this.directory.getUser(id);
      if (!u) throw new GatewayError('GW_NOT_FOUND', `user ${id} does not exist`);
      peer = { account: u.account, active: u.status === 'active' };
      if (this.recipientCache.size > 100_000) this.recipientCache.clear();
      this.recipientCache.set(id, peer);
    }
    if (!peer.active) throw new GatewayError('GW_RECIPIENT_UNAVAILABLE', `${peer.account} cannot receive messages`);
  }

  private parseConversation(to: unknown): Conversation {
    const c = to as { kind?: unknown; id?: unknown } | null;
    if (!c || typeof c !== 'object' || (c.kind !== 'user' && c.kind !== 'group') || !Number.isSafeInteger(c.id) || (c.id as number) <= 0) {
      throw new GatewayError('GW_BAD_REQUEST', 'to must be {kind: "user"|"group", id: positive integer}');
    }
    return c as Conversation;
  }

  /**
   * Sends one message. Sends of one sender are validated and queued strictly in
   * call order (even when the caller does not wait for each), so a client may
   * pipeline sends; the promise resolves once the message is durable.
   */
  send(req: SendRequest): Promise<SendAck> {
    return this.inOrder(req.senderId, () => this.prepare(req), req.senderAccount, req.originDeviceKey);
  }

  /** Runs `prepare` after the sender's previous submissions were queued, then queues its item. */
  private inOrder(senderId: UserId, prepare: () => Promise<AppendItem & Normalised>, senderAccount: string, originDeviceKey?: string): Promise<SendAck> {
    const prev = this.senderChains.get(senderId) ?? Promise.resolve();
    // the ack promise is boxed so the chain waits for queueing, not for durability
    const queued = prev.then(async () => ({ ack: this.enqueue(await prepare(), senderAccount, originDeviceKey) }));
    const tail = queued.then(() => undefined, () => undefined);
    this.senderChains.set(senderId, tail);
    void tail.then(() => {
      if (this.senderChains.get(senderId) === tail) this.senderChains.delete(senderId);
    });
    return queued.then((q) => q.ack);
  }

  private async prepare(req: SendRequest): Promise<AppendItem & Normalised> {
    if (this.closed) throw new GatewayError('GW_SERVER_SHUTDOWN');
    if (typeof req.cmid !== 'string' || !CMID_RE.test(req.cmid)) throw new GatewayError('GW_BAD_REQUEST', 'cmid must be 1–64 characters of letters, digits, . _ : -');
    if (req.toApp) return this.prepareToApp(req, req.toApp);
    const to = this.parseConversation(req.to);
    const kind = req.kind as SendableKind;
    const body = validateBody(kind, req.body);
    const mentions = this.parseMentions(req.mentions);
    const recipients = await this.recipients(req.senderId, to);
    if (mentions && to.kind === 'group') {
      const set = new Set(recipients);
      if (mentions.some((m) => !set.has(m))) throw new GatewayError('GW_BAD_REQUEST', 'mentions must name members of the group');
    }
    const fileIds: string[] = [];
    if (kind === 'image' || kind === 'file') {
      const { fileId, size } = body as BodyByKind['file'];
      const stored = await this.files.size(fileId);
      if (stored === null || !(await this.repo.canReadFile(req.senderId, fileId))) {
        throw new GatewayError('GW_NOT_FOUND', 'the file was not uploaded (or not by you)');
      }
      if (stored !== size) throw new GatewayError('GW_BAD_REQUEST', `size says ${size} bytes but the stored file has ${stored}`);
      fileIds.push(fileId);
    }
    const stored = JSON.stringify(body);
    const normalised: Pick<SendAck, 'body' | 'mentions'> = {};
    if (stored !== JSON.stringify(req.body)) normalised.body = body;
    if (mentions && JSON.stringify(mentions) !== JSON.stringify(req.mentions)) normalised.mentions = mentions;
    return {
      senderId: req.senderId, cmid: req.cmid, conv: to, kind, body: stored, mentions, origin: req.origin, recipients, fileIds,
      ...(normalised.body || normalised.mentions ? { normalised } : {}),
    };
  }

  /** A person's message into their conversation with an app; a file or image must have been uploaded by them. */
  private async prepareToApp(req: SendRequest, app: AppRecord): Promise<AppendItem & Normalised> {
    const kind = req.kind as SendableKind;
    const body = validateBody(kind, req.body);
    const fileIds: string[] = [];
    if (kind === 'image' || kind === 'file') {
      const { fileId, size } = body as BodyByKind['file'];
      if ((await this.files.size(fileId)) !== size || !(await this.repo.canReadFile(req.senderId, fileId))) throw new GatewayError('GW_NOT_FOUND', 'the file was not uploaded (or not by you, or its size differs)');
      fileIds.push(fileId);
    }
    const stored = JSON.stringify(body);
    return {
      senderId: req.senderId, cmid: req.cmid as string, conv: { kind: 'app', id: app.rowId }, kind, body: stored, mentions: null,
      origin: req.origin, recipients: [req.senderId], fileIds, toApp: app,
      ...(stored !== JSON.stringify(req.body) ? { normalised: { body } } : {}),
    };
  }

  /**
   * Sends one message from an app into the app's conversation of each recipient: the same path as
   * send() (validated, de-duplicated by the app and `cmid`, stored in one transaction with every
   * recipient's inbox seq, then delivered through the bus), so a broadcast to every user is one
   * message with one inbox entry per user. An app's sends are kept in call order. Resolves once
   * durable; `seq` is 0 (an app has no inbox). Apps send every kind but recall; the files an
   * image, file, mpnews or exlink body names must have been stored for the app (uploaded with
   * appSenderId(app) as uploader), and their readers become the message's recipients.
   */
  async sendAsApp(req: AppSendRequest): Promise<SendAck> {
    if (typeof req.appId !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'appId is required');
    const app = await this.repo.appByKey(req.appId);
    if (!app) throw new GatewayError('GW_NOT_FOUND', `app ${req.appId} does not exist`);
    return this.inOrder(appSenderId(app), () => this.prepareApp(app, req), '');
  }

  private async prepareApp(app: AppRecord, req: AppSendRequest): Promise<AppendItem & Normalised> {
    if (this.closed) throw new GatewayError('GW_SERVER_SHUTDOWN');
    if (typeof req.cmid !== 'string' || !CMID_RE.test(req.cmid)) throw new GatewayError('GW_BAD_REQUEST', 'cmid must be 1–64 characters of letters, digits, . _ : -');
    if (typeof req.kind !== 'string' || req.kind === 'recall' || !APP_KINDS.has(req.kind)) throw new GatewayError('GW_BAD_REQUEST', 'apps send text, image, file, link, rich, mpnews, exlink, sysmsg or mail messages');
    const kind = req.kind as AppSendableKind;
    const body = validateAppBody(kind, req.body);
    const fileIds: string[] = [];
    for (const f of filesOf(kind, body)) {
      const stored = await this.files.size(f.fileId);
      if (stored === null || !(await this.repo.canReadFile(appSenderId(app), f.fileId))) throw new GatewayError('GW_NOT_FOUND', 'the file was not stored for this app');
      if (stored !== f.size) throw new GatewayError('GW_BAD_REQUEST', `size says ${f.size} bytes but the stored file has ${stored}`);
      if (!fileIds.includes(f.fileId)) fileIds.push(f.fileId);
    }
    let recipients: UserId[];
    if (req.to === 'all') recipients = await this.directory.activeUserIds();
    else {
      if (!Array.isArray(req.to) || !req.to.every((x) => Number.isSafeInteger(x) && x > 0)) throw new GatewayError('GW_BAD_REQUEST', 'to must be user ids or "all"');
      recipients = [...new Set(req.to)];
      for (const id of recipients) await this.checkRecipient(id);
    }
    if (recipients.length === 0) throw new GatewayError('GW_BAD_REQUEST', 'the message has no recipients');
    return {
      senderId: appSenderId(app), cmid: req.cmid, conv: { kind: 'app', id: app.rowId }, kind, body: JSON.stringify(body), mentions: null,
      origin: req.origin, recipients, fileIds, app,
    };
  }

  private parseMentions(m: unknown): UserId[] | null {
    if (m === undefined || m === null) return null;
    if (!Array.isArray(m) || m.length > 100 || !m.every((x) => Number.isSafeInteger(x) && x > 0)) {
      throw new GatewayError('GW_BAD_REQUEST', 'mentions must be at most 100 user ids');
    }
    return m.length ? [...new Set(m as UserId[])] : null;
  }

  /** Recalls a message the caller sent, within RECALL_WINDOW_MS; every recipient device learns it through its inbox. */
  recall(senderId: UserId, senderAccount: string, messageId: unknown): Promise<SendAck> {
    return this.inOrder(senderId, async () => {
      if (!Number.isSafeInteger(messageId)) throw new GatewayError('GW_BAD_REQUEST', 'messageId must be an integer');
      const m = await this.repo.getMessage(messageId as MessageId);
      if (!m || m.kind === 'recall') throw new GatewayError('GW_NOT_FOUND', 'no such message');
      if (m.senderId !== senderId || m.conv.kind === 'app') throw new GatewayError('GW_FORBIDDEN', 'only the sender may recall a message');
      if (Date.now() - m.createdAt > RECALL_WINDOW_MS) throw new GatewayError('GW_RECALL_EXPIRED', `messages can be recalled within ${RECALL_WINDOW_MS / 60000} minutes`);
      const recipients = m.conv.kind === 'group' ? await this.members(m.conv.id) : m.conv.id === senderId ? [senderId] : [senderId, m.conv.id];
      return {
        senderId, cmid: `recall#${m.id}`, conv: m.conv, kind: 'recall', body: JSON.stringify({ messageId: m.id }), mentions: null,
        origin: m.origin, recipients: recipients.includes(senderId) ? recipients : [...recipients, senderId], fileIds: [], recallOf: m.id,
      };
    }, senderAccount);
  }

  private enqueue(prepared: AppendItem & Normalised, senderAccount: string, originDeviceKey?: string): Promise<SendAck> {
    const { normalised, app, toApp, ...item } = prepared;
    return new Promise<SendAck>((resolve, reject) => {
      const view: Omit<MessageView, 'seq'> = {
        id: 0 as MessageId, cmid: item.cmid, from: app ? (0 as UserId) : item.senderId, fromAccount: senderAccount,
        ...(app ? { fromApp: { id: app.key, name: app.name } } : {}),
        to: item.conv.kind === 'app' ? { kind: 'app', id: (app ?? toApp)?.key ?? '' } : item.conv,
        kind: item.kind, body: JSON.parse(item.body) as MessageView['body'], ts: 0, origin: item.origin,
        ...(item.mentions ? { mentions: item.mentions } : {}),
      };
      this.queue.push({ item, view, resolve, reject, originDeviceKey, normalised });
      this.metrics.queueDepth = this.queue.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.metrics.queueDepth = this.queue.length;
      const started = performance.now();
      let results: AppendResult[];
      try {
        results = await this.repo.appendBatch(batch.map((p) => p.item));
      } catch (e) {
        const busy = (e as { code?: string }).code === 'SQLITE_BUSY';
        for (const p of batch) p.reject(busy ? new GatewayError('GW_STORAGE_BUSY') : (e as Error));
        continue;
      }
      this.metrics.batches += 1;
      this.metrics.lastBatchMs = performance.now() - started;
      // the transaction has committed: acknowledge, then deliver
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i] as Pending;
        const r = results[i] as AppendResult;
        if (!r.ok) {
          p.reject(r.error);
          continue;
        }
        if (r.duplicate) {
          p.resolve({ id: r.id, seq: r.senderSeq, ts: r.ts, duplicate: true });
          continue;
        }
        this.metrics.stored += 1;
        p.resolve({ id: r.id, seq: r.seqs.get(p.item.senderId) ?? 0, ts: r.ts, duplicate: false, ...p.normalised });
        const base = { ...p.view, id: r.id, ts: r.ts };
        for (const [userId, seq] of r.seqs) {
          this.metrics.deliveries += 1;
          const skip = userId === p.item.senderId ? p.originDeviceKey : undefined;
          this.bus.publish({ type: 'message', userId, message: { ...base, seq }, ...(skip ? { skipDeviceKey: skip } : {}) });
        }
      }
    }
  }

  /** Messages in the user's inbox after `after`, oldest first. */
  async sync(userId: UserId, after: unknown, limit: unknown): Promise<{ messages: MessageView[]; lastSeq: number; more: boolean }> {
    if (!Number.isSafeInteger(after) || (after as number) < 0) throw new GatewayError('GW_BAD_REQUEST', 'after must be a non-negative integer');
    const lim = limit === undefined ? 200 : Number(limit);
    if (!Number.isInteger(lim) || lim < 1 || lim > MAX_SYNC_PAGE) throw new GatewayError('GW_BAD_REQUEST', `limit must be 1–${MAX_SYNC_PAGE}`);
    const rows = await this.repo.inboxAfter(userId, after as number, lim + 1);
    const messages: MessageView[] = [];
    let budget = PAGE_BUDGET_BYTES;
    for (const r of rows.slice(0, lim)) {
      const v = toView(r);
      budget -= Buffer.byteLength(JSON.stringify(v)) + 1;
      // a body is at most 64 KiB, so the first message always fits
      if (budget < 0 && messages.length > 0) break;
      messages.push(v);
    }
    return { messages, lastSeq: await this.repo.lastSeq(userId), more: rows.length > messages.length };
  }

  lastSeq(userId: UserId): Promise<number> {
    return this.repo.lastSeq(userId);
  }

  /** Moves the reader's read pointer and tells the people who should know (F: read receipts). */
  async markRead(reader: UserId, conv: unknown, upTo: unknown): Promise<void> {
    const c = this.parseConversation(conv);
    if (!Number.isSafeInteger(upTo) || (upTo as number) <= 0) throw new GatewayError('GW_BAD_REQUEST', 'upTo must be a message id');
    if (c.kind === 'group' && !(await this.members(c.id)).includes(reader)) throw new GatewayError('GW_NOT_MEMBER');
    const prev = await this.repo.advanceRead(reader, c, upTo as MessageId);
    if (prev === null) return;
    const notify = new Set<UserId>([reader, ...(await this.repo.sendersBetween(c, prev, upTo as MessageId, reader))]);
    for (const userId of notify) this.bus.publish({ type: 'receipt', userId, conv: c, reader, upTo: upTo as MessageId });
  }

  async readCounts(userId: UserId, ids: unknown): Promise<{ id: MessageId; read: number; members: number }[]> {
    if (!Array.isArray(ids) || ids.length > 200 || !ids.every((x) => Number.isSafeInteger(x))) throw new GatewayError('GW_BAD_REQUEST', 'ids must be at most 200 message ids');
    const out = [];
    for (const id of ids as MessageId[]) {
      const m = await this.repo.getMessage(id);
      if (!m || m.conv.kind === 'app') continue;
      const members = m.conv.kind === 'group' ? await this.members(m.conv.id) : [m.senderId, m.conv.id];
      if (!members.includes(userId)) continue;
      out.push({ id, read: await this.repo.readCount(id), members: Math.max(members.length - 1, 1) });
    }
    return out;
  }

  canReadFile(userId: UserId, fileId: string): Promise<boolean> {
    return this.repo.canReadFile(userId, fileId);
  }

  /** Stops taking sends and waits until everything queued is stored. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.flushScheduled || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }
}

const APP_KINDS: ReadonlySet<string> = new Set<AppSendableKind>(['text', 'image', 'file', 'link', 'rich', 'mpnews', 'exlink', 'sysmsg', 'mail']);

/** The stored files an app's message body names (attachments, article and card pictures). */
function filesOf(kind: AppSendableKind, body: BodyByKind[AppSendableKind]): { fileId: string; size: number }[] {
  if (kind === 'image' || kind === 'file') return [body as BodyByKind['file']];
  if (kind === 'mpnews' || kind === 'exlink') return (body as BodyByKind['mpnews'] | BodyByKind['exlink']).items.flatMap((i) => (i.cover ? [i.cover] : []));
  return [];
}

export function toView(e: InboxEntry): MessageView {
  // a person's message to an app (sender id > 0) is from the person, in the app's conversation
  const app = e.conv.kind === 'app' && e.senderId < 0 ? (e.app ?? { key: String(e.conv.id), name: '' }) : null;
  return {
    id: e.id, seq: e.seq, cmid: e.cmid, from: app ? (0 as UserId) : e.senderId, fromAccount: app ? '' : e.senderAccount,
    ...(app ? { fromApp: { id: app.key, name: app.name } } : {}),
    to: e.conv.kind === 'app' ? { kind: 'app', id: (app ?? e.app)?.key ?? '' } : e.conv, kind: e.kind,
    body: JSON.parse(e.body) as BodyByKind[MessageKind], ts: e.createdAt, origin: e.origin,
    ...(e.mentions ? { mentions: e.mentions } : {}), ...(e.recalledAt ? { recalled: true } : {}),
  };
}
