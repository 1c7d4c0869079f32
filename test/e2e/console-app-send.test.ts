import { crc32, deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import t from 'tap';
import type { DeptId, ImageBody, MessageView, MpnewsBody } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN } from '../helpers/browser.js';
import { httpsRequest, online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

/*
 * The app detail's "send" tab (F-4.5) in Chromium: an administrator composes
 * a text for one person and sees the live preview, an mpnews with an uploaded
 * picture for a department, and a message for everyone; real clients logged
 * in as those people receive each one in the app's conversation, and the
 * picture downloads. A message without content or recipients cannot be sent.
 */

/** A real PNG: `w`×`h` pixels, 8-bit RGB, a diagonal gradient. */
function png(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3); // filter byte 0, then pixels
    for (let x = 0; x < w; x++) row.set([(x * 255) / w, (y * 255) / h, 128], 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

const fromApp = (key: string) => (m: MessageView) => m.fromApp?.id === key;

/** Picks one person in the send tab's member picker by typing their account, then closes its dropdown. */
async function pickPerson(page: Page, account: string): Promise<void> {
  const input = page.locator('#app-send-users');
  await input.click();
  await input.fill(account);
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: `(${account})` }).click();
  await page.locator('.ant-select', { has: input }).locator('.ant-select-selection-item', { hasText: `(${account})` }).waitFor();
  await page.locator('#app-detail').getByText('发送对象', { exact: true }).click();
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' });
}

/** Picks one department in the send tab's department picker; a click lost while the tree re-renders is made again. */
async function pickDept(page: Page, name: string): Promise<void> {
  const chosen = page.locator('.ant-select', { has: page.locator('#app-send-depts') }).locator('.ant-select-selection-item', { hasText: name });
  for (let attempt = 1; ; attempt++) {
    await page.locator('#app-send-depts').click();
    await page.locator(`.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-tree [title="${name}"]`).click();
    await page.locator('#app-detail').getByText('发送对象', { exact: true }).click();
    try {
      await chosen.waitFor({ timeout: 3000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' });
}

if (browserReady(t)) {
  t.test('send tab: a text to one person with its preview, an mpnews with a picture to a department, everyone; empty or unaddressed messages cannot be sent', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const s = gw.gw.services;
    const rd = (await s.directory.deptByPath('研发部', true)).id as DeptId;
    await gw.addUser('alice', { name: '爱丽丝' });
    const bob = await gw.addUser('bob', { name: '鲍勃' });
    await s.directory.editUser(bob.id, { deptIds: [rd] });
    const app = await s.apps.create({ name: '通知助手' });
    const alice = await online(t, gw, 'alice');
    const bobC = await online(t, gw, 'bob');

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, ROOT_ADMIN, '/apps');
    await page.locator(`#apps-table tr[data-app-id="${app.rowId}"]`).click();
    await page.locator('#app-detail').waitFor();
    await page.locator('#app-tabs').getByRole('tab', { name: '发送消息' }).click();

    // nothing to send yet: no content, nobody chosen
    const submit = page.locator('#app-send-submit');
    await page.locator('#app-send-text').waitFor();
    t.ok(await submit.isDisabled(), 'Send is disabled with no content and no recipients');
    t.ok(await page.locator('#app-detail').getByText('请选择发送对象').isVisible(), 'the form asks for recipients');
    t.ok(await page.locator('#app-detail').getByText('填写内容后在这里预览').isVisible(), 'the preview is empty');
    await page.locator('#app-send-text').fill('   ');
    await pickPerson(page, 'alice');
    t.ok(await submit.isDisabled(), 'only spaces: still disabled with a recipient chosen');

    // a text: the live preview shows it as the client will
    const text = '明天上午 10 点全员会议，请准时参加。';
    await page.locator('#app-send-text').fill(text);
    await page.locator('#app-send-preview').getByText(text).waitFor();
    t.ok(await page.locator('#app-send-preview').getByText('来自 通知助手').isVisible(), 'the preview names the app');
    t.notOk(await submit.isDisabled(), 'Send is enabled');
    await cp.shot('app-send-text');
    await submit.click();
    await page.locator('#app-send-result').getByText('已发送给 1 人').waitFor();
    const [m1] = (await alice.inbox.until((ms) => ms.some(fromApp(app.key)), 'the text at alice')).filter(fromApp(app.key));
    t.match(m1, { kind: 'text', body: { text }, to: { kind: 'app', id: app.key }, fromApp: { id: app.key, name: '通知助手' } }, 'alice gets the text in the app’s conversation');

    // an mpnews with an uploaded picture, to a department
    const picture = png(96, 64);
    await page.locator('#app-send-target').getByText('指定部门').click();
    await page.locator('#app-send-type').getByText('图文').click();
    await page.locator('#app-send-item-0-title').waitFor();
    t.ok(await submit.isDisabled(), 'an article without a title and no department: disabled');
    await pickDept(page, '研发部');
    await page.locator('#app-send-item-0-title').fill('新版考勤制度');
    await page.locator('#app-send-item-0-digest').fill('下月起执行');
    await page.locator('#app-send-item-0-content').fill('详见附件。');
    await page.locator('.ant-upload', { has: page.locator('#app-send-item-0-cover') }).locator('input[type=file]').setInputFiles({ name: '封面.png', mimeType: 'image/png', buffer: picture });
    await page.locator('#app-detail').getByText(/已上传：封面\.png/).waitFor();
    await page.locator('#app-send-preview').getByText('🖼 封面.png').waitFor();
    await page.locator('#app-send-preview').getByText('下月起执行').waitFor();
    await cp.shot('app-send-mpnews');
    await submit.click();
    await page.locator('#app-send-result').getByText('已发送给 1 人').waitFor();
    const mp = (await bobC.inbox.until((ms) => ms.some((m) => fromApp(app.key)(m) && m.kind === 'mpnews'), 'the mpnews at bob')).find((m) => m.kind === 'mpnews') as MessageView;
    const item = (mp.body as MpnewsBody).items[0];
    t.match(item, { title: '新版考勤制度', digest: '下月起执行', content: '详见附件。', cover: { name: '封面.png', size: picture.length } }, 'bob, in the department, gets the article with its cover');
    const got = await httpsRequest(gw, 'GET', `/files/${(item?.cover as ImageBody).fileId}`, { token: bobC.client.auth?.token as string });
    t.equal(got.status, 200, 'bob may download the picture');
    t.ok(got.body.equals(picture), 'the bytes are the uploaded PNG');

    // everyone: asked to confirm first, then both clients get it
    await page.locator('#app-send-target').getByText('全体成员').click();
    await page.locator('#app-send-type').getByText('文本').click();
    await page.locator('#app-send-text').fill('今晚 8 点系统维护。');
    await page.locator('#app-send-preview').getByText('今晚 8 点系统维护。').waitFor();
    await submit.click();
    const confirm = page.locator('.ant-modal-confirm');
    await confirm.locator('.ant-modal-confirm-title', { hasText: '确定发送给全体成员？' }).waitFor();
    // the dialog zooms in: the picture is taken once it has settled
    await page.locator('.ant-modal-confirm:not([class*="ant-zoom"])').waitFor();
    await cp.shot('app-send-all-confirm');
    await confirm.getByRole('button', { name: '确 定' }).or(confirm.getByRole('button', { name: '确定' })).click();
    await page.locator('#app-send-result').getByText('已发送给 2 人').waitFor();
    const toAll = (m: MessageView) => fromApp(app.key)(m) && m.kind === 'text' && (m.body as { text: string }).text === '今晚 8 点系统维护。';
    await alice.inbox.until((ms) => ms.some(toAll), 'the message for everyone at alice');
    await bobC.inbox.until((ms) => ms.some(toAll), 'the message for everyone at bob');
    t.pass('both clients get the message for everyone');
    t.notOk(alice.inbox.messages.some((m) => m.kind === 'mpnews'), 'alice, outside the department, did not get the mpnews');
    await cp.shot('app-send-all');

    const log = await s.admin.queryLog();
    t.equal(log.entries.filter((e) => e.action === 'app.send').length, 3, 'each send is in the action log');
    t.same(cp.errors, [], 'no script errors');
  });
}
