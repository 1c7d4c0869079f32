import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { RunView } from '../rtx/types.js';
import type { ImportResult } from '../rtx/sync-service.js';
import type { Services } from '../services.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { body, query } from './routes-org.js';

/** Largest export XML the console may upload (a 20,000-user export is about 5 MiB). */
export const MAX_XML_BODY_BYTES = 32 * 1024 * 1024;
export const MAX_RUNS_PAGE = 200;
const XML_TYPES = ['application/xml', 'text/xml', 'application/octet-stream'];
/** Only whole-organisation roles may sync or import the whole RTX org. */
const WHOLE_ORG = { deptIds: [null] };

/** GET /api/admin/rtx/runs */
export interface RtxRunsView {
  runs: RunView[];
}

/**
 * The RTX org sync in the console (docs/admin-api-rtx.md): ask the adapter
 * for a snapshot (`settings` right), list the runs, and import an RTX export
 * XML file (`members` right, whole organisation), with a dry run first.
 */
export function registerRtxSyncRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const P = `${ADMIN_PREFIX}/rtx`;
  const { rtxSync, admin } = deps.services;

  app.post(`${P}/sync`, { preHandler: requireAdmin(Right.Settings), bodyLimit: 1024 }, async (req, reply) => {
    const ctx = actionContext(req);
    body(req.body ?? {}, []);
    await rtxSync.requestSync(`console (${ctx.admin.username})`);
    await admin.logAction(ctx.admin, 'rtx.sync.request', { kind: 'rtx', id: null, label: 'RTX org sync' }, null, null, ctx.address);
    return reply.status(202).send({ requested: true });
  });

  app.get(`${P}/runs`, { preHandler: requireAdmin(Right.Settings) }, async (req): Promise<RtxRunsView> => {
    const q = query(req.query, ['limit']);
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!/^\d{1,4}$/.test(q.limit ?? '20') || limit < 1 || limit > MAX_RUNS_PAGE) throw new GatewayError('GW_BAD_REQUEST', `limit must be an integer from 1 to ${MAX_RUNS_PAGE}`);
    return { runs: rtxSync.runs(limit) };
  });

  void app.register(async (scope) => {
    scope.addContentTypeParser(XML_TYPES, { parseAs: 'buffer', bodyLimit: MAX_XML_BODY_BYTES }, (_req, b, done) => done(null, b));

    scope.post(`${P}/import-xml`, { preHandler: requireAdmin(Right.Members), bodyLimit: MAX_XML_BODY_BYTES }, async (req): Promise<ImportResult> => {
      const ctx = actionContext(req);
      const q = query(req.query, ['dryRun']);
      if (q.dryRun !== undefined && q.dryRun !== 'true' && q.dryRun !== 'false') throw new GatewayError('GW_BAD_REQUEST', 'dryRun must be true or false');
      const dryRun = q.dryRun !== 'false';
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw new GatewayError('GW_BAD_REQUEST', `send the RTX export XML file as the request body, with content-type ${XML_TYPES.join(' or ')}`);
      }
      await admin.authorise(ctx.admin, Right.Members, WHOLE_ORG);
      const r = await rtxSync.importXml(req.body, { dryRun, reason: `console (${ctx.admin.username})${dryRun ? ', dry run' : ''}` });
      if (!dryRun) await admin.logAction(ctx.admin, 'rtx.import_xml', { kind: 'rtx-sync', id: r.runId, label: `${req.body.length} bytes` }, null, { counts: r.plan }, ctx.address);
      return r;
    });
  });
}
