import { lstat, mkdir, readdir, readFile, realpath, rename } from 'node:fs/promises';
import path from 'node:path';
import { MAX_IMPORT_BYTES, splitDeptPaths, type MemberRow } from '../excel/import.js';
import { registerSourceKind, type SourceFactoryDeps } from '../../../sync/src/engine/registry.js';
import { SourceDataError, type ConnectionCheck, type DataFingerprint, type Delta, type DirectorySource, type ReadOptions, type Snapshot, type SourceDept, type SourceUser } from '../../../sync/src/source.js';
import { checkWorkbook, cursorOf, hashOfCursor, readManifest, sha256 } from './xlsx-workbook.js';
import { testXlsxSource } from './xlsx-test.js';

/**
 * The `xlsx` source kind (docs/sync.md "Spreadsheet source"): the member
 * import template (gateway/src/excel) read by scheduled or manual runs,
 * either uploaded in the console (no `folder`: the file is kept in
 * <dataDir>/imports/<source id>/) or dropped into a folder on the appliance
 * by another system. It lives in the gateway, not in sync/src, because it
 * reuses the gateway's workbook parser and row validator (which depend on the
 * directory's account and name rules) and sync/src imports nothing from the gateway.
 *
 * Each run looks at the newest file matching the pattern: unchanged since the
 * last applied run (same SHA-256, which is the source's cursor) or still being
 * written (modified less than settleSeconds ago, unless the console's upload
 * stored it whole) → an empty delta that keeps the cursor ("nothing to do");
 * otherwise the whole file is the directory (a snapshot). A file with any bad
 * row fails the run with the rows' errors, and nothing is applied; the error
 * carries the file's hash, so scheduled runs skip that same file quickly
 * (SyncService.sameAsRefused). After an applied run, `after: 'archive'` moves
 * the file, and any older matching file it superseded, to <folder>/processed/.
 */

export interface XlsxConfig {
  /** null: files are uploaded in the console and kept under the data directory (uploadFolder). */
  folder: string | null;
  pattern: string;
  after: 'archive' | 'keep';
  /** A file modified less than this long ago is left for a later run (it may still be copied in). */
  settleSeconds: number;
}

export const XLSX_DEFAULTS = { pattern: '*.xlsx', after: 'archive', settleSeconds: 5 } as const;
/** Inside the data directory, only a folder under this one is accepted (the rest holds keys, the database, backups). */
export const DATA_DIR_IMPORTS = 'imports';
export const PROCESSED_DIR = 'processed';
const MAX_SETTLE_SECONDS = 3600;
const KEYS = new Set(['folder', 'pattern', 'after', 'settleSeconds']);

/** Checks and normalises a config (no I/O: the data directory rule is checked when the folder is used). */
export function normalizeXlsxConfig(c: Record<string, unknown>): XlsxConfig {
  for (const k of Object.keys(c)) if (!KEYS.has(k)) throw new Error(`unknown key ${k.slice(0, 40)}; an xlsx source has folder, pattern, after and settleSeconds`);
  const raw = c.folder;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw new Error('folder must be an absolute path, or absent for files uploaded in the console');
  const folder = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : null;
  if (folder !== null) {
    if (folder.length > 1024 || folder.includes('\0')) throw new Error('folder must be a path of up to 1024 characters');
    if (!path.isAbsolute(folder)) throw new Error(`folder must be an absolute path (such as /srv/huitong-import), not ${folder.slice(0, 80)}`);
  }
  const pattern = c.pattern === undefined || c.pattern === '' ? XLSX_DEFAULTS.pattern : c.pattern;
  if (typeof pattern !== 'string' || pattern.length > 64 || !/^[^/\\\0]+$/.test(pattern) || !/\.xlsx$/i.test(pattern)) {
    throw new Error('pattern must be a file name pattern of up to 64 characters with * and ?, ending in .xlsx (such as *.xlsx or hr-*.xlsx)');
  }
  const after = c.after === undefined ? (folder === null ? 'keep' : XLSX_DEFAULTS.after) : c.after;
  if (after !== 'archive' && after !== 'keep') throw new Error("after must be 'archive' (move processed files to processed/) or 'keep' (leave them, remembering the last one's hash)");
  if (after === 'archive' && folder === null) throw new Error("after 'archive' needs a folder: an uploaded file stays the source's file until the next upload replaces it");
  const settle = c.settleSeconds === undefined ? XLSX_DEFAULTS.settleSeconds : c.settleSeconds;
  if (typeof settle !== 'number' || !Number.isSafeInteger(settle) || settle < 0 || settle > MAX_SETTLE_SECONDS) throw new Error(`settleSeconds must be an integer from 0 to ${MAX_SETTLE_SECONDS}`);
  return { folder: folder === null ? null : path.resolve(folder), pattern, after, settleSeconds: settle };
}

/** The config as stored: without `folder` for an uploaded file. */
function storedConfig(cfg: XlsxConfig): Record<string, unknown> {
  const { folder, ...rest } = cfg;
  return folder === null ? rest : { folder, ...rest };
}

/** Where the console's uploads for a source without a folder are kept. */
export function uploadFolder(dataDir: string, sourceId: string): string {
  return path.join(dataDir, DATA_DIR_IMPORTS, sourceId);
}

/** The folder a source reads: its `folder`, or its upload folder under the data directory. */
export function folderOf(cfg: XlsxConfig, deps: Pick<SourceFactoryDeps, 'dataDir' | 'sourceId'>): string {
  return cfg.folder ?? uploadFolder(deps.dataDir, deps.sourceId);
}

/** `*` and `?` of a file name pattern as a case-insensitive regular expression. */
export function patternRegExp(pattern: string): RegExp {
  const body = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'i');
}

async function realOrResolved(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    return path.resolve(p);
  }
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * The folder with symbolic links resolved, or why it cannot be used: inside the
 * data directory only <dataDir>/imports/… is accepted (the data directory holds
 * secret.key, TLS keys, the database and backups, which a drop folder must not
 * read or move).
 */
export async function safeFolder(folder: string, dataDir: string): Promise<{ ok: true; real: string } | { ok: false; message: string }> {
  if (!path.isAbsolute(folder)) return { ok: false, message: `folder ${folder} is not an absolute path` };
  const real = await realOrResolved(folder);
  const data = await realOrResolved(dataDir);
  if (inside(real, data) && !inside(real, path.join(data, DATA_DIR_IMPORTS))) {
    return { ok: false, message: `folder ${folder} is inside the data directory, which holds keys and the database; use a folder outside it, or under ${path.join(dataDir, DATA_DIR_IMPORTS)}` };
  }
  return { ok: true, real };
}

export interface Candidate {
  name: string;
  full: string;
  size: number;
  mtimeMs: number;
}

/** Regular files (not links) directly in the folder matching the pattern, newest first; none when the folder does not exist and `missingOk`. */
export async function candidates(folder: string, pattern: string, missingOk = false): Promise<Candidate[]> {
  const re = patternRegExp(pattern);
  const out: Candidate[] = [];
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (e) {
    if (missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  for (const d of entries) {
    if (!d.isFile() || !re.test(d.name) || d.name.startsWith('~$') || d.name.startsWith('.')) continue;
    const full = path.join(folder, d.name);
    try {
      const st = await lstat(full);
      if (st.isFile()) out.push({ name: d.name, full, size: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

function nothing(sinceCursor: string | null | undefined, note: string): Delta {
  return { kind: 'delta', sinceCursor: sinceCursor ?? '', depts: [], users: [], cursor: sinceCursor ?? null, notes: [note] };
}

/** The rows as the engine's departments (each path prefix, the path as external id) and users (the account, lower case, as external id). */
export function rowsToSnapshot(rows: readonly MemberRow[], cursor: string): Snapshot {
  const depts = new Map<string, SourceDept>();
  const users: SourceUser[] = [];
  for (const r of rows) {
    const deptExternalIds: string[] = [];
    for (const p of splitDeptPaths(r.depts)) {
      for (let i = 1; i <= p.length; i++) {
        const ext = p.slice(0, i).join('/');
        if (!depts.has(ext)) depts.set(ext, { externalId: ext, parentExternalId: i === 1 ? null : p.slice(0, i - 1).join('/'), name: p[i - 1] as string, order: depts.size });
      }
      const ext = p.join('/');
      if (!deptExternalIds.includes(ext)) deptExternalIds.push(ext);
    }
    users.push({
      externalId: r.account.toLowerCase(), account: r.account, name: r.name, deptExternalIds, disabled: false,
      ...(r.email ? { email: r.email } : {}), ...(r.mobile ? { mobile: r.mobile } : {}), ...(r.title ? { title: r.title } : {}),
      gender: r.gender === '男' ? 'male' : r.gender === '女' ? 'female' : 'unknown',
    });
  }
  return { kind: 'snapshot', depts: [...depts.values()], users, cursor };
}

export class XlsxSource implements DirectorySource, DataFingerprint {
  readonly origin: string;
  private readonly cfg: XlsxConfig;

  constructor(config: Record<string, unknown>, private readonly deps: SourceFactoryDeps) {
    this.origin = deps.origin;
    this.cfg = normalizeXlsxConfig(config);
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private get uploaded(): boolean {
    return this.cfg.folder === null;
  }

  /** Where the folder is, in words for messages. */
  private get where(): string {
    return this.uploaded ? 'the uploaded spreadsheets' : `folder ${this.cfg.folder}`;
  }

  private async folder(): Promise<string> {
    const s = await safeFolder(folderOf(this.cfg, this.deps), this.deps.dataDir);
    if (!s.ok) throw new SourceDataError(s.message, []);
    return s.real;
  }

  private async files(folder: string): Promise<Candidate[]> {
    try {
      return await candidates(folder, this.cfg.pattern, this.uploaded);
    } catch (e) {
      throw new SourceDataError(`${this.where} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, []);
    }
  }

  async read(opts: ReadOptions): Promise<Snapshot | Delta> {
    const { pattern, settleSeconds, after } = this.cfg;
    opts.onProgress?.({ phase: 'looking for a file', done: 0 });
    const folder = await this.folder();
    const files = await this.files(folder);
    const newest = files[0];
    if (!newest) {
      return nothing(opts.sinceCursor, this.uploaded ? 'no new file: no spreadsheet has been uploaded yet (upload one in the source’s settings)' : `no new file: nothing matches ${pattern} in ${this.cfg.folder}`);
    }
    if (newest.size > MAX_IMPORT_BYTES) throw new SourceDataError(`file ${newest.name} is ${(newest.size / 1048576).toFixed(1)} MB; at most ${MAX_IMPORT_BYTES / 1048576} MB is accepted; nothing was applied`, []);
    const bytes = await readFile(newest.full);
    const hash = sha256(bytes);
    const age = this.now() - newest.mtimeMs;
    if (age < settleSeconds * 1000) {
      // the console's upload renames a whole, checked file into place: nothing is still being copied
      const manifest = await readManifest(folder);
      if (!(manifest && manifest.name === newest.name && manifest.sha256 === hash)) {
        return nothing(opts.sinceCursor, `no new file yet: ${newest.name} was modified ${Math.max(0, Math.round(age / 1000))} s ago (less than ${settleSeconds} s) and may still be copied in; a later run reads it`);
      }
    }
    if (hash === hashOfCursor(opts.sinceCursor)) {
      // applied before; with `archive` the after-apply step missed it (the server stopped in between): archive it now
      if (after === 'archive' && !opts.dryRun) await archiveApplied(folder, files, newest, this.now());
      return nothing(opts.sinceCursor, `no new file: ${newest.name} is the file the last run applied`);
    }
    opts.onProgress?.({ phase: `reading ${newest.name}`, done: 0 });
    const check = await checkWorkbook(bytes);
    if (opts.signal?.aborted) throw new Error('aborted');
    const fix = this.uploaded ? 'upload a corrected file' : `drop a corrected file in ${this.cfg.folder}`;
    if (!check.ok) {
      const what = check.problem === 'rows' ? `has problems on ${check.badRows} of ${check.rows} rows` : `cannot be used: ${check.message}`;
      throw new SourceDataError(`file ${newest.name} ${what}; nothing was applied (${fix})`, check.problem === 'rows' ? check.problems : [], { fingerprint: cursorOf(hash) });
    }
    const { rows, ignored } = check;
    opts.onProgress?.({ phase: `read ${newest.name}`, done: rows.length, total: rows.length });
    const snap = rowsToSnapshot(rows, cursorOf(hash));
    snap.notes = [`read ${newest.name} (${rows.length} rows, sha256 ${hash.slice(0, 12)})`];
    if (files.length > 1) snap.notes.push(`${files.length - 1} older matching file(s) ignored: the newest file is the directory${after === 'archive' ? ' (they are archived with it)' : ''}`);
    if (ignored.password > 0) snap.notes.push(`密码 is not read by a scheduled import (${ignored.password} rows had one): set passwords in the console`);
    if (ignored.authorised > 0) snap.notes.push(`授权 is not read by a scheduled import (${ignored.authorised} rows had one): new members are authorised by the auto-authorise setting`);
    return snap;
  }

  /** The newest file's `xlsx-sha256:<hash>`, without parsing it; null when there is none (or it is too large to hash). */
  async fingerprint(): Promise<string | null> {
    try {
      const [newest] = await candidates(await this.folder(), this.cfg.pattern, true);
      if (!newest || newest.size > MAX_IMPORT_BYTES) return null;
      return cursorOf(sha256(await readFile(newest.full)));
    } catch {
      return null;
    }
  }

  testConnection(): Promise<ConnectionCheck> {
    return testXlsxSource(this.cfg, this.deps);
  }
}

/** The UTC time at the start of an archived file's name: 20300301-000500Z. */
export function processedStamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.\d+Z$/, 'Z');
}

/** Moves `files` to <folder>/processed/<time>-[superseded-]<name>; `applied` (if given) without "superseded-". */
export async function moveToProcessed(folder: string, files: readonly Candidate[], applied: Candidate | null, now: number): Promise<void> {
  const dest = path.join(folder, PROCESSED_DIR);
  await mkdir(dest, { recursive: true });
  for (const f of files) {
    const base = `${processedStamp(now)}-${f === applied ? '' : 'superseded-'}${f.name}`;
    let target = path.join(dest, base);
    for (let n = 2; await exists(target); n++) target = path.join(dest, base.replace(/\.xlsx$/i, `-${n}.xlsx`));
    await rename(f.full, target);
  }
}

/** Moves the applied file, and the older matching files it superseded, to <folder>/processed/<time>-<name>. */
async function archiveApplied(folder: string, files: readonly Candidate[], applied: Candidate, now: number): Promise<void> {
  await moveToProcessed(folder, files.filter((f) => f === applied || f.mtimeMs <= applied.mtimeMs), applied, now);
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** After an applied run: with `archive`, the file the run read (found by its hash, the cursor) is moved away with the older ones. */
export async function afterXlsxApply(config: Record<string, unknown>, deps: SourceFactoryDeps, cursor: string | null): Promise<void> {
  const cfg = normalizeXlsxConfig(config);
  const hash = hashOfCursor(cursor);
  if (cfg.after !== 'archive' || hash === null) return;
  const s = await safeFolder(folderOf(cfg, deps), deps.dataDir);
  if (!s.ok) return;
  const files = await candidates(s.real, cfg.pattern);
  for (const f of files) {
    if (f.size > MAX_IMPORT_BYTES) continue;
    if (sha256(await readFile(f.full)) === hash) {
      await archiveApplied(s.real, files, f, deps.now?.() ?? Date.now());
      deps.log.info({ file: f.name, folder: cfg.folder }, 'spreadsheet applied and archived');
      return;
    }
  }
}

registerSourceKind('xlsx', (config, deps) => new XlsxSource(config, deps), {
  label: { zh: 'Excel 表格', en: 'Spreadsheet (Excel)' },
  validateConfig: (config) => storedConfig(normalizeXlsxConfig(config)),
  afterApply: afterXlsxApply,
});
