import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { MAX_IMPORT_BYTES } from '../excel/import.js';
import { XLSX_MIME } from '../excel/routes.js';
import type { Services } from '../services.js';
import { XlsxFiles, type XlsxFileView } from '../sync/xlsx-files.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';
import { query } from './routes-org.js';

export type { XlsxFileInfo, XlsxFileView, FileCheckView } from '../sync/xlsx-files.js';

/** Body types a spreadsheet upload may have (browsers send the .xlsx type; tools often send octet-stream). */
export const SYNC_FILE_TYPES = [XLSX_MIME, 'application/octet-stream'];

/**
 * The spreadsheet of an `xlsx` sync source (docs/admin-api-sync.md "Spreadsheet
 * file"), under the `settings` right: what the source would read now, and the
 * upload that replaces it. The upload is the workbook as the request body
 * (as the Excel import and the backup upload take theirs) with its file name
 * in `?name=`; it is checked in full before anything is written, and
 * registered in an encapsulated scope so the .xlsx body parser applies to
 * this route only.
 */
export function registerSyncFileRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const P = `${ADMIN_PREFIX}/sync/sources/:id/file`;
  const { sync, admin } = deps.services;
  const files = new XlsxFiles(sync);
  const settings = requireAdmin(Right.Settings);

  app.get(P, { preHandler: settings }, async (req): Promise<XlsxFileView> => {
    query(req.query, []);
    return files.view((req.params as { id: string }).id);
  });

  void app.register(async (scope) => {
    scope.addContentTypeParser(SYNC_FILE_TYPES, { parseAs: 'buffer', bodyLimit: MAX_IMPORT_BYTES }, (_req, b, done) => done(null, b));

    scope.put(P, { preHandler: settings, bodyLimit: MAX_IMPORT_BYTES }, async (req, reply) => {
      const ctx = actionContext(req);
      const id = (req.params as { id: string }).id;
      const q = query(req.query, ['name']);
      if (!Buffer.isBuffer(req.body)) throw new GatewayError('GW_BAD_REQUEST', `send the .xlsx workbook as the request body, with content-type ${SYNC_FILE_TYPES.join(' or ')}`);
      const r = await files.upload(id, q.name, req.body, ctx.admin.username);
      await admin.logAction(ctx.admin, 'sync.source.file_upload', { kind: 'sync-source', id, label: r.name }, null, { name: r.name, bytes: req.body.length, sha256: r.sha256, rows: r.rows }, ctx.address);
      return reply.status(201).send(r.view);
    });
  });
}
