import t, { type Test } from 'tap';
import { CSRF_HEADER } from '../../gateway/src/admin/http.js';
import type { DeptId, MessageView } from '../../gateway/src/protocol/client-v1.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { httpsRequest, issueToken, online, type Inbox } from '../helpers/clients.js';
import { postForm, uploadFields, YouduClient } from '../helpers/youdu-client.js';

/**
 * /cgi/msg/send (issue 6, docs/open-api.md "msg/send"): every message type
 * reaches real clients' inboxes from the app's conversation; the recipient
 * quirks of spec §4.1 (`|` and `,`, "" as absent, toDept with
 * subdepartments and 0, AC's toAll beside toUser); invalid people listed in
 * errmsg; the app's visibility; the system assistants (sysMsg, mail, sms);
 * and each malformed input's errcode.
 */

interface World {
  gw: TestGateway;
  app: YouduClient;
  appKey: string;
  depts: { hq: DeptId; rd: DeptId; rdWeb: DeptId; sales: DeptId };
  inbox: Record<'alice' | 'bob' | 'carol' | 'dave', Inbox>;
}

async function world(t: Test): Promise<World> {
  const gw = await startGateway(t);
  const dir = gw.gw.services.directory;
  const hq = (await dir.createDept(null, '总部')).id;
  const rd = (await dir.createDept(hq, '研发')).id;
  const rdWeb = (await dir.createDept(rd, '前端组')).id;
  const sales = (await dir.createDept(hq, '销售')).id;
  const place = async (account: string, deptIds: DeptId[], email = '') => {
    const u = await gw.addUser(account);
    await dir.editUser(u.id, { deptIds, ...(email ? { email } : {}) });
    return u;
  };
  await place('alice', [rd], 'alice@example.com');
  await place('bob', [sales]);
  await place('carol', [rdWeb]);
  await place('dave', [sales], 'Dave@Example.com');
  const created = await gw.gw.services.apps.create({ name: '考勤' });
  const app = new YouduClient(gw.http, created.buin as number, created.appId as string, created.encodingAesKey as string);
  const inbox = {
    alice: (await online(t, gw, 'alice')).inbox,
    bob: (await online(t, gw, 'bob')).inbox,
    carol: (await online(t, gw, 'carol')).inbox,
    dave: (await online(t, gw, 'dave')).inbox,
  };
  return { gw, app, appKey: created.key, depts: { hq, rd, rdWeb, sales }, inbox };
}

const fromApp = (key: string) => (m: MessageView) => m.to.kind === 'app' && m.to.id === key;
/** Waits until the inbox has `n` messages from the app and returns the last. */
async function nth(inbox: Inbox, key: string, n: number): Promise<MessageView> {
  const ms = await inbox.until((ms) => ms.filter(fromApp(key)).length >= n, `${n} message(s) from ${key}`);
  return ms.filter(fromApp(key))[n - 1] as MessageView;
}

/** A marker message to everyone, so a test can show who did NOT get an earlier one. */
async function fence(w: World, n: number): Promise<void> {
  const r = await w.app.post('/cgi/msg/send', { toDept: '0', msgType: 'text', text: { content: `fence ${n}` } });
  if (r.json.errcode !== 0) throw new Error(`fence: ${String(r.json.errmsg)}`);
  for (const i of Object.values(w.inbox)) await i.until((ms) => ms.some((m) => fromApp(w.appKey)(m) && (m.body as { text?: string }).text === `fence ${n}`), `fence ${n}`);
}

const texts = (inbox: Inbox, key: string) => inbox.messages.filter(fromApp(key)).map((m) => (m.body as { text?: string }).text);

t.test('text: to people by account, "|" and "," separators, "" as absent, AC’s toAll beside toUser is no broadcast; long content is cut to 600', async (t) => {
  const w = await world(t);
  const r = await w.app.post('/cgi/msg/send', { toUser: 'alice|bob', toDept: '', msgType: 'text', text: { content: '今天 18:00 前打卡' } });
  t.same({ errcode: r.json.errcode, errmsg: r.json.errmsg }, { errcode: 0, errmsg: 'ok' }, 'status ok');
  for (const who of ['alice', 'bob'] as const) {
    const m = await nth(w.inbox[who], w.appKey, 1);
    t.equal(m.kind, 'text');
    t.same(m.body, { text: '今天 18:00 前打卡' }, `${who} got it`);
    t.same(m.fromApp, { id: w.appKey, name: '考勤' }, 'from the app');
    t.equal(m.origin, 'openapi');
  }
  const long = '字'.repeat(700);
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'carol,dave', msgType: 'text', text: { content: long }, toAll: { onliyOnline: false } })).json.errcode, 0);
  const m = await nth(w.inbox.carol, w.appKey, 1);
  t.equal((m.body as { text: string }).text, '字'.repeat(600), 'cut to 600 characters');
  await nth(w.inbox.dave, w.appKey, 1);
  await fence(w, 1);
  t.same(texts(w.inbox.alice, w.appKey), ['今天 18:00 前打卡', 'fence 1'], 'toAll beside toUser did not broadcast to alice');
});

t.test('recipients: departments with subdepartments, 0 = everyone, toGid; invalid people listed in errmsg; none valid 200007; too many 200001', async (t) => {
  const w = await world(t);
  t.equal((await w.app.post('/cgi/msg/send', { toDept: String(w.depts.rd), msgType: 'text', text: { content: 'rd' } })).json.errcode, 0);
  await nth(w.inbox.alice, w.appKey, 1);
  await nth(w.inbox.carol, w.appKey, 1);
  const partial = await w.app.post('/cgi/msg/send', { toUser: 'bob|nobody|ghost', toDept: `${w.depts.sales}|999999`, msgType: 'text', text: { content: 'partial' } });
  t.equal(partial.json.errcode, 0, 'sent to the valid ones');
  t.match(partial.json.errmsg, /invalid users: nobody\|ghost/, 'errmsg lists the invalid users');
  t.match(partial.json.errmsg, /invalid departments: 999999/, '…and departments');
  const bobs = await nth(w.inbox.bob, w.appKey, 1);
  t.same(bobs.body, { text: 'partial' });
  const dave = await nth(w.inbox.dave, w.appKey, 1);
  t.equal(dave.id, bobs.id, 'one message, bob named twice (toUser and his department) gets it once');
  const carol = (await w.gw.gw.services.directory.getUserByAccount('carol'))!;
  t.equal((await w.app.post('/cgi/msg/send', { toGid: String(carol.id), msgType: 'text', text: { content: 'by gid' } })).json.errcode, 0);
  t.same((await nth(w.inbox.carol, w.appKey, 2)).body, { text: 'by gid' }, 'toGid names people by gid');
  await fence(w, 1);
  t.same(texts(w.inbox.alice, w.appKey), ['rd', 'fence 1'], 'alice got only her department’s message');
  t.equal(w.inbox.bob.count(bobs.id), 1, 'bob got it once');

  const none = await w.app.post('/cgi/msg/send', { toUser: 'nobody', msgType: 'text', text: { content: 'x' } });
  t.equal(none.json.errcode, 200007, 'nobody valid: 200007');
  t.match(none.json.errmsg, /nobody/);
  t.equal((await w.app.post('/cgi/msg/send', { toUser: '', toDept: '', msgType: 'text', text: { content: 'x' } })).json.errcode, 200007, 'both empty: 200007');
  t.equal((await w.app.post('/cgi/msg/send', { msgType: 'text', text: { content: 'x' } })).json.errcode, 200007, 'both absent: 200007');
  const many = Array.from({ length: 1001 }, (_, i) => `u${i}`).join('|');
  t.equal((await w.app.post('/cgi/msg/send', { toUser: many, msgType: 'text', text: { content: 'x' } })).json.errcode, 200001, '1001 people: 200001');
  t.equal((await w.app.post('/cgi/msg/send', { toDept: 'abc', msgType: 'text', text: { content: 'x' } })).json.errcode, 100003, 'toDept not ids: 100003');

  const all = await w.app.post('/cgi/msg/send', { toDept: '0', msgType: 'text', text: { content: 'everyone' } });
  t.equal(all.json.errcode, 0);
  for (const i of Object.values(w.inbox)) await i.until((ms) => ms.some((m) => (m.body as { text?: string }).text === 'everyone'), 'toDept 0');
  t.pass('toDept 0 reached everyone');
});

t.test('image, file, mpnews, link (action 1), exlink: each arrives with its stored files, readable by the recipient', async (t) => {
  const w = await world(t);
  const pic = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const doc = Buffer.from('季度报表\n'.repeat(100));
  const up = async (type: string, name: string, bytes: Buffer) => (w.app.open(await postForm(w.app, '/cgi/media/upload', uploadFields(w.app, { type, name }, bytes))) as { mediaId: string }).mediaId;
  const picId = await up('image', '封面.png', pic);
  const docId = await up('file', '报表.txt', doc);

  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'image', image: { media_id: picId } })).json.errcode, 0);
  const img = await nth(w.inbox.alice, w.appKey, 1);
  t.equal(img.kind, 'image');
  t.match(img.body, { name: '封面.png', size: pic.length, fileId: /^[0-9a-f]{64}$/ });
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'file', file: { media_id: docId } })).json.errcode, 0);
  const file = await nth(w.inbox.alice, w.appKey, 2);
  t.match(file, { kind: 'file', body: { name: '报表.txt', size: doc.length } });
  const alice = (await w.gw.gw.services.directory.getUserByAccount('alice'))!;
  const token = await issueToken(w.gw, alice.id, 'alice-files');
  const got = await httpsRequest(w.gw, 'GET', `/files/${(file.body as { fileId: string }).fileId}`, { token });
  t.equal(got.status, 200, 'the recipient may download the attachment');
  t.ok(got.body.equals(doc), 'the bytes are the uploaded ones');
  const bob = (await w.gw.gw.services.directory.getUserByAccount('bob'))!;
  const refused = await httpsRequest(w.gw, 'GET', `/files/${(file.body as { fileId: string }).fileId}`, { token: await issueToken(w.gw, bob.id, 'bob-files') });
  t.equal(refused.status, 404, 'someone who did not get the message may not');

  const articles = [
    { title: '新版考勤制度', media_id: picId, content: '<p>正文</p>', digest: '摘要', showFront: 1 },
    { title: '附：常见问题', media_id: picId, content: '问答', url: 'https://intranet.example.com/faq' },
  ];
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'mpnews', mpnews: articles })).json.errcode, 0);
  const mp = await nth(w.inbox.alice, w.appKey, 3);
  t.equal(mp.kind, 'mpnews');
  t.match(mp.body, { items: [{ title: '新版考勤制度', content: '<p>正文</p>', digest: '摘要', showFront: true, cover: { name: '封面.png', size: pic.length } }, { title: '附：常见问题', url: 'https://intranet.example.com/faq' }] });
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'mpnews', mpnews: Array(6).fill(articles[0]) })).json.errcode, 100003, 'six articles: 100003');

  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'link', link: { title: '审批', url: 'https://oa.example.com/approve?id=7', action: 1 } })).json.errcode, 0);
  const link = await nth(w.inbox.alice, w.appKey, 4);
  t.same(link.body, { url: 'https://oa.example.com/approve?id=7', title: '审批', sso: true }, 'action 1: the client appends the identity (sso: true)');
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'link', link: { title: 'plain', url: 'https://example.com/', action: 0 } })).json.errcode, 0);
  t.same((await nth(w.inbox.alice, w.appKey, 5)).body, { url: 'https://example.com/', title: 'plain' }, 'action 0: no identity');
  const person = await w.gw.gw.services.messaging.send({ senderId: alice.id, senderAccount: 'alice', cmid: 'p-sso-1', to: { kind: 'user', id: bob.id }, kind: 'link', body: { url: 'https://evil.example.com/', title: 'x', sso: true }, origin: 'client' });
  t.same(person.body, { url: 'https://evil.example.com/', title: 'x' }, 'a person’s link never asks for the reader’s identity');
  t.equal(await w.gw.gw.services.messaging.send({ senderId: alice.id, senderAccount: 'alice', cmid: 'p-mp-1', to: { kind: 'user', id: bob.id }, kind: 'mpnews' as never, body: { items: [{ title: 't', content: '' }] }, origin: 'client' }).then(() => 'sent', (e: { code?: string }) => e.code), 'GW_BAD_REQUEST', 'people cannot send the apps-only kinds');

  const cards = [{ title: '周报', url: 'https://example.com/w', digest: '本周', media_id: picId, link_type: 0, subtitle: 'x', date_hide: true }, { title: '月报', url: 'https://example.com/m' }];
  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'exlink', exlink: cards })).json.errcode, 0);
  const ex = await nth(w.inbox.alice, w.appKey, 6);
  t.same(ex.body, { items: [{ title: '周报', url: 'https://example.com/w', digest: '本周', cover: (img.body as object) }, { title: '月报', url: 'https://example.com/m' }] }, 'exlink: extra Java fields dropped, cover resolved');
});

t.test('system assistants: sysMsg broadcasts (onlyOnline, AC’s packed item), mail notices by address, sms refused with errcode 5; other apps may not send them', async (t) => {
  const w = await world(t);
  const apps = w.gw.gw.services.apps;
  const buin = await apps.defaultBuin();
  const sys = (id: string) => {
    const a = apps.byAppId(buin, id)!;
    return { client: new YouduClient(w.gw.http, buin, id, a.encodingAesKey as string), key: a.key };
  };
  // erin exists but is offline: onlyOnline leaves her out
  await w.gw.addUser('erin');
  const { client: sm, key: smKey } = sys('sysMsgAssistant');
  const r = await sm.post('/cgi/msg/send', {
    toAll: { onliyOnline: true }, msgType: 'sysMsg',
    sysMsg: { title: '停机通知', popDuration: 10, msg: [{ text: { content: '今晚 22:00 停机' }, link: { title: '', url: '' } }, { link: { title: '详情', url: 'https://example.com/notice', action: 0 } }] },
  });
  t.equal(r.json.errcode, 0, String(r.json.errmsg));
  for (const i of Object.values(w.inbox)) {
    const m = await nth(i, smKey, 1);
    t.same(m.body, { title: '停机通知', items: [{ text: '今晚 22:00 停机' }, { link: { title: '详情', url: 'https://example.com/notice' } }], popDurationS: 10 });
  }
  const erin = (await w.gw.gw.services.directory.getUserByAccount('erin'))!;
  t.equal((await w.gw.gw.services.messaging.sync(erin.id, 0, 10)).messages.length, 0, 'onlyOnline: the offline user got nothing');
  t.equal((await sm.post('/cgi/msg/send', { toAll: { onlyOnline: false }, msgType: 'sysMsg', sysMsg: { title: 't', msg: [{ text: { content: 'all' } }] } })).json.errcode, 0);
  t.equal((await w.gw.gw.services.messaging.sync(erin.id, 0, 10)).messages.length, 1, 'onlyOnline false: the offline user has it in her inbox');
  t.equal((await sm.post('/cgi/msg/send', { toUser: 'bob', toAll: { onliyOnline: false }, msgType: 'sysMsg', sysMsg: { title: 't', msg: [{ text: { content: 'only bob' } }] } })).json.errcode, 0);
  await nth(w.inbox.bob, smKey, 3);
  t.equal((await w.gw.gw.services.messaging.sync(erin.id, 0, 10)).messages.length, 1, 'toAll beside toUser: not a broadcast');
  t.equal((await sm.post('/cgi/msg/send', { toUser: 'bob', msgType: 'sysMsg', sysMsg: { title: 't', msg: [] } })).json.errcode, 100003, 'a sysMsg with nothing in it: 100003');

  const { client: mail, key: mailKey } = sys('sysExmailAssistant');
  const mr = await mail.post('/cgi/msg/send', { toEmail: 'dave@example.com|nobody@example.com', msgType: 'mail', mail: { action: 'new', subject: '合同', fromUser: '张三', fromEmail: 'zs@example.com', time: 1700000000, link: 'https://mail.example.com/1', unreadCount: 3 } });
  t.equal(mr.json.errcode, 0);
  t.match(mr.json.errmsg, /nobody@example\.com/, 'an unknown address is listed');
  t.same((await nth(w.inbox.dave, mailKey, 1)).body, { action: 'new', unreadCount: 3, subject: '合同', fromUser: '张三', fromEmail: 'zs@example.com', time: 1700000000, link: 'https://mail.example.com/1' }, 'the mail notice by address (case-insensitive)');
  t.equal((await mail.post('/cgi/msg/send', { toUser: 'alice', msgType: 'mail', mail: { action: 'unread', unreadCount: 0 } })).json.errcode, 0);
  t.same((await nth(w.inbox.alice, mailKey, 1)).body, { action: 'unread', unreadCount: 0 });

  const { client: sms } = sys('sysSmsAssistant');
  const sr = await sms.post('/cgi/msg/send', { toUser: 'alice', msgType: 'sms', sms: { from: 'x', content: '验证码 1234' } });
  t.equal(sr.json.errcode, 5, 'sms: errcode 5');
  t.match(sr.json.errmsg, /no SMS provider/);

  t.equal((await w.app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'sysMsg', sysMsg: { title: 't', msg: [{ text: { content: 'x' } }] } })).json.errcode, 100005, 'an ordinary app may not send sysMsg');
  t.equal((await sm.post('/cgi/msg/send', { toUser: 'alice', msgType: 'text', text: { content: 'x' } })).json.errcode, 100005, 'sysMsgAssistant has no msg right');
});

t.test('visibility: an app reaches only its visible scope; the rest is listed, nobody visible is errcode 3', async (t) => {
  const w = await world(t);
  const alice = (await w.gw.gw.services.directory.getUserByAccount('alice'))!;
  const row = w.gw.gw.services.apps.byAppId(w.app.buin, w.app.appId)!;
  await w.gw.gw.services.apps.update(row.rowId, { visibility: { depts: [w.depts.rd], users: [] } });
  const only = await w.app.post('/cgi/msg/send', { toUser: 'bob', msgType: 'text', text: { content: 'x' } });
  t.equal(only.json.errcode, 3, 'bob is outside: 3');
  t.match(only.json.errmsg, /bob/);
  const mixed = await w.app.post('/cgi/msg/send', { toUser: 'alice|bob|carol', msgType: 'text', text: { content: 'visible' } });
  t.equal(mixed.json.errcode, 0);
  t.match(mixed.json.errmsg, /outside the app's visibility: bob/);
  await nth(w.inbox.carol, w.appKey, 1);
  const a = await nth(w.inbox.alice, w.appKey, 1);
  t.same(a.body, { text: 'visible' });
  t.equal((await w.app.post('/cgi/msg/send', { toDept: '0', msgType: 'text', text: { content: 'all I may' } })).json.errcode, 0, 'toDept 0: everyone the app may reach');
  await nth(w.inbox.alice, w.appKey, 2);
  await w.gw.gw.services.apps.update(row.rowId, { visibility: { depts: [], users: [alice.id] } });
  t.equal((await w.app.post('/cgi/msg/send', { toDept: '0', msgType: 'text', text: { content: 'fence' } })).json.errcode, 0);
  await nth(w.inbox.alice, w.appKey, 3);
  t.same(w.inbox.bob.messages.filter(fromApp(w.appKey)), [], 'bob never got anything from the app');
});

t.test('malformed input: each class gets its errcode', async (t) => {
  const w = await world(t);
  const send = async (payload: unknown) => (await w.app.post('/cgi/msg/send', payload)).json;
  t.equal((await send({ toUser: 'alice', text: { content: 'x' } })).errcode, 100003, 'no msgType');
  t.equal((await send({ toUser: 'alice', msgType: 'video', video: {} })).errcode, 100003, 'unknown msgType');
  t.equal((await send({ toUser: 'alice', msgType: 'text' })).errcode, 100003, 'no body object');
  t.equal((await send({ toUser: 'alice', msgType: 'text', text: 'hello' })).errcode, 100003, 'body not an object');
  t.equal((await send({ toUser: 'alice', msgType: 'text', text: { content: 42 } })).errcode, 100003, 'content not a string');
  t.equal((await send({ toUser: 'alice', msgType: 'text', text: { content: '' } })).errcode, 100003, 'empty content');
  t.equal((await send({ toUser: 42, msgType: 'text', text: { content: 'x' } })).errcode, 200007, 'toUser a number names nobody');
  t.equal((await send({ toUser: { a: 1 }, msgType: 'text', text: { content: 'x' } })).errcode, 100003, 'toUser an object');
  t.equal((await send({ toUser: 'alice', msgType: 'image', image: { media_id: '0123456789abcdef0123456789abcdef-10' } })).errcode, 200010, 'unknown media');
  t.equal((await send({ toUser: 'alice', msgType: 'link', link: { title: 't', url: 'javascript:alert(1)' } })).errcode, 100003, 'a link that is not http(s)');
  t.equal((await send({ toUser: 'alice', msgType: 'exlink', exlink: [] })).errcode, 100003, 'no cards');
  t.equal((await send([1, 2])).errcode, 100003, 'payload not an object');
  t.equal((await send('not json at all')).errcode, 100004, 'payload not JSON');
  const tok = w.app.token as string;
  const bare = await w.app.raw(`/cgi/msg/send?accessToken=${tok}`, { body: JSON.stringify({ buin: w.app.buin, appId: w.app.appId, encrypt: 'zzz***' }) });
  t.equal(bare.json.errcode, 100006, 'bad base64');
  const short = await w.app.raw(`/cgi/msg/send?accessToken=${tok}`, { body: JSON.stringify({ buin: w.app.buin, appId: w.app.appId, encrypt: Buffer.alloc(40).toString('base64') }) });
  t.equal(short.json.errcode, 100006, 'not whole blocks (bad padding)');
  t.equal((await w.app.raw('/cgi/msg/send', { body: w.app.envelope({ toUser: 'alice', msgType: 'text', text: { content: 'x' } }) })).json.errcode, 100000, 'no token');
  t.same(w.inbox.alice.messages.filter(fromApp(w.appKey)), [], 'nothing was delivered by any refused call');
});

t.test('console sending (F-4.5): preview, send to people / departments / everyone through the same path, a file uploaded first; scope and errors', async (t) => {
  const w = await world(t);
  const http = w.gw.gw.http;
  const setup = await http.inject({ method: 'POST', url: '/api/admin/setup/admin', payload: { username: 'root', password: 'console-secret-1' } });
  t.equal(setup.statusCode, 201, setup.body);
  const cookie = String([setup.headers['set-cookie']].flat()[0]).split(';')[0] as string;
  const csrf = (setup.json() as { csrfToken: string }).csrfToken;
  const api = (method: 'POST' | 'GET', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    http.inject({ method, url, headers: { cookie, [CSRF_HEADER]: csrf, ...headers }, ...(payload !== undefined ? { payload: payload as string } : {}) });
  const row = w.gw.gw.services.apps.byAppId(w.app.buin, w.app.appId)!;
  const base = `/api/admin/apps/${row.rowId}`;

  const preview = await api('POST', `${base}/send/preview`, { message: { msgType: 'link', body: { title: '周报', url: 'https://example.com/w', action: 1 } } });
  t.equal(preview.statusCode, 200, preview.body);
  t.same(preview.json(), { kind: 'link', body: { title: '周报', url: 'https://example.com/w', sso: true }, app: { id: w.appKey, name: '考勤' } }, 'preview: the stored form');

  const alice = (await w.gw.gw.services.directory.getUserByAccount('alice'))!;
  const sent = await api('POST', `${base}/send`, { target: { userIds: [alice.id], deptIds: [w.depts.sales] }, message: { msgType: 'text', body: { content: '控制台通知' } } });
  t.equal(sent.statusCode, 200, sent.body);
  t.match(sent.json(), { kind: 'text', body: { text: '控制台通知' }, delivered: 3, invalidUsers: [], outside: [] }, 'alice + sales (bob, dave)');
  for (const who of ['alice', 'bob', 'dave'] as const) t.match((await nth(w.inbox[who], w.appKey, 1)), { body: { text: '控制台通知' }, origin: 'console' });

  const bytes = Buffer.from('%PDF-1.4 test');
  const up = await api('POST', `${base}/media?name=${encodeURIComponent('制度.pdf')}&type=file`, bytes, { 'content-type': 'application/octet-stream' });
  t.equal(up.statusCode, 200, up.body);
  const media = up.json() as { mediaId: string; size: number };
  t.equal(media.size, bytes.length);
  const file = await api('POST', `${base}/send`, { target: { all: true }, message: { msgType: 'file', body: { media_id: media.mediaId } } });
  t.equal(file.statusCode, 200, file.body);
  for (const i of Object.values(w.inbox)) await i.until((ms) => ms.some((m) => m.kind === 'file' && (m.body as { name: string }).name === '制度.pdf'), 'the file to everyone');
  t.pass('everyone got the file');
  const log = w.gw.gw.services.db.prepare("SELECT COUNT(*) AS n FROM admin_action_log WHERE action = 'app.send'").get() as { n: number };
  t.equal(log.n, 2, 'each send is in the action log');

  const noTarget = await api('POST', `${base}/send`, { target: {}, message: { msgType: 'text', body: { content: 'x' } } });
  t.equal(noTarget.statusCode, 400, 'no target: 400');
  const sysType = await api('POST', `${base}/send`, { target: { all: true }, message: { msgType: 'sysMsg', body: {} } });
  t.equal(sysType.statusCode, 400, 'the console sends text, mpnews, image, file, link, exlink');
  const noMedia = await api('POST', `${base}/send`, { target: { all: true }, message: { msgType: 'image', body: { media_id: '0123456789abcdef0123456789abcdef-1' } } });
  t.equal(noMedia.statusCode, 404, 'unknown media: 404');
  const nobody = await api('POST', `${base}/send`, { target: { userIds: [999999] }, message: { msgType: 'text', body: { content: 'x' } } });
  t.equal(nobody.statusCode, 400, 'nobody valid: 400');
  t.equal((await api('POST', '/api/admin/apps/99999/send', { target: { all: true }, message: { msgType: 'text', body: { content: 'x' } } })).statusCode, 404, 'unknown app: 404');
  t.equal((await http.inject({ method: 'POST', url: `${base}/send`, payload: { target: { all: true }, message: { msgType: 'text', body: { content: 'x' } } } })).statusCode, 401, 'not logged in: 401');
});
