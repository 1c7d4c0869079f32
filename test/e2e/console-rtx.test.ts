import type { Page } from 'playwright-core';
import t from 'tap';
import { PluginChannel, type ChannelState } from '../../rtx-adapter/src/channel.js';
import { AdapterStore } from '../../rtx-adapter/src/outbox.js';
import { encodeRtxExportXml } from '../../rtx-adapter/sim/export-xml.js';
import { generateOrg } from '../../rtx-adapter/sim/generate.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, type ConsolePage } from '../helpers/browser.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

/** Waits until cond() holds, re-checking every 20 ms (for state outside the page: the adapter's). */
async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A real adapter's end of the plugin channel (rtx-adapter/src/channel.ts), over TLS with the gateway's certificate. */
function adapter(t: { teardown(fn: () => unknown): void }, gw: TestGateway, code: string, name: string): { channel: PluginChannel; stateIs(s: ChannelState): Promise<void> } {
  const port = gw.gw.ports().plugin;
  if (!port) throw new Error('the plugin listener is not up');
  const store = AdapterStore.open(tempDir(t));
  const channel = new PluginChannel({ host: '127.0.0.1', port, code, store, name, software: 'huitong-rtx-adapter e2e', tls: { ca: gw.ca }, reconnect: { minDelayMs: 10, maxDelayMs: 100 } });
  t.teardown(async () => {
    await channel.stop();
    store.close();
  });
  const stateIs = (s: ChannelState) => waitFor(() => channel.status().state === s, `adapter state ${s} (now ${channel.status().state}: ${channel.status().lastError})`);
  return { channel, stateIs };
}

/** True when the gateway has the route (an unknown one answers 404 before any right or CSRF check). */
async function hasRoute(gw: TestGateway, method: 'GET' | 'POST', path: string): Promise<boolean> {
  const r = await fetch(`${gw.http}/api/admin${path}`, { method, headers: { origin: gw.http } });
  await r.arrayBuffer();
  return r.status !== 404;
}

const dir = (gw: TestGateway) => gw.gw.services.directory;
const codeText = (page: Page) => page.locator('#rtx-code').innerText();
const memberRow = (page: Page, account: string) => page.locator(`#members-card tr[data-account="${account}"]`);

async function openRtxPage(t: Parameters<typeof launch>[0], gw: TestGateway): Promise<ConsolePage> {
  const browser = await launch(t);
  const cp = await newConsolePage(browser);
  await cp.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.http });
  await loginInBrowser(cp, gw);
  await cp.page.getByRole('menuitem', { name: 'RTX 集成' }).click();
  await cp.page.locator('#rtx-page').waitFor();
  return cp;
}

/** Opens a member's drawer from the Org page's whole-organisation search. */
async function openMember(page: Page, account: string, search: string): Promise<void> {
  await page.getByRole('menuitem', { name: '组织架构' }).click();
  await page.locator('#member-search').fill(search);
  await page.locator('#member-search').press('Enter');
  await memberRow(page, account).waitFor();
  await memberRow(page, account).getByTestId('member-edit').click();
  await page.locator('#member-rtx-tag').waitFor();
}

if (browserReady(t)) {
  t.test('connection: WAITING, the code hidden then shown and copied, regenerated; a real adapter connects and is shown', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const cp = await openRtxPage(t, gw);
    const { page } = cp;

    await page.locator('#rtx-state[data-state=WAITING]').waitFor();
    t.match(await page.locator('#rtx-state').innerText(), /等待适配器连接/, 'the link waits for an adapter');
    await page.locator('#rtx-listen-port', { hasText: String(gw.gw.ports().plugin) }).waitFor();
    t.equal(await page.locator('#rtx-listen-tls').innerText(), '已开启', 'TLS is on');
    t.match(await page.locator('#rtx-install-command').innerText(), new RegExp(`--gateway 127\\.0\\.0\\.1:${gw.gw.ports().plugin}$`), 'the start command names this gateway');
    t.match(await page.locator('#rtx-install').innerText(), /docs\/rtx-adapter\.md/, 'the install steps point at the docs');

    // hidden until asked for
    const first = gw.gw.services.rtxCode.current().code;
    t.equal(await page.locator('#rtx-code').getAttribute('data-shown'), 'false');
    t.notMatch(await codeText(page), /[A-Z2-9]{4}-/, 'the code is not on the page');
    t.notOk((await page.content()).includes(first), 'nor anywhere in the DOM');
    await page.locator('#rtx-code-toggle').click();
    await page.locator('#rtx-code[data-shown=true]').waitFor();
    t.equal(await codeText(page), first, "the page shows the server's code");
    const viaApi = (await (await page.request.get(`${gw.http}/api/admin/rtx/code`)).json()) as { code: string };
    t.equal(viaApi.code, first, 'the same code as the API answers');
    await page.locator('#rtx-code-toggle').click();
    await page.locator('#rtx-code[data-shown=false]').waitFor();

    await page.locator('#rtx-code-copy').click();
    await page.getByText('连接码已复制').waitFor();
    t.equal(await page.evaluate('navigator.clipboard.readText()'), first, 'copy puts the code on the clipboard');

    // regenerate: confirm first; the old code no longer admits an adapter
    await page.locator('#rtx-code-regenerate').click();
    await page.getByText('当前已连接的适配器会被断开').waitFor();
    await page.locator('#rtx-code-regenerate-ok').click();
    await page.getByText('已生成新的连接码').waitFor();
    const second = gw.gw.services.rtxCode.current().code;
    t.not(second, first, 'the server has a new code');
    await page.locator('#rtx-code-toggle').click();
    await page.locator('#rtx-code[data-shown=true]').waitFor();
    t.equal(await codeText(page), second, 'the page shows the new code');

    const stale = adapter(t, gw, first, 'stale-adapter');
    await stale.channel.start();
    await stale.stateIs('BAD_CREDENTIALS');
    t.match(stale.channel.status().lastError, /GW_PLUGIN_CODE_INVALID|code/i, 'the old code is refused');
    await stale.channel.stop();

    // a real adapter with the code copied from the page
    const name = '总部 RTX 服务器';
    const a = adapter(t, gw, await codeText(page), name);
    await a.channel.start();
    await a.stateIs('CONNECTED');
    await page.locator('#rtx-state[data-state=CONNECTED]').waitFor();
    await page.locator('#rtx-adapter-name', { hasText: name }).waitFor();
    t.match(await page.locator('#rtx-connection').innerText(), /已连接/, 'the page shows the link up');
    t.notMatch(await page.locator('#rtx-connected-at').innerText(), /^—$/, 'with the time it connected');
    t.match(await page.locator('#rtx-connection').innerText(), /127\.0\.0\.1/, 'and where from');
    await page.locator('#rtx-code-toggle').click();
    await page.locator('#rtx-code[data-shown=false]').waitFor();
    await page.locator('.ant-message-notice').first().first().waitFor({ state: 'detached' });
    await cp.shot('rtx-connection');

    // regenerating disconnects it
    await page.locator('#rtx-code-regenerate').click();
    await page.locator('#rtx-code-regenerate-ok').click();
    await a.stateIs('BAD_CREDENTIALS');
    await page.locator('#rtx-state[data-state=WAITING]').waitFor();
    t.pass('the adapter was disconnected and the page shows WAITING again');

    if (await hasRoute(gw, 'POST', '/rtx/sync')) {
      await page.locator('#rtx-sync-now').click();
      await page.locator('#rtx-sync-error').waitFor();
      t.ok((await page.locator('#rtx-sync-error').innerText()).length > 10, 'sync without an adapter: the refusal is shown');
    } else {
      t.pass('"sync now" without an adapter', { skip: 'POST /api/admin/rtx/sync is not there yet' });
    }
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('an RTX member: tagged in the list, RTX-owned fields read-only in the drawer, local fields still editable', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const directory = dir(gw);
    const dept = await directory.createDept(null, '研发中心', 0, 'rtx', '1');
    await directory.createUser({ account: 'zhangsan', name: '张三', deptIds: [dept.id], mobile: '13800000001', email: 'zhangsan@example.cn', title: '工程师', gender: 'male', origin: 'rtx', externalId: 'zhangsan' });
    await gw.addUser('local.li', { name: '本地李四' });
    const cp = await openRtxPage(t, gw);
    const { page } = cp;

    await page.getByRole('menuitem', { name: '组织架构' }).click();
    await page.locator('#member-search').fill('张三');
    await page.locator('#member-search').press('Enter');
    await memberRow(page, 'zhangsan').getByTestId('member-rtx-tag').waitFor();
    await openMember(page, 'zhangsan', '张三');
    for (const id of ['member-name', 'member-mobile', 'member-email', 'member-phone', 'member-title']) {
      t.ok(await page.locator(`#${id}`).isDisabled(), `${id} is read-only`);
    }
    t.ok(await page.locator('#member-gender input').first().isDisabled(), 'gender is read-only');
    t.ok(await page.locator('[data-testid=member-rtx-depts] input').first().isDisabled(), 'departments are read-only');
    t.ok(await page.locator('#member-order').isEnabled(), 'the display order stays editable');
    await page.locator('.member-drawer .ant-form-item-tooltip').first().hover();
    await page.locator('.ant-tooltip', { hasText: '由 RTX 同步，请在 RTX 中修改' }).waitFor();
    t.pass('the tooltip says where to change it');
    await cp.shot('rtx-member-readonly');

    // saving a local field sends only that field
    await page.locator('#member-order').fill('7');
    await page.locator('#member-save').click();
    await page.locator('.member-drawer .ant-drawer-content').first().waitFor({ state: 'detached' });
    const u = await directory.getUserByAccount('zhangsan');
    t.equal(u?.order, 7, 'the order was saved');
    t.equal(u?.name, '张三', 'the RTX fields are unchanged');

    // a local member is editable as before
    await page.locator('#member-search').fill('local.li');
    await page.locator('#member-search').press('Enter');
    await memberRow(page, 'local.li').waitFor();
    t.equal(await memberRow(page, 'local.li').getByTestId('member-rtx-tag').count(), 0, 'no RTX tag on a local member');
    await memberRow(page, 'local.li').getByTestId('member-edit').click();
    await page.locator('#member-name').waitFor();
    t.ok(await page.locator('#member-name').isEnabled(), "a local member's name is editable");
    t.equal(await page.locator('#member-rtx-tag').count(), 0);
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('import an RTX export: dry run shows the plan, apply writes it, the members show as RTX', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const routes = await hasRoute(gw, 'POST', '/rtx/import-xml?dryRun=true');
    if (!routes) {
      t.pass('the XML import', { skip: 'POST /api/admin/rtx/import-xml is not there yet' });
      return;
    }
    const cp = await openRtxPage(t, gw);
    const { page } = cp;
    const org = generateOrg({ users: 12, departments: 4, groups: 2, seed: 7 });
    const xml = encodeRtxExportXml(org);
    const before = await dir(gw).countUsers();

    // a file that is not an export is refused with a message
    await page.locator('#rtx-import-dragger input[type=file]').setInputFiles({ name: 'broken.xml', mimeType: 'application/xml', buffer: Buffer.from('<not-rtx>') });
    await page.locator('#rtx-import-error').waitFor();
    t.ok((await page.locator('#rtx-import-error').innerText()).includes('未做任何修改'), 'a bad file: nothing changed, said clearly');
    t.equal(await dir(gw).countUsers(), before);

    const planned = page.waitForResponse((r) => r.url().includes('/rtx/import-xml?dryRun=true') && r.status() === 200);
    await page.locator('#rtx-import-dragger input[type=file]').setInputFiles({ name: 'RTX导出.xml', mimeType: 'text/xml', buffer: xml });
    const plan = (await (await planned).json()) as { plan: { depts: { created: number }; users: { created: number }; groups: { created: number } }; applied: boolean };
    await page.locator('#rtx-import-plan').waitFor();
    t.equal(plan.applied, false, 'the dry run applied nothing');
    t.equal(await dir(gw).countUsers(), before, 'no member was written by the dry run');
    t.ok(plan.plan.users.created > 0, `the plan creates members (${plan.plan.users.created})`);
    for (const kind of ['depts', 'users', 'groups'] as const) {
      const shown = await page.locator(`#rtx-import-plan-table tr[data-kind=${kind}] [data-count=created]`).innerText();
      t.equal(Number(shown), plan.plan[kind].created, `the page shows the planned ${kind}`);
    }
    await cp.shot('rtx-import-plan');

    await page.locator('#rtx-import-apply').click();
    await page.locator('#rtx-import-applied').waitFor();
    t.equal(await dir(gw).countUsers(), before + plan.plan.users.created, 'the members were written');
    const zs = await dir(gw).getUserByAccount('zhangsan');
    t.match(zs, { name: '张三', origin: 'rtx' }, 'zhangsan is an RTX member with his Chinese name');
    await page.locator('#rtx-runs [data-testid=rtx-run][data-state=applied]').first().waitFor();
    t.pass('the runs table lists the applied import');

    await openMember(page, 'zhangsan', '张三');
    t.ok(await page.locator('#member-name').isDisabled(), 'the imported member has read-only RTX fields');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('the sync and import cards against the route contract, stubbed in the browser (the UI alone)', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const cp = await openRtxPage(t, gw);
    const { page } = cp;
    const counts = (d: number, u: number, g: number, unauthorised = 0) => ({
      depts: { created: d, updated: 0, removed: 0 }, users: { created: u, updated: 1, removed: 0 }, groups: { created: g, updated: 0, removed: 0 }, unauthorised,
    });
    const json = (body: unknown, status = 200) => ({ status, contentType: 'application/json', body: JSON.stringify(body) });
    const now = Date.now();
    let runs: unknown[] = [{ id: 1, source: 'xml', reason: 'import', state: 'failed', startedAt: now - 60_000, finishedAt: now - 59_000, counts: null, error: '文件不完整' }];
    let syncs = 0;
    let runReads = 0;
    await page.route('**/api/admin/rtx/runs*', (r) => {
      runReads += 1;
      return r.fulfill(json({ runs }));
    });
    await page.route('**/api/admin/rtx/sync', (r) => {
      syncs += 1;
      if (syncs === 1) return r.fulfill(json({ error: { code: 'GW_RTX_NOT_CONNECTED', message: '没有已连接的 RTX 适配器' } }, 409));
      runs = [{ id: 2, source: 'com', reason: 'manual', state: 'staging', startedAt: now, finishedAt: null, counts: null, error: null }, ...runs];
      return r.fulfill(json({ requested: true }, 202));
    });
    const bodies: { dryRun: string | null; bytes: number; type: string | undefined }[] = [];
    await page.route('**/api/admin/rtx/import-xml*', async (r) => {
      const req = r.request();
      const dryRun = new URL(req.url()).searchParams.get('dryRun');
      const body = req.postDataBuffer() ?? Buffer.alloc(0);
      bodies.push({ dryRun, bytes: body.length, type: (await req.allHeaders())['content-type'] });
      if (body.toString('latin1').includes('<not-rtx>')) return r.fulfill(json({ error: { code: 'GW_BAD_REQUEST', message: '这不是 RTX 导出的 XML 文件' } }, 400));
      return r.fulfill(json({ runId: 3, plan: counts(4, 12, 2, 1), applied: dryRun === 'false', warnings: ['群组「周会」的成员 ghost 不存在，已跳过'] }));
    });
    await page.reload();
    await page.locator('#rtx-runs [data-testid=rtx-run][data-state=failed]').waitFor();
    t.match(await page.locator('#rtx-runs').innerText(), /文件不完整/, 'a failed run shows its error');

    await page.locator('#rtx-sync-now').click();
    await page.locator('#rtx-sync-error', { hasText: '没有已连接的 RTX 适配器' }).waitFor();
    t.pass('409: the server\'s message is shown');
    await page.locator('#rtx-sync-now').click();
    await page.locator('#rtx-sync-waiting').waitFor();
    await page.locator('#rtx-runs [data-testid=rtx-run][data-run="2"][data-state=staging]').waitFor();
    const readsWhileWaiting = runReads;
    runs = [{ id: 2, source: 'com', reason: 'manual', state: 'applied', startedAt: now, finishedAt: now + 2000, counts: counts(1, 3, 0), error: null }, ...runs.slice(1)];
    await page.locator('#rtx-runs [data-testid=rtx-run][data-run="2"][data-state=applied]').waitFor();
    await page.locator('#rtx-sync-waiting').first().waitFor({ state: 'detached' });
    t.ok(runReads > readsWhileWaiting, 'the runs were read again until the new run finished');
    t.match(await page.locator('#rtx-runs [data-run="2"]').innerText(), /成员: 新增 3/, 'with its counts');

    await page.locator('#rtx-import-dragger input[type=file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('x') });
    await page.locator('#rtx-import-error', { hasText: '不是 .xml 文件' }).waitFor();
    t.equal(bodies.length, 0, 'a file that is not .xml is not sent');
    await page.locator('#rtx-import-dragger input[type=file]').setInputFiles({ name: 'bad.xml', mimeType: 'text/xml', buffer: Buffer.from('<not-rtx>') });
    await page.locator('#rtx-import-error', { hasText: '这不是 RTX 导出的 XML 文件' }).waitFor();
    t.pass('400: the server\'s message is shown');

    const xml = encodeRtxExportXml(generateOrg({ users: 12, departments: 4, groups: 2, seed: 7 }));
    await page.locator('#rtx-import-dragger input[type=file]').setInputFiles({ name: 'RTX导出.xml', mimeType: 'text/xml', buffer: xml });
    await page.locator('#rtx-import-plan').waitFor();
    t.same(bodies.at(-1), { dryRun: 'true', bytes: xml.length, type: 'application/octet-stream' }, 'the dry run sends the raw bytes');
    t.equal(await page.locator('#rtx-import-plan-table tr[data-kind=users] [data-count=created]').innerText(), '12');
    t.equal(await page.locator('#rtx-import-plan-table tr[data-kind=depts] [data-count=created]').innerText(), '4');
    t.match(await page.locator('#rtx-import-plan').innerText(), /未授权的新成员: 1/, 'members left without a seat are called out');
    t.match(await page.locator('#rtx-import-warnings').innerText(), /ghost 不存在/, 'the warnings are listed');
    if (!(await hasRoute(gw, 'POST', '/rtx/import-xml?dryRun=true'))) {
      // the real import test takes this screenshot once the route is there
      await page.locator('.ant-message-notice').first().first().waitFor({ state: 'detached' });
      await cp.shot('rtx-import-plan');
    }
    const reads = runReads;
    await page.locator('#rtx-import-apply').click();
    await page.locator('#rtx-import-applied').waitFor();
    t.same(bodies.at(-1), { dryRun: 'false', bytes: xml.length, type: 'application/octet-stream' }, 'apply sends the same file for real');
    await waitFor(() => runReads > reads, 'the runs read again after the apply');
    t.same(cp.errors, [], 'no script errors');
  });
}
