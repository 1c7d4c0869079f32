/**
 * The shapes of the backup routes (/api/admin/backup/*, docs/admin-api-backup.md),
 * as the gateway defines them in gateway/src/backup/ (types only: nothing of
 * the server is bundled).
 */
import type { ExportResult } from '../../../../gateway/src/backup/export';
import type { BackupCounts, BackupPhase } from '../../../../gateway/src/backup/format';
import type { BackupArchiveView, BackupJobView } from '../../../../gateway/src/backup/jobs';
import type { BackupArchivesView } from '../../../../gateway/src/backup/routes';
import type { VerifyResult } from '../../../../gateway/src/backup/verify';

export type { BackupArchiveView, BackupArchivesView, BackupCounts, BackupJobView, BackupPhase, ExportResult, VerifyResult };

export const BACKUP_API = '/api/admin/backup';

/** The server's rule for archive names (ARCHIVE_NAME_RE in gateway/src/backup/jobs.ts, not importable into the browser bundle). */
export const ARCHIVE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.tar$/;

/** POST /backup/import's refusal: details.command. */
export interface ImportRefusal {
  code: string;
  message: string;
  command: string | null;
}

export const isRunning = (j: BackupJobView | null | undefined): boolean => j?.state === 'running';

/** The share of a job done, 0–100: bytes when the phase knows them, else entries. */
export function jobPercent(j: BackupJobView): number {
  if (j.state === 'done') return 100;
  const p = j.progress;
  if (p.phase === 'done') return 100;
  const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.entriesTotal > 0 ? p.entriesDone / p.entriesTotal : 0;
  return Math.max(0, Math.min(99, Math.floor(frac * 100)));
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * A file name the server accepts, from the name of a picked file: characters
 * outside letters, digits and . _ - become -, no leading dot or dash, no "..".
 * null when it does not end in .tar.
 */
export function archiveNameFor(fileName: string): string | null {
  if (!/\.tar$/i.test(fileName)) return null;
  let base = fileName.slice(0, -4).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[^A-Za-z0-9]+/, '');
  if (!base) base = 'backup';
  const name = `${base.slice(0, 140)}.tar`;
  return ARCHIVE_NAME_RE.test(name) && !name.includes('..') ? name : null;
}
