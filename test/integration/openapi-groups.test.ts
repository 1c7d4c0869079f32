import t from 'tap';
import { startGateway } from '../helpers/gateway.js';
import { YouduClient, type CgiReply } from '../helpers/youdu-client.js';

/**
 * The open API's groups (issue 6; wire spec §3.7): GUID ids, delete by `id`
 * or `groupId` with GET or POST, members within the limit, errcodes
 * 500001–500008, and the `group` right.
 */

const code = (r: CgiReply) => r.json.errcode;

t.test('groups: create, info, list, members, ismember, update, delete; the tolerances and the errcodes', async (t) => {
  const gw = await startGateway(t, { settings: { groupMemberLimit: 3 } });
  for (const a of ['g1', 'g2', 'g3', 'g4']) await gw.addUser(a, { name: `用户${a}` });
  const app = await gw.gw.services.apps.create({ name: '群助手', rights: ['group'] });
  const c = new YouduClient(gw.http, app.buin as number, app.appId as string, app.encodingAesKey as string);
  const open = async (r: Promise<CgiReply>) => c.open(await r) as Record<string, unknown>;

  const { id } = (await open(c.post('/cgi/group/create', { name: '项目群' }))) as { id: string };
  t.match(id, /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/, 'a GUID id');
  const q = encodeURIComponent(id);
  t.equal(code(await c.post('/cgi/group/addmember', { id, userList: ['g1', 'g2'] })), 0, 'addmember');
  t.same(await open(c.get(`/cgi/group/info?id=${q}`)), { id, name: '项目群', admin: '', members: [{ account: 'g1', name: '用户g1', mobile: '' }, { account: 'g2', name: '用户g2', mobile: '' }] }, 'info');
  t.same(await open(c.get('/cgi/group/list')), { groupList: [{ id, name: '项目群' }] }, 'list');
  t.same(await open(c.get('/cgi/group/list?userId=g1')), { groupList: [{ id, name: '项目群' }] }, 'list of a member');
  t.same(await open(c.get('/cgi/group/list?userId=g3')), { groupList: [] }, 'list of someone else: empty array');
  t.same(await open(c.get(`/cgi/group/ismember?id=${q}&userId=g1`)), { belong: true });
  t.same(await open(c.get(`/cgi/group/ismember?id=${q}&userId=g3`)), { belong: false });
  t.match(await gw.gw.services.directory.groupByExternalId(id), { origin: 'openapi', name: '项目群', memberIds: { length: 2 } }, 'a directory group, as clients see it');
  t.equal(code(await c.post('/cgi/group/addmember', { id, userList: ['g3', 'g4'] })), 5, 'past the member limit: errcode 5, nothing added');
  t.equal(code(await c.post('/cgi/group/delmember', { id, userList: ['g2'] })), 0, 'delmember');
  t.equal(code(await c.post('/cgi/group/update', { id, name: '新名字' })), 0, 'update');
  t.match(await open(c.get(`/cgi/group/info?id=${q}`)), { name: '新名字', members: [{ account: 'g1' }] });

  const bad: [string, Promise<CgiReply>, number][] = [
    ['create without name', c.post('/cgi/group/create', {}), 500001],
    ['create with a number name', c.post('/cgi/group/create', { name: 5 }), 500002],
    ['create with a long name', c.post('/cgi/group/create', { name: 'x'.repeat(33) }), 500003],
    ['info of an unknown group', c.get('/cgi/group/info?id=%7B00000000-0000-0000-0000-000000000000%7D'), 500004],
    ['info without id', c.get('/cgi/group/info'), 500006],
    ['info with a malformed id', c.get('/cgi/group/info?id=abc'), 500008],
    ['addmember of an unknown user', c.post('/cgi/group/addmember', { id, userList: ['ghost'] }), 500007],
    ['addmember without a list', c.post('/cgi/group/addmember', { id }), 500007],
  ];
  for (const [what, r, want] of bad) t.equal(code(await r), want, `${what}: ${want}`);

  const other = await gw.gw.services.apps.create({ name: '普通应用' });
  const o = new YouduClient(gw.http, other.buin as number, other.appId as string, other.encodingAesKey as string);
  t.equal(code(await o.post('/cgi/group/create', { name: 'x' })), 100005, 'an app without the group right: 100005');

  t.equal(code(await c.get(`/cgi/group/delete?groupId=${q}`)), 0, 'delete by groupId (PHP libraries)');
  t.equal(code(await c.get(`/cgi/group/info?id=${q}`)), 500004, 'gone');
  const second = ((await open(c.post('/cgi/group/create', { name: '二群' }))) as { id: string }).id;
  t.equal(code(await c.raw(`/cgi/group/delete?id=${encodeURIComponent(second)}&accessToken=${c.token}`, { method: 'POST' })), 0, 'delete by POST with no body');
  t.same(await open(c.get('/cgi/group/list')), { groupList: [] });
});
