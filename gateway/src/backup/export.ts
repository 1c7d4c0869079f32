import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GatewayError } from '../errors/gateway-error.js';
import type { Db } from '../storage/sqlite.js';
import {
  BACKUP_FORMAT, BACKUP_FORMAT_VERSION, blobEntry, CHECKSUM_EXT, countDatabase, DATABASE_ENTRY, HEADER_ENTRY, MANIFEST_ENTRY, MAX_SECRET_KEY_BYTES, RESTORE_POLICY, schemaVersionOf, SECRET_KEY_ENTRY,
  type BackupCounts, type BackupHeader, type Manifest, type ManifestEntry, type ProgressFn,
} from './format.js';
import { fsyncDir, writeFileAtomic } from './fs-util.js';
import { TarWriter } from './tar.js';

export interface ExportOptions {
  /**
   * The live database: the server's own connection (its writes during the copy
   * go into the snapshot, so it never restarts), or the database file's path
   * (opened read-only and copied in one step under one read transaction, safe
   * next to a running server thanks to WAL).
   */
  source: Db | string;
  /** The blob store root (dataDir/files). */
  filesDir: string;
  /** dataDir/secret.key (settings/secret-box.ts): archived when it exists, so sealed values in the database can be re-sealed on import. */
  secretKeyFile: string;
  /** Where the archive goes; written as a temporary file beside it and renamed. */
  file: string;
  productVersion: string;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface ExportResult {
  file: string;
  checksumFile: string;
  bytes: number;
  sha256: string;
  header: BackupHeader;
  counts: BackupCounts;
  entries: number;
  missingFiles: Manifest['missingFiles'];
  durationMs: number;
}

/** Database pages copied per step by the server's connection (4 MiB of 4 KiB pages): the event loop is never held long. */
const PAGES_PER_STEP = 1024;

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new GatewayError('GW_BACKUP_ABORTED', 'the backup was cancelled (the server is stopping)');
}

/** Copies the database into `dest` (a new file) consistently, reporting pages as bytes. */
async function snapshot(source: Db | string, dest: string, progress: ProgressFn, signal?: AbortSignal): Promise<void> {
  const own = typeof source === 'string';
  let db: Db;
  if (own) {
    try {
      db = new Database(source, { readonly: true, fileMustExist: true });
    } catch {
      throw new GatewayError('GW_NOT_FOUND', `there is no database at ${source} to back up`);
    }
    db.pragma('busy_timeout = 5000');
  } else {
    db = source;
  }
  try {
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    await db.backup(dest, {
      progress({ totalPages, remainingPages }) {
        aborted(signal);
        progress({ phase: 'snapshot', bytesDone: (totalPages - remainingPages) * pageSize, bytesTotal: totalPages * pageSize, entriesDone: 0, entriesTotal: 1 });
        // another process may be writing: copy the rest in one step, under one read lock, so the copy never restarts
        return own ? 0x7fffffff : PAGES_PER_STEP;
      },
    });
  } finally {
    if (own) db.close();
  }
}

/**
 * Writes a full backup archive (docs/backup.md): a database snapshot without
 * sessions and secrets, every blob the snapshot lists, and a manifest with the
 * SHA-256 and size of every entry. The archive appears under its name only
 * once complete and on disk (temporary file, fsync, rename), with
 * `<file>.sha256` beside it. A blob that is missing or no longer matches its
 * hash is left out and listed in `missingFiles` (it was unreadable on the
 * server too). Throws GW_BACKUP_ABORTED when `signal` fires; leaves nothing behind on failure.
 */
export async function exportBackup(opts: ExportOptions): Promise<ExportResult> {
  const started = Date.now();
  const progress: ProgressFn = opts.onProgress ?? (() => {});
  const file = path.resolve(opts.file);
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tag = randomBytes(6).toString('hex');
  const snapFile = path.join(dir, `.${path.basename(file)}.${tag}.snapshot.db`);
  const partFile = path.join(dir, `.${path.basename(file)}.${tag}.partial`);
  let out: FileHandle | null = null;
  try {
    await snapshot(opts.source, snapFile, progress, opts.signal);
    // the snapshot is ours: drop what never leaves the system, and make it a single self-contained file
    const snap = new Database(snapFile);
    let counts: BackupCounts;
    let schemaVersion: number;
    let blobs: { id: string; size: number }[];
    try {
      snap.pragma('journal_mode = DELETE');
      const tables = new Set((snap.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
      snap.transaction(() => {
        for (const t of RESTORE_POLICY.clearedTables) if (tables.has(t)) snap.prepare(`DELETE FROM "${t}"`).run();
      })();
      counts = countDatabase(snap);
      schemaVersion = schemaVersionOf(snap);
      blobs = tables.has('files') ? (snap.prepare('SELECT id, size FROM files ORDER BY id').all() as { id: string; size: number }[]) : [];
    } finally {
      snap.close();
    }
    const snapBytes = (await stat(snapFile)).size;
    const createdAt = new Date();
    const header: BackupHeader = {
      format: BACKUP_FORMAT, formatVersion: BACKUP_FORMAT_VERSION, productVersion: opts.productVersion, schemaVersion, createdAt: createdAt.toISOString(),
    };
    const bytesTotal = snapBytes + counts.fileBytes;
    const entriesTotal = blobs.length + 1;
    let bytesDone = 0;
    let entriesDone = 0;
    const tick = () => progress({ phase: 'write', bytesDone, bytesTotal, entriesDone, entriesTotal });
    let lastTick = 0;
    const onBytes = (n: number) => {
      bytesDone += n;
      const now = Date.now();
      if (now - lastTick >= 100) {
        lastTick = now;
        tick();
      }
    };

    out = await open(partFile, 'wx', 0o600);
    const tar = new TarWriter(out, Math.floor(createdAt.getTime() / 1000));
    const entries: ManifestEntry[] = [];
    // listed in the manifest too, so a damaged header that still parses is caught at the end
    entries.push({ name: HEADER_ENTRY, ...(await tar.addBuffer(HEADER_ENTRY, Buffer.from(JSON.stringify(header, null, 2) + '\n'))) });
    const snapFh = await open(snapFile, 'r');
    try {
      const e = await tar.addFile(DATABASE_ENTRY, snapFh, snapBytes, onBytes);
      if (!e) throw new Error('the database snapshot shrank while it was being archived');
      entries.push({ name: DATABASE_ENTRY, ...e });
    } finally {
      await snapFh.close();
    }
    await rm(snapFile, { force: true });
    entriesDone++;
    tick();
    let key: Buffer | null = null;
    try {
      key = readFileSync(opts.secretKeyFile);
    } catch {
      // no secret key yet: nothing in the database is sealed
    }
    if (key && key.length <= MAX_SECRET_KEY_BYTES) entries.push({ name: SECRET_KEY_ENTRY, ...(await tar.addBuffer(SECRET_KEY_ENTRY, key)) });

    const missingFiles: Manifest['missingFiles'] = [];
    for (const blob of blobs) {
      aborted(opts.signal);
      const name = blobEntry(blob.id);
      let fh: FileHandle;
      try {
        fh = await open(path.join(opts.filesDir, blob.id.slice(0, 2), blob.id), 'r');
      } catch {
        missingFiles.push({ id: blob.id, reason: 'missing' });
        bytesDone += blob.size;
        entriesDone++;
        continue;
      }
      const before = bytesDone;
      try {
        const size = (await fh.stat()).size;
        const e = size === blob.size ? await tar.addFile(name, fh, size, onBytes, (sha) => sha === blob.id) : null;
        if (e) entries.push({ name, ...e });
        else missingFiles.push({ id: blob.id, reason: 'corrupt' });
      } finally {
        bytesDone = before + blob.size;
        await fh.close();
      }
      entriesDone++;
      tick();
    }
    const manifest: Manifest = { ...header, counts, entries, missingFiles };
    await tar.addBuffer(MANIFEST_ENTRY, Buffer.from(JSON.stringify(manifest) + '\n'));
    const sha256 = await tar.finish();
    const bytes = tar.bytesWritten;
    await out.sync();
    await out.close();
    out = null;
    aborted(opts.signal);
    await rename(partFile, file);
    await fsyncDir(dir);
    const checksumFile = file + CHECKSUM_EXT;
    await writeFileAtomic(checksumFile, `${sha256}  ${path.basename(file)}\n`);
    progress({ phase: 'done', bytesDone: bytesTotal, bytesTotal, entriesDone: entriesTotal, entriesTotal });
    return { file, checksumFile, bytes, sha256, header, counts, entries: entries.length + 1, missingFiles, durationMs: Date.now() - started };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new GatewayError('GW_BACKUP_FAILED', `no space left on the disk of ${dir}; nothing was written`);
    if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EROFS') throw new GatewayError('GW_BACKUP_FAILED', `cannot write in ${dir}; nothing was written`);
    throw e;
  } finally {
    await out?.close().catch(() => {});
    await rm(partFile, { force: true });
    await rm(snapFile, { force: true });
    await rm(snapFile + '-journal', { force: true });
  }
}
