import { AppSendError, describeLeftOut, MAX_TO_DEPTS, MAX_TO_USERS, normaliseMsgType, sendAppMessage, type AppSendDeps, type AppTarget } from '../../apps/send.js';
import type { UserId } from '../../protocol/client-v1.js';
import { field, object, ok, present, type Endpoint, type OpenApiDeps } from '../endpoint.js';
import { ERR, OpenApiError } from '../errors.js';

/** A `|`- or `,`-separated list (some libraries join with commas), or a JSON array; '' and null are absent. */
function names(v: unknown, what: string): string[] {
  if (v === undefined || v === null || v === '') return [];
  const raw = Array.isArray(v) ? v : typeof v === 'string' || typeof v === 'number' ? String(v).split(/[|,]/) : null;
  if (!raw || !raw.every((x) => typeof x === 'string' || typeof x === 'number')) throw new OpenApiError(ERR.BAD_REQUEST, `${what} must be a "|"-separated string`);
  return [...new Set(raw.map((x) => String(x).trim()).filter((x) => x !== ''))];
}

function ids(v: unknown, what: string): number[] {
  return names(v, what).map((s) => {
    if (!/^\d{1,15}$/.test(s)) throw new OpenApiError(ERR.BAD_REQUEST, `${what} must list ids (integers): ${s.slice(0, 40)}`);
    return Number(s);
  });
}

/**
 * The recipients of msg/send, popwindow and event/publish (wire spec §4.1):
 * toUser (≤ 1000 accounts), toDept (≤ 100 ids, 0 = everyone), toGid (user
 * ids), toEmail (mail notices), and toAll — a broadcast only when nothing
 * else is named, since some libraries always send `"toAll":{"onliyOnline":false}`.
 * Nothing named: errcode 200007.
 */
export function parseTarget(p: Record<string, unknown>): AppTarget {
  const users = names(present(p, 'toUser'), 'toUser');
  if (users.length > MAX_TO_USERS) throw new OpenApiError(ERR.TO_USER_TOO_LONG, `toUser names ${users.length} people; at most ${MAX_TO_USERS}`);
  const depts = ids(present(p, 'toDept'), 'toDept');
  if (depts.length > MAX_TO_DEPTS) throw new OpenApiError(ERR.BAD_REQUEST, `toDept names ${depts.length} departments; at most ${MAX_TO_DEPTS}`);
  const gids = ids(present(p, 'toGid'), 'toGid');
  const emails = names(present(p, 'toEmail'), 'toEmail');
  const target: AppTarget = {};
  if (users.length) target.users = users;
  if (depts.length) target.depts = depts;
  if (gids.length) target.userIds = gids as UserId[];
  if (emails.length) target.emails = emails;
  const toAll = present(p, 'toAll');
  if (Object.keys(target).length === 0 && toAll !== undefined) {
    if (!toAll || typeof toAll !== 'object' || Array.isArray(toAll)) throw new OpenApiError(ERR.BAD_REQUEST, 'toAll must be an object');
    // the reference documentation spells it onliyOnline; other libraries onlyOnline
    const only = field(toAll, 'onlyOnline') ?? field(toAll, 'onliyOnline');
    target.all = { onlyOnline: only === true || only === 1 || only === 'true' };
  }
  if (Object.keys(target).length === 0) throw new OpenApiError(ERR.BAD_TO_USER, 'toUser and toDept are both empty');
  return target;
}

/** The ports sendAppMessage uses, from the open API's dependencies. */
export function sendDeps(deps: OpenApiDeps): AppSendDeps {
  const s = deps.services;
  return { messaging: s.messaging, apps: s.apps, recipients: s.appRecipients, media: s.appMedia, isOnline: (id) => deps.sessions.sessionsOf(id).size > 0 };
}

/** AppSendError → the open API's errcode. */
export function sendError(e: AppSendError): OpenApiError {
  switch (e.reason) {
    case 'no_recipients':
      return new OpenApiError(ERR.BAD_TO_USER, e.message);
    case 'outside_visibility':
      return new OpenApiError(ERR.NO_PERMISSION, e.message);
    case 'media_not_found':
      return new OpenApiError(ERR.MEDIA_NOT_FOUND, e.message);
    case 'kind_not_allowed':
      return new OpenApiError(ERR.BAD_APP_ID, e.message);
    case 'sms_unavailable':
      return new OpenApiError(ERR.INVALID_REQUEST, e.message);
    case 'bad_message':
      return new OpenApiError(ERR.BAD_REQUEST, e.message);
  }
}

/** POST /cgi/msg/send: an app's message to people, departments or everyone (docs/open-api.md "msg/send"). */
export const MESSAGE_ENDPOINTS: Endpoint[] = [
  {
    path: '/cgi/msg/send',
    methods: ['POST'],
    auth: 'token',
    rights: ['msg', 'sysmsg', 'mail', 'sms'],
    bodyLimitBytes: 1024 * 1024,
    handle: async (call, deps) => {
      const p = object(call.json());
      const rawType = present(p, 'msgType');
      if (rawType === undefined) throw new OpenApiError(ERR.BAD_REQUEST, 'msgType is missing');
      if (typeof rawType !== 'string' || !normaliseMsgType(rawType)) throw new OpenApiError(ERR.BAD_REQUEST, `unknown msgType ${String(rawType).slice(0, 40)}`);
      const target = parseTarget(p);
      const body = field(p, rawType);
      if (body === undefined || body === null) throw new OpenApiError(ERR.BAD_REQUEST, `the message has no "${rawType}" object`);
      try {
        const r = await sendAppMessage(sendDeps(deps), call.app, target, { msgType: rawType, body }, { origin: 'openapi', checkRights: true });
        return ok(describeLeftOut(r) || undefined);
      } catch (e) {
        if (e instanceof AppSendError) throw sendError(e);
        throw e;
      }
    },
  },
];
