/**
 * Settings → Sync, the spreadsheet and RTX source forms in a real Chromium:
 * a spreadsheet source created through the form with a workbook made by
 * exceljs uploaded with it, synced; a broken workbook refused with its rows
 * while nothing changes; a bad file dropped into a watched folder shown under
 * its source with the rows at fault and replaced from there; an RTX source
 * created through the form and its connection test.
 */
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import t from 'tap';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN, type ConsolePage } from '../helpers/browser.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { ScriptedAdapter } from '../helpers/rtx.js';
import { directoryState, memberWorkbook, type MemberCells } from '../helpers/xlsx.js';

type Teardown = Parameters<typeof launch>[0];

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const ROWS: MemberCells[] = [
  ['zhangsan', '张三', '研发部/平台组', '13800138000', 'zhangsan@example.com', '工程师', '男'],
  ['lisi', '李四', '市场部；研发部/产品组', '', 'lisi@example.com', '产品经理', '女'],
  ['wangwu', '王五', '研发部'],
];
const BAD_ROWS: MemberCells[] = [
  ['zhangsan', '张三改', '研发部', '', 'not-an-email'],
  ['newbie', '', '研发部'],
  ['ZhangSan', '重复', '研发部', '', '', '', '不详'],
];

async function openSyncPage(t: Teardown, gw: TestGateway): Promise<ConsolePage> {
  const browser = await launch(t);
  const cp = await newConsolePage(browser);
  await loginInBrowser(cp, gw, ROOT_ADMIN, '/sync');
  await cp.page.locator('#sync-page').waitFor();
  return cp;
}

const sourceRow = (page: Page, id: string) => page.locator(`#sync-sources tr[data-source="${id}"]`);
const runDetail = (page: Page, state: string) => page.locator(`#sync-run-detail[data-state="${state}"]`);
const countCell = (page: Page, kind: string, op: string) => page.locator(`#sync-run-counts tr[data-kind="${kind}"] [data-op="${op}"]`);
const dirState = (gw: TestGateway) => directoryState(gw.gw.services.db);

async function pickOption(page: Page, select: Locator, label: string): Promise<void> {
  await select.click();
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: label }).click();
}

async function attrs(loc: Locator, name: string): Promise<(string | null)[]> {
  return Promise.all((await loc.all()).map((l) => l.getAttribute(name)));
}

async function closeRunDrawer(page: Page): Promise<void> {
  await page.locator('.sync-run-drawer .ant-drawer-close').click();
  await page.locator('#sync-run-detail').first().waitFor({ state: 'detached' });
}

async function newSource(page: Page, kindLabel: string, fields: string): Promise<void> {
  await page.locator('#sync-source-add').click();
  await page.locator('#sync-source-form').waitFor();
  await pickOption(page, page.locator('.ant-select:has(#sync-source-kind)'), kindLabel);
  await page.locator(fields).waitFor();
}

const xlsxFile = async (name: string, rows: MemberCells[]) => ({ name, mimeType: XLSX, buffer: await memberWorkbook(rows) });

if (browserReady(t)) {
  t.test('spreadsheet source through the form: upload, sync, a broken workbook refused with its rows and nothing changed', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const sync = gw.gw.services.sync;
    const cp = await openSyncPage(t, gw);
    const { page } = cp;

    await newSource(page, 'Excel 表格', '#sync-xlsx-fields');
    await page.locator('#sync-source-id').fill('hr-sheet');
    await page.locator('#sync-source-name').fill('人事表格');
    await page.getByTestId('sync-xlsx-preset-upload').click();
    await page.locator('#sync-schedule-text', { hasText: '每天 02:00' }).waitFor();
    t.ok(await page.locator('#sync-xlsx-mode input[value=upload]').isChecked(), 'uploaded in the console');
    t.equal(await page.locator('#sync-xlsx-folder').count(), 0, 'no folder to type');
    t.match(await page.locator('#sync-xlsx-fields').innerText(), /工作表“成员”[\s\S]*换成正确的文件之前，之后的每次同步都会失败/, 'the template and what a bad file does are explained');
    await page.locator('#sync-file-picker input[type=file]').setInputFiles(await xlsxFile('成员名单.xlsx', ROWS));
    await page.locator('#sync-file-pending', { hasText: '保存时上传：成员名单.xlsx' }).waitFor();
    await cp.shot('sync-xlsx-form');
    await page.locator('#sync-source-save-test').click();

    // saved, uploaded, and tested step by step
    await page.locator('#sync-test-result[data-state=ok]').waitFor();
    const steps = page.locator('#sync-test-steps tr[data-testid=sync-test-step]');
    t.same(await attrs(steps, 'data-step'), ['folder', 'file', 'workbook', 'rows'], 'every spreadsheet step');
    t.same(await attrs(steps, 'data-ok'), ['true', 'true', 'true', 'true']);
    t.match(await page.locator('#sync-test-steps tr[data-step=workbook]').innerText(), /工作簿[\s\S]*3 行，4 个部门/, 'rows and departments, in Chinese');
    await page.locator('#sync-test-close').click();
    t.match(sync.source('hr-sheet'), { kind: 'xlsx', name: '人事表格', schedule: '0 2 * * *', config: { pattern: '*.xlsx', after: 'keep' } });
    t.notOk('folder' in sync.source('hr-sheet').config, 'no folder: the upload folder under the data directory');
    const folder = path.join(gw.dataDir, 'imports', 'hr-sheet');
    t.same(readdirSync(folder).sort(), ['.huitong-upload.json', '成员名单.xlsx'], 'the file is stored on the server');

    // sync now
    const row = sourceRow(page, 'hr-sheet');
    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'applied').waitFor();
    t.equal(await countCell(page, 'users', 'create').innerText(), '3', 'three members created');
    t.equal(await countCell(page, 'depts', 'create').innerText(), '4', 'in four departments');
    t.equal(gw.gw.services.db.prepare("SELECT COUNT(*) FROM users WHERE origin = 'xlsx:hr-sheet'").pluck().get(), 3);
    await closeRunDrawer(page);

    // the current file in the form
    await row.getByTestId('sync-source-edit').click();
    const current = page.locator('#sync-file-current[data-status=applied]');
    await current.waitFor();
    t.equal(await current.getByTestId('sync-file-name').innerText(), '成员名单.xlsx');
    t.equal(await current.getByTestId('sync-file-rows').innerText(), '3 行，4 个部门');
    t.match(await current.getByTestId('sync-file-time').innerText(), /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}（root）/, 'upload time and who');
    t.match(await current.getByTestId('sync-file-size').innerText(), /KB$/);
    t.match(await current.getByTestId('sync-file-status').innerText(), '已同步');

    // a broken workbook: refused with its rows, the source keeps its file, the directory is untouched
    const before = dirState(gw);
    await page.locator('#sync-file-picker input[type=file]').setInputFiles(await xlsxFile('新名单.xlsx', BAD_ROWS));
    await page.locator('#sync-file-pending', { hasText: '新名单.xlsx' }).waitFor();
    await page.locator('#sync-source-save').click();
    const refused = page.locator('#sync-file-refused');
    await refused.waitFor();
    t.match(await refused.innerText(), /新名单\.xlsx 未被接受，同步源仍使用原来的文件，没有做任何修改[\s\S]*3 行有问题（共 4 处）/);
    t.same(await attrs(refused.getByTestId('sync-file-problem'), 'data-label'), ['row 2, 邮箱', 'row 3, 姓名', 'row 4, 帐号', 'row 4, 性别'], 'every row at fault');
    t.match(await refused.getByTestId('sync-file-problem').first().innerText(), /第 2 行，邮箱[\s\S]*email not-an-email is not valid/);
    t.match(await page.locator('#sync-source-file-notice').innerText(), /同步源已保存，但表格未被接受/);
    t.equal(await page.locator('#sync-source-error').count(), 0, 'not reported as a failed save');
    await page.locator('#sync-file-current[data-status=applied][data-name="成员名单.xlsx"]').waitFor();
    t.pass('the drawer still shows the previous file as the current one');
    t.same(readdirSync(folder).sort(), ['.huitong-upload.json', '成员名单.xlsx'], 'nothing was stored');
    t.equal(dirState(gw), before, 'nothing changed in the directory');
    await cp.shot('sync-xlsx-refused');
    await page.locator('#sync-source-cancel').click();
    await page.locator('#sync-source-form').first().waitFor({ state: 'detached' });
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('a bad file in a watched folder: the source shows the rows at fault, a scheduled run skips the same file, a replacement uploaded from the list fixes it', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const sync = gw.gw.services.sync;
    const folder = tempDir(t, 'huitong-drop-');
    const cp = await openSyncPage(t, gw);
    const { page } = cp;

    await newSource(page, 'Excel 表格', '#sync-xlsx-fields');
    await page.locator('#sync-source-id').fill('hr-drop');
    await page.getByTestId('sync-xlsx-preset-nightly').click();
    await page.locator('#sync-xlsx-folder').waitFor();
    t.equal(await page.locator('#sync-xlsx-folder').inputValue(), '/srv/huitong-import', 'the preset suggests a folder');
    t.equal(await page.locator('#sync-xlsx-settle').inputValue(), '60', 'a minute for the copy to finish');
    await page.locator('#sync-xlsx-folder').fill('relative/dir');
    await page.locator('#sync-source-save').click();
    await page.locator('#sync-source-form .ant-form-item-explain-error', { hasText: '请输入以 / 开头的绝对路径' }).waitFor();
    t.pass('a relative folder is refused in the form');
    await page.locator('#sync-xlsx-folder').fill(folder);
    await page.locator('#sync-xlsx-pattern').fill('hr-*.xlsx');
    await page.locator('#sync-source-save').click();
    await page.locator('#sync-source-form').first().waitFor({ state: 'detached' });
    t.match(sync.source('hr-drop').config, { folder, pattern: 'hr-*.xlsx', after: 'archive', settleSeconds: 60 });

    // the HR system drops a good file, then a bad one
    const drop = async (name: string, rows: MemberCells[]) => {
      const file = path.join(folder, name);
      writeFileSync(file, await memberWorkbook(rows));
      const at = new Date(Date.now() - 3_600_000);
      utimesSync(file, at, at);
    };
    await drop('hr-1.xlsx', ROWS);
    const row = sourceRow(page, 'hr-drop');
    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'applied').waitFor();
    await closeRunDrawer(page);
    const before = dirState(gw);
    await drop('hr-2.xlsx', BAD_ROWS);
    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'failed').waitFor();
    await closeRunDrawer(page);

    const problem = page.locator('[data-testid=sync-source-problem]');
    await problem.waitFor();
    t.match(await problem.innerText(), /表格有问题：同步失败，没有做任何修改[\s\S]*hr-2\.xlsx has problems on 3 of 3 rows; nothing was applied[\s\S]*3 行有问题（共 4 处）/, 'the reason, under the source');
    t.same(await attrs(problem.getByTestId('sync-source-problem-row'), 'data-label'), ['row 2, 邮箱', 'row 3, 姓名', 'row 4, 帐号', 'row 4, 性别'], 'with the rows at fault');
    t.match(await problem.getByTestId('sync-source-problem-row').nth(1).innerText(), '第 3 行，姓名：姓名 is required');
    t.equal(dirState(gw), before, 'a run with a bad file changes nothing');
    t.same(readdirSync(folder).filter((f) => f.endsWith('.xlsx')), ['hr-2.xlsx'], 'the bad file stays in the folder');

    // the next scheduled slot finds the same file: not read again
    const skipped = await sync.waitFor(sync.startRun('hr-drop', { trigger: 'schedule', dryRun: false, requestedBy: 'schedule (0 2 * * *)' }));
    t.match(skipped.error, /^same file as the failed run/);
    await page.reload();
    await page.getByTestId('sync-source-problem-same').waitFor();
    t.match(await page.getByTestId('sync-source-problem-same').innerText(), '计划同步遇到的仍是同一个文件，没有重新读取');
    t.equal(await page.getByTestId('sync-source-problem-row').count(), 4, 'the rows at fault are still shown');
    await cp.shot('sync-source-bad-file');

    // replace it from the list: the upload lands in the watched folder
    await page.getByTestId('sync-source-upload').click();
    await page.locator('#sync-upload #sync-file-current[data-status=failed]').waitFor();
    t.match(await page.locator('#sync-upload').innerText(), new RegExp(`文件会放入 ${folder.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}，文件名须符合 hr-\\*\\.xlsx`));
    await page.locator('#sync-upload #sync-file-picker input[type=file]').setInputFiles(await xlsxFile('hr-3.xlsx', [...ROWS, ['zhaoliu', '赵六', '市场部']]));
    await page.locator('#sync-upload[data-state=done]').waitFor();
    await page.locator('#sync-upload #sync-file-current[data-status=new][data-name="hr-3.xlsx"]').waitFor();
    t.equal(await page.locator('#sync-upload').getByTestId('sync-file-rows').innerText(), '4 行，4 个部门');
    await page.locator('#sync-upload-sync-now').click();
    await runDetail(page, 'applied').waitFor();
    t.equal(await countCell(page, 'users', 'create').innerText(), '1', 'read at once, though uploaded within the settle time');
    await closeRunDrawer(page);
    await page.locator('[data-testid=sync-source-problem]').first().waitFor({ state: 'detached' });
    t.pass('the problem is gone from the list');
    t.same(readdirSync(folder).filter((f) => f.endsWith('.xlsx')), [], 'the new file and the bad one it superseded are archived');
    t.equal(sync.source('hr-drop').lastError, null);
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('RTX source through the form: link state, wait time presets, the disabled note, test connection with the directory counts', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const sync = gw.gw.services.sync;
    const cp = await openSyncPage(t, gw);
    const { page } = cp;

    await newSource(page, 'RTX 适配器', '#sync-rtx-fields');
    await page.locator('#sync-rtx-link[data-state=WAITING]').waitFor();
    t.match(await page.locator('#sync-rtx-link').innerText(), '等待适配器连接', "the adapter's link as the RTX page shows it");
    t.equal(await page.locator('#sync-rtx-timeout').inputValue(), '900', 'the server default');
    await page.getByTestId('sync-rtx-timeout-3600').click();
    t.equal(await page.locator('#sync-rtx-timeout').inputValue(), '3600');
    t.ok(await page.locator('#sync-source-policy-rtx').isVisible(), 'matching and the brake are RTX’s own');
    t.equal(await page.locator('#sync-source-brake').count(), 0);
    await page.locator('#sync-source-id').fill('rtx');
    await page.locator('#sync-source-name').fill('RTX 组织架构');
    await page.locator('#sync-schedule-mode').getByText('每小时').click();
    await page.locator('#sync-schedule-text', { hasText: '每小时第 0 分' }).waitFor();

    // turning it off says what that does, and what it does not
    await page.locator('#sync-source-enabled').click();
    await page.locator('#sync-source-disabled-note').waitFor();
    t.match(await page.locator('#sync-source-disabled-note').innerText(), /不再按计划同步[\s\S]*仍可用目录密码登录/);
    await page.locator('#sync-source-enabled').click();
    await page.locator('#sync-source-disabled-note').waitFor({ state: 'detached' });

    await page.getByTestId('sync-rtx-timeout-900').click();
    await page.locator('#sync-source-save-test').click();
    await page.locator('#sync-test-result[data-state=failed]').waitFor();
    const steps = page.locator('#sync-test-steps tr[data-testid=sync-test-step]');
    t.same(await attrs(steps, 'data-step'), ['adapter', 'directory']);
    t.same(await attrs(steps, 'data-ok'), ['false', 'true']);
    t.match(await page.locator('#sync-test-steps tr[data-step=adapter]').innerText(), /✗[\s\S]*没有 RTX 适配器连接/);
    t.match(await page.locator('#sync-test-steps tr[data-step=directory]').innerText(), /汇通中有来自 RTX 的成员 0 名（其中停用 0 名），部门 0 个；还没有进行过 RTX 同步/);
    await page.locator('#sync-test-close').click();
    t.match(sync.source('rtx'), { kind: 'rtx', name: 'RTX 组织架构', schedule: '0 * * * *', config: { timeoutSeconds: 900 }, enabled: true });
    t.ok(await sourceRow(page, 'rtx').getByTestId('sync-source-dry').isDisabled(), 'an RTX source offers no dry run');

    // with the adapter connected the test passes
    await ScriptedAdapter.connect(t, gw);
    await sourceRow(page, 'rtx').getByTestId('sync-source-test').click();
    await page.locator('#sync-test-result[data-state=ok]').waitFor();
    t.match(await page.locator('#sync-test-steps tr[data-step=adapter]').innerText(), /✓[\s\S]*RTX 适配器已连接/);
    await cp.shot('sync-rtx-test');
    await page.locator('#sync-test-close').click();
    t.same(cp.errors, [], 'no script errors');
  });
}
