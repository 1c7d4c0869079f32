import ExcelJS from 'exceljs';
import { MEMBER_COLUMNS, MEMBER_SHEET } from '../../gateway/src/excel/columns.js';

/** One data row of the member template: 帐号, 姓名, 部门, 手机, 邮箱, 职务, 性别, 密码, 授权 (trailing cells may be left out). */
export type MemberCells = string[];

/**
 * A member-template workbook written with exceljs from scratch, as a person
 * would make it in Excel: sheet 成员, the template's headers in row 1, one
 * member per row after it.
 */
export async function memberWorkbook(rows: readonly MemberCells[], opts: { sheet?: string; headers?: string[] } = {}): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(opts.sheet ?? MEMBER_SHEET);
  ws.addRow(opts.headers ?? MEMBER_COLUMNS.map((c) => c.header));
  for (const r of rows) ws.addRow(r.map((v) => (v === '' ? null : v)));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The workbook with its first central-directory entry declaring ~4 GB unpacked (a zip bomb by its own declarations). */
export function zipBombOf(xlsx: Buffer): Buffer {
  const bomb = Buffer.from(xlsx);
  const p = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  if (p < 0) throw new Error('not a zip');
  bomb.writeUInt32LE(0xf0000000, p + 24);
  return bomb;
}

/** Everything a sync run could change in the directory (users, memberships, departments, the directory version), as one comparable string. */
export function directoryState(db: { prepare(sql: string): { all(): unknown[]; pluck(): { get(): unknown } } }): string {
  return JSON.stringify({
    users: db.prepare('SELECT id, account, name, email, mobile, title, gender, status, authorised, origin, external_id, version FROM users ORDER BY id').all(),
    memberships: db.prepare('SELECT user_id, dept_id, is_main FROM user_departments ORDER BY user_id, dept_id').all(),
    depts: db.prepare('SELECT id, parent_id, name, origin, external_id, version FROM departments ORDER BY id').all(),
    version: db.prepare("SELECT value FROM meta WHERE key = 'dir_version'").pluck().get(),
  });
}
