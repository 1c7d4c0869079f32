import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseMemberWorkbook, splitDeptPaths, validateRows, type MemberRow, type RowError, type WorkbookProblem } from '../excel/import.js';
import type { SourceProblem } from '../../../sync/src/source.js';

/**
 * A member-template workbook as the `xlsx` source kind sees it (docs/sync.md
 * "Spreadsheet source"): the Excel import's parser (size, zip-bomb and layout
 * guards) and row checks, the counts a person wants to see (rows,
 * departments), and the upload manifest that the console's upload writes next
 * to the file. Shared by the source's read and connection test and by the
 * upload route, so each says the same about the same file.
 */

export const CURSOR_PREFIX = 'xlsx-sha256:';
/** Written next to an uploaded file (not matched by any *.xlsx pattern). */
export const MANIFEST_NAME = '.huitong-upload.json';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const cursorOf = (hash: string): string => CURSOR_PREFIX + hash;
export const hashOfCursor = (cursor: string | null | undefined): string | null => (cursor?.startsWith(CURSOR_PREFIX) ? cursor.slice(CURSOR_PREFIX.length) : null);

export type WorkbookCheck =
  | {
      ok: true;
      sha256: string;
      /** The rows, 密码 and 授权 emptied (a scheduled import reads neither). */
      rows: MemberRow[];
      depts: number;
      /** Rows that had a 密码 / 授权 value, which is not read. */
      ignored: { password: number; authorised: number };
    }
  /** The file as a whole cannot be read as the template (not xlsx, zip bomb, columns, merged cells, formulas, size). */
  | { ok: false; sha256: string; problem: WorkbookProblem; message: string }
  /** Readable, but rows have problems: `problems` lists every one. */
  | { ok: false; sha256: string; problem: 'rows'; message: string; rows: number; badRows: number; problems: SourceProblem[] };

/** Department paths of the rows, each level counted once ("研发部/平台组" and "研发部" are 2). */
export function deptCount(rows: readonly MemberRow[]): number {
  const seen = new Set<string>();
  for (const r of rows) for (const p of splitDeptPaths(r.depts)) for (let i = 1; i <= p.length; i++) seen.add(p.slice(0, i).join('/'));
  return seen.size;
}

export function rowProblem(e: RowError, rows: ReadonlyMap<number, MemberRow>): SourceProblem {
  const account = rows.get(e.row)?.account ?? '';
  return {
    kind: 'user', externalId: account !== '' ? account.toLowerCase() : `row ${e.row}`,
    label: `row ${e.row}${e.column ? `, ${e.column}` : ''}`,
    message: `${e.message}${e.value !== '' && !e.message.includes(e.value) ? ` (${e.value})` : ''}`,
  };
}

/**
 * Parses and checks a workbook. Every account may exist already (the
 * engine's matching policy decides), so only the file's own rules apply:
 * required cells, formats, accounts repeated within the file. Never throws.
 */
export async function checkWorkbook(bytes: Buffer): Promise<WorkbookCheck> {
  const hash = sha256(bytes);
  const parsed = await parseMemberWorkbook(bytes);
  if (!parsed.ok) return { ok: false, sha256: hash, problem: parsed.problem, message: parsed.message };
  const ignored = { password: parsed.rows.filter((r) => r.password !== '').length, authorised: parsed.rows.filter((r) => r.authorised !== '').length };
  const rows = parsed.rows.map((r) => ({ ...r, password: '', authorised: '' }));
  const errors = validateRows(rows, { hasAccount: () => false });
  if (errors.length > 0) {
    const byRow = new Map(rows.map((r) => [r.row, r]));
    const badRows = new Set(errors.map((e) => e.row)).size;
    return {
      ok: false, sha256: hash, problem: 'rows', rows: rows.length, badRows, problems: errors.map((e) => rowProblem(e, byRow)),
      message: `problems on ${badRows} of ${rows.length} rows`,
    };
  }
  return { ok: true, sha256: hash, rows, depts: deptCount(rows), ignored };
}

/** What the console's upload recorded about the file it stored (the file's own stat and hash must still match). */
export interface UploadManifest {
  /** The file's name in the folder (the uploaded name). */
  name: string;
  size: number;
  sha256: string;
  rows: number;
  depts: number;
  uploadedAt: number;
  uploadedBy: string;
}

function isManifest(v: unknown): v is UploadManifest {
  const m = v as Partial<UploadManifest> | null;
  return !!m && typeof m.name === 'string' && typeof m.size === 'number' && typeof m.sha256 === 'string' && typeof m.rows === 'number'
    && typeof m.depts === 'number' && typeof m.uploadedAt === 'number' && typeof m.uploadedBy === 'string';
}

/** The folder's upload manifest, or null (none, unreadable, or not one). */
export async function readManifest(folder: string): Promise<UploadManifest | null> {
  try {
    const v = JSON.parse(await readFile(path.join(folder, MANIFEST_NAME), 'utf8')) as unknown;
    return isManifest(v) ? v : null;
  } catch {
    return null;
  }
}

/** Writes `bytes` as `<folder>/<name>` atomically: a temporary file beside it, flushed, then renamed over. */
export async function writeAtomically(folder: string, name: string, bytes: Buffer | string, mode = 0o640): Promise<void> {
  const tmp = path.join(folder, `.${randomBytes(6).toString('hex')}.upload`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(folder, name));
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function writeManifest(folder: string, m: UploadManifest): Promise<void> {
  await writeAtomically(folder, MANIFEST_NAME, `${JSON.stringify(m, null, 2)}\n`);
}
