import { AppSendError, resolveRecipients } from '../../apps/send.js';
import type { OpenApp } from '../../apps/types.js';
import type { AppPopWindowSpec } from '../../protocol/client-v1.js';
import { field, object, ok, present, type Endpoint } from '../endpoint.js';
import { ERR, OpenApiError } from '../errors.js';
import { parseTarget, sendDeps, sendError } from './messages.js';

/** Longest tip, title or content kept from an app's notice or pop-up. */
const MAX_TEXT_CHARS = 2048;
const MAX_COUNT = 1_000_000;

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new OpenApiError(ERR.BAD_REQUEST, `${what} must be a string`);
  return v.slice(0, MAX_TEXT_CHARS);
}

/** An integer given as a number or a string of digits; `fallback` when absent. */
function int(v: unknown, what: string, fallback: number): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new OpenApiError(ERR.BAD_REQUEST, `${what} must be an integer`);
  return n;
}

/** A pop-up window's description (pop_wind, windowInfo), with the fields the spec names; unknown ones dropped. */
function windowSpec(v: unknown, what: string): AppPopWindowSpec | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new OpenApiError(ERR.BAD_REQUEST, `${what} must be an object`);
  const out: AppPopWindowSpec = {};
  for (const k of ['title', 'content', 'contentType', 'popSessionId'] as const) {
    const x = present(v, k);
    if (x !== undefined) out[k] = str(x, `${what}.${k}`);
  }
  for (const k of ['width', 'height', 'popMode', 'position', 'stayDuration'] as const) {
    const x = present(v, k);
    if (x !== undefined) out[k] = int(x, `${what}.${k}`, 0);
  }
  return out;
}

const appView = (app: OpenApp) => ({ id: app.key, name: app.name });

function recipients(deps: Parameters<Endpoint['handle']>[1], app: OpenApp, p: Record<string, unknown>) {
  try {
    return resolveRecipients(sendDeps(deps), app, parseTarget(p)).ids;
  } catch (e) {
    if (e instanceof AppSendError) throw sendError(e);
    throw e;
  }
}

/** set.ent.notice, popwindow and event/publish (docs/open-api.md "Notices and pop-ups"). */
export const NOTICE_ENDPOINTS: Endpoint[] = [
  {
    // the badge count (待办数) of the app for one person; count 0 clears it
    path: '/cgi/set.ent.notice',
    methods: ['POST'],
    auth: 'special',
    rights: ['notice'],
    handle: async (call, deps) => {
      const p = object(call.json());
      const account = present(p, 'account');
      if (account === undefined) throw new OpenApiError(ERR.BAD_REQUEST, 'account is missing');
      if (typeof account !== 'string') throw new OpenApiError(ERR.BAD_REQUEST, 'account must be a string');
      const count = int(present(p, 'count'), 'count', 0);
      if (count < 0 || count > MAX_COUNT) throw new OpenApiError(ERR.BAD_REQUEST, `count must be 0–${MAX_COUNT}`);
      const user = await deps.services.directory.getUserByAccount(account);
      if (!user) throw new OpenApiError(ERR.USER_NOT_EXIST, `user ${account.slice(0, 64)} does not exist`);
      if (deps.services.apps.outsideVisibility(call.app, [user.id]).length > 0) throw new OpenApiError(ERR.NO_PERMISSION, `${user.account} is outside the app's visibility`);
      const pop = windowSpec(field(p, 'pop_wind') ?? field(p, 'popWind'), 'pop_wind');
      deps.services.appNotices.setBadge(call.app, user.id, count, str(present(p, 'tip'), 'tip'), pop);
      return ok();
    },
  },
  {
    path: '/cgi/popwindow',
    methods: ['POST'],
    auth: 'special',
    rights: ['notice'],
    handle: async (call, deps) => {
      const p = object(call.json());
      const w = present(p, 'popWindow') ?? present(p, 'pop_window');
      if (!w || typeof w !== 'object' || Array.isArray(w)) throw new OpenApiError(ERR.BAD_REQUEST, 'popWindow is missing');
      const url = str(present(w, 'url'), 'popWindow.url');
      const tip = str(present(w, 'tip'), 'popWindow.tip');
      if (!url && !tip) throw new OpenApiError(ERR.BAD_REQUEST, 'popWindow.url and popWindow.tip are both empty');
      if (url && !/^https?:\/\//i.test(url)) throw new OpenApiError(ERR.BAD_REQUEST, 'popWindow.url must be an http or https URL');
      const ids = recipients(deps, call.app, p);
      const duration = int(present(w, 'duration'), 'popWindow.duration', 0);
      deps.services.appNotices.popWindow(ids, {
        app: appView(call.app), url, tip, title: str(present(w, 'title'), 'popWindow.title'),
        width: int(present(w, 'width'), 'popWindow.width', 0), height: int(present(w, 'height'), 'popWindow.height', 0),
        // 0 means the default of 5 s; -1 (any negative) stays until closed
        durationS: duration === 0 ? 5 : duration < 0 ? -1 : duration,
        position: int(present(w, 'position'), 'popWindow.position', 0), noticeId: str(present(w, 'notice_id') ?? present(w, 'noticeId'), 'popWindow.notice_id'),
        popMode: int(present(w, 'pop_mode') ?? present(w, 'popMode'), 'popWindow.pop_mode', 1),
      });
      return ok();
    },
  },
  {
    path: '/cgi/event/publish',
    methods: ['POST'],
    auth: 'token',
    rights: ['notice'],
    handle: async (call, deps) => {
      const p = object(call.json());
      const w = present(p, 'popWindow');
      if (!w || typeof w !== 'object' || Array.isArray(w)) throw new OpenApiError(ERR.BAD_REQUEST, 'popWindow is missing');
      const action = int(present(w, 'action'), 'popWindow.action', 1);
      if (action !== 1 && action !== 2) throw new OpenApiError(ERR.BAD_REQUEST, 'popWindow.action is 1 (start) or 2 (cancel)');
      const ids = recipients(deps, call.app, p);
      deps.services.appNotices.event(ids, {
        app: appView(call.app), eventId: str(present(p, 'eventId'), 'eventId'), eventType: str(present(p, 'eventType'), 'eventType') || 'popWindow',
        popWindow: {
          tips: str(present(w, 'tips'), 'popWindow.tips'), action, timestamp: int(present(w, 'timestamp'), 'popWindow.timestamp', Date.now()),
          windowType: str(present(w, 'windowType'), 'popWindow.windowType') || 'text', windowInfo: windowSpec(present(w, 'windowInfo'), 'popWindow.windowInfo') ?? {},
        },
      });
      return ok();
    },
  },
];
