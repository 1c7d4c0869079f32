import ExcelJS from 'exceljs';
import { hashPassword, passwordProblem } from '../auth/password.js';
import { ACCOUNT_RE, CONTROL_RE, EMAIL_RE, MAX_NAME_CHARS, MOBILE_RE } from '../directory/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import { bulkContext, writeMembers, type BulkContext, type PreparedMember } from './bulk.js';
import { columnLetter, MAX_IMPORT_BYTES, MEMBER_COLUMNS, MEMBER_SHEET, type MemberField } from './columns.js';
import { inflateEntry, inspectZip, ZipRefused, type ZipLimits } from './zip-guard.js';

export { MAX_IMPORT_BYTES } from './columns.js';
export const MAX_IMPORT_ROWS = 100_000;
export const MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024;
export const MAX_COMPRESSION_RATIO = 100;
export const MAX_ZIP_ENTRIES = 1000;
export const MAX_DEPT_DEPTH = 32;
export const MAX_MEMBER_DEPTS = 50;
/** Passwords hashed at once (scrypt runs on the libuv pool). */
const HASH_CONCURRENCY = 4;


export interface ImportLimits extends ZipLimits {
  maxBytes: number;
  maxRows: number;
}

export const DEFAULT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxBytes: MAX_IMPORT_BYTES, maxRows: MAX_IMPORT_ROWS, maxUncompressedBytes: MAX_UNCOMPRESSED_BYTES, maxRatio: MAX_COMPRESSION_RATIO, maxEntries: MAX_ZIP_ENTRIES,
});

/** One data row as text, by field; `row` is the Excel row number (2 = first data row). */
export type MemberRow = { row: number } & Record<MemberField, string>;

export interface RowError {
  row: number;
  /** Header of the column, without "*"; empty when the whole row is meant. */
  column: string;
  /** The cell's text as read (at most MAX_ERROR_VALUE_CHARS characters); empty for 密码, which is never echoed. */
  value: string;
  message: string;
}

/** Characters of a refused cell kept in a row error. */
export const MAX_ERROR_VALUE_CHARS = 100;

export type WorkbookProblem = 'too_large' | 'not_xlsx' | 'zip_bomb' | 'no_sheet' | 'bad_columns' | 'merged_cells' | 'formula' | 'too_many_rows' | 'empty';

export { errorReport } from './export.js';

export type ParseResult = { ok: true; rows: MemberRow[] } | { ok: false; problem: WorkbookProblem; message: string };

const fail = (problem: WorkbookProblem, message: string): ParseResult => ({ ok: false, problem, message });
const headerText = (h: string) => h.replace(/\*$/, '');

/** A cell's value as text, or a marker for a formula. Rich text, hyperlinks (emails) and numbers become their text. */
function cellText(v: ExcelJS.CellValue): string | { formula: true } {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('formula' in v || 'sharedFormula' in v) return { formula: true };
    if ('richText' in v) return v.richText.map((r) => r.text).join('');
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('error' in v) return String(v.error);
  }
  return String(v);
}

const ROW_TAG_RE = /<(?:[A-Za-z_][\w.-]*:)?row[\s>/]/g;

/** Row elements in a sheet's XML (an upper bound on its rows). */
function countRowTags(xml: Buffer): number {
  const text = xml.toString('latin1');
  ROW_TAG_RE.lastIndex = 0;
  let n = 0;
  while (ROW_TAG_RE.exec(text) !== null) n++;
  return n;
}

/**
 * Reads the member sheet. Checks, in order: size, zip signature and central
 * directory (before anything inflates), each part unpacking within its
 * declared size, the sheets' row counts, that exceljs can read it, the header
 * row, merged cells, the row count, formulas. Never throws: every problem is
 * a result naming what is wrong and where.
 */
export async function parseMemberWorkbook(buffer: Buffer, limits: ImportLimits = DEFAULT_LIMITS): Promise<ParseResult> {
  if (buffer.length > limits.maxBytes) return fail('too_large', `the file is ${(buffer.length / 1048576).toFixed(1)} MB; at most ${Math.round(limits.maxBytes / 1048576)} MB is accepted`);
  try {
    const zip = inspectZip(buffer, limits);
    // every part, unpacked within its declared size; the sheets' rows counted before exceljs builds them in memory
    for (const e of zip.entries) {
      const data = inflateEntry(buffer, e);
      if (/^xl\/worksheets\/[^/]+\.xml$/.test(e.name)) {
        const rows = countRowTags(data);
        if (rows - 1 > limits.maxRows) return fail('too_many_rows', `a sheet of the workbook has ${rows - 1} data rows; at most ${limits.maxRows} are accepted per file`);
      }
    }
  } catch (e) {
    if (e instanceof ZipRefused) return fail(e.reason === 'zip_bomb' ? 'zip_bomb' : 'not_xlsx', e.message);
    throw e;
  }
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buffer as unknown as ExcelJS.Buffer);
  } catch {
    return fail('not_xlsx', 'the file could not be read as an .xlsx workbook; save it from Excel or WPS as "Excel 工作簿 (*.xlsx)" and try again');
  }
  const ws = wb.getWorksheet(MEMBER_SHEET) ?? wb.worksheets[0];
  if (!ws) return fail('no_sheet', `the workbook has no sheet; the members go on a sheet named ${MEMBER_SHEET}`);

  const header = ws.getRow(1);
  for (let i = 0; i < MEMBER_COLUMNS.length; i++) {
    const want = MEMBER_COLUMNS[i]!.header;
    const got = cellText(header.getCell(i + 1).value);
    const text = typeof got === 'string' ? got.trim() : '(a formula)';
    if (headerText(text) !== headerText(want)) {
      return fail('bad_columns', `sheet ${ws.name}, cell ${columnLetter(i + 1)}1 should be the header 「${want}」 but is ${text ? `「${text.slice(0, 40)}」` : 'empty'}; use the template's columns in its order`);
    }
  }
  for (let c = MEMBER_COLUMNS.length + 1; c <= Math.max(ws.columnCount, header.cellCount); c++) {
    const got = cellText(header.getCell(c).value);
    if (got !== '') return fail('bad_columns', `sheet ${ws.name}, cell ${columnLetter(c)}1 has an unexpected column 「${typeof got === 'string' ? got.slice(0, 40) : 'formula'}」; the template has ${MEMBER_COLUMNS.length} columns (A–${columnLetter(MEMBER_COLUMNS.length)})`);
  }

  const merges = (ws.model as { merges?: string[] }).merges ?? [];
  if (merges.length > 0) return fail('merged_cells', `sheet ${ws.name} has merged cells at ${merges.slice(0, 5).join(', ')}${merges.length > 5 ? ` and ${merges.length - 5} more` : ''}; unmerge them and fill every cell`);
  if (ws.rowCount - 1 > limits.maxRows) return fail('too_many_rows', `sheet ${ws.name} has ${ws.rowCount - 1} rows; at most ${limits.maxRows} are accepted per file`);

  const rows: MemberRow[] = [];
  let problem: ParseResult | null = null;
  ws.eachRow({ includeEmpty: false }, (r, rowNumber) => {
    if (problem || rowNumber === 1) return;
    const out = { row: rowNumber } as MemberRow;
    let any = false;
    for (let i = 0; i < MEMBER_COLUMNS.length; i++) {
      const t = cellText(r.getCell(i + 1).value);
      if (typeof t !== 'string') {
        problem = fail('formula', `cell ${columnLetter(i + 1)}${rowNumber} of sheet ${ws.name} holds a formula; replace formulas by their values (copy, paste values) and try again`);
        return;
      }
      const v = t.trim();
      if (v) any = true;
      out[MEMBER_COLUMNS[i]!.field] = v;
    }
    // cells right of the template's columns are ignored in data rows only when empty
    for (let c = MEMBER_COLUMNS.length + 1; c <= r.cellCount; c++) {
      if (typeof cellText(r.getCell(c).value) !== 'string') {
        problem = fail('formula', `cell ${columnLetter(c)}${rowNumber} of sheet ${ws.name} holds a formula; replace formulas by their values and try again`);
        return;
      }
    }
    if (any) rows.push(out);
  });
  if (problem) return problem;
  if (rows.length === 0) return fail('empty', `sheet ${ws.name} has no member rows below the header`);
  return { ok: true, rows };
}

/** What validation needs to know about the directory as it is. */
export interface ValidationContext {
  /** Account taken by an existing user (case-insensitive). */
  hasAccount(account: string): boolean;
  /** Null when the administrator may place members under this path (it may not exist yet), else why not. */
  deptProblem?(path: string[]): string | null;
  /** False when the administrator lacks the authorisation right: every row must then say 授权 否. */
  canAuthorise?: boolean;
}

function nameProblem(what: string, v: string): string | null {
  if ([...v].length > MAX_NAME_CHARS) return `${what} is longer than ${MAX_NAME_CHARS} characters (${[...v].length})`;
  if (CONTROL_RE.test(v)) return `${what} contains control characters`;
  return null;
}

/** Splits 部门 into paths of names: "研发部/平台组；市场部" → [["研发部","平台组"],["市场部"]]. */
export function splitDeptPaths(text: string): string[][] {
  return text.split(/[;；]/).map((p) => p.split('/').map((x) => x.trim()).filter(Boolean)).filter((p) => p.length > 0);
}

/**
 * Checks every row and returns every problem found (empty when the file may be
 * imported). Pure apart from the context lookups; never throws.
 */
export function validateRows(rows: readonly MemberRow[], ctx: ValidationContext): RowError[] {
  const errors: RowError[] = [];
  const firstRowOf = new Map<string, number>();
  const col = (f: MemberField) => headerText(MEMBER_COLUMNS.find((c) => c.field === f)!.header);
  for (const r of rows) {
    const err = (f: MemberField, message: string) =>
      errors.push({ row: r.row, column: col(f), value: f === 'password' ? '' : [...r[f]].slice(0, MAX_ERROR_VALUE_CHARS).join(''), message });
    for (const c of MEMBER_COLUMNS) if (c.required && r[c.field] === '') err(c.field, `${headerText(c.header)} is required`);
    if (r.account !== '') {
      const key = r.account.toLowerCase();
      if (!ACCOUNT_RE.test(r.account)) err('account', 'account must be 1–64 characters of letters, digits, . _ @ - and start with a letter or digit');
      else if (firstRowOf.has(key)) err('account', `account ${r.account} is already used on row ${firstRowOf.get(key)} of this file`);
      else if (ctx.hasAccount(key)) err('account', `account ${r.account} already belongs to an existing member`);
      if (!firstRowOf.has(key)) firstRowOf.set(key, r.row);
    }
    if (r.name !== '') {
      const p = nameProblem('name', r.name);
      if (p) err('name', p);
    }
    if (r.depts !== '') {
      const paths = splitDeptPaths(r.depts);
      if (paths.length === 0) err('depts', 'give at least one department path, such as 研发部/平台组');
      if (paths.length > MAX_MEMBER_DEPTS) err('depts', `at most ${MAX_MEMBER_DEPTS} departments per member`);
      for (const p of paths.slice(0, MAX_MEMBER_DEPTS)) {
        const shown = p.join('/').slice(0, 80);
        if (p.length > MAX_DEPT_DEPTH) {
          err('depts', `department ${shown} is ${p.length} levels deep; at most ${MAX_DEPT_DEPTH} are allowed`);
          continue;
        }
        const bad = p.map((n) => nameProblem(`department name ${n.slice(0, 20)}`, n)).find((x) => x !== null);
        if (bad) err('depts', `${bad} (in ${shown})`);
        else {
          const scope = ctx.deptProblem?.(p);
          if (scope) err('depts', scope);
        }
      }
    }
    if (r.mobile !== '' && !MOBILE_RE.test(r.mobile)) err('mobile', `mobile ${r.mobile.slice(0, 30)} is not valid: digits, optional leading +, 5–20 characters`);
    if (r.email !== '' && !EMAIL_RE.test(r.email)) err('email', `email ${r.email.slice(0, 60)} is not valid`);
    if (r.title !== '') {
      const p = nameProblem('title', r.title);
      if (p) err('title', p);
    }
    if (r.gender !== '' && r.gender !== '男' && r.gender !== '女') err('gender', `gender must be 男 or 女 (or empty), not ${r.gender.slice(0, 10)}`);
    if (r.password !== '') {
      const p = passwordProblem(r.password);
      if (p) err('password', p);
    }
    if (r.authorised !== '' && r.authorised !== '是' && r.authorised !== '否') err('authorised', `授权 must be 是 or 否 (or empty for 是), not ${r.authorised.slice(0, 10)}`);
    else if (ctx.canAuthorise === false && r.authorised !== '否') err('authorised', 'you do not have the right 授权管理 (authorisation): set 授权 to 否, or ask an administrator who has it');
  }
  return errors;
}

export type ImportPhase = 'parsed' | 'validated' | 'written';

export interface ImportProgress {
  phase: ImportPhase;
  done: number;
  total: number;
}

export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
  limits?: ImportLimits;
  /** Departments the administrator may manage (null or absent: all); new departments must lie under one of them. */
  scopeDeptIds?: ReadonlySet<DeptId> | null;
  /** False when the administrator may not authorise members (default true). */
  canAuthorise?: boolean;
}

export type ImportResult =
  | { ok: true; created: number; authorised: number; deptsCreated: number; version: number }
  | { ok: false; errors: RowError[] };

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Imports members from an .xlsx workbook, all or nothing. A workbook that
 * cannot be read throws GatewayError (GW_FILE_TOO_LARGE for size, otherwise
 * GW_BAD_REQUEST with details.problem); row problems answer `{ ok: false,
 * errors }`; too few seats throws GW_LICENCE_SEATS_FULL / GW_LICENCE_EXPIRED.
 * In all those cases nothing is written. Otherwise missing departments and
 * every member are written in one SQLite transaction and `dir.changed` is
 * published once after it commits.
 */
export async function importMembers(services: Pick<Services, 'db' | 'bus' | 'licence'>, buffer: Buffer, opts: ImportOptions = {}): Promise<ImportResult> {
  const parsed = await parseMemberWorkbook(buffer, opts.limits ?? DEFAULT_LIMITS);
  if (!parsed.ok) {
    throw new GatewayError(parsed.problem === 'too_large' ? 'GW_FILE_TOO_LARGE' : 'GW_BAD_REQUEST', parsed.message, { details: { problem: parsed.problem } });
  }
  const rows = parsed.rows;
  opts.onProgress?.({ phase: 'parsed', done: rows.length, total: rows.length });
  const ctx: BulkContext = bulkContext(services.db, opts.scopeDeptIds ?? null);
  const errors = validateRows(rows, { ...ctx, canAuthorise: opts.canAuthorise !== false });
  opts.onProgress?.({ phase: 'validated', done: rows.length, total: rows.length });
  if (errors.length > 0) return { ok: false, errors };

  const members: PreparedMember[] = await mapLimited(rows, HASH_CONCURRENCY, async (r) => ({
    row: r.row, account: r.account, name: r.name, deptPaths: splitDeptPaths(r.depts), mobile: r.mobile, email: r.email, title: r.title,
    gender: r.gender === '男' ? 'male' : r.gender === '女' ? 'female' : 'unknown',
    authorised: r.authorised !== '否',
    passwordHash: r.password === '' ? null : await hashPassword(r.password),
  }));
  const seats = members.filter((m) => m.authorised).length;
  const write = async () => writeMembers(services.db, members, (done) => opts.onProgress?.({ phase: 'written', done, total: members.length }));
  const result = seats > 0 ? await services.licence.withSeats(seats, write) : await write();
  services.bus.publish({ type: 'dir.changed', version: result.version });
  return { ok: true, created: members.length, authorised: seats, deptsCreated: result.deptsCreated, version: result.version };
}
