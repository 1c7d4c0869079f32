import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import t from 'tap';
import { MEMORY_DIRECTORIES, MemoryDirectory } from '../../sync/src/engine/registry.js';
import type { Plan } from '../../sync/src/engine/types.js';
import type { SourceDept, SourceUser } from '../../sync/src/source.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN, type ConsolePage } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

type Teardown = Parameters<typeof launch>[0];
let dirSeq = 0;

/** A fresh memory directory (the `memory` source kind reads it in this process, where the gateway runs). */
function memDir(t: { teardown(fn: () => unknown): void }): { name: string; dir: MemoryDirectory } {
  const name = `e2e-${process.pid}-${++dirSeq}`;
  const dir = new MemoryDirectory();
  MEMORY_DIRECTORIES.set(name, dir);
  t.teardown(() => MEMORY_DIRECTORIES.delete(name));
  return { name, dir };
}

const user = (ext: string, dept: string): SourceUser => ({ externalId: ext, account: ext, name: `员工${ext}`, deptExternalIds: [dept], disabled: false });
const dept = (ext: string, name: string): SourceDept => ({ externalId: ext, parentExternalId: null, name });

function userRow(gw: TestGateway, account: string): { status: string; origin: string } | undefined {
  return gw.gw.services.db.prepare('SELECT status, origin FROM users WHERE account = ?').get(account) as { status: string; origin: string } | undefined;
}
const ownedCount = (gw: TestGateway, origin: string, status = 'active'): number =>
  gw.gw.services.db.prepare('SELECT COUNT(*) FROM users WHERE origin = ? AND status = ?').pluck().get(origin, status) as number;

async function openSyncPage(t: Teardown, gw: TestGateway): Promise<ConsolePage> {
  const browser = await launch(t);
  const cp = await newConsolePage(browser);
  // landing on /sync directly: the menu entry is checked below
  await loginInBrowser(cp, gw, ROOT_ADMIN, '/sync');
  await cp.page.locator('#sync-page').waitFor();
  await cp.page.locator('.ant-menu-item-selected', { hasText: '目录同步' }).waitFor();
  return cp;
}

const sourceRow = (page: Page, id: string) => page.locator(`#sync-sources tr[data-source="${id}"]`);
const runDetail = (page: Page, state: string) => page.locator(`#sync-run-detail[data-state="${state}"]`);
const countCell = (page: Page, kind: string, op: string) => page.locator(`#sync-run-counts tr[data-kind="${kind}"] [data-op="${op}"]`);

/** Picks an option of an Ant Design Select by its visible label. */
async function pickOption(page: Page, select: Locator, label: string): Promise<void> {
  await select.click();
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: label }).click();
}

/** An attribute of every element a locator matches, in order. */
async function attrs(loc: Locator, name: string): Promise<(string | null)[]> {
  return Promise.all((await loc.all()).map((l) => l.getAttribute(name)));
}

async function closeRunDrawer(page: Page): Promise<void> {
  await page.locator('.sync-run-drawer .ant-drawer-close').click();
  await page.locator('#sync-run-detail').first().waitFor({ state: 'detached' });
}

if (browserReady(t)) {
  t.test('memory source: create and edit through the form, test connection, dry run, sync now, safety brake and confirm', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const { name, dir } = memDir(t);
    dir.snapshot = { depts: [dept('R', '研发部')], users: Array.from({ length: 20 }, (_, i) => user(`m${i}`, 'R')) };
    const sync = gw.gw.services.sync;
    const cp = await openSyncPage(t, gw);
    const { page } = cp;
    await page.locator('#sync-sources', { hasText: '还没有同步源' }).waitFor();

    // ---- create: kind offered by the server, schedule presets with the next runs in words ----
    await page.locator('#sync-source-add').click();
    await page.locator('#sync-source-form').waitFor();
    await pickOption(page, page.locator('.ant-select:has(#sync-source-kind)'), '内存（测试）');
    await page.locator('#sync-source-config').waitFor();
    await page.locator('#sync-source-id').fill('corp');
    await page.locator('#sync-source-name').fill('总部目录');
    await page.locator('#sync-source-config').fill(JSON.stringify({ directory: name }));
    await page.locator('#sync-schedule-mode').getByText('每小时').click();
    await page.locator('#sync-schedule-text', { hasText: '每小时第 0 分' }).waitFor();
    await page.locator('#sync-schedule-mode').getByText('每天 02:00').click();
    await page.locator('#sync-schedule-text', { hasText: '每天 02:00' }).waitFor();
    const next = page.locator('#sync-schedule-preview [data-testid=sync-schedule-next]');
    t.equal(await next.count(), 5, 'the next 5 runs are listed');
    const expected = sync.previewSchedule('0 2 * * *', 5).next;
    t.same((await attrs(next, 'data-at')).map(Number), expected, "they are the server's next run times");
    t.match(await next.first().innerText(), /第 1 次：.*02:00/, 'in words: the date and 02:00');
    t.match(await page.locator('#sync-schedule-cron').inputValue(), '0 2 * * *', 'the preset fills the cron expression');
    // a custom expression that is wrong is explained before saving
    await page.locator('#sync-schedule-mode').getByText('自定义').click();
    await page.locator('#sync-schedule-cron').fill('61 * * * *');
    await page.locator('#sync-schedule-problem').waitFor();
    t.match(await page.locator('#sync-schedule-problem').innerText(), /minute/, 'the problem names the field');
    await page.locator('#sync-schedule-mode').getByText('每天 02:00').click();
    await page.locator('#sync-schedule-text', { hasText: '每天 02:00' }).waitFor();
    await page.locator('#sync-schedule-preview').scrollIntoViewIfNeeded();
    await cp.shot('sync-source-form');
    await page.locator('#sync-source-save').click();
    await page.locator('#sync-source-form').first().waitFor({ state: 'detached' });

    const row = sourceRow(page, 'corp');
    await row.waitFor();
    t.match(await row.getByTestId('sync-source-schedule').innerText(), '每天 02:00', 'the list shows the schedule in words');
    t.match(await row.getByTestId('sync-source-next').innerText(), /^下次：.*02:00/, 'and the next run');
    t.match(sync.source('corp'), { kind: 'memory', name: '总部目录', schedule: '0 2 * * *', enabled: true, config: { directory: name }, brakePercent: 10 }, 'the server has the source');

    // ---- edit: another preset, a secret (write-only), the safety limit ----
    await row.getByTestId('sync-source-edit').click();
    await page.locator('#sync-source-form').waitFor();
    t.ok(await page.locator('#sync-source-id').isDisabled(), 'the id cannot be changed');
    t.equal(await page.locator('#sync-source-name').inputValue(), '总部目录');
    await page.locator('#sync-schedule-mode').getByText('每周一 03:00').click();
    await page.locator('#sync-schedule-text', { hasText: '每周一 03:00' }).waitFor();
    await page.locator('#sync-secret-secret').fill('s3cr3t-from-ui');
    await page.locator('#sync-source-brake').fill('10');
    await page.locator('#sync-source-save').click();
    await page.locator('#sync-source-form').first().waitFor({ state: 'detached' });
    await row.getByTestId('sync-source-schedule').filter({ hasText: '每周一 03:00' }).waitFor();
    t.match(sync.source('corp'), { schedule: '0 3 * * 1', secretsSet: ['secret'] }, 'the server has the new schedule and the secret');
    await row.getByTestId('sync-source-edit').click();
    await page.locator('#sync-secret-secret[data-secret=set]').waitFor();
    t.match(await page.locator('#sync-secret-secret').innerText(), /已设置/, 'a stored secret shows as set');
    t.notOk((await page.content()).includes('s3cr3t-from-ui'), 'and is not in the page');
    await page.locator('#sync-source-cancel').click();
    await page.locator('#sync-source-form').first().waitFor({ state: 'detached' });

    // ---- test connection: the steps the kind reports ----
    await row.getByTestId('sync-source-test').click();
    await page.locator('#sync-test-result[data-state=ok]').waitFor();
    const step = page.locator('#sync-test-steps tr[data-step=read]');
    t.equal(await step.getAttribute('data-ok'), 'true');
    t.match(await step.innerText(), new RegExp(`✓[\\s\\S]*读取[\\s\\S]*memory directory ${name}`), 'the step with ✓ and its message');
    await page.locator('#sync-test-close').click();
    await page.locator('#sync-test-result').first().waitFor({ state: 'detached' });

    // ---- dry run: the plan's counts, nothing applied ----
    await row.getByTestId('sync-source-dry').click();
    await runDetail(page, 'planned').waitFor();
    t.equal(await countCell(page, 'users', 'create').innerText(), '20', 'the plan creates 20 members');
    t.equal(await countCell(page, 'depts', 'create').innerText(), '1', 'and one department');
    t.ok(await page.locator('#sync-run-detail [data-testid=sync-run-dry]').isVisible(), 'marked as a dry run');
    t.equal(ownedCount(gw, 'memory:corp'), 0, 'nothing was applied on the server');
    t.equal(userRow(gw, 'm0'), undefined);
    await closeRunDrawer(page);

    // ---- sync now: members appear ----
    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'applied').waitFor();
    t.equal(await countCell(page, 'users', 'create').innerText(), '20', 'the run applied 20 creations');
    t.equal(ownedCount(gw, 'memory:corp'), 20, 'the members are on the server');
    t.match(userRow(gw, 'm7'), { status: 'active', origin: 'memory:corp' });
    await closeRunDrawer(page);
    // a hovered message stays: move the pointer away so the notices close before the screenshot
    await page.mouse.move(10, 800);
    await row.locator('[data-testid=sync-source-last][data-state=applied]').waitFor();
    t.match(await row.getByTestId('sync-source-last').innerText(), /已完成[\s\S]*成员：新建 20/, 'the list shows the last run and its counts');
    await page.locator('.ant-message-notice').first().first().waitFor({ state: 'detached' });
    await cp.shot('sync-sources');

    // ---- 3 of 20 (15 %) gone at the source: the brake holds the run ----
    dir.snapshot.users = dir.snapshot.users.slice(3);
    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'needs_confirmation').waitFor();
    t.equal(await page.locator('#sync-run-brake-text').innerText(), '本次同步将停用 3 人（占 15%），超过安全阈值 10%。', 'the brake is explained');
    t.equal(await countCell(page, 'users', 'disable').innerText(), '3');
    t.match(userRow(gw, 'm0'), { status: 'active' }, 'nothing applied before the confirmation');
    await page.mouse.move(10, 800);
    await page.locator('.ant-message-notice').first().first().waitFor({ state: 'detached' });
    await cp.shot('sync-run-brake');

    // the plan as a JSON download
    const download = page.waitForEvent('download');
    await page.locator('#sync-run-plan').click();
    const file = await download;
    t.match(file.suggestedFilename(), /^sync-run-\d+-plan\.json$/, 'the server names the file');
    const plan = JSON.parse(readFileSync((await file.path())!, 'utf8')) as Plan;
    t.same(plan.items.filter((i) => i.op === 'disable').map((i) => i.externalId).sort(), ['m0', 'm1', 'm2'], 'the plan lists who would be disabled');

    const heldId = Number(await page.locator('#sync-run-detail').getAttribute('data-run'));
    await page.locator('#sync-run-confirm').click();
    await runDetail(page, 'applied').waitFor();
    t.match(userRow(gw, 'm0'), { status: 'disabled' }, 'confirmed: applied on the server');
    t.equal(ownedCount(gw, 'memory:corp'), 17);
    t.equal(sync.run(heldId)?.confirmedBy, 'root', 'confirmed by the administrator');
    await closeRunDrawer(page);

    // the history: newest first, dry run and the held-then-applied run
    await page.locator(`#sync-runs tr[data-run="${heldId}"][data-state=applied]`).waitFor();
    const states = await attrs(page.locator('#sync-runs tr[data-testid=sync-run]'), 'data-state');
    t.same(states, ['applied', 'applied', 'planned'], 'the runs table lists all three runs');
    t.equal(await page.getByTestId('sync-held-alert').count(), 0, 'no run waits any more');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('a slow source: live progress, "sync now" follows the running run, cancel; delete the source', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const { name, dir } = memDir(t);
    dir.snapshot = { depts: [dept('S', '销售部')], users: [user('s1', 'S'), user('s2', 'S')] };
    let release: () => void = () => undefined;
    dir.gate = new Promise<void>((r) => (release = r));
    t.teardown(() => release());
    gw.gw.services.sync.createSource({ id: 'slow', kind: 'memory', name: '慢目录', config: { directory: name } });
    const cp = await openSyncPage(t, gw);
    const { page } = cp;
    const row = sourceRow(page, 'slow');
    await row.waitFor();
    t.match(await row.getByTestId('sync-source-schedule').innerText(), '仅手动同步');

    await row.getByTestId('sync-source-run').click();
    await runDetail(page, 'reading').waitFor();
    await page.locator('#sync-run-progress[data-phase=reading]').waitFor();
    t.pass('the drawer shows the run reading, with its progress');
    await closeRunDrawer(page);
    // the list knows the source is busy; the running marker opens the run
    await row.getByTestId('sync-source-running').click();
    await runDetail(page, 'reading').waitFor();
    await page.locator('#sync-run-cancel').click();
    await page.locator('#sync-run-cancel-ok').click();
    await runDetail(page, 'cancelled').waitFor();
    t.equal(userRow(gw, 's1'), undefined, 'the cancelled run wrote nothing');
    await closeRunDrawer(page);
    await row.getByTestId('sync-source-running').first().waitFor({ state: 'detached' });

    await row.getByTestId('sync-source-delete').click();
    await page.locator('#sync-source-delete-ok').click();
    await row.waitFor({ state: 'detached' });
    t.equal(gw.gw.services.sync.sources().length, 0, 'the source is deleted on the server');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('optional: an LDAP source through the form against a real slapd, test connection step by step', async (t) => {
    const harness = await import('../helpers/slapd.js').catch((e: unknown) => {
      t.comment(`slapd harness not loadable: ${String(e)}`);
      return null;
    });
    if (!harness || !['slapd', 'slapadd', 'openssl'].every((x) => harness.findTool(x))) {
      t.pass('LDAP test connection', { skip: 'slapd, slapadd or openssl is not installed, or the harness is missing' });
      return;
    }
    const gw = await startGateway(t);
    if (!gw.gw.services.sync.kinds().some((k) => k.kind === 'ldap')) {
      t.pass('LDAP test connection', { skip: 'the ldap source kind is not registered' });
      return;
    }
    await ensureRootAdmin(gw);
    const slapd = await harness.startSlapd(t, { users: 30, sizeLimit: 1000 });
    const cp = await openSyncPage(t, gw);
    const { page } = cp;

    await page.locator('#sync-source-add').click();
    await page.locator('#sync-ldap-fields').waitFor();
    await page.locator('#sync-source-id').fill('corp-ldap');
    await page.locator('#sync-source-name').fill('测试 OpenLDAP');
    await page.locator('#sync-ldap-url').fill(slapd.url);
    await page.locator('#sync-ldap-starttls').click();
    await page.locator('#sync-ldap-ca-upload').waitFor();
    await page.locator('#sync-ldap-fields input[type=file]').setInputFiles({ name: 'ca.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(slapd.ca.caPem) });
    await page.waitForFunction("document.querySelector('#sync-ldap-ca')?.value.includes('BEGIN CERTIFICATE')");
    await page.locator('#sync-ldap-binddn').fill(harness.SERVICE_DN);
    await page.locator('#sync-ldap-password').fill(harness.SERVICE_PASSWORD);
    await page.locator('#sync-ldap-basedn').fill(harness.BASE_DN);
    await page.locator('#sync-ldap-preset').click();
    t.equal(await page.locator('#sync-ldap-attr-account').inputValue(), 'uid', 'the OpenLDAP preset fills the mapping');
    await page.locator('#sync-schedule-mode').getByText('不定时').click();
    await page.locator('#sync-source-save-test').click();

    const settled = page.locator('#sync-test-result[data-state=ok], #sync-test-result[data-state=failed], #sync-test-result[data-state=error], #sync-source-error');
    await settled.first().waitFor({ timeout: 40_000 });
    t.equal(await page.locator('#sync-test-result').getAttribute('data-state'), 'ok', await settled.first().innerText());
    const stepRows = page.locator('#sync-test-steps tr[data-testid=sync-test-step]');
    t.same(await attrs(stepRows, 'data-step'), ['dns', 'tcp', 'tls', 'bind', 'base', 'filter'], 'every LDAP step is shown');
    t.same(await attrs(stepRows, 'data-ok'), ['true', 'true', 'true', 'true', 'true', 'true'], 'and passed');
    t.match(await page.locator('#sync-test-steps tr[data-step=tls]').innerText(), /✓/, 'TLS via StartTLS with the uploaded CA');
    await page.locator('#sync-test-close').click();
    const saved = gw.gw.services.sync.source('corp-ldap');
    t.match(saved, { kind: 'ldap', secretsSet: ['bindPassword'], config: { url: slapd.url, startTls: true, bindDn: harness.SERVICE_DN } });
    t.notOk('bindPassword' in saved.config, 'the password is not returned');
    t.notOk((await page.content()).includes(harness.SERVICE_PASSWORD), 'nor shown anywhere in the page');

    // a wrong password: the bind step fails with ✗
    await sourceRow(page, 'corp-ldap').getByTestId('sync-source-edit').click();
    await page.locator('#sync-ldap-password[data-secret=set]').waitFor();
    await page.locator('#sync-ldap-password-change').click();
    await page.locator('#sync-ldap-password').fill('not-the-password');
    await page.locator('#sync-source-save-test').click();
    await page.locator('#sync-test-result[data-state=failed]').waitFor({ timeout: 40_000 });
    t.equal(await page.locator('#sync-test-steps tr[data-step=bind]').getAttribute('data-ok'), 'false', 'the bind step fails');
    t.match(await page.locator('#sync-test-steps tr[data-step=bind]').innerText(), /✗/);
    t.same(cp.errors, [], 'no script errors');
  });
}
