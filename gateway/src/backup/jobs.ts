import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import { SECRET_KEY_FILE } from '../settings/secret-box.js';
import { listMigrations, type Db } from '../storage/sqlite.js';
import { exportBackup, type ExportResult } from './export.js';
import { ARCHIVE_EXT, CHECKSUM_EXT, type BackupProgress } from './format.js';
import { readArchive, type VerifyResult } from './verify.js';

/** Archive names under dataDir/backups: no separators, no leading dot, so a name can never leave the folder. */
export const ARCHIVE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.tar$/;
/** Finished jobs kept for GET /jobs. */
const MAX_JOBS = 20;

export type JobState = 'running' | 'done' | 'failed';

export interface BackupJobView {
  id: string;
  kind: 'export' | 'verify';
  state: JobState;
  /** The archive's file name under dataDir/backups. */
  name: string;
  startedAt: string;
  finishedAt: string | null;
  startedBy: string;
  progress: BackupProgress;
  result: ExportResult | VerifyResult | null;
  error: { code: string; message: string } | null;
}

export interface BackupArchiveView {
  name: string;
  bytes: number;
  modifiedAt: string;
  /** From `<name>.sha256`, or null when there is none. */
  sha256: string | null;
}

export interface BackupJobsDeps {
  db: Db;
  dataDir: string;
  productVersion: string;
  log: Logger;
}

/** The archive name for an export started now, e.g. huitong-backup-20250102-030405.tar. */
export function archiveName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `huitong-backup-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}${ARCHIVE_EXT}`;
}

export function checkArchiveName(name: string): string {
  if (!ARCHIVE_NAME_RE.test(name) || name.includes('..')) throw new GatewayError('GW_BAD_REQUEST', 'the archive name must be a file name ending in .tar, of letters, digits, . _ -');
  return name;
}

/**
 * Backup jobs of the running server (docs/admin-api-backup.md): one at a
 * time, exports into dataDir/backups from the server's own database
 * connection, verifications of archives there; progress and results in
 * memory. stop() cancels a running job (its temporary files are removed) and
 * waits for it.
 */
export class BackupJobs {
  readonly dir: string;
  private readonly jobs = new Map<string, BackupJobView>();
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly deps: BackupJobsDeps) {
    this.dir = path.join(deps.dataDir, 'backups');
  }

  get(id: string): BackupJobView {
    const j = this.jobs.get(id);
    if (!j) throw new GatewayError('GW_NOT_FOUND', 'no such backup job (jobs are kept in memory until the server restarts)');
    return j;
  }

  list(): BackupJobView[] {
    return [...this.jobs.values()].reverse();
  }

  archives(): BackupArchiveView[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => ARCHIVE_NAME_RE.test(n))
      .map((name) => {
        const st = statSync(path.join(this.dir, name));
        let sha256: string | null = null;
        try {
          sha256 = /^[a-f0-9]{64}/.exec(readFileSync(path.join(this.dir, name + CHECKSUM_EXT), 'utf8'))?.[0] ?? null;
        } catch {
          // no checksum file
        }
        return { name, bytes: st.size, modifiedAt: st.mtime.toISOString(), sha256 };
      })
      .sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
  }

  /** The `<name>.sha256` of an archive, or null. */
  async checksum(name: string): Promise<string | null> {
    try {
      return (await readFile(path.join(this.dir, checkArchiveName(name) + CHECKSUM_EXT), 'utf8')).slice(0, 64);
    } catch {
      return null;
    }
  }

  pathOf(name: string): string {
    return path.join(this.dir, checkArchiveName(name));
  }

  startExport(by: string): BackupJobView {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let name = archiveName();
    for (let i = 2; this.archives().some((a) => a.name === name); i++) name = archiveName().replace(/\.tar$/, `-${i}.tar`);
    const file = path.join(this.dir, name);
    return this.start('export', name, by, (onProgress, signal) =>
      exportBackup({ source: this.deps.db, filesDir: path.join(this.deps.dataDir, 'files'), secretKeyFile: path.join(this.deps.dataDir, SECRET_KEY_FILE), file, productVersion: this.deps.productVersion, onProgress, signal }));
  }

  startVerify(name: string, by: string): BackupJobView {
    const file = this.pathOf(name);
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      throw new GatewayError('GW_NOT_FOUND', `no archive ${name} in the backups folder`);
    }
    const known = listMigrations().reduce((m, x) => Math.max(m, x.version), 0);
    return this.start('verify', name, by, (onProgress, signal) => readArchive(file, { knownSchemaVersion: known, onProgress, signal }));
  }

  private start(kind: BackupJobView['kind'], name: string, by: string, run: (p: (p: BackupProgress) => void, s: AbortSignal) => Promise<ExportResult | VerifyResult>): BackupJobView {
    if (this.abort.signal.aborted) throw new GatewayError('GW_SERVER_SHUTDOWN');
    if (this.running) throw new GatewayError('GW_BACKUP_BUSY', 'another backup job is running; wait for it to finish');
    const job: BackupJobView = {
      id: randomBytes(8).toString('hex'), kind, state: 'running', name, startedAt: new Date().toISOString(), finishedAt: null, startedBy: by,
      progress: { phase: kind === 'export' ? 'snapshot' : 'verify', bytesDone: 0, bytesTotal: 0, entriesDone: 0, entriesTotal: 0 }, result: null, error: null,
    };
    this.jobs.set(job.id, job);
    while (this.jobs.size > MAX_JOBS) {
      const oldest = [...this.jobs.values()].find((j) => j.state !== 'running');
      if (!oldest) break;
      this.jobs.delete(oldest.id);
    }
    const log = this.deps.log.child({ backupJob: job.id, kind, archive: name });
    log.info('backup job started');
    this.running = run((p) => (job.progress = p), this.abort.signal)
      .then((r) => {
        job.result = r;
        job.state = 'done';
        log.info({ bytes: r.bytes, sha256: r.sha256 }, 'backup job done');
      })
      .catch((e: unknown) => {
        job.state = 'failed';
        job.error = e instanceof GatewayError ? { code: e.code, message: e.message } : { code: 'GW_INTERNAL', message: `the backup job failed (job ${job.id}; details in the server log)` };
        log.warn({ err: e }, 'backup job failed');
      })
      .finally(() => {
        job.finishedAt = new Date().toISOString();
        this.running = null;
      });
    return job;
  }

  /** Cancels a running job and waits until it has cleaned up. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}
