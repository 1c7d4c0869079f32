import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashPassword, passwordProblem } from '../auth/password.js';
import type { CommandRecord, DeviceRecord } from '../devices/repo.js';
import type { UserEdit, UserInput } from '../directory/service.js';
import type { DeptRecord, UserRecord, UserSearch } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type {
  AuthorisationSettingsView,
  DeviceCommandView,
  DeviceView,
  MemberCreateInput,
  MemberDevicesView,
  MemberGender,
  MemberPageView,
  MemberPatchInput,
  MemberStatus,
  MemberView,
} from './api-types-org.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { targets, type AdminPrincipal, type ScopeTarget } from './rbac.js';
import { Right } from './rights.js';
import { checkRtxOwnedUserEdit } from '../rtx/owned.js';
import { body, boolField, deptMap, deptPath, idField, intField, MAX_ORDER, ORG_BODY_BYTES, query, strField, type OrgRouteDeps } from './routes-org.js';

export const MAX_MEMBER_PAGE = 200;
export const DEFAULT_MEMBER_PAGE = 50;
export const MAX_MEMBER_DEPTS = 50;
const MAX_QUERY_CHARS = 64;
/** Only whole-organisation roles reach the organisation root: for switches that apply to everyone. */
const WHOLE_ORG: ScopeTarget = { deptIds: [null] };
/** Rights that let an administrator look members up (their pages all start from the member list). */
const VIEW_RIGHTS = [Right.Members, Right.Authorisation, Right.Devices] as const;

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);
const GENDERS: readonly MemberGender[] = ['male', 'female', 'unknown'];

const PROFILE_FIELDS = ['account', 'name', 'deptIds', 'mainDeptId', 'mobile', 'email', 'phone', 'title', 'gender', 'order'] as const;
const CREATE_FIELDS: readonly (keyof MemberCreateInput)[] = [...PROFILE_FIELDS, 'password', 'authorised'];
const PATCH_FIELDS: readonly (keyof MemberPatchInput)[] = [...PROFILE_FIELDS, 'rowVersion'];

/** A yes/no query filter ("true" or "false"); undefined when absent. */
function flagParam(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  throw bad(`${name} must be true or false`);
}

const STATUSES: readonly MemberStatus[] = ['active', 'disabled'];

function statusParam(v: string): MemberStatus {
  if (!STATUSES.includes(v as MemberStatus)) throw bad(`status must be one of ${STATUSES.join(', ')}`);
  return v as MemberStatus;
}

function deptIdsField(v: unknown): DeptId[] {
  if (!Array.isArray(v)) throw bad('deptIds must be a list of department ids');
  if (v.length === 0) throw bad('deptIds must name at least one department');
  if (v.length > MAX_MEMBER_DEPTS) throw bad(`deptIds may name at most ${MAX_MEMBER_DEPTS} departments`);
  return [...new Set(v.map((x) => idField('deptIds', x) as DeptId))];
}

/** The profile fields of a create or patch body, type-checked (the directory checks formats). */
function profile(b: Record<string, unknown>): UserEdit {
  const e: UserEdit = {};
  if (b.account !== undefined) e.account = strField('account', b.account, 64);
  if (b.name !== undefined) e.name = strField('name', b.name, 64);
  if (b.deptIds !== undefined) e.deptIds = deptIdsField(b.deptIds);
  if (b.mainDeptId !== undefined) e.mainDeptId = idField('mainDeptId', b.mainDeptId) as DeptId;
  if (b.mobile !== undefined) e.mobile = strField('mobile', b.mobile, 32);
  if (b.email !== undefined) e.email = strField('email', b.email, 320);
  if (b.phone !== undefined) e.phone = strField('phone', b.phone, 32);
  if (b.title !== undefined) e.title = strField('title', b.title, 64);
  if (b.gender !== undefined) {
    if (!GENDERS.includes(b.gender as MemberGender)) throw bad(`gender must be one of ${GENDERS.join(', ')}`);
    e.gender = b.gender as MemberGender;
  }
  if (b.order !== undefined) e.order = intField('order', b.order, 0, MAX_ORDER);
  return e;
}

function memberView(u: UserRecord, byId: Map<DeptId, DeptRecord>): MemberView {
  return {
    id: u.id, account: u.account, name: u.name, pinyin: u.pinyin, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title, gender: u.gender,
    status: u.status, authorised: u.authorised, blocked: u.blocked, origin: u.origin, order: u.order, rowVersion: u.rowVersion,
    // the main department first, so lists can show it without looking
    depts: [...u.depts].sort((a, b) => Number(b.main) - Number(a.main)).map((d) => ({ id: d.deptId, name: byId.get(d.deptId) ? deptPath(byId, d.deptId) : `#${d.deptId}`, main: d.main })),
  };
}

const userTarget = (u: UserRecord) => ({ kind: 'user', id: u.id, label: u.account });
const deptIdsOf = (u: UserRecord) => u.depts.map((d) => d.deptId);

function commandView(c: CommandRecord): DeviceCommandView {
  return { id: c.id, kind: c.kind, issuedAt: c.issuedAt, issuedBy: c.issuedBy, deliveredAt: c.deliveredAt, ackedAt: c.ackedAt };
}

/** A device as the console shows it; the push token is left out. */
function deviceSummary(d: DeviceRecord) {
  return { id: d.id, key: d.key, type: d.type, name: d.name, lastSeenAt: d.lastSeenAt, lastAddress: d.lastAddress, createdAt: d.createdAt };
}

/**
 * Members (F-3.2, F-3.3), the authorised and blocked lists (F-3.5) and
 * members' devices. Rights: `members` for profiles, departments, passwords,
 * enabling and deleting; `authorisation` for the authorised and blocked lists
 * and the auto-authorise switch; `devices` for devices. Each is checked over
 * every department of the member (and, when departments change, the new ones
 * too); every change is written to the action log with before and after.
 */
export function registerMemberRoutes(app: FastifyInstance, deps: OrgRouteDeps): void {
  const { services } = deps;
  const { directory, admin, auth, licence, settings } = services;

  const idParam = (req: FastifyRequest, name = 'id', what = 'member id') => idField(what, (req.params as Record<string, string>)[name]);
  const mustUser = (id: number) => directory.mustUser(id as UserId);
  /** POSTs that take no body: nothing, or an empty object. */
  const noBody = (req: FastifyRequest) => body(req.body ?? {}, []);

  /** Departments the administrator may look members up in (null = everyone), over the view rights they hold. */
  const viewScope = async (who: AdminPrincipal): Promise<{ scope: Set<DeptId> | null; right: Right }> => {
    const held = VIEW_RIGHTS.filter((r) => who.roles.some((role) => role.rights.has(r)));
    if (held.length === 0) {
      await admin.authorise(who, Right.Members);
      throw new Error('unreachable: authorise refused');
    }
    const union = new Set<DeptId>();
    for (const r of held) {
      const s = await admin.scopeFilter(who, r);
      if (s === null) return { scope: null, right: r };
      for (const d of s) union.add(d);
    }
    return { scope: union, right: held[0] as Right };
  };

  /** A member may be looked at when one of their departments is in view; refused naming the scope otherwise. */
  const mustSee = async (who: AdminPrincipal, u: UserRecord): Promise<void> => {
    const { scope, right } = await viewScope(who);
    if (scope === null || u.depts.some((d) => scope.has(d.deptId))) return;
    await admin.authorise(who, right, targets.member(deptIdsOf(u)));
    throw new GatewayError('GW_FORBIDDEN', `${u.account} is outside the departments you may manage`);
  };

  const view = async (u: UserRecord) => memberView(u, await deptMap(services));

  // ---- listing and reading ----

  app.get(`${ADMIN_PREFIX}/members`, { preHandler: requireAdmin() }, async (req): Promise<MemberPageView> => {
    const ctx = actionContext(req);
    const q = query(req.query, ['deptId', 'q', 'authorised', 'blocked', 'status', 'offset', 'limit']);
    const deptId = q.deptId === undefined ? undefined : (idField('deptId', q.deptId) as DeptId);
    const text = q.q === undefined ? undefined : strField('q', q.q, MAX_QUERY_CHARS).trim() || undefined;
    const num = (name: string, v: string | undefined, min: number, max: number, dflt: number) =>
      v === undefined ? dflt : intField(name, /^\d{1,15}$/.test(v) ? Number(v) : NaN, min, max);
    const offset = num('offset', q.offset, 0, 1_000_000, 0);
    const limit = num('limit', q.limit, 1, MAX_MEMBER_PAGE, DEFAULT_MEMBER_PAGE);
    const authorised = flagParam('authorised', q.authorised);
    const blocked = flagParam('blocked', q.blocked);
    const status = q.status === undefined ? undefined : statusParam(q.status);
    const { scope, right } = await viewScope(ctx.admin);
    const byId = await deptMap(services);
    if (deptId !== undefined && !byId.has(deptId)) throw new GatewayError('GW_NOT_FOUND', `department ${deptId} does not exist`);
    // every filter goes into the repository query, so a list of 50,000 pages as fast as a list of 50
    const search: UserSearch = {
      ...(text !== undefined ? { query: text } : {}),
      ...(deptId !== undefined ? { deptId } : {}),
      ...(authorised !== undefined ? { authorised } : {}),
      ...(blocked !== undefined ? { blocked } : {}),
      ...(status !== undefined ? { status } : {}),
    };
    if (scope === null || deptId !== undefined) {
      if (scope !== null && deptId !== undefined && !scope.has(deptId)) await admin.authorise(ctx.admin, right, targets.dept(deptId));
      const r = await directory.searchUsers({ ...search, offset, limit });
      return { total: r.total, offset, limit, members: r.users.map((u) => memberView(u, byId)) };
    }
    // a scoped administrator without a department: everyone with a department in view, filtered by the database
    const r = await directory.searchUsers({ ...search, deptIds: [...scope], offset, limit });
    return { total: r.total, offset, limit, members: r.users.map((u) => memberView(u, byId)) };
  });

  app.get(`${ADMIN_PREFIX}/members/:id`, { preHandler: requireAdmin() }, async (req): Promise<MemberView> => {
    const u = await mustUser(idParam(req));
    await mustSee(actionContext(req).admin, u);
    return view(u);
  });

  // ---- members ----

  app.post(`${ADMIN_PREFIX}/members`, { preHandler: requireAdmin(Right.Members), bodyLimit: ORG_BODY_BYTES }, async (req, reply) => {
    const ctx = actionContext(req);
    const b = body(req.body, CREATE_FIELDS);
    for (const f of ['account', 'name', 'deptIds'] as const) if (b[f] === undefined) throw bad(`${f} is required`);
    const p = profile(b);
    const deptIds = p.deptIds as DeptId[];
    const authorised = b.authorised === undefined ? false : boolField('authorised', b.authorised);
    let passwordHash: string | null = null;
    if (b.password !== undefined) {
      const problem = passwordProblem(b.password);
      if (problem) throw bad(problem);
      passwordHash = await hashPassword(b.password as string);
    }
    await admin.authorise(ctx.admin, Right.Members, targets.member(deptIds));
    if (authorised) await admin.authorise(ctx.admin, Right.Authorisation, targets.member(deptIds));
    const input: UserInput = { ...p, account: p.account as string, name: p.name as string, deptIds, passwordHash, authorised };
    const u = authorised ? await licence.withSeats(1, () => directory.createUser(input)) : await directory.createUser(input);
    const after = await view(u);
    await admin.logAction(ctx.admin, 'member.create', userTarget(u), null, passwordHash ? { ...after, password: 'set' } : after, ctx.address);
    return reply.status(201).send(after);
  });

  app.patch(`${ADMIN_PREFIX}/members/:id`, { preHandler: requireAdmin(Right.Members), bodyLimit: ORG_BODY_BYTES }, async (req) => {
    const ctx = actionContext(req);
    const id = idParam(req);
    const b = body(req.body, PATCH_FIELDS);
    if (b.rowVersion === undefined) throw bad('rowVersion is required: send the rowVersion of the member as you loaded it');
    const rowVersion = intField('rowVersion', b.rowVersion, 0, Number.MAX_SAFE_INTEGER);
    const edit = profile(b);
    if (Object.keys(edit).length === 0) throw bad(`give at least one of ${PROFILE_FIELDS.join(', ')}`);
    const cur = await mustUser(id);
    await admin.authorise(ctx.admin, Right.Members, targets.member(deptIdsOf(cur)));
    checkRtxOwnedUserEdit(cur, edit);
    if (edit.deptIds !== undefined || edit.mainDeptId !== undefined) {
      await admin.authorise(ctx.admin, Right.Members, targets.memberMove(deptIdsOf(cur), edit.deptIds ?? deptIdsOf(cur)));
    }
    if (rowVersion !== cur.rowVersion) {
      throw new GatewayError('GW_CONFLICT', `${cur.account} was changed by someone else after you loaded it; reload and make your change again`, {
        details: { rowVersion: cur.rowVersion },
      });
    }
    // the directory checks the version again in the same transaction as the write
    const u = await directory.editUser(cur.id, edit, rowVersion);
    const after = await view(u);
    await admin.logAction(ctx.admin, edit.deptIds !== undefined || edit.mainDeptId !== undefined ? 'member.move' : 'member.update', userTarget(u), await view(cur), after, ctx.address);
    return after;
  });

  app.delete(`${ADMIN_PREFIX}/members/:id`, { preHandler: requireAdmin(Right.Members) }, async (req, reply) => {
    const ctx = actionContext(req);
    const cur = await mustUser(idParam(req));
    await admin.authorise(ctx.admin, Right.Members, targets.member(deptIdsOf(cur)));
    const before = await view(cur);
    await directory.deleteUser(cur.id);
    await admin.logAction(ctx.admin, 'member.delete', userTarget(cur), before, null, ctx.address);
    return reply.status(204).send();
  });

  app.post(`${ADMIN_PREFIX}/members/:id/password`, { preHandler: requireAdmin(Right.Members), bodyLimit: ORG_BODY_BYTES }, async (req, reply) => {
    const ctx = actionContext(req);
    const id = idParam(req);
    const b = body(req.body, ['password']);
    const problem = passwordProblem(b.password);
    if (problem) throw bad(problem);
    const cur = await mustUser(id);
    await admin.authorise(ctx.admin, Right.Members, targets.member(deptIdsOf(cur)));
    await auth.setPassword(cur.id, b.password as string);
    await admin.logAction(ctx.admin, 'member.password_reset', userTarget(cur), null, { password: 'changed' }, ctx.address);
    return reply.status(204).send();
  });

  /** A switch on a member: checks `right` over the member, applies, logs, answers the member. */
  const toggle = (path: string, right: Right, action: string, apply: (u: UserRecord) => Promise<UserRecord>) => {
    app.post(`${ADMIN_PREFIX}/members/:id/${path}`, { preHandler: requireAdmin(right), bodyLimit: ORG_BODY_BYTES }, async (req) => {
      const ctx = actionContext(req);
      const id = idParam(req);
      noBody(req);
      const cur = await mustUser(id);
      await admin.authorise(ctx.admin, right, targets.member(deptIdsOf(cur)));
      const before = await view(cur);
      const after = await view(await apply(cur));
      await admin.logAction(ctx.admin, action, userTarget(cur), before, after, ctx.address);
      return after;
    });
  };

  // an authorised member keeps their seat: authorising again takes no second one
  toggle('authorise', Right.Authorisation, 'member.authorise', (u) => (u.authorised ? Promise.resolve(u) : licence.withSeats(1, () => directory.setAuthorised(u.id, true))));
  toggle('deauthorise', Right.Authorisation, 'member.deauthorise', (u) => directory.setAuthorised(u.id, false));
  toggle('block', Right.Authorisation, 'member.block', (u) => directory.setBlocked(u.id, true));
  toggle('unblock', Right.Authorisation, 'member.unblock', (u) => directory.setBlocked(u.id, false));
  toggle('enable', Right.Members, 'member.enable', (u) => directory.setStatus(u.id, 'active'));
  toggle('disable', Right.Members, 'member.disable', (u) => directory.setStatus(u.id, 'disabled'));

  // ---- the auto-authorise switch: one for the whole organisation ----

  app.get(`${ADMIN_PREFIX}/authorisation/settings`, { preHandler: requireAdmin(Right.Authorisation) }, async (req): Promise<AuthorisationSettingsView> => {
    await admin.authorise(actionContext(req).admin, Right.Authorisation, WHOLE_ORG);
    return { autoAuthorise: settings.get().autoAuthorise };
  });

  app.put(`${ADMIN_PREFIX}/authorisation/settings`, { preHandler: requireAdmin(Right.Authorisation), bodyLimit: ORG_BODY_BYTES }, async (req): Promise<AuthorisationSettingsView> => {
    const ctx = actionContext(req);
    const b = body(req.body, ['autoAuthorise']);
    if (b.autoAuthorise === undefined) throw bad('autoAuthorise is required');
    const autoAuthorise = boolField('autoAuthorise', b.autoAuthorise);
    await admin.authorise(ctx.admin, Right.Authorisation, WHOLE_ORG);
    const before = { autoAuthorise: settings.get().autoAuthorise };
    const after = { autoAuthorise: (await settings.set({ autoAuthorise })).autoAuthorise };
    await admin.logAction(ctx.admin, 'settings.auto_authorise', { kind: 'settings', id: 'autoAuthorise', label: 'autoAuthorise' }, before, after, ctx.address);
    return after;
  });

  // ---- devices (F-3.3) ----

  app.get(`${ADMIN_PREFIX}/members/:id/devices`, { preHandler: requireAdmin(Right.Devices) }, async (req): Promise<MemberDevicesView> => {
    const ctx = actionContext(req);
    const cur = await mustUser(idParam(req));
    await admin.authorise(ctx.admin, Right.Devices, targets.member(deptIdsOf(cur)));
    const devices: DeviceView[] = [];
    for (const d of await auth.listDevices(cur.id)) {
      const commands = (await auth.listCommands(d.id)).sort((a, b) => b.issuedAt - a.issuedAt || b.id - a.id).map(commandView);
      devices.push({ ...deviceSummary(d), commands });
    }
    return { userId: cur.id, devices };
  });

  for (const [path, kind] of [['offline', 'force_offline'], ['wipe', 'wipe']] as const) {
    app.post(`${ADMIN_PREFIX}/members/:id/devices/:deviceId/${path}`, { preHandler: requireAdmin(Right.Devices), bodyLimit: ORG_BODY_BYTES }, async (req, reply) => {
      const ctx = actionContext(req);
      const id = idParam(req);
      const deviceId = idParam(req, 'deviceId', 'device id');
      noBody(req);
      const cur = await mustUser(id);
      await admin.authorise(ctx.admin, Right.Devices, targets.member(deptIdsOf(cur)));
      const device = (await auth.listDevices(cur.id)).find((d) => d.id === deviceId);
      if (!device) throw new GatewayError('GW_NOT_FOUND', `${cur.account} has no device ${deviceId}`);
      const cmd = await auth.issueCommand(cur.id, deviceId, kind, `admin:${ctx.admin.username}`);
      await admin.logAction(ctx.admin, `device.${kind}`, { kind: 'device', id: deviceId, label: `${cur.account}/${device.key}` }, deviceSummary(device), commandView(cmd), ctx.address);
      return reply.status(202).send(commandView(cmd));
    });
  }
}
