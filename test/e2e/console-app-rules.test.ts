import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import t from 'tap';
import { hashPassword } from '../../gateway/src/auth/password.js';
import type { CallbackClock } from '../../gateway/src/apps/callback-queue.js';
import type { DeliveryView } from '../../gateway/src/apps/callbacks-types.js';
import type { OpenApp } from '../../gateway/src/apps/types.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import type { MessageView } from '../../gateway/src/protocol/client-v1.js';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage, ROOT_ADMIN, type ConsolePage } from '../helpers/browser.js';
import { online, within, WAIT_MS, type Teardown } from '../helpers/clients.js';
import { startGateway, TEST_PASSWORD, tempDir, testConfig, type TestGateway } from '../helpers/gateway.js';
import { SpecCipher, specSignature } from '../helpers/youdu-client.js';

/*
 * The app detail's auto-reply, menu and callback tabs (F-4.6–F-4.8) in
 * Chromium, each checked by a real client and, for callbacks, by a local
 * receiver that verifies the spec's signature and decrypts with the spec
 * client's own crypto: keyword rules answer a person within 1 s and by
 * priority; a catastrophic regular expression is refused with the server's
 * reason; a menu of 2 items (one with 3 sub-items) reaches the client and a
 * click gets its configured reply; a failed delivery, its retry and a replay
 * show in the delivery log; a metadata URL is refused on save.
 */

const fromApp = (key: string, after: number) => (m: MessageView) => m.fromApp?.id === key && m.id > after;

/** Opens an app's detail on the Apps page and one of its tabs. */
async function openTab(cp: ConsolePage, gw: TestGateway, app: OpenApp, tab: string): Promise<void> {
  const { page } = cp;
  await loginInBrowser(cp, gw, ROOT_ADMIN, '/apps');
  await page.locator(`#apps-table tr[data-app-id="${app.rowId}"]`).click();
  await page.locator('#app-detail').waitFor();
  await page.locator('#app-tabs').getByRole('tab', { name: tab }).click();
}

/** Chooses an option of an Ant Design select by its label, and waits until the select shows it. */
async function choose(page: Page, inputId: string, label: string): Promise<void> {
  const select = page.locator('.ant-select', { has: page.locator(`#${inputId}`) });
  await select.click();
  await page.locator(`.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option[title="${label}"]`).click();
  await select.locator('.ant-select-selection-item', { hasText: label }).waitFor();
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').waitFor({ state: 'hidden' });
}

/** A button by its label: Ant Design spaces out a two-character Chinese label ("保 存"). */
const button = (scope: Locator | Page, label: string) => scope.locator('button', { hasText: new RegExp(`^\\s*${[...label].join('\\s?')}\\s*$`) });

/** The open rule dialog of the auto-reply tab, once it has zoomed in. */
async function ruleDialog(page: Page): Promise<Locator> {
  const dialog = page.locator('.ant-modal', { has: page.locator('#auto_reply_rule_match') });
  await dialog.waitFor();
  await page.locator('.ant-modal[class*="zoom"]').first().waitFor({ state: 'detached' });
  return dialog;
}

interface RuleInput {
  match: '完全匹配' | '包含关键词' | '正则表达式' | '默认回复';
  pattern?: string;
  priority?: number;
  text: string;
}

async function fillRule(page: Page, r: RuleInput): Promise<Locator> {
  const dialog = await ruleDialog(page);
  await choose(page, 'auto_reply_rule_match', r.match);
  if (r.pattern !== undefined) await page.locator('#auto_reply_rule_pattern').fill(r.pattern);
  if (r.priority !== undefined) await page.locator('#auto_reply_rule_priority').fill(String(r.priority));
  await page.locator('#auto_reply_rule_text').fill(r.text);
  await button(dialog, '保存').click();
  return dialog;
}

/** Adds a rule through the dialog and waits until the table lists it. */
async function addRule(page: Page, r: RuleInput): Promise<void> {
  await page.locator('[data-testid="auto-reply-add"]').click();
  const dialog = await fillRule(page, r);
  await dialog.waitFor({ state: 'hidden' });
  await page.locator('[data-testid="auto-reply-tab"] .ant-table-row', { hasText: r.text }).waitFor();
}

const TOKEN = 'cb-token-e2e';

/**
 * The callback queue's clock: real time, except that a retry's wait is held
 * until the test releases it (then the clock jumps by that wait), so the
 * pending state can be seen and no test waits out the 10 s backoff.
 */
class HeldClock implements CallbackClock {
  private offset = 0;
  private readonly held = new Set<{ ms: number; resolve(): void }>();
  private readonly parked = new EventEmitter();

  now(): number {
    return Date.now() + this.offset;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const entry = { ms, resolve };
      signal.addEventListener('abort', () => {
        this.held.delete(entry);
        reject(signal.reason as Error);
      }, { once: true });
      this.held.add(entry);
      this.parked.emit('wait');
    });
  }

  /** Lets the queue's pending finite wait end now (waits until there is one). */
  async release(): Promise<void> {
    const finite = () => [...this.held].find((e) => Number.isFinite(e.ms));
    if (!finite()) {
      await within(new Promise<void>((resolve) => {
        const on = () => {
          if (!finite()) return;
          this.parked.off('wait', on);
          resolve();
        };
        this.parked.on('wait', on);
      }), WAIT_MS, 'the queue to wait for the retry');
    }
    const e = finite() as { ms: number; resolve(): void };
    this.held.delete(e);
    this.offset += e.ms;
    e.resolve();
  }
}

/** A real gateway whose callback queue runs on `clock`. */
async function gatewayWithClock(t: Teardown, clock: CallbackClock): Promise<TestGateway> {
  const dataDir = tempDir(t);
  const gw = await buildGateway(testConfig(dataDir), { log: createLogger('silent'), adminSocket: false, callbacks: { clock } });
  await gw.start();
  t.teardown(() => gw.stop());
  const p = gw.ports();
  return {
    gw, dataDir,
    wss: `wss://127.0.0.1:${p.https}/ws`, tcp: `tls://127.0.0.1:${p.tcp}`, http: `http://127.0.0.1:${p.http}`, https: `https://127.0.0.1:${p.https}`,
    ca: readFileSync(path.join(dataDir, 'tls', 'self-signed.crt'), 'utf8'),
    async addUser(account, o = {}) {
      return gw.services.directory.createUser({ account, name: o.name ?? account, passwordHash: await hashPassword(o.password ?? TEST_PASSWORD), authorised: o.authorised ?? true });
    },
  };
}

/** Resolves with the delivery once `check` holds for it (waits on the queue's change events). */
function deliveryWhen(gw: TestGateway, check: (d: DeliveryView) => boolean, what: string): Promise<DeliveryView> {
  return within(new Promise<DeliveryView>((resolve) => {
    const off = gw.gw.services.appCallbacks.onChange((d) => {
      if (check(d)) {
        off();
        resolve(d);
      }
    });
  }), WAIT_MS, what);
}

interface Received {
  signatureOk: boolean;
  payload: Record<string, unknown> & { packageId: string };
}

/** An app's server on 127.0.0.1: verifies the signature, decrypts, answers from a script (then the packageId). */
class Receiver extends EventEmitter {
  readonly got: Received[] = [];
  script: (500 | 'ack')[] = [];
  server!: http.Server;
  port = 0;

  constructor(private readonly token: string, private readonly cipher: SpecCipher) {
    super();
  }

  async listen(t: Teardown): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { encrypt?: unknown };
        const signatureOk = specSignature(this.token, q.get('timestamp') ?? '', q.get('nonce') ?? '', String(body.encrypt)) === q.get('msg_signature');
        const payload = JSON.parse(this.cipher.decrypt(String(body.encrypt)).toString('utf8')) as Received['payload'];
        this.got.push({ signatureOk, payload });
        const answer = this.script.shift() ?? 'ack';
        if (!signatureOk) res.writeHead(403).end('bad signature');
        else if (answer === 500) res.writeHead(500).end('boom');
        else res.end(payload.packageId);
        this.emit('request');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    t.teardown(() => {
      this.server.closeAllConnections();
      return new Promise<void>((r) => this.server.close(() => r()));
    });
    return this;
  }

  /** Waits until `n` callbacks arrived in all. */
  until(n: number): Promise<Received[]> {
    if (this.got.length >= n) return Promise.resolve(this.got);
    return within(new Promise<Received[]>((resolve) => {
      const on = () => {
        if (this.got.length < n) return;
        this.off('request', on);
        resolve(this.got);
      };
      this.on('request', on);
    }), WAIT_MS, `${n} callback(s) at the receiver (have ${this.got.length})`);
  }
}

if (browserReady(t)) {
  let browser: Browser | null = null;
  const theBrowser = async () => (browser ??= await launch(t));

  t.test('auto-reply: rules added in the console answer a real client within 1 s, by priority; an evil expression is refused', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const app = await gw.gw.services.apps.create({ name: '人事助手' });
    await gw.addUser('lily', { name: '莉莉' });
    const { client, inbox } = await online(t, gw, 'lily');

    const cp = await newConsolePage(await theBrowser());
    const { page } = cp;
    await openTab(cp, gw, app, '自动回复');
    await page.locator('[data-testid="auto-reply-tab"]').getByText('暂无规则', { exact: false }).waitFor();

    await addRule(page, { match: '包含关键词', pattern: '请假', priority: 10, text: '请假请走 OA：https://oa.example.com/leave' });
    await addRule(page, { match: '正则表达式', pattern: '^报销\\d+元$', priority: 5, text: '报销单已收到' });
    await addRule(page, { match: '默认回复', text: '您好，回复「请假」或「报销100元」' });

    // a catastrophic expression: the server's reason is shown in the dialog, nothing is stored
    await page.locator('[data-testid="auto-reply-add"]').click();
    const dialog = await fillRule(page, { match: '正则表达式', pattern: '(a+)+$', text: '不会保存' });
    const refusal = page.locator('[data-testid="auto-reply-form-error"]');
    await refusal.waitFor();
    t.match(await refusal.innerText(), /nested quantifiers/, 'the server’s reason is shown');
    await cp.shot('app-rules-evil-regex');
    t.equal(gw.gw.services.appRules.list(app.rowId).length, 3, 'the evil rule was not stored');
    await button(dialog, '取消').click();
    await dialog.waitFor({ state: 'hidden' });
    t.equal(await page.locator('[data-testid="auto-reply-error"]').count(), 0, 'cancelled, the dialog’s refusal is not left on the list');
    await cp.shot('app-rules-list');

    const ask = async (text: string) => {
      const started = performance.now();
      const ack = await client.sendText({ kind: 'app', id: app.key }, text);
      const got = await inbox.until((ms) => ms.some(fromApp(app.key, ack.id)), `the reply to ${text}`);
      return { reply: got.find(fromApp(app.key, ack.id)) as MessageView, ms: performance.now() - started };
    };
    const leave = await ask('请假');
    t.ok(leave.ms < 1000, `the reply came within 1 s (${Math.round(leave.ms)} ms)`);
    t.match(leave.reply, { kind: 'text', body: { text: '请假请走 OA：https://oa.example.com/leave' }, fromApp: { id: app.key, name: '人事助手' } }, '“请假” gets the contains rule’s reply');
    t.match((await ask('报销100元')).reply, { body: { text: '报销单已收到' } }, 'the regular expression answers');
    t.match((await ask('你好')).reply, { body: { text: '您好，回复「请假」或「报销100元」' } }, 'the default reply when nothing matches');

    // two rules match "请假": the higher priority answers; raised in the console, the other one does
    await addRule(page, { match: '完全匹配', pattern: '请假', priority: 1, text: '精确：请假单模板已发送' });
    t.match((await ask('请假')).reply, { body: { text: '请假请走 OA：https://oa.example.com/leave' } }, 'the contains rule (10) beats the exact one (1)');
    const exactRow = page.locator('[data-testid="auto-reply-tab"] .ant-table-row', { hasText: '精确：请假单模板已发送' });
    await button(exactRow, '编辑').click();
    const edit = await ruleDialog(page);
    t.equal(await page.locator('#auto_reply_rule_pattern').inputValue(), '请假', 'the dialog shows the rule');
    await page.locator('#auto_reply_rule_priority').fill('20');
    await button(edit, '保存').click();
    await edit.waitFor({ state: 'hidden' });
    const firstRow = page.locator('[data-testid="auto-reply-tab"] .ant-table-row').first();
    await firstRow.filter({ hasText: '精确：请假单模板已发送' }).waitFor();
    t.match(await firstRow.innerText(), /20/, 'listed first, with priority 20');
    await cp.shot('app-rules-reordered');
    const after = await ask('请假');
    t.match(after.reply, { body: { text: '精确：请假单模板已发送' } }, 'now the exact rule answers');
    t.ok(after.ms < 1000, `within 1 s (${Math.round(after.ms)} ms)`);
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('menu: 2 items, one with 3 sub-items; no 4th item; the client gets it and a click gets the configured reply', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const app = await gw.gw.services.apps.create({ name: '食堂' });
    await gw.addUser('nina', { name: '妮娜' });
    const { client, inbox } = await online(t, gw, 'nina');

    const cp = await newConsolePage(await theBrowser());
    const { page } = cp;
    await openTab(cp, gw, app, '自定义菜单');
    const tab = page.locator('[data-testid="menu-tab"]');
    await tab.getByText('暂无菜单').waitFor();
    const add = page.locator('[data-testid="menu-add"]');

    await add.click();
    await page.locator('#app_menu_items_0_name').fill('今日菜单');
    await page.locator('#app_menu_items_0_key').fill('today');
    await page.locator('#app_menu_items_0_replyText').fill('今天：红烧肉、清炒时蔬');

    await add.click();
    await page.locator('#app_menu_items_1_name').fill('更多');
    await choose(page, 'app_menu_items_1_type', '子菜单');
    const addSub = button(tab, '添加子菜单');
    await addSub.click();
    await page.locator('#app_menu_items_1_sub_0_name').fill('意见反馈');
    await page.locator('#app_menu_items_1_sub_0_key').fill('feedback');
    await page.locator('#app_menu_items_1_sub_0_replyText').fill('感谢反馈，我们会尽快处理');
    await addSub.click();
    await page.locator('#app_menu_items_1_sub_1_name').fill('订餐');
    await choose(page, 'app_menu_items_1_sub_1_type', '打开网页');
    await page.locator('#app_menu_items_1_sub_1_url').fill('https://canteen.example.com/order');
    await addSub.click();
    await page.locator('#app_menu_items_1_sub_2_name').fill('值班表');
    await page.locator('#app_menu_items_1_sub_2_key').fill('duty');

    await page.locator('[data-testid="menu-save"]').click();
    await page.locator('.ant-message').getByText('已保存').waitFor();
    t.equal(gw.gw.services.appMenus.get(app.rowId).version, 1, 'saved on the server');
    const outer = await tab.locator('.ant-card', { hasText: '菜单 2' }).first().boundingBox();
    const inner = await tab.locator('.ant-card-type-inner').first().boundingBox();
    t.ok(outer && inner && inner.x + inner.width <= outer.x + outer.width + 0.5, 'the sub-items sit inside their item’s card');
    await cp.shot('app-menu-saved');

    // a third item is the last one: a fourth cannot be added
    await add.click();
    await page.locator('#app_menu_items_2_name').waitFor();
    t.ok(await add.isDisabled(), 'the add button is disabled at 3 items');
    await cp.shot('app-menu-full');
    await tab.locator('.ant-card', { hasText: '菜单 3' }).locator('.ant-card-head').getByRole('button').click();
    await page.locator('#app_menu_items_2_name').waitFor({ state: 'detached' });
    t.notOk(await add.isDisabled(), 'removing it enables the button again');

    const menu = await client.appMenu(app.key);
    t.equal(menu.version, 1);
    t.same(menu.items, [
      { name: '今日菜单', type: 'click', key: 'today' },
      { name: '更多', type: 'parent', sub: [
        { name: '意见反馈', type: 'click', key: 'feedback' },
        { name: '订餐', type: 'view', url: 'https://canteen.example.com/order' },
        { name: '值班表', type: 'click', key: 'duty' },
      ] },
    ], 'the client gets the menu as built (keys and URLs, not the replies)');

    const click = async (key: string) => {
      const last = inbox.messages.at(-1)?.id ?? 0;
      const started = performance.now();
      await client.clickAppMenu(app.key, key);
      const got = await inbox.until((ms) => ms.some(fromApp(app.key, last)), `the reply to the ${key} click`, WAIT_MS);
      return { reply: got.find(fromApp(app.key, last)) as MessageView, ms: performance.now() - started };
    };
    const today = await click('today');
    t.match(today.reply, { kind: 'text', body: { text: '今天：红烧肉、清炒时蔬' } }, 'a click gets the configured reply');
    t.ok(today.ms < 1000, `within 1 s (${Math.round(today.ms)} ms)`);
    t.match((await click('feedback')).reply, { body: { text: '感谢反馈，我们会尽快处理' } }, 'a sub-item click too');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('callback: a metadata URL is refused; a failed delivery then its retry and a replay show in the delivery log', async (t) => {
    const clock = new HeldClock();
    const gw = await gatewayWithClock(t, clock);
    await ensureRootAdmin(gw);
    const s = gw.gw.services;
    const app = await s.apps.create({ name: '请假审批' });
    const rx = await new Receiver(TOKEN, new SpecCipher(app.encodingAesKey as string, app.appId as string)).listen(t);
    rx.script = [500];
    await gw.addUser('alice', { name: '爱丽丝' });
    const { client } = await online(t, gw, 'alice');

    const cp = await newConsolePage(await theBrowser());
    const { page } = cp;
    await openTab(cp, gw, app, '回调');
    const tab = page.locator('[data-testid="callback-tab"]');
    await tab.getByText('回调未就绪', { exact: false }).waitFor();

    // the cloud metadata address: refused on save, with the server's reason
    await page.locator('#app_callback_url').fill('http://169.254.169.254/latest/meta-data/');
    await page.locator('#app_callback_token').fill(TOKEN);
    await page.locator('[data-testid="callback-save"]').click();
    const error = page.locator('[data-testid="callback-error"]');
    await error.waitFor();
    t.match(await error.innerText(), /refused/, 'the refusal is shown');
    await cp.shot('app-callback-refused');
    t.equal(s.apps.get(app.rowId)?.callbackUrl, null, 'nothing was saved');

    await page.locator('#app_callback_url').fill(`http://127.0.0.1:${rx.port}/youdu/cb`);
    await page.locator('[data-testid="callback-save"]').click();
    await tab.getByText('回调已就绪').waitFor();
    await error.waitFor({ state: 'detached' });
    t.equal(s.apps.get(app.rowId)?.callbackUrl, `http://127.0.0.1:${rx.port}/youdu/cb`, 'saved');

    // a message from alice: the first attempt gets HTTP 500
    const failed = deliveryWhen(gw, (d) => d.attempts === 1 && d.state === 'pending', 'the failed first attempt');
    await client.sendText({ kind: 'app', id: app.key }, '我想请三天假');
    const [first] = await rx.until(1);
    t.ok(first?.signatureOk, 'the receiver verified the signature');
    t.match(first?.payload, { fromUser: 'alice', msgType: 'text', text: { content: '我想请三天假' } }, 'and decrypted the message');
    const d = await failed;
    await button(tab, '刷新').click();
    const row = tab.locator(`.ant-table-row[data-row-key="${d.id}"]`);
    await row.getByText('等待重试').waitFor();
    t.match(await row.innerText(), /alice[\s\S]*\b1\b[\s\S]*500/, 'the row shows one attempt and the HTTP 500');
    await cp.shot('app-callback-pending');

    // the retry is due: it is acknowledged, and the row turns delivered by itself
    await clock.release();
    await rx.until(2);
    t.equal(rx.got[1]?.payload.packageId, first?.payload.packageId, 'the retry carries the same packageId');
    await row.getByText('已确认').waitFor();
    t.match(await row.innerText(), /已确认[\s\S]*\b2\b/, 'delivered after 2 attempts');
    await row.locator('.ant-table-row-expand-icon').click();
    const attempts = page.locator('.ant-table-expanded-row').filter({ hasText: '每次尝试' });
    await attempts.getByText('acked').waitFor();
    t.match(await attempts.innerText(), /500[\s\S]*acked/, 'the attempts: the HTTP 500, then the acknowledgement');
    await cp.shot('app-callback-delivered');

    // replay from the console: the receiver gets the same packageId again
    await button(row, '重新推送').click();
    await page.locator('.ant-message').getByText('已加入推送队列').waitFor();
    const [, , again] = await rx.until(3);
    t.equal(again?.payload.packageId, first?.payload.packageId, 'the replay carries the same packageId');
    t.ok(again?.signatureOk, 'signed');
    const replayRow = tab.locator('.ant-table-row', { hasText: `重推自 #${d.id}` });
    await replayRow.getByText('已确认').waitFor();
    await cp.shot('app-callback-replayed');
    t.same(cp.errors, [], 'no script errors');
  });
}
