import type { Bus, BusEvent } from '../bus/bus.js';
import type { DirectoryService } from '../directory/service.js';
import type { Logger } from '../log.js';
import { orgStore } from '../openapi/org/store.js';
import type { FileBody, LinkBody, MessageView, RichBody, TextBody, UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import type { CallbackQueue } from './callback-queue.js';
import type { AppMediaStore } from './media.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';

/** The system app that receives the session audit (wire spec §6). */
export const SESSION_AUDIT_APP_ID = 'sysMsgMonitor';
/** Messages waiting to be queued for the monitor; beyond this, new ones are dropped (and counted in the log). */
export const MAX_AUDIT_BACKLOG = 10_000;
/** The origin of the groups the open API's sessions are (gateway/src/openapi/endpoints/sessions.ts). */
const SESSION_ORIGIN_MESSAGES = 'openapi';

export interface SessionAuditDeps {
  bus: Bus;
  db: Db;
  apps: AppService;
  callbacks: CallbackQueue;
  directory: DirectoryService;
  media: AppMediaStore;
  log: Logger;
}

/** The session fields every audit payload carries (wire spec §6): sessionId "" and version 0 for a 1:1 message. */
interface AuditHead {
  sessionId: string;
  version: number;
  receiver: string;
  msgId: number;
}

/**
 * The session audit (wire spec §6, DOC c01_00010; docs/apps-callbacks.md
 * "Session audit"): the open API's sessions — created, updated, and every
 * message in them, whichever way it was sent — and the 1:1 messages sent
 * through `session/send`, queued for the callback of each enabled
 * `sysMsgMonitor` that has one. Other conversations are not audited.
 *
 * Messages are taken from the bus after they are durable (the sender's copy of
 * each), kept in a bounded in-memory backlog and queued on a later turn, so a
 * send is never slowed by the audit. Files and images get a mediaId of the
 * monitor (media/get serves them to it). start()/stop(); stop queues what is
 * in the backlog first.
 */
export class SessionAudit {
  private unsubscribe: (() => void) | null = null;
  private backlog: MessageView[] = [];
  private draining: Promise<void> | null = null;
  private dropped = 0;

  constructor(private readonly deps: SessionAuditDeps) {}

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.deps.bus.subscribe((e) => this.onEvent(e));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.idle();
  }

  /** Settles once the messages taken so far are queued (tests wait on it). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** The monitors that get the audit: enabled, with a callback. */
  monitors(): OpenApp[] {
    return this.deps.apps.byAppIdAnyBuin(SESSION_AUDIT_APP_ID).filter((a) => this.deps.callbacks.target(a) !== null);
  }

  /** `session_create`: the session as created (type, title, member accounts), from its creator. */
  created(s: { sessionId: string; version: number; type: string; title: string; member: string[] }, creator: string): void {
    this.event(creator, 'session_create', s.sessionId, s.version, { type: s.type, title: s.title, member: s.member });
  }

  /** `session_update`: the owner, the title, and who was added and removed, from the user who changed it. */
  updated(s: { sessionId: string; version: number; owner: string; title: string; addMember: string[]; delMember: string[] }, opUser: string): void {
    this.event(opUser, 'session_update', s.sessionId, s.version, { owner: s.owner, title: s.title, addMember: s.addMember, delMember: s.delMember });
  }

  private event(fromUser: string, msgType: string, sessionId: string, version: number, body: Record<string, unknown>): void {
    for (const app of this.monitors()) {
      try {
        this.deps.callbacks.enqueue(app, fromUser, msgType, { sessionId, version, receiver: '', msgId: 0, [msgType]: body });
      } catch (e) {
        this.deps.log.error({ err: e, sessionId }, 'a session audit event could not be queued');
      }
    }
  }

  private onEvent(e: BusEvent): void {
    if (e.type !== 'message') return;
    const m = e.message;
    // the sender's copy only (one per message); people's messages only
    if (e.userId !== m.from || m.fromApp || !AUDITED_KINDS.has(m.kind)) return;
    if (m.to.kind !== 'group' && !(m.to.kind === 'user' && m.origin === SESSION_ORIGIN_MESSAGES)) return;
    if (this.monitors().length === 0) return;
    if (this.backlog.length >= MAX_AUDIT_BACKLOG) {
      if (this.dropped++ % 1000 === 0) this.deps.log.warn({ dropped: this.dropped }, 'the session audit backlog is full; messages are not audited');
      return;
    }
    this.backlog.push(m);
    this.kick();
  }

  /** Drains the backlog on a later turn; a message taken while the last drain ended starts another. */
  private kick(): void {
    if (this.draining) return;
    this.draining = new Promise<void>((r) => setImmediate(r)).then(() => this.drain()).finally(() => {
      this.draining = null;
      if (this.backlog.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.backlog.length > 0) {
      const batch = this.backlog;
      this.backlog = [];
      for (const m of batch) {
        try {
          await this.audit(m);
        } catch (e) {
          this.deps.log.error({ err: e, messageId: m.id }, 'a message could not be audited');
        }
      }
    }
  }

  private async audit(m: MessageView): Promise<void> {
    let head: AuditHead;
    if (m.to.kind === 'group') {
      const row = orgStore(this.deps.db).guidOf(m.to.id);
      if (!row || row.kind !== 'session') return;
      head = { sessionId: row.guid, version: row.version, receiver: '', msgId: m.id };
    } else if (m.to.kind === 'user') {
      const peer = await this.deps.directory.getUser(m.to.id as UserId);
      head = { sessionId: '', version: 0, receiver: peer?.account ?? '', msgId: m.id };
    } else return;
    const createTime = Math.floor(m.ts / 1000);
    for (const app of this.monitors()) {
      const body = this.bodyFor(app, m);
      if (body) this.deps.callbacks.enqueue(app, m.fromAccount, body.msgType, { createTime, ...head, [body.msgType]: body.value });
    }
  }

  /** The spec's audit body of a message: text, file, or complex (images, links, rich text). */
  private bodyFor(app: OpenApp, m: MessageView): { msgType: string; value: unknown } | null {
    switch (m.kind) {
      case 'text':
        return { msgType: 'text', value: { content: (m.body as TextBody).text } };
      case 'file': {
        const f = m.body as FileBody;
        const media = this.deps.media.adopt(app, f.fileId, f.name, 'file', f.size);
        return { msgType: 'file', value: { name: media.name, media_id: media.mediaId, size: f.size } };
      }
      case 'image': {
        const f = m.body as FileBody;
        const media = this.deps.media.adopt(app, f.fileId, f.name, 'image', f.size);
        return { msgType: 'complex', value: [{ name: media.name, image_id: media.mediaId, size: f.size }] };
      }
      case 'link': {
        const l = m.body as LinkBody;
        return { msgType: 'complex', value: [{ title: l.title, url: l.url }] };
      }
      case 'rich': {
        const r = m.body as RichBody;
        const items = r.segments.map((s) => (s.href ? { title: s.text, url: s.href } : { txt: s.text }));
        return { msgType: 'complex', value: r.title ? [{ txt: r.title }, ...items] : items };
      }
      default:
        return null;
    }
  }
}

const AUDITED_KINDS = new Set<string>(['text', 'file', 'image', 'link', 'rich']);
