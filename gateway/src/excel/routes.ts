import type { FastifyInstance, FastifyReply } from 'fastify';
import { actionContext, ADMIN_PREFIX, requireAdmin } from '../admin/http.js';
import { Right } from '../admin/rights.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import { errorReport, exportOrg } from './export.js';
import { importMembers, MAX_IMPORT_BYTES, type ImportPhase } from './import.js';
import { ImportReports } from './reports.js';
import { buildTemplate } from './template.js';

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** Row errors sent in the JSON answer; the downloadable report has them all. */
export const MAX_ERRORS_IN_ANSWER = 1000;
const P = `${ADMIN_PREFIX}/excel`;

export interface ExcelRouteDeps {
  services: Services;
  /** For tests; defaults to a fresh in-memory store. */
  reports?: ImportReports;
}

function sendXlsx(reply: FastifyReply, buf: Buffer, asciiName: string, name: string) {
  return reply
    .header('content-type', XLSX_MIME)
    .header('content-disposition', `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(name)}`)
    .send(buf);
}

const day = () => new Date().toISOString().slice(0, 10);

/**
 * Excel import and export of members (F-3.4, F-3.7), under /api/admin/excel:
 * the template, the all-or-nothing import with its per-row error report, and
 * the organisation export. All need the `members` right; a scoped
 * administrator imports into and exports only their departments; authorising
 * imported members also needs the `authorisation` right. Imports and exports
 * are written to the action log. Registered as an encapsulated plugin so the
 * .xlsx body parser applies to these routes only.
 */
export function registerExcelRoutes(app: FastifyInstance, deps: ExcelRouteDeps): void {
  const { services } = deps;
  const { admin } = services;
  const reports = deps.reports ?? new ImportReports();
  // one import at a time: each holds a whole workbook in memory
  let importing: { adminId: number; phase: ImportPhase | 'reading'; done: number; total: number; startedAt: number } | null = null;

  void app.register(async (scope) => {
    scope.addContentTypeParser(XLSX_MIME, { parseAs: 'buffer', bodyLimit: MAX_IMPORT_BYTES }, (_req, body, done) => done(null, body));

    scope.get(`${P}/template`, { preHandler: requireAdmin(Right.Members) }, async (_req, reply) =>
      sendXlsx(reply, await buildTemplate(), 'huitong-member-template.xlsx', '成员导入模板.xlsx'));

    scope.post(`${P}/import`, { preHandler: requireAdmin(Right.Members), bodyLimit: MAX_IMPORT_BYTES }, async (req) => {
      const ctx = actionContext(req);
      if (!Buffer.isBuffer(req.body)) throw new GatewayError('GW_BAD_REQUEST', `send the .xlsx file as the request body with content-type ${XLSX_MIME}`);
      if (importing) throw new GatewayError('GW_CONFLICT', 'another import is running; try again when it has finished');
      const progress = { adminId: ctx.admin.id as number, phase: 'reading' as ImportPhase | 'reading', done: 0, total: 0, startedAt: Date.now() };
      importing = progress;
      try {
        const scopeDeptIds = await admin.scopeFilter(ctx.admin, Right.Members);
        const canAuthorise = await admin.authorise(ctx.admin, Right.Authorisation).then(() => true, (e: unknown) => {
          if (e instanceof GatewayError && e.code === 'GW_FORBIDDEN') return false;
          throw e;
        });
        const r = await importMembers(services, req.body, { scopeDeptIds, canAuthorise, onProgress: (p) => Object.assign(progress, p) });
        const target = { kind: 'import', id: null, label: `${req.body.length} bytes` };
        if (!r.ok) {
          const rep = reports.put(ctx.admin.id, r.errors);
          await admin.logAction(ctx.admin, 'member.import_refused', target, null, { errorCount: r.errors.length }, ctx.address);
          return { ok: false, errorCount: r.errors.length, errors: r.errors.slice(0, MAX_ERRORS_IN_ANSWER), reportId: rep.id, reportExpiresAt: rep.expiresAt };
        }
        const summary = { created: r.created, authorised: r.authorised, deptsCreated: r.deptsCreated };
        await admin.logAction(ctx.admin, 'member.import', target, null, summary, ctx.address);
        return { ok: true, ...summary };
      } finally {
        importing = null;
      }
    });

    // the import answers only when done; the console polls this meanwhile (the write itself is one synchronous transaction)
    scope.get(`${P}/import/progress`, { preHandler: requireAdmin(Right.Members) }, async (req) => {
      const ctx = actionContext(req);
      if (!importing) return { running: false };
      if (importing.adminId !== ctx.admin.id) return { running: true, mine: false };
      const { phase, done, total, startedAt } = importing;
      return { running: true, mine: true, phase, done, total, startedAt };
    });

    scope.get(`${P}/import/:reportId/report`, { preHandler: requireAdmin(Right.Members) }, async (req, reply) => {
      const ctx = actionContext(req);
      const id = (req.params as { reportId: string }).reportId;
      const errors = /^[A-Za-z0-9_-]{1,32}$/.test(id) ? reports.get(ctx.admin.id, id) : null;
      if (!errors) throw new GatewayError('GW_NOT_FOUND', 'this error report is unknown or has expired (reports are kept for 10 minutes); import the file again to get a new one');
      return sendXlsx(reply, await errorReport(errors), 'huitong-import-errors.xlsx', '导入错误报告.xlsx');
    });

    scope.get(`${P}/export`, { preHandler: requireAdmin(Right.Members) }, async (req, reply) => {
      const ctx = actionContext(req);
      const scopeDeptIds = await admin.scopeFilter(ctx.admin, Right.Members);
      const buf = await exportOrg(services, { scopeDeptIds });
      await admin.logAction(ctx.admin, 'org.export', { kind: 'export', id: null, label: scopeDeptIds === null ? 'whole organisation' : `${scopeDeptIds.size} departments` }, null, { bytes: buf.length }, ctx.address);
      return sendXlsx(reply, buf, `huitong-org-${day()}.xlsx`, `组织架构-${day()}.xlsx`);
    });
  });
}
