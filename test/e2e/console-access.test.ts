import t from 'tap';
import type { ClosedEvent } from '../../client/src/index.js';
import type { RoleId } from '../../gateway/src/admin/types.js';
import { Right } from '../../gateway/src/admin/rights.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, modalSettled, newConsolePage, ROOT_ADMIN } from '../helpers/browser.js';
import { nextEvent, online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

/*
 * The authorisation page (F-3.5) in Chromium: the lists, their row and batch
 * actions against the real gateway, the seat limit, and the auto-authorise
 * switch. The acceptance point: blocking a user in the console closes their
 * live WSS session within a second.
 */

if (browserReady(t)) {
  t.test('blocking in the console closes the user’s live WSS session within a second; the blocked list and its picker', async (t) => {
    const gw = await startGateway(t, { settings: { autoAuthorise: false } });
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    const mallory = await gw.addUser('mallory', { name: '马洛里' });
    const trent = await gw.addUser('trent', { name: '特伦特' });
    await gw.addUser('walter', { name: '沃尔特', authorised: false });

    const m = await online(t, gw, 'mallory', { via: 'wss' });
    let closedAt = 0;
    const closed = nextEvent(m.client, 'closed').then((ev: ClosedEvent) => {
      closedAt = Date.now();
      return ev;
    });

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/access');
    await page.getByTestId('access-authorised-block-mallory').click();
    const ok = page.locator('#access-confirm-ok');
    await ok.waitFor();
    t.match(await page.locator('.ant-modal-confirm').innerText(), /禁止马洛里（mallory）？[\s\S]*立即断开/, 'the confirmation says the sessions close at once');
    // the dialog zooms in: let it settle (hover waits until the button is stable), so the clock starts at the click itself
    await ok.hover();
    const answered = page.waitForResponse((r) => r.url().endsWith(`/api/admin/members/${mallory.id}/block`));
    const clickedAt = Date.now();
    await ok.click();
    const ev = await closed;
    const elapsed = closedAt - clickedAt;
    t.ok(elapsed < 1_000, `the WSS session closed ${elapsed} ms after the click`);
    t.equal((await answered).status(), 200, 'the page’s block request succeeded');
    t.same([ev.code, ev.willReconnect], ['GW_USER_BLOCKED', false], 'closed as blocked, and the client does not reconnect');
    t.equal(m.client.state, 'stopped');
    t.equal((await dir.getUser(mallory.id))?.blocked, true, 'blocked on the server');

    await page.getByTestId('access-result').waitFor();
    t.match(await page.getByTestId('access-result').innerText(), /禁止：已完成 1 人/, 'the page reports the block');
    await page.getByTestId('access-authorised-block-mallory').first().waitFor({ state: 'detached' });
    t.pass('mallory left the authorised list');

    // the blocked list, and adding to it with the member picker
    await page.getByRole('tab', { name: '已禁止' }).click();
    await page.getByTestId('access-blocked-unblock-mallory').waitFor();
    t.ok(await page.getByTestId('access-blocked-deauthorise-mallory').isVisible(), 'a blocked member still holding a seat can be de-authorised from the blocked list');
    await page.locator('#access-add-blocked').click();
    // the picker's input takes text once it has the focus
    await page.locator('#access-add-blocked-picker').click();
    await page.locator('#access-add-blocked-picker').fill('trent');
    await page.locator('.ant-select-item-option').filter({ hasText: '特伦特 (trent)' }).click();
    // a click beside the picker closes its list, which covers the dialog's buttons
    await page.locator('.ant-modal-title').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '特伦特 (trent)' }).waitFor({ state: 'hidden' });
    await page.locator('#access-add-blocked-submit').click();
    await page.getByTestId('access-blocked-unblock-trent').waitFor();
    t.equal((await dir.getUser(trent.id))?.blocked, true, 'the picked member is blocked');
    t.match(await page.getByTestId('access-list-blocked').innerText(), /马洛里[\s\S]*特伦特|特伦特[\s\S]*马洛里/, 'both are on the blocked list');
    await cp.shot('access-blocked');

    // unblocking: no question, the member leaves the list
    await page.getByTestId('access-blocked-unblock-trent').click();
    await page.getByTestId('access-blocked-unblock-trent').first().waitFor({ state: 'detached' });
    t.equal((await dir.getUser(trent.id))?.blocked, false, 'unblocked on the server');
    const again = await online(t, gw, 'trent', { via: 'wss' });
    t.equal(again.client.state, 'online', 'and trent logs in again');

    // blocking someone from the waiting list, then cancelling, changes nothing
    await page.getByRole('tab', { name: '未授权' }).click();
    await page.getByTestId('access-waiting-block-walter').click();
    await page.locator('#access-confirm-cancel').click();
    await page.locator('#access-confirm-cancel').first().waitFor({ state: 'detached' });
    t.equal((await dir.getUserByAccount('walter'))?.blocked, false, 'a cancelled block does nothing');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('batch authorising stops when the seats run out, saying how many were authorised; deauthorising asks first', async (t) => {
    const gw = await startGateway(t, { settings: { autoAuthorise: false } });
    await ensureRootAdmin(gw);
    const dir = gw.gw.services.directory;
    // the 50-seat trial: 48 taken, four waiting
    for (let i = 1; i <= 48; i++) await gw.addUser(`f${String(i).padStart(2, '0')}`, { name: `员工${i}` });
    const waiting = [];
    for (const [account, name] of [['w1', '王一'], ['w2', '王二'], ['w3', '王三'], ['w4', '王四']] as const) waiting.push(await gw.addUser(account, { name, authorised: false }));

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/access');
    await page.getByTestId('access-seats-text').filter({ hasText: '已用 48 / 共 50' }).waitFor();
    await page.getByRole('tab', { name: '未授权' }).click();
    // selected in this order: the batch runs in it
    for (const a of ['w1', 'w2', 'w3', 'w4']) await page.locator(`#access-select-waiting-${a}`).check();
    await page.getByTestId('access-selected-waiting').filter({ hasText: '已选 4 人' }).waitFor();
    await page.getByTestId('access-batch-waiting-authorise').click();

    const report = page.locator('[data-testid="access-result"][data-result="error"]');
    await report.waitFor();
    const text = await report.innerText();
    t.match(text, /授权名额已满：已授权 2 人后，在第 3 人（王三（w3））处停止，其余 1 人未处理。/, 'the page says where it stopped and how many were authorised');
    t.match(text, /王三（w3）：the trial allows 50 authorised users; 50 are authorised/, 'with the server’s refusal for that member');
    const states = await Promise.all(waiting.map(async (u) => (await dir.getUser(u.id))?.authorised));
    t.same(states, [true, true, false, false], 'the first two took the last seats; the rest were not authorised');
    await page.getByTestId('access-seats-text').filter({ hasText: '已用 50 / 共 50' }).waitFor();
    t.ok(await page.getByTestId('access-seats-full').isVisible(), 'the seat card says no seat is free');
    await page.getByTestId('access-selected-waiting').filter({ hasText: '已选 2 人' }).waitFor();
    t.pass('the members still waiting stay selected');
    await cp.shot('access-seats-full');

    // one more, row by row: refused with the seat-full message
    await page.getByTestId('access-waiting-authorise-w4').click();
    await page.getByTestId('access-result').filter({ hasText: '授权名额已满，未能授权 王四（w4）。' }).waitFor();
    t.equal((await dir.getUserByAccount('w4'))?.authorised, false, 'still not authorised');

    // the authorised list has the two, found by pinyin
    await page.getByRole('tab', { name: '已授权' }).click();
    await page.locator('#access-search-authorised').fill('wang');
    await page.locator('#access-search-authorised').press('Enter');
    await page.getByTestId('access-authorised-deauthorise-w2').waitFor();
    // the unfiltered list (every authorised member) stays until the search's answer arrives
    await page.getByTestId('access-list-authorised').locator('tbody tr.ant-table-row').nth(2).waitFor({ state: 'detached' });
    t.equal(await page.getByTestId('access-list-authorised').locator('tbody tr.ant-table-row').count(), 2, 'w1 and w2 are authorised');
    await cp.shot('access-authorised');

    // deauthorising asks (sessions close), then frees a seat for w3
    await page.getByTestId('access-authorised-deauthorise-w1').click();
    t.match(await page.locator('.ant-modal-confirm').innerText(), /取消王一（w1）的授权？[\s\S]*会话将被断开/, 'the confirmation says their sessions close');
    await modalSettled(page);
    await page.locator('#access-confirm-ok').click();
    await page.getByTestId('access-authorised-deauthorise-w1').first().waitFor({ state: 'detached' });
    t.equal((await dir.getUserByAccount('w1'))?.authorised, false, 'deauthorised on the server');
    await page.getByTestId('access-seats-text').filter({ hasText: '已用 49 / 共 50' }).waitFor();
    await page.getByRole('tab', { name: '未授权' }).click();
    await page.getByTestId('access-waiting-authorise-w3').click();
    await page.getByTestId('access-result').filter({ hasText: '授权：已完成 1 人' }).waitFor();
    t.equal((await dir.getUserByAccount('w3'))?.authorised, true, 'the freed seat went to w3');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('the auto-authorise switch round-trips; a scoped administrator sees it disabled, with the reason', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const { admin, settings, directory } = gw.gw.services;
    t.equal(settings.get().autoAuthorise, true, 'on by default');

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/access');
    const sw = page.locator('#access-auto-authorise');
    await page.locator('#access-auto-authorise[aria-checked="true"]:not([disabled])').waitFor();
    t.match(await page.locator('#access-auto').innerText(), /第一次登录时自动获得授权/, 'the switch explains what it does');
    await sw.click();
    await page.locator('#access-auto-authorise[aria-checked="false"]:not(.ant-switch-loading)').waitFor();
    t.equal(settings.get().autoAuthorise, false, 'switched off on the server');
    await page.reload();
    await page.locator('#access-auto-authorise[aria-checked="false"]:not([disabled])').waitFor();
    t.pass('still off after a reload');
    await page.locator('#access-auto-authorise').click();
    await page.locator('#access-auto-authorise[aria-checked="true"]:not(.ant-switch-loading)').waitFor();
    t.equal(settings.get().autoAuthorise, true, 'and on again');

    // in English
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('tab', { name: 'Not authorised' }).waitFor();
    t.match(await page.locator('#access-auto').innerText(), /authorised at their first login/, 'the explanation in English');

    // a role over one department: the switch is the organisation's, so it cannot be changed
    const dept = await directory.createDept(null, '华东');
    const rootCtx = { admin: (await admin.login(ROOT_ADMIN.username, ROOT_ADMIN.password, null, null)).admin, address: null };
    const role = await admin.createRole(rootCtx, { name: '华东授权员', rights: [Right.Authorisation], scopeDeptIds: [dept.id] });
    await admin.createAdmin(rootCtx, { username: 'east', password: 'east-password-1', roleIds: [role.id as RoleId] });
    const scp = await newConsolePage(browser);
    await loginInBrowser(scp, gw, { username: 'east', password: 'east-password-1' }, '/access');
    await scp.page.locator('#access-auto-authorise[disabled]').waitFor();
    await scp.page.getByTestId('access-auto-error').waitFor();
    t.match(await scp.page.getByTestId('access-auto-error').innerText(), /华东授权员[\s\S]*outside it/, 'the server’s refusal is shown as it is');
    await scp.page.getByTestId('access-auto-scoped').hover();
    await scp.page.getByRole('tooltip').filter({ hasText: '只有管理范围为整个组织的管理员可以更改自动授权' }).waitFor();
    t.pass('the disabled switch says why');
    t.equal(settings.get().autoAuthorise, true, 'nothing changed');
    t.same(scp.errors, [], 'no script errors (scoped administrator)');
    t.same(cp.errors, [], 'no script errors');
  });
}
