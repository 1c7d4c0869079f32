import type { Page } from 'playwright-core';
import t from 'tap';
import { Right } from '../../gateway/src/admin/rights.js';
import type { UserRecord } from '../../gateway/src/directory/types.js';
import type { GroupId } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * The Groups page (F-3.8, F-6.1) in Chromium: create, rename, delete; the
 * member limit refusing an addition with its figures, nothing added; the
 * whitelist lifting the limit of groups its members own.
 */

/** Picks one person in a MemberPicker (antd Select) by typing their account. */
async function pick(page: Page, pickerId: string, account: string): Promise<void> {
  const input = page.locator(`#${pickerId}`);
  await input.click();
  await input.fill(account);
  const option = page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: `(${account})` });
  await option.click();
  await page.locator(`#${pickerId}`).locator('xpath=ancestor::div[contains(@class,"ant-select-selector")]').getByText(`(${account})`).waitFor();
}

async function closeDrawer(page: Page): Promise<void> {
  await page.locator('.group-drawer .ant-drawer-close').click();
  await page.locator('[data-testid="group-detail"]').first().waitFor({ state: 'detached' });
}

const memberIdsOf = async (gw: TestGateway, id: GroupId) => [...((await gw.gw.services.directory.getGroup(id))?.memberIds ?? [])].sort((a, b) => a - b);

if (browserReady(t)) {
  t.test('groups: create with owner and members, rename, delete; each change is true on the server', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const [alice, bob, carol] = await Promise.all([gw.addUser('alice', { name: '艾丽丝' }), gw.addUser('bob', { name: '鲍勃' }), gw.addUser('carol', { name: '卡罗尔' })]);
    await dir.createGroup('全员群', alice.id, [bob.id, carol.id]);
    const rtx = await dir.createGroup('RTX 项目组', null, [alice.id, bob.id], 'rtx', 'rtx-1');
    t.ok(rtx.id, 'an RTX-origin group for the origin tag');

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/groups');
    await page.locator('#groups-table').getByText('全员群').waitFor();
    t.match(await page.locator(`#groups-table tr[data-row-key="${rtx.id}"]`).innerText(), /RTX[\s\S]*2 \/ 80/, 'an RTX group shows its origin and its own limit');
    await cp.shot('groups-list');

    // create
    await page.locator('#groups-create').click();
    await page.locator('#group_create_name').fill('新项目组');
    await pick(page, 'group_create_owner', 'alice');
    await pick(page, 'group_create_members', 'bob');
    await pick(page, 'group_create_members', 'carol');
    await page.locator('#group-create-ok').click();
    const detail = page.locator('[data-testid="group-detail"]');
    await detail.waitFor();
    t.equal(await page.locator('[data-testid="group-detail-name"]').innerText(), '新项目组', 'the new group opens in the drawer');
    const created = (await dir.findGroupsByName('新项目组'))[0];
    t.ok(created, 'the group exists on the server');
    const gid = created!.id;
    t.equal(created!.ownerId, alice.id, 'owned by the chosen owner');
    t.same(await memberIdsOf(gw, gid), [alice.id, bob.id, carol.id].sort((a, b) => a - b), 'owner and members are in it');
    t.match(await page.locator('[data-testid="group-detail-count"]').innerText(), /3 \/ 1000/, 'the count against the default limit');
    await closeDrawer(page);
    await page.locator(`#groups-table tr[data-row-key="${gid}"]`).waitFor();

    // rename
    await page.locator(`#group-rename-${gid}`).click();
    await page.locator('#group_rename_name').fill('新项目组（二期）');
    await page.locator('#group-rename-ok').click();
    await page.locator(`[data-testid="group-name-${gid}"]`, { hasText: '新项目组（二期）' }).waitFor();
    t.equal((await dir.getGroup(gid))?.name, '新项目组（二期）', 'renamed on the server');

    // a blank name is refused in the form, nothing sent
    await page.locator(`#group-rename-${gid}`).click();
    await page.locator('#group_rename_name').fill('   ');
    await page.locator('#group-rename-ok').click();
    await page.getByText('请输入群名称').waitFor();
    await page.getByRole('button', { name: /取\s*消/ }).click();
    t.equal((await dir.getGroup(gid))?.name, '新项目组（二期）', 'a blank name changed nothing');

    // delete, after a confirmation that says what members lose
    await page.locator(`#group-delete-${gid}`).click();
    const confirm = page.locator('.ant-popover:not(.ant-popover-hidden)');
    t.match(await confirm.innerText(), /3 名成员将失去这个群会话[\s\S]*不可恢复/, 'the confirmation says the members lose the conversation');
    await page.locator(`#group-delete-ok-${gid}`).click();
    await page.locator(`#groups-table tr[data-row-key="${gid}"]`).first().waitFor({ state: 'detached' });
    t.equal(await dir.getGroup(gid), null, 'deleted on the server');

    // search narrows the server-paged list
    await page.locator('#groups-search').fill('rtx');
    await page.locator('#groups-search').press('Enter');
    await page.locator('#groups-table').getByText('全员群').first().waitFor({ state: 'detached' });
    t.equal(await page.locator('#groups-table tbody tr[data-row-key]').count(), 1, 'only the matching group is listed');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('member limit: an addition past the limit is refused with its figures and adds nobody; a whitelisted owner lifts it', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const people = await Promise.all(['owner1', 'mem1', 'mem2', 'mem3', 'mem4', 'mem5', 'mem6'].map((a, i) => gw.addUser(a, { name: `成员${i}` })));
    const [owner, m1, m2, m3, m4, m5, m6] = people as [UserRecord, UserRecord, UserRecord, UserRecord, UserRecord, UserRecord, UserRecord];
    const g = await dir.createGroup('限额测试群', owner.id, [m1.id, m2.id, m3.id]);
    const before = await memberIdsOf(gw, g.id);

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/groups');

    // the limit lowered to 5 through the settings card
    await page.getByRole('tab', { name: '人数上限与白名单' }).click();
    const limitInput = page.locator('#group_limits_groupMemberLimit');
    await page.locator('#group_limits_groupMemberLimit[value="1000"]').waitFor();
    t.equal(await page.locator('#group_limits_rtxGroupMemberLimit').inputValue(), '80', 'the RTX limit is shown');
    await limitInput.fill('1');
    await page.locator('#group-limits-save').click();
    await page.getByText('请输入 2 到 100000 之间的整数').waitFor();
    t.equal(gw.gw.services.settings.get().groupMemberLimit, 1000, 'an out-of-range limit is not sent');
    await limitInput.fill('5');
    await page.locator('#group-limits-save').click();
    await page.getByText('人数上限已保存').waitFor();
    t.equal(gw.gw.services.settings.get().groupMemberLimit, 5, 'the limit is saved on the server');

    // two more would make 6 of 5: refused, with the figures, nobody added
    await page.getByRole('tab', { name: '群组列表' }).click();
    await page.locator(`[data-testid="group-count-${g.id}"]`, { hasText: '4 / 5' }).waitFor();
    await page.locator(`#group-open-${g.id}`).click();
    await page.locator('[data-testid="group-detail"]').waitFor();
    t.match(await page.locator('[data-testid="group-room"]').innerText(), /还可添加 1 人/, 'the drawer says how many more fit');
    await pick(page, 'group-add-picker', 'mem4');
    await pick(page, 'group-add-picker', 'mem5');
    await page.locator('#group-add-submit').click();
    const refusal = page.locator('[data-testid="group-action-error"]');
    await refusal.waitFor();
    const text = await refusal.innerText();
    t.match(text, /超出人数上限，未添加任何成员/, 'the refusal says nobody was added');
    t.match(text, /最多 5 人，现有 4 人，还可添加 1 人；本次操作后将达到 6 人/, 'it names the limit and how many fit');
    t.match(text, /may have at most 5 members; this change would make 6/, 'the server’s own message is shown');
    t.same(await memberIdsOf(gw, g.id), before, 'the server’s member list is unchanged');
    t.equal(await page.locator('#group-member-table tbody tr[data-row-key]').count(), 4, 'the drawer still lists the four members');
    await cp.shot('group-limit-refused');

    // one fits: the group is then full
    await page.locator('#group-add-picker').locator('xpath=ancestor::div[contains(@class,"ant-select-selector")]').locator('.ant-select-selection-item', { hasText: '(mem5)' }).locator('.ant-select-selection-item-remove').click();
    await page.locator('#group-add-submit').click();
    await page.locator('[data-testid="group-detail-count"]', { hasText: '5 / 5' }).waitFor();
    t.same(await memberIdsOf(gw, g.id), [...before, m4.id].sort((a, b) => a - b), 'the one that fits was added');
    t.equal(await page.locator('[data-testid="group-detail-count"]').getAttribute('data-fullness'), 'full', 'the count is shown as full');
    t.match(await page.locator('[data-testid="group-room"]').innerText(), /已达人数上限/, 'the drawer says the group is full');
    t.equal(await page.locator('[data-testid="group-action-error"]').count(), 0, 'the old refusal is gone');
    await cp.shot('group-detail');

    // removing someone asks first, then is true on the server
    await page.locator(`#group-member-remove-${m1.id}`).click();
    await page.locator(`#group-member-remove-ok-${m1.id}`).click();
    await page.locator('[data-testid="group-detail-count"]', { hasText: '4 / 5' }).waitFor();
    t.notOk((await memberIdsOf(gw, g.id)).includes(m1.id), 'the member was removed on the server');
    t.ok(await page.locator(`#group-member-remove-${owner.id}`).count() === 0, 'the owner has no remove button');
    await closeDrawer(page);

    // whitelist the owner: their group has no limit any more
    await page.getByRole('tab', { name: '人数上限与白名单' }).click();
    await pick(page, 'group-exempt-picker', 'owner1');
    await page.locator('#group-exempt-add').click();
    await page.locator(`#group-exempt-table tr[data-row-key="${owner.id}"]`).waitFor();
    t.same(await dir.limitExemptIds(), [owner.id], 'the owner is on the server’s whitelist');

    await page.getByRole('tab', { name: '群组列表' }).click();
    await page.locator(`[data-testid="group-count-${g.id}"]`, { hasText: '4 / 不限' }).waitFor();
    await page.locator(`#group-open-${g.id}`).click();
    await page.locator('[data-testid="group-detail"]').waitFor();
    t.match(await page.locator('[data-testid="group-room"]').innerText(), /不受人数上限限制/, 'the drawer says there is no limit');
    await pick(page, 'group-add-picker', 'mem1');
    await pick(page, 'group-add-picker', 'mem5');
    await pick(page, 'group-add-picker', 'mem6');
    await page.locator('#group-add-submit').click();
    await page.locator('[data-testid="group-detail-count"]', { hasText: '7 / 不限' }).waitFor();
    t.same(await memberIdsOf(gw, g.id), [owner.id, m1.id, m2.id, m3.id, m4.id, m5.id, m6.id].sort((a, b) => a - b), 'past the limit of 5: seven members on the server');
    await closeDrawer(page);

    // the whitelist is about owners: someone else's group stays bound
    const other = await dir.createGroup('别人的群', m1.id, [m2.id, m3.id, m4.id, m5.id]);
    await page.locator('#groups-refresh').click();
    await page.locator(`[data-testid="group-count-${other.id}"]`, { hasText: '5 / 5' }).waitFor();
    await page.locator(`#group-open-${other.id}`).click();
    await page.locator('[data-testid="group-detail"]').waitFor();
    await pick(page, 'group-add-picker', 'owner1');
    await page.locator('#group-add-submit').click();
    await page.locator('[data-testid="group-action-error"]').waitFor();
    t.equal((await dir.getGroup(other.id))?.memberIds.length, 5, 'a whitelisted member does not lift the limit of a group they do not own');
    await closeDrawer(page);

    // off the whitelist again
    await page.getByRole('tab', { name: '人数上限与白名单' }).click();
    await page.locator(`#group-exempt-remove-${owner.id}`).click();
    await page.locator(`#group-exempt-remove-ok-${owner.id}`).click();
    await page.locator(`#group-exempt-table tr[data-row-key="${owner.id}"]`).first().waitFor({ state: 'detached' });
    t.same(await dir.limitExemptIds(), [], 'removed from the server’s whitelist');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('an administrator with the groups right but not settings sees the limits read-only notice', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const admin = gw.gw.services.admin;
    const root = await admin.login(ROOT_ADMIN.username, ROOT_ADMIN.password, null, null);
    const ctx = { admin: root.admin, address: null };
    const role = await admin.createRole(ctx, { name: '群组管理员', rights: [Right.Groups], wholeOrg: true });
    await admin.createAdmin(ctx, { username: 'grouper', password: 'grouper-password-1', roleIds: [role.id] });
    const u = await gw.addUser('solo', { name: '独行' });
    await gw.gw.services.directory.createGroup('独行群', u.id, []);

    const browser = await launch(t);
    const cp = await newConsolePage(browser, { lang: 'en' });
    const { page } = cp;
    await loginInBrowser(cp, gw, { username: 'grouper', password: 'grouper-password-1' }, '/groups');
    await page.locator('#groups-table').getByText('独行群').waitFor();
    await page.getByRole('tab', { name: 'Limits and whitelist' }).click();
    await page.locator('[data-testid="group-limits-no-right"]').waitFor();
    t.match(await page.locator('[data-testid="group-limits-no-right"]').innerText(), /needs the Settings right/, 'the card says which right is missing');
    t.equal(await page.locator('#group_limits_groupMemberLimit').count(), 0, 'no limit form');
    await page.locator('#group-whitelist-card').getByText('The whitelist is empty').waitFor();
    t.same(cp.errors, [], 'no script errors');
  });
}
