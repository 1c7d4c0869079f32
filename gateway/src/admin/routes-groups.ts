import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GroupRecord, UserRecord } from '../directory/types.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import type { DeptId, GroupId, UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import type { LogTarget } from './action-log.js';
import type { ExemptUserView, GroupDetailView, GroupListView, GroupSettingsView, GroupSummaryView } from './api-types-system.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import type { ScopeTarget } from './rbac.js';
import { Right } from './rights.js';
import { checkId, checkObject } from './validate.js';
import { checkRtxOwnedGroupChange } from '../rtx/owned.js';

export interface AdminRouteDeps {
  services: Services;
  /** Every listener of the process and whether it is up (as /healthz reports them). */
  listeners?: () => { name: string; port: number | null; up: boolean }[];
}

export const MAX_GROUP_PAGE = 200;
/** One request adds or removes at most this many people (a whole 1000-member group fits). */
export const MAX_MEMBER_CHANGE = 5000;
export const MAX_GROUP_LIMIT_SETTING = 100_000;
const GROUP_BODY_BYTES = 256 * 1024;
const SMALL_BODY_BYTES = 16 * 1024;

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

/** The body as an object with only the listed fields; an unknown field is GW_BAD_REQUEST naming it. */
export function checkFields(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  const b = checkObject(body);
  for (const k of Object.keys(b)) {
    if (!allowed.includes(k)) throw bad(`unknown field ${k.slice(0, 40)}; allowed: ${allowed.join(', ')}`);
  }
  return b;
}

/** Query-string parameters: only the listed ones, each given once. */
export function checkQuery(query: unknown, allowed: readonly string[]): Record<string, string | undefined> {
  const q = (query ?? {}) as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!allowed.includes(k)) throw bad(`unknown parameter ${k.slice(0, 40)}; allowed: ${allowed.join(', ')}`);
    if (typeof v !== 'string') throw bad(`${k} must be given once`);
    out[k] = v;
  }
  return out;
}

/** A non-negative integer from a query string, or undefined when absent. */
export function queryInt(q: Record<string, string | undefined>, name: string, min: number, max: number): number | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function userIds(what: string, v: unknown, required: boolean): UserId[] {
  if (v === undefined && !required) return [];
  if (!Array.isArray(v)) throw bad(`${what} must be a list of user ids`);
  if (v.length > MAX_MEMBER_CHANGE) throw bad(`${what} may list at most ${MAX_MEMBER_CHANGE} ids`);
  for (const x of v) if (!Number.isSafeInteger(x) || (x as number) < 1) throw bad(`${what} must be positive integer user ids`);
  return [...new Set(v as UserId[])];
}

function limitSetting(name: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 2 || (v as number) > MAX_GROUP_LIMIT_SETTING) throw bad(`${name} must be an integer from 2 to ${MAX_GROUP_LIMIT_SETTING}`);
  return v as number;
}

const groupTarget = (g: { id: GroupId; name: string }): LogTarget => ({ kind: 'group', id: g.id, label: g.name });
const userTarget = (u: UserRecord): LogTarget => ({ kind: 'user', id: u.id, label: `${u.name} (${u.account})` });

/**
 * Discussion groups in the console (F-3.8, F-6.1): list and search, create,
 * rename, delete, add and remove members, the member limits and the whitelist
 * of people whose groups may exceed them. Right `groups` (`settings` for the
 * limits). A scoped administrator manages a group only when every member lies
 * inside their scope; a member in no department is outside every scope but
 * the whole organisation. Each change writes the action log with before/after.
 */
export function registerGroupRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { directory, admin, settings } = deps.services;
  const P = `${ADMIN_PREFIX}/groups`;

  /** The departments of these people as one scope target; someone in no department adds the root. */
  const peopleTarget = (users: readonly UserRecord[]): ScopeTarget => {
    const ids = new Set<number | null>();
    for (const u of users) {
      if (u.depts.length === 0) ids.add(null);
      for (const d of u.depts) ids.add(d.deptId);
    }
    return { deptIds: [...ids] };
  };

  const mustUsers = async (ids: UserId[]): Promise<UserRecord[]> => {
    const found = await directory.getUsers(ids);
    if (found.length !== new Set(ids).size) {
      const have = new Set(found.map((u) => u.id));
      throw new GatewayError('GW_NOT_FOUND', `unknown user id(s): ${ids.filter((i) => !have.has(i)).slice(0, 10).join(', ')}`);
    }
    return found;
  };

  /** GW_FORBIDDEN unless the administrator has `groups` over every one of these people. */
  const authorisePeople = async (req: FastifyRequest, ids: UserId[]): Promise<UserRecord[]> => {
    const users = await mustUsers(ids);
    await admin.authorise(actionContext(req).admin, Right.Groups, peopleTarget(users));
    return users;
  };

  const inScope = (u: UserRecord, scope: Set<DeptId> | null) => scope === null || (u.depts.length > 0 && u.depts.every((d) => scope.has(d.deptId)));

  const summary = async (g: GroupRecord, names?: Map<UserId, UserRecord>): Promise<GroupSummaryView> => {
    const limit = await directory.memberLimitFor(g.origin, g.ownerId);
    const exempt = limit === Number.MAX_SAFE_INTEGER;
    const owner = g.ownerId === null ? null : (names?.get(g.ownerId) ?? (await directory.getUser(g.ownerId)));
    return {
      id: g.id, name: g.name, ownerId: g.ownerId, ownerName: owner?.name ?? null, origin: g.origin,
      memberCount: g.memberIds.length, memberLimit: exempt ? null : limit, ownerExempt: exempt, version: g.version,
    };
  };

  const detail = async (g: GroupRecord): Promise<GroupDetailView> => {
    const users = await directory.getUsers(g.memberIds);
    const byId = new Map(users.map((u) => [u.id, u] as const));
    const members = g.memberIds.map((id) => byId.get(id)).filter((u): u is UserRecord => !!u)
      .map((u) => ({ id: u.id, account: u.account, name: u.name, deptIds: u.depts.map((d) => d.deptId) }));
    return { ...(await summary(g, byId)), members };
  };

  /**
   * The GW_GROUP_LIMIT of a refused change, saying how many more fit, with the
   * figures in `details` so the console can phrase it in its own language.
   * Nothing was written: the directory checks the limit before its transaction.
   */
  const limitRefusal = async (g: GroupRecord, add: UserId[], remove: UserId[]): Promise<GatewayError> => {
    const limit = await directory.memberLimitFor(g.origin, g.ownerId);
    const gone = new Set(remove);
    const staying = g.memberIds.filter((m) => !gone.has(m));
    const after = new Set([...staying, ...add.filter((a) => !gone.has(a))]);
    const room = Math.max(0, limit - staying.length);
    return new GatewayError('GW_GROUP_LIMIT',
      `${g.name} may have at most ${limit} members; this change would make ${after.size} (it has ${g.memberIds.length}; ${room} more fit)`,
      { details: { limit, memberCount: g.memberIds.length, wouldBe: after.size, room } });
  };

  const mustGroup = (raw: unknown) => directory.mustGroup(checkId('group id', raw) as GroupId);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;

  // a scoped administrator's list is filtered to the groups whose members are all in scope

  app.get(P, { preHandler: requireAdmin(Right.Groups) }, async (req): Promise<GroupListView> => {
    const q = checkQuery(req.query, ['q', 'offset', 'limit']);
    const text = (q.q ?? '').trim();
    if ([...text].length > 64) throw bad('q is longer than 64 characters');
    const offset = queryInt(q, 'offset', 0, 1_000_000) ?? 0;
    const limit = queryInt(q, 'limit', 1, MAX_GROUP_PAGE) ?? 50;
    const ids = await directory.groupIdsMatching(text);
    const scope = await admin.scopeFilter(actionContext(req).admin, Right.Groups);
    if (scope === null) {
      const page = (await Promise.all(ids.slice(offset, offset + limit).map((id) => directory.getGroup(id)))).filter((g): g is GroupRecord => !!g);
      return { total: ids.length, offset, limit, groups: await Promise.all(page.map((g) => summary(g))) };
    }
    const groups = (await Promise.all(ids.map((id) => directory.getGroup(id)))).filter((g): g is GroupRecord => !!g);
    const people = new Map((await directory.getUsers([...new Set(groups.flatMap((g) => g.memberIds))])).map((u) => [u.id, u] as const));
    const visible = groups.filter((g) => g.memberIds.length > 0 && g.memberIds.every((m) => { const u = people.get(m); return !!u && inScope(u, scope); }));
    return { total: visible.length, offset, limit, groups: await Promise.all(visible.slice(offset, offset + limit).map((g) => summary(g, people))) };
  });

  app.get(`${P}/settings`, { preHandler: requireAdmin(Right.Settings) }, async (): Promise<GroupSettingsView> => {
    const s = settings.get();
    return { groupMemberLimit: s.groupMemberLimit, rtxGroupMemberLimit: s.rtxGroupMemberLimit };
  });

  app.put(`${P}/settings`, { preHandler: requireAdmin(Right.Settings), bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<GroupSettingsView> => {
    const b = checkFields(req.body, ['groupMemberLimit', 'rtxGroupMemberLimit']);
    const patch: Partial<GroupSettingsView> = {};
    if (b.groupMemberLimit !== undefined) patch.groupMemberLimit = limitSetting('groupMemberLimit', b.groupMemberLimit);
    if (b.rtxGroupMemberLimit !== undefined) patch.rtxGroupMemberLimit = limitSetting('rtxGroupMemberLimit', b.rtxGroupMemberLimit);
    const cur = settings.get();
    const before = { groupMemberLimit: cur.groupMemberLimit, rtxGroupMemberLimit: cur.rtxGroupMemberLimit };
    const s = Object.keys(patch).length > 0 ? await settings.set(patch) : cur;
    const after = { groupMemberLimit: s.groupMemberLimit, rtxGroupMemberLimit: s.rtxGroupMemberLimit };
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'settings.group_limits', { kind: 'settings', id: 'groups', label: 'group member limits' }, before, after, ctx.address);
    return after;
  });

  app.get(`${P}/exempt`, { preHandler: requireAdmin(Right.Groups) }, async (req): Promise<{ users: ExemptUserView[] }> => {
    const ids = await directory.limitExemptIds();
    const scope = await admin.scopeFilter(actionContext(req).admin, Right.Groups);
    const users = (await directory.getUsers(ids)).filter((u) => inScope(u, scope)).sort((a, b) => a.id - b.id);
    return { users: users.map((u) => ({ id: u.id, account: u.account, name: u.name })) };
  });

  const setExempt = (exempt: boolean) => async (req: FastifyRequest): Promise<{ userId: UserId; exempt: boolean }> => {
    const id = checkId('user id', params(req).userId) as UserId;
    const [u] = await authorisePeople(req, [id]);
    const user = u as UserRecord;
    const was = (await directory.memberLimitFor('local', id)) === Number.MAX_SAFE_INTEGER;
    if (was !== exempt) {
      await directory.setLimitExempt(id, exempt);
      const ctx = actionContext(req);
      await admin.logAction(ctx.admin, exempt ? 'group.exempt_add' : 'group.exempt_remove', userTarget(user), { exempt: was }, { exempt }, ctx.address);
    }
    return { userId: id, exempt };
  };
  app.put(`${P}/exempt/:userId`, { preHandler: requireAdmin(Right.Groups), bodyLimit: SMALL_BODY_BYTES }, setExempt(true));
  app.delete(`${P}/exempt/:userId`, { preHandler: requireAdmin(Right.Groups) }, setExempt(false));

  app.get(`${P}/:id`, { preHandler: requireAdmin(Right.Groups) }, async (req): Promise<GroupDetailView> => {
    const g = await mustGroup(params(req).id);
    await authorisePeople(req, g.memberIds);
    return detail(g);
  });

  app.post(P, { preHandler: requireAdmin(Right.Groups), bodyLimit: GROUP_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['name', 'ownerId', 'ownerAccount', 'memberIds']);
    if (b.ownerId !== undefined && b.ownerAccount !== undefined) throw bad('give ownerId or ownerAccount, not both');
    let ownerId: UserId | null = null;
    if (b.ownerId !== undefined && b.ownerId !== null) ownerId = checkId('ownerId', b.ownerId) as UserId;
    if (b.ownerAccount !== undefined) {
      if (typeof b.ownerAccount !== 'string' || b.ownerAccount.length === 0 || b.ownerAccount.length > 64) throw bad('ownerAccount must be an account name');
      ownerId = (await directory.mustUserByAccount(b.ownerAccount)).id;
    }
    if (typeof b.name !== 'string') throw bad('name is required');
    const memberIds = userIds('memberIds', b.memberIds, false);
    await authorisePeople(req, [...new Set([...(ownerId !== null ? [ownerId] : []), ...memberIds])]);
    const g = await directory.createGroup(b.name, ownerId, memberIds).catch(async (err: unknown) => {
      if (!isGatewayError(err) || err.code !== 'GW_GROUP_LIMIT') throw err;
      const limit = await directory.memberLimitFor('local', ownerId);
      const wouldBe = new Set([...(ownerId !== null ? [ownerId] : []), ...memberIds]).size;
      throw new GatewayError('GW_GROUP_LIMIT', err.message, { details: { limit, memberCount: 0, wouldBe, room: limit } });
    });
    const view = await detail(g);
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'group.create', groupTarget(g), null, view, ctx.address);
    return reply.status(201).send(view);
  });

  app.patch(`${P}/:id`, { preHandler: requireAdmin(Right.Groups), bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<GroupDetailView> => {
    const b = checkFields(req.body, ['name']);
    if (typeof b.name !== 'string') throw bad('name is required');
    const cur = await mustGroup(params(req).id);
    await authorisePeople(req, cur.memberIds);
    checkRtxOwnedGroupChange(cur, { name: b.name });
    const updated = await directory.renameGroup(cur.id, b.name);
    const view = await detail(updated);
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'group.rename', groupTarget(updated), { name: cur.name }, { name: updated.name }, ctx.address);
    return view;
  });

  app.delete(`${P}/:id`, { preHandler: requireAdmin(Right.Groups) }, async (req, reply) => {
    const cur = await mustGroup(params(req).id);
    await authorisePeople(req, cur.memberIds);
    const before = await detail(cur);
    await directory.deleteGroup(cur.id);
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'group.delete', groupTarget(cur), before, null, ctx.address);
    return reply.status(204).send();
  });

  app.post(`${P}/:id/members`, { preHandler: requireAdmin(Right.Groups), bodyLimit: GROUP_BODY_BYTES }, async (req): Promise<GroupDetailView> => {
    const b = checkFields(req.body, ['add', 'remove']);
    const add = userIds('add', b.add, false);
    const remove = userIds('remove', b.remove, false);
    if (add.length === 0 && remove.length === 0) throw bad('add or remove must list at least one user id');
    const cur = await mustGroup(params(req).id);
    // the group as it is and everyone joining must lie in the scope
    await authorisePeople(req, [...new Set([...cur.memberIds, ...add])]);
    checkRtxOwnedGroupChange(cur, { members: true });
    const updated = await directory.changeGroupMembers(cur.id, add, remove).catch(async (err: unknown) => {
      throw isGatewayError(err) && err.code === 'GW_GROUP_LIMIT' ? await limitRefusal(cur, add, remove) : err;
    });
    const view = await detail(updated);
    const ctx = actionContext(req);
    const had = new Set(cur.memberIds);
    const has = new Set(updated.memberIds);
    await admin.logAction(ctx.admin, 'group.members', groupTarget(updated),
      { memberIds: cur.memberIds },
      { memberIds: updated.memberIds, added: updated.memberIds.filter((m) => !had.has(m)), removed: cur.memberIds.filter((m) => !has.has(m)) },
      ctx.address);
    return view;
  });
}
