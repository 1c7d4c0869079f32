import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import type { AppDetailView, AppListView, AppPeopleView, AppWithSecretsView } from '../../gateway/src/apps/api-types.js';
import type { AppEntry, DeptId, UserId } from '../../gateway/src/protocol/client-v1.js';
import { nextEvent, online, within, WAIT_MS } from '../helpers/clients.js';
import { call, code, png, sessionOf, type Session } from '../helpers/admin-http.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { YouduClient } from '../helpers/youdu-client.js';

/*
 * Apps in the console (issue 6, F-4.2–F-4.4) through the real gateway: the
 * system apps, create with generated keys shown once, import with given keys,
 * the profile, visibility and logo, RBAC and department scopes, versioned
 * writes, the action log; and the app list clients see over the client
 * protocol, honouring visibility, pushed again when apps change.
 */

const PW = 'console-secret-1';
const IMPORT_KEY = 'A0aWSqDL5SV4fafQl3OavoVPUn6sx7xNnD+1hOoTeWk=';

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
  const u = gw.gw.services.directory;
  await u.editUser(alice, { deptIds: [platform] });
  await u.editUser(bob, { deptIds: [sales] });
  await u.editUser(carol, { deptIds: [rd] });
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

t.test('the apps list: the spec’s system apps with their keys, the file-transfer assistant, system notifications', async (t) => {
  const w = await world(t);
  const r = await call(w.http, w.root, 'GET', '/api/admin/apps');
  t.equal(r.statusCode, 200, r.body);
  const list = (r.json() as AppListView).apps;
  const byAppId = new Map(list.filter((a) => a.appId).map((a) => [a.appId as string, a]));
  for (const id of ['sysOrgAssistant', 'sysMsgAssistant', 'sysExmailAssistant', 'sysSmsAssistant', 'sysMsgMonitor']) {
    t.match(byAppId.get(id), { kind: 'system', buin: Number }, `${id} is listed under the gateway's buin`);
  }
  t.match(byAppId.get('sysExmailAssistant'), { role: 'mail', peopleFacing: true });
  t.match(byAppId.get('sysOrgAssistant'), { role: 'integration', peopleFacing: false });
  t.match(list.find((a) => a.key === 'fileTransfer'), { role: 'fileTransfer', appId: null, peopleFacing: true, name: '文件传输助手' });
  t.match(list.find((a) => a.key === 'system'), { role: 'notice', peopleFacing: true });
  const org = byAppId.get('sysOrgAssistant') as AppListView['apps'][number];
  const d = (await call(w.http, w.root, 'GET', `/api/admin/apps/${org.id}`)).json() as AppDetailView;
  t.match(d.aesKeyMasked, /^.{4}\*{36}.{4}$/, 'an integrator sees the key masked, and may reveal it');
  t.ok(d.rights.includes('org.write'), 'the org-sync assistant may write the org');
  const del = await call(w.http, w.root, 'DELETE', `/api/admin/apps/${org.id}`);
  t.equal(del.statusCode, 403, 'system apps cannot be deleted');
});

t.test('create: generated keys shown once, then masked; reveal is logged without the secret; a spec client works with them', async (t) => {
  const w = await world(t);
  let r = await call(w.http, w.root, 'POST', '/api/admin/apps', { name: '考勤', description: '打卡与请假', homeUrl: 'https://hr.example.com/', mobileUrl: 'hrapp://home' });
  t.equal(r.statusCode, 201, r.body);
  const { app, secrets } = r.json() as AppWithSecretsView;
  t.match(secrets, { appId: /^yd[0-9A-F]{32}$/, encodingAesKey: /^[A-Za-z0-9+/]{43}=$/, token: /^[A-Za-z0-9]{32}$/ });
  t.match(app, { name: '考勤', description: '打卡与请假', homeUrl: 'https://hr.example.com/', mobileUrl: 'hrapp://home', kind: 'custom', enabled: true, version: 1 });
  t.equal(app.buin, secrets.buin);

  r = await call(w.http, w.root, 'GET', `/api/admin/apps/${app.id}`);
  t.notOk(r.body.includes(secrets.encodingAesKey), 'GET never carries the key');
  t.notOk(r.body.includes(secrets.token as string), 'nor the token');
  t.equal((r.json() as AppDetailView).aesKeyMasked, `${secrets.encodingAesKey.slice(0, 4)}${'*'.repeat(36)}${secrets.encodingAesKey.slice(-4)}`);

  r = await call(w.http, w.root, 'POST', `/api/admin/apps/${app.id}/reveal`, {});
  t.equal(r.statusCode, 200);
  t.same(r.json(), secrets, 'reveal gives the secrets in full');

  r = await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=app');
  const log = r.json() as { entries: { action: string }[] };
  t.same(log.entries.map((e) => e.action), ['app.reveal_secrets', 'app.create']);
  t.notOk(r.body.includes(secrets.encodingAesKey), 'the action log never holds the key');
  t.notOk(r.body.includes(secrets.token as string), 'nor the token');

  const yd = new YouduClient(w.gw.http, secrets.buin, secrets.appId, secrets.encodingAesKey);
  t.match(await yd.gettoken(), /^[0-9a-f]{64}$/, 'a spec client gets a token with the shown values');

  // a new key ends the old one's tokens and the old key no longer opens gettoken
  r = await call(w.http, w.root, 'POST', `/api/admin/apps/${app.id}/regenerate-key`, { version: 1 });
  t.equal(r.statusCode, 200, r.body);
  const next = r.json() as AppWithSecretsView;
  t.not(next.secrets.encodingAesKey, secrets.encodingAesKey);
  t.equal(next.secrets.appId, secrets.appId, 'the appId stays');
  const stale = await yd.raw('/cgi/gettoken', { body: yd.envelope(String(Math.floor(Date.now() / 1000))) });
  t.not(stale.json.errcode, 0, 'the old key is refused');
  t.match(await new YouduClient(w.gw.http, secrets.buin, secrets.appId, next.secrets.encodingAesKey).gettoken(), /^[0-9a-f]{64}$/);
  r = await call(w.http, w.root, 'POST', `/api/admin/apps/${app.id}/regenerate-key`, { version: 1 });
  t.equal(r.statusCode, 409, 'regenerating from a stale version is refused');
});

t.test('import: given values under a given buin; bad key, missing fields and a duplicate appId are refused', async (t) => {
  const w = await world(t);
  const base = { name: '旧系统', buin: 707168, appId: 'yd06AB76EC519B4130A802224B4C60F689', encodingAesKey: IMPORT_KEY, token: 'mytoken' };
  let r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, encodingAesKey: IMPORT_KEY.slice(1) });
  t.equal(r.statusCode, 400, 'a 43-character key');
  t.equal(code(r), 'GW_BAD_REQUEST');
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, encodingAesKey: '!'.repeat(44) });
  t.equal(r.statusCode, 400, 'not base64');
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, buin: '707168' });
  t.equal(r.statusCode, 400, 'buin as a string');
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, appId: '../x' });
  t.equal(r.statusCode, 400, 'an appId with a slash');
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, extra: 1 });
  t.equal(r.statusCode, 400, 'an unknown field');
  r = await call(w.http, w.root, 'GET', '/api/admin/apps');
  t.notOk((r.json() as AppListView).apps.some((a) => a.name === '旧系统'), 'nothing was written by the refusals');

  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', base);
  t.equal(r.statusCode, 201, r.body);
  t.match((r.json() as AppWithSecretsView).secrets, { buin: 707168, appId: base.appId, encodingAesKey: IMPORT_KEY, token: 'mytoken' });
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, name: '又一个' });
  t.equal(r.statusCode, 409, 'the same appId under the same buin');
  t.equal(code(r), 'GW_CONFLICT');
  r = await call(w.http, w.root, 'POST', '/api/admin/apps/import', { ...base, buin: 16106057, name: '另一企业' });
  t.equal(r.statusCode, 201, 'the same appId under another buin is another app');
  t.match(await new YouduClient(w.gw.http, 707168, base.appId, IMPORT_KEY).gettoken(), /^[0-9a-f]{64}$/);
});

t.test('profile: versioned writes, checked URLs, managers; the logo upload is checked by its bytes and served publicly', async (t) => {
  const w = await world(t);
  const { app } = (await call(w.http, w.root, 'POST', '/api/admin/apps', { name: '报销' })).json() as AppWithSecretsView;
  let r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { version: app.version, name: '费用报销', managers: [w.alice], enabled: false });
  t.equal(r.statusCode, 200, r.body);
  const v2 = r.json() as AppDetailView;
  t.match(v2, { name: '费用报销', enabled: false, version: 2, managers: [{ id: w.alice, name: '爱丽丝' }] });
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { version: 1, name: '过时' });
  t.equal(r.statusCode, 409, 'a stale version');
  t.equal(code(r), 'GW_CONFLICT');
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { name: '无版本' });
  t.equal(r.statusCode, 400, 'version is required');
  for (const [field, value] of [['homeUrl', 'javascript:alert(1)'], ['homeUrl', 'ftp://x/'], ['mobileUrl', 'javascript:alert(1)'], ['mobileUrl', 'file:///etc/passwd'], ['name', ''], ['managers', [999999]]] as const) {
    r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { version: 2, [field]: value });
    t.ok(r.statusCode === 400 || r.statusCode === 404, `${field} = ${JSON.stringify(value)} is refused (${r.statusCode})`);
  }
  t.equal(((await call(w.http, w.root, 'GET', `/api/admin/apps/${app.id}`)).json() as AppDetailView).version, 2, 'no refusal changed the app');

  // the logo
  const img = png();
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/logo?version=2`, img, { 'content-type': 'image/png' });
  t.equal(r.statusCode, 200, r.body);
  const withLogo = r.json() as AppDetailView;
  t.match(withLogo.logoUrl, /^\/api\/app-logos\/[0-9a-f]{64}\.png$/);
  const pub = await fetch(`${w.gw.http}${withLogo.logoUrl as string}`);
  t.equal(pub.status, 200, 'public: no session needed');
  t.equal(pub.headers.get('content-type'), 'image/png');
  t.same(Buffer.from(await pub.arrayBuffer()), img, 'the same bytes');
  const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/logo`, gif, { 'content-type': 'image/png' });
  t.equal(r.statusCode, 400, 'a GIF sent as image/png is refused by its bytes');
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/logo`, Buffer.from('<svg onload=alert(1)>'), { 'content-type': 'application/octet-stream' });
  t.equal(r.statusCode, 400, 'not an image');
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/logo`, png(600 * 1024), { 'content-type': 'image/png' });
  t.equal(r.statusCode, 413, 'larger than 512 KB');
  t.equal(code(r), 'GW_FILE_TOO_LARGE');
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/logo`, img, { 'content-type': 'text/plain' });
  t.ok(r.statusCode === 400 || r.statusCode === 415, `another body type is refused (${r.statusCode})`);
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { version: withLogo.version, logo: '../../huitong.db' });
  t.equal(r.statusCode, 400, 'a logo name that is not an uploaded logo');
  for (const p of ['/api/app-logos/..%2F..%2Fhuitong.db', '/api/app-logos/../../huitong.db', `/api/app-logos/${'0'.repeat(64)}.png`, '/api/app-logos/%2e%2e']) {
    const res = await fetch(`${w.gw.http}${p}`);
    t.notOk(res.status === 200 && res.headers.get('content-type')?.startsWith('image/'), `${p} serves no file (${res.status})`);
  }
  t.equal(((await call(w.http, w.root, 'GET', `/api/admin/apps/${app.id}`)).json() as AppDetailView).logoUrl, withLogo.logoUrl, 'the refused uploads left the logo as it was');

  r = await call(w.http, w.root, 'DELETE', `/api/admin/apps/${app.id}?version=1`);
  t.equal(r.statusCode, 409, 'deleting from a stale version');
  r = await call(w.http, w.root, 'DELETE', `/api/admin/apps/${app.id}`);
  t.equal(r.statusCode, 204);
  t.notOk(((await call(w.http, w.root, 'GET', '/api/admin/apps')).json() as AppListView).apps.some((a) => a.id === app.id), 'gone from the list');
  const log = (await call(w.http, w.root, 'GET', '/api/admin/log?targetKind=app')).json() as { entries: { action: string }[] };
  t.same(log.entries.map((e) => e.action), ['app.delete', 'app.logo', 'app.update', 'app.create']);
});

t.test('RBAC: without the apps right everything is refused; a scoped administrator names and changes only people in scope', async (t) => {
  const w = await world(t);
  const groupsOnly = await adminWith(w, 'grp', ['groups'], null);
  for (const [m, url] of [['GET', '/api/admin/apps'], ['POST', '/api/admin/apps'], ['GET', '/api/admin/apps/1']] as const) {
    const r = await call(w.http, groupsOnly, m, url, m === 'POST' ? { name: 'x' } : undefined);
    t.equal(r.statusCode, 403, `${m} ${url} without the apps right`);
    t.equal(code(r), 'GW_FORBIDDEN');
  }
  let r = await call(w.http, { ...w.root, csrf: 'wrong' }, 'POST', '/api/admin/apps', { name: 'csrf' });
  t.equal(r.statusCode, 403, 'no CSRF token, no change');

  const { app } = (await call(w.http, w.root, 'POST', '/api/admin/apps', { name: '研发工具' })).json() as AppWithSecretsView;
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: 1, all: false, depts: [w.sales], users: [w.bob] });
  t.equal(r.statusCode, 200, r.body);
  const scoped = await adminWith(w, 'rdadmin', ['apps'], [w.rd]);
  r = await call(w.http, scoped, 'GET', `/api/admin/apps/${app.id}`);
  t.equal(r.statusCode, 200);
  const seen = r.json() as AppDetailView;
  t.match(seen.visibilityDetail, { all: false, depts: [], users: [], hiddenDepts: 1, hiddenUsers: 1 }, 'the sales department and bob are only counted');
  t.notOk(r.body.includes('鲍勃') || r.body.includes('销售部'), 'no name outside the scope');
  r = await call(w.http, scoped, 'GET', '/api/admin/apps/people?q=bob');
  t.same((r.json() as AppPeopleView).members, [], 'the people picker does not find people outside the scope');
  r = await call(w.http, scoped, 'GET', '/api/admin/apps/people?q=carol');
  t.match((r.json() as AppPeopleView).members, [{ id: w.carol, name: '卡罗尔', dept: '研发部' }], 'but finds those inside');

  r = await call(w.http, scoped, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: seen.version, all: false, depts: [], users: [w.bob] });
  t.equal(r.statusCode, 403, 'a person outside the scope');
  r = await call(w.http, scoped, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: seen.version, all: false, depts: [w.sales], users: [] });
  t.equal(r.statusCode, 403, 'a department outside the scope');
  r = await call(w.http, scoped, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: seen.version, all: true });
  t.equal(r.statusCode, 403, 'everyone needs a whole-organisation administrator');
  r = await call(w.http, scoped, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: seen.version, all: false, depts: [w.platform], users: [w.carol] });
  t.equal(r.statusCode, 200, r.body);
  t.match((r.json() as AppDetailView).visibilityDetail, { depts: [{ id: w.platform, path: '研发部/平台组' }], users: [{ id: w.carol }], hiddenDepts: 1, hiddenUsers: 1 });
  const full = (await call(w.http, w.root, 'GET', `/api/admin/apps/${app.id}`)).json() as AppDetailView;
  t.same(full.visibilityDetail.depts.map((d) => d.id).sort(), [w.platform, w.sales].sort(), 'the entries outside the scope were kept');
  t.same(full.visibilityDetail.users.map((u) => u.id).sort(), [w.bob, w.carol].sort());
});

t.test('the apps clients see: visibility with subdepartments, the file-transfer assistant, apps.changed when apps change', async (t) => {
  const w = await world(t);
  const { app } = (await call(w.http, w.root, 'POST', '/api/admin/apps', { name: '研发门户', homeUrl: 'https://rd.example.com/', mobileUrl: 'rdapp://open' })).json() as AppWithSecretsView;
  let r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: 1, all: false, depts: [w.rd] });
  t.equal(r.statusCode, 200, r.body);
  const alice = await online(t, w.gw, 'alice');
  const bob = await online(t, w.gw, 'bob');
  const keys = (l: AppEntry[]) => l.map((a) => a.key);
  const aliceApps = await alice.client.apps();
  t.ok(keys(aliceApps).includes(app.key), 'alice (研发部/平台组) sees an app visible to 研发部');
  t.match(aliceApps.find((a) => a.key === app.key), { name: '研发门户', kind: 'custom', homeUrl: 'https://rd.example.com/', mobileUrl: 'rdapp://open', conversation: { kind: 'app', id: app.key } });
  const ft = aliceApps[0] as AppEntry;
  t.match(ft, { kind: 'fileTransfer', conversation: { kind: 'user', id: w.alice } }, 'the file-transfer assistant comes first and is a conversation with oneself');
  t.ok(aliceApps.some((a) => a.kind === 'mail') && aliceApps.some((a) => a.kind === 'notice'), 'the mail assistant and system notifications');
  t.notOk(aliceApps.some((a) => a.key === 'sysOrgAssistant'), 'integration-only system apps are not listed');
  t.notOk(keys(await bob.client.apps()).includes(app.key), 'bob (销售部) does not');

  // the file-transfer assistant: a message to oneself reaches one's other devices
  const alice2 = await online(t, w.gw, 'alice');
  const got = nextEvent(alice2.client, 'message', (m) => m.from === w.alice);
  await alice.client.sendText({ kind: 'user', id: w.alice }, '传到手机');
  t.match(await within(got, WAIT_MS, 'the note on the other device'), { body: { text: '传到手机' }, to: { kind: 'user', id: w.alice } });

  // changes are pushed; bob then sees the app
  let pushed = nextEvent(bob.client, 'appsChanged');
  r = await call(w.http, w.root, 'PUT', `/api/admin/apps/${app.id}/visibility`, { version: 2, all: false, depts: [w.rd], users: [w.bob] });
  t.equal(r.statusCode, 200);
  await within(pushed, WAIT_MS, 'apps.changed');
  t.ok(keys(await bob.client.apps()).includes(app.key), 'now bob sees it');
  pushed = nextEvent(bob.client, 'appsChanged');
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${app.id}`, { version: 3, enabled: false });
  await within(pushed, WAIT_MS, 'apps.changed');
  t.notOk(keys(await bob.client.apps()).includes(app.key), 'a disabled app is not listed');

  // the mail assistant's home page is the mail web address
  const mail = ((await call(w.http, w.root, 'GET', '/api/admin/apps')).json() as AppListView).apps.find((a) => a.role === 'mail') as AppListView['apps'][number];
  r = await call(w.http, w.root, 'PATCH', `/api/admin/apps/${mail.id}`, { version: mail.version, homeUrl: 'https://mail.example.com/' });
  t.equal(r.statusCode, 200, r.body);
  t.match((await alice.client.apps()).find((a) => a.kind === 'mail'), { homeUrl: 'https://mail.example.com/' });
});
