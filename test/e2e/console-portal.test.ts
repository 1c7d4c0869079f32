import type { Page } from 'playwright-core';
import t from 'tap';
import type { DeptId } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';

/*
 * The Workbench / Portal page (F-4.1, F-5.1) in Chromium: change the
 * workbench's title and banners, build a custom template (apps in a section,
 * a department as members), and preview what two members' clients get. Each
 * step is checked on the server.
 */

/** Picks one department in a DeptPicker by its title; a click lost while the tree re-renders is made again. */
async function pickDept(page: Page, inputId: string, name: string): Promise<void> {
  const chosen = page.locator('.ant-select', { has: page.locator(`#${inputId}`) }).locator('.ant-select-selection-item', { hasText: name });
  for (let attempt = 1; ; attempt++) {
    await page.locator(`#${inputId}`).click();
    await page.locator(`.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-tree [title="${name}"]`).click();
    // close the dropdown by clicking the dialog's title
    await page.locator('.ant-modal-title').click();
    try {
      await chosen.waitFor({ timeout: 3000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Picks an app in a section's app list by typing its name. */
async function pickApp(page: Page, section: number, name: string): Promise<void> {
  const select = page.locator('.portal-section-apps').nth(section);
  await select.locator('input').click();
  await select.locator('input').fill(name);
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: name }).click();
  await select.locator('.ant-select-selection-item', { hasText: name }).waitFor();
  await page.locator('.ant-modal-title').click();
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' });
}

/** Chooses a member in the preview by typing their account, and waits for their workbench. */
async function previewAs(page: Page, account: string): Promise<void> {
  const input = page.locator('#portal-preview-user');
  // the chosen member's label covers the input: click the select around it
  await page.locator('.ant-select', { has: input }).click();
  await input.fill(account);
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: `(${account})` }).click();
  await page.locator('#portal-preview').waitFor();
}

/** The keys of the apps the preview shows, in order. */
async function shownKeys(page: Page): Promise<(string | null)[]> {
  const apps = page.locator('.portal-preview-app');
  const out: (string | null)[] = [];
  for (let i = 0; i < (await apps.count()); i++) out.push(await apps.nth(i).getAttribute('data-key'));
  return out;
}

interface Row { name: string; sections: string; members: string }

if (browserReady(t)) {
  t.test('workbench / portal: title and banners, a template built in the editor, a preview per member', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const s = gw.gw.services;
    const rd = (await s.directory.deptByPath('研发部', true)).id as DeptId;
    const sales = (await s.directory.deptByPath('销售部', true)).id as DeptId;
    const alice = await gw.addUser('alice', { name: '爱丽丝' });
    const bob = await gw.addUser('bob', { name: '鲍勃' });
    await s.directory.editUser(alice.id, { deptIds: [rd] });
    await s.directory.editUser(bob.id, { deptIds: [sales] });
    const ci = await s.apps.create({ name: '持续集成' });
    const oa = await s.apps.create({ name: 'OA 审批' });

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/portal');

    // the workbench: a new title, a fourth built-in banner with a link, moved to the front
    await page.locator('#portal-title').waitFor();
    t.equal(await page.locator('#portal-title').inputValue(), '工作台');
    t.equal(await page.locator('.portal-banner').count(), 3, 'three built-in banners to start with');
    await page.locator('#portal-title').fill('研发之家');
    await page.locator('#portal-add-default').click();
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: 'default-4' }).click();
    await page.locator('.portal-banner').nth(3).waitFor();
    await page.locator('.portal-banner-link').nth(3).fill('javascript:alert(1)');
    t.ok(await page.locator('#portal-workbench-save').isDisabled(), 'a javascript: link cannot be saved');
    await page.locator('.portal-banner-link').nth(3).fill('https://intranet.example.com/');
    for (let i = 3; i > 0; i--) await page.locator('.portal-banner').nth(i).locator('.portal-banner-up').click();
    await page.locator('#portal-workbench-save').click();
    await page.getByText('已保存').first().waitFor();
    const wb = s.db.prepare('SELECT title, banners FROM workbench').get() as { title: string; banners: string };
    t.equal(wb.title, '研发之家');
    t.same(JSON.parse(wb.banners), [
      { image: 'default-4', link: 'https://intranet.example.com/' }, { image: 'default-1', link: null }, { image: 'default-2', link: null }, { image: 'default-3', link: null },
    ], 'the banners in their new order, with the link');
    t.ok(await page.locator('.portal-banner img').first().evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'the built-in image loads');
    await cp.shot('portal-workbench');

    // a template: one titled section of two apps in the chosen order, 研发部 as members
    await page.locator('#portal-tabs').getByRole('tab', { name: '门户模板' }).click();
    await page.locator('#portal-templates').getByText('默认模板').waitFor();
    await page.locator('#portal-new-template').click();
    await page.locator('#portal-template-name').fill('研发门户');
    await page.locator('.portal-section-title').first().fill('研发工具');
    await pickApp(page, 0, '持续集成');
    await pickApp(page, 0, 'OA 审批');
    await pickDept(page, 'portal-template-depts', '研发部');
    await cp.shot('portal-template-editor');
    await page.locator('#portal-template-save').click();
    await page.locator('#portal-templates').getByText('研发门户').waitFor();
    const row = s.db.prepare('SELECT name, sections, members FROM portal_templates WHERE is_default = 0').get() as Row;
    t.equal(row.name, '研发门户');
    t.same(JSON.parse(row.sections), [{ title: '研发工具', apps: [ci.rowId, oa.rowId] }]);
    t.same(JSON.parse(row.members), { depts: [rd], users: [] });
    await cp.shot('portal-templates');

    // preview: alice (研发部) gets the template, bob (销售部) the default
    await page.locator('#portal-tabs').getByRole('tab', { name: '按成员预览' }).click();
    await previewAs(page, 'alice');
    await page.locator('#portal-preview-template', { hasText: '研发门户' }).waitFor();
    t.equal(await page.locator('#portal-preview-title').innerText(), '研发之家');
    t.same(await page.locator('.portal-preview-section-title').allInnerTexts(), ['研发工具']);
    t.same(await shownKeys(page), [ci.key, oa.key], 'the apps in the chosen order');
    t.equal(await page.locator('.portal-preview-banner').count(), 4);
    await cp.shot('portal-preview-alice');
    await previewAs(page, 'bob');
    await page.locator('#portal-preview-template', { hasText: '默认模板' }).waitFor();
    const bobKeys = await shownKeys(page);
    t.ok(bobKeys.includes(ci.key) && bobKeys.includes(oa.key) && bobKeys.includes('fileTransfer'), 'the default template: every app bob sees');
    t.same(cp.errors, [], 'no script errors');
  });
}
