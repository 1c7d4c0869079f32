import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Logger } from '../../log.js';

/**
 * The one error handler of an HTTP listener: known errors answer with their
 * code and a safe message; anything else answers GW_INTERNAL with a request id
 * and only the log gets the details.
 */
export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof GatewayError) {
      return reply.status(err.httpStatus).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    const fe = err as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = fe.statusCode === 413 ? 'GW_FILE_TOO_LARGE' : fe.statusCode === 429 ? 'GW_RATE_LIMITED' : fe.statusCode === 404 ? 'GW_NOT_FOUND' : 'GW_BAD_REQUEST';
      return reply.status(fe.statusCode).send({ error: { code, message: fe.message } });
    }
    const requestId = `${req.id}-${randomBytes(3).toString('hex')}`;
    log.error({ err, requestId, url: req.url.split('?')[0] }, 'request failed');
    return reply.status(500).send({ error: { code: 'GW_INTERNAL', message: `internal error (request ${requestId})` } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'GW_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));
}
