import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { AuthService } from '../../auth/service.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { FILE_ID_RE, type FileService, type TransferKind } from '../../files/service.js';
import type { MessagingService } from '../../messaging/service.js';

function bearer(req: FastifyRequest): string {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.startsWith('Bearer ')) return h.slice(7).trim();
  throw new GatewayError('GW_TOKEN_INVALID', 'send the login token as Authorization: Bearer <token>');
}

/** A filename safe for Content-Disposition (RFC 6266 / 5987). */
function disposition(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f"\\/]/g, '_').slice(0, 200) || 'file';
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(clean)}`;
}

/**
 * Files over HTTPS with the login token: POST /files?kind=offline|p2p streams
 * the body into content-addressed storage; GET /files/:id streams it back to
 * members of a conversation that carries it (or its uploader).
 */
export function registerFileRoutes(root: FastifyInstance, deps: { auth: AuthService; files: FileService; messaging: MessagingService }): void {
  // in its own scope: the console's JSON API shares this listener
  root.register(async (app) => fileRoutes(app, deps));
}

function fileRoutes(app: FastifyInstance, deps: { auth: AuthService; files: FileService; messaging: MessagingService }): void {
  // every upload is raw bytes, whatever Content-Type the client sends
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.post('/files', async (req, reply) => {
    const { user } = await deps.auth.authenticateToken(bearer(req));
    const q = req.query as { kind?: string };
    const kind: TransferKind = q.kind === 'p2p' ? 'p2p' : 'offline';
    if (q.kind !== undefined && q.kind !== 'p2p' && q.kind !== 'offline') throw new GatewayError('GW_BAD_REQUEST', 'kind must be offline or p2p');
    const len = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : null;
    if (len !== null && (!Number.isSafeInteger(len) || len < 0)) throw new GatewayError('GW_BAD_REQUEST', 'bad Content-Length');
    const body = req.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') throw new GatewayError('GW_BAD_REQUEST', 'send the file as the request body');
    try {
      const stored = await deps.files.store(user.id, body, len, kind);
      return reply.status(201).send(stored);
    } catch (e) {
      // the rest of an over-limit body is not worth reading: answer and close
      if (e instanceof GatewayError && e.code === 'GW_FILE_TOO_LARGE') reply.header('connection', 'close');
      throw e;
    }
  });
  app.get('/files/:id', async (req, reply) => {
    const { user } = await deps.auth.authenticateToken(bearer(req));
    const id = (req.params as { id: string }).id;
    if (!FILE_ID_RE.test(id)) throw new GatewayError('GW_NOT_FOUND', 'no such file');
    if (!(await deps.messaging.canReadFile(user.id, id))) throw new GatewayError('GW_NOT_FOUND', 'no such file');
    const { stream, size } = await deps.files.open(id);
    const name = (req.query as { name?: string }).name ?? id;
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', size)
      .header('content-disposition', disposition(String(name)))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(stream);
  });
}
