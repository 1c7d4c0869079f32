import type { Page } from 'playwright-core';
import t from 'tap';
import type { DeptId, MessageView, SysmsgBody } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, modalSettled, newConsolePage, ROOT_ADMIN, setBox } from '../helpers/browser.js';
import { online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

/*
 * The System broadcast page (F-4.10, F-6.2) in Chromium: grant a member the
 * broadcast right with the people picker, compose a broadcast to a
 * department with its preview and count, confirm, and see it arrive at a
 * real client and in the history. Each step is checked on the server or at
 * the client.
 */

/** Picks a person in a PeoplePicker by typing their account. */
async function pickPerson(page: Page, inputId: string, account: string): Promise<void> {
  const input = page.locator(`#${inputId}`);
  await input.click();
  await input.fill(account);
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: `(${account})` }).click();
  await page.locator('.ant-select', { has: input }).locator('.ant-select-selection-item', { hasText: account }).waitFor();
  await page.keyboard.press('Escape');
}

/** Picks one department in a DeptPicker by its title. */
async function pickDept(page: Page, inputId: string, name: string): Promise<void> {
  const chosen = page.locator('.ant-select', { has: page.locator(`#${inputId}`) }).locator('.ant-select-selection-item', { hasText: name });
  for (let attempt = 1; ; attempt++) {
    await page.locator(`#${inputId}`).click();
    await page.locator(`.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-tree [title="${name}"]`).click();
    await page.keyboard.press('Escape');
    try {
      await chosen.waitFor({ timeout: 3000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

const isBroadcast = (title: string) => (m: MessageView) => m.kind === 'sysmsg' && (m.body as SysmsgBody).title === title;

if (browserReady(t)) {
  t.test('system broadcast: grant a member the right, broadcast to a department with preview and count, a client receives it', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const s = gw.gw.services;
    const rd = (await s.directory.deptByPath('研发部', true)).id as DeptId;
    const platform = (await s.directory.deptByPath('研发部/平台组', true)).id as DeptId;
    const sales = (await s.directory.deptByPath('销售部', true)).id as DeptId;
    const alice = await gw.addUser('alice', { name: '爱丽丝' });
    const carol = await gw.addUser('carol', { name: '卡罗尔' });
    const bob = await gw.addUser('bob', { name: '鲍勃' });
    await s.directory.editUser(alice.id, { deptIds: [rd] });
    await s.directory.editUser(carol.id, { deptIds: [platform] });
    await s.directory.editUser(bob.id, { deptIds: [sales] });
    const carolClient = await online(t, gw, 'carol');

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/broadcast');

    // the right: alice may broadcast to her own departments
    await page.locator('#broadcast-tabs').getByRole('tab', { name: '广播权限' }).click();
    await page.locator('#broadcast-rights-table').getByText('暂无成员拥有广播权限').waitFor();
    await pickPerson(page, 'broadcast-rights-pick', 'alice');
    await page.locator('#broadcast-rights-scope').getByText('本部门').click();
    await page.locator('#broadcast-rights-add').click();
    await page.locator('#broadcast-rights-table').getByText('爱丽丝 (alice)').waitFor();
    t.same(s.db.prepare('SELECT user_id, scope, granted_by FROM broadcast_rights').all(), [{ user_id: alice.id, scope: 'dept', granted_by: 'root' }]);
    const aliceClient = await online(t, gw, 'alice');
    t.same(await aliceClient.client.broadcastRights(), { scope: 'dept', deptIds: [rd] }, 'her client learns the right');
    await cp.shot('broadcast-rights');

    // compose: 研发部 (with 平台组), a text and a link; the preview counts alice and carol
    await page.locator('#broadcast-tabs').getByRole('tab', { name: '发送广播' }).click();
    await pickDept(page, 'broadcast-depts', '研发部');
    await page.locator('#broadcast-reach', { hasText: '将送达 2 人' }).waitFor();
    await setBox(page.locator('#broadcast-online-only'), true);
    await page.locator('#broadcast-reach', { hasText: '将送达 2 人' }).waitFor();
    await setBox(page.locator('#broadcast-online-only'), false);
    await page.locator('#broadcast-title').fill('机房停电');
    await page.locator('#broadcast-text').fill('今晚 22:00 起停电两小时');
    await page.locator('#broadcast-add-link').click();
    await page.locator('#broadcast-link-0-title').fill('详情');
    await page.locator('#broadcast-link-0-url').fill('https://intra.example/power');
    await page.locator('#broadcast-preview', { hasText: '详情' }).waitFor();
    t.match(await page.locator('#broadcast-preview').innerText(), /机房停电[\s\S]*今晚 22:00 起停电两小时[\s\S]*详情[\s\S]*发送者：root/);
    await cp.shot('broadcast-compose');
    await page.locator('#broadcast-submit').click();
    await page.locator('.ant-modal-confirm-title', { hasText: '确认向 2 人发送广播“机房停电”？' }).waitFor();
    await modalSettled(page);
    await page.locator('#broadcast-confirm-ok').click();
    await page.locator('#broadcast-result', { hasText: '已发送，送达 2 人' }).waitFor();

    await carolClient.inbox.until((ms) => ms.some(isBroadcast('机房停电')), 'the broadcast at carol');
    const m = carolClient.inbox.messages.find(isBroadcast('机房停电')) as MessageView;
    t.same(m.body, { title: '机房停电', items: [{ text: '今晚 22:00 起停电两小时' }, { link: { title: '详情', url: 'https://intra.example/power' } }], from: { kind: 'admin', name: 'root' } });
    t.equal(m.fromApp?.name, '系统消息');

    // alice broadcasts from her client within her department; the history shows both
    await aliceClient.client.broadcast({ title: '周会改期', text: '周会改到周五' }, { deptIds: [platform] });
    await carolClient.inbox.until((ms) => ms.some(isBroadcast('周会改期')), 'alice’s broadcast at carol');
    await page.locator('#broadcast-tabs').getByRole('tab', { name: '广播记录' }).click();
    const table = page.locator('#broadcast-history-table');
    await table.getByText('周会改期').waitFor();
    const rows = await table.locator('tbody tr').allInnerTexts();
    t.equal(rows.length, 2);
    t.match(rows[0], /成员[\s\S]*爱丽丝 \(alice\)[\s\S]*周会改期[\s\S]*研发部\/平台组[\s\S]*1/);
    t.match(rows[1], /管理员[\s\S]*root[\s\S]*机房停电[\s\S]*研发部[\s\S]*2/);
    await cp.shot('broadcast-history');
    t.same(cp.errors, [], 'no script errors');
  });
}
