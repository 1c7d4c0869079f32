import t from 'tap';
import type { APIRequestContext } from 'playwright-core';
import { browserReady, ensureRootAdmin, fillDate, launch, loginInBrowser, newConsolePage } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';

const DAY_MS = 86_400_000;

/** A local day `offsetDays` from today, YYYY-MM-DD. */
function day(offsetDays: number): string {
  const d = new Date(Date.now() + offsetDays * DAY_MS);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The admin API with the browser's session (its cookie, and the CSRF token from /me). */
async function adminApi(request: APIRequestContext, base: string) {
  const me = await (await request.get(`${base}/api/admin/me`)).json() as { csrfToken: string };
  return async (method: 'POST' | 'PATCH', path: string, data: unknown) => {
    const res = await request.fetch(`${base}/api/admin${path}`, { method, data, headers: { 'x-csrf-token': me.csrfToken } });
    if (!res.ok()) throw new Error(`${method} ${path}: ${res.status()} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
}

if (browserReady(t)) {
  t.test('action log: filter by action, time and administrator; a row opens to before/after with the changes marked; data is never markup', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const admin = gw.gw.services.admin;
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, undefined, '/logs');

    // changes made through the API, as root
    const call = await adminApi(page.request, gw.http);
    const role = await call('POST', '/roles', { name: '值班审计', rights: ['logs'], wholeOrg: true });
    await call('PATCH', `/roles/${String(role.id)}`, { name: '审计员', rights: ['logs', 'groups'] });
    await call('POST', '/admins', { username: 'auditor', password: 'auditor-password-1', roleIds: [role.id] });
    // changes made from the command line (no administrator id); one of them three days ago
    const old = await admin.logAction(null, 'member.update', { kind: 'user', id: '41', label: 'lisi' }, { title: '工程师' }, { title: '经理' }, null);
    gw.gw.services.db.prepare('UPDATE admin_action_log SET at = at - ? WHERE id = ?').run(3 * DAY_MS, old);
    await admin.logAction(null, 'member.update', { kind: 'user', id: '42', label: '<img src=x id=injected>' }, { name: '张三', note: '<b id=bold>加粗</b>' }, { name: '张三丰', note: '<b id=bold>加粗</b>' }, null);

    await page.reload();
    const rows = page.locator('#log-table tr[data-log-id]');
    const attrs = async (name: string) => Promise.all((await rows.all()).map((r) => r.getAttribute(name)));
    await page.locator('#log-table tr[data-action="role.update"]').waitFor();
    const all = await rows.count();
    t.ok(all >= 6, `every entry is listed (${all})`);

    // by action: a bare area name means its prefix
    await page.locator('#log-filter-action').fill('member');
    await page.locator('#log-filter-action').press('Tab'); // leaves the field: its suggestions close
    await page.locator('#log-filter-apply').click();
    await page.locator('#log-table tr[data-action="role.update"]').first().waitFor({ state: 'detached' });
    t.equal(await rows.count(), 2, 'member.* keeps the two member entries');
    t.same(new Set(await attrs('data-action')), new Set(['member.update']), 'only member actions');
    t.equal(await page.locator('#log-table img').count(), 0, 'a label with markup is not rendered as markup');
    t.match(await page.locator('#log-table').innerText(), '<img src=x id=injected>', 'it is shown as text');

    // by time: today only leaves out the entry of three days ago
    await fillDate(page.locator('#log-filter-from'), `${day(0)} 00:00`, 'range-start');
    await fillDate(page.locator('#log-filter-to'), `${day(1)} 00:00`, 'range-end');
    await page.locator('#log-filter-apply').click();
    await page.locator(`#log-table tr[data-log-id="${old}"]`).first().waitFor({ state: 'detached' });
    t.equal(await rows.count(), 1, 'the entry of three days ago is outside the range');
    t.equal(await page.getByTestId('log-total').innerText(), '共 1 条', 'the server counted it so');

    // the member change opens to a field-by-field comparison
    await rows.first().locator('.ant-table-row-expand-icon').click();
    const diff = page.getByTestId('log-diff');
    await diff.waitFor();
    const name = diff.locator('tr[data-field="name"]');
    t.equal(await name.getAttribute('data-diff'), 'changed', 'the changed field is marked');
    t.match(await name.innerText(), /张三\s+张三丰/, 'before and after side by side');
    t.equal(await diff.locator('tr[data-field="note"]').getAttribute('data-diff'), 'same', 'an unchanged field is not marked');
    t.equal(await page.locator('#bold').count(), 0, 'markup in a value stays text');

    // by administrator, with the role change opened
    await page.locator('#log-filter-reset').click();
    await page.locator('#log-table tr[data-action="role.update"]').waitFor();
    await page.locator('#log-filter-admin').click();
    await page.locator('.ant-select-item-option[title="root"]').click();
    await page.locator('#log-filter-apply').click();
    await page.locator('#log-table tr[data-action="member.update"]').first().waitFor({ state: 'detached' });
    const byRoot = await attrs('data-action');
    t.ok(byRoot.includes('role.update') && byRoot.includes('admin.create'), 'root’s own changes are listed');
    t.notOk(byRoot.includes('member.update'), 'the command line’s are not');
    const roleRow = page.locator('#log-table tr[data-action="role.update"]');
    await roleRow.locator('.ant-table-row-expand-icon').click();
    const roleDiff = page.getByTestId('log-diff');
    await roleDiff.waitFor();
    t.match(await roleDiff.locator('tr[data-diff="changed"]').allInnerTexts(), [/值班审计[\s\S]*审计员/, /logs[\s\S]*groups/], 'the renamed role shows its name and rights before and after');
    await cp.shot('logs');

    // by target: the button in a row keeps only that target
    await page.locator('#log-filter-reset').click();
    await page.locator('#log-table tr[data-action="member.update"]').first().waitFor();
    await page.locator(`#log-table tr[data-log-id="${old}"] [data-testid="log-filter-by-target"]`).click();
    await page.locator('#log-table tr[data-action="role.update"]').first().waitFor({ state: 'detached' });
    t.same(await attrs('data-log-id'), [String(old)], 'only the entries about that member');
    t.same(cp.errors, [], 'no script errors');
  });
}
