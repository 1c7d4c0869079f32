import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db } from '../storage/sqlite.js';

/** Letters and digits that cannot be mistaken for one another when read aloud or typed (no I, L, O, U, 0, 1). */
const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789';
const GROUPS = 4;
const GROUP_CHARS = 4;

/** A new code: four groups of four, e.g. `K7QM-3XRT-WB9P-HN4D` (about 78 bits). */
export function newConnectionCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let s = '';
    for (let i = 0; i < GROUP_CHARS; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

/** How a typed code is compared: case, spaces and dashes do not matter. */
export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

const digest = (s: string) => createHash('sha256').update(normaliseCode(s), 'utf8').digest();

export interface ConnectionCodeView {
  code: string;
  /** When it was generated (ms since the epoch). */
  createdAt: number;
}

/**
 * The RTX integration's connection code (Settings → RTX integration): the
 * shared secret an adapter presents in `hello` on the plugin channel.
 *
 * It is kept in clear in the database (table rtx_connection_code), like an
 * API key, because the console must show it again whenever an administrator
 * sets up an adapter; a hash could only be shown once. It is never logged and
 * never part of an action-log entry; anyone who can read the database file can
 * read it, as they can read every message. It is generated on first use and
 * replaced by regenerate(), which tells the listeners (the plugin edge
 * disconnects the adapter connected with the old code).
 */
export class ConnectionCodeService {
  private cache: ConnectionCodeView | null = null;
  private readonly listeners = new Set<(view: ConnectionCodeView) => void>();

  constructor(private readonly db: Db) {}

  /** The current code, generated (and stored) on first use. */
  current(): ConnectionCodeView {
    if (this.cache) return this.cache;
    const row = this.db.prepare('SELECT code, created_at AS createdAt FROM rtx_connection_code WHERE id = 1').get() as ConnectionCodeView | undefined;
    if (row) return (this.cache = { code: row.code, createdAt: row.createdAt });
    return this.store(newConnectionCode(), false);
  }

  /** Replaces the code; durable before it returns. Listeners hear of it after. */
  regenerate(): ConnectionCodeView {
    const view = this.store(newConnectionCode(), true);
    for (const l of this.listeners) l(view);
    return view;
  }

  /** Constant-time comparison of a presented code with the current one (case, spaces and dashes ignored). */
  verify(presented: string): boolean {
    return timingSafeEqual(digest(presented), digest(this.current().code));
  }

  /** Calls fn after each regenerate(); returns a function that stops it. */
  onRegenerate(fn: (view: ConnectionCodeView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private store(code: string, replace: boolean): ConnectionCodeView {
    const now = Date.now();
    const sql = replace
      ? 'INSERT INTO rtx_connection_code (id, code, created_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET code = excluded.code, created_at = excluded.created_at'
      : 'INSERT INTO rtx_connection_code (id, code, created_at) VALUES (1, ?, ?) ON CONFLICT(id) DO NOTHING';
    this.db.prepare(sql).run(code, now);
    this.cache = null;
    const row = this.db.prepare('SELECT code, created_at AS createdAt FROM rtx_connection_code WHERE id = 1').get() as ConnectionCodeView;
    return (this.cache = { code: row.code, createdAt: row.createdAt });
  }
}
