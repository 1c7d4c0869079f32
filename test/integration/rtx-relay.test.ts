import t, { type Test } from 'tap';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import type { OrgSnapshot } from '../../gateway/src/rtx/types.js';
import { startGateway, tempDir, TEST_PASSWORD, type TestGateway } from '../helpers/gateway.js';
import { nextEvent, online } from '../helpers/clients.js';
import { lastRunId, nextFinishedRun, ScriptedAdapter, waitFor } from '../helpers/rtx.js';

const ORG: OrgSnapshot = {
  depts: [{ id: '1', parentId: null, name: '总公司', order: 0 }],
  users: ['zhangsan', 'lisi', 'wangwu', '钱七'].map((account, i) => ({
    account, name: ['张三', '李四', '王五', '钱七'][i] as string, gender: 'male' as const, mobile: '', email: '', phone: '', title: '', disabled: false, deptIds: ['1'],
  })),
  groups: [{ id: '{G-1}', name: '项目组𠀀', members: ['zhangsan', 'lisi', 'wangwu'] }],
};

/** A gateway with the small RTX org synced, a local mobile user, and wangwu (RTX) able to log in on a phone. */
async function setup(t: Test, dataDir?: string): Promise<{ g: TestGateway; adapter: ScriptedAdapter }> {
  const g = await startGateway(t, dataDir ? { dataDir } : {});
  const adapter = await ScriptedAdapter.connect(t, g);
  if (!dataDir) {
    await g.addUser('mobile1', { name: '手机用户' });
    const before = lastRunId(g);
    await adapter.sendSnapshot(ORG);
    const run = await nextFinishedRun(g, before);
    t.equal(run.state, 'applied', run.error ?? '');
    const wangwu = await g.gw.services.directory.getUserByAccount('wangwu');
    await g.gw.services.auth.setPassword(wangwu?.id as UserId, TEST_PASSWORD);
    await g.gw.services.directory.setAuthorised(wangwu?.id as UserId, true);
  }
  return { g, adapter };
}

const idOf = async (g: TestGateway, account: string) => (await g.gw.services.directory.getUserByAccount(account))?.id as UserId;

t.test('mobile → RTX: 1:1 and group messages become gw.im.send; RTX → mobile once; failures and presence', async (t) => {
  const { g, adapter } = await setup(t);
  const zhangsan = await idOf(g, 'zhangsan');
  const group = await g.gw.services.directory.groupByExternalId('{G-1}');
  const mobile = await online(t, g, 'mobile1');
  const wangwu = await online(t, g, 'wangwu');

  // 1:1 to an RTX user
  const ack = await mobile.client.sendText({ kind: 'user', id: zhangsan }, '你好，张三 㑇');
  const im = await adapter.next('gw.im.send', (b) => b.ref === `m${ack.id}`);
  t.match(im, { ref: `m${ack.id}`, sender: 'mobile1', receivers: ['zhangsan'], text: '你好，张三 㑇' });
  t.type(im.sentAtMs, 'number');
  t.notOk('sessionKey' in im, 'no RTX conversation known yet');

  // a link: readable text
  const link = await mobile.client.send({ kind: 'user', id: zhangsan }, 'link', { url: 'https://example.cn/a', title: '文档' });
  t.match(await adapter.next('gw.im.send', (b) => b.ref === `m${link.id}`), { text: '[链接] 文档 https://example.cn/a' });

  // in the RTX group, from wangwu on his phone: the other RTX members get it
  const gack = await wangwu.client.sendText({ kind: 'group', id: group?.id as never }, '大家好');
  t.match(await adapter.next('gw.im.send', (b) => b.ref === `m${gack.id}`), { sender: 'wangwu', receivers: ['zhangsan', 'lisi'], group: { id: '{G-1}', name: '项目组𠀀' }, text: '大家好' });

  // RTX → mobile: captured once, even when the adapter sends the payload again
  const captured = { imMessageId: '{IM-0001}', kind: 'single', sender: 'zhangsan', receivers: ['wangwu'], sessionKey: '{S-ZW}', text: '来自 RTX 的消息', timeMs: Date.now(), via: 'com' };
  await adapter.send('rtx.im.captured', captured);
  await adapter.send('rtx.im.captured', captured);
  const got = await wangwu.inbox.until((ms) => ms.some((m) => m.origin === 'rtx' && (m.body as { text?: string }).text === '来自 RTX 的消息'), 'the captured message');
  const capturedMsg = got.find((m) => m.origin === 'rtx') as (typeof got)[number];
  t.match(capturedMsg, { from: zhangsan, to: { kind: 'user', id: await idOf(g, 'wangwu') }, kind: 'text', origin: 'rtx' });
  // a later message proves the repeated payload was processed (in order) without a second copy
  await adapter.send('rtx.im.captured', { ...captured, imMessageId: '{IM-0002}', text: '第二条' });
  await wangwu.inbox.until((ms) => ms.some((m) => (m.body as { text?: string }).text === '第二条'), 'the second captured message');
  t.equal(wangwu.inbox.messages.filter((m) => (m.body as { text?: string }).text === '来自 RTX 的消息').length, 1, 'delivered once');
  // the reply goes into the same RTX conversation; captured messages are never sent back to RTX
  const reply = await wangwu.client.sendText({ kind: 'user', id: zhangsan }, '收到');
  t.match(await adapter.next('gw.im.send', (b) => b.ref === `m${reply.id}`), { sender: 'wangwu', receivers: ['zhangsan'], sessionKey: '{S-ZW}' });
  t.notOk(adapter.received.some((p) => p.type === 'gw.im.send' && String(p.body.text).includes('RTX 的消息')), 'no echo back to RTX');

  // a captured group message lands in the RTX-origin group
  await adapter.send('rtx.im.captured', { imMessageId: 'im-g-1', kind: 'group', sender: 'lisi', receivers: ['zhangsan', 'wangwu'], sessionKey: '{S-G}', group: { id: '{G-1}', name: '项目组𠀀' }, text: '群里说话', timeMs: Date.now(), via: 'com' });
  await wangwu.inbox.until((ms) => ms.some((m) => m.to.kind === 'group' && (m.body as { text?: string }).text === '群里说话'), 'the captured group message');

  // unknown sender: skipped, a sync is requested, the stream goes on
  const mark = adapter.received.length;
  await adapter.send('rtx.im.captured', { ...captured, imMessageId: 'im-x', sender: 'nobody', text: '谁' });
  t.match(await adapter.next('gw.sync.request', () => true, mark), { reason: /unknown sender nobody/ });
  t.equal(g.gw.rtx.counters.unknownAccounts, 1);

  // delivery failure of an RTX user's message: the sender sees a notice from the system app
  await adapter.send('rtx.delivery', { ref: `m${gack.id}`, ok: false, error: { code: 'RTX_UNKNOWN_USER', message: 'no such user' } });
  const notice = await wangwu.inbox.until((ms) => ms.some((m) => m.fromApp?.id === 'system'), 'the failure notice');
  const n = notice.find((m) => m.fromApp?.id === 'system') as (typeof notice)[number];
  t.match((n.body as { text: string }).text, /项目组.*大家好.*没有送达 RTX.*RTX_UNKNOWN_USER/);

  // mobile1 has no RTX account, so RTX cannot take the IM as from them: a notification instead
  const mark0 = adapter.received.length;
  await adapter.send('rtx.delivery', { ref: `m${ack.id}`, ok: false, error: { code: 'RTX_UNKNOWN_USER', message: 'no such sender' } });
  t.match(await adapter.next('gw.notify.send', (b) => b.ref === `n${ack.id}`, mark0), { receivers: ['zhangsan'], title: 'mobile1 的消息', text: '你好，张三 㑇' });
  await adapter.send('rtx.delivery', { ref: `n${ack.id}`, ok: true });
  t.notOk(mobile.inbox.messages.some((m) => m.fromApp?.id === 'system'), 'delivered as a notification: no failure notice');
  // refused as IM: a SendNotify instead; when that fails too, a notice
  const mark2 = adapter.received.length;
  await adapter.send('rtx.delivery', { ref: `m${link.id}`, ok: false, error: { code: 'RTX_REFUSED', message: 'IM refused' } });
  t.match(await adapter.next('gw.notify.send', () => true, mark2), { ref: `n${link.id}`, receivers: ['zhangsan'], text: '[链接] 文档 https://example.cn/a' });
  await adapter.send('rtx.delivery', { ref: `m${link.id}`, ok: false, error: { code: 'RTX_REFUSED', message: 'IM refused' } });
  await adapter.send('rtx.delivery', { ref: `n${link.id}`, ok: false, error: { code: 'RTX_UNREACHABLE', message: 'down' } });
  await mobile.inbox.until((ms) => ms.filter((m) => m.fromApp?.id === 'system').length === 1, 'the notice after the SendNotify failed too');
  t.equal(adapter.received.filter((p) => p.type === 'gw.notify.send' && p.body.ref === `n${link.id}`).length, 1, 'one SendNotify per message');

  // presence of RTX users
  const watched = await mobile.client.subscribePresence([zhangsan]);
  t.match(watched, [{ userId: zhangsan, status: 'offline' }]);
  const away = nextEvent(mobile.client, 'presence', (p) => p.presence.some((e) => e.userId === zhangsan && e.status === 'away'));
  await adapter.send('rtx.presence', { full: true, items: [{ account: 'zhangsan', state: 'away' }, { account: 'lisi', state: 'online' }] });
  t.match((await away).presence.find((e) => e.userId === zhangsan), { status: 'away', clients: ['rtx'] });
  t.match(await mobile.client.subscribePresence([zhangsan]), [{ userId: zhangsan, status: 'away', clients: ['rtx'] }]);
  const gone = nextEvent(mobile.client, 'presence', (p) => p.presence.some((e) => e.userId === zhangsan && e.status === 'offline'));
  await adapter.channel.stop();
  t.match((await gone).presence.find((e) => e.userId === zhangsan), { status: 'offline', clients: [] }, 'cleared when the adapter disconnects');
});

t.test('a gateway restart between storing and relaying relays exactly once', async (t) => {
  const dataDir = tempDir(t);
  const adapterDir = tempDir(t);
  const first = await startGateway(t, { dataDir });
  let adapter = await ScriptedAdapter.connect(t, first, { dataDir: adapterDir });
  await first.addUser('mobile1');
  await adapter.sendSnapshot(ORG);
  await nextFinishedRun(first, 0);
  const zhangsan = await idOf(first, 'zhangsan');
  const mobile = await online(t, first, 'mobile1');
  const a1 = await mobile.client.sendText({ kind: 'user', id: zhangsan }, 'before');
  await adapter.next('gw.im.send', (b) => b.ref === `m${a1.id}`);
  // stored, not yet relayed: the relay is stopped when the gateway goes down
  first.gw.rtx.relay.stop();
  const a2 = await mobile.client.sendText({ kind: 'user', id: zhangsan }, 'stored while the relay was down');
  await mobile.client.close();
  await adapter.channel.stop();
  await first.gw.stop();

  const second = await startGateway(t, { dataDir });
  adapter = await ScriptedAdapter.connect(t, second, { dataDir: adapterDir });
  await adapter.next('gw.im.send', (b) => b.ref === `m${a2.id}`);
  const a3 = await (await online(t, second, 'mobile1')).client.sendText({ kind: 'user', id: zhangsan }, 'after');
  await adapter.next('gw.im.send', (b) => b.ref === `m${a3.id}`);
  const refs = adapter.received.filter((p) => p.type === 'gw.im.send').map((p) => p.body.ref);
  t.same(refs, [`m${a2.id}`, `m${a3.id}`], 'the stored message once, nothing relayed twice');
  await waitFor(() => second.gw.plugin.status().outbound.backlog === 0, 'the outbox to drain');
});
