import t, { type Test } from 'tap';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { nameToPinyin } from '../../gateway/src/directory/pinyin.js';
import { makeServices } from '../helpers/services.js';

const code = (c: string) => (e: unknown) => e instanceof GatewayError && e.code === c;
async function rejectsWith(t: Test, p: Promise<unknown>, c: string, msg?: RegExp) {
  const e = await p.then(() => null, (x: unknown) => x);
  t.ok(code(c)(e), `rejects with ${c}${e ? ` (got ${(e as GatewayError).code}: ${(e as Error).message})` : ' (resolved)'}`);
  if (msg && e) t.match((e as Error).message, msg);
}

t.test('pinyin reads surnames correctly', async (t) => {
  t.same(nameToPinyin('曾小贤'), { full: 'zengxiaoxian', initials: 'zxx' });
  t.same(nameToPinyin('单田芳').full, 'shantianfang');
  t.same(nameToPinyin('Anna 李').full, 'annali');
});

t.test('department tree: paths, rename, move, cycles, non-empty delete', async (t) => {
  const s = makeServices(t);
  const team = await s.directory.deptByPath('研发部/平台组', true);
  const rnd = await s.directory.deptByPath('研发部', false);
  t.equal(team.parentId, rnd.id);
  t.equal((await s.directory.deptByPath('研发部/平台组', true)).id, team.id, 'existing path is reused');
  await rejectsWith(t, s.directory.deptByPath('市场部', false), 'GW_NOT_FOUND');
  await rejectsWith(t, s.directory.createDept(rnd.id, '平台组'), 'GW_CONFLICT');
  await rejectsWith(t, s.directory.createDept(null, 'a/b'), 'GW_BAD_REQUEST');
  await rejectsWith(t, s.directory.createDept(null, 'x'.repeat(65)), 'GW_BAD_REQUEST');
  await rejectsWith(t, s.directory.moveDept(rnd.id, team.id), 'GW_DEPT_CYCLE');
  await rejectsWith(t, s.directory.moveDept(rnd.id, rnd.id), 'GW_DEPT_CYCLE');
  t.equal((await s.directory.getUser(1 as UserId)), null);
  await s.directory.createUser({ account: 'alice', name: '爱丽丝', deptIds: [team.id] });
  await rejectsWith(t, s.directory.deleteDept(team.id), 'GW_DEPT_NOT_EMPTY', /1 member/);
  await rejectsWith(t, s.directory.deleteDept(rnd.id), 'GW_DEPT_NOT_EMPTY', /1 sub-department/);
  const renamed = await s.directory.renameDept(team.id, '基础平台组');
  t.equal(renamed.name, '基础平台组');
  t.ok(renamed.version > team.version, 'version moves on');
});

t.test('users: case-insensitive unique accounts, validation, several departments with a main one, versioned edits', async (t) => {
  const s = makeServices(t);
  const a = await s.directory.deptByPath('A', true);
  const b = await s.directory.deptByPath('B', true);
  const u = await s.directory.createUser({ account: 'ZhangSan', name: '张三', deptIds: [a.id, b.id], mainDeptId: b.id, mobile: '13800000000' });
  t.equal(u.pinyin, 'zhangsan');
  t.same(u.depts.find((d) => d.main)?.deptId, b.id);
  await rejectsWith(t, s.directory.createUser({ account: 'zhangsan', name: '另一个张三' }), 'GW_CONFLICT');
  t.equal((await s.directory.getUserByAccount('ZHANGSAN'))?.id, u.id, 'lookup ignores case');
  await rejectsWith(t, s.directory.createUser({ account: 'bad account', name: 'x' }), 'GW_BAD_REQUEST');
  await rejectsWith(t, s.directory.createUser({ account: 'ok', name: '' }), 'GW_BAD_REQUEST');
  await rejectsWith(t, s.directory.createUser({ account: 'ok', name: 'x', mobile: 'call me' }), 'GW_BAD_REQUEST');
  await rejectsWith(t, s.directory.createUser({ account: 'ok', name: 'x', deptIds: [a.id], mainDeptId: 999 as never }), 'GW_BAD_REQUEST');
  const edited = await s.directory.editUser(u.id, { title: '工程师' }, u.rowVersion);
  t.equal(edited.title, '工程师');
  await rejectsWith(t, s.directory.editUser(u.id, { title: '经理' }, u.rowVersion), 'GW_CONFLICT', /someone else changed/);
  t.equal((await s.directory.getUser(u.id))?.title, '工程师', 'the stale write changed nothing');
  const found = await s.directory.searchUsers({ query: 'zs' });
  t.equal(found.total, 1, 'search by initials');
  t.equal((await s.directory.searchUsers({ query: '张' })).total, 1, 'search by Chinese name');
  t.equal((await s.directory.searchUsers({ query: '1380000' })).total, 1, 'search by mobile');
  t.equal((await s.directory.searchUsers({ query: '%' })).total, 0, 'LIKE wildcards are literal');
});

t.test('groups: limits, RTX limit, whitelist', async (t) => {
  const s = makeServices(t);
  await s.settings.set({ groupMemberLimit: 5, rtxGroupMemberLimit: 3 });
  const ids: UserId[] = [];
  for (let i = 0; i < 7; i++) ids.push((await s.directory.createUser({ account: `u${i}`, name: `用户${i}` })).id);
  const g = await s.directory.createGroup('项目组', ids[0] as UserId, ids.slice(0, 5));
  t.equal(g.memberIds.length, 5);
  await rejectsWith(t, s.directory.changeGroupMembers(g.id, [ids[5] as UserId], []), 'GW_GROUP_LIMIT', /at most 5/);
  t.equal((await s.directory.groupMemberIds(g.id)).length, 5, 'nothing half-added');
  // two changes checked against the same 4-member group at once: only one may take the last place
  await s.directory.changeGroupMembers(g.id, [], [ids[4] as UserId]);
  const both = await Promise.allSettled([s.directory.changeGroupMembers(g.id, [ids[5] as UserId], []), s.directory.changeGroupMembers(g.id, [ids[6] as UserId], [])]);
  t.same(both.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'simultaneous additions cannot pass the limit together');
  t.match((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason, { code: 'GW_GROUP_LIMIT', message: /at most 5 members; this change would make 6/ });
  t.equal((await s.directory.groupMemberIds(g.id)).length, 5, 'the group is full, not over');
  await s.directory.changeGroupMembers(g.id, [ids[4] as UserId], [(await s.directory.groupMemberIds(g.id)).find((m) => m === ids[5] || m === ids[6]) as UserId]);
  await rejectsWith(t, s.directory.createGroup('RTX 组', ids[0] as UserId, ids.slice(0, 4), 'rtx'), 'GW_GROUP_LIMIT', /at most 3/);
  await s.directory.setLimitExempt(ids[0] as UserId, true);
  const big = await s.directory.createGroup('大群', ids[0] as UserId, ids);
  t.equal(big.memberIds.length, 7, 'a whitelisted owner is not limited');
  await rejectsWith(t, s.directory.createGroup('ghost', null, [999 as UserId]), 'GW_NOT_FOUND');
});

t.test('deltas carry changes and removals since a version', async (t) => {
  const s = makeServices(t);
  const u1 = await s.directory.createUser({ account: 'a1', name: '甲' });
  const u2 = await s.directory.createUser({ account: 'a2', name: '乙' });
  const g = await s.directory.createGroup('g', u1.id, [u1.id, u2.id]);
  const v = await s.directory.version();
  await s.directory.editUser(u2.id, { title: '经理' });
  await s.directory.deleteUser(u1.id);
  const d = await s.directory.delta(u2.id, v);
  t.same(d.users.map((u) => u.account), ['a2']);
  t.same(d.removed.users, [u1.id]);
  t.same(d.groups.map((x) => x.id), [g.id], 'the group changed because a member left');
  t.same(d.groups[0]?.memberIds, [u2.id]);
  t.equal((await s.directory.delta(u2.id, d.version)).users.length, 0, 'nothing after the newest version');
  t.ok((await s.directory.delta(u2.id, d.version + 100)).resetRequired, 'a version from the future needs a snapshot');
});
