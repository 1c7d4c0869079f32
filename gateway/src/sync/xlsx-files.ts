import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { GatewayError } from '../errors/gateway-error.js';
import { MAX_IMPORT_BYTES } from '../excel/import.js';
import type { SourceProblem } from '../../../sync/src/source.js';
import type { SourceRow } from './run-store.js';
import type { SyncService } from './service.js';
import { candidates, folderOf, moveToProcessed, normalizeXlsxConfig, processedStamp, patternRegExp, PROCESSED_DIR, safeFolder, type XlsxConfig } from './xlsx-source.js';
import { checkWorkbook, cursorOf, hashOfCursor, readManifest, sha256, writeAtomically, writeManifest, type WorkbookCheck } from './xlsx-workbook.js';

/** Problems sent with a file's view or a refused upload; the run of the file lists them all. */
export const MAX_FILE_PROBLEMS = 200;
const MAX_NAME_CHARS = 128;
/** Replaced uploads kept in <upload folder>/processed/. */
const KEEP_REPLACED_UPLOADS = 20;
const CHECK_CACHE_ENTRIES = 8;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** The check of a file, as the console shows it. */
export type FileCheckView =
  | { ok: true }
  | { ok: false; problem: string; message: string; rows: number | null; badRows: number | null; problems: SourceProblem[]; problemCount: number };

/** The spreadsheet a source would read now (GET /api/admin/sync/sources/:id/file). */
export interface XlsxFileInfo {
  name: string;
  size: number;
  modifiedAt: number;
  sha256: string;
  /** Set when the console's upload stored this very file. */
  uploadedAt: number | null;
  uploadedBy: string | null;
  /** `applied`: the file the last applied run read; `failed`: the last run refused this very file (failedRunId); `new`: not applied yet. */
  status: 'applied' | 'failed' | 'new';
  failedRunId: number | null;
  rows: number | null;
  depts: number | null;
  check: FileCheckView;
}

export interface XlsxFileView {
  sourceId: string;
  /** `upload`: the file is uploaded in the console (kept under the data directory); `folder`: another system drops it into `folder`. */
  mode: 'upload' | 'folder';
  folder: string;
  pattern: string;
  maxBytes: number;
  current: XlsxFileInfo | null;
  /** Older matching files, which runs ignore. */
  older: number;
  /** Why the folder cannot be used now, if so. */
  folderProblem: string | null;
}

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);

/** The uploaded file's name, checked: a plain file name (never a path) ending in .xlsx that the source's pattern matches. */
export function uploadName(name: unknown, pattern: string): string {
  if (typeof name !== 'string' || name.trim() === '') throw bad('name is required: the file name, such as members.xlsx');
  const n = name.trim();
  if ([...n].length > MAX_NAME_CHARS) throw bad(`name must be at most ${MAX_NAME_CHARS} characters`);
  if (/[/\\]/.test(n) || CONTROL_RE.test(n) || path.basename(n) !== n || n === '.' || n === '..') throw bad('name must be a file name, without a folder, / or \\ or control characters');
  if (n.startsWith('.') || n.startsWith('~$')) throw bad('name must not start with . or ~$ (hidden and lock files are never read)');
  if (!/\.xlsx$/i.test(n)) throw bad('name must end in .xlsx: only Excel workbooks (.xlsx) are read');
  if (!patternRegExp(pattern).test(n)) throw bad(`this source reads files matching ${pattern}: name the file so that it matches`);
  return n;
}

/** What the view needs of a check: counts and the first problems, not the rows (a large workbook's rows are tens of MB). */
interface CheckSummary {
  rows: number | null;
  depts: number | null;
  view: FileCheckView;
}

function summary(c: WorkbookCheck): CheckSummary {
  return { rows: c.ok ? c.rows.length : c.problem === 'rows' ? c.rows : null, depts: c.ok ? c.depts : null, view: checkView(c) };
}

function checkView(c: WorkbookCheck): FileCheckView {
  if (c.ok) return { ok: true };
  if (c.problem === 'rows') return { ok: false, problem: 'rows', message: c.message, rows: c.rows, badRows: c.badRows, problems: c.problems.slice(0, MAX_FILE_PROBLEMS), problemCount: c.problems.length };
  return { ok: false, problem: c.problem, message: c.message, rows: null, badRows: null, problems: [], problemCount: 0 };
}

/**
 * The spreadsheet of an `xlsx` source for the console: what the source would
 * read now (name, size, times, rows, departments, whether it passes the
 * checks, whether it was applied or refused), and the upload that replaces it.
 * An upload is checked in full (the Excel import's parser with its size and
 * zip-bomb guards, and its row checks) before anything is written; only a
 * file that passes is renamed into the folder, atomically, over a file of the
 * same name, so the previous file stays until a new one is accepted.
 */
export class XlsxFiles {
  /** Checks by SHA-256: a large workbook takes seconds to parse, and the console asks again. */
  private readonly checks = new Map<string, CheckSummary>();
  private readonly uploading = new Set<string>();

  constructor(private readonly sync: SyncService) {}

  private source(id: string): { row: SourceRow; cfg: XlsxConfig; folder: string } {
    const row = this.sync.sourceRow(id);
    if (row.kind !== 'xlsx') throw new GatewayError('GW_NOT_FOUND', `source ${id} is a ${row.kind} source; only spreadsheet (xlsx) sources have a file`);
    const cfg = normalizeXlsxConfig(this.sync.configs.plainConfig(row));
    return { row, cfg, folder: folderOf(cfg, { dataDir: this.sync.dataDir, sourceId: id }) };
  }

  private async check(bytes: Buffer, hash: string): Promise<CheckSummary> {
    const hit = this.checks.get(hash);
    if (hit) return hit;
    return this.remember(await checkWorkbook(bytes));
  }

  private remember(c: WorkbookCheck): CheckSummary {
    const s = summary(c);
    this.checks.delete(c.sha256);
    this.checks.set(c.sha256, s);
    while (this.checks.size > CHECK_CACHE_ENTRIES) this.checks.delete(this.checks.keys().next().value as string);
    return s;
  }

  async view(id: string): Promise<XlsxFileView> {
    const { row, cfg, folder } = this.source(id);
    const view: XlsxFileView = { sourceId: id, mode: cfg.folder === null ? 'upload' : 'folder', folder, pattern: cfg.pattern, maxBytes: MAX_IMPORT_BYTES, current: null, older: 0, folderProblem: null };
    const safe = await safeFolder(folder, this.sync.dataDir);
    if (!safe.ok) return { ...view, folderProblem: safe.message };
    let files;
    try {
      files = await candidates(safe.real, cfg.pattern, cfg.folder === null);
    } catch (e) {
      return { ...view, folderProblem: `folder ${folder} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    const newest = files[0];
    if (!newest) return view;
    view.older = files.length - 1;
    const base = { name: newest.name, size: newest.size, modifiedAt: Math.round(newest.mtimeMs), uploadedAt: null, uploadedBy: null, failedRunId: null, rows: null, depts: null };
    if (newest.size > MAX_IMPORT_BYTES) {
      const message = `the file is ${(newest.size / 1048576).toFixed(1)} MB; at most ${MAX_IMPORT_BYTES / 1048576} MB is accepted`;
      return { ...view, current: { ...base, sha256: '', status: 'new', check: { ok: false, problem: 'too_large', message, rows: null, badRows: null, problems: [], problemCount: 0 } } };
    }
    const bytes = await readFile(newest.full);
    const hash = sha256(bytes);
    const c = await this.check(bytes, hash);
    const manifest = await readManifest(safe.real);
    const mine = manifest !== null && manifest.name === newest.name && manifest.sha256 === hash;
    const last = this.sync.store.lastDecidedRun(id, Number.MAX_SAFE_INTEGER);
    const failed = last?.state === 'failed' && last.nextCursor === cursorOf(hash) ? last.id : null;
    view.current = {
      ...base, sha256: hash,
      uploadedAt: mine ? manifest.uploadedAt : null, uploadedBy: mine ? manifest.uploadedBy : null,
      status: hashOfCursor(row.cursor) === hash ? 'applied' : failed !== null ? 'failed' : 'new', failedRunId: failed,
      rows: c.rows, depts: c.depts, check: c.view,
    };
    return view;
  }

  /**
   * Stores an uploaded workbook as the source's newest file. Throws
   * GW_SYNC_FILE_INVALID (details: problem, problems, problemCount, rows,
   * badRows) when it does not pass, GW_BAD_REQUEST for a bad name or an empty
   * body, GW_CONFLICT while another upload to the source runs or when the
   * folder cannot take it; nothing is written then.
   */
  async upload(id: string, rawName: unknown, bytes: Buffer, by: string): Promise<{ view: XlsxFileView; name: string; sha256: string; rows: number }> {
    const { cfg, folder } = this.source(id);
    const name = uploadName(rawName, cfg.pattern);
    if (bytes.length === 0) throw bad('the file is empty: send the .xlsx workbook as the request body');
    if (bytes.length > MAX_IMPORT_BYTES) throw new GatewayError('GW_FILE_TOO_LARGE', `a spreadsheet may have at most ${MAX_IMPORT_BYTES / 1048576} MB`, { details: { limit: MAX_IMPORT_BYTES } });
    if (this.uploading.has(id)) throw new GatewayError('GW_CONFLICT', `another upload to source ${id} is in progress; try again when it has finished`);
    this.uploading.add(id);
    try {
      const c = await checkWorkbook(bytes);
      this.remember(c);
      if (!c.ok) {
        const v = summary(c).view;
        const message = c.problem === 'rows'
          ? `${name} has problems on ${c.badRows} of ${c.rows} rows; it was not stored (the source keeps its previous file)`
          : `${name} cannot be used: ${c.message}; it was not stored (the source keeps its previous file)`;
        throw new GatewayError('GW_SYNC_FILE_INVALID', message, { details: v.ok ? {} : { problem: v.problem, problems: v.problems, problemCount: v.problemCount, rows: v.rows, badRows: v.badRows } });
      }
      const safe = await safeFolder(folder, this.sync.dataDir);
      if (!safe.ok) throw new GatewayError('GW_CONFLICT', safe.message);
      if (cfg.folder === null) await mkdir(safe.real, { recursive: true, mode: 0o750 });
      else {
        const st = await stat(safe.real).catch(() => null);
        if (!st?.isDirectory()) throw new GatewayError('GW_CONFLICT', `folder ${folder} does not exist on the server: create it (or change the source's folder) first`);
      }
      const present = await candidates(safe.real, cfg.pattern);
      const older = present.filter((f) => f.name !== name);
      const same = present.find((f) => f.name === name);
      // a replaced upload of the same name is kept in processed/ too (copied: the folder is never without a file)
      if (cfg.folder === null && same) {
        await mkdir(path.join(safe.real, PROCESSED_DIR), { recursive: true });
        await copyFile(same.full, path.join(safe.real, PROCESSED_DIR, `${processedStamp(Date.now())}-superseded-${name}`)).catch(() => undefined);
      }
      try {
        await writeAtomically(safe.real, name, bytes);
      } catch (e) {
        throw new GatewayError('GW_CONFLICT', `the file cannot be written to ${folder} (${(e as NodeJS.ErrnoException).code ?? 'error'}); the source keeps its previous file`);
      }
      await writeManifest(safe.real, { name, size: bytes.length, sha256: c.sha256, rows: c.rows.length, depts: c.depts, uploadedAt: Date.now(), uploadedBy: by });
      // an uploaded file replaces the previous upload; a watched folder's own files are archived by the runs
      if (cfg.folder === null && older.length > 0) {
        await moveToProcessed(safe.real, older, null, Date.now());
        await pruneProcessed(path.join(safe.real, PROCESSED_DIR), KEEP_REPLACED_UPLOADS);
      }
      return { view: await this.view(id), name, sha256: c.sha256, rows: c.rows.length };
    } finally {
      this.uploading.delete(id);
    }
  }
}

/** Keeps the newest `keep` files of the folder (by name: they start with their UTC time). */
async function pruneProcessed(dir: string, keep: number): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /\.xlsx$/i.test(n)).sort();
  for (const n of names.slice(0, Math.max(0, names.length - keep))) await rm(path.join(dir, n), { force: true });
}
