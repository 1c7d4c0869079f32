import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  checkContent, checkTargets, type BroadcastHistoryView, type BroadcastPeopleView, type BroadcastPreviewView, type BroadcastRecord, type BroadcastRight,
  type BroadcastRightEntryView, type BroadcastRightsView, type BroadcastSentView, type BroadcastService, type CheckedTargets, type NamedMember,
} from '../apps/broadcast.js';
import type { DeptRecord, UserRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { targets as scopeTargets } from './rbac.js';
import { Right } from './rights.js';
import { checkFields, checkQuery, queryInt } from './routes-groups.js';
import { deptMap, deptPath } from './routes-org.js';

export type * from '../apps/broadcast-types.js';

const SMALL_BODY_BYTES = 64 * 1024;
const HISTORY_USERS_SHOWN = 20;

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);
const forbidden = (m: string) => new GatewayError('GW_FORBIDDEN', m);

function onlineOnlyField(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad('onlineOnly must be true or false');
  return v;
}

/**
 * System broadcast in the console (docs/broadcast.md; F-4.10, F-6.2), right
 * `settings` for every route. Members' broadcast rights: list, grant or
 * change (`all` or `dept`), remove — an administrator with a department
 * scope sees and changes only members whose departments are all in it, and
 * grants only `dept`. Broadcasting: a preview with the number of people it
 * reaches, the send (a scoped administrator reaches only departments and
 * people inside the scope, never everyone), and the history of every
 * broadcast, by members and administrators. Changes and sends go to the
 * action log.
 */
export function registerBroadcastRoutes(app: FastifyInstance, deps: { services: Services; broadcast: BroadcastService }): void {
  const { broadcast } = deps;
  const { admin, directory } = deps.services;
  const guard = requireAdmin(Right.Settings);
  const P = `${ADMIN_PREFIX}/broadcast`;
  const scopeOf = (req: FastifyRequest) => admin.scopeFilter(actionContext(req).admin, Right.Settings);
  const sees = (u: UserRecord, scope: Set<DeptId> | null) => scope === null || u.depts.some((d) => scope.has(d.deptId));
  const named = (u: UserRecord): NamedMember => ({ id: u.id, account: u.account, name: u.name });
  const log = async (req: FastifyRequest, action: string, target: { kind: string; id: number | null; label: string }, before: unknown, after: unknown) => {
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, action, target, before, after, ctx.address);
  };

  const mustMember = async (raw: unknown): Promise<UserRecord> => {
    const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    const [u] = Number.isSafeInteger(id) && id > 0 ? await directory.getUsers([id as UserId]) : [];
    if (!u) throw new GatewayError('GW_NOT_FOUND', `member ${String(raw).slice(0, 20)} does not exist`);
    return u;
  };

  const entry = (r: BroadcastRight, u: UserRecord, byId: Map<DeptId, DeptRecord>): BroadcastRightEntryView => ({
    user: named(u), scope: r.scope, depts: u.depts.filter((d) => byId.has(d.deptId)).map((d) => ({ id: d.deptId, path: deptPath(byId, d.deptId) })),
    grantedBy: r.grantedBy, updatedAt: r.updatedAt,
  });

  /** A scoped administrator reaches only departments and people inside the scope, never everyone. */
  const checkSendScope = async (scope: Set<DeptId> | null, t: CheckedTargets) => {
    if (scope === null) return;
    if (t.all) throw forbidden('only an administrator over the whole organisation may broadcast to everyone');
    const outside = t.depts.filter((d) => !scope.has(d));
    if (outside.length) throw forbidden(`department(s) ${outside.slice(0, 10).join(', ')} are outside the departments you may manage`);
    const out = (await directory.getUsers(t.users)).filter((u) => !sees(u, scope));
    if (out.length) throw forbidden(`people outside the departments you may manage: ${out.slice(0, 10).map((u) => u.account).join(', ')}`);
  };

  const parseSend = (body: unknown, contentRequired: boolean) => {
    const b = checkFields(body, ['content', 'targets', 'onlineOnly']);
    if (b.targets === undefined) throw bad('targets is required');
    const content = b.content === undefined && !contentRequired ? null : checkContent(b.content);
    return { content, targets: checkTargets(b.targets), onlineOnly: onlineOnlyField(b.onlineOnly) };
  };

  // --- rights ---

  app.get(`${P}/rights`, { preHandler: guard }, async (req): Promise<BroadcastRightsView> => {
    checkQuery(req.query, []);
    const scope = await scopeOf(req);
    const rights = broadcast.rights();
    const users = new Map((await directory.getUsers(rights.map((r) => r.userId))).map((u) => [u.id as number, u] as const));
    const byId = await deptMap(deps.services);
    return {
      rights: rights.flatMap((r) => {
        const u = users.get(r.userId);
        return u && sees(u, scope) ? [entry(r, u, byId)] : [];
      }),
      mayGrantAll: scope === null,
    };
  });

  app.put(`${P}/rights/:userId`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['scope']);
    if (b.scope !== 'all' && b.scope !== 'dept') throw bad('scope must be "all" (everyone) or "dept" (their own departments)');
    const u = await mustMember((req.params as { userId?: string }).userId);
    const ctx = actionContext(req);
    await admin.authorise(ctx.admin, Right.Settings, scopeTargets.member(u.depts.map((d) => d.deptId)));
    if (b.scope === 'all' && (await scopeOf(req)) !== null) throw forbidden('only an administrator over the whole organisation may grant broadcasting to everyone');
    const { before, after } = broadcast.grant(u.id, b.scope, ctx.admin.username);
    await log(req, before ? 'broadcast.right.update' : 'broadcast.right.grant', { kind: 'user', id: u.id, label: u.account }, before ? { scope: before.scope } : null, { scope: after.scope });
    return reply.status(before ? 200 : 201).send(entry(after, u, await deptMap(deps.services)));
  });

  app.delete(`${P}/rights/:userId`, { preHandler: guard }, async (req, reply) => {
    checkQuery(req.query, []);
    const u = await mustMember((req.params as { userId?: string }).userId);
    await admin.authorise(actionContext(req).admin, Right.Settings, scopeTargets.member(u.depts.map((d) => d.deptId)));
    const before = broadcast.revoke(u.id);
    if (!before) throw new GatewayError('GW_NOT_FOUND', `${u.account} has no broadcast right`);
    await log(req, 'broadcast.right.revoke', { kind: 'user', id: u.id, label: u.account }, { scope: before.scope }, null);
    return reply.status(204).send();
  });

  // the people picker of the rights and of the targets: members in the administrator's settings scope
  app.get(`${P}/people`, { preHandler: guard }, async (req): Promise<BroadcastPeopleView> => {
    const q = checkQuery(req.query, ['q', 'limit']);
    const text = (q.q ?? '').trim();
    if ([...text].length > 64) throw bad('q is longer than 64 characters');
    const limit = queryInt(q, 'limit', 1, 50) ?? 20;
    const scope = await scopeOf(req);
    if (scope !== null && scope.size === 0) return { members: [] };
    const r = await directory.searchUsers({ ...(text ? { query: text } : {}), ...(scope !== null ? { deptIds: [...scope] } : {}), offset: 0, limit });
    const byId = await deptMap(deps.services);
    return { members: r.users.map((u) => ({ ...named(u), dept: u.depts[0] ? (byId.get(u.depts[0].deptId)?.name ?? null) : null })) };
  });

  // --- broadcasting ---

  app.post(`${P}/preview`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<BroadcastPreviewView> => {
    const { content, targets, onlineOnly } = parseSend(req.body, false);
    await checkSendScope(await scopeOf(req), targets);
    const reach = broadcast.reach(await broadcast.app(), targets, onlineOnly).length;
    const a = actionContext(req).admin;
    return { reach, body: content ? { title: content.title, items: content.items, from: { kind: 'admin', name: a.displayName || a.username } } : null };
  });

  app.post(`${P}/send`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const { content, targets, onlineOnly } = parseSend(req.body, true);
    await checkSendScope(await scopeOf(req), targets);
    const a = actionContext(req).admin;
    const r = await broadcast.send({ kind: 'admin', adminId: a.id, username: a.username, name: a.displayName || a.username }, content as NonNullable<typeof content>, targets, onlineOnly);
    await log(req, 'broadcast.send', { kind: 'broadcast', id: r.id, label: r.body.title }, null,
      { title: r.body.title, targets: { all: targets.all, deptIds: targets.depts, userIds: targets.users.length }, onlineOnly, messageId: r.messageId, reached: r.reached });
    const view: BroadcastSentView = { id: r.id, messageId: r.messageId, reached: r.reached, body: r.body };
    return reply.status(201).send(view);
  });

  app.get(`${P}/history`, { preHandler: guard }, async (req): Promise<BroadcastHistoryView> => {
    const q = checkQuery(req.query, ['limit', 'before']);
    const limit = queryInt(q, 'limit', 1, 100) ?? 50;
    const before = queryInt(q, 'before', 1, Number.MAX_SAFE_INTEGER);
    const scope = await scopeOf(req);
    const ctx = actionContext(req);
    const list = broadcast.history({ limit, ...(before !== undefined ? { before } : {}), ...(scope !== null ? { visibleTo: { adminId: ctx.admin.id, deptIds: [...scope] } } : {}) });
    const byId = await deptMap(deps.services);
    const shownUsers = [...new Set(list.flatMap((b) => b.targets.users.slice(0, HISTORY_USERS_SHOWN)))];
    const users = new Map((await directory.getUsers(shownUsers)).map((u) => [u.id as number, u] as const));
    const view = (b: BroadcastRecord) => {
      const us = b.targets.users.slice(0, HISTORY_USERS_SHOWN).flatMap((id) => {
        const u = users.get(id);
        return u ? [named(u)] : [];
      });
      return {
        id: b.id, sender: { kind: b.sender.kind, name: b.sender.name, account: b.sender.account ?? '' }, title: b.title,
        targets: { all: b.targets.all, depts: b.targets.depts.map((d) => ({ id: d, path: byId.has(d) ? deptPath(byId, d) : `#${d}` })), users: us, moreUsers: b.targets.users.length - us.length },
        onlineOnly: b.onlineOnly, reached: b.reached, createdAt: b.createdAt,
      };
    };
    return { broadcasts: list.map(view), next: list.length === limit ? (list[list.length - 1] as BroadcastRecord).id : null };
  });
}
