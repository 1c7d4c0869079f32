import type { Db } from '../storage/sqlite.js';
import type { Conversation, MessageId, MessageKind, UserId } from '../protocol/client-v1.js';
import type { AppRecord, AppendItem, AppendResult, InboxEntry, MessageRepo, StoredConversation, StoredMessage } from './repo.js';

interface MessageRow {
  id: number; sender_id: number; cmid: string; conv_kind: 'user' | 'group' | 'app'; conv_id: number; kind: string; body: string;
  mentions: string | null; origin: string; created_at: number; recalled_at: number | null;
}

function convFrom(r: MessageRow): StoredConversation {
  if (r.conv_kind === 'user') return { kind: 'user', id: r.conv_id as UserId };
  if (r.conv_kind === 'app') return { kind: 'app', id: r.conv_id };
  return { kind: 'group', id: r.conv_id as never };
}

function messageFrom(r: MessageRow): StoredMessage {
  return {
    id: r.id as MessageId, senderId: r.sender_id as UserId, cmid: r.cmid,
    conv: convFrom(r),
    kind: r.kind as MessageKind, body: r.body, mentions: r.mentions ? (JSON.parse(r.mentions) as UserId[]) : null,
    origin: r.origin, createdAt: r.created_at, recalledAt: r.recalled_at,
  };
}

export class SqliteMessageRepo implements MessageRepo {
  private readonly s;
  /** Last inbox seq per user; the single writer keeps it, so no MAX() per message. */
  private readonly seqCache = new Map<number, number>();

  constructor(private readonly db: Db) {
    this.s = {
      byCmid: db.prepare('SELECT id, created_at FROM messages WHERE sender_id = ? AND cmid = ?'),
      seqOf: db.prepare('SELECT seq FROM inbox WHERE user_id = ? AND message_id = ?'),
      maxSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM inbox WHERE user_id = ?'),
      insert: db.prepare(`INSERT INTO messages (sender_id, cmid, conv_kind, conv_id, kind, body, mentions, origin, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      inbox: db.prepare('INSERT INTO inbox (user_id, seq, message_id) VALUES (?, ?, ?)'),
      msgFile: db.prepare('INSERT OR IGNORE INTO message_files (file_id, message_id) VALUES (?, ?)'),
      recall: db.prepare('UPDATE messages SET recalled_at = ? WHERE id = ? AND recalled_at IS NULL'),
      after: db.prepare(`SELECT i.seq, m.*, u.account AS sender_account, a.key AS app_key, a.name AS app_name FROM inbox i JOIN messages m ON m.id = i.message_id
        LEFT JOIN users u ON u.id = m.sender_id LEFT JOIN apps a ON m.conv_kind = 'app' AND a.id = m.conv_id
        WHERE i.user_id = ? AND i.seq > ? ORDER BY i.seq LIMIT ?`),
      appByKey: db.prepare('SELECT id, key, name FROM apps WHERE key = ?'),
      get: db.prepare('SELECT * FROM messages WHERE id = ?'),
      readGet: db.prepare('SELECT up_to FROM read_state WHERE user_id = ? AND conv_kind = ? AND conv_id = ?'),
      readSet: db.prepare(`INSERT INTO read_state (user_id, conv_kind, conv_id, up_to, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (user_id, conv_kind, conv_id) DO UPDATE SET up_to = excluded.up_to, updated_at = excluded.updated_at`),
      sendersGroup: db.prepare(`SELECT DISTINCT sender_id FROM messages WHERE conv_kind = 'group' AND conv_id = ? AND id > ? AND id <= ? AND sender_id <> ?`),
      sendersUser: db.prepare(`SELECT 1 FROM messages WHERE conv_kind = 'user' AND sender_id = ? AND conv_id = ? AND id > ? AND id <= ? LIMIT 1`),
      readGroup: db.prepare(`SELECT COUNT(*) AS n FROM read_state WHERE conv_kind = 'group' AND conv_id = ? AND up_to >= ? AND user_id <> ?`),
      readUser: db.prepare(`SELECT COUNT(*) AS n FROM read_state WHERE conv_kind = 'user' AND user_id = ? AND conv_id = ? AND up_to >= ?`),
      canRead: db.prepare(`SELECT 1 FROM file_uploads WHERE file_id = @f AND user_id = @u
        UNION ALL SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id
          WHERE mf.file_id = @f AND ((m.conv_kind = 'user' AND (m.sender_id = @u OR m.conv_id = @u))
            OR (m.conv_kind = 'group' AND EXISTS (SELECT 1 FROM group_members g WHERE g.group_id = m.conv_id AND g.user_id = @u))
            OR (m.conv_kind = 'app' AND EXISTS (SELECT 1 FROM inbox i WHERE i.user_id = @u AND i.message_id = m.id)))
        LIMIT 1`),
    };
  }

  private nextSeq(userId: number, touched: Set<number>): number {
    let cur = this.seqCache.get(userId);
    if (cur === undefined) cur = (this.s.maxSeq.get(userId) as { s: number }).s;
    const next = cur + 1;
    this.seqCache.set(userId, next);
    touched.add(userId);
    return next;
  }

  async appendBatch(items: AppendItem[]): Promise<AppendResult[]> {
    const touched = new Set<number>();
    const run = this.db.transaction((): AppendResult[] => {
      const results: AppendResult[] = [];
      const inBatch = new Map<string, { id: MessageId; ts: number; seq: number }>();
      const now = Date.now();
      for (const it of items) {
        const key = `${it.senderId}\u0000${it.cmid}`;
        const again = inBatch.get(key);
        if (again) {
          results.push({ ok: true, duplicate: true, id: again.id, ts: again.ts, senderSeq: again.seq });
          continue;
        }
        const prior = this.s.byCmid.get(it.senderId, it.cmid) as { id: number; created_at: number } | undefined;
        if (prior) {
          const seq = (this.s.seqOf.get(it.senderId, prior.id) as { seq: number } | undefined)?.seq ?? 0;
          results.push({ ok: true, duplicate: true, id: prior.id as MessageId, ts: prior.created_at, senderSeq: seq });
          continue;
        }
        // a savepoint per item, so one bad item does not undo the batch
        try {
          const r = this.db.transaction(() => {
            const info = this.s.insert.run(it.senderId, it.cmid, it.conv.kind, it.conv.id, it.kind, it.body, it.mentions ? JSON.stringify(it.mentions) : null, it.origin, now);
            const id = Number(info.lastInsertRowid) as MessageId;
            const seqs = new Map<UserId, number>();
            for (const u of it.recipients) {
              const seq = this.nextSeq(u, touched);
              this.s.inbox.run(u, seq, id);
              seqs.set(u, seq);
            }
            for (const f of it.fileIds) this.s.msgFile.run(f, id);
            if (it.recallOf !== undefined) this.s.recall.run(now, it.recallOf);
            return { id, seqs };
          })();
          inBatch.set(key, { id: r.id, ts: now, seq: r.seqs.get(it.senderId) ?? 0 });
          results.push({ ok: true, duplicate: false, id: r.id, ts: now, seqs: r.seqs });
        } catch (e) {
          // the savepoint rolled back this item's rows; its seq numbers must be re-read
          for (const u of it.recipients) this.seqCache.delete(u);
          results.push({ ok: false, error: e as Error });
        }
      }
      return results;
    });
    try {
      return run();
    } catch (e) {
      for (const u of touched) this.seqCache.delete(u);
      throw e;
    }
  }

  async inboxAfter(userId: UserId, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const rows = this.s.after.all(userId, afterSeq, limit) as (MessageRow & { seq: number; sender_account: string | null; app_key: string | null; app_name: string | null })[];
    return rows.map((r) => ({
      ...messageFrom(r), seq: r.seq, senderAccount: r.sender_account ?? '',
      ...(r.app_key !== null ? { app: { key: r.app_key, name: r.app_name ?? r.app_key } } : {}),
    }));
  }

  async lastSeq(userId: UserId): Promise<number> {
    const c = this.seqCache.get(userId);
    if (c !== undefined) return c;
    return (this.s.maxSeq.get(userId) as { s: number }).s;
  }

  async getMessage(id: MessageId): Promise<StoredMessage | null> {
    const r = this.s.get.get(id) as MessageRow | undefined;
    return r ? messageFrom(r) : null;
  }

  async advanceRead(userId: UserId, conv: Conversation, upTo: MessageId): Promise<MessageId | null> {
    return this.db.transaction(() => {
      const cur = (this.s.readGet.get(userId, conv.kind, conv.id) as { up_to: number } | undefined)?.up_to ?? 0;
      if (upTo <= cur) return null;
      this.s.readSet.run(userId, conv.kind, conv.id, upTo, Date.now());
      return cur as MessageId;
    })();
  }

  async sendersBetween(conv: Conversation, after: MessageId, upTo: MessageId, exclude: UserId): Promise<UserId[]> {
    if (conv.kind === 'group') return (this.s.sendersGroup.all(conv.id, after, upTo, exclude) as { sender_id: number }[]).map((r) => r.sender_id as UserId);
    return this.s.sendersUser.get(conv.id, exclude, after, upTo) ? [conv.id] : [];
  }

  async readCount(id: MessageId): Promise<number> {
    const m = this.s.get.get(id) as MessageRow | undefined;
    if (!m) return 0;
    if (m.conv_kind === 'group') return (this.s.readGroup.get(m.conv_id, id, m.sender_id) as { n: number }).n;
    return (this.s.readUser.get(m.conv_id, m.sender_id, id) as { n: number }).n;
  }

  async canReadFile(userId: UserId, fileId: string): Promise<boolean> {
    return this.s.canRead.get({ f: fileId, u: userId }) !== undefined;
  }

  async appByKey(key: string): Promise<AppRecord | null> {
    const r = this.s.appByKey.get(key) as { id: number; key: string; name: string } | undefined;
    return r ? { rowId: r.id, key: r.key, name: r.name } : null;
  }
}
