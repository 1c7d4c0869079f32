import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import { adminSocketPath, socketAlive } from '../control/socket.js';
import { GatewayError } from '../errors/gateway-error.js';
import { SecretBox, SECRET_KEY_FILE } from '../settings/secret-box.js';
import { listMigrations, migrate, openDatabase, type Db } from '../storage/sqlite.js';
import { countDatabase, RESTORE_POLICY, schemaVersionOf, type BackupCounts, type ProgressFn } from './format.js';
import { fsyncDir } from './fs-util.js';
import { acquireImportLock } from './lock.js';
import { readArchive, type VerifyResult } from './verify.js';

/** Points of an import where tests inject a failure (a crash there must leave the old data whole). */
export type ImportPoint = 'extracted' | 'prepared' | 'files-placed' | 'committed';

export interface ImportOptions {
  config: Readonly<Config>;
  /** The database file (services.databaseFile(config)). */
  dbFile: string;
  file: string;
  /** true: go ahead after verifying; a function: asked with the verification, the import goes on only if it resolves true. */
  confirm: true | ((v: VerifyResult) => Promise<boolean> | boolean);
  /** Who imports, for the action log of the restored system. */
  actor?: string;
  onProgress?: ProgressFn;
  /** Tests: called at each ImportPoint and before each archive entry is extracted. */
  fault?: (point: ImportPoint | `entry:${string}`) => void | Promise<void>;
}

export interface ImportResult {
  imported: boolean;
  verify: VerifyResult;
  /** What the restored system holds. */
  counts: BackupCounts | null;
  /** Blobs of the replaced organisation that nothing refers to any more, deleted. */
  removedFiles: number;
  warnings: string[];
  durationMs: number;
}

const invalid = (message: string) => new GatewayError('GW_BACKUP_INVALID', message);

function tablesOf(db: Db, schema: 'main' | 'live'): Set<string> {
  return new Set((db.prepare(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
}

function columnsOf(db: Db, schema: 'main' | 'live', table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?, ?)`).all(table, schema) as { name: string }[]).map((r) => r.name);
}

/** Removes what an import that crashed left behind: staged databases beside the live one and staged blobs. */
async function removeStaleStaging(dbFile: string, tmpDir: string): Promise<void> {
  const base = path.basename(dbFile);
  for (const f of readdirSync(path.dirname(dbFile))) {
    if (f.startsWith(`${base}.restore-`)) await rm(path.join(path.dirname(dbFile), f), { force: true });
  }
  if (existsSync(tmpDir)) for (const f of readdirSync(tmpDir)) if (f.startsWith('restore-')) await rm(path.join(tmpDir, f), { recursive: true, force: true });
}

/**
 * Turns the extracted snapshot into the database to restore: checks that it is
 * the database the manifest describes and is intact, migrates it forward, and
 * applies the restore policy (format.ts RESTORE_POLICY): sessions emptied, the
 * licence, installation id and RTX link state taken from the live database,
 * the RTX relay cursor moved past every restored message. Returns the file ids it lists.
 */
/** Sealed values (settings/secret-box.ts) anywhere in a text column: `sb1:` and base64. */
const SEALED_RE = /sb1:[A-Za-z0-9+/]+={0,2}/g;

/**
 * Re-seals every value sealed with the archive's key with this data
 * directory's key, in every text column of every table (so tables added later
 * are covered). Text that merely looks sealed fails to open and stays as it is.
 */
function resealSecrets(db: Db, from: SecretBox, to: SecretBox): number {
  let n = 0;
  db.function('huitong_reseal', { deterministic: false }, (v: unknown) => {
    if (typeof v !== 'string') return v;
    return v.replace(SEALED_RE, (token) => {
      try {
        const plain = from.open(token);
        n++;
        return to.seal(plain);
      } catch {
        return token;
      }
    });
  });
  const tables = (db.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
  for (const t of tables) {
    const cols = (db.prepare("SELECT name, type FROM pragma_table_info(?, 'main')").all(t) as { name: string; type: string }[]).filter((c) => /TEXT|CHAR|CLOB|^$/i.test(c.type));
    for (const c of cols) db.prepare(`UPDATE main."${t}" SET "${c.name}" = huitong_reseal("${c.name}") WHERE "${c.name}" LIKE '%sb1:%'`).run();
  }
  return n;
}

function prepareDatabase(staged: string, live: string, v: VerifyResult, actor: string, keys: { from: SecretBox; to: SecretBox } | null): { fileIds: Set<string>; counts: BackupCounts } {
  let db: Db;
  try {
    db = new Database(staged, { fileMustExist: true });
  } catch {
    throw invalid('the archive\'s database cannot be opened');
  }
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    let ok: unknown;
    try {
      ok = db.pragma('integrity_check', { simple: true });
    } catch {
      ok = 'unreadable';
    }
    if (ok !== 'ok') throw invalid('the archive\'s database fails SQLite\'s integrity check');
    if (schemaVersionOf(db) !== v.header.schemaVersion) throw invalid(`the archive's database is at schema version ${schemaVersionOf(db)}, not ${v.header.schemaVersion} as its header says`);
    const before = countDatabase(db);
    for (const k of Object.keys(before) as (keyof BackupCounts)[]) {
      if (before[k] !== v.counts[k]) throw invalid(`the archive's database holds ${before[k]} ${k}; its manifest says ${v.counts[k]}`);
    }
    migrate(db, listMigrations());
    db.prepare('ATTACH DATABASE ? AS live').run(live);
    try {
      const mine = tablesOf(db, 'main');
      const theirs = tablesOf(db, 'live');
      db.transaction(() => {
        for (const t of RESTORE_POLICY.clearedTables) if (mine.has(t)) db.prepare(`DELETE FROM main."${t}"`).run();
        for (const t of RESTORE_POLICY.localTables) {
          if (!mine.has(t)) continue;
          db.prepare(`DELETE FROM main."${t}"`).run();
          if (!theirs.has(t)) continue;
          const liveCols = new Set(columnsOf(db, 'live', t));
          const cols = columnsOf(db, 'main', t).filter((c) => liveCols.has(c)).map((c) => `"${c}"`).join(', ');
          db.prepare(`INSERT INTO main."${t}" (${cols}) SELECT ${cols} FROM live."${t}"`).run();
        }
        if (mine.has('meta')) {
          const keys = RESTORE_POLICY.localMetaKeys.map(() => '?').join(', ');
          db.prepare(`DELETE FROM main.meta WHERE key IN (${keys})`).run(...RESTORE_POLICY.localMetaKeys);
          if (theirs.has('meta')) db.prepare(`INSERT INTO main.meta (key, value) SELECT key, value FROM live.meta WHERE key IN (${keys})`).run(...RESTORE_POLICY.localMetaKeys);
        }
        if (keys) resealSecrets(db, keys.from, keys.to);
        // restored messages are never relayed to RTX again (they were, or were not meant to be, when they were sent)
        if (mine.has('rtx_relay')) db.prepare('UPDATE main.rtx_relay SET last_message_id = (SELECT COALESCE(MAX(id), 0) FROM main.messages)').run();
        if (mine.has('admin_action_log')) {
          db.prepare(`INSERT INTO main.admin_action_log (at, admin_id, admin_username, action, target_kind, target_id, target_label, before_json, after_json, address)
            VALUES (?, NULL, ?, 'backup.import', 'backup', ?, ?, NULL, ?, NULL)`)
            .run(Date.now(), actor, v.sha256.slice(0, 16), path.basename(v.file), JSON.stringify({ createdAt: v.header.createdAt, productVersion: v.header.productVersion, schemaVersion: v.header.schemaVersion, counts: v.counts }));
        }
      })();
    } finally {
      db.prepare('DETACH DATABASE live').run();
    }
    const fileIds = new Set((db.prepare('SELECT id FROM files').all() as { id: string }[]).map((r) => r.id));
    return { fileIds, counts: countDatabase(db) };
  } finally {
    db.close();
  }
}

/**
 * Replaces the organisation, messages and files of a stopped system with an
 * archive's (docs/backup.md#import). In order: refuse if a server runs on the
 * data directory; take the import lock; verify the whole archive (nothing
 * changes) and ask `confirm`; extract into staging beside the live data
 * (verifying again); prepare the staged database; add the archive's blobs to
 * the content-addressed store (new names only, invisible to the live
 * database); then commit with one atomic rename of the database file; finally
 * delete blobs nothing refers to. A failure or crash before the rename leaves
 * the old data as it was; after it, the new data is complete.
 */
export async function importBackup(opts: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  const { config, dbFile } = opts;
  const progress: ProgressFn = opts.onProgress ?? (() => {});
  const fault = opts.fault ?? (() => {});
  const known = listMigrations().reduce((m, x) => Math.max(m, x.version), 0);
  if (await socketAlive(adminSocketPath(config.dataDir))) {
    throw new GatewayError('GW_BACKUP_SERVER_RUNNING', `a Huitong server is running on ${config.dataDir}: stop it first (e.g. systemctl stop huitong), then import, then start it again`);
  }
  const release = acquireImportLock(config.dataDir);
  const filesDir = path.join(config.dataDir, 'files');
  const tmpDir = path.join(filesDir, 'tmp');
  const tag = randomBytes(6).toString('hex');
  const stagedDb = `${dbFile}.restore-${tag}`;
  const blobStage = path.join(tmpDir, `restore-${tag}`, 'files');
  const keyStage = path.join(tmpDir, `restore-${tag}`, 'key');
  const placed: string[] = [];
  let committed = false;
  try {
    if (await socketAlive(adminSocketPath(config.dataDir))) throw new GatewayError('GW_BACKUP_SERVER_RUNNING', `a Huitong server started on ${config.dataDir}; stop it first`);
    mkdirSync(path.dirname(dbFile), { recursive: true });
    await removeStaleStaging(dbFile, tmpDir);

    let verified: VerifyResult | null = null;
    if (opts.confirm !== true) {
      verified = await readArchive(opts.file, { knownSchemaVersion: known, onProgress: progress });
      if (!(await opts.confirm(verified))) return { imported: false, verify: verified, counts: null, removedFiles: 0, warnings: [], durationMs: Date.now() - started };
    }
    // extracting verifies everything again: the file may have changed since it was verified
    const v = await readArchive(opts.file, {
      knownSchemaVersion: known, onProgress: progress, extract: { dbFile: stagedDb, keyFile: path.join(keyStage, SECRET_KEY_FILE), blobDir: blobStage },
      beforeEntry: (name) => fault(`entry:${name}`),
    });
    if (verified && verified.sha256 !== v.sha256) throw invalid('the archive changed between its verification and its import; nothing was changed');
    await fault('extracted');

    progress({ phase: 'prepare', bytesDone: 0, bytesTotal: 0, entriesDone: 0, entriesTotal: 1 });
    // the live database exists and is at this program's schema before anything is copied from it
    openDatabase(dbFile).close();
    // sealed values move to this data directory's key, which stays as it is (one rename remains the only commit)
    const keys = existsSync(path.join(keyStage, SECRET_KEY_FILE)) ? { from: SecretBox.open(keyStage), to: SecretBox.open(config.dataDir) } : null;
    const { fileIds, counts } = prepareDatabase(stagedDb, dbFile, v, opts.actor ?? 'backup-import', keys);
    const fh = await open(stagedDb, 'r+');
    await fh.sync();
    await fh.close();
    await fault('prepared');

    // content-addressed: adding blobs never changes what the live database sees
    const staged = readdirSync(blobStage);
    const dirs = new Set<string>();
    let n = 0;
    for (const id of staged) {
      const dir = path.join(filesDir, id.slice(0, 2));
      const dest = path.join(dir, id);
      mkdirSync(dir, { recursive: true });
      const existed = existsSync(dest);
      await rename(path.join(blobStage, id), dest);
      if (!existed) placed.push(dest);
      dirs.add(dir);
      if (++n % 100 === 0) progress({ phase: 'swap', bytesDone: 0, bytesTotal: 0, entriesDone: n, entriesTotal: staged.length });
    }
    for (const d of dirs) await fsyncDir(d);
    await fault('files-placed');

    // commit: fold the live WAL into its file (so no stale -wal can meet the new file), then one rename
    progress({ phase: 'swap', bytesDone: 0, bytesTotal: 0, entriesDone: staged.length, entriesTotal: staged.length });
    const live = new Database(dbFile, { fileMustExist: true });
    live.pragma('wal_checkpoint(TRUNCATE)');
    live.close();
    if (existsSync(`${dbFile}-wal`)) throw new GatewayError('GW_BACKUP_SERVER_RUNNING', `another process has ${dbFile} open; stop it and import again (nothing was changed)`);
    await rm(`${dbFile}-shm`, { force: true });
    await rename(stagedDb, dbFile);
    await fsyncDir(path.dirname(dbFile));
    committed = true;
    await fault('committed');

    // blobs of the replaced organisation: nothing refers to them any more
    let removedFiles = 0;
    const shards = existsSync(filesDir) ? readdirSync(filesDir).filter((d) => /^[a-f0-9]{2}$/.test(d)) : [];
    for (const [i, shard] of shards.entries()) {
      for (const id of readdirSync(path.join(filesDir, shard))) {
        if (/^[a-f0-9]{64}$/.test(id) && !fileIds.has(id)) {
          await rm(path.join(filesDir, shard, id), { force: true });
          removedFiles++;
        }
      }
      progress({ phase: 'cleanup', bytesDone: 0, bytesTotal: 0, entriesDone: i + 1, entriesTotal: shards.length });
    }
    const warnings: string[] = [];
    if (v.missingFiles.length > 0) warnings.push(`${v.missingFiles.length} file(s) were already missing or damaged on the system the backup was made on; their messages are restored without them`);
    if (v.header.schemaVersion < known) warnings.push(`the backup's database (schema ${v.header.schemaVersion}) was migrated to schema ${known}`);
    progress({ phase: 'done', bytesDone: v.bytes, bytesTotal: v.bytes, entriesDone: v.entries, entriesTotal: v.entries });
    return { imported: true, verify: v, counts, removedFiles, warnings, durationMs: Date.now() - started };
  } catch (e) {
    if (!committed) for (const f of placed) await rm(f, { force: true });
    throw e;
  } finally {
    await rm(stagedDb, { force: true });
    await rm(`${stagedDb}-journal`, { force: true });
    await rm(path.dirname(blobStage), { recursive: true, force: true });
    release();
  }
}
