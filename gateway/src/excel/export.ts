import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import type { DeptId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import { DEPT_SHEET, MEMBER_COLUMNS, MEMBER_SHEET } from './columns.js';

export interface ExportOptions {
  /** Departments the administrator may see (null or absent: the whole organisation, including people in no department). */
  scopeDeptIds?: ReadonlySet<DeptId> | null;
}

/** Users read per query, so memory stays flat for large organisations. */
const PAGE_ROWS = 2000;
const EXPORT_COLUMNS = [...MEMBER_COLUMNS.filter((c) => c.field !== 'password').map((c) => ({ header: c.header.replace('*', ''), width: c.width })),
  { header: '状态', width: 8 }, { header: '已禁用', width: 8 }];
const GENDER_TEXT: Record<string, string> = { male: '男', female: '女', unknown: '' };

interface DeptRow { id: number; parent_id: number | null; name: string; sort_order: number }
interface UserRow { id: number; account: string; name: string; mobile: string; email: string; title: string; gender: string; status: string; authorised: number; blocked: number }

/**
 * The organisation as an .xlsx: sheet 部门 (path, order) and sheet 成员 (the
 * template's columns without 密码, plus 状态 and 已禁用 = on the blocked list).
 * Rows are committed as they are written (exceljs streaming writer). A scoped
 * export holds only the departments in scope and the members with at least
 * one of them, listing only those departments. May throw on a storage failure.
 */
export async function exportOrg(services: Pick<Services, 'db'>, opts: ExportOptions = {}): Promise<Buffer> {
  const scope = opts.scopeDeptIds ?? null;
  const db = services.db;
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    sink.on('end', resolve);
    sink.on('error', reject);
  });
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink, useSharedStrings: false, useStyles: true });

  const depts = db.prepare('SELECT id, parent_id, name, sort_order FROM departments').all() as DeptRow[];
  const byId = new Map(depts.map((d) => [d.id, d]));
  const paths = new Map<number, string>();
  const pathOf = (id: number): string => {
    const known = paths.get(id);
    if (known !== undefined) return known;
    const names: string[] = [];
    for (let d = byId.get(id); d && names.length < 256; d = d.parent_id === null ? undefined : byId.get(d.parent_id)) names.push(d.name);
    const p = names.reverse().join('/');
    paths.set(id, p);
    return p;
  };
  const visible = (id: number) => scope === null || scope.has(id as DeptId);

  const ds = wb.addWorksheet(DEPT_SHEET);
  ds.columns = [{ header: '部门', width: 40 }, { header: '排序', width: 8 }];
  const deptRows = depts.filter((d) => visible(d.id)).map((d) => ({ path: pathOf(d.id), order: d.sort_order }));
  deptRows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const d of deptRows) ds.addRow([d.path, d.order]).commit();
  ds.commit();

  const ms = wb.addWorksheet(MEMBER_SHEET);
  ms.columns = EXPORT_COLUMNS;
  const page = db.prepare('SELECT id, account, name, mobile, email, title, gender, status, authorised, blocked FROM users WHERE id > ? ORDER BY id LIMIT ?');
  const memberships = db.prepare('SELECT user_id, dept_id, is_main FROM user_departments WHERE user_id BETWEEN ? AND ? ORDER BY user_id, is_main DESC, dept_id');
  for (let after = 0; ; ) {
    const users = page.all(after, PAGE_ROWS) as UserRow[];
    if (users.length === 0) break;
    const first = users[0]!.id;
    const last = users[users.length - 1]!.id;
    const deptsOf = new Map<number, number[]>();
    for (const m of memberships.all(first, last) as { user_id: number; dept_id: number }[]) {
      const list = deptsOf.get(m.user_id);
      if (list) list.push(m.dept_id);
      else deptsOf.set(m.user_id, [m.dept_id]);
    }
    for (const u of users) {
      const all = deptsOf.get(u.id) ?? [];
      const shown = all.filter(visible);
      if (scope !== null && shown.length === 0) continue;
      ms.addRow([u.account, u.name, shown.map(pathOf).join('；'), u.mobile, u.email, u.title, GENDER_TEXT[u.gender] ?? '',
        u.authorised === 1 ? '是' : '否', u.status === 'active' ? '正常' : '停用', u.blocked === 1 ? '是' : '否']).commit();
    }
    after = last;
    // let other requests run between pages
    await new Promise<void>((r) => setImmediate(r));
  }
  ms.commit();
  await wb.commit();
  await done;
  return Buffer.concat(chunks);
}

/** The per-row error report of a refused import as an .xlsx: 行号, 列, 值, 错误. */
export async function errorReport(errors: readonly { row: number; column: string; value?: string; message: string }[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('错误');
  ws.columns = [{ header: '行号', width: 8 }, { header: '列', width: 10 }, { header: '值', width: 24 }, { header: '错误', width: 90 }];
  ws.getRow(1).font = { bold: true };
  // strings stay strings in the sheet (never formulas), whatever they look like
  for (const e of errors) ws.addRow([e.row, e.column, e.value ?? '', e.message]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
