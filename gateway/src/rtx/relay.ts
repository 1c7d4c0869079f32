import type { Bus } from '../bus/bus.js';
import type { Logger } from '../log.js';
import { MAX_RECEIVERS, ToAdapter, type ImSend } from '../protocol/rtx-bridge-v1.js';
import type { Db } from '../storage/sqlite.js';
import { rtxText } from './text.js';

/** Messages looked at per transaction. */
export const RELAY_BATCH = 200;
const RETRY_MS = 1000;

interface MessageRow {
  id: number; sender_id: number; conv_kind: string; conv_id: number; kind: string; body: string; origin: string; created_at: number; sender_account: string | null;
}

/** Appends payloads to the plugin outbox inside the caller's transaction (PluginHub.sendInTransaction). */
export interface TransactionalOutbox {
  sendInTransaction<T>(fn: (queue: (type: string, body: unknown) => void) => T): T;
}

/**
 * The outbound relay (docs/protocol/rtx-bridge-v1.md "To RTX"): every stored
 * message whose recipient is an RTX-origin user (1:1) or that is posted in an
 * RTX-origin group, and that did not come from RTX, becomes one `gw.im.send`.
 * Exactly once across crashes: a cursor over the messages table (rtx_relay)
 * moves in the same SQLite transaction that appends the payloads to the
 * plugin outbox. Woken by the bus's message events (no polling), so a message
 * is handed to the outbox within one event-loop turn of being stored.
 * Recalls are not relayed (RTX has no recall).
 */
export class RtxRelay {
  private readonly s;
  private scheduled = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private retry: NodeJS.Timeout | null = null;
  relayed = 0;

  constructor(private readonly deps: { db: Db; outbox: TransactionalOutbox; bus: Bus; log: Logger }) {
    const db = deps.db;
    this.s = {
      cursor: db.prepare('SELECT last_message_id FROM rtx_relay WHERE id = 1').pluck(),
      setCursor: db.prepare('UPDATE rtx_relay SET last_message_id = ? WHERE id = 1'),
      after: db.prepare(`SELECT m.id, m.sender_id, m.conv_kind, m.conv_id, m.kind, m.body, m.origin, m.created_at, u.account AS sender_account
        FROM messages m LEFT JOIN users u ON u.id = m.sender_id WHERE m.id > ? ORDER BY m.id LIMIT ?`),
      user: db.prepare('SELECT account, origin FROM users WHERE id = ?'),
      group: db.prepare('SELECT name, origin, external_id FROM groups WHERE id = ?'),
      rtxMembers: db.prepare(`SELECT u.account FROM group_members m JOIN users u ON u.id = m.user_id
        WHERE m.group_id = ? AND u.origin = 'rtx' AND u.id <> ? ORDER BY m.joined_at, u.id`).pluck(),
      session: db.prepare('SELECT session_key FROM rtx_im_sessions WHERE a = ? AND b = ?').pluck(),
      remember: db.prepare(`INSERT INTO rtx_im_sessions (a, b, session_key, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (a, b) DO UPDATE SET session_key = excluded.session_key, updated_at = excluded.updated_at`),
      message: db.prepare(`SELECT m.id, m.sender_id, m.conv_kind, m.conv_id, m.kind, m.body, m.origin, m.created_at, u.account AS sender_account
        FROM messages m LEFT JOIN users u ON u.id = m.sender_id WHERE m.id = ?`),
    };
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.deps.bus.subscribe((e) => {
      if (e.type === 'message') this.kick();
    });
    // catch up with what was stored while the gateway was down
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  /** Schedules a pass over the messages stored since the cursor. */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.stopped) return;
    let n: number;
    try {
      n = this.step();
    } catch (e) {
      this.deps.log.warn({ err: e }, 'RTX relay: a pass failed; retrying');
      if (!this.retry && !this.stopped) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, RETRY_MS);
        this.retry.unref();
      }
      return;
    }
    // more may wait: continue after other work had its turn
    if (n === RELAY_BATCH) this.kick();
  }

  /** One transaction: the next messages after the cursor, their gw.im.send payloads, the cursor moved. Returns how many messages were looked at. */
  step(): number {
    return this.deps.outbox.sendInTransaction((queue) => {
      const cursor = this.s.cursor.get() as number;
      const rows = this.s.after.all(cursor, RELAY_BATCH) as MessageRow[];
      for (const r of rows) {
        const send = this.toImSend(r);
        if (send) {
          queue(ToAdapter.ImSend, send);
          this.relayed += 1;
        }
      }
      if (rows.length > 0) this.s.setCursor.run((rows[rows.length - 1] as MessageRow).id);
      return rows.length;
    });
  }

  /** The gw.im.send for a stored message, or null when it does not go to RTX. */
  toImSend(r: MessageRow): ImSend | null {
    if (r.origin === 'rtx' || r.kind === 'recall' || r.sender_id <= 0 || r.sender_account === null) return null;
    const base = { ref: `m${r.id}`, sender: r.sender_account, text: rtxText(r.kind, r.body), sentAtMs: r.created_at };
    if (r.conv_kind === 'user') {
      if (r.conv_id === r.sender_id) return null;
      const to = this.s.user.get(r.conv_id) as { account: string; origin: string } | undefined;
      if (!to || to.origin !== 'rtx') return null;
      const [a, b] = [r.sender_account.toLowerCase(), to.account.toLowerCase()].sort() as [string, string];
      const sessionKey = this.s.session.get(a, b) as string | undefined;
      return { ...base, receivers: [to.account], ...(sessionKey ? { sessionKey } : {}) };
    }
    if (r.conv_kind === 'group') {
      const g = this.s.group.get(r.conv_id) as { name: string; origin: string; external_id: string | null } | undefined;
      if (!g || g.origin !== 'rtx' || g.external_id === null) return null;
      const receivers = (this.s.rtxMembers.all(r.conv_id, r.sender_id) as string[]).slice(0, MAX_RECEIVERS);
      if (receivers.length === 0) return null;
      const sessionKey = this.s.session.get('#group', g.external_id.toLowerCase()) as string | undefined;
      return { ...base, receivers, group: { id: g.external_id, name: g.name }, ...(sessionKey ? { sessionKey } : {}) };
    }
    return null;
  }

  /** Remembers the RTX session of a 1:1 conversation (from a captured message), so replies go into it. */
  rememberPair(a: string, b: string, sessionKey: string): void {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()].sort() as [string, string];
    this.remember(x, y, sessionKey);
  }

  /** Remembers the RTX session of a group (by its DisGroup id). */
  rememberGroup(groupExt: string, sessionKey: string): void {
    this.remember('#group', groupExt.toLowerCase(), sessionKey);
  }

  /** Writes only a new or changed session key: every captured message carries one, and each write would be a commit of its own. */
  private remember(a: string, b: string, sessionKey: string): void {
    if (this.s.session.get(a, b) === sessionKey) return;
    this.s.remember.run(a, b, sessionKey, Date.now());
  }

  /** The gw.im.send a message would give (for the SendNotify fallback), or null. */
  imSendFor(messageId: number): ImSend | null {
    const r = this.s.message.get(messageId) as MessageRow | undefined;
    return r ? this.toImSend(r) : null;
  }
}
