import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { registerAdminAuthRoutes } from '../../gateway/src/admin/http.js';
import type { DeptListView, DeptNodeView, MemberDevicesView, MemberPageView, MemberView } from '../../gateway/src/admin/api-types-org.js';
import { registerMemberRoutes } from '../../gateway/src/admin/routes-members.js';
import { registerOrgRoutes } from '../../gateway/src/admin/routes-org.js';
import { Right } from '../../gateway/src/admin/rights.js';
import type { RoleId } from '../../gateway/src/admin/types.js';
import { installErrorHandler } from '../../gateway/src/edges/http/errors.js';
import { createLogger } from '../../gateway/src/log.js';
import { TRIAL_SEATS } from '../../gateway/src/licence/service.js';
import type { DeptId, UserId } from '../../gateway/src/protocol/client-v1.js';
import type { Services } from '../../gateway/src/services.js';
import { nextEvent, online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';

/*
 * The organisation and member routes of the admin API (F-3.1, F-3.2, F-3.3,
 * F-3.5, F-3.9) as the console calls them: through inject() into an app built
 * like the gateway's HTTP listener (auth routes first, then these routes).
 */

const ROOT_PW = 'root-password-1';
const SCOPED_PW = 'scoped-password-1';

interface Res {
  statusCode: number;
  json(): unknown;
}
interface Session {
  cookie: string;
  csrf: string;
}
interface Err {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

async function buildApp(t: Test, s: Services = makeServices(t)): Promise<{ app: FastifyInstance; s: Services; root: Session }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  installErrorHandler(app, createLogger('silent'));
  registerAdminAuthRoutes(app, { admin: s.admin });
  registerOrgRoutes(app, { services: s });
  registerMemberRoutes(app, { services: s });
  await app.ready();
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', payload: { username: 'root', password: ROOT_PW } });
  t.equal(res.statusCode, 201, 'setup');
  return { app, s, root: sessionOf(res) };
}

function sessionOf(res: { headers: Record<string, unknown>; json(): unknown }): Session {
  const h = res.headers['set-cookie'];
  return { cookie: String(Array.isArray(h) ? h[0] : h).split(';')[0] as string, csrf: String((res.json() as { csrfToken: string }).csrfToken) };
}

/** A console request: the session cookie, and the CSRF header on every call. */
function call(app: FastifyInstance, who: Session, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<Res> {
  return app.inject({ method, url, headers: { cookie: who.cookie, 'x-csrf-token': who.csrf }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

const err = (r: Res) => (r.json() as Err).error;

/** Creates a role scoped to `scope` and an administrator holding it, and logs them in. */
async function scopedAdmin(app: FastifyInstance, s: Services, root: Session, scope: DeptId[], rights: Right[]): Promise<Session> {
  const rootSession = await s.admin.authenticate(root.cookie.split('=')[1]);
  const ctx = { admin: rootSession.admin, address: null };
  const role = await s.admin.createRole(ctx, { name: '华东管理员', rights, scopeDeptIds: scope });
  await s.admin.createAdmin(ctx, { username: 'east', password: SCOPED_PW, roleIds: [role.id as RoleId] });
  const res = await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username: 'east', password: SCOPED_PW } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
  return sessionOf(res);
}

/** 销售部 → {华东 → 上海, 华南}, and 研发部. */
async function orgChart(app: FastifyInstance, root: Session) {
  const mk = async (parentId: DeptId | null, name: string, order?: number) => {
    const r = await call(app, root, 'POST', '/api/admin/depts', { parentId, name, ...(order !== undefined ? { order } : {}) });
    if (r.statusCode !== 201) throw new Error(`create ${name}: ${JSON.stringify(r.json())}`);
    return (r.json() as DeptNodeView).id;
  };
  const sales = await mk(null, '销售部', 1);
  const rnd = await mk(null, '研发部', 2);
  const east = await mk(sales, '华东');
  const south = await mk(sales, '华南');
  const shanghai = await mk(east, '上海');
  return { sales, rnd, east, south, shanghai };
}

async function newMember(app: FastifyInstance, who: Session, account: string, deptIds: DeptId[], extra: Record<string, unknown> = {}): Promise<MemberView> {
  const r = await call(app, who, 'POST', '/api/admin/members', { account, name: account, deptIds, ...extra });
  if (r.statusCode !== 201) throw new Error(`create ${account}: ${JSON.stringify(r.json())}`);
  return r.json() as MemberView;
}

t.test('departments: lazy tree, create, rename, reorder, move, cycle, delete', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);

  let r = await call(app, root, 'GET', '/api/admin/depts?parentId=root');
  t.equal(r.statusCode, 200);
  let list = r.json() as DeptListView;
  t.same(list.depts.map((x) => [x.name, x.hasChildren, x.subDeptCount]), [['销售部', true, 2], ['研发部', false, 0]], 'top level in order, with hasChildren');
  await newMember(app, root, 'zhangsan', [d.east]);
  r = await call(app, root, 'GET', `/api/admin/depts?parentId=${d.sales}`);
  list = r.json() as DeptListView;
  t.same(list.depts.map((x) => [x.name, x.path, x.memberCount, x.hasChildren]), [['华东', '销售部/华东', 1, true], ['华南', '销售部/华南', 0, false]], 'children with member counts');
  t.same((await call(app, root, 'GET', '/api/admin/depts')).json(), (await call(app, root, 'GET', '/api/admin/depts?parentId=root')).json(), 'no parentId = root');

  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.south}`, { name: '华南大区', order: 0 });
  t.equal(r.statusCode, 200);
  t.match(r.json(), { name: '华南大区', order: 0 });
  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.east}`, { order: 5 });
  t.same(((await call(app, root, 'GET', `/api/admin/depts?parentId=${d.sales}`)).json() as DeptListView).depts.map((x) => x.name), ['华南大区', '华东'], 'reordered');

  // moving under its own descendant: refused, nothing changed (not even the name sent along)
  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.sales}`, { parentId: d.shanghai, name: '改名' });
  t.equal(r.statusCode, 409);
  t.equal(err(r).code, 'GW_DEPT_CYCLE');
  t.match(err(r).message, /cannot move 销售部 under itself or one of its sub-departments \(销售部\/华东\/上海\)/);
  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.east}`, { parentId: d.east });
  t.equal(err(r).code, 'GW_DEPT_CYCLE', 'under itself');
  t.match((await s.directory.listDepts()).find((x) => x.id === d.sales), { id: d.sales, parentId: null, name: '销售部' }, 'unchanged');

  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.shanghai}`, { parentId: d.rnd });
  t.equal(r.statusCode, 200, 'a move');
  t.match(r.json(), { parentId: d.rnd, path: '研发部/上海' });
  r = await call(app, root, 'PATCH', `/api/admin/depts/${d.shanghai}`, { parentId: null });
  t.match(r.json(), { parentId: null, path: '上海' }, 'to the top level');

  // deleting a department that is not empty says what is inside
  r = await call(app, root, 'DELETE', `/api/admin/depts/${d.east}`);
  t.equal(r.statusCode, 409);
  t.equal(err(r).code, 'GW_DEPT_NOT_EMPTY');
  t.match(err(r).message, /华东 still has 1 member\(s\); move or delete them first/);
  t.same(err(r).details, { users: 1, subDepts: 0 });
  r = await call(app, root, 'DELETE', `/api/admin/depts/${d.sales}`);
  t.match(err(r).message, /销售部 still has 2 sub-department\(s\)/);
  r = await call(app, root, 'DELETE', `/api/admin/depts/${d.south}`);
  t.equal(r.statusCode, 204, 'an empty one goes');
  t.equal((await s.directory.listDepts()).some((x) => x.id === d.south), false);
  t.equal(err(await call(app, root, 'DELETE', `/api/admin/depts/${d.south}`)).code, 'GW_NOT_FOUND');

  const log = await s.admin.queryLog({ action: 'dept.*', limit: 50 });
  const moves = log.entries.filter((e) => e.action === 'dept.move');
  t.equal(moves.length, 2, 'refused moves are not logged');
  t.match(moves[0], { adminUsername: 'root', targetKind: 'dept', targetId: String(d.shanghai), before: { parentId: d.rnd, path: '研发部/上海' }, after: { parentId: null, path: '上海' } }, 'moves are logged with before/after');
  t.match(log.entries.find((e) => e.action === 'dept.update' && e.targetId === String(d.south)), { before: { name: '华南' }, after: { name: '华南大区', order: 0 } });
  t.match(log.entries.find((e) => e.action === 'dept.delete'), { before: { name: '华南大区', path: '销售部/华南大区' }, after: null });
  t.equal(log.entries.filter((e) => e.action === 'dept.create').length, 5);
});

t.test('departments and members: bad input is refused with a message naming the field, and nothing is written', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);
  const before = (await s.directory.listDepts()).length;
  const cases: [string, 'POST' | 'PATCH' | 'GET', string, unknown, RegExp][] = [
    ['unknown field', 'POST', '/api/admin/depts', { parentId: null, name: 'x', colour: 'red' }, /unknown field colour/],
    ['parentId missing', 'POST', '/api/admin/depts', { name: 'x' }, /parentId is required/],
    ['parentId a string', 'POST', '/api/admin/depts', { parentId: 'abc', name: 'x' }, /parentId must be a positive integer id/],
    ['name a number', 'POST', '/api/admin/depts', { parentId: null, name: 5 }, /name must be a string/],
    ['name empty', 'POST', '/api/admin/depts', { parentId: null, name: '  ' }, /department name must not be empty/],
    ['name with /', 'POST', '/api/admin/depts', { parentId: null, name: 'a/b' }, /must not contain \//],
    ['order fraction', 'POST', '/api/admin/depts', { parentId: null, name: 'x', order: 1.5 }, /order must be an integer/],
    ['body an array', 'POST', '/api/admin/depts', [1], /the body must be a JSON object/],
    ['empty patch', 'PATCH', `/api/admin/depts/${d.east}`, {}, /give at least one of name, parentId, order/],
    ['bad path id', 'PATCH', '/api/admin/depts/1e3', { name: 'x' }, /department id must be a positive integer id/],
    ['bad query', 'GET', '/api/admin/depts?parentId=-1', undefined, /parentId must be a positive integer id/],
    ['unknown query', 'GET', '/api/admin/depts?sort=name', undefined, /unknown query parameter sort/],
    ['member: deptIds missing', 'POST', '/api/admin/members', { account: 'a1', name: 'A' }, /deptIds is required/],
    ['member: deptIds empty', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [] }, /deptIds must name at least one department/],
    ['member: bad account', 'POST', '/api/admin/members', { account: '-x', name: 'A', deptIds: [d.east] }, /account must be 1–64 characters/],
    ['member: unknown field', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [d.east], isAdmin: true }, /unknown field isAdmin/],
    ['member: gender', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [d.east], gender: 'x' }, /gender must be one of male, female, unknown/],
    ['member: short password', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [d.east], password: 'short' }, /password must have at least 8/],
    ['member: main not in depts', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [d.east], mainDeptId: d.south }, /the main department must be one of the departments/],
    ['member: authorised a string', 'POST', '/api/admin/members', { account: 'a1', name: 'A', deptIds: [d.east], authorised: 'yes' }, /authorised must be true or false/],
    ['members: limit too big', 'GET', '/api/admin/members?limit=201', undefined, /limit must be an integer from 1 to 200/],
    ['members: offset negative', 'GET', '/api/admin/members?offset=-1', undefined, /offset must be an integer/],
  ];
  for (const [what, method, url, payload, message] of cases) {
    const r = await call(app, root, method, url, payload);
    t.equal(r.statusCode, 400, what);
    t.equal(err(r).code, 'GW_BAD_REQUEST', what);
    t.match(err(r).message, message, what);
  }
  t.equal((await s.directory.listDepts()).length, before, 'no department was written');
  t.equal((await s.directory.searchUsers({ limit: 0 })).total, 0, 'no member was written');

  // without the CSRF header, or not logged in
  let r: Res = await app.inject({ method: 'POST', url: '/api/admin/depts', headers: { cookie: root.cookie }, payload: { parentId: null, name: 'x' } });
  t.equal(err(r).code, 'GW_CSRF');
  r = await app.inject({ method: 'GET', url: '/api/admin/members' });
  t.equal(err(r).code, 'GW_TOKEN_INVALID');
});

t.test('members: create with several departments, paging, search, edit, versions, password, enable, delete', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);
  let r = await call(app, root, 'POST', '/api/admin/members', {
    account: 'zhang.san', name: '张三', deptIds: [d.east, d.rnd], mainDeptId: d.rnd, mobile: '13800000001', email: 'zs@example.com', title: '经理', gender: 'male', password: 'member-password-1',
  });
  t.equal(r.statusCode, 201);
  const zs = r.json() as MemberView;
  t.match(zs, { account: 'zhang.san', name: '张三', pinyin: 'zhangsan', authorised: false, blocked: false, status: 'active' });
  t.same(zs.depts, [{ id: d.rnd, name: '研发部', main: true }, { id: d.east, name: '销售部/华东', main: false }], 'several departments, the main one first');
  t.notOk(JSON.stringify(zs).includes('member-password-1'), 'no password in the answer');
  t.ok((await s.directory.getUser(zs.id))?.passwordHash, 'the password is set');
  for (let i = 0; i < 5; i++) await newMember(app, root, `user${i}`, [d.east], { mobile: `1390000000${i}` });

  r = await call(app, root, 'GET', `/api/admin/members?deptId=${d.east}&limit=2&offset=2`);
  let page = r.json() as MemberPageView;
  t.equal(page.total, 6, 'server-side paging: total');
  t.equal(page.members.length, 2, 'one page');
  t.same([page.offset, page.limit], [2, 2]);
  t.same(((await call(app, root, 'GET', '/api/admin/members?q=zhangs')).json() as MemberPageView).members.map((m) => m.account), ['zhang.san'], 'by pinyin');
  t.same(((await call(app, root, 'GET', `/api/admin/members?q=${encodeURIComponent('张')}`)).json() as MemberPageView).members.map((m) => m.account), ['zhang.san'], 'by name');
  t.same(((await call(app, root, 'GET', '/api/admin/members?q=13900000003')).json() as MemberPageView).members.map((m) => m.account), ['user3'], 'by mobile');
  t.same(((await call(app, root, 'GET', '/api/admin/members?q=USER4')).json() as MemberPageView).members.map((m) => m.account), ['user4'], 'by account');
  page = (await call(app, root, 'GET', `/api/admin/members?deptId=${d.rnd}`)).json() as MemberPageView;
  t.same(page.members.map((m) => m.account), ['zhang.san']);

  r = await call(app, root, 'GET', `/api/admin/members/${zs.id}`);
  t.same(r.json(), zs, 'read one');

  // concurrent edits: the second writer with the old rowVersion is told, and nothing of theirs is written
  r = await call(app, root, 'PATCH', `/api/admin/members/${zs.id}`, { rowVersion: zs.rowVersion, title: '总监' });
  t.equal(r.statusCode, 200);
  const edited = r.json() as MemberView;
  t.equal(edited.title, '总监');
  t.ok(edited.rowVersion > zs.rowVersion, 'the version moved');
  r = await call(app, root, 'PATCH', `/api/admin/members/${zs.id}`, { rowVersion: zs.rowVersion, title: '助理', mobile: '13800000009' });
  t.equal(r.statusCode, 409);
  t.equal(err(r).code, 'GW_CONFLICT');
  t.match(err(r).message, /zhang\.san was changed by someone else after you loaded it; reload/);
  t.same(err(r).details, { rowVersion: edited.rowVersion }, 'names the current version');
  t.same((await call(app, root, 'GET', `/api/admin/members/${zs.id}`)).json(), edited, 'data unchanged');
  r = await call(app, root, 'PATCH', `/api/admin/members/${zs.id}`, { title: '助理' });
  t.equal(r.statusCode, 400);
  t.match(err(r).message, /rowVersion is required/);
  r = await call(app, root, 'PATCH', `/api/admin/members/${zs.id}`, { rowVersion: edited.rowVersion, name: '张三丰', deptIds: [d.south], mainDeptId: d.south });
  t.equal(r.statusCode, 200);
  t.match(r.json(), { name: '张三丰', pinyin: 'zhangsanfeng', depts: [{ id: d.south, main: true }] }, 'rename and move');

  r = await call(app, root, 'POST', `/api/admin/members/${zs.id}/password`, { password: 'new-password-22' });
  t.equal(r.statusCode, 204);
  t.equal(err(await call(app, root, 'POST', `/api/admin/members/${zs.id}/password`, { password: 5 })).code, 'GW_BAD_REQUEST');

  r = await call(app, root, 'POST', `/api/admin/members/${zs.id}/disable`);
  t.match(r.json(), { status: 'disabled' });
  r = await call(app, root, 'POST', `/api/admin/members/${zs.id}/enable`);
  t.match(r.json(), { status: 'active' });
  t.equal(err(await call(app, root, 'POST', `/api/admin/members/${zs.id}/enable`, { now: true })).code, 'GW_BAD_REQUEST', 'switches take no fields');

  r = await call(app, root, 'DELETE', `/api/admin/members/${zs.id}`);
  t.equal(r.statusCode, 204);
  t.equal(err(await call(app, root, 'GET', `/api/admin/members/${zs.id}`)).code, 'GW_NOT_FOUND');

  // the action log: who did what to which member, before and after, never a password
  const log = await s.admin.queryLog({ targetKind: 'user', targetId: String(zs.id), limit: 50 });
  const actions = log.entries.map((e) => e.action).reverse();
  t.same(actions, ['member.create', 'member.update', 'member.move', 'member.password_reset', 'member.disable', 'member.enable', 'member.delete']);
  const update = log.entries.find((e) => e.action === 'member.update');
  t.match(update, { adminUsername: 'root', targetLabel: 'zhang.san', before: { title: '经理' }, after: { title: '总监' } });
  t.match(log.entries.find((e) => e.action === 'member.move'), { before: { name: '张三', depts: [{ id: d.rnd, main: true }, { id: d.east, main: false }] }, after: { name: '张三丰', depts: [{ id: d.south }] } });
  t.match(log.entries.find((e) => e.action === 'member.delete'), { before: { account: 'zhang.san' }, after: null });
  t.notOk(JSON.stringify(log.entries).includes('password-'), 'no password in the log');
  t.equal(log.entries.filter((e) => e.action === 'member.update').length, 1, 'the refused edit wrote nothing');
});

t.test('a role scoped to one department: inside succeeds, outside is refused naming the scope', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);
  const inside = await newMember(app, root, 'inside', [d.shanghai]);
  const outside = await newMember(app, root, 'outside', [d.south]);
  const both = await newMember(app, root, 'both', [d.east, d.south]);
  const east = await scopedAdmin(app, s, root, [d.east], [Right.Org, Right.Members, Right.Authorisation, Right.Devices]);
  const forbidden = (r: Res, what: string, where: RegExp = /销售部\/华南/) => {
    t.equal(r.statusCode, 403, what);
    t.equal(err(r).code, 'GW_FORBIDDEN', what);
    t.match(err(r).message, /your role 华东管理员 may only manage 销售部\/华东(大区)?; /, `${what}: names the scope`);
    t.match(err(r).message, where, `${what}: names what is outside`);
  };

  // the tree: the scope root at the top level
  let r = await call(app, east, 'GET', '/api/admin/depts?parentId=root');
  t.same((r.json() as DeptListView).depts.map((x) => [x.name, x.path]), [['华东', '销售部/华东']]);
  t.same(((await call(app, east, 'GET', `/api/admin/depts?parentId=${d.east}`)).json() as DeptListView).depts.map((x) => x.name), ['上海']);
  r = await call(app, east, 'GET', `/api/admin/depts?parentId=${d.sales}`);
  t.equal(r.statusCode, 403, 'cannot browse outside');
  t.match(err(r).message, /you may only see 销售部\/华东; 销售部 is outside it/);

  // departments inside
  r = await call(app, east, 'POST', '/api/admin/depts', { parentId: d.east, name: '杭州' });
  t.equal(r.statusCode, 201, 'create inside');
  const hz = (r.json() as DeptNodeView).id;
  t.equal((await call(app, east, 'PATCH', `/api/admin/depts/${hz}`, { name: '杭州办' })).statusCode, 200, 'rename inside');
  t.equal((await call(app, east, 'PATCH', `/api/admin/depts/${hz}`, { parentId: d.shanghai })).statusCode, 200, 'move inside');
  t.equal((await call(app, east, 'PATCH', `/api/admin/depts/${d.east}`, { name: '华东大区' })).statusCode, 200, 'rename own scope root');
  t.equal((await call(app, east, 'DELETE', `/api/admin/depts/${hz}`)).statusCode, 204, 'delete inside');
  // and outside
  forbidden(await call(app, east, 'POST', '/api/admin/depts', { parentId: d.south, name: 'x' }), 'create outside');
  forbidden(await call(app, east, 'POST', '/api/admin/depts', { parentId: null, name: 'x' }), 'create at the top level', /the organisation root is outside it/);
  forbidden(await call(app, east, 'PATCH', `/api/admin/depts/${d.south}`, { name: 'x' }), 'rename outside');
  forbidden(await call(app, east, 'PATCH', `/api/admin/depts/${d.shanghai}`, { parentId: d.south }), 'move a department out of the scope');
  forbidden(await call(app, east, 'PATCH', `/api/admin/depts/${d.south}`, { parentId: d.east }), 'move one in from outside', /; 销售部 is outside it/);
  forbidden(await call(app, east, 'DELETE', `/api/admin/depts/${d.east}`), 'delete the own scope root', /销售部 is outside it/);
  t.equal((await s.directory.listDepts()).find((x) => x.id === d.shanghai)?.parentId, d.east, 'the refused move changed nothing');

  // members
  r = await call(app, east, 'GET', '/api/admin/members');
  t.same((r.json() as MemberPageView).members.map((m) => m.account).sort(), ['both', 'inside'], 'only members with a department in the scope');
  t.equal((r.json() as MemberPageView).total, 2);
  t.same(((await call(app, east, 'GET', '/api/admin/members?limit=1&offset=1')).json() as MemberPageView).total, 2, 'paged in memory too');
  forbidden(await call(app, east, 'GET', `/api/admin/members?deptId=${d.south}`), 'list outside');
  forbidden(await call(app, east, 'GET', `/api/admin/members/${outside.id}`), 'read outside');
  t.equal((await call(app, east, 'GET', `/api/admin/members/${both.id}`)).statusCode, 200, 'read a member partly inside');

  const m = await newMember(app, east, 'newbie', [d.shanghai]);
  t.equal(m.account, 'newbie', 'create inside');
  forbidden(await call(app, east, 'POST', '/api/admin/members', { account: 'x1', name: 'x', deptIds: [d.shanghai, d.south] }), 'create with a department outside');
  r = await call(app, east, 'PATCH', `/api/admin/members/${inside.id}`, { rowVersion: inside.rowVersion, title: '主管' });
  t.equal(r.statusCode, 200, 'edit inside');
  const insideNow = r.json() as MemberView;
  forbidden(await call(app, east, 'PATCH', `/api/admin/members/${inside.id}`, { rowVersion: insideNow.rowVersion, deptIds: [d.south] }), 'move a member out of the scope');
  forbidden(await call(app, east, 'PATCH', `/api/admin/members/${outside.id}`, { rowVersion: outside.rowVersion, title: 'x' }), 'edit outside');
  forbidden(await call(app, east, 'PATCH', `/api/admin/members/${both.id}`, { rowVersion: both.rowVersion, title: 'x' }), 'edit a member partly outside');
  t.same((await call(app, root, 'GET', `/api/admin/members/${inside.id}`)).json(), insideNow, 'the refused move changed nothing');
  for (const path of ['block', 'authorise', 'disable', 'password']) {
    forbidden(await call(app, east, 'POST', `/api/admin/members/${outside.id}/${path}`, path === 'password' ? { password: 'x-password-1' } : undefined), `${path} outside`);
  }
  forbidden(await call(app, east, 'GET', `/api/admin/members/${outside.id}/devices`), 'devices outside');
  forbidden(await call(app, east, 'DELETE', `/api/admin/members/${outside.id}`), 'delete outside');
  t.match((await call(app, east, 'POST', `/api/admin/members/${inside.id}/block`)).json(), { blocked: true }, 'block inside');
  t.equal((await call(app, east, 'DELETE', `/api/admin/members/${m.id}`)).statusCode, 204, 'delete inside');
  const o = await s.directory.getUser(outside.id);
  t.match(o, { blocked: false, authorised: false, status: 'active', title: '' }, 'nothing outside changed');

  // the auto-authorise switch is for the whole organisation only
  r = await call(app, east, 'PUT', '/api/admin/authorisation/settings', { autoAuthorise: false });
  t.equal(r.statusCode, 403);
  t.match(err(r).message, /the organisation root is outside it/);
  t.equal(s.settings.get().autoAuthorise, true);

  const log = await s.admin.queryLog({ adminId: (await s.admin.authenticate(east.cookie.split('=')[1])).admin.id, limit: 100 });
  t.ok(log.entries.some((e) => e.action === 'member.block' && e.adminUsername === 'east'), 'the scoped administrator is named in the log');
});

t.test('authorising: through the licence seats; blocked and authorised lists; the auto-authorise switch', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);
  const a = await newMember(app, root, 'alice', [d.east]);
  let r = await call(app, root, 'POST', `/api/admin/members/${a.id}/authorise`);
  t.match(r.json(), { authorised: true });
  r = await call(app, root, 'POST', `/api/admin/members/${a.id}/authorise`);
  t.match(r.json(), { authorised: true }, 'again: no second seat, no error');
  for (let i = 1; i < TRIAL_SEATS; i++) await s.directory.createUser({ account: `filler${i}`, name: `filler${i}`, deptIds: [d.rnd], authorised: true });
  t.equal(await s.directory.countUsers({ authorised: true }), TRIAL_SEATS, 'every trial seat taken');

  const b = await newMember(app, root, 'bob', [d.east]);
  r = await call(app, root, 'POST', `/api/admin/members/${b.id}/authorise`);
  t.equal(r.statusCode, 409);
  t.equal(err(r).code, 'GW_LICENCE_SEATS_FULL');
  t.match(err(r).message, /the trial allows 50 authorised users; 50 are authorised/);
  t.equal((await s.directory.getUser(b.id))?.authorised, false, 'not authorised');
  r = await call(app, root, 'POST', '/api/admin/members', { account: 'carol', name: 'carol', deptIds: [d.east], authorised: true });
  t.equal(err(r).code, 'GW_LICENCE_SEATS_FULL', 'creating an authorised member takes a seat too');
  t.equal(await s.directory.getUserByAccount('carol'), null, 'and was not created');

  r = await call(app, root, 'POST', `/api/admin/members/${a.id}/deauthorise`);
  t.match(r.json(), { authorised: false });
  r = await call(app, root, 'POST', `/api/admin/members/${b.id}/authorise`);
  t.match(r.json(), { authorised: true }, 'a freed seat can be taken');

  r = await call(app, root, 'POST', `/api/admin/members/${b.id}/block`);
  t.match(r.json(), { blocked: true, authorised: true });
  r = await call(app, root, 'POST', `/api/admin/members/${b.id}/unblock`);
  t.match(r.json(), { blocked: false });

  t.same((await call(app, root, 'GET', '/api/admin/authorisation/settings')).json(), { autoAuthorise: true });
  r = await call(app, root, 'PUT', '/api/admin/authorisation/settings', { autoAuthorise: false });
  t.same(r.json(), { autoAuthorise: false });
  t.equal(s.settings.get().autoAuthorise, false);
  t.equal(err(await call(app, root, 'PUT', '/api/admin/authorisation/settings', { autoAuthorise: 'no' })).message, 'autoAuthorise must be true or false');
  t.equal(err(await call(app, root, 'PUT', '/api/admin/authorisation/settings', {})).message, 'autoAuthorise is required');

  const log = await s.admin.queryLog({ limit: 100 });
  t.match(log.entries.find((e) => e.action === 'settings.auto_authorise'), { before: { autoAuthorise: true }, after: { autoAuthorise: false } });
  t.match(log.entries.find((e) => e.action === 'member.block'), { before: { blocked: false }, after: { blocked: true } });
  t.equal(log.entries.filter((e) => e.action === 'member.authorise').length, 3, 'refused authorisations are not logged as done');
});

t.test('a newly blocked user’s live WSS session closes within a second; devices and their commands', async (t) => {
  const gw = await startGateway(t);
  // the same services as the running gateway, behind an app built like its HTTP listener
  const { app, s, root } = await buildApp(t, gw.gw.services);
  const dept = await s.directory.createDept(null, '运维部');
  const mallory = await gw.addUser('mallory');
  await s.directory.editUser(mallory.id, { deptIds: [dept.id] });
  const dave = await gw.addUser('dave');
  await s.directory.editUser(dave.id, { deptIds: [dept.id] });

  const m = await online(t, gw, 'mallory', { via: 'wss' });
  const closed = nextEvent(m.client, 'closed', undefined, 1_000);
  const t0 = Date.now();
  const r = await call(app, root, 'POST', `/api/admin/members/${mallory.id}/block`);
  t.equal(r.statusCode, 200);
  const c = await closed;
  t.ok(Date.now() - t0 < 1_000, `closed within a second (${Date.now() - t0} ms)`);
  t.same([c.code, c.willReconnect], ['GW_USER_BLOCKED', false]);

  // devices: list, force offline, wipe, with the command history
  const dv = await online(t, gw, 'dave', { via: 'wss' });
  let list = (await call(app, root, 'GET', `/api/admin/members/${dave.id}/devices`)).json() as MemberDevicesView;
  t.equal(list.devices.length, 1);
  const device = list.devices[0] as MemberDevicesView['devices'][number];
  t.same(device.commands, []);
  t.notOk('pushToken' in device, 'no push token in the answer');
  const cmdSeen = nextEvent(dv.client, 'closed', undefined, 5_000).catch(() => null);
  let rr = await call(app, root, 'POST', `/api/admin/members/${dave.id}/devices/${device.id}/offline`);
  t.equal(rr.statusCode, 202);
  t.match(rr.json(), { kind: 'force_offline', issuedBy: 'admin:root' });
  await cmdSeen;
  rr = await call(app, root, 'POST', `/api/admin/members/${dave.id}/devices/${device.id}/wipe`);
  t.match(rr.json(), { kind: 'wipe' });
  list = (await call(app, root, 'GET', `/api/admin/members/${dave.id}/devices`)).json() as MemberDevicesView;
  t.same((list.devices[0] as MemberDevicesView['devices'][number]).commands.map((x) => x.kind), ['wipe', 'force_offline'], 'history, newest first');
  rr = await call(app, root, 'POST', `/api/admin/members/${mallory.id}/devices/${device.id}/wipe`);
  t.equal(err(rr).code, 'GW_NOT_FOUND', 'another member’s device');
  t.match(err(rr).message, /mallory has no device/);
  const log = await s.admin.queryLog({ action: 'device.*' });
  t.same(log.entries.map((e) => [e.action, e.targetId]), [['device.wipe', String(device.id)], ['device.force_offline', String(device.id)]]);
  t.ok((await s.admin.queryLog({ action: 'member.block', targetId: String(mallory.id as UserId) })).total === 1, 'the block is logged');
});

t.test('rights: each route needs its own right, whatever the scope', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await orgChart(app, root);
  const m = await newMember(app, root, 'member1', [d.east]);
  // a role with only the members right over the whole organisation
  const rootCtx = { admin: (await s.admin.authenticate(root.cookie.split('=')[1])).admin, address: null };
  const role = await s.admin.createRole(rootCtx, { name: '成员管理员', rights: [Right.Members], wholeOrg: true });
  await s.admin.createAdmin(rootCtx, { username: 'hrmgr', password: SCOPED_PW, roleIds: [role.id as RoleId] });
  const hr = sessionOf(await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username: 'hrmgr', password: SCOPED_PW } }));
  const refused = (r: Res, right: string, what: string) => {
    t.equal(err(r).code, 'GW_FORBIDDEN', what);
    t.match(err(r).message, `you do not have the right`, what);
    t.match(err(r).message, `(${right})`, what);
  };
  t.equal((await call(app, hr, 'GET', '/api/admin/members')).statusCode, 200, 'members: may list');
  t.equal((await call(app, hr, 'GET', `/api/admin/depts?parentId=${d.sales}`)).statusCode, 200, 'and browse the tree');
  refused(await call(app, hr, 'POST', '/api/admin/depts', { parentId: null, name: 'x' }), 'org', 'departments need org');
  refused(await call(app, hr, 'POST', `/api/admin/members/${m.id}/block`), 'authorisation', 'blocking needs authorisation');
  refused(await call(app, hr, 'POST', '/api/admin/members', { account: 'x2', name: 'x', deptIds: [d.east], authorised: true }), 'authorisation', 'creating an authorised member needs authorisation too');
  t.equal(await s.directory.getUserByAccount('x2'), null, 'and was not created');
  refused(await call(app, hr, 'GET', `/api/admin/members/${m.id}/devices`), 'devices', 'devices need devices');
  refused(await call(app, hr, 'GET', '/api/admin/authorisation/settings'), 'authorisation', 'the switch needs authorisation');
  t.equal((await call(app, hr, 'POST', `/api/admin/members/${m.id}/disable`)).statusCode, 200, 'members may disable');

  const logsOnly = await s.admin.createRole(rootCtx, { name: '审计员', rights: [Right.Logs], wholeOrg: true });
  await s.admin.createAdmin(rootCtx, { username: 'auditor', password: SCOPED_PW, roleIds: [logsOnly.id as RoleId] });
  const auditor = sessionOf(await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username: 'auditor', password: SCOPED_PW } }));
  refused(await call(app, auditor, 'GET', '/api/admin/members'), 'members', 'no member right of any kind: no list');
  refused(await call(app, auditor, 'GET', `/api/admin/members/${m.id}`), 'members', 'nor a member');
});
