import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/sqlite.js';
import type { LicenceRepo, StoredLicence } from './repo.js';

interface LicenceRow { id: string; body: string; imported_at: number; active: number }

const fromRow = (r: LicenceRow): StoredLicence => ({ id: r.id, body: r.body, importedAt: r.imported_at, active: r.active === 1 });

/** Licences in the `licences` table (migration 002); the installation id in `meta`. */
export class SqliteLicenceRepo implements LicenceRepo {
  constructor(private readonly db: Db) {}

  async active(): Promise<StoredLicence | null> {
    const r = this.db.prepare('SELECT id, body, imported_at, active FROM licences WHERE active = 1').get() as LicenceRow | undefined;
    return r ? fromRow(r) : null;
  }

  async get(id: string): Promise<StoredLicence | null> {
    const r = this.db.prepare('SELECT id, body, imported_at, active FROM licences WHERE id = ?').get(id) as LicenceRow | undefined;
    return r ? fromRow(r) : null;
  }

  async activate(id: string, body: string, importedAt: number): Promise<void> {
    this.db.transaction(() => {
      // deactivate first: the partial unique index allows one active row per statement
      this.db.prepare('UPDATE licences SET active = 0 WHERE active = 1 AND id <> ?').run(id);
      this.db
        .prepare(`INSERT INTO licences (id, body, imported_at, active) VALUES (?, ?, ?, 1)
          ON CONFLICT (id) DO UPDATE SET body = excluded.body, imported_at = excluded.imported_at, active = 1`)
        .run(id, body, importedAt);
    })();
  }

  async list(): Promise<StoredLicence[]> {
    return (this.db.prepare('SELECT id, body, imported_at, active FROM licences ORDER BY imported_at DESC, id').all() as LicenceRow[]).map(fromRow);
  }

  async installationId(): Promise<string> {
    // INSERT … DO NOTHING then read: concurrent first calls agree on one id
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('installation_id', ?) ON CONFLICT (key) DO NOTHING").run(randomUUID());
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").get() as { value: string }).value;
  }
}
