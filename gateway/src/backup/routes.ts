import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { link, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actionContext, ADMIN_PREFIX, requireAdmin } from '../admin/http.js';
import { Right } from '../admin/rights.js';
import { body, query } from '../admin/routes-org.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import { CHECKSUM_EXT } from './format.js';
import { checkArchiveName, type BackupArchiveView, type BackupJobs, type BackupJobView } from './jobs.js';

/** Largest archive the console may upload for verification. */
export const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
const UPLOAD_TYPES = ['application/x-tar', 'application/octet-stream'];
/** A backup holds the whole organisation: only whole-organisation roles may make or read one. */
const WHOLE_ORG = { deptIds: [null] };

/** GET /api/admin/backup/files */
export interface BackupArchivesView {
  archives: BackupArchiveView[];
}

/**
 * The console's backup API (docs/admin-api-backup.md), right `settings` over
 * the whole organisation: start an export job, follow it, list, download,
 * upload, verify and delete archives in dataDir/backups. Importing replaces
 * the database under the running server, so it is done with the server
 * stopped (`huitong backup import`); the API says so.
 */
export function registerBackupRoutes(app: FastifyInstance, deps: { services: Services; backups: BackupJobs }): void {
  const P = `${ADMIN_PREFIX}/backup`;
  const { admin } = deps.services;
  const { backups } = deps;
  const guard = { preHandler: requireAdmin(Right.Settings) };
  const wholeOrg = async (req: FastifyRequest) => {
    const ctx = actionContext(req);
    await admin.authorise(ctx.admin, Right.Settings, WHOLE_ORG);
    return ctx;
  };
  const nameParam = (req: FastifyRequest) => checkArchiveName((req.params as { name: string }).name);

  app.post(`${P}/export`, { ...guard, bodyLimit: 1024 }, async (req, reply): Promise<BackupJobView> => {
    body(req.body ?? {}, []);
    const ctx = await wholeOrg(req);
    const job = backups.startExport(ctx.admin.username);
    await admin.logAction(ctx.admin, 'backup.export', { kind: 'backup', id: job.id, label: job.name }, null, null, ctx.address);
    return reply.status(202).send(job);
  });

  app.get(`${P}/jobs`, guard, async (req): Promise<{ jobs: BackupJobView[] }> => {
    query(req.query, []);
    await wholeOrg(req);
    return { jobs: backups.list() };
  });

  app.get(`${P}/jobs/:id`, guard, async (req): Promise<BackupJobView> => {
    await wholeOrg(req);
    const id = (req.params as { id: string }).id;
    if (!/^[a-f0-9]{16}$/.test(id)) throw new GatewayError('GW_NOT_FOUND', 'no such backup job');
    return backups.get(id);
  });

  app.get(`${P}/files`, guard, async (req): Promise<BackupArchivesView> => {
    query(req.query, []);
    await wholeOrg(req);
    return { archives: backups.archives() };
  });

  app.get(`${P}/files/:name`, guard, async (req, reply) => {
    const name = nameParam(req);
    const ctx = await wholeOrg(req);
    const file = backups.pathOf(name);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      throw new GatewayError('GW_NOT_FOUND', `no archive ${name} in the backups folder`);
    }
    const sha256 = await backups.checksum(name);
    await admin.logAction(ctx.admin, 'backup.download', { kind: 'backup', id: null, label: name }, null, null, ctx.address);
    if (sha256) reply.header('x-huitong-sha256', sha256);
    return reply
      .header('content-type', 'application/x-tar')
      .header('content-length', String(size))
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(createReadStream(file));
  });

  app.delete(`${P}/files/:name`, guard, async (req, reply) => {
    const name = nameParam(req);
    const ctx = await wholeOrg(req);
    const file = backups.pathOf(name);
    if (!existsSync(file)) throw new GatewayError('GW_NOT_FOUND', `no archive ${name} in the backups folder`);
    if (backups.list().some((j) => j.state === 'running' && j.name === name)) throw new GatewayError('GW_BACKUP_BUSY', `a job is using ${name}`);
    await rm(file, { force: true });
    await rm(file + CHECKSUM_EXT, { force: true });
    await admin.logAction(ctx.admin, 'backup.delete', { kind: 'backup', id: null, label: name }, null, null, ctx.address);
    return reply.status(204).send();
  });

  app.post(`${P}/files/:name/verify`, { ...guard, bodyLimit: 1024 }, async (req, reply): Promise<BackupJobView> => {
    body(req.body ?? {}, []);
    const name = nameParam(req);
    const ctx = await wholeOrg(req);
    return reply.status(202).send(backups.startVerify(name, ctx.admin.username));
  });

  app.post(`${P}/import`, guard, async () => {
    throw new GatewayError('GW_BACKUP_SERVER_RUNNING',
      'an import replaces the whole database, so it runs with the server stopped: download the archive (or copy it from dataDir/backups) to the appliance, stop the server, run "huitong backup import FILE", then start the server',
      { details: { command: 'huitong backup import FILE' } });
  });

  void app.register(async (scope) => {
    // the archive streams to disk; it is never held in memory
    scope.addContentTypeParser(UPLOAD_TYPES, (_req, payload, done) => done(null, payload));

    scope.put(`${P}/files/:name`, guard, async (req, reply) => {
      const name = nameParam(req);
      const ctx = await wholeOrg(req);
      const stream = req.body as Readable | undefined;
      if (!stream || typeof (stream as Readable).pipe !== 'function') {
        throw new GatewayError('GW_BAD_REQUEST', `send the archive as the request body, with content-type ${UPLOAD_TYPES.join(' or ')}`);
      }
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > MAX_UPLOAD_BYTES) throw new GatewayError('GW_FILE_TOO_LARGE', `an archive may have at most ${MAX_UPLOAD_BYTES} bytes`, { details: { limit: MAX_UPLOAD_BYTES } });
      mkdirSync(backups.dir, { recursive: true, mode: 0o700 });
      const file = backups.pathOf(name);
      if (existsSync(file)) throw new GatewayError('GW_CONFLICT', `an archive ${name} exists already; delete it first or choose another name`);
      const tmp = path.join(backups.dir, `.${name}.${randomBytes(6).toString('hex')}.upload`);
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          bytes += chunk.length;
          if (bytes > MAX_UPLOAD_BYTES) return cb(new GatewayError('GW_FILE_TOO_LARGE', `an archive may have at most ${MAX_UPLOAD_BYTES} bytes`));
          cb(null, chunk);
        },
      });
      try {
        await pipeline(stream, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
        // link, not rename: fails instead of replacing an archive that appeared meanwhile
        await link(tmp, file).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') throw new GatewayError('GW_CONFLICT', `an archive ${name} exists already`);
          throw e;
        });
      } finally {
        await rm(tmp, { force: true });
      }
      await admin.logAction(ctx.admin, 'backup.upload', { kind: 'backup', id: null, label: name }, null, { bytes }, ctx.address);
      return reply.status(201).send({ name, bytes });
    });
  });
}
