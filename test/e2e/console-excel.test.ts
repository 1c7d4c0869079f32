import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ExcelJS from 'exceljs';
import type { Download, Page } from 'playwright-core';
import t from 'tap';
import { MEMBER_COLUMNS, MEMBER_SHEET } from '../../gateway/src/excel/columns.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

// the RTX plugin channel listens on a fixed port (7014) that parallel test files would share; this page does not need it
const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEADERS = MEMBER_COLUMNS.map((c) => c.header);
type Row = string[];

/** n good rows: accounts e2e0001…, departments 总部/团队0…9 (created by the import), the first 10 authorised (trial seats are 50). */
function goodRows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => [
    `e2e${String(i + 1).padStart(4, '0')}`, `成员${i + 1}`, `总部/团队${i % 10}`, `139${String(i).padStart(8, '0')}`,
    `e2e${i + 1}@example.com`, '工程师', i % 2 ? '男' : '女', '', i < 10 ? '是' : '否',
  ]);
}

async function workbook(rows: Row[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(MEMBER_SHEET);
  ws.addRow(HEADERS);
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function readWorkbook(d: Download): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load((await readFile(await d.path())) as unknown as ExcelJS.Buffer);
  return wb;
}

const sheetRows = (ws: ExcelJS.Worksheet): unknown[][] => {
  const out: unknown[][] = [];
  ws.eachRow((r) => out.push((r.values as unknown[]).slice(1)));
  return out;
};

const countUsers = (gw: TestGateway) => gw.gw.services.db.prepare('SELECT COUNT(*) FROM users').pluck().get() as number;

async function upload(page: Page, name: string, buffer: Buffer, mimeType = XLSX_MIME): Promise<void> {
  await page.locator('#excel-import-dragger input[type=file]').setInputFiles({ name, mimeType, buffer });
}

/** Waits for the progress bar to end in `phase` at 100%, its fill transition included (for the screenshots). */
async function progressEnds(page: Page, phase: 'done' | 'refused'): Promise<void> {
  await page.locator(`[data-testid=excel-import-progress][data-phase=${phase}][data-percent="100"]`).waitFor();
  // a function, not a string: the console's CSP forbids eval (and this file has no DOM types)
  type Anim = { playState: string; effect: { getTiming(): { iterations?: number } } | null };
  await page.waitForFunction(() =>
    (globalThis as unknown as { document: { getAnimations(): Anim[] } }).document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity));
}

if (browserReady(t)) {
  t.test('import: 500 members with 5 bad rows are refused whole, the report lists exactly those rows; the fixed file imports', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, undefined, '/excel');
    await page.locator('#excel-import-card').waitFor();

    const fixed = goodRows(500);
    const bad = fixed.map((r) => [...r]);
    bad[10]![0] = bad[1]![0]!; // duplicate account (of row 3)
    bad[60]![3] = '138-abc-mobile'; // bad mobile
    bad[120]![1] = ''; // missing name
    bad[250]![1] = '长'.repeat(65); // name over 64 characters
    bad[400]![2] = Array.from({ length: 33 }, (_, i) => `层${i}`).join('/'); // department 33 levels deep
    const badRows = [12, 62, 122, 252, 402];
    const before = countUsers(gw);

    // the phases the bar goes through, as the page shows them
    // (a string: this file is type-checked without the DOM library)
    await page.evaluate(`(() => {
      const seen = [];
      window.seenPhases = seen;
      new MutationObserver(() => {
        const p = document.querySelector('[data-testid=excel-import-progress]')?.getAttribute('data-phase');
        if (p && seen[seen.length - 1] !== p) seen.push(p);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
    })()`);

    await upload(page, '成员-有错.xlsx', await workbook(bad));
    await progressEnds(page, 'refused');
    await page.locator('#excel-import-refused').waitFor();
    t.match(await page.locator('#excel-import-refused').innerText(), /5 处错误，未导入任何数据/, 'says nothing was imported');
    const shownRows = await Promise.all((await page.locator('[data-testid=excel-report-row]').all()).map(async (r) => Number(await r.getAttribute('data-row'))));
    t.same(shownRows, badRows, 'the report table lists exactly the bad rows');
    const tableText = await page.locator('#excel-report-table').innerText();
    t.match(tableText, /138-abc-mobile/, 'the refused value is shown');
    t.match(tableText, /手机/, 'and its column');
    await cp.shot('excel-import-report');

    const [report] = await Promise.all([page.waitForEvent('download'), page.locator('#excel-report-download').click()]);
    t.equal(report.suggestedFilename(), '导入错误报告.xlsx', "the server's file name");
    const rep = await readWorkbook(report);
    const repRows = sheetRows(rep.worksheets[0]!);
    t.same(repRows[0], ['行号', '列', '值', '错误']);
    t.same(repRows.slice(1).map((r) => r[0]), badRows, 'the downloaded report lists the same rows');
    t.same(repRows.slice(1).map((r) => r[1]), ['帐号', '手机', '姓名', '姓名', '部门']);
    t.equal(countUsers(gw), before, 'no member was written');
    t.equal(await gw.gw.services.directory.countUsers(), before);

    await upload(page, '成员.xlsx', await workbook(fixed));
    await progressEnds(page, 'done');
    await page.locator('#excel-import-done').waitFor();
    t.match(await page.locator('[data-testid=excel-import-summary]').innerText(), /已导入 500 名成员，其中 10 名已授权；新建了 11 个部门/);
    t.notOk(await page.locator('#excel-report-table').isVisible(), 'the old report is gone');
    t.equal(countUsers(gw), before + 500, '500 members exist on the server');
    const u = await gw.gw.services.directory.getUserByAccount('e2e0500');
    t.equal(u?.name, '成员500');
    t.equal(await gw.gw.services.directory.countUsers({ authorised: true }), 10);
    const phases = (await page.evaluate('window.seenPhases')) as string[];
    t.ok(phases.includes('uploading') && phases.at(-1) === 'done', `the bar went from uploading to done (${phases.join(' → ')})`);
    await cp.shot('excel-import-done');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('template and export download through the page; unusable files get a clear message', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    for (let i = 1; i <= 3; i++) await gw.addUser(`old${i}`, { name: `老成员${i}` });
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw);
    await page.getByRole('menuitem', { name: '导入导出' }).click();
    await page.locator('#excel-import-card').waitFor();
    t.equal(await page.locator('[data-testid=excel-column]').count(), MEMBER_COLUMNS.length, 'the columns are explained');

    const [tpl] = await Promise.all([page.waitForEvent('download'), page.locator('#excel-template-download').click()]);
    t.equal(tpl.suggestedFilename(), '成员导入模板.xlsx');
    const tplBook = await readWorkbook(tpl);
    t.same(sheetRows(tplBook.getWorksheet('成员')!)[0], ['帐号*', '姓名*', '部门*', '手机', '邮箱', '职务', '性别', '密码', '授权'], 'the Chinese headers');

    // the template's own example rows import as they are
    await upload(page, '成员导入模板.xlsx', await readFile(await tpl.path()));
    await progressEnds(page, 'done');
    t.match(await page.locator('[data-testid=excel-import-summary]').innerText(), /已导入 2 名成员/);

    const before = countUsers(gw);
    await upload(page, '损坏.xlsx', randomBytes(64 * 1024));
    await page.locator('#excel-import-failed').waitFor();
    t.match(await page.locator('#excel-import-failed').innerText(), /无法导入此文件，未导入任何数据[\s\S]*不是可读取的 \.xlsx 工作簿/, 'random bytes: a clear message');
    t.equal(await page.locator('[data-testid=excel-import-progress]').getAttribute('data-phase'), 'failed');

    await upload(page, '成员.csv', Buffer.from('帐号,姓名\nx,y\n'), 'text/csv');
    await page.locator('#excel-import-failed').filter({ hasText: '不是 .xlsx 文件' }).waitFor();
    t.equal(await page.locator('[data-testid=excel-import-progress]').count(), 0, 'a .csv is refused before uploading');
    t.equal(countUsers(gw), before, 'nothing written');

    const [exp] = await Promise.all([page.waitForEvent('download'), page.locator('#excel-export').click()]);
    t.match(exp.suggestedFilename(), /^组织架构-\d{4}-\d{2}-\d{2}\.xlsx$/);
    await page.locator('#excel-export-done').waitFor();
    t.match(await page.locator('#excel-export-scope').innerText(), /整个组织/);
    const book = await readWorkbook(exp);
    const members = sheetRows(book.getWorksheet('成员')!);
    t.same(members[0], ['帐号', '姓名', '部门', '手机', '邮箱', '职务', '性别', '授权', '状态', '已禁用']);
    const accounts = members.slice(1).map((r) => r[0]);
    t.same([...accounts].sort(), ['lisi', 'old1', 'old2', 'old3', 'zhangsan'], 'every member is in the export');
    t.match(members.find((r) => r[0] === 'zhangsan'), ['zhangsan', '张三', '研发部/平台组']);
    t.same(sheetRows(book.getWorksheet('部门')!).slice(1).map((r) => r[0]), ['市场部', '研发部', '研发部/产品组', '研发部/平台组']);
    await cp.shot('excel-export');

    await page.getByRole('button', { name: 'English' }).click();
    await page.locator('#excel-import-card').getByText('Import members from Excel').waitFor();
    t.match(await page.locator('[data-testid=excel-column][data-field=account]').innerText(), /帐号\s*\(Account\)[\s\S]*Login account/, 'the columns are explained in English too');
    t.same(cp.errors, [], 'no script errors');
  });
}
