import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { EXIT_CODES } from '../errors/registry.js';
import { databaseFile, VERSION } from '../services.js';
import { SECRET_KEY_FILE } from '../settings/secret-box.js';
import { DatabaseTooNewError, listMigrations } from '../storage/sqlite.js';
import { exportBackup } from './export.js';
import type { BackupProgress, ProgressFn } from './format.js';
import { importBackup } from './import.js';
import { archiveName } from './jobs.js';
import { assertNoImportRunning } from './lock.js';
import { readArchive, type VerifyResult } from './verify.js';

export const BACKUP_USAGE = `Usage:
  huitong backup export [FILE]          a full backup (default: DATA/backups/huitong-backup-<time>.tar); the server may run
  huitong backup verify FILE            checks an archive completely; changes nothing
  huitong backup import FILE [--yes]    replaces the organisation, messages and files; the server must be stopped
Options: --data DIR, --config FILE, --no-progress
`;

const LABELS: Record<BackupProgress['phase'], string> = {
  snapshot: 'database snapshot', write: 'writing archive', verify: 'verifying', extract: 'extracting + verifying', prepare: 'preparing database',
  swap: 'placing files', cleanup: 'removing old files', done: 'done',
};

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Progress on stderr: a redrawn bar on a terminal, otherwise one plain line
 * per phase and per 10 % (logs and pipes stay readable).
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): ProgressFn & { end(): void } {
  const tty = out.isTTY === true;
  let lastPhase = '';
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  const fn = ((p: BackupProgress) => {
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.entriesTotal > 0 ? p.entriesDone / p.entriesTotal : 0;
    const pct = Math.min(100, Math.floor(frac * 100));
    const detail = `${p.bytesTotal > 0 ? ` ${mib(p.bytesDone)}/${mib(p.bytesTotal)}` : ''}${p.entriesTotal > 0 ? ` ${p.entriesDone}/${p.entriesTotal} entries` : p.entriesDone > 0 ? ` ${p.entriesDone} entries` : ''}`;
    if (tty) {
      const now = Date.now();
      if (p.phase === lastPhase && now - lastDraw < 100 && p.phase !== 'done') return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      if (p.phase !== lastPhase && drawn) out.write('\n');
      out.write(`\r\x1b[2K${LABELS[p.phase].padEnd(24)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%${detail}`);
      drawn = true;
      lastPhase = p.phase;
      return;
    }
    const decile = Math.floor(pct / 10);
    if (p.phase !== lastPhase || decile > lastDecile) {
      if (p.phase !== lastPhase) lastDecile = -1;
      out.write(`${LABELS[p.phase]}: ${pct}%${detail}\n`);
      lastPhase = p.phase;
      lastDecile = decile;
    }
  }) as ProgressFn & { end(): void };
  fn.end = () => {
    if (tty && drawn) out.write('\n');
    drawn = false;
  };
  return fn;
}

function summary(v: VerifyResult): string {
  const c = v.counts;
  return `${v.file}: Huitong backup made ${v.header.createdAt} by Huitong ${v.header.productVersion} (schema ${v.header.schemaVersion})\n` +
    `  ${c.users} users, ${c.departments} departments, ${c.groups} groups, ${c.messages} messages, ${c.files} files (${mib(c.fileBytes)})\n` +
    `  archive ${mib(v.bytes)}, sha256 ${v.sha256}${v.checksumFile === 'ok' ? ' (matches its .sha256 file)' : ''}\n`;
}

async function askYes(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** `huitong backup …` (docs/cli.md#huitong-backup); returns the exit code. */
export async function runBackup(argv: string[]): Promise<number> {
  const fail = (m: string, code: number) => (process.stderr.write(`huitong: ${m}\n`), code);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string' }, data: { type: 'string' }, yes: { type: 'boolean' }, 'no-progress': { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${BACKUP_USAGE}`, EXIT_CODES.USAGE);
  }
  const { values: v, positionals: [sub, file, ...extra] } = parsed;
  if (!sub || extra.length > 0 || (sub !== 'export' && !file) || !['export', 'verify', 'import'].includes(sub)) return fail(`unknown or incomplete command: backup ${argv.join(' ')}\n\n${BACKUP_USAGE}`, EXIT_CODES.USAGE);
  const progress = v['no-progress'] ? Object.assign(() => {}, { end() {} }) : progressPrinter();
  const print = (x: unknown) => process.stdout.write(JSON.stringify(x, null, 2) + '\n');
  const known = listMigrations().reduce((m, x) => Math.max(m, x.version), 0);
  try {
    const cfg = loadConfig({ ...(v.config ? { file: v.config } : {}), overrides: { dataDir: v.data } });
    if (sub === 'verify') {
      const r = await readArchive(path.resolve(file as string), { knownSchemaVersion: known, onProgress: progress });
      progress.end();
      process.stderr.write(summary(r) + '  verified: every entry matches the manifest\n');
      print(r);
      return EXIT_CODES.OK;
    }
    if (sub === 'export') {
      assertNoImportRunning(cfg.dataDir);
      const out = path.resolve(file ?? path.join(cfg.dataDir, 'backups', archiveName()));
      const r = await exportBackup({ source: databaseFile(cfg), filesDir: path.join(cfg.dataDir, 'files'), secretKeyFile: path.join(cfg.dataDir, SECRET_KEY_FILE), file: out, productVersion: VERSION, onProgress: progress });
      progress.end();
      if (r.missingFiles.length > 0) process.stderr.write(`warning: ${r.missingFiles.length} file(s) listed in the database were missing or damaged and are not in the archive\n`);
      print(r);
      return EXIT_CODES.OK;
    }
    const yes = v.yes === true;
    const r = await importBackup({
      config: cfg, dbFile: databaseFile(cfg), file: path.resolve(file as string), actor: 'huitong backup import', onProgress: progress,
      confirm: yes || (async (verified) => {
        progress.end();
        process.stderr.write(summary(verified));
        if (!process.stdin.isTTY) return false;
        return askYes(`This replaces the organisation, messages and files in ${cfg.dataDir} with the backup's. Type "yes" to go on: `);
      }),
    });
    progress.end();
    if (!r.imported) {
      return fail(`nothing was changed: the archive is valid; confirm with --yes${process.stdin.isTTY ? ' or answer "yes"' : ''} to replace the data in ${cfg.dataDir}`, EXIT_CODES.FAILURE);
    }
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stderr.write('imported: users, console administrators and devices must log in again; start the server now\n');
    print(r);
    return EXIT_CODES.OK;
  } catch (e) {
    progress.end();
    if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
    if (e instanceof DatabaseTooNewError) return fail(e.message, EXIT_CODES.DATABASE_TOO_NEW);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('GW_')) return fail(`${code}: ${(e as Error).message}`, code === 'GW_BACKUP_TOO_NEW' ? EXIT_CODES.DATABASE_TOO_NEW : EXIT_CODES.FAILURE);
    throw e;
  }
}
