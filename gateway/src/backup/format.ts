import type { Db } from '../storage/sqlite.js';

/**
 * The backup archive (docs/backup.md#archive-format): a ustar file of
 *
 *   huitong-backup.json      the header: format, versions, creation time
 *   database/huitong.db      a consistent SQLite snapshot (secrets and sessions removed)
 *   secrets/secret.key       the data directory's secret-box key, when it has one (sealed values in the database need it)
 *   files/<2 hex>/<sha256>   every blob the snapshot's `files` table lists
 *   manifest.json            the header again, counts, and the size and SHA-256 of every entry
 *
 * in this order, plus `<archive>.sha256` beside it (sha256sum format) for the whole file.
 */
export const BACKUP_FORMAT = 'huitong-backup';
/** Bumped when a reader of the previous version could not read the archive correctly. */
export const BACKUP_FORMAT_VERSION = 1;
export const HEADER_ENTRY = 'huitong-backup.json';
export const DATABASE_ENTRY = 'database/huitong.db';
export const MANIFEST_ENTRY = 'manifest.json';
export const SECRET_KEY_ENTRY = 'secrets/secret.key';
export const MAX_SECRET_KEY_BYTES = 1024;
export const BLOB_ENTRY_RE = /^files\/([a-f0-9]{2})\/([a-f0-9]{64})$/;
export const blobEntry = (id: string) => `files/${id.slice(0, 2)}/${id}`;
/** The header and the manifest are JSON read into memory: bounded. */
export const MAX_HEADER_BYTES = 64 * 1024;
export const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;
/** The file name the console and `huitong backup export` (without a file) use under dataDir/backups. */
export const ARCHIVE_EXT = '.tar';
export const CHECKSUM_EXT = '.sha256';

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  /** The Huitong version that wrote it. */
  productVersion: string;
  /** schema_version of the database snapshot. */
  schemaVersion: number;
  /** ISO 8601. */
  createdAt: string;
}

export interface BackupCounts {
  users: number;
  departments: number;
  groups: number;
  messages: number;
  files: number;
  /** Sum of the blobs' sizes. */
  fileBytes: number;
}

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest extends BackupHeader {
  counts: BackupCounts;
  entries: ManifestEntry[];
  /** Blobs the `files` table lists that could not be read, or whose content no longer matched their hash, when the backup was made. */
  missingFiles: { id: string; reason: 'missing' | 'corrupt' }[];
}

/** What a long backup job is doing; emitted often, cheap to render. */
export type BackupPhase = 'snapshot' | 'write' | 'verify' | 'extract' | 'prepare' | 'swap' | 'cleanup' | 'done';

export interface BackupProgress {
  phase: BackupPhase;
  /** Bytes of the phase done and in all (0 when unknown). */
  bytesDone: number;
  bytesTotal: number;
  /** Archive entries (or other steps) done and in all (0 when unknown). */
  entriesDone: number;
  entriesTotal: number;
}

export type ProgressFn = (p: BackupProgress) => void;

/** Counts of what an archive holds, from its database snapshot. */
export function countDatabase(db: Db): BackupCounts {
  const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
  const count = (t: string) => (tables.has(t) ? (db.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n : 0);
  const fileBytes = tables.has('files') ? (db.prepare('SELECT COALESCE(SUM(size), 0) AS n FROM files').get() as { n: number }).n : 0;
  return { users: count('users'), departments: count('departments'), groups: count('groups'), messages: count('messages'), files: count('files'), fileBytes };
}

export function schemaVersionOf(db: Db): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!has) return 0;
  return (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as { v: number }).v;
}

/**
 * What a backup leaves out and what an import keeps from the system it
 * restores into (docs/backup.md#what-is-restored). Table names not present in
 * a schema are skipped, so a later migration never breaks these lists; every
 * other table, including tables added later, is carried across whole.
 */
export const RESTORE_POLICY = {
  /** Left out of the archive (emptied in the snapshot) and empty after an import: sessions and signing secrets. */
  clearedTables: ['admin_sessions', 'device_tokens', 'sso_secret', 'rtx_connection_code'],
  /** Taken from the system being restored into, never from the archive: its licence and its live link to the RTX adapter. */
  localTables: ['licences', 'rtx_connection_code', 'sso_secret', 'plugin_stream', 'plugin_outbox'],
  /** meta keys taken from the system being restored into. */
  localMetaKeys: ['installation_id'],
} as const;
