import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { directoryDeptTree } from '../../gateway/src/admin/dept-tree.js';
import { targets, type AdminPrincipal } from '../../gateway/src/admin/rbac.js';
import { ALL_RIGHTS, isRight, Right, RIGHT_LABELS } from '../../gateway/src/admin/rights.js';
import { AdminService, ADMIN_IDLE_TIMEOUT_MS, ADMIN_SESSION_LIFETIME_MS, type ActionContext } from '../../gateway/src/admin/service.js';
import { SqliteAdminRepo } from '../../gateway/src/admin/sqlite-repo.js';
import type { AdminId, RoleId } from '../../gateway/src/admin/types.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import type { DeptId } from '../../gateway/src/protocol/client-v1.js';
import type { Services } from '../../gateway/src/services.js';
import { MIGRATIONS_DIR, type Db } from '../../gateway/src/storage/sqlite.js';
import { makeServices } from '../helpers/services.js';

/*
 * Delegated administration (F-2.2, F-3.9) at the service level: who may do
 * what where, what cannot be taken away from the built-in role, lockout,
 * session expiry on an injected clock, and the action log.
 */

/** Migration 003 runs with the others once 002 exists; before that, apply it here if the runner skipped it. */
function ensureAdminSchema(db: Db): void {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'admin_accounts'").get()) return;
  db.exec(readFileSync(path.join(MIGRATIONS_DIR, '003-admin.sql'), 'utf8'));
}

const PW = 'admin-secret-1';
const POLICY = { maxFailedLogins: 3, lockoutSeconds: 900, loginsPerMinutePerAddress: 1000 };

interface World {
  s: Services;
  svc: AdminService;
  clock: { now: number };
  d: Record<'sales' | 'east' | 'shanghai' | 'south' | 'guangzhou' | 'rnd' | 'platform', DeptId>;
  root: AdminPrincipal;
  ctx: ActionContext;
}

/** 销售部 ─ 华东大区 ─ 上海办 / 华南大区 ─ 广州办; 研发部 ─ 平台组; and a first super-administrator "root". */
async function world(t: Test, policy = POLICY): Promise<World> {
  const s = makeServices(t);
  ensureAdminSchema(s.db);
  const clock = { now: 1_750_000_000_000 };
  const svc = new AdminService(new SqliteAdminRepo(s.db), directoryDeptTree(s.directory), policy, () => clock.now);
  const dir = s.directory;
  const sales = (await dir.createDept(null, '销售部')).id;
  const east = (await dir.createDept(sales, '华东大区')).id;
  const shanghai = (await dir.createDept(east, '上海办')).id;
  const south = (await dir.createDept(sales, '华南大区')).id;
  const guangzhou = (await dir.createDept(south, '广州办')).id;
  const rnd = (await dir.createDept(null, '研发部')).id;
  const platform = (await dir.createDept(rnd, '平台组')).id;
  await svc.createFirstAdmin('root', PW, '系统管理员');
  const root = (await svc.login('root', PW, '10.0.0.1', 'test')).admin;
  return { s, svc, clock, d: { sales, east, shanghai, south, guangzhou, rnd, platform }, root, ctx: { admin: root, address: '10.0.0.1' } };
}
async function rejectsCode(t: Test, p: Promise<unknown>, code: string, message?: RegExp, what?: string): Promise<GatewayError | null> {
  try {
    await p;
    t.fail(`${what ?? 'call'} should fail with ${code}`);
    return null;
  } catch (e) {
    t.ok(e instanceof GatewayError, `${what ?? 'call'} fails with a GatewayError`);
    t.equal((e as GatewayError).code, code, `${what ?? 'call'}: ${code}`);
    if (message) t.match((e as Error).message, message, `${what ?? 'call'}: message`);
    return e as GatewayError;
  }
}

/** Creates an administrator holding one new role and returns them logged in. */
async function adminWithRole(w: World, username: string, role: { name: string; rights: Right[]; scopeDeptIds?: DeptId[]; wholeOrg?: boolean }) {
  const r = await w.svc.createRole(w.ctx, role);
  await w.svc.createAdmin(w.ctx, { username, password: PW, roleIds: [r.id] });
  const { admin } = await w.svc.login(username, PW, null, null);
  return { admin, role: r, ctx: { admin, address: '10.0.0.2' } as ActionContext };
}

t.test('every right has a Chinese and an English label', async (t) => {
  t.same(ALL_RIGHTS, ['org', 'members', 'groups', 'authorisation', 'devices', 'apps', 'audit', 'settings', 'licence', 'admins', 'logs']);
  for (const r of ALL_RIGHTS) {
    t.match(RIGHT_LABELS[r].zh, /[\u4e00-\u9fff]/, `${r} has a Chinese label`);
    t.ok(RIGHT_LABELS[r].en.length > 0, `${r} has an English label`);
  }
  t.ok(isRight('members'));
  t.notOk(isRight('root'));
  t.notOk(isRight('__proto__'));
});

t.test('first administrator: username rules, once only, race-safe', async (t) => {
  const s = makeServices(t);
  ensureAdminSchema(s.db);
  const svc = new AdminService(new SqliteAdminRepo(s.db), directoryDeptTree(s.directory), POLICY);
  t.equal(await svc.needsSetup(), true);
  for (const bad of ['ab', 'a'.repeat(33), '张三', 'has space', 'semi;colon', '', 42]) {
    await rejectsCode(t, svc.createFirstAdmin(bad, PW), 'GW_BAD_REQUEST', /username must be 3–32/, `username ${String(bad)}`);
  }
  await rejectsCode(t, svc.createFirstAdmin('admin', 'short'), 'GW_BAD_REQUEST', /at least 8/);
  t.equal(await svc.needsSetup(), true, 'refused attempts created nothing');

  // two first-admin requests at once: exactly one wins
  const results = await Promise.allSettled([svc.createFirstAdmin('alice', PW), svc.createFirstAdmin('bob', PW)]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one succeeds');
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.equal((lost.reason as GatewayError).code, 'GW_CONFLICT');
  t.equal((s.db.prepare('SELECT COUNT(*) AS n FROM admin_accounts').get() as { n: number }).n, 1);
  t.equal(await svc.needsSetup(), false);
  // a second service on the same database (another process) also refuses
  const other = new AdminService(new SqliteAdminRepo(s.db), directoryDeptTree(s.directory), POLICY);
  await rejectsCode(t, other.createFirstAdmin('mallory', PW), 'GW_CONFLICT', /already exists/);

  const won = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ username: string; roles: { builtin: boolean }[] }>).value;
  t.ok(won.roles.some((r) => r.builtin), 'the first administrator holds the built-in role');
  t.notOk(JSON.stringify(won).includes('scrypt'), 'no hash in the view');
});

t.test('rights resolution: the built-in role has every right; a custom role only its own', async (t) => {
  const w = await world(t);
  const me = await w.svc.me(w.root);
  t.same(me.rights, [...ALL_RIGHTS], 'super-admin: every right');
  t.equal(me.scope, null, 'super-admin: whole organisation');
  t.equal(me.superAdmin, true);

  const { admin } = await adminWithRole(w, 'east', { name: '华东销售管理员', rights: [Right.Members, Right.Org, Right.Members], scopeDeptIds: [w.d.east] });
  const m = await w.svc.me(admin);
  t.same(m.rights, ['org', 'members'], 'de-duplicated, in display order');
  t.same(m.scope, [{ id: w.d.east, path: '销售部/华东大区' }]);
  t.equal(m.superAdmin, false);
  await w.svc.authorise(admin, Right.Members);
  await rejectsCode(t, w.svc.authorise(admin, Right.Audit), 'GW_FORBIDDEN', /you do not have the right 消息审计 \(audit\)/);
  await rejectsCode(t, w.svc.listRoles({ admin, address: null }), 'GW_FORBIDDEN', /管理员与角色 \(admins\)/, 'role list without the admins right');
  await rejectsCode(t, w.svc.createRole(w.ctx, { name: 'x', rights: ['root'] }), 'GW_BAD_REQUEST', /unknown right/);
  await rejectsCode(t, w.svc.createRole(w.ctx, { name: 'x', rights: [] }), 'GW_BAD_REQUEST', /at least one right/);
  await rejectsCode(t, w.svc.createRole(w.ctx, { name: 'x', rights: ['org'], scopeDeptIds: [9999] }), 'GW_NOT_FOUND', /department 9999/);
  await rejectsCode(t, w.svc.createRole(w.ctx, { name: 'x', rights: ['org'], scopeDeptIds: [w.d.east], wholeOrg: true }), 'GW_BAD_REQUEST', /either/);
  await rejectsCode(t, w.svc.createRole(w.ctx, { name: '华东销售管理员', rights: ['org'] }), 'GW_CONFLICT', /already exists/);
});

t.test('scopes on a 3-level tree: members, departments, moves in and out', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { admin: east } = await adminWithRole(w, 'east', { name: '华东销售管理员', rights: [Right.Members, Right.Org], scopeDeptIds: [d.east] });
  const ok = async (right: Right, target: { deptIds: readonly (number | null)[] }, what: string) => t.resolves(w.svc.authorise(east, right, target), what);
  const no = (right: Right, target: { deptIds: readonly (number | null)[] }, what: string) =>
    rejectsCode(t, w.svc.authorise(east, right, target), 'GW_FORBIDDEN', /your role 华东销售管理员 may only manage 销售部\/华东大区/, what);

  await ok(Right.Members, targets.member([d.shanghai]), 'a member two levels down');
  await ok(Right.Members, targets.member([d.east, d.shanghai]), 'a member in several departments, all inside');
  const e = await no(Right.Members, targets.member([d.shanghai, d.guangzhou]), 'a member also in 广州办');
  t.match(e?.message ?? '', /销售部\/华南大区\/广州办 is outside it/, 'names the department outside');
  await no(Right.Members, targets.member([]), 'a member in no department');
  await ok(Right.Org, targets.dept(d.east), 'the scope root itself');
  await ok(Right.Org, targets.deptChild(d.shanghai), 'creating under 上海办');
  await no(Right.Org, targets.deptChild(d.sales), 'creating a sibling of the scope root');
  await no(Right.Org, targets.deptChild(null), 'creating a top-level department');
  await no(Right.Org, targets.dept(d.sales), 'the parent of the scope root');
  await no(Right.Org, targets.dept(d.platform), 'another branch');
  await ok(Right.Org, targets.deptMove(d.shanghai, d.east), 'a move inside the scope');
  await no(Right.Org, targets.deptMove(d.east, d.south), 'a move out of the scope');
  await no(Right.Org, targets.deptMove(d.south, d.east), 'a move into the scope');
  await no(Right.Org, targets.deptMove(d.sales, d.east), 'moving the scope root itself (its parent is outside)');
  await no(Right.Members, targets.memberMove([d.shanghai], [d.guangzhou]), 'moving a member out');
  await no(Right.Members, targets.memberMove([d.guangzhou], [d.shanghai]), 'moving a member in');
  await rejectsCode(t, w.svc.authorise(east, Right.Groups, targets.member([d.shanghai])), 'GW_FORBIDDEN', /do not have the right 群组管理/, 'a right the role lacks');

  // a second role with the same right over 华南 widens the reach to both
  const south = await w.svc.createRole(w.ctx, { name: '华南销售管理员', rights: [Right.Members], scopeDeptIds: [d.south] });
  const eastAcct = (await w.svc.listAdmins(w.ctx)).find((a) => a.username === 'east');
  await w.svc.assignRoles(w.ctx, eastAcct!.id, [...eastAcct!.roles.map((r) => r.id), south.id]);
  const both = (await w.svc.login('east', PW, null, null)).admin;
  await t.resolves(w.svc.authorise(both, Right.Members, targets.memberMove([d.shanghai], [d.guangzhou])), 'with both roles the move is inside');
  await rejectsCode(t, w.svc.authorise(both, Right.Org, targets.dept(d.guangzhou)), 'GW_FORBIDDEN', /华东销售管理员 may only manage/, 'org right only over 华东');

  // scope filters for list endpoints
  t.same([...((await w.svc.scopeFilter(east)) ?? [])].sort(), [d.east, d.shanghai].sort(), 'east sees 华东 and below');
  t.same([...((await w.svc.scopeFilter(both, Right.Members)) ?? [])].sort(), [d.east, d.shanghai, d.south, d.guangzhou].sort());
  t.same([...((await w.svc.scopeFilter(both, Right.Org)) ?? [])].sort(), [d.east, d.shanghai].sort(), 'per right');
  t.same([...((await w.svc.scopeFilter(east, Right.Audit)) ?? [])], [], 'nothing for a right not held');
  t.equal(await w.svc.scopeFilter(w.root), null, 'super-admin: everything');

  // the tree moves: scope follows the parent links as they are now
  await w.s.directory.moveDept(d.guangzhou, d.east);
  await t.resolves(w.svc.authorise(east, Right.Org, targets.dept(d.guangzhou)), '广州办 moved under 华东 is now inside');
});

t.test('roles without scope rows: nothing unless whole-organisation; deleted departments leave scopes', async (t) => {
  const w = await world(t);
  const { admin: none } = await adminWithRole(w, 'noscope', { name: '无范围', rights: [Right.Members] });
  await t.resolves(w.svc.authorise(none, Right.Members), 'the right alone, for untargeted actions');
  await rejectsCode(t, w.svc.authorise(none, Right.Members, targets.member([w.d.shanghai])), 'GW_FORBIDDEN', /has no department in its scope/);
  t.same([...((await w.svc.scopeFilter(none)) ?? ['x'])], [], 'sees no department');

  const { admin: all } = await adminWithRole(w, 'allorg', { name: '全公司成员管理', rights: [Right.Members], wholeOrg: true });
  await t.resolves(w.svc.authorise(all, Right.Members, targets.member([])), 'whole-org covers people in no department');
  await t.resolves(w.svc.authorise(all, Right.Members, targets.deptMove(null, w.d.platform)));
  t.equal(await w.svc.scopeFilter(all), null);

  // a scope whose only department is deleted becomes empty, never "whole organisation"
  const { admin: gz } = await adminWithRole(w, 'gzadmin', { name: '广州管理员', rights: [Right.Members], scopeDeptIds: [w.d.guangzhou] });
  await w.s.directory.deleteDept(w.d.guangzhou);
  const gzAgain = (await w.svc.login('gzadmin', PW, null, null)).admin;
  t.same(gzAgain.roles[0]?.scopeDeptIds, [], 'the deleted department left the scope');
  t.equal(gzAgain.roles[0]?.wholeOrg, false);
  const newDept = await w.s.directory.createDept(w.d.sales, '新部门');
  await rejectsCode(t, w.svc.authorise(gzAgain, Right.Members, targets.member([newDept.id])), 'GW_FORBIDDEN', undefined, 'a new department (maybe reusing the id) is not in it');
  t.ok(gz);
});

t.test('built-in role and last super-administrator cannot be taken away; no privilege escalation', async (t) => {
  const w = await world(t);
  const roles = await w.svc.listRoles(w.ctx);
  const builtin = roles.find((r) => r.builtin)!;
  t.equal(builtin.name, '超级管理员');
  t.same(builtin.rights, [...ALL_RIGHTS]);
  t.equal(builtin.holders, 1);
  await rejectsCode(t, w.svc.deleteRole(w.ctx, builtin.id), 'GW_FORBIDDEN', /cannot be deleted/);
  await rejectsCode(t, w.svc.updateRole(w.ctx, builtin.id, { rights: ['org'] }), 'GW_FORBIDDEN', /cannot be changed/);
  await rejectsCode(t, w.svc.updateRole(w.ctx, builtin.id, { name: 'x' }), 'GW_FORBIDDEN', /cannot be changed/);
  await rejectsCode(t, w.svc.assignRoles(w.ctx, w.root.id, []), 'GW_CONFLICT', /last enabled super-administrator/, 'root leaving the built-in role');
  await rejectsCode(t, w.svc.deleteAdmin(w.ctx, w.root.id), 'GW_FORBIDDEN', /your own account/);
  await rejectsCode(t, w.svc.updateAdmin(w.ctx, w.root.id, { disabled: true }), 'GW_FORBIDDEN', /your own account/);
  await rejectsCode(t, w.svc.updateAdmin(w.ctx, w.root.id, { username: 'root2' }), 'GW_BAD_REQUEST', /cannot be changed/, 'usernames are fixed');

  // a second super-administrator: the last one standing is still protected
  const second = await w.svc.createAdmin(w.ctx, { username: 'second', password: PW, roleIds: [builtin.id] });
  const secondCtx: ActionContext = { admin: (await w.svc.login('second', PW, null, null)).admin, address: null };
  await w.svc.updateAdmin(secondCtx, w.root.id, { disabled: true });
  await rejectsCode(t, w.svc.assignRoles(secondCtx, second.id, []), 'GW_CONFLICT', /last enabled super-administrator/, 'the only enabled one');
  await w.svc.updateAdmin(secondCtx, w.root.id, { disabled: false });
  await w.svc.assignRoles(secondCtx, second.id, []);
  t.same((await w.svc.listRoles(w.ctx)).find((r) => r.builtin)?.holders, 1, 'second left the role while root held it');

  // delegated admin with the admins right over 华东 only
  const { admin: east, role: eastRole } = await adminWithRole(w, 'east', { name: '华东管理员', rights: [Right.Members, Right.Admins], scopeDeptIds: [w.d.east] });
  const ectx: ActionContext = { admin: east, address: null };
  await rejectsCode(t, w.svc.createRole(ectx, { name: 'audit', rights: [Right.Audit], scopeDeptIds: [w.d.east] }), 'GW_FORBIDDEN', /you cannot grant 消息审计/, 'a right they lack');
  await rejectsCode(t, w.svc.createRole(ectx, { name: 'south', rights: [Right.Members], scopeDeptIds: [w.d.south] }), 'GW_FORBIDDEN', /outside your scope/, 'outside their scope');
  await rejectsCode(t, w.svc.createRole(ectx, { name: 'all', rights: [Right.Members], wholeOrg: true }), 'GW_FORBIDDEN', /whole organisation/);
  const sh = await w.svc.createRole(ectx, { name: '上海管理员', rights: [Right.Members], scopeDeptIds: [w.d.shanghai] });
  await rejectsCode(t, w.svc.updateRole(ectx, sh.id, { scopeDeptIds: [w.d.sales] }), 'GW_FORBIDDEN', /outside your scope/, 'widening a role');
  await rejectsCode(t, w.svc.createAdmin(ectx, { username: 'sneaky', password: PW, roleIds: [builtin.id] }), 'GW_FORBIDDEN', /only a super-administrator/);
  await rejectsCode(t, w.svc.updateAdmin(ectx, w.root.id, { password: 'taken-over-1' }), 'GW_FORBIDDEN', /only a super-administrator/, 'resetting a super-admin password');
  await rejectsCode(t, w.svc.deleteAdmin(ectx, w.root.id), 'GW_FORBIDDEN', /only a super-administrator/);
  await rejectsCode(t, w.svc.assignRoles(ectx, east.id, [eastRole.id, builtin.id]), 'GW_FORBIDDEN', /only a super-administrator/, 'promoting themselves');
  const shAdmin = await w.svc.createAdmin(ectx, { username: 'shanghai', password: PW, roleIds: [sh.id] });
  t.same(shAdmin.roles.map((r) => r.name), ['上海管理员'], 'may grant a narrower role');

  await rejectsCode(t, w.svc.deleteRole(w.ctx, sh.id), 'GW_CONFLICT', /still held by 1/);
  await w.svc.assignRoles(w.ctx, shAdmin.id, []);
  await w.svc.deleteRole(w.ctx, sh.id);
  await rejectsCode(t, w.svc.createAdmin(w.ctx, { username: 'SHANGHAI', password: PW }), 'GW_CONFLICT', /already taken/, 'usernames are unique regardless of case');
});

t.test('lockout per username, per-address limit, password reset lifts it', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 3; i++) await rejectsCode(t, w.svc.login('root', 'wrong-password', `10.1.0.${i}`, null), 'GW_AUTH_FAILED', /wrong username or password/);
  const locked = await rejectsCode(t, w.svc.login('ROOT', PW, '10.9.9.9', null), 'GW_ACCOUNT_LOCKED', /try again in 15 minute/, 'locked, whatever the case and address');
  t.equal(locked?.retryAfterMs, 900_000);
  await rejectsCode(t, w.svc.login('nobody', 'whatever-1', null, null), 'GW_AUTH_FAILED', /wrong username or password/, 'unknown names answer the same');
  w.clock.now += 900_001;
  await t.resolves(w.svc.login('root', PW, null, null), 'unlocked after the lockout period');

  for (let i = 0; i < 3; i++) await w.svc.login('root', 'wrong-password', null, null).catch(() => undefined);
  await rejectsCode(t, w.svc.login('root', PW, null, null), 'GW_ACCOUNT_LOCKED');
  const r = await w.svc.resetPassword('root', 'brand-new-password');
  t.ok(r.sessionsEnded >= 1, 'the reset ended root\'s sessions');
  await t.resolves(w.svc.login('root', 'brand-new-password', null, null), 'the reset lifted the lockout');
  await rejectsCode(t, w.svc.resetPassword('root', 'short'), 'GW_BAD_REQUEST', /at least 8/);
  await rejectsCode(t, w.svc.resetPassword('ghost', 'long-enough-1'), 'GW_NOT_FOUND');

  const limited = await world(t, { ...POLICY, loginsPerMinutePerAddress: 2 });
  await limited.svc.login('root', PW, '10.5.5.5', null);
  await limited.svc.login('root', PW, '10.5.5.5', null);
  const rl = await rejectsCode(t, limited.svc.login('root', PW, '10.5.5.5', null), 'GW_RATE_LIMITED', /this address/);
  t.ok((rl?.retryAfterMs ?? 0) > 0);
  await t.resolves(limited.svc.login('root', PW, '10.5.5.6', null), 'another address is not limited');
});

t.test('sessions: idle timeout sliding, touched at most once a minute, absolute lifetime, stored hashed', async (t) => {
  const w = await world(t);
  const start = w.clock.now;
  const { token, csrfToken, expiresAt } = await w.svc.login('root', PW, '10.0.0.9', 'Firefox');
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  t.not(token, csrfToken);
  t.equal(expiresAt, start + ADMIN_SESSION_LIFETIME_MS);
  const raw = JSON.stringify(w.s.db.prepare('SELECT * FROM admin_sessions').all());
  t.notOk(raw.includes(token), 'the token itself is not stored');
  const lastSeen = () => (w.s.db.prepare('SELECT MAX(last_seen_at) AS v FROM admin_sessions').get() as { v: number }).v;

  w.clock.now += 30_000;
  await w.svc.authenticate(token);
  t.equal(lastSeen(), start, 'not touched within a minute');
  w.clock.now = start + ADMIN_IDLE_TIMEOUT_MS - 60_000;
  await w.svc.authenticate(token);
  t.equal(lastSeen(), w.clock.now, 'touched after a minute');
  w.clock.now += ADMIN_IDLE_TIMEOUT_MS - 60_000;
  await t.resolves(w.svc.authenticate(token), 'sliding: still valid 59 minutes after login');
  w.clock.now += ADMIN_IDLE_TIMEOUT_MS;
  await rejectsCode(t, w.svc.authenticate(token), 'GW_TOKEN_INVALID', /expired/, 'idle for the idle timeout');
  await rejectsCode(t, w.svc.authenticate(token), 'GW_TOKEN_INVALID', /log in again/, 'and gone');

  // a session used every 20 minutes still ends at its absolute lifetime
  const second = await w.svc.login('root', PW, null, null);
  const born = w.clock.now;
  while (w.clock.now + 20 * 60_000 < born + ADMIN_SESSION_LIFETIME_MS) {
    w.clock.now += 20 * 60_000;
    await w.svc.authenticate(second.token);
  }
  w.clock.now = born + ADMIN_SESSION_LIFETIME_MS;
  await rejectsCode(t, w.svc.authenticate(second.token), 'GW_TOKEN_INVALID', /expired/, 'absolute lifetime');

  const third = await w.svc.login('root', PW, null, null);
  await w.svc.logout(third.token, null);
  await rejectsCode(t, w.svc.authenticate(third.token), 'GW_TOKEN_INVALID', undefined, 'after logout');
  await t.resolves(w.svc.logout('garbage', null), 'logout of an unknown token is a no-op');

  // disabling an account ends its sessions at once
  const other = await w.svc.createAdmin(w.ctx, { username: 'other', password: PW, roleIds: [] });
  const o = await w.svc.login('other', PW, null, null);
  await w.svc.updateAdmin(w.ctx, other.id as AdminId, { disabled: true });
  await rejectsCode(t, w.svc.authenticate(o.token), 'GW_TOKEN_INVALID');
  await rejectsCode(t, w.svc.login('other', PW, null, null), 'GW_FORBIDDEN', /disabled/);
  for (const bad of [undefined, '', 'short', 'x'.repeat(44), '../../etc/passwd'.padEnd(43, 'a')]) await rejectsCode(t, w.svc.authenticate(bad), 'GW_TOKEN_INVALID');
});

t.test('action log: every change is logged, filters work, secrets never stored', async (t) => {
  const w = await world(t);
  const t0 = w.clock.now;
  w.clock.now += 1000;
  const role = await w.svc.createRole(w.ctx, { name: '审计员', rights: [Right.Audit, Right.Logs] });
  w.clock.now += 1000;
  const a = await w.svc.createAdmin(w.ctx, { username: 'auditor', password: 'auditor-password-1', roleIds: [role.id as RoleId] });
  w.clock.now += 1000;
  await w.svc.updateAdmin(w.ctx, a.id, { password: 'auditor-password-2', displayName: '审计' });
  w.clock.now += 1000;
  await w.svc.updateRole(w.ctx, role.id, { name: '审计员2' });
  await w.svc.login('auditor', 'wrong-password-9', '10.7.7.7', null).catch(() => undefined);
  await w.svc.logAction(w.root, 'settings.change', { kind: 'settings', id: null, label: null }, { apiKey: 'k-111', nested: { token: 't-222', list: [{ secret: 's-333', ok: 1 }] } },
    { password: 'p-444', passwordHash: 'scrypt$x', smsProvider: { appSecret: 's-555', region: 'cn' } }, '10.0.0.1');

  const all = await w.svc.queryLog({});
  t.same(all.entries.map((e) => e.action).slice(0, 6), ['settings.change', 'admin.login_failed', 'role.update', 'admin.update', 'admin.create', 'role.create'], 'newest first');
  const dump = JSON.stringify(w.s.db.prepare('SELECT * FROM admin_action_log').all());
  for (const secret of ['auditor-password-1', 'auditor-password-2', 'wrong-password-9', 'k-111', 't-222', 's-333', 'p-444', 'scrypt$', 's-555', PW]) {
    t.notOk(dump.includes(secret), `${secret} is not in the log`);
  }
  const upd = all.entries.find((e) => e.action === 'admin.update')!;
  t.same((upd.after as { password: string }).password, '[redacted]', 'a password change shows as redacted');
  t.equal((upd.before as { displayName: string }).displayName, 'auditor');
  t.equal((upd.after as { displayName: string }).displayName, '审计');
  const settings = all.entries[0]!;
  t.same(settings.after, { password: '[redacted]', passwordHash: '[redacted]', smsProvider: { appSecret: '[redacted]', region: 'cn' } });
  t.same((settings.before as { nested: unknown }).nested, { token: '[redacted]', list: [{ secret: '[redacted]', ok: 1 }] });
  const failed = all.entries.find((e) => e.action === 'admin.login_failed')!;
  t.equal(failed.adminUsername, '(anonymous)');
  t.equal(failed.targetLabel, 'auditor');
  t.equal(failed.address, '10.7.7.7');

  t.same((await w.svc.queryLog({ action: 'role.*' })).entries.map((e) => e.action), ['role.update', 'role.create'], 'prefix filter');
  t.same((await w.svc.queryLog({ action: 'role.c*' })).total, 1);
  t.same((await w.svc.queryLog({ action: '%' })).total, 0, 'LIKE wildcards are literal');
  t.same((await w.svc.queryLog({ targetKind: 'admin', targetId: String(a.id) })).entries.map((e) => e.action), ['admin.update', 'admin.create'], 'by target');
  t.equal((await w.svc.queryLog({ adminId: w.root.id })).entries.every((e) => e.adminId === w.root.id), true, 'by administrator');
  const window = await w.svc.queryLog({ from: t0 + 1500, to: t0 + 3500 });
  t.same(window.entries.map((e) => e.action), ['admin.update', 'admin.create'], 'by time: from inclusive, to exclusive');
  const page = await w.svc.queryLog({ limit: 2, offset: 1 });
  t.equal(page.entries.length, 2);
  t.equal(page.total, all.total);
  t.equal(page.entries[0]?.id, all.entries[1]?.id, 'offset');
  await rejectsCode(t, w.svc.queryLog({ limit: 10_000 }), 'GW_BAD_REQUEST', /limit/);
  await rejectsCode(t, w.svc.queryLog({ from: -1 }), 'GW_BAD_REQUEST', /from/);
  await rejectsCode(t, w.svc.queryLog({ action: 'x'.repeat(65) }), 'GW_BAD_REQUEST', /action/);
});
