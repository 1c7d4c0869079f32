import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { ErrorCode } from '../errors/registry.js';
import type { LoginView, MeView, SessionView } from './api-types.js';
import { ADMIN_COOKIE, readCookie, serializeCookie } from './cookies.js';
import type { AdminPrincipal } from './rbac.js';
import type { Right } from './rights.js';
import type { ActionContext, AdminService, AdminSession, LoginResult } from './service.js';
import { checkObject } from './validate.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by registerAdminAuthRoutes; requireAdmin reads it. */
    adminAuth: AdminHttpDeps;
  }
  interface FastifyRequest {
    /** The administrator, once requireAdmin has run; null otherwise. */
    admin: AdminPrincipal | null;
    adminSession: AdminSession | null;
  }
}

export interface AdminHttpDeps {
  admin: AdminService;
  /** Mark the cookie Secure even on plain HTTP (TLS ends at a proxy in front). By default only requests over TLS get it. */
  secureCookie?: boolean;
}

export const ADMIN_PREFIX = '/api/admin';
export const CSRF_HEADER = 'x-csrf-token';
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Login and setup bodies are small; anything bigger is refused before parsing. */
const SMALL_BODY_BYTES = 16 * 1024;

/**
 * GW_CSRF once errors/registry.ts lists it; until then GW_FORBIDDEN, which has the same HTTP status (403).
 * Resolved once, so it is one or the other for the life of the process.
 */
export const CSRF_CODE: ErrorCode = 'GW_CSRF';

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** The route pattern when a route matched (so %-encoded paths cannot dodge a check), else the raw path. */
function routePath(req: FastifyRequest): string {
  return req.routeOptions.url ?? req.url.split('?')[0] ?? '';
}

function isAdminPath(p: string): boolean {
  return p === ADMIN_PREFIX || p.startsWith(`${ADMIN_PREFIX}/`);
}

const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;

/**
 * A browser names the page that sent a request in Origin (or at least
 * Referer); when it does, it must be this server: same host name as the Host
 * header, and the same port (a Host without a port matches the scheme's
 * default port). Requests with neither header come from non-browser clients,
 * which cannot ride on a victim's cookie.
 */
function sameOrigin(req: FastifyRequest): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (source === undefined) return true;
  const host = HOST_RE.exec(req.headers.host ?? '');
  if (!host || source === 'null') return false;
  let o: URL;
  try {
    o = new URL(source);
  } catch {
    return false;
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
  if (o.hostname.toLowerCase() !== (host[1] as string).toLowerCase()) return false;
  const hostPort = host[2];
  return hostPort === undefined ? o.port === '' : (o.port || (o.protocol === 'https:' ? '443' : '80')) === String(Number(hostPort));
}

function csrfMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function csrfError(message: string): GatewayError {
  return new GatewayError(CSRF_CODE, message);
}

/**
 * A preHandler for admin routes: a valid session cookie (else 401
 * GW_TOKEN_INVALID); for POST/PUT/PATCH/DELETE the `x-csrf-token` header of
 * that session (else 403 GW_CSRF); with `right`, that right somewhere in the
 * administrator's roles (else 403 GW_FORBIDDEN; scope checks on a target are
 * the route's job, through AdminService.authorise). Sets `req.admin`.
 */
export function requireAdmin(right?: Right): preHandlerAsyncHookHandler {
  return async function requireAdminHook(req) {
    const deps = req.server.adminAuth;
    if (!deps) throw new Error('requireAdmin used on an instance without registerAdminAuthRoutes');
    const session = await deps.admin.authenticate(readCookie(req.headers.cookie, ADMIN_COOKIE));
    if (STATE_CHANGING.has(req.method) && !csrfMatches(req.headers[CSRF_HEADER], session.csrfToken)) {
      throw csrfError(`this request needs the ${CSRF_HEADER} header of your session; reload the console`);
    }
    if (right !== undefined) await deps.admin.authorise(session.admin, right);
    req.admin = session.admin;
    req.adminSession = session;
  };
}

/** Who is acting, for AdminService calls; only after requireAdmin. */
export function actionContext(req: FastifyRequest): ActionContext {
  if (!req.admin) throw new Error('actionContext before requireAdmin');
  return { admin: req.admin, address: req.ip };
}

/**
 * The console's authentication API under /api/admin: first-run setup, login,
 * logout, the current administrator. Also, for every /api/admin route
 * (including those registered later by other modules): security headers, an
 * Origin/Referer check on state-changing requests, Retry-After on rate limits.
 * Call on the root instance, before the other admin routes.
 */
export function registerAdminAuthRoutes(app: FastifyInstance, deps: AdminHttpDeps): void {
  const { admin } = deps;
  app.decorate('adminAuth', deps);
  app.decorateRequest('admin', null);
  app.decorateRequest('adminSession', null);

  app.addHook('onRequest', async (req) => {
    if (!STATE_CHANGING.has(req.method) || !isAdminPath(routePath(req))) return;
    if (!sameOrigin(req)) throw csrfError('cross-site request refused: the Origin or Referer is not this server');
  });
  app.addHook('onError', async (req, reply, err) => {
    if (err instanceof GatewayError && err.retryAfterMs !== undefined && isAdminPath(routePath(req))) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (isAdminPath(routePath(req))) reply.headers(SECURITY_HEADERS);
    return payload;
  });

  const setSessionCookie = (req: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds?: number) => {
    reply.header('set-cookie', serializeCookie(ADMIN_COOKIE, value, {
      path: ADMIN_PREFIX, httpOnly: true, sameSite: 'Strict', secure: deps.secureCookie === true || req.protocol === 'https',
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
    }));
  };

  const loggedIn = async (req: FastifyRequest, reply: FastifyReply, r: LoginResult): Promise<LoginView> => {
    setSessionCookie(req, reply, r.token);
    return { ...(await admin.me(r.admin)), csrfToken: r.csrfToken, expiresAt: r.expiresAt, idleTimeoutSeconds: Math.round(r.idleTimeoutMs / 1000) };
  };

  const userAgent = (req: FastifyRequest) => (typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : null);

  app.get(`${ADMIN_PREFIX}/setup`, async (req) => {
    const needsSetup = await admin.needsSetup();
    return needsSetup && (await admin.setupCodeRequired(req.ip)) ? { needsSetup, setupCodeRequired: true } : { needsSetup };
  });

  app.post(`${ADMIN_PREFIX}/setup/admin`, { bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkObject(req.body);
    await admin.createFirstAdmin(b.username, b.password, b.displayName, req.ip, b.setupCode);
    const result = await loggedIn(req, reply, await admin.login(b.username, b.password, req.ip, userAgent(req)));
    return reply.status(201).send(result);
  });

  app.post(`${ADMIN_PREFIX}/login`, { bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkObject(req.body);
    return loggedIn(req, reply, await admin.login(b.username, b.password, req.ip, userAgent(req)));
  });

  app.post(`${ADMIN_PREFIX}/logout`, { bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const token = readCookie(req.headers.cookie, ADMIN_COOKIE);
    let session: AdminSession | null = null;
    try {
      session = await admin.authenticate(token);
    } catch (e) {
      if (!(e instanceof GatewayError && e.code === 'GW_TOKEN_INVALID')) throw e;
    }
    // a live session ends only with its CSRF token, so another site cannot log the administrator out
    if (session && !csrfMatches(req.headers[CSRF_HEADER], session.csrfToken)) throw csrfError(`logging out needs the ${CSRF_HEADER} header of your session`);
    if (session) await admin.logout(token, req.ip);
    setSessionCookie(req, reply, '', 0);
    return reply.status(204).send();
  });

  app.get(`${ADMIN_PREFIX}/me`, { preHandler: requireAdmin() }, async (req): Promise<MeView & SessionView> => {
    const s = req.adminSession as AdminSession;
    return { ...(await admin.me(s.admin)), csrfToken: s.csrfToken, expiresAt: s.expiresAt };
  });

  app.post(`${ADMIN_PREFIX}/me/password`, { preHandler: requireAdmin(), bodyLimit: SMALL_BODY_BYTES }, async (req, reply) => {
    const b = checkObject(req.body);
    await admin.changeOwnPassword(actionContext(req), req.adminSession as AdminSession, b.currentPassword, b.newPassword);
    return reply.status(204).send();
  });
}
