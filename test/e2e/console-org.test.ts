import type { Page } from 'playwright-core';
import t from 'tap';
import type { DeptId } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, modalSettled, newConsolePage, type ConsolePage } from '../helpers/browser.js';
import { nextEvent, online } from '../helpers/clients.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

// the RTX plugin channel listens on a fixed port (7014) that parallel test files would share; this page does not need it

const exact = (s: string) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** A department's row in the page's tree (its title carries data-dept-name). */
const treeNode = (page: Page, name: string) => page.locator('.dept-tree .ant-tree-treenode', { has: page.locator(`[data-dept-name="${name}"]`) });
const deptTitle = (page: Page, name: string) => page.locator(`.dept-tree [data-dept-name="${name}"]`);
const memberRow = (page: Page, account: string) => page.locator(`#members-card tr[data-account="${account}"]`);

async function expand(page: Page, name: string): Promise<void> {
  await treeNode(page, name).locator('.ant-tree-switcher').click();
}

/** Creates a department through the toolbar: top level, or under the selected department. */
async function createDept(page: Page, where: 'top' | 'child', name: string): Promise<void> {
  await page.locator(where === 'top' ? '#dept-add-top' : '#dept-add-child').click();
  await modalSettled(page);
  await page.locator('#dept-name-input').fill(name);
  await page.locator('#dept-name-ok').click();
  await deptTitle(page, name).waitFor();
  // the new department is selected: the members card names it
  await page.locator('#members-title', { hasText: name }).waitFor();
}

/** Picks a department in a DeptPicker (antd TreeSelect) by opening the levels of `path`. */
async function pickDept(page: Page, inputId: string, path: string[]): Promise<void> {
  await page.locator(`#${inputId}`).click();
  const dropdown = page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)');
  for (const name of path.slice(0, -1)) {
    await dropdown.locator('.ant-select-tree-treenode', { has: page.locator('.ant-select-tree-title', { hasText: exact(name) }) }).locator('.ant-select-tree-switcher').click();
  }
  await dropdown.locator('.ant-select-tree-title', { hasText: exact(path[path.length - 1] as string) }).click();
}

async function deptsByName(gw: TestGateway) {
  const list = await gw.gw.services.directory.listDepts();
  return (name: string) => {
    const d = list.find((x) => x.name === name);
    if (!d) throw new Error(`no department ${name} on the server`);
    return d;
  };
}

async function open(t: Parameters<typeof launch>[0], gw: TestGateway): Promise<ConsolePage> {
  const browser = await launch(t);
  const cp = await newConsolePage(browser);
  await loginInBrowser(cp, gw);
  await page(cp).locator('#dept-add-top').waitFor();
  return cp;
}
const page = (cp: ConsolePage) => cp.page;

if (browserReady(t)) {
  t.test('departments: a three-level tree built in the UI, a refused delete, a refused move, a drag that moves', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const cp = await open(t, gw);
    const p = cp.page;

    await createDept(p, 'top', '总部');
    await createDept(p, 'child', '研发中心');
    await createDept(p, 'child', '平台组');
    await deptTitle(p, '总部').click();
    await createDept(p, 'child', '市场部');

    let dept = await deptsByName(gw);
    t.equal(dept('总部').parentId, null, '总部 is a top-level department on the server');
    t.equal(dept('研发中心').parentId, dept('总部').id, '研发中心 is under 总部');
    t.equal(dept('平台组').parentId, dept('研发中心').id, '平台组 is under 研发中心');
    t.equal(dept('市场部').parentId, dept('总部').id, '市场部 is under 总部');
    t.equal(await treeNode(p, '平台组').locator('.ant-tree-indent-unit').count(), 2, 'the tree shows 平台组 two levels down');

    // a member in 研发中心 (server side), then try to delete it: refused, saying what is inside
    await gw.gw.services.directory.createUser({ account: 'zhao.liu', name: '赵六', deptIds: [dept('研发中心').id] });
    await deptTitle(p, '研发中心').click();
    await p.locator('#members-title', { hasText: '研发中心' }).waitFor();
    await p.locator('#dept-delete').click();
    await p.locator('#dept-delete-ok').click();
    const refusal = p.locator('#dept-error');
    await refusal.waitFor();
    t.match(await refusal.innerText(), /研发中心 still has 1 member\(s\) and 1 sub-department\(s\)/, 'the refusal says what is inside');
    await deptTitle(p, '研发中心').waitFor();
    dept = await deptsByName(gw);
    t.ok(dept('研发中心'), '研发中心 is still there');

    // move 总部 under its own grandchild 平台组: refused by the server, shown in the dialog, nothing moves
    await deptTitle(p, '总部').click();
    await p.locator('#dept-move').click();
    await pickDept(p, 'dept-move-target', ['总部', '研发中心', '平台组']);
    await p.locator('#dept-move-ok').click();
    const moveError = p.locator('#dept-move-error');
    await moveError.waitFor();
    t.match(await moveError.innerText(), /cannot move 总部 under itself or one of its sub-departments/, 'the move is refused with the server’s reason');
    await cp.shot('org-refusal');
    await p.locator('#dept-move-cancel').click();
    await p.locator('#dept-move-ok').first().waitFor({ state: 'detached' });
    dept = await deptsByName(gw);
    t.equal(dept('总部').parentId, null, '总部 has not moved');
    t.equal(await treeNode(p, '总部').locator('.ant-tree-indent-unit').count(), 0, 'and the tree still shows it at the top level');

    // drag 市场部 onto 研发中心: it moves there
    const dropped = p.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/api/admin/depts/${dept('市场部').id}`));
    const target = deptTitle(p, '研发中心');
    const box = await target.boundingBox();
    if (!box) throw new Error('研发中心 is not on screen');
    await deptTitle(p, '市场部').dragTo(target, { sourcePosition: { x: 2, y: 4 }, targetPosition: { x: box.width + 90, y: box.height - 3 }, force: true });
    t.equal((await dropped).status(), 200, 'the drop is sent to the server and accepted');
    await treeNode(p, '市场部').locator('.ant-tree-indent-unit').nth(1).waitFor();
    dept = await deptsByName(gw);
    t.equal(dept('市场部').parentId, dept('研发中心').id, 'the server has 市场部 under 研发中心');
    await cp.shot('org-tree');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('members: add (with checks), move to another department, delete', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const hq = await dir.createDept(null, '总部');
    const rd = await dir.createDept(hq.id, '研发中心');
    const mkt = await dir.createDept(hq.id, '市场部', 10);
    await dir.createUser({ account: 'zhang.san', name: '张三', deptIds: [rd.id], title: '经理' });
    const cp = await open(t, gw);
    const p = cp.page;

    await expand(p, '总部');
    await deptTitle(p, '研发中心').click();
    await memberRow(p, 'zhang.san').waitFor();

    // the form checks what it can, the server has the last word
    await p.locator('#member-add').click();
    await p.locator('#member-account').fill('-bad');
    await p.locator('#member-name').fill('李四');
    await p.locator('#member-save').click();
    await p.locator('.member-drawer .ant-form-item-explain-error', { hasText: '账号须为' }).waitFor();
    await p.locator('#member-account').fill('zhang.san');
    await p.locator('#member-save').click();
    const formError = p.locator('#member-form-error');
    await formError.waitFor();
    t.match(await formError.innerText(), /account zhang\.san is already taken/, 'the server’s refusal shows next to the form');

    await p.locator('#member-account').fill('li.si');
    await p.locator('#member-mobile').fill('13800000002');
    await p.locator('#member-title').fill('工程师');
    await p.locator('#member-password').fill('short');
    await p.locator('#member-save').click();
    await p.locator('.member-drawer .ant-form-item-explain-error', { hasText: '8–256' }).waitFor();
    await p.locator('#member-password').fill('li-si-password-1');
    await p.locator('#member-password2').fill('li-si-password-1');
    await p.locator('#member-save').click();
    await memberRow(p, 'li.si').waitFor();
    t.match(await memberRow(p, 'li.si').innerText(), /李四[\s\S]*工程师[\s\S]*13800000002[\s\S]*总部\/研发中心/, 'the new member is in the table');
    await deptTitle(p, '研发中心').locator('sup[title="2"]').waitFor();
    let li = await dir.getUserByAccount('li.si');
    t.same(li?.depts, [{ deptId: rd.id, main: true }], 'on the server li.si is in 研发中心');
    t.equal(li?.title, '工程师');

    // move to 市场部
    await memberRow(p, 'li.si').getByTestId('member-more').click();
    await p.getByTestId('member-move').click();
    const tags = p.locator('.ant-modal .ant-select-multiple .ant-select-selection-item');
    await tags.filter({ hasText: '研发中心' }).waitFor();
    await tags.locator('.ant-select-selection-item-remove').click();
    await pickDept(p, 'move-depts', ['总部', '市场部']);
    await p.locator('.ant-modal-title').click();
    await p.locator('#member-move-ok').click();
    await memberRow(p, 'li.si').first().waitFor({ state: 'detached' });
    li = await dir.getUserByAccount('li.si');
    t.same(li?.depts, [{ deptId: mkt.id, main: true }], 'on the server li.si is now in 市场部 only');
    await deptTitle(p, '市场部').click();
    await memberRow(p, 'li.si').waitFor();
    t.match(await memberRow(p, 'li.si').innerText(), /总部\/市场部/, '市场部 lists li.si');

    // whole-organisation search finds 张三 from here
    await p.locator('#member-scope').getByText('全公司').click();
    await p.locator('#member-search').fill('zhangs');
    await p.locator('#member-search').press('Enter');
    await memberRow(p, 'zhang.san').waitFor();

    // the edit drawer, for the screenshot
    await memberRow(p, 'zhang.san').getByTestId('member-edit').click();
    await p.locator('#member-title').and(p.locator('[value="经理"]')).waitFor();
    await cp.shot('member-edit');
    await p.locator('.member-drawer .ant-drawer-close').click();
    await p.locator('.member-drawer .ant-drawer-content').first().waitFor({ state: 'detached' });

    // delete
    await p.locator('#member-search').fill('');
    await p.locator('#member-scope').getByText('本部门').click();
    await memberRow(p, 'li.si').waitFor();
    await memberRow(p, 'li.si').getByTestId('member-delete').click();
    await p.locator('#member-delete-ok').click();
    await memberRow(p, 'li.si').first().waitFor({ state: 'detached' });
    t.equal(await dir.getUserByAccount('li.si'), null, 'li.si is gone from the server');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('two administrators edit the same member: the second is told, reloads, and nothing is lost', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const rd = await dir.createDept(null, '研发部');
    await dir.createUser({ account: 'wang.wu', name: '王五', deptIds: [rd.id], title: '工程师' });
    const browser = await launch(t);
    const a = await newConsolePage(browser);
    const b = await newConsolePage(browser);
    for (const cp of [a, b]) {
      await loginInBrowser(cp, gw);
      await deptTitle(cp.page, '研发部').click();
      await memberRow(cp.page, 'wang.wu').getByTestId('member-edit').click();
      await cp.page.locator('#member-title').and(cp.page.locator('[value="工程师"]')).waitFor();
    }

    await a.page.locator('#member-title').fill('架构师');
    await a.page.locator('#member-save').click();
    await a.page.locator('.member-drawer .ant-drawer-content').first().waitFor({ state: 'detached' });
    t.equal((await dir.getUserByAccount('wang.wu'))?.title, '架构师', 'the first save is on the server');

    await b.page.locator('#member-mobile').fill('13900000009');
    await b.page.locator('#member-save').click();
    const conflict = b.page.locator('#member-conflict');
    await conflict.waitFor();
    t.match(await conflict.innerText(), /该成员已被他人修改/, 'the second is told someone else changed the member');
    t.match(await conflict.innerText(), /13900000009/, 'and shown the change that was not saved');
    let u = await dir.getUserByAccount('wang.wu');
    t.same([u?.title, u?.mobile], ['架构师', ''], 'the refused save changed nothing');

    await b.page.locator('#member-reload').click();
    await b.page.locator('#member-title').and(b.page.locator('[value="架构师"]')).waitFor();
    t.equal(await b.page.locator('#member-mobile').inputValue(), '', 'the form shows the current values');
    await b.page.locator('#member-reapply').click();
    t.equal(await b.page.locator('#member-mobile').inputValue(), '13900000009', 'the second administrator’s change is filled in again');
    await b.page.locator('#member-save').click();
    await b.page.locator('.member-drawer .ant-drawer-content').first().waitFor({ state: 'detached' });
    u = await dir.getUserByAccount('wang.wu');
    t.same([u?.title, u?.mobile], ['架构师', '13900000009'], 'both changes are on the server');
    t.same(a.errors, [], 'no script errors (first administrator)');
    t.same(b.errors, [], 'no script errors');
  });

  t.test('devices: a signed-in device is listed and forced offline from the member drawer', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const rd = await dir.createDept(null, '研发部');
    const alice = await gw.addUser('alice', { name: '爱丽丝' });
    await dir.editUser(alice.id, { deptIds: [rd.id as DeptId] });
    const { client } = await online(t, gw, 'alice', { deviceType: 'desktop' });
    const closed = nextEvent(client, 'closed', (c) => !c.willReconnect);

    const cp = await open(t, gw);
    const p = cp.page;
    await deptTitle(p, '研发部').click();
    await memberRow(p, 'alice').getByTestId('member-devices').click();
    const device = p.locator(`#member-devices tr[data-device-key="${client.auth?.deviceId as string}"]`);
    await device.waitFor();
    t.match(await device.innerText(), /电脑[\s\S]*127\.0\.0\.1/, 'the device shows its type and address');

    await device.getByTestId('device-offline').click();
    await p.locator('#device-offline-ok').click();
    t.equal((await closed).code, 'GW_FORCED_OFFLINE', 'the client is signed out');
    await p.locator('#device-offline-ok').waitFor({ state: 'hidden' });
    await device.getByText(/已送达|已执行|待送达/).waitFor();
    // the acknowledgement is recorded as the device signs out: refresh until the console shows it carried out
    for (let i = 0; i < 20 && !(await device.getByText('已执行').isVisible()); i++) {
      const answered = p.waitForResponse((r) => r.url().endsWith(`/members/${alice.id}/devices`));
      await p.locator('#devices-refresh').click();
      await answered;
    }
    await device.getByText('已执行').waitFor();
    await cp.shot('member-devices');
    t.same(cp.errors, [], 'no script errors');
  });
}
