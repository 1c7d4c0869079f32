import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import type { DeptNodeView, MemberPageView, MemberView } from '../../gateway/src/admin/api-types-org.js';
import { registerAdminAuthRoutes } from '../../gateway/src/admin/http.js';
import { registerMemberRoutes } from '../../gateway/src/admin/routes-members.js';
import { registerOrgRoutes } from '../../gateway/src/admin/routes-org.js';
import { Right } from '../../gateway/src/admin/rights.js';
import type { RoleId } from '../../gateway/src/admin/types.js';
import { installErrorHandler } from '../../gateway/src/edges/http/errors.js';
import { createLogger } from '../../gateway/src/log.js';
import type { DeptId } from '../../gateway/src/protocol/client-v1.js';
import type { Services } from '../../gateway/src/services.js';
import { makeServices } from '../helpers/services.js';

/*
 * The authorised and blocked lists (F-3.5) as the console reads them:
 * GET /api/admin/members with the authorised, blocked and status filters,
 * combined with the search, the department, paging and the administrator's
 * scope.
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

async function buildApp(t: Test): Promise<{ app: FastifyInstance; s: Services; root: Session }> {
  const s = makeServices(t);
  const app = Fastify({ logger: false });
  installErrorHandler(app, createLogger('silent'));
  registerAdminAuthRoutes(app, { admin: s.admin });
  registerOrgRoutes(app, { services: s });
  registerMemberRoutes(app, { services: s });
  await app.ready();
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', payload: { username: 'root', password: ROOT_PW } });
  return { app, s, root: sessionOf(res) };
}

function sessionOf(res: { headers: Record<string, unknown>; json(): unknown }): Session {
  const h = res.headers['set-cookie'];
  return { cookie: String(Array.isArray(h) ? h[0] : h).split(';')[0] as string, csrf: String((res.json() as { csrfToken: string }).csrfToken) };
}

function call(app: FastifyInstance, who: Session, method: 'GET' | 'POST', url: string): Promise<Res> {
  return app.inject({ method, url, headers: { cookie: who.cookie, 'x-csrf-token': who.csrf } });
}

const err = (r: Res) => (r.json() as { error: { code: string; message: string } }).error;

/** The accounts of a member page, and its total. */
async function list(app: FastifyInstance, who: Session, qs: string): Promise<{ total: number; accounts: string[] }> {
  const r = await call(app, who, 'GET', `/api/admin/members?${qs}`);
  if (r.statusCode !== 200) throw new Error(`GET ?${qs}: ${r.statusCode} ${JSON.stringify(r.json())}`);
  const page = r.json() as MemberPageView;
  return { total: page.total, accounts: page.members.map((m: MemberView) => m.account).sort() };
}

/**
 * 销售部/华东 and 研发部, with members in every state:
 * east: ea1, ea2 (authorised), eb (authorised and blocked), ew1, ew2 (waiting), ed (waiting, disabled)
 * rnd:  ra (authorised), rb (blocked, not authorised), rw (waiting)
 */
async function fixture(app: FastifyInstance, s: Services, root: Session) {
  const mk = async (parentId: DeptId | null, name: string) => {
    const r = await app.inject({ method: 'POST', url: '/api/admin/depts', headers: { cookie: root.cookie, 'x-csrf-token': root.csrf }, payload: { parentId, name } });
    return (r.json() as DeptNodeView).id;
  };
  const sales = await mk(null, '销售部');
  const east = await mk(sales, '华东');
  const rnd = await mk(null, '研发部');
  const dir = s.directory;
  const add = async (account: string, name: string, deptId: DeptId, authorised: boolean) => dir.createUser({ account, name, deptIds: [deptId], authorised });
  await add('ea1', '张一', east, true);
  await add('ea2', '张二', east, true);
  const eb = await add('eb', '李禁', east, true);
  await dir.setBlocked(eb.id, true);
  await add('ew1', '王一', east, false);
  await add('ew2', '王二', east, false);
  const ed = await add('ed', '赵停', east, false);
  await dir.setStatus(ed.id, 'disabled');
  await add('ra', '研甲', rnd, true);
  const rb = await add('rb', '研禁', rnd, false);
  await dir.setBlocked(rb.id, true);
  await add('rw', '研等', rnd, false);
  return { sales, east, rnd };
}

t.test('the authorised, not-authorised and blocked lists are filters of the member list', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await fixture(app, s, root);

  t.same(await list(app, root, 'authorised=true'), { total: 4, accounts: ['ea1', 'ea2', 'eb', 'ra'] }, 'authorised=true: everyone holding a seat, blocked or not');
  t.same(await list(app, root, 'authorised=true&blocked=false'), { total: 3, accounts: ['ea1', 'ea2', 'ra'] }, 'the authorised list without the blocked');
  t.same(await list(app, root, 'authorised=false&blocked=false'), { total: 4, accounts: ['ed', 'ew1', 'ew2', 'rw'] }, 'waiting for authorisation');
  t.same(await list(app, root, 'blocked=true'), { total: 2, accounts: ['eb', 'rb'] }, 'the blocked list');
  t.same(await list(app, root, 'status=disabled'), { total: 1, accounts: ['ed'] }, 'status=disabled');
  t.same(await list(app, root, 'authorised=false&status=active&blocked=false'), { total: 3, accounts: ['ew1', 'ew2', 'rw'] }, 'three filters at once');
  t.equal((await list(app, root, '')).total, 9, 'no filter: everyone');

  // combined with the search and the department
  t.same(await list(app, root, 'authorised=true&q=张'), { total: 2, accounts: ['ea1', 'ea2'] }, 'with q (name)');
  t.same(await list(app, root, 'blocked=true&q=r'), { total: 1, accounts: ['rb'] }, 'with q (account)');
  t.same(await list(app, root, `authorised=false&deptId=${d.rnd}`), { total: 2, accounts: ['rb', 'rw'] }, 'with deptId');
  t.same(await list(app, root, `authorised=true&blocked=false&deptId=${d.east}&q=zhang`), { total: 2, accounts: ['ea1', 'ea2'] }, 'with deptId and q (pinyin)');
  t.same(await list(app, root, `blocked=true&deptId=${d.sales}`), { total: 0, accounts: [] }, 'a department’s own members only');

  // paging: the total is the filtered count, the page a slice of it
  const p1 = await list(app, root, 'authorised=false&limit=2&offset=0');
  const p2 = await list(app, root, 'authorised=false&limit=2&offset=2');
  const p3 = await list(app, root, 'authorised=false&limit=2&offset=4');
  t.same([p1.total, p2.total, p3.total], [5, 5, 5], 'every page reports the filtered total');
  t.same([p1.accounts.length, p2.accounts.length, p3.accounts.length], [2, 2, 1]);
  t.same([...p1.accounts, ...p2.accounts, ...p3.accounts].sort(), ['ed', 'ew1', 'ew2', 'rb', 'rw'], 'the pages cover the list once');

  // the lists follow the switches at once
  const ew1 = (await s.directory.getUserByAccount('ew1'))!;
  t.equal((await call(app, root, 'POST', `/api/admin/members/${ew1.id}/authorise`)).statusCode, 200);
  t.same((await list(app, root, 'authorised=true&q=ew')).accounts, ['ew1'], 'an authorised member moves to the authorised list');
  t.equal((await call(app, root, 'POST', `/api/admin/members/${ew1.id}/block`)).statusCode, 200);
  t.same((await list(app, root, 'blocked=true')).accounts, ['eb', 'ew1', 'rb'], 'and a blocked one to the blocked list');
});

t.test('bad filter values are refused with a message naming the parameter', async (t) => {
  const { app, root } = await buildApp(t);
  const cases: [string, RegExp][] = [
    ['authorised=yes', /^authorised must be true or false$/],
    ['authorised=1', /^authorised must be true or false$/],
    ['authorised=', /^authorised must be true or false$/],
    ['blocked=TRUE', /^blocked must be true or false$/],
    ['blocked=true&blocked=false', /^query parameter blocked must be given once$/],
    ['status=gone', /^status must be one of active, disabled$/],
    ['status=%00', /^status must be one of active, disabled$/],
    ['authorized=true', /^unknown query parameter authorized; allowed: deptId, q, authorised, blocked, status, offset, limit$/],
  ];
  for (const [qs, message] of cases) {
    const r = await call(app, root, 'GET', `/api/admin/members?${qs}`);
    t.equal(r.statusCode, 400, `${qs}: 400`);
    t.equal(err(r).code, 'GW_BAD_REQUEST', qs);
    t.match(err(r).message, message, qs);
  }
});

t.test('a scoped administrator’s lists hold only their scope, filters and search included', async (t) => {
  const { app, s, root } = await buildApp(t);
  const d = await fixture(app, s, root);
  const rootCtx = { admin: (await s.admin.authenticate(root.cookie.split('=')[1] as string)).admin, address: null };
  const role = await s.admin.createRole(rootCtx, { name: '华东授权员', rights: [Right.Authorisation], scopeDeptIds: [d.east] });
  await s.admin.createAdmin(rootCtx, { username: 'east', password: SCOPED_PW, roleIds: [role.id as RoleId] });
  const east = sessionOf(await app.inject({ method: 'POST', url: '/api/admin/login', payload: { username: 'east', password: SCOPED_PW } }));

  t.same(await list(app, east, 'authorised=true&blocked=false'), { total: 2, accounts: ['ea1', 'ea2'] }, 'the authorised list of 华东 only');
  t.same(await list(app, east, 'blocked=true'), { total: 1, accounts: ['eb'] }, 'the blocked list: rb of 研发部 is not shown');
  t.same(await list(app, east, 'authorised=false&q=研'), { total: 0, accounts: [] }, 'a search does not reach outside the scope');
  t.same(await list(app, east, 'authorised=false&status=active&limit=1'), { total: 2, accounts: ['ew2'] }, 'paged within the scope (by pinyin: wanger first)');
  const r = await call(app, east, 'GET', `/api/admin/members?blocked=true&deptId=${d.rnd}`);
  t.equal(r.statusCode, 403, 'a department outside the scope is refused, filter or not');
  t.match(err(r).message, /may only manage 销售部\/华东/);
});
