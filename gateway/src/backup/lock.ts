import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataDirInUseError } from '../control/socket.js';

/**
 * `huitong backup import` holds dataDir/run/backup-import.lock (its pid) while
 * it runs, so that neither the server nor a direct CLI command opens the
 * database while it is being replaced. A lock whose process is gone is stale
 * and ignored.
 */
export function importLockPath(dataDir: string): string {
  return path.join(dataDir, 'run', 'backup-import.lock');
}

/** A DataDirInUseError (exit 74 for `serve`) with a GW_ code (for the other commands). */
export class BackupImportRunningError extends DataDirInUseError {
  readonly code = 'GW_BACKUP_BUSY';
  constructor(dataDir: string, pid: number) {
    super(`a backup import (process ${pid}) is replacing the data in ${dataDir}; wait for it to finish`);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holder(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Throws BackupImportRunningError when an import is running on the data directory. Called before the database is opened. */
export function assertNoImportRunning(dataDir: string): void {
  const pid = holder(importLockPath(dataDir));
  if (pid !== null && pid !== process.pid) throw new BackupImportRunningError(dataDir, pid);
}

/** Takes the lock (replacing a stale one); returns its release. Throws BackupImportRunningError when another import holds it. */
export function acquireImportLock(dataDir: string): () => void {
  const file = importLockPath(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = holder(file);
      if (pid !== null) throw new BackupImportRunningError(dataDir, pid);
      rmSync(file, { force: true });
    }
  }
  throw new BackupImportRunningError(dataDir, -1);
}
