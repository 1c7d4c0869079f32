import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import type { MessagingService } from '../messaging/service.js';
import type { AppSendableKind, BodyByKind, ImageBody, SysmsgItem, UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import type { AppMediaStore } from './media.js';
import type { AppService } from './service.js';
import type { AppRight, OpenApp } from './types.js';

/** Longest text content, in characters; longer content is cut (wire spec §4.1). */
export const APP_TEXT_MAX_CHARS = 600;
export const APP_TITLE_MAX_CHARS = 64;
export const APP_DIGEST_MAX_CHARS = 120;
/** Most articles (mpnews) and cards (exlink) in one message. */
export const APP_MAX_ITEMS = 5;
/** Most people named in one send (toUser). */
export const MAX_TO_USERS = 1000;
/** Most departments named in one send (toDept). */
export const MAX_TO_DEPTS = 100;
/** Most names listed in a result's errmsg; the rest are counted. */
const MAX_LISTED = 50;

/**
 * Who a message goes to. `users` are accounts (the open API), `userIds` ids
 * (the console), `depts` department ids with their subdepartments (0 =
 * everyone), `emails` addresses (mail notices); `all` is a broadcast to every
 * active, authorised user, optionally only those online.
 */
export interface AppTarget {
  users?: readonly string[];
  userIds?: readonly UserId[];
  depts?: readonly number[];
  emails?: readonly string[];
  all?: { onlyOnline: boolean };
}

/** A message in the open API's shape (wire spec §4.1): `msgType` and the object keyed by it. */
export interface SpecMessage {
  msgType: string;
  body: unknown;
}

export type AppSendFailure = 'no_recipients' | 'outside_visibility' | 'media_not_found' | 'bad_message' | 'kind_not_allowed' | 'sms_unavailable';

/** A refusal of sendAppMessage: a GatewayError whose `reason` lets each edge give its own code. */
export class AppSendError extends GatewayError {
  constructor(
    readonly reason: AppSendFailure,
    message: string,
  ) {
    super(reason === 'outside_visibility' || reason === 'kind_not_allowed' ? 'GW_FORBIDDEN' : reason === 'media_not_found' ? 'GW_NOT_FOUND' : 'GW_BAD_REQUEST', message);
  }
}

export interface AppSendResult {
  messageId: number;
  /** How many inboxes got the message. */
  delivered: number;
  /** Accounts and addresses that name nobody who can receive messages. */
  invalidUsers: string[];
  /** Department ids that do not exist. */
  invalidDepts: number[];
  /** Accounts left out because they are outside the app's visibility. */
  outside: string[];
  /** The stored kind and body (what the console previews). */
  kind: AppSendableKind;
  body: BodyByKind[AppSendableKind];
}

/** What sendAppMessage uses. */
export interface AppSendDeps {
  messaging: MessagingService;
  apps: AppService;
  recipients: AppRecipients;
  media: AppMediaStore;
  /** Whether the user has a connection now (for broadcasts to online users only). */
  isOnline?: (userId: UserId) => boolean;
}

export interface SendOptions {
  /** The entry point, stored with the message: 'openapi', 'console'. */
  origin: string;
  /** The console sends as the app whatever its rights; the open API checks them. */
  checkRights: boolean;
  cmid?: string;
}

/** Candidate recipients as storage knows them. */
export interface RecipientRow { id: UserId; account: string; active: boolean }

/**
 * Looks up the people a send names. Synchronous reads of the directory's
 * tables; a PostgreSQL backend implements the same queries.
 */
export class AppRecipients {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      byAccounts: db.prepare("SELECT id, account, status = 'active' AS active FROM users WHERE account IN (SELECT value FROM json_each(?))"),
      byIds: db.prepare("SELECT id, account, status = 'active' AS active FROM users WHERE id IN (SELECT value FROM json_each(?))"),
      byEmails: db.prepare("SELECT id, account, email, status = 'active' AS active FROM users WHERE email <> '' AND lower(email) IN (SELECT lower(value) FROM json_each(?))"),
      depts: db.prepare('SELECT id FROM departments WHERE id IN (SELECT value FROM json_each(?))'),
      deptMembers: db.prepare(
        `WITH RECURSIVE sub(id) AS (SELECT value FROM json_each(?) UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id)
         SELECT DISTINCT u.id, u.account, 1 AS active FROM user_departments ud JOIN sub ON ud.dept_id = sub.id JOIN users u ON u.id = ud.user_id
         WHERE u.status = 'active'`,
      ),
      everyone: db.prepare("SELECT id, account, 1 AS active FROM users WHERE status = 'active' AND authorised = 1"),
    };
  }

  private rows(stmt: { all(...a: unknown[]): unknown[] }, arg: unknown): RecipientRow[] {
    return (stmt.all(JSON.stringify(arg)) as { id: number; account: string; active: number }[]).map((r) => ({ id: r.id as UserId, account: r.account, active: r.active === 1 }));
  }

  byAccounts(accounts: readonly string[]): RecipientRow[] {
    return accounts.length ? this.rows(this.s.byAccounts, accounts) : [];
  }

  byIds(ids: readonly number[]): RecipientRow[] {
    return ids.length ? this.rows(this.s.byIds, ids) : [];
  }

  /** Users by e-mail address (case-insensitive), with the address that matched. */
  byEmails(emails: readonly string[]): (RecipientRow & { email: string })[] {
    if (!emails.length) return [];
    return (this.s.byEmails.all(JSON.stringify(emails)) as { id: number; account: string; email: string; active: number }[]).map((r) => ({ id: r.id as UserId, account: r.account, email: r.email, active: r.active === 1 }));
  }

  existingDepts(ids: readonly number[]): Set<number> {
    return new Set(ids.length ? (this.s.depts.pluck().all(JSON.stringify(ids)) as number[]) : []);
  }

  /** Active members of the departments and their subdepartments. */
  deptMembers(ids: readonly number[]): RecipientRow[] {
    return ids.length ? this.rows(this.s.deptMembers, ids) : [];
  }

  /** Every active, authorised user. */
  everyone(): RecipientRow[] {
    return (this.s.everyone.all() as { id: number; account: string }[]).map((r) => ({ id: r.id as UserId, account: r.account, active: true }));
  }
}

/** Cuts a string to `max` characters (code points, so no character is split). */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, max).join('');
}

const RIGHT_OF: Record<string, AppRight> = { text: 'msg', image: 'msg', file: 'msg', mpnews: 'msg', link: 'msg', exlink: 'msg', sysmsg: 'sysmsg', mail: 'mail', sms: 'sms' };

/** The msgType as the spec spells it, case-insensitively: text, image, file, mpnews, link, exlink, sysMsg, mail, sms. */
export function normaliseMsgType(t: unknown): string | null {
  if (typeof t !== 'string') return null;
  const k = t.toLowerCase();
  return k in RIGHT_OF ? k : null;
}

/** A field of a spec object, by case-insensitive name, with null and '' as absent. */
function f(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  let v = o[name];
  if (v === undefined) {
    const lower = name.toLowerCase();
    for (const k of Object.keys(o)) if (k.toLowerCase() === lower) v = o[k];
  }
  return v === null || v === '' ? undefined : v;
}

const bad = (m: string) => new AppSendError('bad_message', m);

function text(obj: unknown, name: string, max: number, required: boolean): string | undefined {
  const v = f(obj, name);
  if (v === undefined) {
    if (required) throw bad(`${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${name} must be a string`);
  return cut(v, max);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string, max: number): Record<string, unknown>[] {
  // a single object where a list is expected is taken as a list of one
  const arr = Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : null;
  if (!arr || arr.length === 0) throw bad(`${what} must be a list of 1–${max} items`);
  if (arr.length > max) throw bad(`${what} has ${arr.length} items; at most ${max}`);
  return arr.map((x, i) => obj(x, `${what}[${i}]`));
}

/** Converts a spec message into the stored kind and body; media ids become the app's stored files. */
export function toStoredMessage(media: AppMediaStore, app: OpenApp, msgType: string, body: unknown): { kind: AppSendableKind; body: unknown } {
  const mediaFile = (id: unknown, what: string): ImageBody => {
    if (typeof id !== 'string') throw bad(`${what} must be a media_id string`);
    const m = media.get(app, id);
    if (!m) throw new AppSendError('media_not_found', `media ${id.slice(0, 80)} does not exist (upload it with media/upload first)`);
    return { fileId: m.fileId, name: m.name, size: m.size };
  };
  switch (msgType) {
    case 'text':
      return { kind: 'text', body: { text: text(obj(body, 'text'), 'content', APP_TEXT_MAX_CHARS, true) } };
    case 'image':
    case 'file':
      return { kind: msgType, body: mediaFile(f(obj(body, msgType), 'media_id'), 'media_id') };
    case 'mpnews':
      return {
        kind: 'mpnews',
        body: {
          items: list(body, 'mpnews', APP_MAX_ITEMS).map((it) => {
            const mediaId = f(it, 'media_id');
            const sf = f(it, 'showFront');
            return {
              title: text(it, 'title', APP_TITLE_MAX_CHARS, true), content: text(it, 'content', APP_TEXT_MAX_CHARS, false) ?? '',
              digest: text(it, 'digest', APP_DIGEST_MAX_CHARS, false), showFront: sf === 1 || sf === true || sf === '1',
              url: text(it, 'url', 2048, false), cover: mediaId === undefined ? undefined : mediaFile(mediaId, 'media_id'),
            };
          }),
        },
      };
    case 'link': {
      const b = obj(body, 'link');
      const action = f(b, 'action');
      return { kind: 'link', body: { title: text(b, 'title', APP_TITLE_MAX_CHARS, true), url: text(b, 'url', 2048, true), sso: action === 1 || action === '1' } };
    }
    case 'exlink':
      return {
        kind: 'exlink',
        body: {
          items: list(body, 'exlink', APP_MAX_ITEMS).map((it) => {
            const mediaId = f(it, 'media_id');
            return {
              title: text(it, 'title', APP_TITLE_MAX_CHARS, true), url: text(it, 'url', 2048, true), digest: text(it, 'digest', APP_DIGEST_MAX_CHARS, false),
              cover: mediaId === undefined ? undefined : mediaFile(mediaId, 'media_id'),
            };
          }),
        },
      };
    case 'sysmsg': {
      const b = obj(body, 'sysMsg');
      const items: SysmsgItem[] = [];
      const msg = f(b, 'msg');
      for (const m of msg === undefined ? [] : list(msg, 'sysMsg.msg', 20)) {
        // one item may carry both a text and a link (some libraries send an empty link beside the text)
        const t = f(m, 'text');
        const content = t === undefined ? undefined : text(obj(t, 'text'), 'content', APP_TEXT_MAX_CHARS, false);
        if (content) items.push({ text: content });
        const l = f(m, 'link');
        if (l !== undefined) {
          const url = text(obj(l, 'link'), 'url', 2048, false);
          const action = f(l, 'action');
          if (url) items.push({ link: { title: text(l, 'title', APP_TITLE_MAX_CHARS, false) ?? url, url, ...(action === 1 || action === '1' ? { sso: true } : {}) } });
        }
      }
      if (items.length === 0) throw bad('sysMsg.msg needs at least one text or link');
      const pop = f(b, 'popDuration');
      if (pop !== undefined && !Number.isSafeInteger(pop)) throw bad('popDuration must be an integer (seconds)');
      return { kind: 'sysmsg', body: { title: text(b, 'title', APP_TITLE_MAX_CHARS, false) ?? '', items, ...(pop !== undefined ? { popDurationS: pop } : {}) } };
    }
    case 'mail': {
      const b = obj(body, 'mail');
      const unread = f(b, 'unreadCount') ?? 0;
      if (!Number.isSafeInteger(unread) || (unread as number) < 0) throw bad('unreadCount must be a non-negative integer');
      const time = f(b, 'time');
      if (time !== undefined && (!Number.isSafeInteger(time) || (time as number) < 0)) throw bad('time must be Unix seconds');
      const action = f(b, 'action') ?? 'new';
      if (action !== 'new' && action !== 'unread') throw bad('action must be "new" or "unread"');
      return {
        kind: 'mail',
        body: {
          action, unreadCount: unread, subject: text(b, 'subject', 1024, false), fromUser: text(b, 'fromUser', 1024, false),
          fromEmail: text(b, 'fromEmail', 1024, false), time, link: text(b, 'link', 2048, false),
        },
      };
    }
    case 'sms': {
      text(obj(body, 'sms'), 'content', APP_TEXT_MAX_CHARS, true);
      throw new AppSendError('sms_unavailable', 'SMS is not available: this gateway has no SMS provider configured');
    }
    default:
      throw bad(`unknown msgType ${msgType}`);
  }
}

/** Drops undefined fields (the stored body holds only what was given). */
function clean<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function listed(names: readonly (string | number)[]): string {
  const shown = names.slice(0, MAX_LISTED).join('|');
  return names.length > MAX_LISTED ? `${shown} (and ${names.length - MAX_LISTED} more)` : shown;
}

/** A one-line summary of what did not go as named, for errmsg: '' when everything did. */
export function describeLeftOut(r: Pick<AppSendResult, 'invalidUsers' | 'invalidDepts' | 'outside'>): string {
  const parts: string[] = [];
  if (r.invalidUsers.length) parts.push(`invalid users: ${listed(r.invalidUsers)}`);
  if (r.invalidDepts.length) parts.push(`invalid departments: ${listed(r.invalidDepts)}`);
  if (r.outside.length) parts.push(`outside the app's visibility: ${listed(r.outside)}`);
  return parts.join('; ');
}

export interface Resolved {
  ids: UserId[];
  invalidUsers: string[];
  invalidDepts: number[];
  outside: string[];
}

/**
 * The people a target names who may receive from the app: active, within the
 * app's visibility, each once. Throws AppSendError `no_recipients` or
 * `outside_visibility` when nobody is left.
 */
export function resolveRecipients(deps: Pick<AppSendDeps, 'apps' | 'recipients' | 'isOnline'>, app: OpenApp, target: AppTarget): Resolved {
  const invalidUsers: string[] = [];
  const invalidDepts: number[] = [];
  const found = new Map<number, RecipientRow>();
  const add = (r: RecipientRow) => {
    if (r.active) found.set(r.id, r);
  };
  let broadcast = false;
  if (target.all) {
    broadcast = true;
    for (const r of deps.recipients.everyone()) if (!target.all.onlyOnline || deps.isOnline?.(r.id)) add(r);
  }
  if (target.users?.length) {
    const rows = deps.recipients.byAccounts(target.users);
    const byAccount = new Map(rows.map((r) => [r.account.toLowerCase(), r]));
    for (const a of target.users) {
      const r = byAccount.get(a.toLowerCase());
      if (r?.active) add(r);
      else if (!invalidUsers.includes(a)) invalidUsers.push(a);
    }
  }
  if (target.userIds?.length) {
    const rows = new Map(deps.recipients.byIds(target.userIds).map((r) => [r.id as number, r]));
    for (const id of target.userIds) {
      const r = rows.get(id);
      if (r?.active) add(r);
      else invalidUsers.push(r?.account ?? String(id));
    }
  }
  if (target.emails?.length) {
    const rows = deps.recipients.byEmails(target.emails);
    const matched = new Set(rows.map((r) => r.email.toLowerCase()));
    for (const r of rows) add(r);
    for (const e of target.emails) if (!matched.has(e.toLowerCase())) invalidUsers.push(e);
  }
  if (target.depts?.length) {
    if (target.depts.includes(0)) {
      broadcast = true;
      for (const r of deps.recipients.everyone()) add(r);
    }
    const named = target.depts.filter((d) => d !== 0);
    const exists = deps.recipients.existingDepts(named);
    for (const d of named) if (!exists.has(d)) invalidDepts.push(d);
    for (const r of deps.recipients.deptMembers(named.filter((d) => exists.has(d)))) add(r);
  }

  let ids = [...found.keys()] as UserId[];
  const outsideIds = new Set<number>(deps.apps.outsideVisibility(app, ids));
  const outside: string[] = [];
  if (outsideIds.size > 0) {
    ids = ids.filter((id) => !outsideIds.has(id));
    // a broadcast reaches everyone the app may reach: those outside were never asked for by name
    if (!broadcast || target.users?.length || target.userIds?.length) {
      for (const id of outsideIds) outside.push((found.get(id) as RecipientRow).account);
    }
  }
  if (ids.length === 0) {
    if (outsideIds.size > 0) throw new AppSendError('outside_visibility', `every recipient is outside the app's visibility${outside.length ? `: ${listed(outside)}` : ''}`);
    const why = describeLeftOut({ invalidUsers, invalidDepts, outside: [] });
    throw new AppSendError('no_recipients', why ? `no valid recipient (${why})` : 'no recipient (nobody to send to)');
  }
  return { ids, invalidUsers, invalidDepts, outside };
}

/**
 * Sends an app's message (docs/open-api.md "msg/send"), for the open API and
 * the console alike: converts the spec message, resolves the recipients
 * (departments with their subdepartments, 0 = everyone), keeps those within
 * the app's visibility, de-duplicates, and enters messaging through
 * sendAsApp — the one path. People named who cannot receive are reported in
 * the result, not refused, as long as someone can; people outside the app's
 * visibility are left out and reported. Throws AppSendError when nobody is
 * left (`no_recipients`, or `outside_visibility` when only the visibility
 * stopped it), when the message is malformed, names unknown media, or is of a
 * kind the app may not send.
 */
export async function sendAppMessage(deps: AppSendDeps, app: OpenApp, target: AppTarget, message: SpecMessage, opts: SendOptions): Promise<AppSendResult> {
  const msgType = normaliseMsgType(message.msgType);
  if (!msgType) throw bad(`unknown msgType ${String(message.msgType).slice(0, 40)}`);
  const right = RIGHT_OF[msgType] as AppRight;
  if (opts.checkRights && !app.rights.includes(right)) throw new AppSendError('kind_not_allowed', `the app may not send ${msgType} messages`);
  const stored = toStoredMessage(deps.media, app, msgType, message.body);
  const body = clean(stored.body);

  const { ids, invalidUsers, invalidDepts, outside } = resolveRecipients(deps, app, target);
  const ack = await deps.messaging.sendAsApp({
    appId: app.key, cmid: opts.cmid ?? `${opts.origin}:${randomBytes(12).toString('base64url')}`, to: ids, kind: stored.kind, body, origin: opts.origin,
  });
  return { messageId: ack.id, delivered: ids.length, invalidUsers, invalidDepts, outside, kind: stored.kind, body: body as BodyByKind[AppSendableKind] };
}
