import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenApp } from '../apps/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { CryptoError, type AppCipher } from './crypto.js';
import { DEFAULT_BODY_LIMIT_BYTES, field, type AppCall, type AppEndpoint, type Endpoint, type OpenApiCall, type OpenApiDeps, type OpenApiResult } from './endpoint.js';
import { ERR, OpenApiError } from './errors.js';

/** Parses a query string percent-decoding only: `+` stays `+` and `=` inside a value is kept (wire spec §8.7). */
export function parseQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = decode(i < 0 ? part : part.slice(0, i));
    const v = i < 0 ? '' : decode(part.slice(i + 1));
    if (!(k in out)) out[k] = v;
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const NOT_MULTIPLE = Symbol('not an object');

/** Parses JSON; NOT_MULTIPLE when it is not JSON. */
function parseJson(b: Buffer | string): unknown {
  try {
    return JSON.parse(typeof b === 'string' ? b : b.toString('utf8'));
  } catch {
    return NOT_MULTIPLE;
  }
}

/**
 * The `/cgi/` API on the HTTP listener (docs/open-api.md): one route that
 * parses every body by content (whatever the Content-Type, or none), matches
 * paths case-insensitively with their aliases, authenticates the app (token,
 * normal envelope or special envelope), checks its rights, and answers the
 * compatible `{errcode, errmsg[, encrypt]}` with HTTP 200 — also for business
 * errors, which is what every client library expects.
 */
export function registerOpenApi(app: FastifyInstance, deps: OpenApiDeps, endpoints: readonly Endpoint[]): void {
  const table = new Map<string, Endpoint>();
  for (const e of endpoints) {
    for (const p of [e.path, ...(e.aliases ?? [])]) {
      const key = p.toLowerCase();
      if (table.has(key)) throw new Error(`open API path ${key} registered twice`);
      table.set(key, e);
    }
  }
  const maxLimit = Math.max(DEFAULT_BODY_LIMIT_BYTES, ...endpoints.map((e) => e.bodyLimitBytes ?? 0));
  const log = deps.log;

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxLimit }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err, req, reply) => {
      const fe = err as { statusCode?: number; code?: string };
      if (fe.statusCode === 413) return send(reply, ERR.BAD_REQUEST, 'the request body is too large');
      if (fe.statusCode && fe.statusCode < 500) return send(reply, ERR.BAD_REQUEST, 'invalid request');
      const requestId = `${req.id}-${randomBytes(3).toString('hex')}`;
      log.error({ err, requestId, path: req.url.split('?')[0] }, 'open API call failed');
      return send(reply, ERR.INTERNAL, `internal error (request ${requestId})`);
    });
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const url = req.raw.url ?? '';
      const qi = url.indexOf('?');
      const path = (qi < 0 ? url : url.slice(0, qi)).toLowerCase().replace(/\/+$/, '');
      const endpoint = table.get(path);
      if (!endpoint) return reply.status(404).send({ errcode: ERR.BAD_REQUEST, errmsg: `no such API: ${path}` });
      const method = req.method === 'GET' || req.method === 'HEAD' ? 'GET' : 'POST';
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (body.length > (endpoint.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES)) return send(reply, ERR.BAD_REQUEST, 'the request body is too large');
      const query = parseQuery(qi < 0 ? '' : url.slice(qi + 1));
      const base: OpenApiCall = {
        method, path, query, body, address: req.ip,
        headers: req.headers as Record<string, string | string[] | undefined>,
        q: (name) => {
          const v = field(query, name) as string | undefined;
          return v === '' ? undefined : v;
        },
      };
      try {
        if (!endpoint.methods.includes(method)) throw new OpenApiError(ERR.BAD_REQUEST, `${endpoint.path} takes ${endpoint.methods.join(' or ')}`);
        if (endpoint.auth === 'none') return answer(reply, await endpoint.handle(base, deps), null);
        const { result, cipher } = await callApp(endpoint, base, deps);
        return answer(reply, result, cipher);
      } catch (e) {
        if (e instanceof OpenApiError) return send(reply, e.errcode, e.errmsg);
        if (e instanceof GatewayError) {
          const mapped = mapGatewayError(e);
          return send(reply, mapped.errcode, mapped.errmsg);
        }
        throw e;
      }
    };
    const callApp = async (endpoint: AppEndpoint, base: OpenApiCall, d: OpenApiDeps): Promise<{ result: OpenApiResult; cipher: AppCipher }> => {
      const { app, cipher, plain } = authenticate(endpoint, base, d);
      if (endpoint.rights.length > 0 && !endpoint.rights.some((r) => app.rights.includes(r))) {
        throw new OpenApiError(ERR.BAD_APP_ID, `the app may not call ${endpoint.path}`);
      }
      const call: AppCall = {
        ...base, app, cipher, plain,
        json: () => {
          if (plain === null) throw new OpenApiError(ERR.BAD_REQUEST, 'the request carries no encrypted payload');
          const v = parseJson(plain);
          if (v === NOT_MULTIPLE) throw new OpenApiError(ERR.BAD_JSON, 'the decrypted payload is not JSON');
          return v;
        },
      };
      return { result: await endpoint.handle(call, d), cipher };
    };
    scope.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/cgi/*', handler });
    scope.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/CGI/*', handler });
  });
}

/** Finds and checks the calling app and decrypts its payload. */
function authenticate(endpoint: AppEndpoint, call: OpenApiCall, deps: OpenApiDeps): { app: OpenApp; cipher: AppCipher; plain: Buffer | null } {
  if (endpoint.auth === 'special') return special(call, deps);
  let tokenApp: OpenApp | null = null;
  if (endpoint.auth === 'token') {
    const token = call.q('accessToken');
    if (!token) throw new OpenApiError(ERR.MISSING_TOKEN, 'accessToken is missing');
    const c = deps.tokens.check(token);
    if (!c.ok) throw c.reason === 'expired' ? new OpenApiError(ERR.TOKEN_EXPIRED, 'the accessToken has expired') : new OpenApiError(ERR.TOKEN_NOT_FOUND, 'no such accessToken');
    const app = deps.apps.get(c.appRow);
    if (!app || !app.enabled || app.tokenGen !== c.tokenGen || !app.appId) throw new OpenApiError(ERR.TOKEN_NOT_FOUND, 'no such accessToken');
    tokenApp = app;
  }
  const wantsEnvelope = endpoint.auth === 'envelope' || (call.method === 'POST' && (endpoint.body ?? 'envelope') === 'envelope');
  if (!wantsEnvelope) {
    const app = tokenApp as OpenApp;
    return { app, cipher: mustCipher(app, deps), plain: null };
  }
  const env = parseJson(call.body);
  if (env === NOT_MULTIPLE) throw new OpenApiError(call.body.length === 0 ? ERR.MISSING_BUIN : ERR.BAD_JSON, call.body.length === 0 ? 'buin is missing' : 'the body is not JSON');
  if (!env || typeof env !== 'object' || Array.isArray(env)) throw new OpenApiError(ERR.BAD_REQUEST, 'the body must be a JSON object');
  const buin = field(env, 'buin');
  const appId = field(env, 'appId');
  const encrypt = field(env, 'encrypt');
  if (buin === undefined || buin === null || buin === '') throw new OpenApiError(ERR.MISSING_BUIN, 'buin is missing');
  if (typeof buin !== 'number' || !Number.isSafeInteger(buin)) throw new OpenApiError(ERR.BUIN_NOT_INT, 'buin must be an integer');
  if (appId === undefined || appId === null || appId === '') throw new OpenApiError(ERR.MISSING_APP_ID, 'appId is missing');
  if (typeof appId !== 'string') throw new OpenApiError(ERR.APP_ID_NOT_STRING, 'appId must be a string');
  if (encrypt === undefined || encrypt === null || encrypt === '') throw new OpenApiError(ERR.MISSING_ENCRYPT, 'encrypt is missing');
  if (typeof encrypt !== 'string') throw new OpenApiError(ERR.ENCRYPT_NOT_STRING, 'encrypt must be a string');
  const app = deps.apps.byAppId(buin, appId);
  if (!app) {
    const buinKnown = deps.apps.list().some((a) => a.buin === buin && a.appId);
    throw buinKnown ? new OpenApiError(ERR.BAD_APP_ID, `no app ${appId}`) : new OpenApiError(ERR.BAD_BUIN, `no enterprise ${buin}`);
  }
  if (!app.enabled) throw new OpenApiError(ERR.BAD_APP_ID, `the app ${appId} is disabled`);
  if (tokenApp && tokenApp.rowId !== app.rowId) throw new OpenApiError(ERR.BAD_APP_ID, 'the accessToken belongs to another app');
  const cipher = mustCipher(app, deps);
  return { app, cipher, plain: open(cipher, encrypt) };
}

/** `{app_id, msg_encrypt}` (any key case): the app is the one whose key decrypts it with its own appId. */
function special(call: OpenApiCall, deps: OpenApiDeps): { app: OpenApp; cipher: AppCipher; plain: Buffer } {
  const env = parseJson(call.body);
  if (env === NOT_MULTIPLE) throw new OpenApiError(ERR.BAD_JSON, 'the body is not JSON');
  const appId = field(env, 'app_id') ?? field(env, 'appId');
  const encrypt = field(env, 'msg_encrypt') ?? field(env, 'encrypt');
  if (appId === undefined || appId === null || appId === '') throw new OpenApiError(ERR.MISSING_APP_ID, 'app_id is missing');
  if (typeof appId !== 'string') throw new OpenApiError(ERR.APP_ID_NOT_STRING, 'app_id must be a string');
  if (encrypt === undefined || encrypt === null || encrypt === '') throw new OpenApiError(ERR.MISSING_ENCRYPT, 'msg_encrypt is missing');
  if (typeof encrypt !== 'string') throw new OpenApiError(ERR.ENCRYPT_NOT_STRING, 'msg_encrypt must be a string');
  const candidates = deps.apps.byAppIdAnyBuin(appId).filter((a) => a.enabled);
  if (candidates.length === 0) throw new OpenApiError(ERR.BAD_APP_ID, `no app ${appId}`);
  let last: OpenApiError | null = null;
  for (const app of candidates) {
    try {
      const cipher = mustCipher(app, deps);
      return { app, cipher, plain: open(cipher, encrypt) };
    } catch (e) {
      if (!(e instanceof OpenApiError)) throw e;
      last = e;
    }
  }
  throw last as OpenApiError;
}

function mustCipher(app: OpenApp, deps: OpenApiDeps): AppCipher {
  const c = deps.apps.cipher(app);
  if (!c) throw new OpenApiError(ERR.BAD_APP_ID, 'the app has no open-API access');
  return c;
}

/** Decrypts, requiring the app's own appId at the end (docs/open-api.md "Crypto"). */
function open(cipher: AppCipher, encrypt: string): Buffer {
  let r: { msg: Buffer; appId: string };
  try {
    r = cipher.decrypt(encrypt);
  } catch (e) {
    if (e instanceof CryptoError) throw new OpenApiError(ERR.DECRYPT_FAILED, `encrypt could not be decrypted: ${e.message}`);
    throw e;
  }
  if (r.appId !== cipher.appId) throw new OpenApiError(ERR.DECRYPT_FAILED, 'encrypt was made for another appId or with another key');
  return r.msg;
}

function send(reply: FastifyReply, errcode: number, errmsg: string): FastifyReply {
  return reply.status(200).header('content-type', 'application/json; charset=utf-8').send({ errcode, errmsg });
}

function answer(reply: FastifyReply, r: OpenApiResult, cipher: AppCipher | null): FastifyReply {
  switch (r.kind) {
    case 'status':
      return send(reply, ERR.OK, r.errmsg ?? 'ok');
    case 'data': {
      if (!cipher) return reply.status(200).send({ errcode: ERR.OK, errmsg: r.errmsg ?? 'ok', ...(r.value as object) });
      return reply.status(200).header('content-type', 'application/json; charset=utf-8').send({ errcode: ERR.OK, errmsg: r.errmsg ?? 'ok', encrypt: cipher.encrypt(JSON.stringify(r.value)) });
    }
    case 'raw':
      for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
      return reply.status(200).send(r.body);
    case 'plain':
      return reply.status(200).header('content-type', 'application/json; charset=utf-8').send(r.value);
  }
}

/** Service refusals in the compatible errcodes; their messages are written to be shown. */
function mapGatewayError(e: GatewayError): { errcode: number; errmsg: string } {
  switch (e.code) {
    case 'GW_FORBIDDEN':
      return { errcode: ERR.NO_PERMISSION, errmsg: e.message };
    case 'GW_NOT_FOUND':
      return { errcode: ERR.FALSE, errmsg: e.message };
    case 'GW_BAD_REQUEST':
    case 'GW_CONFLICT':
      return { errcode: ERR.BAD_REQUEST, errmsg: e.message };
    default:
      return { errcode: ERR.INTERNAL, errmsg: e.message };
  }
}
