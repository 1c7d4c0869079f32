import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { CSRF_HEADER, registerAdminAuthRoutes } from '../../gateway/src/admin/http.js';
import { registerGroupRoutes } from '../../gateway/src/admin/routes-groups.js';
import { registerSystemRoutes } from '../../gateway/src/admin/routes-system.js';
import type { UserRecord } from '../../gateway/src/directory/types.js';
import { installErrorHandler } from '../../gateway/src/edges/http/errors.js';
import { signLicence, type Licence } from '../../gateway/src/licence/format.js';
import { generateVendorKeyPair } from '../../gateway/src/licence/keys.js';
import { createLogger } from '../../gateway/src/log.js';
import type { DeptId, GroupId } from '../../gateway/src/protocol/client-v1.js';
import { buildServices, type Services } from '../../gateway/src/services.js';
import { tempDir, testConfig } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';

/*
 * The console's group, licence, status, role/admin and action-log endpoints
 * through inject(): what an administrator sees and what they are refused.
 */

const PW = 'console-secret-1';
const vendor = generateVendorKeyPair();
const stranger = generateVendorKeyPair();

interface Res {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
  json(): unknown;
}
type Body = Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } };
const body = (r: Res) => r.json() as Body;

interface Session {
  cookie: string;
  csrf: string;
  id: number;
}

const LISTENERS = [
  { name: 'http', port: 7080, up: true },
  { name: 'https+wss', port: 7443, up: true },
  { name: 'tcp', port: null, up: false },
];

async function buildApp(t: Test, s: Services = makeServices(t)): Promise<{ app: FastifyInstance; s: Services }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  installErrorHandler(app, createLogger('silent'));
  registerAdminAuthRoutes(app, { admin: s.admin });
  registerGroupRoutes(app, { services: s, listeners: () => LISTENERS });
  registerSystemRoutes(app, { services: s, listeners: () => LISTENERS });
  await app.ready();
  t.teardown(() => app.close());
  return { app, s };
}

function sessionOf(r: Res): Session {
  const h = r.headers['set-cookie'];
  const c = String(Array.isArray(h) ? h[0] : h ?? '');
  const b = body(r);
  return { cookie: c.split(';')[0] as string, csrf: String(b.csrfToken), id: Number(b.id) };
}

async function setupRoot(app: FastifyInstance): Promise<Session> {
  const r = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', payload: { username: 'root', password: PW } });
  if (r.statusCode !== 201) throw new Error(`setup failed: ${r.body}`);
  return sessionOf(r);
}

async function login(app: FastifyInstance, username: string, password: string): Promise<Session> {
  const r = await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username, password } });
  if (r.statusCode !== 200) throw new Error(`login failed: ${r.body}`);
  return sessionOf(r);
}

function call(app: FastifyInstance, s: Session | null, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown): Promise<Res> {
  const headers: Record<string, string> = {};
  if (s) {
    headers.cookie = s.cookie;
    headers[CSRF_HEADER] = s.csrf;
  }
  return app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
}

async function users(s: Services, accounts: string[], deptIds: DeptId[] = []): Promise<UserRecord[]> {
  const out: UserRecord[] = [];
  for (const a of accounts) out.push(await s.directory.createUser({ account: a, name: `名-${a}`, deptIds }));
  return out;
}

async function logEntries(app: FastifyInstance, root: Session, query: string): Promise<{ total: number; entries: Body[] }> {
  const r = await call(app, root, 'GET', `/api/admin/log?${query}`);
  if (r.statusCode !== 200) throw new Error(r.body);
  return r.json() as { total: number; entries: Body[] };
}

t.test('groups: create, search, read, rename, add/remove members, delete; each in the action log', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const [u1, u2, u3] = (await users(s, ['zhang', 'li', 'wang'])) as [UserRecord, UserRecord, UserRecord];

  let r = await call(app, root, 'POST', '/api/admin/groups', { name: '项目组', ownerAccount: 'zhang', memberIds: [u2.id] });
  t.equal(r.statusCode, 201, r.body);
  const g = body(r);
  const gid = g.id as GroupId;
  t.match(g, { name: '项目组', ownerId: u1.id, ownerName: '名-zhang', origin: 'local', memberCount: 2, memberLimit: 1000, ownerExempt: false });
  t.same((g.members as Body[]).map((m) => m.name).sort(), ['名-li', '名-zhang'].sort(), 'members with names');
  await s.directory.createGroup('其他', u3.id, []);

  r = await call(app, root, 'GET', '/api/admin/groups?q=项目');
  t.equal(r.statusCode, 200);
  t.match(body(r), { total: 1, offset: 0, limit: 50, groups: [{ id: gid, memberCount: 2, origin: 'local', memberLimit: 1000 }] });
  r = await call(app, root, 'GET', '/api/admin/groups?limit=1&offset=1');
  t.match(body(r), { total: 2, groups: [{ name: '其他' }] }, 'paged');
  r = await call(app, root, 'GET', `/api/admin/groups/${gid}`);
  t.equal((body(r).members as unknown[]).length, 2);

  r = await call(app, root, 'PATCH', `/api/admin/groups/${gid}`, { name: '  新项目组 ' });
  t.equal(r.statusCode, 200);
  t.equal(body(r).name, '新项目组');

  r = await call(app, root, 'POST', `/api/admin/groups/${gid}/members`, { add: [u3.id], remove: [u2.id] });
  t.equal(r.statusCode, 200);
  t.same((body(r).members as Body[]).map((m) => m.id).sort(), [u1.id, u3.id].sort());
  t.equal(body(r).memberCount, 2);

  r = await call(app, root, 'DELETE', `/api/admin/groups/${gid}`);
  t.equal(r.statusCode, 204);
  r = await call(app, root, 'GET', `/api/admin/groups/${gid}`);
  t.equal(r.statusCode, 404);
  t.equal(body(r).error?.code, 'GW_NOT_FOUND');

  const log = await logEntries(app, root, 'targetKind=group');
  t.same(log.entries.map((e) => e.action), ['group.delete', 'group.members', 'group.rename', 'group.create'], 'newest first');
  const [del, members, rename, create] = log.entries as [Body, Body, Body, Body];
  t.match(create, { adminUsername: 'root', targetId: String(gid), before: null, after: { name: '项目组', memberCount: 2 } });
  t.same([rename.before, rename.after], [{ name: '项目组' }, { name: '新项目组' }]);
  t.match(members.after, { added: [u3.id], removed: [u2.id] });
  t.match(del, { before: { name: '新项目组' }, after: null });
});

t.test('groups: bad input is refused with the field named, and nothing changes', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const [u1] = (await users(s, ['zhang'])) as [UserRecord];
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', '/api/admin/groups', { name: 'x', members: [1] }, /unknown field members/],
    ['POST', '/api/admin/groups', { memberIds: [u1.id] }, /name is required/],
    ['POST', '/api/admin/groups', { name: 'x', memberIds: 'all' }, /memberIds must be a list/],
    ['POST', '/api/admin/groups', { name: 'x', memberIds: [-1] }, /memberIds must be positive/],
    ['POST', '/api/admin/groups', { name: '\u0000', memberIds: [] }, /group name/],
    ['POST', '/api/admin/groups', { name: 'x', ownerId: 1, ownerAccount: 'zhang' }, /not both/],
    ['POST', '/api/admin/groups', [1, 2], /JSON object/],
    ['PATCH', '/api/admin/groups/1', { name: 'x', owner: 2 }, /unknown field owner/],
    ['PATCH', '/api/admin/groups/abc', { name: 'x' }, /group id must be a positive integer/],
    ['POST', '/api/admin/groups/1/members', {}, /add or remove/],
    ['POST', '/api/admin/groups/1/members', { add: [1], drop: [2] }, /unknown field drop/],
    ['PUT', '/api/admin/groups/settings', { groupMemberLimit: 1 }, /groupMemberLimit must be an integer from 2/],
    ['PUT', '/api/admin/groups/settings', { groupMemberLimit: 100, maxFile: 2 }, /unknown field maxFile/],
    ['GET', '/api/admin/groups?limit=0', undefined, /limit must be an integer/],
    ['GET', '/api/admin/groups?sort=name', undefined, /unknown parameter sort/],
  ];
  for (const [method, url, payload, msg] of cases) {
    const r = await call(app, root, method as 'POST', url, payload);
    t.equal(r.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}`);
    t.equal(body(r).error?.code, 'GW_BAD_REQUEST');
    t.match(body(r).error?.message, msg);
  }
  let r = await call(app, root, 'POST', '/api/admin/groups', { name: 'x', memberIds: [u1.id, 999] });
  t.equal(r.statusCode, 404, 'unknown member');
  t.match(body(r).error?.message, /999/);
  r = await app.inject({ method: 'POST', url: '/api/admin/groups', headers: { cookie: root.cookie }, payload: { name: 'x' } });
  t.equal(r.statusCode, 403, 'no CSRF header');
  t.equal(body(r).error?.code, 'GW_CSRF');
  r = await app.inject({ method: 'GET', url: '/api/admin/groups' });
  t.equal(r.statusCode, 401, 'not logged in');
  t.equal((await s.directory.findGroupsByName('x')).length, 0, 'no group was made');
  t.equal(s.settings.get().groupMemberLimit, 1000, 'settings unchanged');
});

t.test('member limit: configurable; a whitelisted owner may exceed it', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const [owner, a, b, c] = (await users(s, ['owner', 'a1', 'b1', 'c1'])) as [UserRecord, UserRecord, UserRecord, UserRecord];

  let r = await call(app, root, 'GET', '/api/admin/groups/settings');
  t.same(body(r), { groupMemberLimit: 1000, rtxGroupMemberLimit: 80 });
  r = await call(app, root, 'PUT', '/api/admin/groups/settings', { groupMemberLimit: 3 });
  t.same(body(r), { groupMemberLimit: 3, rtxGroupMemberLimit: 80 });

  r = await call(app, root, 'POST', '/api/admin/groups', { name: '小组', ownerId: owner.id, memberIds: [a.id, b.id, c.id] });
  t.equal(r.statusCode, 409, 'four at creation');
  t.equal(body(r).error?.code, 'GW_GROUP_LIMIT');
  t.match(body(r).error?.message, /at most 3 members/);
  t.same(body(r).error?.details, { limit: 3, memberCount: 0, wouldBe: 4, room: 3 });

  r = await call(app, root, 'POST', '/api/admin/groups', { name: '小组', ownerId: owner.id, memberIds: [a.id, b.id] });
  t.equal(r.statusCode, 201);
  const gid = body(r).id as number;
  t.equal(body(r).memberLimit, 3);
  r = await call(app, root, 'POST', `/api/admin/groups/${gid}/members`, { add: [c.id] });
  t.equal(r.statusCode, 409);
  t.equal(body(r).error?.code, 'GW_GROUP_LIMIT');
  t.match(body(r).error?.message, /at most 3 members; this change would make 4 \(it has 3; 0 more fit\)/);
  t.same(body(r).error?.details, { limit: 3, memberCount: 3, wouldBe: 4, room: 0 }, 'the figures for the console');
  t.equal(body(await call(app, root, 'GET', `/api/admin/groups/${gid}`)).memberCount, 3, 'nothing was added');

  r = await call(app, root, 'PUT', `/api/admin/groups/exempt/${owner.id}`);
  t.equal(r.statusCode, 200);
  t.same(body(r), { userId: owner.id, exempt: true });
  r = await call(app, root, 'GET', '/api/admin/groups/exempt');
  t.same(body(r), { users: [{ id: owner.id, account: 'owner', name: '名-owner' }] });
  r = await call(app, root, 'POST', `/api/admin/groups/${gid}/members`, { add: [c.id] });
  t.equal(r.statusCode, 200, 'the whitelisted owner’s group may exceed the limit');
  t.match(body(r), { memberCount: 4, memberLimit: null, ownerExempt: true });

  r = await call(app, root, 'DELETE', `/api/admin/groups/exempt/${owner.id}`);
  t.same(body(r), { userId: owner.id, exempt: false });
  t.same(body(await call(app, root, 'GET', '/api/admin/groups/exempt')), { users: [] });
  r = await call(app, root, 'POST', `/api/admin/groups/${gid}/members`, { remove: [c.id] });
  t.equal(r.statusCode, 200, 'shrinking a group over the limit is allowed');
  r = await call(app, root, 'PUT', '/api/admin/groups/exempt/99999');
  t.equal(r.statusCode, 404);

  const log = await logEntries(app, root, 'action=settings.*');
  t.match(log.entries, [{ action: 'settings.group_limits', before: { groupMemberLimit: 1000 }, after: { groupMemberLimit: 3 } }]);
  t.same((await logEntries(app, root, 'action=group.exempt_*')).entries.map((e) => [e.action, e.targetId]),
    [['group.exempt_remove', String(owner.id)], ['group.exempt_add', String(owner.id)]]);
});

t.test('RTX-origin groups have their own limit (80); RTX owns their members', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const people = await users(s, Array.from({ length: 82 }, (_, i) => `rtx${i}`));
  const ids = people.map((u) => u.id);
  const g = await s.directory.createGroup('RTX 群', null, ids.slice(0, 79), 'rtx', 'rtx-group-1');
  let r = await call(app, root, 'GET', `/api/admin/groups/${g.id}`);
  t.match(body(r), { origin: 'rtx', memberLimit: 80, memberCount: 79 });
  // the console cannot change what RTX owns
  r = await call(app, root, 'POST', `/api/admin/groups/${g.id}/members`, { add: [ids[79]] });
  t.equal(r.statusCode, 409);
  t.equal(body(r).error?.code, 'GW_RTX_OWNED');
  t.equal(body(await call(app, root, 'GET', `/api/admin/groups/${g.id}`)).memberCount, 79, 'a refused change writes nothing');
  // the directory (what the RTX sync writes through) holds RTX groups to 80
  await t.rejects(s.directory.changeGroupMembers(g.id, ids.slice(79, 81), []), { code: 'GW_GROUP_LIMIT', message: /at most 80 members; this change would make 81/ });
  t.equal((await s.directory.changeGroupMembers(g.id, [ids[79] as UserRecord['id']], [])).memberIds.length, 80);
  // a local group is not bound by the RTX limit
  r = await call(app, root, 'POST', '/api/admin/groups', { name: '本地群', memberIds: ids.slice(0, 82) });
  t.equal(r.statusCode, 201);
  t.equal(body(r).memberCount, 82);
});

t.test('a scoped administrator manages only groups whose members are all inside the scope', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const sales = (await s.directory.createDept(null, '销售部')).id;
  const east = (await s.directory.createDept(sales, '华东')).id;
  const rnd = (await s.directory.createDept(null, '研发部')).id;
  const [inA, inB] = (await users(s, ['east1', 'east2'], [east])) as [UserRecord, UserRecord];
  const [out] = (await users(s, ['dev1'], [rnd])) as [UserRecord];
  const [nowhere] = (await users(s, ['nodept'])) as [UserRecord];
  const inside = await s.directory.createGroup('销售群', inA.id, [inB.id]);
  const mixed = await s.directory.createGroup('混合群', inA.id, [out.id]);
  const loose = await s.directory.createGroup('无部门群', inA.id, [nowhere.id]);

  let r = await call(app, root, 'POST', '/api/admin/roles', { name: '销售群管', rights: ['groups'], scopeDeptIds: [sales] });
  t.equal(r.statusCode, 201, r.body);
  const roleId = body(r).id as number;
  r = await call(app, root, 'POST', '/api/admin/admins', { username: 'salesadm', password: 'sales-password-1', roleIds: [roleId] });
  t.equal(r.statusCode, 201, r.body);
  const sub = await login(app, 'salesadm', 'sales-password-1');

  r = await call(app, sub, 'GET', '/api/admin/groups');
  t.equal(r.statusCode, 200);
  t.same((body(r).groups as Body[]).map((g) => g.id), [inside.id], 'only the group inside the scope is listed');
  t.equal(body(r).total, 1);

  for (const g of [mixed, loose]) {
    for (const [method, url, payload] of [
      ['GET', `/api/admin/groups/${g.id}`, undefined],
      ['PATCH', `/api/admin/groups/${g.id}`, { name: 'taken over' }],
      ['POST', `/api/admin/groups/${g.id}/members`, { remove: [inA.id] }],
      ['DELETE', `/api/admin/groups/${g.id}`, undefined],
    ] as const) {
      r = await call(app, sub, method, url, payload);
      t.equal(r.statusCode, 403, `${method} ${g.name}`);
      t.equal(body(r).error?.code, 'GW_FORBIDDEN');
    }
  }
  r = await call(app, sub, 'PATCH', `/api/admin/groups/${mixed.id}`, { name: 'x' });
  t.match(body(r).error?.message, /may only manage 销售部; 研发部 is outside it/);
  t.equal((await s.directory.getGroup(mixed.id))?.name, '混合群', 'unchanged');

  r = await call(app, sub, 'POST', `/api/admin/groups/${inside.id}/members`, { add: [out.id] });
  t.equal(r.statusCode, 403, 'cannot bring in someone from outside the scope');
  r = await call(app, sub, 'POST', '/api/admin/groups', { name: '新群', ownerId: inA.id, memberIds: [out.id] });
  t.equal(r.statusCode, 403, 'cannot create a group with someone outside');
  r = await call(app, sub, 'PUT', `/api/admin/groups/exempt/${out.id}`);
  t.equal(r.statusCode, 403, 'cannot whitelist someone outside');

  r = await call(app, sub, 'PATCH', `/api/admin/groups/${inside.id}`, { name: '华东销售群' });
  t.equal(r.statusCode, 200, 'inside the scope');
  r = await call(app, sub, 'POST', '/api/admin/groups', { name: '华东新群', ownerId: inA.id, memberIds: [inB.id] });
  t.equal(r.statusCode, 201);

  for (const url of ['/api/admin/groups/settings', '/api/admin/licence', '/api/admin/log', '/api/admin/roles', '/api/admin/admins']) {
    r = await call(app, sub, 'GET', url);
    t.equal(r.statusCode, 403, `no right for ${url}`);
  }
  t.equal((await call(app, sub, 'GET', '/api/admin/status')).statusCode, 200, 'status needs only a login');
});

function day(offsetDays: number): string {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function licence(over: Partial<Licence> = {}): Licence {
  return { id: 'HT-TEST-0001', company: '汇通测试有限公司', seats: 200, issuedAt: day(-30), expiresAt: day(335), product: 'huitong', ...over };
}

t.test('licence: import valid, refuse tampered / foreign / expired, warn before expiry, history, request file', async (t) => {
  const services = buildServices(testConfig(tempDir(t)), createLogger('silent'), { vendorPublicKeyPem: vendor.publicKeyPem });
  t.teardown(() => services.close());
  const { app } = await buildApp(t, services);
  const root = await setupRoot(app);

  let r = await call(app, root, 'GET', '/api/admin/licence');
  t.match(body(r), { state: 'trial', seats: 50, licenceId: null });

  const valid = signLicence(licence(), vendor.privateKeyPem);
  const parsed = JSON.parse(valid) as { licence: Licence };
  parsed.licence.seats = 20000;
  const tampered = JSON.stringify(parsed);
  const refusals: [string, string][] = [
    [tampered, 'bad_signature'],
    [signLicence(licence({ id: 'HT-TEST-0002' }), stranger.privateKeyPem), 'bad_signature'],
    [signLicence(licence({ id: 'HT-OLD', issuedAt: day(-400), expiresAt: day(-1) }), vendor.privateKeyPem), 'expired'],
    ['{"not":"a licence"}', 'malformed'],
  ];
  for (const [file, reason] of refusals) {
    r = await call(app, root, 'POST', '/api/admin/licence', { file });
    t.equal(r.statusCode, 400, reason);
    t.equal(body(r).error?.code, 'GW_LICENCE_INVALID');
    t.equal(body(r).error?.details?.reason, reason);
  }
  t.equal(body(await call(app, root, 'GET', '/api/admin/licence')).state, 'trial', 'refusals changed nothing');
  r = await call(app, root, 'POST', '/api/admin/licence', { text: valid });
  t.equal(r.statusCode, 400);
  t.match(body(r).error?.message, /unknown field text/);

  r = await call(app, root, 'POST', '/api/admin/licence', { file: valid });
  t.equal(r.statusCode, 200, r.body);
  t.match(body(r), { licenceId: 'HT-TEST-0001', changed: true, status: { state: 'valid', seats: 200, company: '汇通测试有限公司', warnings: [] } });
  r = await call(app, root, 'POST', '/api/admin/licence', { file: valid });
  t.match(body(r), { changed: false }, 'the same licence again changes nothing');

  const soon = signLicence(licence({ id: 'HT-TEST-0003', expiresAt: day(10) }), vendor.privateKeyPem);
  r = await call(app, root, 'POST', '/api/admin/licence', { file: soon });
  t.match(body(r), { changed: true, replaced: 'HT-TEST-0001' });
  r = await call(app, root, 'GET', '/api/admin/licence');
  t.match(body(r), { state: 'expiring', daysLeft: 10 });
  t.match((body(r).warnings as string[])[0], /expires on .*, in 10 days; request a renewal/);

  r = await call(app, root, 'GET', '/api/admin/licence/history');
  t.same((body(r).licences as Body[]).map((l) => [l.id, l.active]).sort(), [['HT-TEST-0001', false], ['HT-TEST-0003', true]]);

  r = await call(app, root, 'POST', '/api/admin/licence/request', { kind: 'renew', expiresAt: day(400), contact: { name: '王工', email: 'it@example.com' } });
  t.equal(r.statusCode, 200, r.body);
  t.match(String(r.headers['content-disposition']), /^attachment; filename="huitong-licence-request-renew-\d{4}-\d{2}-\d{2}\.json"$/);
  t.match(body(r), { format: 'huitong-licence-request/1', kind: 'renew', licenceId: 'HT-TEST-0003', requested: { seats: 200, expiresAt: day(400) }, contact: { name: '王工' } });
  r = await call(app, root, 'POST', '/api/admin/licence/request', { kind: 'expand', seats: 100, contact: { name: '王工', email: 'it@example.com' } });
  t.equal(r.statusCode, 400);
  t.match(body(r).error?.message, /seats must be more than the 200/);
  r = await call(app, root, 'POST', '/api/admin/licence/request', { kind: 'expand', seats: 300, contact: { name: '王工', fax: '1' } });
  t.match(body(r).error?.message, /unknown field contact.fax/);

  const log = await logEntries(app, root, 'action=licence.*');
  t.same(log.entries.map((e) => [e.action, e.targetId]), [['licence.request', 'HT-TEST-0003'], ['licence.import', 'HT-TEST-0003'], ['licence.import', 'HT-TEST-0001']]);
  t.match(log.entries[2], { before: { state: 'trial', seats: 50 }, after: { state: 'valid', seats: 200, licenceId: 'HT-TEST-0001' } });
});

t.test('status: listeners, database and licence; open only until setup', async (t) => {
  const { app } = await buildApp(t);
  let r: Res = await app.inject({ method: 'GET', url: '/api/admin/status' });
  t.equal(r.statusCode, 200, 'the setup wizard reads it without a login');
  t.match(body(r), { needsSetup: true, listeners: LISTENERS, database: { up: true }, licence: { state: 'trial', seats: 50 } });
  t.equal(r.headers['cache-control'], 'no-store', 'admin security headers apply');
  const root = await setupRoot(app);
  r = await app.inject({ method: 'GET', url: '/api/admin/status' });
  t.equal(r.statusCode, 401, 'after setup: administrators only');
  t.equal(body(r).error?.code, 'GW_TOKEN_INVALID');
  r = await call(app, root, 'GET', '/api/admin/status');
  t.equal(r.statusCode, 200);
  t.match(body(r), { needsSetup: false, listeners: [{ name: 'http', up: true }, { name: 'https+wss' }, { name: 'tcp', port: null, up: false }] });
});

t.test('roles and administrators through the API; escalation refused', async (t) => {
  const { app } = await buildApp(t);
  const root = await setupRoot(app);
  let r = await call(app, root, 'POST', '/api/admin/roles', { name: '管理员管理', rights: ['admins', 'logs'], wholeOrg: true });
  t.equal(r.statusCode, 201);
  const roleId = body(r).id as number;
  r = await call(app, root, 'POST', '/api/admin/roles', { name: 'x', rights: ['logs'], colour: 'red' });
  t.match(body(r).error?.message, /unknown field colour/);
  r = await call(app, root, 'PATCH', `/api/admin/roles/${roleId}`, { name: '账号管理' });
  t.equal(body(r).name, '账号管理');
  r = await call(app, root, 'POST', '/api/admin/admins', { username: 'deputy', password: 'deputy-password-1', roleIds: [roleId] });
  t.equal(r.statusCode, 201);
  const deputyId = body(r).id as number;
  t.notOk(JSON.stringify(body(r)).includes('deputy-password-1'));
  r = await call(app, root, 'GET', '/api/admin/admins');
  t.same((body(r).admins as Body[]).map((a) => a.username).sort(), ['deputy', 'root']);
  r = await call(app, root, 'GET', '/api/admin/roles');
  t.match((body(r).roles as Body[]).find((x) => x.id === roleId), { holders: 1 });

  const deputy = await login(app, 'deputy', 'deputy-password-1');
  r = await call(app, deputy, 'PUT', `/api/admin/admins/${deputyId}/roles`, { roleIds: [1, roleId] });
  t.equal(r.statusCode, 403, 'cannot give themselves the super-admin role');
  r = await call(app, deputy, 'POST', '/api/admin/roles', { name: '群组', rights: ['groups'], wholeOrg: true });
  t.equal(r.statusCode, 403, 'cannot create a role with a right they lack');
  r = await call(app, deputy, 'PATCH', `/api/admin/admins/${root.id}`, { displayName: 'pwned' });
  t.equal(r.statusCode, 403, 'cannot manage the super-administrator');

  r = await call(app, root, 'DELETE', `/api/admin/roles/${roleId}`);
  t.equal(r.statusCode, 409, 'still held');
  r = await call(app, root, 'PATCH', `/api/admin/admins/${deputyId}`, { disabled: true });
  t.equal(body(r).disabled, true);
  r = await call(app, root, 'DELETE', `/api/admin/admins/${deputyId}`);
  t.equal(r.statusCode, 204);
  r = await call(app, root, 'DELETE', `/api/admin/roles/${roleId}`);
  t.equal(r.statusCode, 204);
});

t.test('action log: filters by time, administrator, action, target kind; pages; bad filters refused', async (t) => {
  const { app, s } = await buildApp(t);
  const root = await setupRoot(app);
  const [u1] = (await users(s, ['zhang'])) as [UserRecord];
  const start = Date.now();
  let r = await call(app, root, 'POST', '/api/admin/groups', { name: 'A', memberIds: [u1.id] });
  const gid = body(r).id as number;
  await call(app, root, 'PATCH', `/api/admin/groups/${gid}`, { name: 'B' });
  await call(app, root, 'POST', '/api/admin/roles', { name: '日志', rights: ['logs'], wholeOrg: true });

  let log = await logEntries(app, root, `targetKind=group&admin=${root.id}`);
  t.same(log.entries.map((e) => e.action), ['group.rename', 'group.create']);
  log = await logEntries(app, root, 'action=group.*&limit=1');
  t.equal(log.total, 2);
  t.equal(log.entries.length, 1);
  t.equal(log.entries[0]?.action, 'group.rename');
  log = await logEntries(app, root, 'action=group.*&limit=1&offset=1');
  t.equal(log.entries[0]?.action, 'group.create');
  log = await logEntries(app, root, 'action=role.create');
  t.match(log.entries, [{ targetKind: 'role', after: { name: '日志', rights: ['logs'] } }]);
  log = await logEntries(app, root, `from=${start}&to=${Date.now() + 1}`);
  t.ok(log.entries.every((e) => (e.at as number) >= start), 'from bound');
  t.notOk(log.entries.some((e) => e.action === 'admin.setup'), 'setup happened before from');
  log = await logEntries(app, root, `to=${start}`);
  t.ok(log.entries.some((e) => e.action === 'admin.setup'));
  log = await logEntries(app, root, 'admin=99999');
  t.equal(log.total, 0);

  for (const q of ['limit=0', 'limit=501', 'from=yesterday', 'admin=root', 'who=root', 'offset=-1']) {
    r = await call(app, root, 'GET', `/api/admin/log?${q}`);
    t.equal(r.statusCode, 400, q);
    t.equal(body(r).error?.code, 'GW_BAD_REQUEST');
  }
  t.match(body(await call(app, root, 'GET', '/api/admin/log?who=root')).error?.message, /unknown parameter who/);
});
