import t from 'tap';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseTooNewError, listMigrations, openDatabase } from '../../gateway/src/storage/sqlite.js';
import { tempDir } from '../helpers/gateway.js';

t.test('a new database gets every migration, in WAL mode, once', async (t) => {
  const file = path.join(tempDir(t), 'h.db');
  const db = openDatabase(file);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL by default');
  const applied = db.prepare('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[];
  t.same(applied.map((r) => r.version), listMigrations().map((m) => m.version));
  db.close();
  const again = openDatabase(file);
  t.equal((again.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, applied.length, 'reopening applies nothing twice');
  again.close();
});

t.test('migration files are numbered, named in kebab-case and contiguous', async (t) => {
  const ms = listMigrations();
  t.ok(ms.length >= 1);
  ms.forEach((m, i) => t.equal(m.version, i + 1, `${m.name} is number ${i + 1}`));
});

t.test('a database newer than the code is refused, untouched', async (t) => {
  const file = path.join(tempDir(t), 'h.db');
  openDatabase(file).close();
  const raw = new Database(file);
  raw.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (999, ?, ?)').run('999-from-the-future', Date.now());
  raw.close();
  t.throws(() => openDatabase(file), DatabaseTooNewError);
  const check = new Database(file);
  t.equal((check.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number }).v, 999, 'nothing was changed');
  check.close();
});

t.test('a failing migration leaves no trace', async (t) => {
  const file = path.join(tempDir(t), 'h.db');
  const db = openDatabase(file);
  const { migrate } = await import('../../gateway/src/storage/sqlite.js');
  const broken = [...listMigrations(), { version: 900, name: '900-broken', sql: 'CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;' }];
  t.throws(() => migrate(db, broken));
  t.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get(), undefined, 'the table of the failed migration is gone');
  t.equal((db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number }).v, listMigrations().length);
  db.close();
});
