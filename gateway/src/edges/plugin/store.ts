import type { Db } from '../../storage/sqlite.js';
import type { HighWaterStore, OutboundFrame, PluginOutbox } from '../../protocol/plugin-session.js';

interface StreamRow {
  adapterId: string;
  inSeq: number;
  outSeq: number;
  outAcked: number;
  name: string;
  software: string;
  firstSeenAt: number;
  lastSeenAt: number | null;
}

const STREAM_COLS = 'adapter_id AS adapterId, in_seq AS inSeq, out_seq AS outSeq, out_acked AS outAcked, name, software, first_seen_at AS firstSeenAt, last_seen_at AS lastSeenAt';

/**
 * The gateway's side of the plugin channel's reliable stream, in its SQLite
 * database (tables plugin_stream and plugin_outbox, migration 004): the outbox
 * of frames for the adapter and the high-water of frames from it, for the
 * bound stream. This process is the only writer, so the bound stream's id is
 * cached.
 */
export class SqlitePluginStore implements PluginOutbox, HighWaterStore {
  private boundId: string;

  constructor(private readonly db: Db) {
    this.boundId = this.readBound().adapterId;
  }

  private readBound(): StreamRow {
    const row = this.db.prepare(`SELECT ${STREAM_COLS} FROM plugin_stream WHERE bound = 1`).get() as StreamRow | undefined;
    if (row) return row;
    // the migration inserts the placeholder; recreate it if someone deleted it
    this.db.prepare("INSERT INTO plugin_stream (adapter_id, bound, first_seen_at) VALUES ('', 1, ?) ON CONFLICT(adapter_id) DO UPDATE SET bound = 1").run(Date.now());
    return this.readBound();
  }

  /** The bound stream: whose frames go out, and whose high-water handlers raise. */
  bound(): StreamRow {
    return this.row(this.boundId) as StreamRow;
  }

  row(adapterId: string): StreamRow | undefined {
    return this.db.prepare(`SELECT ${STREAM_COLS} FROM plugin_stream WHERE adapter_id = ?`).get(adapterId) as StreamRow | undefined;
  }

  /**
   * Makes `adapterId` the bound stream (creating its row). The frames still
   * unacknowledged on the previously bound stream move to it, renumbered after
   * its last seq, in order, so nothing queued for the RTX side is lost when an
   * adapter starts over with a new database (new id). One transaction.
   * Returns how many frames moved.
   */
  bind(adapterId: string): number {
    if (adapterId === this.boundId) return 0;
    const now = Date.now();
    const moved = this.db.transaction(() => {
      const old = this.bound();
      this.db.prepare('INSERT INTO plugin_stream (adapter_id, first_seen_at) VALUES (?, ?) ON CONFLICT(adapter_id) DO NOTHING').run(adapterId, now);
      const target = this.row(adapterId) as StreamRow;
      const frames = this.db.prepare('SELECT seq, type, body, created_at AS createdAt FROM plugin_outbox WHERE adapter_id = ? AND seq > ? ORDER BY seq').all(old.adapterId, old.outAcked) as {
        seq: number;
        type: string;
        body: string;
        createdAt: number;
      }[];
      const ins = this.db.prepare('INSERT INTO plugin_outbox (adapter_id, seq, type, body, created_at) VALUES (?, ?, ?, ?, ?)');
      let seq = target.outSeq;
      for (const f of frames) ins.run(adapterId, ++seq, f.type, f.body, f.createdAt);
      this.db.prepare('DELETE FROM plugin_outbox WHERE adapter_id = ?').run(old.adapterId);
      this.db.prepare('UPDATE plugin_stream SET bound = 0, out_acked = out_seq WHERE adapter_id = ?').run(old.adapterId);
      this.db.prepare('UPDATE plugin_stream SET bound = 1, out_seq = ? WHERE adapter_id = ?').run(seq, adapterId);
      return frames.length;
    })();
    this.boundId = adapterId;
    return moved;
  }

  /** Records the adapter's name, software and when it was last connected. */
  touch(adapterId: string, info: { name?: string; software?: string }): void {
    this.db.prepare('UPDATE plugin_stream SET name = ?, software = ?, last_seen_at = ? WHERE adapter_id = ?').run(info.name ?? '', info.software ?? '', Date.now(), adapterId);
  }

  // ---- PluginOutbox ----

  append(items: readonly { type: string; bodyJson: string }[]): number[] {
    const id = this.boundId;
    return this.db.transaction(() => {
      let seq = (this.db.prepare('SELECT out_seq AS s FROM plugin_stream WHERE adapter_id = ?').get(id) as { s: number }).s;
      const ins = this.db.prepare('INSERT INTO plugin_outbox (adapter_id, seq, type, body, created_at) VALUES (?, ?, ?, ?, ?)');
      const now = Date.now();
      const seqs: number[] = [];
      for (const it of items) {
        ins.run(id, ++seq, it.type, it.bodyJson, now);
        seqs.push(seq);
      }
      this.db.prepare('UPDATE plugin_stream SET out_seq = ? WHERE adapter_id = ?').run(seq, id);
      return seqs;
    })();
  }

  unacked(afterSeq: number, limit: number): OutboundFrame[] {
    return this.db
      .prepare('SELECT seq, type, body AS bodyJson FROM plugin_outbox WHERE adapter_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(this.boundId, afterSeq, limit) as OutboundFrame[];
  }

  ack(upTo: number): void {
    const id = this.boundId;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM plugin_outbox WHERE adapter_id = ? AND seq <= ?').run(id, upTo);
      this.db.prepare('UPDATE plugin_stream SET out_acked = MAX(out_acked, ?), out_seq = MAX(out_seq, ?) WHERE adapter_id = ?').run(upTo, upTo, id);
    })();
  }

  state(): { lastSeq: number; ackedSeq: number } {
    const r = this.bound();
    return { lastSeq: r.outSeq, ackedSeq: r.outAcked };
  }

  // ---- HighWaterStore ----

  stream(): string {
    return this.boundId;
  }

  highWater(): number {
    return this.bound().inSeq;
  }

  setHighWater(seq: number): void {
    this.db.prepare('UPDATE plugin_stream SET in_seq = ? WHERE adapter_id = ?').run(seq, this.boundId);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
