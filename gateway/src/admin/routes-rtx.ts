import type { FastifyInstance } from 'fastify';
import type { PluginHub, PluginHubStatus } from '../edges/plugin/hub.js';
import type { Services } from '../services.js';
import type { ConnectionCodeView } from '../settings/connection-code.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';

export interface RtxRouteDeps {
  services: Services;
  plugin: PluginHub;
}

/** GET /api/admin/rtx/status: the plugin channel's link, for the console's RTX integration page. */
export type RtxStatusView = PluginHubStatus;

/**
 * The console's RTX integration page (Settings → RTX integration): the
 * connection code adapters present on the plugin channel, and the state of the
 * link. Every route needs the `settings` right. The code is a secret: it is
 * answered only here, never written to the action log (which records that it
 * was regenerated, not its value).
 */
export function registerRtxRoutes(app: FastifyInstance, deps: RtxRouteDeps): void {
  const P = `${ADMIN_PREFIX}/rtx`;
  const { rtxCode, admin } = deps.services;

  app.get(`${P}/code`, { preHandler: requireAdmin(Right.Settings) }, async (): Promise<ConnectionCodeView> => rtxCode.current());

  /** Regenerates the code; the adapter connected with the old one is disconnected (GW_PLUGIN_CODE_CHANGED). */
  app.post(`${P}/code`, { preHandler: requireAdmin(Right.Settings), bodyLimit: 1024 }, async (req): Promise<ConnectionCodeView> => {
    const view = rtxCode.regenerate();
    const ctx = actionContext(req);
    await admin.logAction(ctx.admin, 'rtx.code.regenerate', { kind: 'rtx', id: null, label: 'RTX connection code' }, null, { createdAt: view.createdAt }, ctx.address);
    return view;
  });

  app.get(`${P}/status`, { preHandler: requireAdmin(Right.Settings) }, async (): Promise<RtxStatusView> => deps.plugin.status());
}
