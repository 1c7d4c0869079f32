import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { HighWaterStore, OutboundFrame, PluginOutbox } from '../../gateway/src/protocol/plugin-session.js';

/** Schema version of the adapter's database (PRAGMA user_version). */
const SCHEMA_VERSION = 1;
export const ADAPTER_DB_FILE = 'adapter.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stream (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  in_seq INTEGER NOT NULL DEFAULT 0,     -- highest seq from the gateway durably processed
  out_seq INTEGER NOT NULL DEFAULT 0,    -- last seq handed out to a frame for the gateway
  out_acked INTEGER NOT NULL DEFAULT 0   -- highest seq the gateway acknowledged
);
INSERT OR IGNORE INTO stream (id) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

export class AdapterDatabaseTooNewError extends Error {}

/**
 * The adapter's persistent side of the plugin channel: one SQLite file
 * (`<dataDir>/adapter.db`, WAL, synchronous FULL) holding the adapter id, the
 * outbox of frames for the gateway and the high-water of frames from it. A
 * restarted adapter opens the same file and resumes exactly where it was.
 *
 * The adapter id is generated with the database: a new database is a new
 * stream for the gateway (its sequence numbers start again at 1), so a wiped
 * or replaced database never has its frames mistaken for duplicates.
 * Payload handlers registered as transactional (`channel.on`) may write to
 * `db` inside the transaction that records a frame as processed.
 */
export class AdapterStore implements PluginOutbox, HighWaterStore {
  readonly db: Database.Database;
  readonly adapterId: string;
  readonly file: string;

  private constructor(file: string, synchronous: 'FULL' | 'NORMAL') {
    this.file = file;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new AdapterDatabaseTooNewError(`${file} is at schema version ${version}, newer than this adapter knows (${SCHEMA_VERSION}); upgrade the adapter`);
    }
    this.db.transaction(() => {
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      this.db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('adapter_id', randomUUID());
    })();
    this.adapterId = (this.db.prepare("SELECT value FROM meta WHERE key = 'adapter_id'").get() as { value: string }).value;
  }

  /** Opens (creating if needed) `<dataDir>/adapter.db`. Throws AdapterDatabaseTooNewError for a newer schema. */
  static open(dataDir: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): AdapterStore {
    mkdirSync(dataDir, { recursive: true });
    return new AdapterStore(path.join(dataDir, ADAPTER_DB_FILE), opts.synchronous ?? 'FULL');
  }

  private stream_(): { inSeq: number; outSeq: number; outAcked: number } {
    return this.db.prepare('SELECT in_seq AS inSeq, out_seq AS outSeq, out_acked AS outAcked FROM stream WHERE id = 1').get() as { inSeq: number; outSeq: number; outAcked: number };
  }

  // ---- PluginOutbox ----

  append(items: readonly { type: string; bodyJson: string }[]): number[] {
    return this.db.transaction(() => {
      let seq = this.stream_().outSeq;
      const ins = this.db.prepare('INSERT INTO outbox (seq, type, body, created_at) VALUES (?, ?, ?, ?)');
      const now = Date.now();
      const seqs: number[] = [];
      for (const it of items) {
        ins.run(++seq, it.type, it.bodyJson, now);
        seqs.push(seq);
      }
      this.db.prepare('UPDATE stream SET out_seq = ? WHERE id = 1').run(seq);
      return seqs;
    })();
  }

  unacked(afterSeq: number, limit: number): OutboundFrame[] {
    return this.db.prepare('SELECT seq, type, body AS bodyJson FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as OutboundFrame[];
  }

  ack(upTo: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(upTo);
      this.db.prepare('UPDATE stream SET out_acked = MAX(out_acked, ?), out_seq = MAX(out_seq, ?) WHERE id = 1').run(upTo, upTo);
    })();
  }

  state(): { lastSeq: number; ackedSeq: number } {
    const s = this.stream_();
    return { lastSeq: s.outSeq, ackedSeq: s.outAcked };
  }

  // ---- HighWaterStore ----

  stream(): string {
    return this.adapterId;
  }

  highWater(): number {
    return this.stream_().inSeq;
  }

  setHighWater(seq: number): void {
    this.db.prepare('UPDATE stream SET in_seq = ? WHERE id = 1').run(seq);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
