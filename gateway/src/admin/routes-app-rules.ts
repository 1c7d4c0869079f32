import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MenuView, ReplyRuleView } from '../apps/callbacks-types.js';
import type { OpenApp } from '../apps/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import type { LogTarget } from './action-log.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { checkFields } from './routes-groups.js';
import { checkId } from './validate.js';

export type * from '../apps/callbacks-types.js';

const RULE_BODY_BYTES = 96 * 1024;
const MENU_BODY_BYTES = 512 * 1024;

/** The app an admin route names by its row id; GW_NOT_FOUND for an unknown or deleted one. */
export function mustAdminApp(services: Services, raw: unknown): OpenApp {
  const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  const a = Number.isSafeInteger(id) ? services.apps.get(id) : null;
  if (!a || a.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${String(raw).slice(0, 20)} does not exist`);
  return a;
}

export const appLogTarget = (a: OpenApp): LogTarget => ({ kind: 'app', id: a.rowId, label: a.appId ? `${a.name} (${a.appId})` : a.name });

/**
 * An app's keyword auto-reply rules and custom menu in the console
 * (docs/admin-api-apps-rules.md; F-4.6, F-4.7). Right `apps`; every change
 * goes to the action log with before and after.
 */
export function registerAppRuleRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const { appRules, appMenus, admin } = deps.services;
  const P = `${ADMIN_PREFIX}/apps/:id`;
  const guard = requireAdmin(Right.Apps);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;
  const log = async (req: FastifyRequest, action: string, a: OpenApp, before: unknown, after: unknown) => {
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, action, appLogTarget(a), before, after, ctx.address);
  };

  app.get(`${P}/rules`, { preHandler: guard }, async (req): Promise<{ rules: ReplyRuleView[] }> => {
    const a = mustAdminApp(deps.services, params(req).id);
    return { rules: appRules.list(a.rowId) };
  });

  app.post(`${P}/rules`, { preHandler: guard, bodyLimit: RULE_BODY_BYTES }, async (req, reply) => {
    const a = mustAdminApp(deps.services, params(req).id);
    const rule = appRules.create(a.rowId, req.body);
    await log(req, 'app.rule.create', a, null, rule);
    return reply.status(201).send(rule);
  });

  app.put(`${P}/rules/:ruleId`, { preHandler: guard, bodyLimit: RULE_BODY_BYTES }, async (req): Promise<ReplyRuleView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    const id = checkId('rule id', params(req).ruleId);
    const before = appRules.get(a.rowId, id);
    const rule = appRules.update(a.rowId, id, req.body);
    await log(req, 'app.rule.update', a, before, rule);
    return rule;
  });

  app.delete(`${P}/rules/:ruleId`, { preHandler: guard }, async (req, reply) => {
    const a = mustAdminApp(deps.services, params(req).id);
    const before = appRules.delete(a.rowId, checkId('rule id', params(req).ruleId));
    await log(req, 'app.rule.delete', a, before, null);
    return reply.status(204).send();
  });

  app.get(`${P}/menu`, { preHandler: guard }, async (req): Promise<MenuView> => appMenus.get(mustAdminApp(deps.services, params(req).id).rowId));

  app.put(`${P}/menu`, { preHandler: guard, bodyLimit: MENU_BODY_BYTES }, async (req): Promise<MenuView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    const b = checkFields(req.body, ['items', 'version']);
    if (b.version !== undefined && (!Number.isSafeInteger(b.version) || (b.version as number) < 0)) throw new GatewayError('GW_BAD_REQUEST', 'version must be the version of the menu you are changing');
    const before = appMenus.get(a.rowId);
    const menu = appMenus.put(a.rowId, b.items, b.version as number | undefined);
    await log(req, 'app.menu.update', a, { items: before.items, version: before.version }, { items: menu.items, version: menu.version });
    return menu;
  });
}
