import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export class DatabaseTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`the database is at schema version ${found}, newer than this program knows (${known}); upgrade Huitong`);
    this.name = 'DatabaseTooNewError';
  }
}

/** Finds the package root (the folder with package.json) from this module, in src or dist alike. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'gateway'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package root not found');
    dir = up;
  }
}

export const MIGRATIONS_DIR = path.join(packageRoot(), 'gateway', 'src', 'storage', 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, f), 'utf8') }));
}

export interface OpenOptions {
  synchronous?: 'FULL' | 'NORMAL';
  readonly?: boolean;
}

/**
 * Opens (creating if needed) the SQLite database in WAL mode and applies pending
 * forward-only migrations, each in its own transaction, recorded in
 * schema_version. Throws DatabaseTooNewError when the file is newer than the code.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { readonly: opts.readonly ?? false });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  if (!opts.readonly) migrate(db);
  return db;
}

export function migrate(db: Db, migrations = listMigrations()): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as { v: number }).v;
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > known) throw new DatabaseTooNewError(current, known);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
  return known;
}
