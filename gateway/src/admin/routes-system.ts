import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { LicenceRequest, RenewalRequestInput } from '../licence/request.js';
import type { ImportResult, LicenceHistoryEntry, LicenceStatus } from '../licence/service.js';
import { VERSION } from '../services.js';
import type { LogTarget } from './action-log.js';
import type { AdminView, RoleView } from './api-types.js';
import type { ActionLogPageView, SystemStatusView } from './api-types-system.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { checkFields, checkQuery, queryInt, type AdminRouteDeps } from './routes-groups.js';
import { Right } from './rights.js';
import { MAX_LOG_PAGE } from './service.js';
import type { ActionLogQuery, AdminId, RoleId } from './types.js';
import { checkId } from './validate.js';

/** A licence file is a few hundred bytes of JSON; this leaves room for a long company name and then some. */
const LICENCE_BODY_BYTES = 64 * 1024;
const SMALL_BODY_BYTES = 16 * 1024;

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);
const LICENCE_TARGET: LogTarget = { kind: 'licence', id: null, label: 'licence' };

export type { AdminRouteDeps };

/** What the action log keeps of a licence status: the facts, not the sentences. */
function licenceFacts(s: LicenceStatus) {
  return { licenceId: s.licenceId, state: s.state, company: s.company, seats: s.seats, issuedAt: s.issuedAt, expiresAt: s.expiresAt };
}

/**
 * The console's system pages: status for the setup wizard and the home page
 * (F-2.1–2.4), the licence (F-2.3, F-9.1), administrator roles and accounts
 * (F-3.9) and the action log. Each route checks its right; the role and
 * account routes are thin wrappers over AdminService, which checks escalation
 * and writes the action log itself.
 */
export function registerSystemRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { admin, licence, db } = deps.services;
  const P = ADMIN_PREFIX;
  const loggedIn = requireAdmin();

  // ---- status ----

  app.get(`${P}/status`, async function status(req: FastifyRequest, reply: FastifyReply): Promise<SystemStatusView> {
    const needsSetup = await admin.needsSetup();
    // before the first administrator exists the wizard shows this without a login; afterwards only to administrators
    if (!needsSetup) await loggedIn.call(this, req, reply);
    let database: SystemStatusView['database'];
    try {
      const t = performance.now();
      db.prepare('SELECT 1').get();
      database = { up: true, latencyMs: Math.round((performance.now() - t) * 1000) / 1000 };
    } catch {
      database = { up: false, latencyMs: null };
    }
    let lic: SystemStatusView['licence'] = null;
    try {
      const s = await licence.status();
      lic = { state: s.state, seats: s.seats, used: s.used, expiresAt: s.expiresAt, daysLeft: s.daysLeft, warnings: s.warnings };
    } catch (e) {
      req.log.warn({ err: e }, 'licence status unavailable');
    }
    const listeners = (deps.listeners?.() ?? []).map((l) => ({ name: l.name, port: l.port, up: l.up }));
    return { needsSetup, version: VERSION, listeners, database, licence: lic };
  });

  // ---- licence ----

  app.get(`${P}/licence`, { preHandler: requireAdmin(Right.Licence) }, async (): Promise<LicenceStatus> => licence.status());

  app.get(`${P}/licence/history`, { preHandler: requireAdmin(Right.Licence) }, async (): Promise<{ licences: LicenceHistoryEntry[] }> => ({ licences: await licence.history() }));

  app.post(`${P}/licence`, { preHandler: requireAdmin(Right.Licence), bodyLimit: LICENCE_BODY_BYTES }, async (req): Promise<ImportResult> => {
    const b = checkFields(req.body, ['file']);
    if (typeof b.file !== 'string' || b.file.trim() === '') throw bad('file is required: the text of the licence file');
    const ctx = actionContext(req);
    const before = await licence.status();
    const result = await licence.importLicence(b.file);
    if (result.changed) {
      await admin.logAction(ctx.admin, 'licence.import', { ...LICENCE_TARGET, id: result.licenceId, label: result.status.company }, licenceFacts(before), licenceFacts(result.status), ctx.address);
    }
    return result;
  });

  app.post(`${P}/licence/request`, { preHandler: requireAdmin(Right.Licence), bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['kind', 'seats', 'expiresAt', 'company', 'contact', 'note']);
    if (b.contact !== undefined && b.contact !== null && typeof b.contact === 'object' && !Array.isArray(b.contact)) {
      for (const k of Object.keys(b.contact)) if (!['name', 'phone', 'email'].includes(k)) throw bad(`unknown field contact.${k.slice(0, 40)}; allowed: name, phone, email`);
    }
    const request: LicenceRequest = await licence.renewalRequest(b as unknown as RenewalRequestInput);
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'licence.request', { ...LICENCE_TARGET, id: request.licenceId }, null,
      { kind: request.kind, requested: request.requested, company: request.company, contact: request.contact }, ctx.address);
    const day = request.createdAt.slice(0, 10);
    return reply
      .header('content-disposition', `attachment; filename="huitong-licence-request-${request.kind}-${day}.json"`)
      .send(request);
  });

  // ---- roles ----

  const idParam = (req: FastifyRequest, what: string) => checkId(what, (req.params as Record<string, string>).id);
  const roleFields = ['name', 'rights', 'scopeDeptIds', 'wholeOrg'];

  app.get(`${P}/roles`, { preHandler: requireAdmin(Right.Admins) }, async (req) => ({ roles: await admin.listRoles(actionContext(req)) }));

  app.post(`${P}/roles`, { preHandler: requireAdmin(Right.Admins), bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, roleFields);
    const view: RoleView = await admin.createRole(actionContext(req), { name: b.name, rights: b.rights, scopeDeptIds: b.scopeDeptIds, wholeOrg: b.wholeOrg });
    return reply.status(201).send(view);
  });

  app.patch(`${P}/roles/:id`, { preHandler: requireAdmin(Right.Admins), bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<RoleView> => {
    const b = checkFields(req.body, roleFields);
    return admin.updateRole(actionContext(req), idParam(req, 'role id') as RoleId, b);
  });

  app.delete(`${P}/roles/:id`, { preHandler: requireAdmin(Right.Admins) }, async (req, reply) => {
    await admin.deleteRole(actionContext(req), idParam(req, 'role id') as RoleId);
    return reply.status(204).send();
  });

  // ---- administrator accounts ----

  app.get(`${P}/admins`, { preHandler: requireAdmin(Right.Admins) }, async (req): Promise<{ admins: AdminView[] }> => ({ admins: await admin.listAdmins(actionContext(req)) }));

  app.post(`${P}/admins`, { preHandler: requireAdmin(Right.Admins), bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkFields(req.body, ['username', 'password', 'displayName', 'roleIds']);
    const view = await admin.createAdmin(actionContext(req), { username: b.username, password: b.password, displayName: b.displayName, roleIds: b.roleIds });
    return reply.status(201).send(view);
  });

  app.patch(`${P}/admins/:id`, { preHandler: requireAdmin(Right.Admins), bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<AdminView> => {
    const b = checkFields(req.body, ['displayName', 'disabled', 'password', 'username']);
    return admin.updateAdmin(actionContext(req), idParam(req, 'administrator id') as AdminId, b);
  });

  app.delete(`${P}/admins/:id`, { preHandler: requireAdmin(Right.Admins) }, async (req, reply) => {
    await admin.deleteAdmin(actionContext(req), idParam(req, 'administrator id') as AdminId);
    return reply.status(204).send();
  });

  app.put(`${P}/admins/:id/roles`, { preHandler: requireAdmin(Right.Admins), bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<AdminView> => {
    const b = checkFields(req.body, ['roleIds']);
    if (b.roleIds === undefined) throw bad('roleIds is required');
    return admin.assignRoles(actionContext(req), idParam(req, 'administrator id') as AdminId, b.roleIds);
  });

  // ---- action log ----

  app.get(`${P}/log`, { preHandler: requireAdmin(Right.Logs) }, async (req): Promise<ActionLogPageView> => {
    const q = checkQuery(req.query, ['from', 'to', 'admin', 'action', 'targetKind', 'targetId', 'offset', 'limit']);
    const query: ActionLogQuery = {};
    const from = queryInt(q, 'from', 0, Number.MAX_SAFE_INTEGER);
    const to = queryInt(q, 'to', 0, Number.MAX_SAFE_INTEGER);
    const adminId = queryInt(q, 'admin', 1, Number.MAX_SAFE_INTEGER);
    const offset = queryInt(q, 'offset', 0, 1_000_000) ?? 0;
    const limit = queryInt(q, 'limit', 1, MAX_LOG_PAGE) ?? 50;
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
    if (adminId !== undefined) query.adminId = adminId as AdminId;
    for (const k of ['action', 'targetKind', 'targetId'] as const) if (q[k] !== undefined && q[k] !== '') query[k] = q[k];
    query.offset = offset;
    query.limit = limit;
    const page = await admin.queryLog(query);
    return { total: page.total, offset, limit, entries: page.entries };
  });
}
