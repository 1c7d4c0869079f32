import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import type { ConnectionCheck } from '../../../sync/src/source.js';
import type { RunView, SourceInput, SourceView } from '../sync/types.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { body, idField, query } from './routes-org.js';
import { registerSyncFileRoutes } from './routes-sync-files.js';

export const MAX_SYNC_RUNS_PAGE = 200;
const MAX_PREVIEW_RUNS = 20;
const SOURCE_BODY_BYTES = 128 * 1024;
const SOURCE_FIELDS = ['id', 'kind', 'name', 'config', 'schedule', 'enabled', 'matching', 'brakePercent', 'deletionDays'] as const;

/** GET /api/admin/sync/sources */
export interface SyncSourcesView {
  sources: SourceView[];
  kinds: { kind: string; label: { zh: string; en: string } | null; secretFields: string[] }[];
}

/** GET /api/admin/sync/runs */
export interface SyncRunsView {
  runs: RunView[];
}

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);
const target = (id: string, label?: string) => ({ kind: 'sync-source', id, label: label ?? id });

function sourceInput(b: Record<string, unknown>): SourceInput {
  return b as SourceInput;
}

function boolQuery(name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v !== 'true' && v !== 'false') throw bad(`${name} must be true or false`);
  return v === 'true';
}

/**
 * Directory sync in the console, Settings → Sync (docs/admin-api-sync.md),
 * all under the `settings` right: sources (secrets write-only), test
 * connection, schedule preview, "sync now" (202 with the run id), runs with
 * progress, the safety brake's confirmation, cancel, and each run's plan;
 * a spreadsheet source's file and its upload (routes-sync-files.ts).
 */
export function registerSyncRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const P = `${ADMIN_PREFIX}/sync`;
  const { sync, admin } = deps.services;
  const settings = requireAdmin(Right.Settings);

  app.get(`${P}/sources`, { preHandler: settings }, async (req): Promise<SyncSourcesView> => {
    query(req.query, []);
    return { sources: sync.sources(), kinds: sync.kinds() };
  });

  app.get(`${P}/sources/:id`, { preHandler: settings }, async (req): Promise<SourceView> => sync.source((req.params as { id: string }).id));

  app.post(`${P}/sources`, { preHandler: settings, bodyLimit: SOURCE_BODY_BYTES }, async (req, reply) => {
    const ctx = actionContext(req);
    const view = sync.createSource(sourceInput(body(req.body, SOURCE_FIELDS)));
    await admin.logAction(ctx.admin, 'sync.source.create', target(view.id, view.name), null, view, ctx.address);
    return reply.status(201).send(view);
  });

  app.patch(`${P}/sources/:id`, { preHandler: settings, bodyLimit: SOURCE_BODY_BYTES }, async (req): Promise<SourceView> => {
    const ctx = actionContext(req);
    const id = (req.params as { id: string }).id;
    const r = sync.updateSource(id, sourceInput(body(req.body, SOURCE_FIELDS)));
    await admin.logAction(ctx.admin, 'sync.source.update', target(id, r.after.name), r.before, r.after, ctx.address);
    return r.after;
  });

  app.delete(`${P}/sources/:id`, { preHandler: settings }, async (req, reply) => {
    const ctx = actionContext(req);
    const view = sync.deleteSource((req.params as { id: string }).id);
    await admin.logAction(ctx.admin, 'sync.source.delete', target(view.id, view.name), view, null, ctx.address);
    return reply.status(204).send();
  });

  app.post(`${P}/sources/:id/test`, { preHandler: settings, bodyLimit: 1024 }, async (req): Promise<ConnectionCheck> => sync.testConnection((req.params as { id: string }).id));

  app.get(`${P}/schedule-preview`, { preHandler: settings }, async (req) => {
    const q = query(req.query, ['cron', 'count']);
    if (q.cron === undefined) throw bad('cron is required, e.g. ?cron=0%202%20*%20*%20*');
    const count = q.count === undefined ? 5 : Number(q.count);
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_PREVIEW_RUNS) throw bad(`count must be an integer from 1 to ${MAX_PREVIEW_RUNS}`);
    return sync.previewSchedule(q.cron, count);
  });

  app.post(`${P}/sources/:id/run`, { preHandler: settings, bodyLimit: 1024 }, async (req, reply) => {
    const ctx = actionContext(req);
    const id = (req.params as { id: string }).id;
    const q = query(req.query, ['dryRun']);
    const dryRun = boolQuery('dryRun', q.dryRun, false);
    const runId = sync.startRun(id, { trigger: 'manual', dryRun, requestedBy: ctx.admin.username });
    await admin.logAction(ctx.admin, dryRun ? 'sync.run.dry_run' : 'sync.run.start', { kind: 'sync-run', id: runId, label: id }, null, null, ctx.address);
    return reply.status(202).header('location', `${P}/runs/${runId}`).send({ runId });
  });

  app.get(`${P}/runs`, { preHandler: settings }, async (req): Promise<SyncRunsView> => {
    const q = query(req.query, ['sourceId', 'limit', 'before']);
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!/^\d{1,4}$/.test(q.limit ?? '20') || limit < 1 || limit > MAX_SYNC_RUNS_PAGE) throw bad(`limit must be an integer from 1 to ${MAX_SYNC_RUNS_PAGE}`);
    const beforeId = q.before === undefined ? undefined : idField('before', q.before);
    return { runs: sync.runs({ limit, ...(q.sourceId !== undefined ? { sourceId: q.sourceId } : {}), ...(beforeId !== undefined ? { beforeId } : {}) }) };
  });

  const runOf = (params: unknown): number => idField('run id', (params as { id: string }).id);

  app.get(`${P}/runs/:id`, { preHandler: settings }, async (req): Promise<RunView> => {
    const id = runOf(req.params);
    const r = sync.run(id);
    if (!r) throw new GatewayError('GW_NOT_FOUND', `no sync run ${id}`);
    return r;
  });

  app.post(`${P}/runs/:id/confirm`, { preHandler: settings, bodyLimit: 1024 }, async (req, reply) => {
    const ctx = actionContext(req);
    const id = runOf(req.params);
    const before = sync.run(id);
    const r = sync.confirm(id, ctx.admin.username);
    await admin.logAction(ctx.admin, 'sync.run.confirm', { kind: 'sync-run', id, label: r.sourceId }, { state: before?.state, brake: before?.brake }, { state: r.state }, ctx.address);
    return reply.status(202).send(r);
  });

  app.post(`${P}/runs/:id/cancel`, { preHandler: settings, bodyLimit: 1024 }, async (req): Promise<RunView> => {
    const ctx = actionContext(req);
    const id = runOf(req.params);
    const r = sync.cancel(id, ctx.admin.username);
    await admin.logAction(ctx.admin, 'sync.run.cancel', { kind: 'sync-run', id, label: r.sourceId }, null, null, ctx.address);
    return r;
  });

  app.get(`${P}/runs/:id/plan`, { preHandler: settings }, async (req, reply) => {
    const id = runOf(req.params);
    const json = sync.planJson(id);
    if (!json) throw new GatewayError('GW_NOT_FOUND', `run ${id} has no stored plan (it failed or was cancelled before planning)`);
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="sync-run-${id}-plan.json"`)
      .send(json);
  });

  registerSyncFileRoutes(app, deps);
}
