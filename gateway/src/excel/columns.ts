/**
 * The member sheet's columns, shared by the template, the import, the export
 * (F-3.4, F-3.7) and the admin console's import page: keep this file free of
 * imports, so the console can bundle it.
 */

export const MEMBER_SHEET = '成员';
export const HELP_SHEET = '说明';
export const DEPT_SHEET = '部门';
/** Largest .xlsx accepted by the import (the console checks it before uploading, so it lives here, free of node-only code). */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;

export type MemberField = 'account' | 'name' | 'depts' | 'mobile' | 'email' | 'title' | 'gender' | 'password' | 'authorised';

export interface MemberColumn {
  field: MemberField;
  /** Header text; required columns end in "*". */
  header: string;
  required: boolean;
  width: number;
  help: string;
}

export const MEMBER_COLUMNS: readonly MemberColumn[] = [
  { field: 'account', header: '帐号*', required: true, width: 16, help: '登录帐号，1–64 个字符：字母、数字和 . _ @ -，以字母或数字开头；不区分大小写，不能与文件中其他行或已有成员重复。' },
  { field: 'name', header: '姓名*', required: true, width: 12, help: '姓名，最多 64 个字符，不能含控制字符。' },
  { field: 'depts', header: '部门*', required: true, width: 28, help: '部门路径，用 / 分隔层级，如 研发部/平台组；多个部门用 ； 或 ; 分隔，第一个为主部门。不存在的部门会自动创建。' },
  { field: 'mobile', header: '手机', required: false, width: 16, help: '可选。手机号，数字，可带 + 前缀，5–20 位。' },
  { field: 'email', header: '邮箱', required: false, width: 24, help: '可选。电子邮箱地址。' },
  { field: 'title', header: '职务', required: false, width: 14, help: '可选。职务，最多 64 个字符。' },
  { field: 'gender', header: '性别', required: false, width: 8, help: '可选。男 或 女；留空表示未知。' },
  { field: 'password', header: '密码', required: false, width: 14, help: '可选。初始密码，8–256 个字符；留空则成员需由管理员重置密码或通过目录认证登录。' },
  { field: 'authorised', header: '授权', required: false, width: 8, help: '可选。是 或 否，默认 是：授权的成员占用许可证席位，可以登录客户端。' },
];

/** Column letter of a 1-based column number (1 → A, 27 → AA). */
export function columnLetter(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}
