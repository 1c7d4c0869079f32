import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { MAX_IMPORT_BYTES, type WorkbookProblem } from '../excel/import.js';
import type { SourceFactoryDeps } from '../../../sync/src/engine/registry.js';
import type { ConnectionCheck } from '../../../sync/src/source.js';
import { candidates, folderOf, PROCESSED_DIR, safeFolder, type XlsxConfig } from './xlsx-source.js';
import { checkWorkbook } from './xlsx-workbook.js';

type Step = ConnectionCheck['steps'][number];

/** A whole-file problem of the template, in Chinese (the English message names the cell). */
export const WORKBOOK_PROBLEM_ZH: Record<WorkbookProblem, string> = {
  too_large: '文件超过大小上限',
  not_xlsx: '这不是可读取的 .xlsx 工作簿（可能是其他格式、已损坏或改了扩展名）',
  zip_bomb: '文件解压后过大或结构异常，出于安全原因被拒绝',
  no_sheet: '工作簿中没有工作表',
  bad_columns: '表头与成员导入模板不一致',
  merged_cells: '工作表中有合并单元格',
  formula: '工作表中有公式，请替换为数值',
  too_many_rows: '行数超过上限',
  empty: '表头下面没有成员行',
};

/** "row 7, 姓名" → "第 7 行，姓名". */
export function rowLabelZh(label: string): string {
  return label.replace(/^row (\d+)(?:, )?/, (_m, n: string) => `第 ${n} 行${label.includes(', ') ? '，' : ''}`);
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${mb(bytes)} MB`);

/**
 * "Test connection" of an `xlsx` source, step by step: `folder` (usable,
 * readable, writable for `archive`), `file` (the newest matching file),
 * `workbook` (it reads as the member template: rows and departments) and
 * `rows` (every row passes; else how many do not and the first problems).
 * Stops at the first failed step. Reads and parses the file; changes nothing.
 */
export async function testXlsxSource(cfg: XlsxConfig, deps: SourceFactoryDeps): Promise<ConnectionCheck> {
  const t0 = Date.now();
  const steps: Step[] = [];
  const add = (step: Step['step'], ok: boolean, message: string, messageZh: string, code: string) => {
    steps.push({ step, ok, code, message, messageZh, ms: Date.now() - t0 });
    return ok;
  };
  const done = (): ConnectionCheck => ({ ok: steps.every((s) => s.ok), steps });
  const uploaded = cfg.folder === null;
  const folder = folderOf(cfg, deps);

  // ---- folder ----
  const s = await safeFolder(folder, deps.dataDir);
  if (!s.ok) return (add('folder', false, s.message, `文件夹 ${folder} 在数据目录中（那里存放密钥和数据库），不能使用；请使用数据目录以外的文件夹，或数据目录下的 imports/ 子文件夹`, 'FOLDER_UNSAFE'), done());
  if (uploaded) {
    add('folder', true, `spreadsheets are uploaded in the console and kept in ${folder}`, `表格在控制台上传，保存在 ${folder}`, 'FOLDER_UPLOADS');
  } else {
    try {
      if (!(await stat(s.real)).isDirectory()) return (add('folder', false, `${folder} is not a folder`, `${folder} 不是文件夹`, 'FOLDER_NOT_DIR'), done());
      await access(s.real, constants.R_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') add('folder', false, `folder ${folder} does not exist`, `文件夹 ${folder} 不存在`, 'FOLDER_MISSING');
      else add('folder', false, `folder ${folder} cannot be read by the server (${code ?? (e as Error).message})`, `服务器无法读取文件夹 ${folder}（${code ?? '未知错误'}）`, 'FOLDER_UNREADABLE');
      return done();
    }
    if (cfg.after === 'archive') {
      try {
        await access(s.real, constants.W_OK);
      } catch {
        add('folder', false, `folder ${folder} is readable but not writable: processed files cannot be moved to ${PROCESSED_DIR}/ (give the server write access, or set after to keep)`,
          `文件夹 ${folder} 可读但不可写：处理过的文件无法移到 ${PROCESSED_DIR}/（请给服务器写权限，或改为“保留文件”）`, 'FOLDER_READ_ONLY');
        return done();
      }
    }
    add('folder', true, `folder ${folder} is readable${cfg.after === 'archive' ? ' and writable' : ''}`, `文件夹 ${folder} 可读${cfg.after === 'archive' ? '可写' : ''}`, 'FOLDER_OK');
  }

  // ---- file ----
  let files;
  try {
    files = await candidates(s.real, cfg.pattern, uploaded);
  } catch (e) {
    add('file', false, `the files in ${folder} cannot be listed (${(e as NodeJS.ErrnoException).code ?? 'error'})`, `无法列出 ${folder} 中的文件`, 'FILE_LIST_FAILED');
    return done();
  }
  const newest = files[0];
  if (!newest) {
    // an empty drop folder is normal (archived after each applied run): runs find nothing to do until the next file
    if (uploaded) add('file', false, 'no spreadsheet has been uploaded yet: upload one in the source’s settings', '还没有上传表格：请在同步源设置中上传', 'FILE_NONE');
    else add('file', true, `no file waiting: 0 files match ${cfg.pattern} in ${folder}; the next run reads the newest file dropped there`, `没有待读取的文件：${folder} 中没有符合 ${cfg.pattern} 的文件；之后放入的最新文件会在下次同步时读取`, 'FILE_NONE_WAITING');
    return done();
  }
  const older = files.length - 1;
  const when = new Date(newest.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
  if (newest.size > MAX_IMPORT_BYTES) {
    add('file', false, `${newest.name} is ${mb(newest.size)} MB; at most ${MAX_IMPORT_BYTES / 1048576} MB is accepted`, `${newest.name} 有 ${mb(newest.size)} MB，超过 ${MAX_IMPORT_BYTES / 1048576} MB 的上限`, 'FILE_TOO_LARGE');
    return done();
  }
  add('file', true,
    `${uploaded ? 'the current file is' : 'the newest file is'} ${newest.name} (${kb(newest.size)}, modified ${when} UTC)${older > 0 ? `; ${older} older matching file(s) are ignored` : ''}`,
    `${uploaded ? '当前文件' : '最新的文件'}：${newest.name}（${kb(newest.size)}，修改于 ${when} UTC）${older > 0 ? `；另有 ${older} 个较旧的文件不会被读取` : ''}`, 'FILE_OK');

  // ---- workbook, rows ----
  const check = await checkWorkbook(await readFile(newest.full));
  if (!check.ok && check.problem !== 'rows') {
    add('workbook', false, `${newest.name} cannot be used: ${check.message}`, `${newest.name} 无法使用：${WORKBOOK_PROBLEM_ZH[check.problem]}（${check.message}）`, `WORKBOOK_${check.problem.toUpperCase()}`);
    return done();
  }
  const rows = check.ok ? check.rows.length : check.rows;
  if (check.ok) {
    add('workbook', true, `${newest.name} is a member template with ${rows} rows in ${check.depts} departments`, `${newest.name} 是成员导入模板：${rows} 行，${check.depts} 个部门`, 'WORKBOOK_OK');
    const owned = deps.directoryCounts?.(deps.origin);
    const now = owned ? ` (the directory holds ${owned.users} members of this source now)` : '';
    const nowZh = owned ? `（目录中现有此同步源的成员 ${owned.users} 名）` : '';
    add('rows', true, `every row passes the checks${now}`, `每一行都通过了检查${nowZh}`, 'ROWS_OK');
    return done();
  }
  add('workbook', true, `${newest.name} is a member template with ${rows} rows`, `${newest.name} 是成员导入模板：${rows} 行`, 'WORKBOOK_OK');
  const first = check.problems.slice(0, 3);
  add('rows', false,
    `${check.badRows} of ${rows} rows have problems (${check.problems.length} in all); a run with this file fails and changes nothing. First: ${first.map((p) => `${p.label}: ${p.message}`).join('; ')}`,
    `${rows} 行中有 ${check.badRows} 行有问题（共 ${check.problems.length} 处）；用这个文件同步会失败，不会修改任何数据。前几处：${first.map((p) => `${rowLabelZh(p.label)}：${p.message}`).join('；')}`,
    'ROWS_BAD');
  return done();
}
