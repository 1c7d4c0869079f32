import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MEDIA_TYPES, type MediaType } from '../apps/media.js';
import { AppSendError, sendAppMessage, toStoredMessage, normaliseMsgType, type AppSendDeps, type AppTarget } from '../apps/send.js';
import type { OpenApp } from '../apps/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { AppSendableKind, BodyByKind, DeptId, UserId } from '../protocol/client-v1.js';
import type { AppMediaView, AppSendPreviewView, AppSendResultView } from './api-types-apps-send.js';
import type { Services } from '../services.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { Right } from './rights.js';

export type * from './api-types-apps-send.js';
import { checkFields, checkQuery } from './routes-groups.js';

const CONSOLE_MSG_TYPES = ['text', 'mpnews', 'image', 'file', 'link', 'exlink'];
const MAX_SEND_BODY_BYTES = 256 * 1024;
const MEDIA_BODY_TYPES = ['application/octet-stream', 'image/png', 'image/jpeg', 'image/gif'];
const MAX_CONSOLE_IDS = 10_000;

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);

function idList(v: unknown, what: string, allowZero: boolean): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_CONSOLE_IDS || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= (allowZero ? 0 : 1))) {
    throw bad(`${what} must be at most ${MAX_CONSOLE_IDS} ids`);
  }
  return [...new Set(v as number[])];
}

/**
 * Sending from the console (F-4.5; docs/admin-api.md "Apps: sending"): an
 * administrator with the `apps` right sends text, mpnews, image, file, link
 * or exlink as an app to people, departments or everyone, through the same
 * sendAppMessage as the open API's msg/send (the app's visibility applies; its
 * open-API rights do not). An administrator scoped to departments reaches
 * only people and departments inside the scope, never everyone. Files are
 * uploaded first (…/media) and named by their mediaId. Each send is in the
 * action log.
 */
export function registerAppSendRoutes(app: FastifyInstance, deps: { services: Services }): void {
  const s = deps.services;
  const P = `${ADMIN_PREFIX}/apps`;
  const guard = requireAdmin(Right.Apps);
  const sendDeps: AppSendDeps = { messaging: s.messaging, apps: s.apps, recipients: s.appRecipients, media: s.appMedia };

  const mustApp = (req: FastifyRequest): OpenApp => {
    const raw = (req.params as { id?: string }).id;
    const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    const a = Number.isSafeInteger(id) ? s.apps.get(id) : null;
    if (!a || a.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${String(raw).slice(0, 20)} does not exist`);
    if (!a.enabled) throw new GatewayError('GW_CONFLICT', 'the app is disabled; enable it to send');
    return a;
  };

  const parse = (body: unknown): { target: AppTarget; msgType: string; messageBody: unknown } => {
    const b = checkFields(body, ['target', 'message']);
    const tg = checkFields(b.target ?? {}, ['userIds', 'deptIds', 'all']);
    const m = checkFields(b.message, ['msgType', 'body']);
    const msgType = normaliseMsgType(m.msgType);
    if (!msgType || !CONSOLE_MSG_TYPES.includes(msgType)) throw bad(`msgType must be one of ${CONSOLE_MSG_TYPES.join(', ')}`);
    const target: AppTarget = {};
    const userIds = idList(tg.userIds, 'target.userIds', false);
    const deptIds = idList(tg.deptIds, 'target.deptIds', true);
    if (userIds.length) target.userIds = userIds as UserId[];
    if (deptIds.length) target.depts = deptIds;
    if (tg.all !== undefined && typeof tg.all !== 'boolean') throw bad('target.all must be true or false');
    if (tg.all === true) target.all = { onlyOnline: false };
    return { target, msgType, messageBody: m.body };
  };

  const checkScope = async (req: FastifyRequest, target: AppTarget) => {
    const scope = await s.admin.scopeFilter(actionContext(req).admin, Right.Apps);
    if (scope === null) return;
    if (target.all || target.depts?.includes(0)) throw new GatewayError('GW_FORBIDDEN', 'only an administrator of the whole organisation may send to everyone');
    const outside = (target.depts ?? []).filter((d) => !scope.has(d as DeptId));
    if (outside.length) throw new GatewayError('GW_FORBIDDEN', `departments outside your scope: ${outside.slice(0, 10).join(', ')}`);
    if (target.userIds?.length) {
      const users = await s.directory.getUsers([...target.userIds]);
      const out = users.filter((u) => !u.depts.some((d) => scope.has(d.deptId)));
      if (out.length) throw new GatewayError('GW_FORBIDDEN', `people outside your scope: ${out.slice(0, 10).map((u) => u.account).join(', ')}`);
    }
  };

  const appView = (a: OpenApp) => ({ id: a.key, name: a.name });

  app.post(`${P}/:id/send/preview`, { preHandler: guard, bodyLimit: MAX_SEND_BODY_BYTES }, async (req): Promise<AppSendPreviewView> => {
    const a = mustApp(req);
    const { msgType, messageBody } = parse({ target: {}, ...(req.body as object) });
    try {
      const stored = toStoredMessage(s.appMedia, a, msgType, messageBody);
      return { kind: stored.kind, body: JSON.parse(JSON.stringify(stored.body)) as BodyByKind[AppSendableKind], app: appView(a) };
    } catch (e) {
      if (e instanceof AppSendError) throw new GatewayError(e.code, e.message);
      throw e;
    }
  });

  app.post(`${P}/:id/send`, { preHandler: guard, bodyLimit: MAX_SEND_BODY_BYTES }, async (req): Promise<AppSendResultView> => {
    const a = mustApp(req);
    const { target, msgType, messageBody } = parse(req.body);
    if (Object.keys(target).length === 0) throw bad('choose people, departments or everyone');
    await checkScope(req, target);
    let r;
    try {
      r = await sendAppMessage(sendDeps, a, target, { msgType, body: messageBody }, { origin: 'console', checkRights: false });
    } catch (e) {
      if (e instanceof AppSendError) throw new GatewayError(e.code, e.message);
      throw e;
    }
    const ctx = actionContext(req);
    await s.admin.logAction(ctx.admin, 'app.send', { kind: 'app', id: a.rowId, label: a.name }, null,
      { msgType, messageId: r.messageId, delivered: r.delivered, target: { userIds: target.userIds?.length ?? 0, deptIds: target.depts ?? [], all: !!target.all } }, ctx.address);
    return { kind: r.kind, body: r.body, app: appView(a), messageId: r.messageId, delivered: r.delivered, invalidUsers: r.invalidUsers, invalidDepts: r.invalidDepts, outside: r.outside };
  });

  // a picture or file for the message: the request body is the bytes; ?name=&type=image|file
  void app.register(async (scope) => {
    scope.addContentTypeParser(MEDIA_BODY_TYPES, { parseAs: 'buffer', bodyLimit: s.appMedia.limitBytes() }, (_req, body, done) => done(null, body));
    scope.post(`${P}/:id/media`, { preHandler: guard, bodyLimit: Math.max(s.appMedia.limitBytes(), 1) }, async (req): Promise<AppMediaView> => {
      const a = mustApp(req);
      const q = checkQuery(req.query, ['name', 'type']);
      const type = q.type ?? 'file';
      if (!(MEDIA_TYPES as readonly string[]).includes(type)) throw bad(`type must be one of ${MEDIA_TYPES.join(', ')}`);
      const name = (q.name ?? '').trim();
      if (!name || name.length > 255) throw bad('name must be 1–255 characters');
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw bad(`send the file as the request body with content-type ${MEDIA_BODY_TYPES.join(', ')}`);
      const m = await s.appMedia.store(a, req.body, name, type as MediaType);
      return { mediaId: m.mediaId, name: m.name, size: m.size, type: m.type };
    });
  });
}
