import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import type { BroadcastHistoryView, BroadcastPreviewView, BroadcastRightEntryView, BroadcastRightsView, BroadcastSentView } from '../../gateway/src/admin/routes-broadcast.js';
import type { DeptId, MessageView, SysmsgBody, UserId } from '../../gateway/src/protocol/client-v1.js';
import type { HuitongClient } from '../../client/src/index.js';
import { call, code, sessionOf, type Session } from '../helpers/admin-http.js';
import { codeOf, online, type Inbox } from '../helpers/clients.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * System broadcast (F-4.10) and members' broadcast rights (F-6.2) through the
 * real gateway and real clients: rights granted in the console (with
 * department-scoped administrators and the action log), members broadcasting
 * from their clients within their right's scope, the rate limit, online-only
 * broadcasts and what a person offline at that moment sees later, and
 * broadcasts from the console with their preview, count and history.
 */

const PW = 'console-secret-1';

interface World {
  gw: TestGateway;
  http: FastifyInstance;
  root: Session;
  sysKey: string;
  rd: DeptId;
  platform: DeptId;
  sales: DeptId;
  ids: Record<Who, UserId>;
}

const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'henry'] as const;
type Who = (typeof PEOPLE)[number];

/**
 * 研发部 (carol, dave, erin) with 平台组 below it (alice); 销售部 (bob, frank,
 * gina, henry). dave is never online until a test brings him.
 */
async function world(t: Test): Promise<World> {
  const gw = await startGateway(t);
  const http = gw.gw.http;
  const r = await call(http, null, 'POST', '/api/admin/setup/admin', { username: 'root', password: PW, displayName: '管理员' });
  if (r.statusCode !== 201) throw new Error(r.body);
  const d = gw.gw.services.directory;
  const rd = (await d.deptByPath('研发部', true)).id;
  const platform = (await d.deptByPath('研发部/平台组', true)).id;
  const sales = (await d.deptByPath('销售部', true)).id;
  const place: Record<Who, DeptId> = { alice: platform, bob: sales, carol: rd, dave: rd, erin: rd, frank: sales, gina: sales, henry: sales };
  const ids = {} as Record<Who, UserId>;
  for (const account of PEOPLE) {
    const u = await gw.addUser(account, { name: account.toUpperCase() });
    await d.editUser(u.id, { deptIds: [place[account]] });
    ids[account] = u.id;
  }
  const apps = gw.gw.services.apps;
  const sys = apps.byAppId(await apps.defaultBuin(), 'sysMsgAssistant');
  if (!sys) throw new Error('no sysMsgAssistant');
  return { gw, http, root: sessionOf(r), sysKey: sys.key, rd, platform, sales, ids };
}

async function adminWith(w: World, username: string, rights: string[], scopeDeptIds: DeptId[] | null): Promise<Session> {
  let r = await call(w.http, w.root, 'POST', '/api/admin/roles', { name: `role-${username}`, rights, ...(scopeDeptIds === null ? { wholeOrg: true } : { scopeDeptIds }) });
  if (r.statusCode !== 201) throw new Error(r.body);
  const roleId = (r.json() as { id: number }).id;
  r = await call(w.http, w.root, 'POST', '/api/admin/admins', { username, password: PW, roleIds: [roleId] });
  if (r.statusCode !== 201) throw new Error(r.body);
  r = await call(w.http, null, 'POST', '/api/admin/login', { username, password: PW });
  if (r.statusCode !== 200) throw new Error(r.body);
  return sessionOf(r);
}

async function grant(w: World, account: Who, scope: 'all' | 'dept', s: Session = w.root): Promise<void> {
  const r = await call(w.http, s, 'PUT', `/api/admin/broadcast/rights/${w.ids[account]}`, { scope });
  if (r.statusCode !== 201 && r.statusCode !== 200) throw new Error(r.body);
}

const content = (title: string, text = `${title} 正文`) => ({ title, text });
const isBroadcast = (title: string) => (m: MessageView) => m.kind === 'sysmsg' && (m.body as SysmsgBody).title === title;
const got = (inbox: Inbox, title: string) => inbox.until((ms) => ms.some(isBroadcast(title)), `broadcast "${title}"`);
const has = (inbox: Inbox, title: string) => inbox.messages.some(isBroadcast(title));

t.test('a member with the right broadcasts to everyone: a system message from the system messages app, showing who sent it', async (t) => {
  const w = await world(t);
  await grant(w, 'frank', 'all');
  const frank = await online(t, w.gw, 'frank');
  const alice = await online(t, w.gw, 'alice');
  const bob = await online(t, w.gw, 'bob');
  t.same(await frank.client.broadcastRights(), { scope: 'all', deptIds: [] }, 'the client learns its right');

  const r = await frank.client.broadcast({ title: '停电通知', text: '今晚 22:00 机房停电', links: [{ title: '详情', url: 'https://intra.example/notice' }, { title: '', url: 'http://intra.example/x' }] }, { all: true });
  t.equal(r.reached, 8, 'every active, authorised member, the offline one included');
  for (const { inbox } of [alice, bob, frank]) {
    await got(inbox, '停电通知');
    const m = inbox.messages.find(isBroadcast('停电通知')) as MessageView;
    t.same(m.to, { kind: 'app', id: w.sysKey });
    t.equal(m.fromApp?.name, '系统消息');
    t.equal(m.origin, 'broadcast');
    t.equal(m.id, r.messageId);
    t.same(m.body, {
      title: '停电通知',
      items: [{ text: '今晚 22:00 机房停电' }, { link: { title: '详情', url: 'https://intra.example/notice' } }, { link: { title: 'http://intra.example/x', url: 'http://intra.example/x' } }],
      from: { kind: 'member', userId: w.ids.frank, account: 'frank', name: 'FRANK' },
    });
  }
});

t.test('department targets include subdepartments; people named are reached; nobody else', async (t) => {
  const w = await world(t);
  await grant(w, 'frank', 'all');
  const frank = await online(t, w.gw, 'frank');
  const alice = await online(t, w.gw, 'alice');
  const bob = await online(t, w.gw, 'bob');
  const carol = await online(t, w.gw, 'carol');

  const r = await frank.client.broadcast(content('研发通知'), { deptIds: [w.rd] });
  t.equal(r.reached, 4, 'carol, dave, erin in 研发部 and alice in 平台组');
  await got(carol.inbox, '研发通知');
  await got(alice.inbox, '研发通知');

  const r2 = await frank.client.broadcast(content('给鲍勃'), { userIds: [w.ids.bob] });
  t.equal(r2.reached, 1);
  await got(bob.inbox, '给鲍勃');
  t.notOk(has(bob.inbox, '研发通知'), 'bob (销售部) did not get the 研发部 broadcast, which came before');
  t.notOk(has(frank.inbox, '研发通知'), 'nor did the sender outside the departments');
});

t.test('a member with the `dept` right broadcasts within their departments only; without the right, refused', async (t) => {
  const w = await world(t);
  await grant(w, 'erin', 'dept');
  const erin = await online(t, w.gw, 'erin');
  const alice = await online(t, w.gw, 'alice');
  const gina = await online(t, w.gw, 'gina');
  t.same(await erin.client.broadcastRights(), { scope: 'dept', deptIds: [w.rd] });
  t.same(await gina.client.broadcastRights(), { scope: null, deptIds: [] });

  t.equal(await codeOf(erin.client.broadcast(content('全员'), { all: true })), 'GW_FORBIDDEN', 'not everyone');
  t.equal(await codeOf(erin.client.broadcast(content('销售'), { deptIds: [w.sales] })), 'GW_FORBIDDEN', 'not another department');
  t.equal(await codeOf(erin.client.broadcast(content('混合'), { deptIds: [w.platform, w.sales] })), 'GW_FORBIDDEN', 'not when one of them is outside');
  t.equal(await codeOf(erin.client.broadcast(content('鲍勃'), { userIds: [w.ids.bob] })), 'GW_FORBIDDEN', 'not a person outside');
  const e = await erin.client.broadcast(content('外'), { userIds: [w.ids.bob] }).then(() => new Error('sent'), (x: unknown) => x as Error);
  t.match(e.message, /outside your departments/, 'the refusal says why');
  t.equal(await codeOf(gina.client.broadcast(content('无权'), { userIds: [w.ids.gina] })), 'GW_FORBIDDEN', 'without the right');
  const g = await gina.client.broadcast(content('无权'), { userIds: [w.ids.gina] }).then(() => new Error('sent'), (x: unknown) => x as Error);
  t.match(g.message, /do not have the broadcast right/);

  const sub = await erin.client.broadcast(content('平台组'), { deptIds: [w.platform] });
  t.equal(sub.reached, 1, 'a subdepartment of their own');
  await got(alice.inbox, '平台组');
  const person = await erin.client.broadcast(content('给爱丽丝'), { userIds: [w.ids.alice] });
  t.equal(person.reached, 1, 'a person in a subdepartment');
  await got(alice.inbox, '给爱丽丝');

  // a right removed in the console stops the next broadcast
  const del = await call(w.http, w.root, 'DELETE', `/api/admin/broadcast/rights/${w.ids.erin}`);
  t.equal(del.statusCode, 204);
  t.equal(await codeOf(erin.client.broadcast(content('撤销后'), { deptIds: [w.rd] })), 'GW_FORBIDDEN');
  t.same(await erin.client.broadcastRights(), { scope: null, deptIds: [] });
  t.equal(gina.inbox.messages.length, 0, 'nothing reached gina');
});

t.test('online only: people connected now get it; someone offline never does, not even on coming back', async (t) => {
  const w = await world(t);
  await grant(w, 'frank', 'all');
  const frank = await online(t, w.gw, 'frank');
  const alice = await online(t, w.gw, 'alice');
  const carol = await online(t, w.gw, 'carol');

  const r = await frank.client.broadcast(content('在线通知'), { all: true }, { onlineOnly: true });
  t.equal(r.reached, 3, 'frank, alice and carol are connected');
  await got(alice.inbox, '在线通知');
  await got(carol.inbox, '在线通知');
  const dept = await frank.client.broadcast(content('研发在线'), { deptIds: [w.rd] }, { onlineOnly: true });
  t.equal(dept.reached, 2, 'of 研发部 with 平台组, only carol and alice are connected');
  await got(alice.inbox, '研发在线');
  t.equal(await codeOf(frank.client.broadcast(content('无人'), { userIds: [w.ids.dave] }, { onlineOnly: true })), 'GW_BAD_REQUEST', 'nobody chosen is online: refused');

  const later = await frank.client.broadcast(content('之后的通知'), { userIds: [w.ids.dave] });
  t.equal(later.reached, 1);
  const dave = await online(t, w.gw, 'dave');
  await got(dave.inbox, '之后的通知');
  t.notOk(has(dave.inbox, '在线通知'), 'the online-only broadcast is not in the inbox of someone who was offline');
  t.notOk(has(dave.inbox, '研发在线'));
  t.equal(dave.inbox.messages.length, 1);
});

t.test('a member broadcasts at most 3 times a minute', async (t) => {
  const w = await world(t);
  await grant(w, 'henry', 'all');
  const henry = await online(t, w.gw, 'henry');
  for (let i = 1; i <= 3; i++) await henry.client.broadcast(content(`第${i}次`), { userIds: [w.ids.henry] });
  const e = await henry.client.broadcast(content('第4次'), { userIds: [w.ids.henry] }).then(() => ({ code: 'sent', retryAfterMs: undefined }), (x: unknown) => x as { code: string; retryAfterMs?: number });
  t.equal(e.code, 'GW_RATE_LIMITED');
  t.ok(e.retryAfterMs !== undefined && e.retryAfterMs > 0 && e.retryAfterMs <= 60_000, `retry after ${e.retryAfterMs} ms`);
  // refusals before sending do not count; other members are not limited by henry
  await grant(w, 'frank', 'all');
  const frank = await online(t, w.gw, 'frank');
  await frank.client.broadcast(content('frank 1'), { userIds: [w.ids.frank] });
  await henry.inbox.until((ms) => ms.filter((m) => m.kind === 'sysmsg').length === 3, 'three broadcasts');
  const hist = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/history')).json() as BroadcastHistoryView;
  t.equal(hist.broadcasts.filter((b) => b.sender.account === 'henry').length, 3, 'the refused one is not in the history');
});

t.test('bad input from a client: the documented code, nothing sent', async (t) => {
  const w = await world(t);
  await grant(w, 'frank', 'all');
  const frank = await online(t, w.gw, 'frank');
  const c = frank.client as HuitongClient & { request(t: string, p: unknown): Promise<unknown> };
  const send = (p: unknown) => codeOf(c.request('broadcast.send', p));
  const me = { userIds: [w.ids.frank] };
  t.equal(await send({ content: { text: 'no title' }, targets: me }), 'GW_BAD_REQUEST', 'no title');
  t.equal(await send({ content: { title: '   ' , text: 'x' }, targets: me }), 'GW_BAD_REQUEST', 'blank title');
  t.equal(await send({ content: { title: 'x'.repeat(65), text: 'x' }, targets: me }), 'GW_BAD_REQUEST', 'title too long');
  t.equal(await send({ content: { title: 'only a title' }, targets: me }), 'GW_BAD_REQUEST', 'neither text nor links');
  t.equal(await send({ content: { title: 't', text: 'y'.repeat(2001) }, targets: me }), 'GW_BAD_REQUEST', 'text too long');
  t.equal(await send({ content: { title: 't', links: [{ url: 'javascript:alert(1)' }] }, targets: me }), 'GW_BAD_REQUEST', 'not an http(s) link');
  t.equal(await send({ content: { title: 't', links: Array.from({ length: 6 }, () => ({ url: 'https://a.example' })) }, targets: me }), 'GW_BAD_REQUEST', 'too many links');
  t.equal(await send({ content: { title: 't', text: 'x', html: '<b>' }, targets: me }), 'GW_BAD_REQUEST', 'unknown field');
  t.equal(await send({ content: 'text', targets: me }), 'GW_BAD_REQUEST', 'content not an object');
  t.equal(await send({ content: content('t'), targets: {} }), 'GW_BAD_REQUEST', 'no target');
  t.equal(await send({ content: content('t'), targets: { all: true, userIds: [w.ids.bob] } }), 'GW_BAD_REQUEST', 'everyone and people');
  t.equal(await send({ content: content('t'), targets: { userIds: ['bob'] } }), 'GW_BAD_REQUEST', 'ids not numbers');
  t.equal(await send({ content: content('t'), targets: { userIds: Array.from({ length: 1001 }, (_, i) => i + 1) } }), 'GW_BAD_REQUEST', 'too many people');
  t.equal(await send({ content: content('t'), targets: { all: 'yes' } }), 'GW_BAD_REQUEST', 'all not a boolean');
  t.equal(await send({ content: content('t'), targets: me, onlineOnly: 1 }), 'GW_BAD_REQUEST', 'onlineOnly not a boolean');
  t.equal(await send({ content: content('t'), targets: { deptIds: [999999] } }), 'GW_NOT_FOUND', 'unknown department');
  t.equal(await send({ content: content('t'), targets: { userIds: [999999] } }), 'GW_NOT_FOUND', 'unknown person');
  const hist = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/history')).json() as BroadcastHistoryView;
  t.equal(hist.broadcasts.length, 0, 'nothing was recorded');
  t.equal(frank.inbox.messages.length, 0, 'nothing was sent');
  // the connection still serves
  t.equal((await frank.client.broadcast(content('好的'), me)).reached, 1);
});

t.test('rights in the console: grant, change, list, remove; RBAC, CSRF, bad input; the action log', async (t) => {
  const w = await world(t);
  let r = await call(w.http, w.root, 'PUT', `/api/admin/broadcast/rights/${w.ids.erin}`, { scope: 'dept' });
  t.equal(r.statusCode, 201, r.body);
  t.same((r.json() as BroadcastRightEntryView).depts, [{ id: w.rd, path: '研发部' }]);
  r = await call(w.http, w.root, 'PUT', `/api/admin/broadcast/rights/${w.ids.erin}`, { scope: 'all' });
  t.equal(r.statusCode, 200, 'a change');
  t.equal((r.json() as BroadcastRightEntryView).scope, 'all');
  await grant(w, 'bob', 'dept');
  let list = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/rights')).json() as BroadcastRightsView;
  t.same(list.rights.map((x) => [x.user.account, x.scope, x.grantedBy]).sort(), [['bob', 'dept', 'root'], ['erin', 'all', 'root']]);
  t.equal(list.mayGrantAll, true);

  // bad input
  t.equal(code(await call(w.http, w.root, 'PUT', `/api/admin/broadcast/rights/${w.ids.erin}`, { scope: 'everyone' })), 'GW_BAD_REQUEST');
  t.equal(code(await call(w.http, w.root, 'PUT', `/api/admin/broadcast/rights/${w.ids.erin}`, { scope: 'all', extra: 1 })), 'GW_BAD_REQUEST');
  t.equal(code(await call(w.http, w.root, 'PUT', `/api/admin/broadcast/rights/${w.ids.erin}`, '[')), 'GW_BAD_REQUEST', 'not JSON');
  t.equal(code(await call(w.http, w.root, 'PUT', '/api/admin/broadcast/rights/999999', { scope: 'all' })), 'GW_NOT_FOUND');
  t.equal(code(await call(w.http, w.root, 'PUT', '/api/admin/broadcast/rights/abc', { scope: 'all' })), 'GW_NOT_FOUND');
  t.equal(code(await call(w.http, w.root, 'DELETE', `/api/admin/broadcast/rights/${w.ids.gina}`)), 'GW_NOT_FOUND', 'gina has none');

  // CSRF and no session
  r = await call(w.http, { cookie: w.root.cookie, csrf: 'wrong' }, 'PUT', `/api/admin/broadcast/rights/${w.ids.gina}`, { scope: 'all' });
  t.equal(r.statusCode, 403);
  t.equal(code(r), 'GW_CSRF');
  r = await call(w.http, null, 'GET', '/api/admin/broadcast/rights');
  t.equal(r.statusCode, 401);

  // an administrator without the settings right
  const appsOnly = await adminWith(w, 'appsadmin', ['apps'], null);
  for (const [m, u, b] of [['GET', '/api/admin/broadcast/rights'], ['PUT', `/api/admin/broadcast/rights/${w.ids.gina}`, { scope: 'all' }], ['GET', '/api/admin/broadcast/history'],
    ['POST', '/api/admin/broadcast/send', { content: content('x'), targets: { all: true } }]] as const) {
    t.equal(code(await call(w.http, appsOnly, m, u, b)), 'GW_FORBIDDEN', `${m} ${u} needs the settings right`);
  }

  // an administrator scoped to 研发部
  const scoped = await adminWith(w, 'rdadmin', ['settings'], [w.rd]);
  list = (await call(w.http, scoped, 'GET', '/api/admin/broadcast/rights')).json() as BroadcastRightsView;
  t.same(list.rights.map((x) => x.user.account), ['erin'], 'sees only members in scope');
  t.equal(list.mayGrantAll, false);
  t.equal((await call(w.http, scoped, 'PUT', `/api/admin/broadcast/rights/${w.ids.carol}`, { scope: 'dept' })).statusCode, 201, 'grants dept inside the scope');
  t.equal((await call(w.http, scoped, 'PUT', `/api/admin/broadcast/rights/${w.ids.alice}`, { scope: 'dept' })).statusCode, 201, 'and in a subdepartment');
  r = await call(w.http, scoped, 'PUT', `/api/admin/broadcast/rights/${w.ids.carol}`, { scope: 'all' });
  t.equal(code(r), 'GW_FORBIDDEN', 'not everyone');
  t.equal(code(await call(w.http, scoped, 'PUT', `/api/admin/broadcast/rights/${w.ids.gina}`, { scope: 'dept' })), 'GW_FORBIDDEN', 'not outside the scope');
  t.equal(code(await call(w.http, scoped, 'DELETE', `/api/admin/broadcast/rights/${w.ids.bob}`)), 'GW_FORBIDDEN', 'removes nothing outside');
  t.equal((await call(w.http, scoped, 'DELETE', `/api/admin/broadcast/rights/${w.ids.carol}`)).statusCode, 204);
  const people = (await call(w.http, scoped, 'GET', '/api/admin/broadcast/people?q=')).json() as { members: { account: string }[] };
  t.same(people.members.map((m) => m.account).sort(), ['alice', 'carol', 'dave', 'erin'], 'the picker offers members in scope');

  const log = (await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=user&limit=100')).json() as { entries: { action: string; targetLabel: string }[] };
  const mine = log.entries.filter((e) => e.action.startsWith('broadcast.')).map((e) => `${e.action} ${e.targetLabel}`);
  t.same(mine, ['broadcast.right.revoke carol', 'broadcast.right.grant alice', 'broadcast.right.grant carol', 'broadcast.right.grant bob', 'broadcast.right.update erin', 'broadcast.right.grant erin']);
});

t.test('broadcasting from the console: preview and count, send, history; scoped administrators; bad input', async (t) => {
  const w = await world(t);
  const alice = await online(t, w.gw, 'alice');
  const carol = await online(t, w.gw, 'carol');
  const bob = await online(t, w.gw, 'bob');

  let r = await call(w.http, w.root, 'POST', '/api/admin/broadcast/preview', { targets: { deptIds: [w.rd] } });
  t.equal(r.statusCode, 200, r.body);
  t.same(r.json(), { reach: 4, body: null });
  r = await call(w.http, w.root, 'POST', '/api/admin/broadcast/preview', { targets: { deptIds: [w.rd] }, onlineOnly: true, content: { title: '预览', text: '内容' } });
  const pv = r.json() as BroadcastPreviewView;
  t.equal(pv.reach, 2, 'alice and carol are online');
  t.same(pv.body, { title: '预览', items: [{ text: '内容' }], from: { kind: 'admin', name: '管理员' } });
  t.equal(((await call(w.http, w.root, 'POST', '/api/admin/broadcast/preview', { targets: { all: true } })).json() as BroadcastPreviewView).reach, 8);

  r = await call(w.http, w.root, 'POST', '/api/admin/broadcast/send', { content: { title: '控制台通知', text: '大家好' }, targets: { deptIds: [w.rd] } });
  t.equal(r.statusCode, 201, r.body);
  const sent = r.json() as BroadcastSentView;
  t.equal(sent.reached, 4);
  await got(alice.inbox, '控制台通知');
  await got(carol.inbox, '控制台通知');
  t.same((alice.inbox.messages.find(isBroadcast('控制台通知')) as MessageView).body, { title: '控制台通知', items: [{ text: '大家好' }], from: { kind: 'admin', name: '管理员' } });
  r = await call(w.http, w.root, 'POST', '/api/admin/broadcast/send', { content: content('给鲍勃'), targets: { userIds: [w.ids.bob] }, onlineOnly: true });
  t.equal(r.statusCode, 201);
  await got(bob.inbox, '给鲍勃');
  t.notOk(has(bob.inbox, '控制台通知'));

  // a member's broadcast appears in the history too
  await grant(w, 'carol', 'dept');
  await carol.client.broadcast(content('卡罗尔的'), { userIds: [w.ids.alice] });

  const hist = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/history')).json() as BroadcastHistoryView;
  t.same(hist.broadcasts.map((b) => [b.title, b.sender.kind, b.sender.account, b.reached, b.onlineOnly]), [
    ['卡罗尔的', 'member', 'carol', 1, false],
    ['给鲍勃', 'admin', 'root', 1, true],
    ['控制台通知', 'admin', 'root', 4, false],
  ]);
  t.same(hist.broadcasts[2]?.targets, { all: false, depts: [{ id: w.rd, path: '研发部' }], users: [], moreUsers: 0 });
  t.same(hist.broadcasts[1]?.targets.users, [{ id: w.ids.bob, account: 'bob', name: 'BOB' }]);
  t.equal(hist.next, null);
  const page = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/history?limit=2')).json() as BroadcastHistoryView;
  t.equal(page.broadcasts.length, 2);
  const rest = (await call(w.http, w.root, 'GET', `/api/admin/broadcast/history?limit=2&before=${page.next}`)).json() as BroadcastHistoryView;
  t.same(rest.broadcasts.map((b) => b.title), ['控制台通知']);
  const log = (await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=broadcast')).json() as { entries: { action: string }[] };
  t.same(log.entries.map((e) => e.action), ['broadcast.send', 'broadcast.send']);

  // a scoped administrator
  const scoped = await adminWith(w, 'rdadmin', ['settings'], [w.rd]);
  t.equal(code(await call(w.http, scoped, 'POST', '/api/admin/broadcast/send', { content: content('全员'), targets: { all: true } })), 'GW_FORBIDDEN');
  t.equal(code(await call(w.http, scoped, 'POST', '/api/admin/broadcast/preview', { targets: { deptIds: [w.sales] } })), 'GW_FORBIDDEN');
  t.equal(code(await call(w.http, scoped, 'POST', '/api/admin/broadcast/send', { content: content('x'), targets: { userIds: [w.ids.bob] } })), 'GW_FORBIDDEN');
  r = await call(w.http, scoped, 'POST', '/api/admin/broadcast/send', { content: content('平台'), targets: { deptIds: [w.platform] } });
  t.equal(r.statusCode, 201, r.body);
  await got(alice.inbox, '平台');
  const scopedHist = (await call(w.http, scoped, 'GET', '/api/admin/broadcast/history')).json() as BroadcastHistoryView;
  t.same(scopedHist.broadcasts.map((b) => b.title), ['平台', '卡罗尔的'], 'their own and those of members in scope');

  // bad input
  for (const [what, body] of [
    ['no targets', { content: content('x') }],
    ['no content', { targets: { all: true } }],
    ['unknown field', { content: content('x'), targets: { all: true }, urgent: true }],
    ['bad targets', { content: content('x'), targets: [] }],
    ['bad onlineOnly', { content: content('x'), targets: { all: true }, onlineOnly: 'true' }],
    ['not JSON', '{'],
  ] as const) {
    t.equal(code(await call(w.http, w.root, 'POST', '/api/admin/broadcast/send', body)), 'GW_BAD_REQUEST', what);
  }
  t.equal(code(await call(w.http, w.root, 'POST', '/api/admin/broadcast/send', { content: content('x'), targets: { deptIds: [424242] } })), 'GW_NOT_FOUND');
  t.equal(code(await call(w.http, w.root, 'GET', '/api/admin/broadcast/history?limit=0')), 'GW_BAD_REQUEST');
  t.equal(code(await call(w.http, w.root, 'GET', '/api/admin/broadcast/history?x=1')), 'GW_BAD_REQUEST');
  r = await call(w.http, { cookie: w.root.cookie, csrf: 'nope' }, 'POST', '/api/admin/broadcast/send', { content: content('x'), targets: { all: true } });
  t.equal(code(r), 'GW_CSRF');
  const after = (await call(w.http, w.root, 'GET', '/api/admin/broadcast/history')).json() as BroadcastHistoryView;
  t.equal(after.broadcasts.length, 4, 'no refused send was recorded');

  // the system messages app disabled: broadcasting says so
  const apps = w.gw.gw.services.apps;
  const sys = apps.byKey(w.sysKey);
  if (!sys) throw new Error('no app');
  await apps.update(sys.rowId, { enabled: false });
  r = await call(w.http, w.root, 'POST', '/api/admin/broadcast/send', { content: content('x'), targets: { all: true } });
  t.equal(code(r), 'GW_CONFLICT');
  t.match((r.json() as { error: { message: string } }).error.message, /disabled/);
});
