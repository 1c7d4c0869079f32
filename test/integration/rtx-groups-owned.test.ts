import t from 'tap';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { startGateway } from '../helpers/gateway.js';
import { consoleSession, nextFinishedRun, ScriptedAdapter } from '../helpers/rtx.js';

/** RTX discussion groups are owned by RTX: the console may not rename them or change their members. */
t.test('renaming an RTX group or changing its members is refused with GW_RTX_OWNED; local groups stay editable', async (t) => {
  const g = await startGateway(t);
  const adapter = await ScriptedAdapter.connect(t, g);
  const user = (account: string) => ({ account, name: account, gender: 'male' as const, mobile: '', email: '', phone: '', title: '', disabled: false, deptIds: ['1'] });
  await adapter.sendSnapshot({
    depts: [{ id: '1', parentId: null, name: '总公司', order: 0 }],
    users: [user('zhangsan'), user('lisi'), user('wangwu')],
    groups: [{ id: 'rtx-group-1', name: '项目组1', members: ['zhangsan', 'lisi'] }],
  });
  const run = await nextFinishedRun(g, 0);
  t.equal(run.state, 'applied', run.error ?? '');

  const dir = g.gw.services.directory;
  const wangwu = (await dir.getUserByAccount('wangwu'))?.id as UserId;
  const lisi = (await dir.getUserByAccount('lisi'))?.id as UserId;
  const admin = await consoleSession(g);
  const list = (await (await admin.get('/api/admin/groups')).json()) as { groups: { id: number; name: string; origin: string }[] };
  const rtxGroup = list.groups.find((x) => x.origin === 'rtx');
  if (!rtxGroup) throw new Error('the RTX group is not listed');
  t.equal(rtxGroup.name, '项目组1');

  let r = await admin.send('PATCH', `/api/admin/groups/${rtxGroup.id}`, { name: '控制台改名' });
  t.equal(r.status, 409, 'rename refused');
  t.match(await r.json(), { error: { code: 'GW_RTX_OWNED', message: /项目组1 comes from RTX/, details: { fields: ['name'] } } });
  r = await admin.send('PATCH', `/api/admin/groups/${rtxGroup.id}`, { name: '项目组1' });
  t.equal(r.status, 200, 'sending the current name is fine');

  r = await admin.send('POST', `/api/admin/groups/${rtxGroup.id}/members`, { add: [wangwu] });
  t.equal(r.status, 409, 'adding a member refused');
  t.match(await r.json(), { error: { code: 'GW_RTX_OWNED', details: { fields: ['members'] } } });
  r = await admin.send('POST', `/api/admin/groups/${rtxGroup.id}/members`, { remove: [lisi] });
  t.equal(r.status, 409, 'removing a member refused');
  const after = (await (await admin.get(`/api/admin/groups/${rtxGroup.id}`)).json()) as { name: string; memberCount: number };
  t.match(after, { name: '项目组1', memberCount: 2 }, 'the RTX group is unchanged');

  // a local group with the same people is still the console's to edit
  r = await admin.send('POST', '/api/admin/groups', { name: '本地群', memberIds: [lisi] });
  t.equal(r.status, 201);
  const local = (await r.json()) as { id: number };
  r = await admin.send('PATCH', `/api/admin/groups/${local.id}`, { name: '本地群改名' });
  t.equal(r.status, 200);
  r = await admin.send('POST', `/api/admin/groups/${local.id}/members`, { add: [wangwu] });
  t.equal(r.status, 200);
  t.match(await r.json(), { name: '本地群改名', memberCount: 2 });
});
