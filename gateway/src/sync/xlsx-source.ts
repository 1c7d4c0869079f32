import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, realpath, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { MAX_IMPORT_BYTES, parseMemberWorkbook, splitDeptPaths, validateRows, type MemberRow, type RowError } from '../excel/import.js';
import { registerSourceKind, type SourceFactoryDeps } from '../../../sync/src/engine/registry.js';
import { SourceDataError, type ConnectionCheck, type Delta, type DirectorySource, type ReadOptions, type Snapshot, type SourceDept, type SourceProblem, type SourceUser } from '../../../sync/src/source.js';

/**
 * The `xlsx` source kind (docs/sync.md "Spreadsheet folder"): the member
 * import template (gateway/src/excel) dropped into a folder on the appliance,
 * read by scheduled or manual runs. It lives in the gateway, not in sync/src,
 * because it reuses the gateway's workbook parser and row validator (which
 * depend on the directory's account and name rules) and sync/src imports
 * nothing from the gateway.
 *
 * Each run looks at the newest file matching the pattern: unchanged since the
 * last applied run (same SHA-256, which is the source's cursor) or still being
 * written (modified less than settleSeconds ago) → an empty delta that keeps
 * the cursor ("nothing to do"); otherwise the whole file is the directory (a
 * snapshot). A file with any bad row fails the run with the rows' errors, and
 * nothing is applied. After an applied run, `after: 'archive'` moves the file,
 * and any older matching file it superseded, to <folder>/processed/.
 */

export interface XlsxConfig {
  folder: string;
  pattern: string;
  after: 'archive' | 'keep';
  /** A file modified less than this long ago is left for a later run (it may still be copied in). */
  settleSeconds: number;
}

export const XLSX_DEFAULTS = { pattern: '*.xlsx', after: 'archive', settleSeconds: 5 } as const;
/** Inside the data directory, only a folder under this one is accepted (the rest holds keys, the database, backups). */
export const DATA_DIR_IMPORTS = 'imports';
export const PROCESSED_DIR = 'processed';
const CURSOR_PREFIX = 'xlsx-sha256:';
const MAX_SETTLE_SECONDS = 3600;
const KEYS = new Set(['folder', 'pattern', 'after', 'settleSeconds']);

/** Checks and normalises a config (no I/O: the data directory rule is checked when the folder is used). */
export function normalizeXlsxConfig(c: Record<string, unknown>): XlsxConfig {
  for (const k of Object.keys(c)) if (!KEYS.has(k)) throw new Error(`unknown key ${k.slice(0, 40)}; an xlsx source has folder, pattern, after and settleSeconds`);
  const folder = c.folder;
  if (typeof folder !== 'string' || folder.trim() === '') throw new Error('folder is required: the absolute path of the folder on the appliance where spreadsheets are dropped');
  if (folder.length > 1024 || folder.includes('\0')) throw new Error('folder must be a path of up to 1024 characters');
  if (!path.isAbsolute(folder.trim())) throw new Error(`folder must be an absolute path (such as /srv/huitong-import), not ${folder.slice(0, 80)}`);
  const pattern = c.pattern === undefined || c.pattern === '' ? XLSX_DEFAULTS.pattern : c.pattern;
  if (typeof pattern !== 'string' || pattern.length > 64 || !/^[^/\\\0]+$/.test(pattern) || !/\.xlsx$/i.test(pattern)) {
    throw new Error('pattern must be a file name pattern of up to 64 characters with * and ?, ending in .xlsx (such as *.xlsx or hr-*.xlsx)');
  }
  const after = c.after === undefined ? XLSX_DEFAULTS.after : c.after;
  if (after !== 'archive' && after !== 'keep') throw new Error("after must be 'archive' (move processed files to processed/) or 'keep' (leave them, remembering the last one's hash)");
  const settle = c.settleSeconds === undefined ? XLSX_DEFAULTS.settleSeconds : c.settleSeconds;
  if (typeof settle !== 'number' || !Number.isSafeInteger(settle) || settle < 0 || settle > MAX_SETTLE_SECONDS) throw new Error(`settleSeconds must be an integer from 0 to ${MAX_SETTLE_SECONDS}`);
  return { folder: path.resolve(folder.trim()), pattern, after, settleSeconds: settle };
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

interface Candidate {
  name: string;
  full: string;
  size: number;
  mtimeMs: number;
}

/** Regular files (not links) directly in the folder matching the pattern, newest first. */
async function candidates(folder: string, pattern: string): Promise<Candidate[]> {
  const re = patternRegExp(pattern);
  const out: Candidate[] = [];
  for (const d of await readdir(folder, { withFileTypes: true })) {
    if (!d.isFile() || !re.test(d.name) || d.name.startsWith('~$')) continue;
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

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const cursorHash = (cursor: string | null | undefined) => (cursor?.startsWith(CURSOR_PREFIX) ? cursor.slice(CURSOR_PREFIX.length) : null);

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

function rowProblem(e: RowError, rows: ReadonlyMap<number, MemberRow>): SourceProblem {
  const account = rows.get(e.row)?.account ?? '';
  return {
    kind: 'user', externalId: account !== '' ? account.toLowerCase() : `row ${e.row}`,
    label: `row ${e.row}${e.column ? `, ${e.column}` : ''}`,
    message: `${e.message}${e.value !== '' && !e.message.includes(e.value) ? ` (${e.value})` : ''}`,
  };
}

export class XlsxSource implements DirectorySource {
  readonly origin: string;
  private readonly cfg: XlsxConfig;

  constructor(config: Record<string, unknown>, private readonly deps: SourceFactoryDeps) {
    this.origin = deps.origin;
    this.cfg = normalizeXlsxConfig(config);
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private async folder(): Promise<string> {
    const s = await safeFolder(this.cfg.folder, this.deps.dataDir);
    if (!s.ok) throw new SourceDataError(s.message, []);
    return s.real;
  }

  async read(opts: ReadOptions): Promise<Snapshot | Delta> {
    const { pattern, settleSeconds, after } = this.cfg;
    opts.onProgress?.({ phase: 'looking for a file', done: 0 });
    const folder = await this.folder();
    let files: Candidate[];
    try {
      files = await candidates(folder, pattern);
    } catch (e) {
      throw new SourceDataError(`folder ${this.cfg.folder} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, []);
    }
    const newest = files[0];
    if (!newest) return nothing(opts.sinceCursor, `no new file: nothing matches ${pattern} in ${this.cfg.folder}`);
    const age = this.now() - newest.mtimeMs;
    if (age < settleSeconds * 1000) {
      return nothing(opts.sinceCursor, `no new file yet: ${newest.name} was modified ${Math.max(0, Math.round(age / 1000))} s ago (less than ${settleSeconds} s) and may still be copied in; a later run reads it`);
    }
    if (newest.size > MAX_IMPORT_BYTES) throw new SourceDataError(`file ${newest.name} is ${(newest.size / 1048576).toFixed(1)} MB; at most ${MAX_IMPORT_BYTES / 1048576} MB is accepted`, []);
    const bytes = await readFile(newest.full);
    const hash = sha256(bytes);
    if (hash === cursorHash(opts.sinceCursor)) {
      // applied before; with `archive` the after-apply step missed it (the server stopped in between): archive it now
      if (after === 'archive' && !opts.dryRun) await archiveApplied(folder, files, newest, this.now());
      return nothing(opts.sinceCursor, `no new file: ${newest.name} is the file the last run applied`);
    }
    opts.onProgress?.({ phase: `reading ${newest.name}`, done: 0 });
    const parsed = await parseMemberWorkbook(bytes);
    if (opts.signal?.aborted) throw new Error('aborted');
    if (!parsed.ok) throw new SourceDataError(`file ${newest.name} cannot be used: ${parsed.message}; nothing was applied`, []);
    // the scheduled import leaves passwords and authorisation to the engine's rules: those columns are not read
    const ignored = { password: parsed.rows.filter((r) => r.password !== '').length, authorised: parsed.rows.filter((r) => r.authorised !== '').length };
    const rows = parsed.rows.map((r) => ({ ...r, password: '', authorised: '' }));
    // every account may exist already: the engine's matching policy decides (adopt, update, or a conflict)
    const errors = validateRows(rows, { hasAccount: () => false });
    if (errors.length > 0) {
      const byRow = new Map(rows.map((r) => [r.row, r]));
      const badRows = new Set(errors.map((e) => e.row)).size;
      throw new SourceDataError(`file ${newest.name} has problems on ${badRows} of ${rows.length} rows; nothing was applied (fix the file and drop it again)`, errors.map((e) => rowProblem(e, byRow)));
    }
    opts.onProgress?.({ phase: `read ${newest.name}`, done: rows.length, total: rows.length });
    const snap = rowsToSnapshot(rows, CURSOR_PREFIX + hash);
    snap.notes = [`read ${newest.name} (${rows.length} rows, sha256 ${hash.slice(0, 12)})`];
    if (files.length > 1) snap.notes.push(`${files.length - 1} older matching file(s) ignored: the newest file is the directory${after === 'archive' ? ' (they are archived with it)' : ''}`);
    if (ignored.password > 0) snap.notes.push(`密码 is not read by a scheduled import (${ignored.password} rows had one): set passwords in the console`);
    if (ignored.authorised > 0) snap.notes.push(`授权 is not read by a scheduled import (${ignored.authorised} rows had one): new members are authorised by the auto-authorise setting`);
    return snap;
  }

  async testConnection(): Promise<ConnectionCheck> {
    const t0 = Date.now();
    const step = (ok: boolean, message: string): ConnectionCheck => ({ ok, steps: [{ step: 'folder', ok, message, ms: Date.now() - t0 }] });
    const s = await safeFolder(this.cfg.folder, this.deps.dataDir);
    if (!s.ok) return step(false, s.message);
    try {
      if (!(await stat(s.real)).isDirectory()) return step(false, `${this.cfg.folder} is not a folder`);
      await access(s.real, constants.R_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return step(false, code === 'ENOENT' ? `folder ${this.cfg.folder} does not exist` : `folder ${this.cfg.folder} cannot be read by the server (${code ?? (e as Error).message})`);
    }
    if (this.cfg.after === 'archive') {
      try {
        await access(s.real, constants.W_OK);
      } catch {
        return step(false, `folder ${this.cfg.folder} is readable but not writable: processed files cannot be moved to ${PROCESSED_DIR}/ (give the server write access, or set after to keep)`);
      }
    }
    const files = await candidates(s.real, this.cfg.pattern);
    return step(true, `folder ${this.cfg.folder} is readable; ${files.length} file(s) match ${this.cfg.pattern}${files[0] ? `, the newest is ${files[0].name}` : ''}`);
  }
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.\d+Z$/, 'Z');
}

/** Moves the applied file, and the older matching files it superseded, to <folder>/processed/<time>-<name>. */
async function archiveApplied(folder: string, files: readonly Candidate[], applied: Candidate, now: number): Promise<void> {
  const dest = path.join(folder, PROCESSED_DIR);
  await mkdir(dest, { recursive: true });
  for (const f of files) {
    if (f !== applied && f.mtimeMs > applied.mtimeMs) continue;
    const base = `${stamp(now)}-${f === applied ? '' : 'superseded-'}${f.name}`;
    let target = path.join(dest, base);
    for (let n = 2; await exists(target); n++) target = path.join(dest, base.replace(/\.xlsx$/i, `-${n}.xlsx`));
    await rename(f.full, target);
  }
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
  const hash = cursorHash(cursor);
  if (cfg.after !== 'archive' || hash === null) return;
  const s = await safeFolder(cfg.folder, deps.dataDir);
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
  label: { zh: 'Excel 表格（监视文件夹）', en: 'Spreadsheet (watched folder)' },
  validateConfig: (config) => normalizeXlsxConfig(config) as unknown as Record<string, unknown>,
  afterApply: afterXlsxApply,
});
