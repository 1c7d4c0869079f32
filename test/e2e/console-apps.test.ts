import type { Page } from 'playwright-core';
import t from 'tap';
import type { DeptId } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';
import { YouduClient } from '../helpers/youdu-client.js';

/*
 * The Apps page (F-4.2–F-4.4) in Chromium: create an app and see its
 * credentials once, then masked and revealed; edit its home page and
 * visibility; import an app with given values. Each step is checked on the
 * server, and the shown credentials work for a spec client.
 */

const IMPORT_KEY = 'A0aWSqDL5SV4fafQl3OavoVPUn6sx7xNnD+1hOoTeWk=';

/** Picks one department in a DeptPicker by its title; a click lost while the tree re-renders is made again. */
async function pickDept(page: Page, inputId: string, name: string, label: string): Promise<void> {
  const chosen = page.locator('.ant-select', { has: page.locator(`#${inputId}`) }).locator('.ant-select-selection-item', { hasText: name });
  for (let attempt = 1; ; attempt++) {
    await page.locator(`#${inputId}`).click();
    await page.locator(`.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-tree [title="${name}"]`).click();
    // close the dropdown by clicking the form's label
    await page.locator('#app-detail').getByText(label, { exact: true }).click();
    try {
      await chosen.waitFor({ timeout: 3000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Picks one person in the apps people picker by typing their account. */
async function pickPerson(page: Page, inputId: string, account: string, label: string): Promise<void> {
  const input = page.locator(`#${inputId}`);
  await input.click();
  await input.fill(account);
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: `(${account})` }).click();
  await page.locator('.ant-select', { has: input }).locator('.ant-select-selection-item', { hasText: `(${account})` }).waitFor();
  // close the dropdown by clicking the form's label, so it covers nothing
  await page.locator('#app-detail').getByText(label, { exact: true }).click();
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' });
}

if (browserReady(t)) {
  t.test('apps: create and see the keys once, reveal, edit the home page and visibility, import an app', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const s = gw.gw.services;
    const rd = (await s.directory.deptByPath('研发部', true)).id as DeptId;
    const alice = await gw.addUser('alice', { name: '爱丽丝' });

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/apps');
    await page.locator('#apps-table').getByText('sysOrgAssistant').waitFor();
    t.ok(await page.locator('#apps-table').getByText('文件传输助手').first().isVisible(), 'the system apps are listed, the file-transfer assistant among them');
    await cp.shot('apps-list');

    // create: the credentials once, with copy buttons and the warning
    await page.locator('#apps-create').click();
    await page.locator('#app_create_name').fill('考勤');
    await page.locator('#app_create_homeUrl').fill('https://hr.example.com/');
    await page.locator('#app-create-ok').click();
    await page.locator('#app-secrets-warning').waitFor();
    const shownAppId = (await page.locator('#app-secret-appid').innerText()).trim();
    const shownKey = (await page.locator('#app-secret-aeskey').innerText()).trim();
    const created = s.apps.list().find((a) => a.name === '考勤');
    t.ok(created, 'the app exists on the server');
    t.equal(shownAppId, created?.appId, 'the shown appId is the app’s');
    t.equal(shownKey, created?.encodingAesKey, 'the shown EncodingAESKey is the app’s');
    t.equal((await page.locator('#app-secret-token').innerText()).trim(), created?.callbackToken, 'and the Token');
    t.ok(await page.locator('.ant-modal-body .ant-typography-copy').first().isVisible(), 'each value has a copy button');
    await cp.shot('apps-secrets');
    t.match(await new YouduClient(gw.http, created?.buin as number, shownAppId, shownKey).gettoken(), /^[0-9a-f]{64}$/, 'the shown values work for a spec client');

    // closing opens the app: the key is masked now, and revealed on request
    await page.locator('#app-secrets-close').click();
    await page.locator('#app-detail').waitFor();
    await page.locator('#app-tabs').getByRole('tab', { name: '接入凭据' }).click();
    const masked = (await page.locator('#app-key-masked').innerText()).trim();
    t.equal(masked, `${shownKey.slice(0, 4)}${'*'.repeat(36)}${shownKey.slice(-4)}`, 'masked once the dialog is closed');
    await page.locator('#app-reveal').click();
    await page.locator('#app-reveal-ok').click();
    await page.locator('#app-revealed-aeskey').waitFor();
    t.equal((await page.locator('#app-revealed-aeskey').innerText()).trim(), shownKey, 'revealed in full');
    const log = await s.admin.queryLog();
    t.ok(log.entries.some((e) => e.action === 'app.reveal_secrets'), 'the reveal is in the action log');

    // basic: the home page
    await page.locator('#app-tabs').getByRole('tab', { name: '基本信息' }).click();
    await page.locator('#app_basic_homeUrl').fill('https://hr.example.com/v2');
    await page.locator('#app_basic_description').fill('打卡与请假');
    await page.locator('#app-basic-save').click();
    await page.locator('.ant-message').getByText('已保存').waitFor();
    t.match(s.apps.get(created?.rowId as number)?.profile, { homeUrl: 'https://hr.example.com/v2', description: '打卡与请假' }, 'saved on the server');

    // visibility: a department and a person
    await page.locator('#app-tabs').getByRole('tab', { name: '可见范围' }).click();
    await page.locator('#app-visibility-mode').getByText('指定部门与成员').click();
    await pickDept(page, 'app-visibility-depts', '研发部', '部门（含下级部门）');
    await pickPerson(page, 'app-visibility-users', 'alice', '成员');
    await page.locator('#app-visibility-save').click();
    await page.locator('.ant-message').getByText('已保存').last().waitFor();
    t.same(s.apps.get(created?.rowId as number)?.visibility, { depts: [rd], users: [alice.id] }, 'the visibility on the server');
    await cp.shot('apps-visibility');
    await page.locator('#app-detail .ant-drawer-close').click();
    await page.locator('#app-detail').waitFor({ state: 'hidden' });

    // import with given values; a bad key is refused in the form
    await page.locator('#apps-import').click();
    await page.locator('#app_import_name').fill('旧系统');
    await page.locator('#app_import_buin').fill('707168');
    await page.locator('#app_import_appId').fill('yd06AB76EC519B4130A802224B4C60F689');
    await page.locator('#app_import_encodingAesKey').fill(IMPORT_KEY.slice(1));
    await page.locator('#app-import-ok').click();
    await page.locator('.ant-form-item-explain-error', { hasText: '44' }).waitFor();
    await page.locator('#app_import_encodingAesKey').fill(IMPORT_KEY);
    await page.locator('#app_import_token').fill('mytoken');
    await page.locator('#app-import-ok').click();
    await page.locator('#app-secrets-warning').waitFor();
    t.equal((await page.locator('#app-secret-aeskey').innerText()).trim(), IMPORT_KEY, 'the imported key is shown once');
    const imported = s.apps.byAppId(707168, 'yd06AB76EC519B4130A802224B4C60F689');
    t.match(imported, { name: '旧系统', encodingAesKey: IMPORT_KEY, callbackToken: 'mytoken' }, 'imported on the server');
    await page.locator('#app-secrets-close').click();
    await page.locator('#app-detail').waitFor();

    // importing the same appId again is refused with the server's message
    await page.locator('#app-detail .ant-drawer-close').click();
    await page.locator('#app-detail').waitFor({ state: 'hidden' });
    await page.locator('#apps-import').click();
    await page.locator('#app_import_name').fill('重复');
    await page.locator('#app_import_buin').fill('707168');
    await page.locator('#app_import_appId').fill('yd06AB76EC519B4130A802224B4C60F689');
    await page.locator('#app_import_encodingAesKey').fill(IMPORT_KEY);
    await page.locator('#app-import-ok').click();
    await page.locator('#app-import-error').getByText('already exists').waitFor();
    t.equal(s.apps.list().filter((a) => a.name === '重复').length, 0, 'nothing was written');
    t.same(cp.errors, [], 'no script errors');
  });
}
