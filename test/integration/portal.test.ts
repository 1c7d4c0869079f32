import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import type { AppListView, AppWithSecretsView } from '../../gateway/src/apps/api-types.js';
import type { BannerImageView, PortalPreviewView, TemplateDetailView, TemplateListView, WorkbenchSettingsView } from '../../gateway/src/apps/portal-types.js';
import type { DeptId, UserId, WorkbenchView } from '../../gateway/src/protocol/client-v1.js';
import { nextEvent, online, within, WAIT_MS } from '../helpers/clients.js';
import { call, code, png, sessionOf, type Session } from '../helpers/admin-http.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * The mobile workbench (F-4.1) and portal templates (F-5.1) through the real
 * gateway: the title and banners (built-in and uploaded), templates resolved
 * per person (default vs custom, priorities, the apps' own visibility still
 * applying), department-scoped administrators, versioned writes, the action
 * log, bad input; and the workbench a real client gets over the client
 * protocol, pushed again when something changes.
 */

const PW = 'console-secret-1';

interface World {
  gw: TestGateway;
  http: FastifyInstance;
  root: Session;
  rd: DeptId;
  platform: DeptId;
  sales: DeptId;
  alice: UserId;
  bob: UserId;
  carol: UserId;
}

async function world(t: Test): Promise<World> {
  const gw = await startGateway(t);
  const http = gw.gw.http;
  const r = await call(http, null, 'POST', '/api/admin/setup/admin', { username: 'root', password: PW });
  if (r.statusCode !== 201) throw new Error(r.body);
  const root = sessionOf(r);
  const d = gw.gw.services.directory;
  const rd = (await d.deptByPath('研发部', true)).id;
  const platform = (await d.deptByPath('研发部/平台组', true)).id;
  const sales = (await d.deptByPath('销售部', true)).id;
  const alice = (await gw.addUser('alice', { name: '爱丽丝' })).id;
  const bob = (await gw.addUser('bob', { name: '鲍勃' })).id;
  const carol = (await gw.addUser('carol', { name: '卡罗尔' })).id;
  await d.editUser(alice, { deptIds: [platform] });
  await d.editUser(bob, { deptIds: [sales] });
  await d.editUser(carol, { deptIds: [rd] });
  return { gw, http, root, rd, platform, sales, alice, bob, carol };
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

async function newApp(w: World, name: string, visibility?: { depts?: DeptId[]; users?: UserId[] }): Promise<{ id: number; key: string }> {
  const { app } = (await call(w.http, w.root, 'POST', '/api/admin/apps', { name })).json() as AppWithSecretsView;
  if (visibility) {
    const r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: app.version, all: false, ...visibility });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  return { id: app.id, key: app.key };
}

const preview = async (w: World, s: Session, userId: UserId) => call(w.http, s, 'GET', `/api/admin/portal/preview?userId=${userId}`);
const keysOf = (v: WorkbenchView) => v.sections.map((s) => [s.title, s.apps.map((a) => a.key)] as const);

t.test('the workbench: title of 1–18 characters, built-in and uploaded banners with http(s) links, versioned, logged', async (t) => {
  const w = await world(t);
  let r = await call(w.http, w.root, 'GET', '/api/admin/workbench');
  t.equal(r.statusCode, 200, r.body);
  const first = r.json() as WorkbenchSettingsView;
  t.equal(first.title, '工作台');
  t.equal(first.defaults.length, 6, 'six built-in banners to choose from');
  t.same(first.banners.map((b) => b.image), ['default-1', 'default-2', 'default-3']);
  t.ok(first.editable);

  // every built-in banner is a JPEG served without a session
  for (const d of first.defaults) {
    const pub = await fetch(`${w.gw.http}${d.url}`);
    t.equal(pub.status, 200, d.url);
    t.equal(pub.headers.get('content-type'), 'image/jpeg');
    const bytes = Buffer.from(await pub.arrayBuffer());
    t.ok(bytes[0] === 0xff && bytes[1] === 0xd8 && bytes.length < 100_000, `${d.url} is a small JPEG`);
  }

  // bad input, each refused with nothing changed
  const v = first.version;
  const bad: [string, unknown][] = [
    ['a 19-character title', { version: v, title: '一二三四五六七八九十一二三四五六七八九' }],
    ['an empty title', { version: v, title: '   ' }],
    ['a javascript: link', { version: v, banners: [{ image: 'default-1', link: 'javascript:alert(1)' }] }],
    ['an ftp link', { version: v, banners: [{ image: 'default-1', link: 'ftp://files.example.com/' }] }],
    ['a data: link', { version: v, banners: [{ image: 'default-1', link: 'data:text/html,<b>x</b>' }] }],
    ['an unknown built-in banner', { version: v, banners: [{ image: 'default-7' }] }],
    ['an image never uploaded', { version: v, banners: [{ image: `${'a'.repeat(64)}.png` }] }],
    ['a path as image', { version: v, banners: [{ image: '../../huitong.db' }] }],
    ['11 banners', { version: v, banners: Array.from({ length: 11 }, () => ({ image: 'default-1' })) }],
    ['an unknown banner field', { version: v, banners: [{ image: 'default-1', onclick: 'x' }] }],
    ['an unknown field', { version: v, colour: 'red' }],
    ['no version', { title: '门户' }],
  ];
  for (const [what, body] of bad) {
    r = await call(w.http, w.root, 'PUT', '/api/admin/workbench', body);
    t.equal(r.statusCode, 400, `${what}: ${r.body}`);
    t.equal(code(r), 'GW_BAD_REQUEST', what);
  }
  t.same((await call(w.http, w.root, 'GET', '/api/admin/workbench')).json(), first, 'nothing was written');

  // uploads: PNG and JPEG by their bytes, at most 1 MB
  const img = png();
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', img, { 'content-type': 'image/png' });
  t.equal(r.statusCode, 201, r.body);
  const up = r.json() as BannerImageView;
  t.match(up.url, /^\/api\/workbench-banners\/[0-9a-f]{64}\.png$/);
  const pub = await fetch(`${w.gw.http}${up.url}`);
  t.equal(pub.headers.get('content-type'), 'image/png');
  t.same(Buffer.from(await pub.arrayBuffer()), img, 'the same bytes, public');
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), { 'content-type': 'image/png' });
  t.equal(r.statusCode, 400, 'a GIF sent as image/png is refused by its bytes');
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', Buffer.from('<svg onload=alert(1)></svg>'), { 'content-type': 'application/octet-stream' });
  t.equal(r.statusCode, 400, 'an SVG is not a PNG or JPEG');
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', png(1024 * 1024), { 'content-type': 'image/png' });
  t.equal(r.statusCode, 413, 'larger than 1 MB');
  t.equal(code(r), 'GW_FILE_TOO_LARGE');
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', png(1024 * 1024 - 200), { 'content-type': 'image/png' });
  t.equal(r.statusCode, 201, 'just under 1 MB is taken');
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 1), Buffer.from([0xff, 0xd9])]);
  r = await call(w.http, w.root, 'POST', '/api/admin/workbench/images', jpeg, { 'content-type': 'image/jpeg' });
  t.equal(r.statusCode, 201, 'a JPEG');
  const upJpeg = r.json() as BannerImageView;
  for (const p of ['/api/workbench-banners/..%2F..%2Fhuitong.db', `/api/workbench-banners/${'0'.repeat(64)}.png`, '/api/workbench-banners/default-7.jpg', '/api/workbench-banners/default-1']) {
    t.equal((await fetch(`${w.gw.http}${p}`)).status, 404, p);
  }

  // an 18-character title, a reordered list with a link
  const title = '汇通工作台一二三四五六七八九十一二三';
  t.equal([...title].length, 18);
  r = await call(w.http, w.root, 'PUT', '/api/admin/workbench', { version: v, title, banners: [{ image: up.image, link: 'https://intranet.example.com/news' }, { image: 'default-5', link: null }, { image: upJpeg.image }] });
  t.equal(r.statusCode, 200, r.body);
  const next = r.json() as WorkbenchSettingsView;
  t.equal(next.title, title);
  t.same(next.banners.map((b) => [b.image, b.link]), [[up.image, 'https://intranet.example.com/news'], ['default-5', null], [upJpeg.image, null]]);
  r = await call(w.http, w.root, 'PUT', '/api/admin/workbench', { version: v, title: '旧版本' });
  t.equal(r.statusCode, 409, 'a stale version');
  t.equal(code(r), 'GW_CONFLICT');

  // only a whole-organisation administrator changes it
  const scoped = await adminWith(w, 'rd-apps', ['apps'], [w.rd]);
  t.equal(((await call(w.http, scoped, 'GET', '/api/admin/workbench')).json() as WorkbenchSettingsView).editable, false);
  r = await call(w.http, scoped, 'PUT', '/api/admin/workbench', { version: next.version, title: '研发工作台' });
  t.equal(r.statusCode, 403);
  r = await call(w.http, scoped, 'POST', '/api/admin/workbench/images', img, { 'content-type': 'image/png' });
  t.equal(r.statusCode, 403, 'nor uploads');
  const noRight = await adminWith(w, 'org-only', ['members'], null);
  t.equal((await call(w.http, noRight, 'GET', '/api/admin/workbench')).statusCode, 403, 'right apps is needed');

  // the client's view
  const aliceView = ((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench;
  t.equal(aliceView.title, title);
  t.same(aliceView.banners, [{ imageUrl: up.url, link: 'https://intranet.example.com/news' }, { imageUrl: '/api/workbench-banners/default-5.jpg', link: null }, { imageUrl: upJpeg.url, link: null }]);

  const log = (await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=workbench')).json() as { entries: { action: string }[] };
  t.same(log.entries.map((e) => e.action), ['workbench.update', 'workbench.image', 'workbench.image', 'workbench.image']);
});

t.test('templates resolved per person: default vs custom, priorities, the apps’ own visibility still applies', async (t) => {
  const w = await world(t);
  const oa = await newApp(w, 'OA 审批');
  const crm = await newApp(w, '客户管理', { depts: [w.sales] });
  const ci = await newApp(w, '持续集成', { depts: [w.rd] });
  const wiki = await newApp(w, '知识库');

  // the default template: every app the person sees, in the order of apps.list
  let r = await preview(w, w.root, w.alice);
  t.equal(r.statusCode, 200, r.body);
  let v = (r.json() as PortalPreviewView).workbench;
  t.match(v.template, { isDefault: true });
  t.equal(v.sections.length, 1);
  const defaultKeys = (v.sections[0]?.apps ?? []).map((a) => a.key);
  t.ok(defaultKeys.includes(oa.key) && defaultKeys.includes(ci.key) && defaultKeys.includes(wiki.key));
  t.notOk(defaultKeys.includes(crm.key), 'alice (研发部/平台组) does not see the sales app');
  t.equal(v.sections[0]?.apps[0]?.kind, 'fileTransfer', 'the default template lists apps as apps.list does');

  let list = (await call(w.http, w.root, 'GET', '/api/admin/portal/templates')).json() as TemplateListView;
  t.same(list.templates.map((x) => [x.name, x.isDefault]), [['默认模板', true]]);
  const def = list.templates[0] as TemplateListView['templates'][number];
  t.equal((await call(w.http, w.root, 'DELETE', `/api/admin/portal/templates/${def.id}`)).statusCode, 403, 'the default template cannot be deleted');
  t.equal((await call(w.http, w.root, 'PATCH', `/api/admin/portal/templates/${def.id}`, { version: def.version, name: 'x' })).statusCode, 403, 'nor changed');

  // a custom template for 研发部 (with subdepartments): sections in the chosen order; the sales app in it stays hidden from alice
  r = await call(w.http, w.root, 'POST', '/api/admin/portal/templates', {
    name: '研发门户',
    sections: [{ title: '研发工具', apps: [ci.id, wiki.id] }, { title: '办公', apps: [crm.id, oa.id] }],
    depts: [w.rd],
  });
  t.equal(r.statusCode, 201, r.body);
  const rdT = r.json() as TemplateDetailView;
  t.same(rdT.sectionsDetail.map((s) => s.apps.map((a) => a.name)), [['持续集成', '知识库'], ['客户管理', 'OA 审批']]);
  t.same(rdT.membersDetail.depts.map((d) => d.path), ['研发部']);
  v = ((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench;
  t.match(v.template, { id: rdT.id, name: '研发门户', isDefault: false });
  t.same(keysOf(v), [['研发工具', [ci.key, wiki.key]], ['办公', [oa.key]]], 'alice: the template’s apps she may see, in its order');
  v = ((await preview(w, w.root, w.bob)).json() as PortalPreviewView).workbench;
  t.match(v.template, { isDefault: true }, 'bob (销售部) is not a member: the default template');

  // a second template naming alice by person: by priority, the first that includes her wins
  r = await call(w.http, w.root, 'POST', '/api/admin/portal/templates', { name: '平台组', sections: [{ apps: [wiki.id] }], users: [w.alice, w.bob] });
  t.equal(r.statusCode, 201, r.body);
  const pT = r.json() as TemplateDetailView;
  t.equal(pT.priority, 2, 'a new template comes last');
  t.equal(((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench.template.id, rdT.id, 'the higher priority wins');
  t.same(keysOf(((await preview(w, w.root, w.bob)).json() as PortalPreviewView).workbench), [['', [wiki.key]]], 'bob is named: an untitled section');
  r = await call(w.http, w.root, 'PUT', '/api/admin/portal/order', { ids: [pT.id, rdT.id] });
  t.equal(r.statusCode, 200, r.body);
  t.same((r.json() as TemplateListView).templates.map((x) => x.name), ['平台组', '研发门户', '默认模板']);
  t.equal(((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench.template.id, pT.id, 'after reordering');
  t.equal(((await preview(w, w.root, w.carol)).json() as PortalPreviewView).workbench.template.id, rdT.id, 'carol (研发部) keeps 研发门户');
  r = await call(w.http, w.root, 'PUT', '/api/admin/portal/order', { ids: [pT.id] });
  t.equal(r.statusCode, 409, 'an order that misses a template is stale');

  // the app's own visibility: narrowing wiki to 销售部 removes it from alice's workbench; an empty section is dropped
  const wikiApp = ((await call(w.http, w.root, 'GET', '/api/admin/apps')).json() as AppListView).apps.find((a) => a.id === wiki.id) as AppListView['apps'][number];
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${wiki.id}/visibility`, { version: wikiApp.version, all: false, depts: [w.sales] });
  t.equal(r.statusCode, 200, r.body);
  v = ((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench;
  t.same(v.sections, [], 'alice sees nothing of 平台组 now');
  t.same(keysOf(((await preview(w, w.root, w.bob)).json() as PortalPreviewView).workbench), [['', [wiki.key]]], 'bob still does');

  // versioned writes; deleting
  r = await call(w.http, w.root, 'PATCH', `/api/admin/portal/templates/${pT.id}`, { version: pT.version, name: '平台组门户', users: [w.bob] });
  t.equal(r.statusCode, 200, r.body);
  r = await call(w.http, w.root, 'PATCH', `/api/admin/portal/templates/${pT.id}`, { version: pT.version, name: '又改' });
  t.equal(r.statusCode, 409, 'stale');
  t.equal(((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench.template.id, rdT.id, 'alice left 平台组: 研发门户 again');
  r = await call(w.http, w.root, 'DELETE', `/api/admin/portal/templates/${rdT.id}?version=${rdT.version}`);
  t.equal(r.statusCode, 204);
  t.match(((await preview(w, w.root, w.alice)).json() as PortalPreviewView).workbench.template, { isDefault: true });
  list = (await call(w.http, w.root, 'GET', '/api/admin/portal/templates')).json() as TemplateListView;
  t.same(list.templates.map((x) => x.name), ['平台组门户', '默认模板']);

  const log = (await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=portal_template')).json() as { entries: { action: string }[] };
  t.same(log.entries.map((e) => e.action), ['portal.template.delete', 'portal.template.update', 'portal.order', 'portal.template.create', 'portal.template.create']);
});

t.test('templates: bad input is refused with nothing written', async (t) => {
  const w = await world(t);
  const oa = await newApp(w, 'OA');
  const sysOrg = ((await call(w.http, w.root, 'GET', '/api/admin/apps')).json() as AppListView).apps.find((a) => a.appId === 'sysOrgAssistant') as AppListView['apps'][number];
  const cases: [string, unknown, number][] = [
    ['no name', { sections: [] }, 400],
    ['a 41-character name', { name: 'x'.repeat(41) }, 400],
    ['a section title of 21 characters', { name: 'a', sections: [{ title: 'x'.repeat(21), apps: [oa.id] }] }, 400],
    ['an app twice', { name: 'a', sections: [{ apps: [oa.id] }, { apps: [oa.id] }] }, 400],
    ['an unknown app', { name: 'a', sections: [{ apps: [999_999] }] }, 404],
    ['an integration-only system app', { name: 'a', sections: [{ apps: [sysOrg.id] }] }, 400],
    ['apps not a list', { name: 'a', sections: [{ apps: 'all' }] }, 400],
    ['21 sections', { name: 'a', sections: Array.from({ length: 21 }, () => ({ apps: [] })) }, 400],
    ['an unknown department', { name: 'a', depts: [999_999] }, 404],
    ['an unknown person', { name: 'a', users: [999_999] }, 404],
    ['ids that are not ids', { name: 'a', users: ['alice'] }, 400],
    ['an unknown field', { name: 'a', priority: 1 }, 400],
  ];
  for (const [what, body, status] of cases) {
    const r = await call(w.http, w.root, 'POST', '/api/admin/portal/templates', body);
    t.equal(r.statusCode, status, `${what}: ${r.body}`);
  }
  t.equal(((await call(w.http, w.root, 'GET', '/api/admin/portal/templates')).json() as TemplateListView).templates.length, 1, 'only the default template');
  t.equal((await call(w.http, w.root, 'GET', '/api/admin/portal/templates/abc')).statusCode, 404);
  t.equal((await call(w.http, w.root, 'GET', '/api/admin/portal/preview?userId=999999')).statusCode, 404);
  t.equal((await call(w.http, w.root, 'GET', '/api/admin/portal/preview')).statusCode, 400);
});

t.test('a department-scoped administrator targets only members in scope', async (t) => {
  const w = await world(t);
  const oa = await newApp(w, 'OA');
  const rdAdmin = await adminWith(w, 'rd-apps', ['apps'], [w.rd]);

  let r = await call(w.http, rdAdmin, 'POST', '/api/admin/portal/templates', { name: '销售', sections: [{ apps: [oa.id] }], depts: [w.sales] });
  t.equal(r.statusCode, 403, 'a department outside the scope');
  r = await call(w.http, rdAdmin, 'POST', '/api/admin/portal/templates', { name: '销售', users: [w.bob] });
  t.equal(r.statusCode, 403, 'a person outside the scope');
  r = await call(w.http, rdAdmin, 'POST', '/api/admin/portal/templates', { name: '平台', sections: [{ apps: [oa.id] }], depts: [w.platform], users: [w.carol] });
  t.equal(r.statusCode, 201, r.body);
  const mine = r.json() as TemplateDetailView;
  t.ok(mine.editable);
  t.equal((await preview(w, rdAdmin, w.bob)).statusCode, 403, 'no preview of people outside the scope');
  t.equal((await preview(w, rdAdmin, w.alice)).statusCode, 200);
  r = await call(w.http, rdAdmin, 'PUT', '/api/admin/portal/order', { ids: [mine.id] });
  t.equal(r.statusCode, 403, 'priorities are the whole organisation’s');

  // the whole-organisation administrator adds bob (销售部): the scoped one sees him only as a count, keeps him, and may no longer rename or delete
  r = await call(w.http, w.root, 'PATCH', `/api/admin/portal/templates/${mine.id}`, { version: mine.version, users: [w.carol, w.bob] });
  t.equal(r.statusCode, 200, r.body);
  r = await call(w.http, rdAdmin, 'GET', `/api/admin/portal/templates/${mine.id}`);
  const seen = r.json() as TemplateDetailView;
  t.same(seen.membersDetail.users.map((u) => u.id), [w.carol]);
  t.equal(seen.membersDetail.hiddenUsers, 1);
  t.equal(seen.editable, false);
  r = await call(w.http, rdAdmin, 'PATCH', `/api/admin/portal/templates/${mine.id}`, { version: seen.version, name: '改名' });
  t.equal(r.statusCode, 403);
  r = await call(w.http, rdAdmin, 'DELETE', `/api/admin/portal/templates/${mine.id}`);
  t.equal(r.statusCode, 403);
  r = await call(w.http, rdAdmin, 'PATCH', `/api/admin/portal/templates/${mine.id}`, { version: seen.version, users: [w.alice] });
  t.equal(r.statusCode, 200, r.body);
  const full = (await call(w.http, w.root, 'GET', `/api/admin/portal/templates/${mine.id}`)).json() as TemplateDetailView;
  t.same(full.membersDetail.users.map((u) => u.id).sort(), [w.alice, w.bob].sort(), 'bob, outside the scope, was kept');
  t.same(full.membersDetail.depts.map((d) => d.id), [w.platform], 'the departments not given stay');
});

t.test('clients get their workbench over the client protocol and a push after a change', async (t) => {
  const w = await world(t);
  const oa = await newApp(w, 'OA 审批');
  const alice = await online(t, w.gw, 'alice');
  const bob = await online(t, w.gw, 'bob');

  let v = await alice.client.workbench();
  t.equal(v.title, '工作台');
  t.same(v.banners.map((b) => b.imageUrl), ['/api/workbench-banners/default-1.jpg', '/api/workbench-banners/default-2.jpg', '/api/workbench-banners/default-3.jpg']);
  t.match(v.template, { isDefault: true });
  const apps = await alice.client.apps();
  t.same(v.sections[0]?.apps, apps, 'the default template: the apps of apps.list, with the same fields');

  // a template for 研发部: alice is pushed, asks again, and gets it; one burst of changes is one push
  let pushed = nextEvent(alice.client, 'workbenchChanged');
  const bobPushed = nextEvent(bob.client, 'workbenchChanged');
  let r = await call(w.http, w.root, 'POST', '/api/admin/portal/templates', { name: '研发门户', sections: [{ title: '办公', apps: [oa.id] }], depts: [w.rd] });
  t.equal(r.statusCode, 201, r.body);
  await within(pushed, WAIT_MS, 'workbench.changed');
  await within(bobPushed, WAIT_MS, 'workbench.changed reaches every client');
  v = await alice.client.workbench();
  t.match(v, { template: { name: '研发门户', isDefault: false }, sections: [{ title: '办公', apps: [{ key: oa.key, name: 'OA 审批', kind: 'custom', conversation: { kind: 'app', id: oa.key } }] }] });
  t.match((await bob.client.workbench()).template, { isDefault: true });

  // the workbench title, and an app's change, are pushed too
  pushed = nextEvent(alice.client, 'workbenchChanged');
  const cur = (await call(w.http, w.root, 'GET', '/api/admin/workbench')).json() as WorkbenchSettingsView;
  r = await call(w.http, w.root, 'PUT', '/api/admin/workbench', { version: cur.version, title: '研发之家' });
  t.equal(r.statusCode, 200, r.body);
  await within(pushed, WAIT_MS, 'workbench.changed after the title');
  t.equal((await alice.client.workbench()).title, '研发之家');
  pushed = nextEvent(alice.client, 'workbenchChanged');
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${oa.id}`, { version: 1, name: 'OA' });
  t.equal(r.statusCode, 200, r.body);
  await within(pushed, WAIT_MS, 'workbench.changed after an app changed');
  t.equal((await alice.client.workbench()).sections[0]?.apps[0]?.name, 'OA');
});
