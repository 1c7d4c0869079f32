import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import t from 'tap';
import { jobDone } from '../../gateway/src/openapi/endpoints/org-sync.js';
import { nextEvent, online, WAIT_MS, within } from '../helpers/clients.js';
import { hashPassword } from '../../gateway/src/auth/password.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { startGateway, TEST_PASSWORD, type TestGateway } from '../helpers/gateway.js';
import { YouduClient, type CgiReply } from '../helpers/youdu-client.js';

/**
 * The open API's organisation endpoints (issue 6; wire spec §3.4–§3.6, §7, §8)
 * through the spec client: departments and users with the shapes the Java
 * library needs (every key, arrays always arrays), the tolerances, the
 * errcodes of each class of bad input, rights, and the full sync end to end.
 */

async function orgClient(gw: TestGateway): Promise<YouduClient> {
  const app = gw.gw.services.apps.list().find((a) => a.appId === 'sysOrgAssistant');
  if (!app) throw new Error('no sysOrgAssistant');
  return new YouduClient(gw.http, app.buin as number, 'sysOrgAssistant', app.encodingAesKey as string);
}

const code = (r: CgiReply) => r.json.errcode;

t.test('departments: create with and without an id, read in every shape, update, sort, alias lookups, delete with its refusals', async (t) => {
  const gw = await startGateway(t);
  const c = await orgClient(gw);
  const open = async (r: Promise<CgiReply>) => c.open(await r) as Record<string, unknown>;

  t.same(await open(c.post('/cgi/dept/create', { id: 100, name: '研发部', parentId: 0, sortId: 0, alias: 'rd' })), { id: 100 }, 'the given id is kept');
  t.same(await open(c.post('/cgi/dept/create', { id: 101, name: '平台组', parentId: 100, sortId: 2 })), { id: 101 });
  t.same(await open(c.post('/cgi/dept/create', { id: 102, name: '客户端组', parentId: 100, sortId: 1, alias: null })), { id: 102 }, 'alias null is absent');
  const gen = (await open(c.post('/cgi/dept/create', { name: '市场部', parentId: 0 }))).id as number;
  t.equal(gen, 103, 'without an id, the next after the largest is made');

  const list = await open(c.get('/cgi/dept/list?id=100'));
  t.same((list.deptList as { id: number }[]).map((d) => d.id), [100, 102, 101], 'list: itself then its children by sortId');
  t.same((list.deptList as unknown[])[0], { id: 100, name: '研发部', parentId: 0, sortId: 0, alias: 'rd' }, 'every key of a department');
  t.same(((await open(c.get('/cgi/dept/listchildren?id=100'))).deptList as { id: number }[]).map((d) => d.id), [102, 101], 'listchildren');
  t.same(((await open(c.get('/cgi/dept/alllistchildren?id=0'))).deptList as { id: number }[]).map((d) => d.id).sort(), [100, 101, 102, gen].sort(), 'alllistchildren of the root: everything');
  t.same(await open(c.get('/cgi/dept/get?id=101')), { id: 101, name: '平台组', parentId: 100, sortId: 2, alias: '' });
  t.same(await open(c.get('/cgi/dept/getId?alias=rd')), { id: 100 }, 'the getId spelling, by alias');
  t.same(await open(c.get('/cgi/dept/getid')), { aliasList: [{ id: 100, alias: 'rd' }] }, 'every alias');

  t.equal(code(await c.post('/cgi/dept/update', { id: 101, name: '平台部', parentId: 0, sortId: 5, alias: 'plat' })), 0, 'update moves, renames, re-sorts');
  t.same(await open(c.get('/cgi/dept/get?id=101')), { id: 101, name: '平台部', parentId: 0, sortId: 5, alias: 'plat' });
  t.same(await open(c.post('/cgi/dept/sort', { id: 101, behindDeptId: 0 })), {}, 'sort answers a JSON object');
  t.equal(((await open(c.get('/cgi/dept/listchildren?id=0'))).deptList as { id: number }[])[0]?.id, 101, 'sort puts it first');

  // refusals
  const bad: [string, unknown, number][] = [
    ['missing name', { parentId: 0 }, 300110],
    ['name not a string', { name: 5, parentId: 0 }, 300103],
    ['name with /', { name: 'a/b', parentId: 0 }, 300107],
    ['name too long', { name: 'x'.repeat(65), parentId: 0 }, 300117],
    ['missing parentId', { name: 'x' }, 300111],
    ['parentId not a number', { name: 'x', parentId: 'abc' }, 300105],
    ['parentId unknown', { name: 'x', parentId: 9999 }, 300108],
    ['id taken', { id: 100, name: 'x', parentId: 0 }, 300112],
    ['id 0 (the root)', { id: 0, name: 'x', parentId: 0 }, 300101],
    ['id not a number', { id: 'x1', name: 'x', parentId: 0 }, 300102],
    ['sortId not a number', { name: 'x', parentId: 0, sortId: 'a' }, 300104],
    ['sortId taken under the parent', { name: 'y', parentId: 100, sortId: 1 }, 300113],
    ['alias taken', { name: 'z', parentId: 0, alias: 'rd' }, 300119],
    ['a sibling with the same name', { name: '研发部', parentId: 0 }, 300107],
  ];
  for (const [what, body, want] of bad) t.equal(code(await c.post('/cgi/dept/create', body)), want, `create, ${what}: ${want}`);
  t.equal(code(await c.post('/cgi/dept/update', { name: 'x' })), 300109, 'update without id: 300109');
  t.equal(code(await c.post('/cgi/dept/update', { id: 0, name: 'x' })), 300101, 'update of the root: 300101');
  t.equal(code(await c.post('/cgi/dept/update', { id: 4242, name: 'x' })), 300114, 'update of an unknown dept: 300114');
  t.equal(code(await c.post('/cgi/dept/update', { id: 100, parentId: 102 })), 300108, 'a move under its own child: 300108');
  t.equal(code(await c.get('/cgi/dept/getid?alias=nope')), 300114, 'an unknown alias: 300114');

  t.equal(code(await c.get('/cgi/dept/delete?id=100')), 300115, 'delete with children: 300115');
  await c.post('/cgi/user/create', { userId: 'd1', name: '甲', gender: 0, dept: [102] });
  t.equal(code(await c.get('/cgi/dept/delete?id=102')), 300116, 'delete with users: 300116');
  t.equal(code(await c.get('/cgi/user/delete?userId=d1')), 0);
  t.equal(code(await c.raw(`/cgi/dept/delete?id=102&accessToken=${c.token}`, { method: 'POST' })), 0, 'delete by POST with an empty body and the query');
  t.equal(code(await c.post('/cgi/dept/delete', { id: 100 })), 0, 'delete by POST with the envelope');
  t.equal(code(await c.get('/cgi/dept/get?id=100')), 300114, 'gone');
  t.equal(code(await c.get('/cgi/dept/delete?id=0')), 300101, 'delete of the root: 300101');
});

t.test('users: create with every field, read in the shapes the Java library needs, update with attrs null, positions, state, quit and restore', async (t) => {
  const gw = await startGateway(t);
  const c = await orgClient(gw);
  const open = async (r: Promise<CgiReply>) => c.open(await r) as Record<string, unknown>;
  await c.post('/cgi/dept/create', { id: 10, name: '总部', parentId: 0 });
  await c.post('/cgi/dept/create', { id: 11, name: '财务', parentId: 10 });

  t.equal(code(await c.post('/cgi/user/create', {
    userId: 'zhangsan', name: '张三', gender: 1, mobile: '13800000000', phone: '', email: 'zs@example.com', dept: [10, 11],
    deptDetail: [{ deptId: 10, position: '经理', weight: 3, sortId: 1 }], shortCode: '8001', attrs: [{ name: '工号', value: 'A1' }], enableState: 1,
  })), 0, 'create');
  t.equal(code(await c.post('/cgi/user/create', { userId: 'lisi', name: '李四', gender: 0, dept: [11], attrs: null, mobile: null, email: '' })), 0, 'create with "attrs": null and "" as absent');

  const zs = await open(c.get('/cgi/user/get?userId=zhangsan'));
  const u = await gw.gw.services.directory.getUserByAccount('zhangsan');
  t.same(zs, {
    gid: u?.id, userId: 'zhangsan', name: '张三', gender: 1, mobile: '13800000000', phone: '', email: 'zs@example.com', dept: [10, 11],
    deptDetail: [{ deptId: 10, position: '经理', weight: 3, sortId: 1 }, { deptId: 11, position: '', weight: 0, sortId: 0 }],
    attrs: [{ name: '工号', value: 'A1' }], shortCode: '8001', enableState: 1,
  }, 'user/get: every key, arrays as arrays');
  const ls = await open(c.get('/cgi/user/get?userId=lisi'));
  t.same([ls.attrs, ls.deptDetail, ls.dept], [[], [{ deptId: 11, position: '', weight: 0, sortId: 0 }], [11]], 'no attrs is an empty array');

  const list = (await open(c.get('/cgi/user/list?deptId=11'))).userList as Record<string, unknown>[];
  t.same(list.map((x) => x.userId).sort(), ['lisi', 'zhangsan'], 'user/list of a department');
  for (const x of list) for (const k of ['gid', 'userId', 'name', 'gender', 'mobile', 'phone', 'email', 'dept', 'deptDetail', 'attrs']) t.ok(k in x, `user/list has ${k}`);
  t.same(((await open(c.get('/cgi/user/simplelist?deptId=10'))).userList as unknown[]), [{ gid: u?.id, userId: 'zhangsan', name: '张三', gender: 1, dept: [10, 11] }], 'simplelist');
  t.same(((await open(c.get('/cgi/dept/user/listall?deptId=10'))).userList as { userId: string }[]).map((x) => x.userId).sort(), ['lisi', 'zhangsan'], 'listall: the subtree');

  t.equal(code(await c.post('/cgi/user/update', { userId: 'lisi', name: '李四四', attrs: null, dept: [10], mobile: '13900000000' })), 0, 'update with attrs null');
  t.match(await open(c.get('/cgi/user/get?userId=lisi')), { name: '李四四', dept: [10], mobile: '13900000000', attrs: [] });
  t.equal(code(await c.post('/cgi/user/positionupdate', { userId: 'lisi', deptId: 10, position: '会计', weight: 2, sortId: 7 })), 0, 'positionupdate');
  t.same((await open(c.get('/cgi/user/get?userId=lisi'))).deptDetail, [{ deptId: 10, position: '会计', weight: 2, sortId: 7 }]);
  t.equal(code(await c.post('/cgi/user/positionupdate', { userId: 'lisi', deptId: 11, position: 'x' })), 300227, 'not in that dept: 300227');

  // enable state ↔ status, authorisation and sessions
  const auth0 = await gw.gw.services.directory.getUserByAccount('lisi');
  await gw.gw.services.directory.setPasswordHash((auth0 as { id: UserId }).id, await hashPassword(TEST_PASSWORD));
  const { client } = await online(t, gw, 'lisi');
  t.equal(code(await c.post('/cgi/user/setauth', { userId: 'lisi', authType: 0, passwd: createHash('md5').update('new-pass-123').digest('hex') })), 0, 'setauth with an md5 password');
  const auth = await gw.gw.services.directory.getUserByAccount('lisi');
  t.match(auth?.passwordHash, /^scrypt-md5\$/, 'kept as scrypt over the md5, never the md5 itself');
  const closed = nextEvent(client, 'closed');
  t.equal(code(await c.post('/cgi/user/enable/stateupdate', { userIdList: ['lisi'], enableState: -1 })), 0, 'stateupdate −1');
  await within(closed, WAIT_MS, 'the disabled user’s session to close');
  t.same(await open(c.get('/cgi/user/enable/state?userId=lisi')), { enableState: -1 });
  t.equal(code(await c.post('/cgi/user/enable/stateupdate', { userIdList: ['lisi'], enableState: 0 })), 0);
  t.same(await open(c.get('/cgi/user/enable/state?userId=lisi')), { enableState: 0 }, '0: active, not authorised');
  t.equal(code(await c.post('/cgi/user/enable/stateupdate', { userIdList: ['lisi'], enableState: 1 })), 0);
  t.same(await open(c.get('/cgi/user/enable/state?userId=lisi')), { enableState: 1 });
  await online(t, gw, 'lisi', { password: 'new-pass-123' });
  t.pass('the user logs in with the password whose md5 was set');
  t.equal(code(await c.post('/cgi/user/extend/update', { userId: 'lisi', key: 'needchangepwd', value: '1' })), 0, 'extend/update');
  t.equal(code(await c.post('/cgi/user/extend/update', { userId: 'lisi', key: 'other', value: '1' })), 100003, 'an unknown key: 100003');

  // quit and restore: the reply carries encrypt (the Java library requires it)
  const q = await c.post('/cgi/user.quit', { accList: ['lisi'], buin: c.buin });
  t.equal(code(q), 0);
  t.type(q.json.encrypt, 'string', 'user.quit answers encrypt');
  t.same(await open(c.get('/cgi/user/enable/state?userId=lisi')), { enableState: -1 }, 'a quit user is disabled');
  const found = (await open(c.post('/cgi/user/quit/search', { account: '', buin: c.buin }))).userList as Record<string, unknown>[];
  t.same(found, [{ gid: auth?.id, account: 'lisi', chsName: '李四四', gender: 0, mobile: '13900000000', phone: '', email: '', shortCode: '' }], 'quit/search');
  const r = await c.post('/cgi/user/restore', { account: 'lisi', buin: c.buin, gid: auth?.id });
  t.match(c.open(r), { gid: auth?.id, account: 'lisi' }, 'restore answers encrypt with the user');
  t.same(await open(c.get('/cgi/user/enable/state?userId=lisi')), { enableState: 1 });
  t.equal(code(await c.post('/cgi/user.restore', { gid: auth?.id })), 300225, 'restoring someone who has not quit: 300225');

  // bad input
  const bad: [string, unknown, number][] = [
    ['no userId', { name: 'x', dept: [10] }, 300201],
    ['userId not a string', { userId: {}, name: 'x', dept: [10] }, 300205],
    ['userId too long', { userId: 'a'.repeat(65), name: 'x', dept: [10] }, 300218],
    ['userId with spaces', { userId: 'a b', name: 'x', dept: [10] }, 300223],
    ['userId taken', { userId: 'zhangsan', name: 'x', dept: [10] }, 300224],
    ['no name', { userId: 'n1', dept: [10] }, 300202],
    ['name too long', { userId: 'n1', name: 'x'.repeat(65), dept: [10] }, 300219],
    ['gender 2', { userId: 'n1', name: 'x', gender: 2, dept: [10] }, 300207],
    ['bad email', { userId: 'n1', name: 'x', email: 'nope', dept: [10] }, 300208],
    ['bad phone', { userId: 'n1', name: 'x', phone: 'abc', dept: [10] }, 300209],
    ['bad mobile', { userId: 'n1', name: 'x', mobile: '12', dept: [10] }, 300210],
    ['dept not an array', { userId: 'n1', name: 'x', dept: 10 }, 300211],
    ['no dept', { userId: 'n1', name: 'x', dept: [] }, 300203],
    ['21 depts', { userId: 'n1', name: 'x', dept: Array.from({ length: 21 }, (_, i) => i + 1) }, 300221],
    ['an unknown dept', { userId: 'n1', name: 'x', dept: [999] }, 300114],
    ['a position too long', { userId: 'n1', name: 'x', dept: [10], deptDetail: [{ deptId: 10, position: 'p'.repeat(65) }] }, 300215],
    ['a weight not a number', { userId: 'n1', name: 'x', dept: [10], deptDetail: [{ deptId: 10, weight: 'w' }] }, 300216],
  ];
  for (const [what, body, want] of bad) t.equal(code(await c.post('/cgi/user/create', body)), want, `create, ${what}: ${want}`);
  t.notOk(await gw.gw.services.directory.getUserByAccount('n1'), 'nothing was written');
  t.equal(code(await c.get('/cgi/user/get?userId=ghost')), 300001, 'get of an unknown user: 300001');
  t.equal(code(await c.get('/cgi/user/get')), 300201, 'get without userId: 300201');
  t.equal(code(await c.post('/cgi/user/setauth', { userId: 'zhangsan', authType: 0, passwd: 'plain' })), 300213, 'a passwd that is not md5: 300213');
  t.equal(code(await c.post('/cgi/user/setauth', { userId: 'zhangsan', authType: 7 })), 300214, 'authType 7: 300214');
  t.equal(code(await c.post('/cgi/user/batchdelete', {})), 300204, 'batchdelete without delList: 300204');
  t.equal(code(await c.post('/cgi/user/batchdelete', { delList: 'x' })), 300212, 'delList not an array: 300212');
  t.equal(code(await c.post('/cgi/user/batchdelete', { delList: Array.from({ length: 201 }, (_, i) => `u${i}`) })), 300222, '201 users: 300222');
  t.equal(code(await c.post('/cgi/user/batchdelete', { delList: ['zhangsan', 'ghost'] })), 300225, 'an unknown user: 300225');
  t.ok(await gw.gw.services.directory.getUserByAccount('zhangsan'), 'and nobody was deleted');
  t.equal(code(await c.post('/cgi/user/batchdelete', { delList: ['zhangsan', 'lisi'] })), 0, 'batchdelete');
  t.equal(code(await c.get('/cgi/user/get?userId=zhangsan')), 300001, 'gone');
});

t.test('rights: an ordinary app may not read or write the org (100005); an org.read app may read but not write', async (t) => {
  const gw = await startGateway(t);
  const plain = await gw.gw.services.apps.create({ name: '考勤' });
  const c = new YouduClient(gw.http, plain.buin as number, plain.appId as string, plain.encodingAesKey as string);
  t.equal(code(await c.post('/cgi/dept/create', { name: 'x', parentId: 0 })), 100005, 'dept/create');
  t.equal(code(await c.post('/cgi/user/create', { userId: 'x', name: 'x', dept: [1] })), 100005, 'user/create');
  t.equal(code(await c.get('/cgi/user/delete?userId=x')), 100005, 'user/delete');
  t.equal(code(await c.get('/cgi/dept/list?id=0')), 100005, 'dept/list');
  t.equal(code(await c.post('/cgi/org/replaceall', { userList: [] })), 100005, 'org/replaceall');
  const reader = await gw.gw.services.apps.create({ name: '通讯录', rights: ['org.read'] });
  const r = new YouduClient(gw.http, reader.buin as number, reader.appId as string, reader.encodingAesKey as string);
  t.equal(code(await r.get('/cgi/dept/list?id=0')), 0, 'org.read reads');
  t.equal(code(await r.post('/cgi/dept/create', { name: 'x', parentId: 0 })), 100005, 'but does not write');
});

t.test('org/replaceall: a job replaces the org; a user left out is disabled and their live session closes; getjobresult and the org file', async (t) => {
  const gw = await startGateway(t);
  const c = await orgClient(gw);
  await c.post('/cgi/dept/create', { id: 1, name: '旧部门', parentId: 0 });
  await c.post('/cgi/dept/create', { id: 2, name: '留下', parentId: 0 });
  await c.post('/cgi/user/create', { userId: 'stay', name: '留', dept: [2] });
  await c.post('/cgi/user/create', { userId: 'leaver', name: '走', dept: [1] });
  await gw.gw.services.directory.setPasswordHash(((await gw.gw.services.directory.getUserByAccount('leaver')) as { id: UserId }).id, await hashPassword(TEST_PASSWORD));
  await gw.addUser('local1');
  const { client } = await online(t, gw, 'leaver');
  const closed = nextEvent(client, 'closed');

  const body = {
    deptList: [
      { id: 2, name: '留下的部门', parentId: 0, sortId: 1 },
      { id: 3, name: '新部门', parentId: 2, sortId: 0, alias: 'new' },
    ],
    userList: [
      { userId: 'stay', name: '留', gender: 0, dept: [3], deptDetail: [{ deptId: 3, position: '组长', weight: 1, sortId: 1 }] },
      { userId: 'fresh', name: '新人', gender: 1, mobile: '13700000000', dept: [2, 3], passwd: createHash('md5').update('fresh-pass-1').digest('hex'), authType: 0 },
    ],
  };
  const started = c.open(await c.post('/cgi/org/replaceall', body)) as { jobId: string };
  t.match(started.jobId, /^[0-9a-f]{32}$/, 'a jobId');
  t.equal(code(await c.post('/cgi/org/replaceall', body)), 300312, 'a second full sync while one runs: 300312');
  await jobDone(gw.gw.services.db, started.jobId);
  const res = c.open(await c.get(`/cgi/getjobresult?jobId=${started.jobId}`)) as { type: string; result: number; desc: string };
  t.equal(res.type, 'org_replace_all');
  t.equal(res.result, 3, 'done');
  t.match(res.desc, /users: 1 created, 1 updated, 2 disabled/, 'the summary (leaver and the local user are no longer listed)');
  await within(closed, WAIT_MS, 'the left-out user’s live session to close');

  const dir = gw.gw.services.directory;
  t.same((await dir.listDepts()).map((d) => [d.id, d.name, d.parentId]).sort(), [[2, '留下的部门', null], [3, '新部门', 2]], 'the departments are exactly the list');
  t.match(await dir.getUserByAccount('leaver'), { status: 'disabled', authorised: false, depts: [] }, 'left out: disabled, seat freed, out of the removed department');
  t.match(await dir.getUserByAccount('stay'), { status: 'active', depts: [{ deptId: 3 }] });
  t.match(await dir.getUserByAccount('fresh'), { status: 'active', authorised: true, gender: 'female' });
  const log = await gw.gw.services.admin.queryLog({});
  t.ok(log.entries.some((e) => e.action === 'member.disable' && e.targetLabel === 'leaver'), 'the disabling is in the action log');
  t.same(c.open(await c.get('/cgi/dept/getid?alias=new')), { id: 3 });

  // bad input: refused before any job starts
  const bad: [string, unknown, number][] = [
    ['no userList', { deptList: [] }, 300204],
    ['userList not an array', { userList: {} }, 300212],
    ['deptList not an array', { deptList: 5, userList: [] }, 300301],
    ['a bad dept', { deptList: [{ id: 'x', name: 'a' }], userList: [] }, 300302],
    ['a parent not listed', { deptList: [{ id: 5, name: 'a', parentId: 6 }], userList: [] }, 300308],
    ['a bad user', { userList: [{ userId: 'a b', name: 'x', gender: 0, dept: [] }] }, 300303],
    ['no gender', { userList: [{ userId: 'ab', name: 'x', dept: [] }] }, 300306],
    ['an unknown dept', { userList: [{ userId: 'ab', name: 'x', gender: 0, dept: [77] }] }, 300307],
    ['a userId twice', { userList: [{ userId: 'ab', name: 'x', gender: 0, dept: [] }, { userId: 'AB', name: 'y', gender: 0, dept: [] }] }, 300311],
  ];
  for (const [what, b, want] of bad) t.equal(code(await c.post('/cgi/org/replaceall', b)), want, `${what}: ${want}`);
  t.equal(code(await c.get('/cgi/getjobresult?jobId=0123')), 300311, 'an unknown job: 300311');
  t.equal(code(await c.raw(`/cgi/org/xmlsync?accessToken=${c.token}`, { body: '<org/>', headers: { 'content-type': 'application/json' } })), 5, 'xmlsync: a clear refusal');

  // the org file: a gzip-compressed SQLite database, encrypted as a download
  const q = c.open(await c.get('/cgi/org/sqlitefile/query?userId=stay&version=0')) as { fileId: string; version: number; generatingNew: boolean };
  t.match(q, { generatingNew: false });
  const dl = await c.get(`/cgi/org/sqlitefile/download?fileId=${encodeURIComponent(q.fileId)}`);
  t.equal(dl.headers.get('fileId'), q.fileId, 'the fileId header');
  const db = new Database(gunzipSync(c.cipher.decrypt(dl.text)));
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT id, name, parentId FROM dept ORDER BY id').all(), [{ id: 2, name: '留下的部门', parentId: 0 }, { id: 3, name: '新部门', parentId: 2 }], 'departments in the file');
  t.same(db.prepare("SELECT position FROM user_dept JOIN user USING (gid) WHERE userId = 'stay'").all(), [{ position: '组长' }], 'positions in the file');
  t.equal(code(await c.get('/cgi/org/sqlitefile/download?fileId=org-0')), 200010, 'a stale fileId: 200010');
});
