import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallbackSettingsView, DeliveryDetailView, DeliveryPageView, DeliveryState, DeliveryView, TestSendView } from '../apps/callbacks-types.js';
import { MAX_DELIVERY_PAGE } from '../apps/callback-queue.js';
import { staticRefusal } from '../apps/ssrf.js';
import type { OpenApp } from '../apps/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { appLogTarget, mustAdminApp } from './routes-app-rules.js';
import { checkFields, checkQuery, queryInt } from './routes-groups.js';
import { checkId } from './validate.js';

const SMALL_BODY_BYTES = 16 * 1024;
const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'failed'];

/**
 * An app's callback in the console (docs/admin-api-apps-rules.md; F-4.8): the
 * URL and Token, a test send, the delivery log (paged, by state) with each
 * attempt, and replay. Right `apps`; changes go to the action log (the Token
 * redacted).
 */
export function registerAppCallbackRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const { apps, appCallbacks, admin } = deps.services;
  const P = `${ADMIN_PREFIX}/apps/:id/callback`;
  const guard = requireAdmin(Right.Apps);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;

  const settings = (a: OpenApp): CallbackSettingsView => ({
    appId: a.rowId, url: a.callbackUrl, hasToken: a.callbackToken !== null, ready: appCallbacks.target(a) !== null, timeoutMs: appCallbacks.timeoutMs,
  });

  app.get(P, { preHandler: guard }, async (req): Promise<CallbackSettingsView> => settings(mustAdminApp(deps.services, params(req).id)));

  app.put(P, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<CallbackSettingsView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    const b = checkFields(req.body, ['url', 'token']);
    if (b.url !== undefined && b.url !== null && b.url !== '') {
      if (typeof b.url !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'url must be a string');
      const why = staticRefusal(b.url);
      if (why) throw new GatewayError('GW_BAD_REQUEST', `the callback URL is refused: ${why}`);
    }
    if (!a.appId) throw new GatewayError('GW_BAD_REQUEST', 'the app has no open-API access, so it cannot have a callback');
    const next = await apps.update(a.rowId, {
      ...(b.url !== undefined ? { callbackUrl: b.url as string | null } : {}),
      ...(b.token !== undefined ? { callbackToken: b.token as string | null } : {}),
    });
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'app.callback.update', appLogTarget(next),
      { url: a.callbackUrl, token: a.callbackToken ? 'set' : null }, { url: next.callbackUrl, token: next.callbackToken ? 'set' : null }, ctx.address);
    return settings(next);
  });

  app.post(`${P}/test`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req): Promise<TestSendView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    return appCallbacks.testSend(a);
  });

  app.get(`${P}/deliveries`, { preHandler: guard }, async (req): Promise<DeliveryPageView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    const q = checkQuery(req.query, ['state', 'offset', 'limit']);
    if (q.state !== undefined && q.state !== '' && !STATES.includes(q.state as DeliveryState)) throw new GatewayError('GW_BAD_REQUEST', `state must be one of ${STATES.join(', ')}`);
    const offset = queryInt(q, 'offset', 0, 10_000_000) ?? 0;
    const limit = queryInt(q, 'limit', 1, MAX_DELIVERY_PAGE) ?? 50;
    return appCallbacks.list(a.rowId, { ...(q.state ? { state: q.state as DeliveryState } : {}), offset, limit });
  });

  app.get(`${P}/deliveries/:did`, { preHandler: guard }, async (req): Promise<DeliveryDetailView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    return appCallbacks.detail(a.rowId, checkId('delivery id', params(req).did));
  });

  app.post(`${P}/deliveries/:did/replay`, { preHandler: guard, bodyLimit: SMALL_BODY_BYTES }, async (req, reply): Promise<DeliveryView> => {
    const a = mustAdminApp(deps.services, params(req).id);
    const d = appCallbacks.replay(a.rowId, checkId('delivery id', params(req).did));
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'app.callback.replay', appLogTarget(a), { delivery: d.replayOf }, { delivery: d.id, packageId: d.packageId }, ctx.address);
    return reply.status(201).send(d);
  });
}
