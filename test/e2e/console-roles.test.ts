import t from 'tap';
import type { Page } from 'playwright-core';
import type { DeptId, UserId } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, modalSettled, newConsolePage, ROOT_ADMIN, setBox, type ConsolePage } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Delegated administration (F-3.9) in the console: roles with rights and a
 * department scope, administrators holding them, and the acceptance point
 * "a role scoped to one department: its administrator's edits inside the scope
 * succeed and outside are refused, both in the UI and through the API".
 */

const EAST_PW = 'east-password-1';

interface Reply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** 华东 and 华南 at the top level, one member in each. */
async function seed(gw: TestGateway) {
  const directory = gw.gw.services.directory;
  const east = await directory.createDept(null, '华东', 1);
  const south = await directory.createDept(null, '华南', 2);
  const zhang = await directory.editUser((await gw.addUser('zhangsan', { name: '张三' })).id, { deptIds: [east.id] });
  const li = await directory.editUser((await gw.addUser('lisi', { name: '李四' })).id, { deptIds: [south.id] });
  return { east: east.id, south: south.id, zhang: zhang.id, li: li.id };
}

/** A request from the page itself, as the console's own client sends it: session cookie and the CSRF token from GET /me. */
function pageCall(page: Page, method: string, path: string, body?: unknown): Promise<Reply> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const me = (await (await fetch('/api/admin/me')).json()) as { csrfToken: string };
      const res = await fetch(`/api/admin${path}`, {
        method,
        headers: { 'x-csrf-token': me.csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    },
    { method, path, body },
  );
}

/** Logs in from node with fetch, as a script would: the cookie from Set-Cookie and the CSRF token from the answer. */
async function apiSession(gw: TestGateway, username: string, password: string) {
  const res = await fetch(`${gw.http}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const r = await fetch(`${gw.http}/api/admin${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : {} };
  };
}

/** Picks one department in the role form's department picker. */
async function pickDept(cp: ConsolePage, name: string): Promise<void> {
  const { page } = cp;
  const chosen = page.locator('.ant-select', { has: page.locator('#role-scope-picker') }).locator('.ant-select-selection-item', { hasText: name });
  // a click that lands while the tree re-renders is lost: then pick again
  for (let attempt = 1; ; attempt++) {
    await page.locator('#role-scope-picker').click();
    await page.locator(`.ant-select-tree [title="${name}"]`).click();
    // close the picker's dropdown without leaving the modal
    await page.locator('.ant-modal-title').click();
    await page.locator('.ant-select-tree').waitFor({ state: 'hidden' });
    try {
      await chosen.waitFor({ timeout: 3000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function rowVersion(gw: TestGateway, id: UserId): Promise<number> {
  return (await gw.gw.services.directory.mustUser(id)).rowVersion;
}

if (browserReady(t)) {
  t.test('a role scoped to one department: edits inside succeed, outside are refused, in the UI and through the API', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const d = await seed(gw);
    const directory = gw.gw.services.directory;
    const browser = await launch(t);

    // ---- root creates the role and the administrator through the console ----
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/admins');
    await page.getByTestId('role-row-超级管理员').waitFor();

    await page.locator('#role-create').click();
    await page.locator('#role_name').fill('华东管理员');
    await setBox(page.locator('#role-right-org'), true);
    await setBox(page.locator('#role-right-members'), true);
    await setBox(page.locator('#role-scope-depts'), true);
    await pickDept(cp, '华东');
    await page.locator('#role-form .ant-select-selection-item[title="华东"]').waitFor();
    t.pass('the chosen department shows in the form');
    await cp.shot('role-edit');
    await page.locator('#role-save').click();
    const row = page.getByTestId('role-row-华东管理员');
    await row.waitFor();
    t.equal(await row.getByTestId('role-scope').innerText(), '华东', 'the list shows the scope as the department path');
    t.match(await row.getByTestId('role-rights').innerText(), /组织架构管理[\s\S]*成员管理/, 'the rights show with their Chinese labels');
    t.equal(await row.getByTestId('role-holders').innerText(), '0');

    // the built-in role: read-only, no delete; the server refuses it too
    const builtin = page.getByTestId('role-row-超级管理员');
    t.match(await builtin.innerText(), /内置/, 'the built-in role is marked');
    const builtinDelete = builtin.locator('[data-testid^="role-delete-"]');
    t.ok(await builtinDelete.isDisabled(), 'the built-in role has no delete');
    await builtinDelete.hover({ force: true });
    await page.getByRole('tooltip').filter({ hasText: '内置角色不能删除' }).waitFor();
    t.pass('hovering says why');
    await builtin.locator('[data-testid^="role-view-"]').click();
    await page.locator('.ant-modal').getByText('不能修改或删除').waitFor();
    t.ok(await page.locator('#role_name').isDisabled(), 'the built-in role opens read-only');
    t.notOk(await page.locator('#role-save').isVisible(), 'and cannot be saved');
    await page.locator('#role-cancel').click();
    await page.locator('.ant-modal').first().waitFor({ state: 'detached' });
    const roles = (await pageCall(page, 'GET', '/roles')).body.roles as { id: number; builtin: boolean }[];
    const builtinId = roles.find((r) => r.builtin)?.id;
    const refused = await pageCall(page, 'DELETE', `/roles/${builtinId}`);
    t.equal(refused.status, 403, 'the server refuses to delete the built-in role');
    t.match(refused.body.error?.message, /cannot be deleted/);
    await cp.shot('admins-roles');

    // the administrator
    await page.getByTestId('admins-tab-admins').click();
    await page.locator('#admin-create').click();
    await page.locator('#admin_username').fill('east');
    await page.locator('#admin_displayName').fill('华东小王');
    await page.locator('#admin_password').fill(EAST_PW);
    await page.locator('#admin_confirm').fill(EAST_PW);
    await setBox(page.getByTestId('role-choice-华东管理员'), true);
    await page.locator('#admin-save').click();
    const eastRow = page.getByTestId('admin-row-east');
    await eastRow.waitFor();
    t.equal(await eastRow.getByTestId('admin-roles').innerText(), '华东管理员', 'the new administrator holds the role');
    t.equal(await eastRow.getByTestId('admin-display-name').innerText(), '华东小王');
    await cp.shot('admins-list');

    // a role still held cannot be deleted: the server says so and the page shows it
    await page.getByTestId('admins-tab-roles').click();
    await page.getByTestId('role-row-华东管理员').locator('[data-testid^="role-delete-"]').click();
    await page.locator('#role-delete-confirm').click();
    await page.locator('#admins-error').getByText(/still held by 1 administrator/).waitFor();
    t.pass('deleting a role that is still held shows the refusal');
    t.ok(await page.getByTestId('role-row-华东管理员').isVisible(), 'the role is still there');
    t.same(cp.errors, [], 'no script errors (root)');

    // ---- east, in a fresh browser context ----
    const ep = await newConsolePage(browser);
    const east = ep.page;
    await loginInBrowser(ep, gw, { username: 'east', password: EAST_PW });
    const tree = east.locator('.ant-tree');
    await tree.getByText(/华东/).first().waitFor();
    t.equal(await tree.getByText(/华南/).count(), 0, 'the tree shows only 华东: 华南 is not there at all');
    await tree.getByText(/华东/).first().click();
    await east.locator('#console-shell').getByText('张三', { exact: true }).first().waitFor();
    t.equal(await east.locator('#console-shell').getByText('李四').count(), 0, 'members outside the scope are not listed');
    t.notOk(await east.getByRole('menuitem', { name: '管理员与角色' }).isVisible(), 'no administrators page in the menu without the right');
    await ep.shot('scoped-admin-org');

    // inside the scope, through the organisation page's own forms
    await east.locator('#members-card tr[data-account="zhangsan"]').getByTestId('member-edit').click();
    await east.locator('#member-name').fill('张三丰');
    await east.locator('#member-save').click();
    await east.locator('.member-drawer .ant-drawer-content').first().waitFor({ state: 'detached' });
    await east.locator('#members-card tr[data-account="zhangsan"]').getByText('张三丰').waitFor();
    t.equal((await directory.mustUser(d.zhang)).name, '张三丰', 'editing a member inside the scope in the UI succeeds');
    // 华东 is still the selected department
    await east.locator('#dept-add-child').click();
    await east.locator('#dept-name-input').fill('上海');
    await east.locator('#dept-name-ok').click();
    await east.locator('.dept-tree [data-dept-name="上海"]').waitFor();
    const shanghai = (await directory.childDepts(d.east)).find((x) => x.name === '上海')?.id as DeptId;
    t.ok(shanghai, 'creating a department inside the scope in the UI succeeds');
    let r = await pageCall(east, 'PATCH', `/depts/${shanghai}`, { name: '上海办' });
    t.equal(r.status, 200, 'renaming a department inside the scope succeeds');

    // outside the scope, from the same page
    const liBefore = await directory.mustUser(d.li);
    r = await pageCall(east, 'PATCH', `/members/${d.li}`, { name: '李四改', rowVersion: liBefore.rowVersion });
    t.equal(r.status, 403, 'editing a member outside the scope is refused');
    t.equal(r.body.error?.code, 'GW_FORBIDDEN');
    t.match(r.body.error?.message, /华东管理员 may only manage 华东; 华南 is outside it/, 'the refusal names the scope and the department outside it');
    r = await pageCall(east, 'GET', `/depts?parentId=${d.south}`);
    t.equal(r.status, 403, 'the sub-tree of 华南 cannot even be listed');
    await east.goto(`${gw.http}/admins`);
    await east.getByText('您没有查看此页面的权限').waitFor();
    t.pass('opening the administrators page by its address shows that the right is missing');

    // ---- the API called directly, with east's session ----
    const call = await apiSession(gw, 'east', EAST_PW);
    r = await call('PATCH', `/members/${d.zhang}`, { title: '经理', rowVersion: await rowVersion(gw, d.zhang) });
    t.equal(r.status, 200, 'API: a member inside the scope can be edited');
    t.equal((await directory.mustUser(d.zhang)).title, '经理');
    r = await call('PATCH', `/members/${d.li}`, { title: '经理', rowVersion: liBefore.rowVersion });
    t.equal(r.status, 403, 'API: a member outside the scope cannot');
    t.match(r.body.error?.message, /华南 is outside it/);
    r = await call('POST', '/depts', { parentId: d.south, name: '深圳' });
    t.equal(r.status, 403, 'API: no department can be created under 华南');
    t.match(r.body.error?.message, /may only manage 华东; 华南 is outside it/);
    r = await call('PATCH', `/depts/${d.south}`, { name: '华南大区' });
    t.equal(r.status, 403, 'API: 华南 cannot be renamed');
    r = await call('POST', '/depts', { parentId: null, name: '西北' });
    t.equal(r.status, 403, 'API: nor can a top-level department be made');
    r = await call('GET', '/roles');
    t.equal(r.status, 403, 'API: the roles need the admins right');

    const liAfter = await directory.mustUser(d.li);
    t.same({ name: liAfter.name, title: liAfter.title, rowVersion: liAfter.rowVersion }, { name: liBefore.name, title: liBefore.title, rowVersion: liBefore.rowVersion }, '李四 is unchanged');
    t.same((await directory.childDepts(d.south)).map((x) => x.name), [], 'nothing was created under 华南');
    t.same((await directory.childDepts(null)).map((x) => x.name).sort(), ['华东', '华南'].sort(), 'the top level is unchanged');
    t.same((await directory.childDepts(d.east)).map((x) => x.name), ['上海办'], 'only the in-scope department exists');
    t.same(ep.errors, [], 'no script errors (east)');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('administrators: edit, roles, password, disable, delete; one cannot lock oneself out; English', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    await seed(gw);
    const browser = await launch(t);
    const cp = await newConsolePage(browser, { lang: 'en' });
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/admins');

    // a role over 华南 made through the form, in English
    await page.getByTestId('role-row-超级管理员').waitFor();
    await page.locator('#role-create').click();
    t.ok(await page.locator('#role-form').getByText('Organisation and members').isVisible(), 'rights are grouped, with English labels');
    await page.locator('#role_name').fill('South auditor');
    await setBox(page.locator('#role-right-logs'), true);
    await setBox(page.locator('#role-right-members'), true);
    await setBox(page.locator('#role-scope-depts'), true);
    await page.locator('#role-save').click();
    await page.locator('#role-form').getByText('Choose at least one department').waitFor();
    t.pass('a scoped role needs a department');
    await pickDept(cp, '华南');
    await page.locator('#role-save').click();
    const southRow = page.getByTestId('role-row-South auditor');
    await southRow.waitFor();
    t.match(await southRow.getByTestId('role-rights').innerText(), /Members[\s\S]*Administrator action log/);

    // edit it: the whole organisation
    await southRow.locator('[data-testid^="role-edit-"]').click();
    await setBox(page.locator('#role-scope-whole'), true);
    await page.locator('#role-save').click();
    await southRow.getByTestId('role-scope').getByText('Whole organisation').waitFor();
    t.pass('the scope changed to the whole organisation');

    // an administrator with it
    await page.getByTestId('admins-tab-admins').click();
    await page.locator('#admin-create').click();
    await page.locator('#admin_username').fill('auditor');
    await page.locator('#admin_password').fill('auditor-pass-1');
    await page.locator('#admin_confirm').fill('auditor-pass-2');
    await page.locator('#admin-save').click();
    await page.locator('#admin-form').getByText('The passwords differ').waitFor();
    t.pass('the confirmation must match');
    await page.locator('#admin_confirm').fill('auditor-pass-1');
    await setBox(page.getByTestId('role-choice-South auditor'), true);
    await page.locator('#admin-save').click();
    const row = page.getByTestId('admin-row-auditor');
    await row.waitFor();

    // the username is taken: the server's answer shows in the form
    await page.locator('#admin-create').click();
    await page.locator('#admin_username').fill('AUDITOR');
    await page.locator('#admin_password').fill('another-pass-1');
    await page.locator('#admin_confirm').fill('another-pass-1');
    await page.locator('#admin-save').click();
    await page.locator('#admin-error').getByText(/already taken/).waitFor();
    t.pass('a taken username is refused with the server message');
    await page.locator('#admin-cancel').click();

    // display name
    await row.getByTestId('admin-edit-auditor').click();
    t.ok(await page.locator('#admin-edit-form').getByRole('textbox').first().isDisabled(), 'the username cannot be edited');
    await page.locator('#admin-edit_displayName').fill('审计员');
    await page.locator('#admin-edit-save').click();
    await row.getByTestId('admin-display-name').getByText('审计员').waitFor();

    // password: the new one logs in, the old one does not
    await row.getByTestId('admin-password-auditor').click();
    await page.locator('#admin-password_password').fill('auditor-pass-9');
    await page.locator('#admin-password_confirm').fill('auditor-pass-9');
    await page.locator('#admin-password-save').click();
    await page.locator('#admin-password-form').first().waitFor({ state: 'detached' });
    await apiSession(gw, 'auditor', 'auditor-pass-9');
    t.pass('the reset password works');

    // disable, then enable
    await row.getByTestId('admin-disable-auditor').click();
    await page.locator('#admin-disable-confirm').click();
    await row.getByTestId('admin-status').getByText('Disabled').waitFor();
    t.equal((await gw.gw.services.admin.listAdmins({ admin: (await gw.gw.services.admin.login(ROOT_ADMIN.username, ROOT_ADMIN.password, null, null)).admin, address: null })).find((a) => a.username === 'auditor')?.disabled, true, 'disabled on the server');
    await row.getByTestId('admin-enable-auditor').click();
    await row.getByTestId('admin-status').getByText('Active').waitFor();

    // roles
    await row.getByTestId('admin-roles-auditor').click();
    await modalSettled(page);
    await setBox(page.getByTestId('role-choice-South auditor'), false);
    await page.locator('#admin-roles-save').click();
    await row.getByTestId('admin-roles').getByText('No role').waitFor();
    t.pass('roles replaced');

    // one's own account: no disable, no delete; removing one's last super-admin role is refused by the server
    const me = page.getByTestId('admin-row-root');
    t.ok(await me.getByTestId('admin-disable-root').isDisabled(), 'one cannot disable oneself');
    t.ok(await me.getByTestId('admin-delete-root').isDisabled(), 'one cannot delete oneself');
    await me.getByTestId('admin-roles-root').click();
    await page.locator('#admin-roles-form').getByText(/your next request/).waitFor();
    await modalSettled(page);
    await setBox(page.getByTestId('role-choice-超级管理员'), false);
    await page.locator('#admin-roles-save').click();
    await page.locator('#admin-roles-error').getByText(/last enabled super-administrator/).waitFor();
    t.pass('the server refuses to empty the super-admin role and the form shows why');
    await page.locator('#admin-roles-cancel').click();
    await me.getByTestId('admin-roles').getByText('超级管理员').waitFor();

    // delete
    await row.getByTestId('admin-delete-auditor').click();
    await page.locator('#admin-delete-confirm').click();
    await row.waitFor({ state: 'detached' });
    t.pass('deleted');

    // the role, no longer held, can now be deleted
    await page.getByTestId('admins-tab-roles').click();
    await southRow.locator('[data-testid^="role-delete-"]').click();
    await page.locator('#role-delete-confirm').click();
    await southRow.waitFor({ state: 'detached' });
    t.pass('a role nobody holds can be deleted');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('a scoped administrator with the admins right is offered only what they may grant', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const d = await seed(gw);
    const admin = gw.gw.services.admin;
    const ctx = { admin: (await admin.login(ROOT_ADMIN.username, ROOT_ADMIN.password, null, null)).admin, address: null };
    const hr = await admin.createRole(ctx, { name: '华东人事', rights: ['members', 'admins'], scopeDeptIds: [d.east] });
    await admin.createRole(ctx, { name: '华南人事', rights: ['members'], scopeDeptIds: [d.south] });
    await admin.createAdmin(ctx, { username: 'hr-east', password: 'hr-password-1', roleIds: [hr.id] });

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, { username: 'hr-east', password: 'hr-password-1' }, '/admins');
    await page.getByTestId('role-row-华南人事').waitFor();
    t.ok(await page.getByTestId('role-row-华南人事').locator('[data-testid^="role-edit-"]').isDisabled(), 'a role outside the scope cannot be edited');
    t.ok(await page.getByTestId('role-row-华东人事').locator('[data-testid^="role-edit-"]').isEnabled(), 'a role inside it can');

    await page.locator('#role-create').click();
    t.ok(await page.locator('#role-right-settings').isDisabled(), 'a right not held cannot be ticked');
    t.ok(await page.locator('#role-right-members').isEnabled(), 'a right held can');
    t.ok(await page.locator('#role-scope-whole').isDisabled(), 'the whole organisation cannot be granted');
    await page.locator('#role-scope-picker').click();
    await page.locator('.ant-select-tree [title="华东"]').waitFor();
    t.equal(await page.locator('.ant-select-tree [title="华南"]').count(), 0, 'the department picker offers only the scope');
    await page.locator('.ant-modal-title').click();
    await page.locator('.ant-select-tree').waitFor({ state: 'hidden' });
    await page.locator('#role-cancel').click();

    await page.getByTestId('admins-tab-admins').click();
    t.ok(await page.getByTestId('admin-row-root').getByTestId('admin-edit-root').isDisabled(), 'the super-administrator cannot be managed');
    await page.locator('#admin-create').click();
    t.ok(await page.getByTestId('role-choice-超级管理员').isDisabled(), 'the built-in role is not offered');
    t.ok(await page.getByTestId('role-choice-华南人事').isDisabled(), 'nor a role outside the scope');
    t.ok(await page.getByTestId('role-choice-华东人事').isEnabled(), 'a role inside it is');
    await page.locator('#admin-cancel').click();

    // the server is the judge: granting 华南人事 anyway is refused with its reason
    const r = await pageCall(page, 'POST', '/admins', { username: 'sneaky', password: 'sneaky-pass-1', roleIds: [(await admin.listRoles(ctx)).find((x) => x.name === '华南人事')?.id] });
    t.equal(r.status, 403);
    t.match(r.body.error?.message, /cannot grant 成员管理 \(members\) over 华南 \(role 华南人事\): it is outside your scope/);
    t.same(cp.errors, [], 'no script errors');
  });
}
