import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * The bridge's own tables in the adapter database (`adapter.db`, next to the channel's outbox
 * and high-water, so a transactional payload handler can write them in the transaction that
 * marks a payload processed). Created with IF NOT EXISTS: additive to the channel schema.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS bridge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- captures already handed to the gateway, by imMessageId (de-duplication, with expiry)
CREATE TABLE IF NOT EXISTS bridge_seen (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
-- messages this adapter injected into RTX, so that their capture is not sent back (echo)
CREATE TABLE IF NOT EXISTS bridge_echo (id INTEGER PRIMARY KEY, sender TEXT NOT NULL, text_hash TEXT NOT NULL, kind TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bridge_echo_key ON bridge_echo (sender, text_hash);
-- content of recent captures per capture path, so two paths do not deliver one message twice
CREATE TABLE IF NOT EXISTS bridge_content (key TEXT NOT NULL, via TEXT NOT NULL, n INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (key, via));
-- deliveries into RTX (gw.im.send / gw.notify.send): queued until RTX accepted or refused them;
-- done rows stay (the "delivered ref") until they expire, so a repeated ref is not sent twice
CREATE TABLE IF NOT EXISTS bridge_job (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ref TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,            -- im | notify
  body TEXT NOT NULL,
  conv TEXT NOT NULL,            -- ordering lane: one conversation
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL,           -- queued | done
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  result TEXT,                   -- the rtx.delivery body, once done
  reported INTEGER NOT NULL DEFAULT 0,
  done_at INTEGER
);
CREATE INDEX IF NOT EXISTS bridge_job_queued ON bridge_job (state, id);
`;

export interface JobRow {
  id: number;
  ref: string;
  kind: 'im' | 'notify';
  body: string;
  conv: string;
  received_at: number;
  state: 'queued' | 'done';
  attempts: number;
  next_at: number;
  last_error: string | null;
  result: string | null;
}

export const textHash = (text: string): string => createHash('sha256').update(text.replace(/\r\n?/g, '\n').trim()).digest('hex').slice(0, 32);

export class BridgeStore {
  constructor(readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  getMeta(key: string): string | null {
    return (this.db.prepare('SELECT value FROM bridge_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  }

  setMeta(key: string, value: string | null): void {
    if (value === null) this.db.prepare('DELETE FROM bridge_meta WHERE key = ?').run(key);
    else this.db.prepare('INSERT INTO bridge_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ---- de-duplication of captures ----

  seen(id: string, now = Date.now()): boolean {
    return this.db.prepare('SELECT 1 FROM bridge_seen WHERE id = ? AND expires_at > ?').get(id, now) !== undefined;
  }

  markSeen(ids: readonly string[], ttlMs: number, now = Date.now()): void {
    if (ids.length === 0) return;
    const ins = this.db.prepare('INSERT INTO bridge_seen (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at');
    this.db.transaction(() => {
      for (const id of ids) ins.run(id, now + ttlMs);
    })();
  }

  // ---- echo suppression ----

  addEcho(sender: string, text: string, kind: 'single' | 'group', ttlMs: number, now = Date.now()): number {
    return Number(this.db.prepare('INSERT INTO bridge_echo (sender, text_hash, kind, expires_at) VALUES (?, ?, ?, ?)').run(sender.trim().toLowerCase(), textHash(text), kind, now + ttlMs).lastInsertRowid);
  }

  dropEcho(id: number): void {
    this.db.prepare('DELETE FROM bridge_echo WHERE id = ?').run(id);
  }

  /** Consumes one live echo entry matching this capture; true when there was one. */
  takeEcho(sender: string, text: string, kind: 'single' | 'group', now = Date.now()): boolean {
    const row = this.db.prepare('SELECT id FROM bridge_echo WHERE sender = ? AND text_hash = ? AND kind = ? AND expires_at > ? ORDER BY id LIMIT 1').get(sender.trim().toLowerCase(), textHash(text), kind, now) as { id: number } | undefined;
    if (!row) return false;
    this.dropEcho(row.id);
    return true;
  }

  // ---- the same message seen by two capture paths ----

  /**
   * Records that `via` captured a message with this content key (one per second of `keys`: the
   * key of its second first, then the neighbours). Returns true when another path already
   * captured it (and consumes that path's count), false when it is new.
   */
  takeOrAddContent(keys: readonly string[], via: string, ttlMs: number, now = Date.now()): boolean {
    return this.db.transaction(() => {
      for (const k of keys) {
        const other = this.db.prepare('SELECT via FROM bridge_content WHERE key = ? AND via <> ? AND n > 0 AND expires_at > ? LIMIT 1').get(k, via, now) as { via: string } | undefined;
        if (other) {
          this.db.prepare('UPDATE bridge_content SET n = n - 1 WHERE key = ? AND via = ?').run(k, other.via);
          return true;
        }
      }
      this.db.prepare('INSERT INTO bridge_content (key, via, n, expires_at) VALUES (?, ?, 1, ?) ON CONFLICT (key, via) DO UPDATE SET n = n + 1, expires_at = excluded.expires_at').run(keys[0], via, now + ttlMs);
      return false;
    })();
  }

  // ---- deliveries into RTX ----

  /** Queues a delivery (inside the payload's transaction). False when this ref was already queued or delivered. */
  enqueueJob(j: { ref: string; kind: 'im' | 'notify'; body: unknown; conv: string }, now = Date.now()): boolean {
    return this.db.prepare("INSERT OR IGNORE INTO bridge_job (ref, kind, body, conv, received_at, state) VALUES (?, ?, ?, ?, ?, 'queued')").run(j.ref, j.kind, JSON.stringify(j.body), j.conv, now).changes > 0;
  }

  /** Sets the lane of each queued job of `kind` to `laneOf(body)` where it differs (null keeps it); returns how many changed. */
  relaneQueued(kind: 'im' | 'notify', laneOf: (body: string) => string | null): number {
    const rows = this.db.prepare("SELECT id, body, conv FROM bridge_job WHERE state = 'queued' AND kind = ? ORDER BY id").all(kind) as Array<Pick<JobRow, 'id' | 'body' | 'conv'>>;
    const up = this.db.prepare('UPDATE bridge_job SET conv = ? WHERE id = ?');
    return this.db.transaction(() => {
      let n = 0;
      for (const r of rows) {
        const lane = laneOf(r.body);
        if (lane !== null && lane !== r.conv) n += up.run(lane, r.id).changes;
      }
      return n;
    })();
  }

  queuedJobs(limit: number): JobRow[] {
    return this.db.prepare("SELECT * FROM bridge_job WHERE state = 'queued' ORDER BY id LIMIT ?").all(limit) as JobRow[];
  }

  retryJob(id: number, nextAt: number, error: string): void {
    this.db.prepare('UPDATE bridge_job SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?').run(nextAt, error, id);
  }

  finishJob(id: number, result: unknown, now = Date.now()): void {
    this.db.prepare("UPDATE bridge_job SET state = 'done', attempts = attempts + 1, result = ?, done_at = ?, reported = 0 WHERE id = ?").run(JSON.stringify(result), now, id);
  }

  markReported(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const up = this.db.prepare('UPDATE bridge_job SET reported = 1 WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) up.run(id);
    })();
  }

  unreported(): Array<{ id: number; result: string }> {
    return this.db.prepare("SELECT id, result FROM bridge_job WHERE state = 'done' AND reported = 0 ORDER BY id").all() as Array<{ id: number; result: string }>;
  }

  jobCounts(): { queued: number; done: number } {
    const r = this.db.prepare("SELECT SUM(state = 'queued') AS queued, SUM(state = 'done') AS done FROM bridge_job").get() as { queued: number | null; done: number | null };
    return { queued: r.queued ?? 0, done: r.done ?? 0 };
  }

  /** Drops expired de-duplication, echo and content rows, and delivered refs older than doneTtlMs. */
  purge(doneTtlMs: number, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM bridge_seen WHERE expires_at <= ?').run(now);
      this.db.prepare('DELETE FROM bridge_echo WHERE expires_at <= ?').run(now);
      this.db.prepare('DELETE FROM bridge_content WHERE expires_at <= ?').run(now);
      this.db.prepare("DELETE FROM bridge_job WHERE state = 'done' AND reported = 1 AND done_at <= ?").run(now - doneTtlMs);
    })();
  }
}
