import { GatewayError } from '../errors/gateway-error.js';
import type { MessagingService } from '../messaging/service.js';
import type { BroadcastRightView, BroadcastSender, DeptId, SysmsgBody, SysmsgItem, UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import type { BroadcastRecord, BroadcastResult, BroadcastRight, BroadcastScope, CheckedTargets } from './broadcast-types.js';
import { MAX_TO_DEPTS, MAX_TO_USERS, type AppRecipients } from './send.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';

export type * from './broadcast-types.js';

export const BROADCAST_TITLE_MAX_CHARS = 64;
export const BROADCAST_TEXT_MAX_CHARS = 2000;
export const BROADCAST_MAX_LINKS = 5;
const LINK_TITLE_MAX_CHARS = 64;
const URL_MAX_CHARS = 2048;
/** A member may broadcast this many times in any window of BROADCAST_WINDOW_MS (administrators are not limited). */
export const BROADCAST_LIMIT_PER_WINDOW = 3;
export const BROADCAST_WINDOW_MS = 60_000;
/** The app broadcasts come from: the spec's system-messages assistant. */
export const BROADCAST_APP_ID = 'sysMsgAssistant';
export const MAX_HISTORY_PAGE = 100;

const bad = (m: string) => new GatewayError('GW_BAD_REQUEST', m);
const forbidden = (m: string) => new GatewayError('GW_FORBIDDEN', m);
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function chars(s: string): number {
  return [...s].length;
}

function text(v: unknown, what: string, max: number, required: boolean): string | undefined {
  if (v === undefined || v === null || v === '') {
    if (required) throw bad(`${what} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${what} must be a string`);
  const t = v.trim();
  if (!t) {
    if (required) throw bad(`${what} is required`);
    return undefined;
  }
  if (chars(t) > max) throw bad(`${what} is longer than ${max} characters`);
  if (CONTROL_RE.test(t)) throw bad(`${what} contains control characters`);
  return t;
}

function httpUrl(v: unknown, what: string): string {
  const s = text(v, what, URL_MAX_CHARS, true) as string;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw bad(`${what} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(`${what} must be an http or https URL`);
  return s;
}

function plainObject(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, what: string, keys: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw bad(`${what} has unknown field(s) ${extra.slice(0, 5).join(', ')}; expected ${keys.join(', ')}`);
}

/**
 * Checks a broadcast's content — `{title, text?, links?: [{title?, url}]}`,
 * a title and a text, links or both — and returns the system message's title
 * and items (the text first, then the links).
 */
export function checkContent(raw: unknown): { title: string; items: SysmsgItem[] } {
  const c = plainObject(raw, 'content');
  onlyKeys(c, 'content', ['title', 'text', 'links']);
  const title = text(c.title, 'title', BROADCAST_TITLE_MAX_CHARS, true) as string;
  const items: SysmsgItem[] = [];
  const body = text(c.text, 'text', BROADCAST_TEXT_MAX_CHARS, false);
  if (body) items.push({ text: body });
  if (c.links !== undefined && c.links !== null) {
    if (!Array.isArray(c.links) || c.links.length > BROADCAST_MAX_LINKS) throw bad(`links must be a list of at most ${BROADCAST_MAX_LINKS} links`);
    c.links.forEach((l, i) => {
      const o = plainObject(l, `links[${i}]`);
      onlyKeys(o, `links[${i}]`, ['title', 'url']);
      const url = httpUrl(o.url, `links[${i}].url`);
      items.push({ link: { title: text(o.title, `links[${i}].title`, LINK_TITLE_MAX_CHARS, false) ?? url.slice(0, LINK_TITLE_MAX_CHARS), url } });
    });
  }
  if (items.length === 0) throw bad('a broadcast needs a text or at least one link');
  return { title, items };
}

function idList(v: unknown, what: string, max: number): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > max || !v.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) throw bad(`${what} must be a list of at most ${max} ids`);
  return [...new Set(v as number[])];
}

/**
 * Checks targets — `{all: true}` or `{deptIds, userIds}` (at most 100
 * departments, 1000 people) — and that something is chosen.
 */
export function checkTargets(raw: unknown): CheckedTargets {
  const t = plainObject(raw, 'targets');
  onlyKeys(t, 'targets', ['all', 'deptIds', 'userIds']);
  if (t.all !== undefined && typeof t.all !== 'boolean') throw bad('targets.all must be true or false');
  const depts = idList(t.deptIds, 'targets.deptIds', MAX_TO_DEPTS) as DeptId[];
  const users = idList(t.userIds, 'targets.userIds', MAX_TO_USERS) as UserId[];
  if (t.all === true) {
    if (depts.length || users.length) throw bad('targets: everyone, or departments and people — not both');
    return { all: true, depts: [], users: [] };
  }
  if (!depts.length && !users.length) throw bad('targets: choose everyone, departments or people');
  return { all: false, depts, users };
}

function checkOnlineOnly(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad('onlineOnly must be true or false');
  return v;
}

interface RightRow { user_id: number; scope: BroadcastScope; granted_by: string; created_at: number; updated_at: number }
interface LogRow {
  id: number; sender_kind: 'member' | 'admin'; sender_user_id: number | null; sender_admin_id: number | null; sender_name: string; sender_account: string;
  title: string; targets: string; online_only: number; message_id: number | null; reached: number; created_at: number;
}

const rightOf = (r: RightRow): BroadcastRight => ({ userId: r.user_id as UserId, scope: r.scope, grantedBy: r.granted_by, createdAt: r.created_at, updatedAt: r.updated_at });

function recordOf(r: LogRow): BroadcastRecord {
  const sender: BroadcastRecord['sender'] = r.sender_kind === 'member'
    ? { kind: 'member', userId: (r.sender_user_id ?? 0) as UserId, account: r.sender_account, name: r.sender_name }
    : { kind: 'admin', name: r.sender_name, account: r.sender_account };
  return {
    id: r.id, sender, senderUserId: r.sender_user_id as UserId | null, senderAdminId: r.sender_admin_id, title: r.title,
    targets: JSON.parse(r.targets) as CheckedTargets, onlineOnly: r.online_only === 1, messageId: r.message_id, reached: r.reached, createdAt: r.created_at,
  };
}

/** Who is broadcasting, as the log keeps them. */
export type Broadcaster =
  | { kind: 'member'; userId: UserId; account: string; name: string }
  | { kind: 'admin'; adminId: number; username: string; name: string };

export interface BroadcastDeps {
  db: Db;
  apps: AppService;
  recipients: AppRecipients;
  messaging: MessagingService;
  /** Whether the user has a connection now. */
  isOnline(userId: UserId): boolean;
  now?: () => number;
}

/**
 * System broadcasts (F-4.10) and members' broadcast rights (F-6.2);
 * docs/broadcast.md. A broadcast is a `sysmsg` message of the system-messages
 * app (sysMsgAssistant) entering messaging through sendAsApp, the one path:
 * stored in each recipient's inbox, pushed to their online devices. Targets
 * are everyone (active, authorised), departments with their subdepartments,
 * or people; the app's visibility applies. With `onlineOnly`, only people
 * with a connection at that moment get it (stored in their inbox like any
 * message); the others never do, not even when they come back. Members
 * broadcast within their right (`all`, or `dept`: their departments with
 * subdepartments and the people in them), at most
 * BROADCAST_LIMIT_PER_WINDOW times per minute; every broadcast is recorded.
 */
export class BroadcastService {
  private readonly now: () => number;

  constructor(private readonly deps: BroadcastDeps) {
    this.now = deps.now ?? Date.now;
  }

  // --- rights ---

  rights(): BroadcastRight[] {
    return (this.deps.db.prepare('SELECT * FROM broadcast_rights ORDER BY updated_at DESC, user_id').all() as RightRow[]).map(rightOf);
  }

  right(userId: UserId): BroadcastRight | null {
    const r = this.deps.db.prepare('SELECT * FROM broadcast_rights WHERE user_id = ?').get(userId) as RightRow | undefined;
    return r ? rightOf(r) : null;
  }

  /** Grants or changes a member's right; returns the right before (null when new) and after. */
  grant(userId: UserId, scope: BroadcastScope, grantedBy: string): { before: BroadcastRight | null; after: BroadcastRight } {
    if (scope !== 'all' && scope !== 'dept') throw bad('scope must be "all" or "dept"');
    const db = this.deps.db;
    return db.transaction(() => {
      const before = this.right(userId);
      const now = this.now();
      db.prepare(
        `INSERT INTO broadcast_rights (user_id, scope, granted_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET scope = excluded.scope, granted_by = excluded.granted_by, updated_at = excluded.updated_at`,
      ).run(userId, scope, grantedBy, now, now);
      return { before, after: this.right(userId) as BroadcastRight };
    })();
  }

  /** Removes a member's right; returns what it was, or null when they had none. */
  revoke(userId: UserId): BroadcastRight | null {
    const db = this.deps.db;
    return db.transaction(() => {
      const before = this.right(userId);
      if (before) db.prepare('DELETE FROM broadcast_rights WHERE user_id = ?').run(userId);
      return before;
    })();
  }

  /** The member's departments (where a `dept` right reaches, with their subdepartments). */
  memberDepts(userId: UserId): DeptId[] {
    return this.deps.db.prepare('SELECT dept_id FROM user_departments WHERE user_id = ? ORDER BY is_main DESC, sort_order, dept_id').pluck().all(userId) as DeptId[];
  }

  /** What `broadcast.rights` answers a client. */
  rightView(userId: UserId): BroadcastRightView {
    const r = this.right(userId);
    return { scope: r?.scope ?? null, deptIds: r?.scope === 'dept' ? this.memberDepts(userId) : [] };
  }

  // --- sending ---

  /** The system-messages app broadcasts come from; GW_CONFLICT when it is disabled. */
  async app(): Promise<OpenApp> {
    const a = this.deps.apps.byAppId(await this.deps.apps.defaultBuin(), BROADCAST_APP_ID);
    if (!a || a.origin === 'deleted') throw new GatewayError('GW_CONFLICT', 'the system messages app (sysMsgAssistant) does not exist');
    if (!a.enabled) throw new GatewayError('GW_CONFLICT', 'the system messages app is disabled; enable it under Apps to broadcast');
    return a;
  }

  /**
   * The people the targets reach now: everyone (active, authorised), or the
   * active members of the departments (with subdepartments) and the active
   * people named, within the app's visibility, each once; with `onlineOnly`
   * only those with a connection. GW_NOT_FOUND for a department or person
   * that does not exist.
   */
  reach(app: OpenApp, t: CheckedTargets, onlineOnly: boolean): UserId[] {
    const r = this.deps.recipients;
    const found = new Set<UserId>();
    if (t.all) for (const u of r.everyone()) found.add(u.id);
    if (t.depts.length) {
      const exists = r.existingDepts(t.depts);
      const unknown = t.depts.filter((d) => !exists.has(d));
      if (unknown.length) throw new GatewayError('GW_NOT_FOUND', `unknown department id(s) ${unknown.slice(0, 10).join(', ')}`);
      for (const u of r.deptMembers(t.depts)) found.add(u.id);
    }
    if (t.users.length) {
      const rows = r.byIds(t.users);
      const have = new Set(rows.map((u) => u.id as number));
      const unknown = t.users.filter((id) => !have.has(id));
      if (unknown.length) throw new GatewayError('GW_NOT_FOUND', `unknown user id(s) ${unknown.slice(0, 10).join(', ')}`);
      for (const u of rows) if (u.active) found.add(u.id);
    }
    let ids = [...found];
    const outside = new Set<number>(this.deps.apps.outsideVisibility(app, ids));
    if (outside.size) ids = ids.filter((id) => !outside.has(id));
    return onlineOnly ? ids.filter((id) => this.deps.isOnline(id)) : ids;
  }

  /**
   * Refuses (GW_FORBIDDEN) targets outside a member's right: none at all, or
   * with `dept`, everyone, a department not within their departments, or a
   * person in none of them.
   */
  checkMemberRight(userId: UserId, t: CheckedTargets): void {
    const right = this.right(userId);
    if (!right) throw forbidden('you do not have the broadcast right; an administrator grants it');
    if (right.scope === 'all') return;
    if (t.all) throw forbidden('your broadcast right covers your own departments only, not everyone');
    const own = this.memberDepts(userId);
    if (own.length === 0) throw forbidden('your broadcast right covers your own departments, and you are in none');
    const db = this.deps.db;
    const subtree = new Set(
      db.prepare(
        `WITH RECURSIVE sub(id) AS (SELECT value FROM json_each(?) UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id) SELECT id FROM sub`,
      ).pluck().all(JSON.stringify(own)) as number[],
    );
    const outsideDepts = t.depts.filter((d) => !subtree.has(d));
    if (outsideDepts.length) throw forbidden(`department(s) ${outsideDepts.slice(0, 10).join(', ')} are outside your departments; your broadcast right covers your own departments only`);
    if (t.users.length) {
      const inside = new Set(
        db.prepare('SELECT DISTINCT user_id FROM user_departments WHERE user_id IN (SELECT value FROM json_each(?)) AND dept_id IN (SELECT value FROM json_each(?))')
          .pluck().all(JSON.stringify(t.users), JSON.stringify([...subtree])) as number[],
      );
      const outsideUsers = t.users.filter((u) => !inside.has(u));
      if (outsideUsers.length) throw forbidden(`user(s) ${outsideUsers.slice(0, 10).join(', ')} are outside your departments; your broadcast right covers your own departments only`);
    }
  }

  /**
   * A member's broadcast from a client (`broadcast.send`): `{content,
   * targets, onlineOnly?}` checked, then the right and its scope
   * (GW_FORBIDDEN), the recipients (GW_BAD_REQUEST when nobody is left),
   * the rate limit (GW_RATE_LIMITED with retryAfterMs), then sent.
   */
  async sendAsMember(user: { id: UserId; account: string; name: string }, p: Record<string, unknown>): Promise<BroadcastResult> {
    onlyKeys(p, 'broadcast', ['content', 'targets', 'onlineOnly']);
    const content = checkContent(p.content);
    const targets = checkTargets(p.targets);
    const onlineOnly = checkOnlineOnly(p.onlineOnly);
    this.checkMemberRight(user.id, targets);
    return this.send({ kind: 'member', userId: user.id, account: user.account, name: user.name }, content, targets, onlineOnly);
  }

  /**
   * Sends a checked broadcast as `who`: resolves the recipients, records it
   * (a member's record counts against the rate limit, checked in the same
   * transaction), enters messaging through sendAsApp, then marks the record
   * sent with the number reached. A failed send leaves no record.
   */
  async send(who: Broadcaster, content: { title: string; items: SysmsgItem[] }, targets: CheckedTargets, onlineOnly: boolean): Promise<BroadcastResult> {
    const app = await this.app();
    const ids = this.reach(app, targets, onlineOnly);
    if (ids.length === 0) throw bad(onlineOnly ? 'nobody to send to: none of the people chosen is online' : 'nobody to send to: the people chosen are disabled or outside the system messages app’s visibility');
    const from: BroadcastSender = who.kind === 'member' ? { kind: 'member', userId: who.userId, account: who.account, name: who.name } : { kind: 'admin', name: who.name };
    const body: SysmsgBody = { title: content.title, items: content.items, from };
    const id = this.reserve(who, content.title, targets, onlineOnly);
    let ack;
    try {
      ack = await this.deps.messaging.sendAsApp({ appId: app.key, cmid: `broadcast:${id}`, to: ids, kind: 'sysmsg', body, origin: 'broadcast' });
    } catch (e) {
      this.deps.db.prepare("DELETE FROM broadcasts WHERE id = ? AND status = 'sending'").run(id);
      throw e;
    }
    this.deps.db.prepare("UPDATE broadcasts SET status = 'sent', message_id = ?, reached = ? WHERE id = ?").run(ack.id, ids.length, id);
    return { id, messageId: ack.id, reached: ids.length, body };
  }

  private reserve(who: Broadcaster, title: string, targets: CheckedTargets, onlineOnly: boolean): number {
    const db = this.deps.db;
    return db.transaction(() => {
      const now = this.now();
      if (who.kind === 'member') {
        const recent = db.prepare('SELECT created_at FROM broadcasts WHERE sender_user_id = ? AND created_at > ? ORDER BY created_at').pluck().all(who.userId, now - BROADCAST_WINDOW_MS) as number[];
        if (recent.length >= BROADCAST_LIMIT_PER_WINDOW) {
          const retryAfterMs = Math.max(1, (recent[recent.length - BROADCAST_LIMIT_PER_WINDOW] as number) + BROADCAST_WINDOW_MS - now);
          throw new GatewayError('GW_RATE_LIMITED', `at most ${BROADCAST_LIMIT_PER_WINDOW} broadcasts a minute; try again in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
        }
      }
      return Number(db.prepare(
        `INSERT INTO broadcasts (sender_kind, sender_user_id, sender_admin_id, sender_name, sender_account, title, targets, online_only, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?)`,
      ).run(
        who.kind, who.kind === 'member' ? who.userId : null, who.kind === 'admin' ? who.adminId : null, who.name, who.kind === 'member' ? who.account : who.username,
        title, JSON.stringify(targets), onlineOnly ? 1 : 0, now,
      ).lastInsertRowid);
    })();
  }

  // --- history ---

  /**
   * Sent broadcasts, newest first, `limit` at a time before the id `before`.
   * `visibleTo`: only broadcasts by that administrator or by members of
   * those departments (a department-scoped administrator's view).
   */
  history(opts: { limit: number; before?: number; visibleTo?: { adminId: number; deptIds: readonly DeptId[] } }): BroadcastRecord[] {
    const where = ["status = 'sent'"];
    const args: unknown[] = [];
    if (opts.before !== undefined) {
      where.push('id < ?');
      args.push(opts.before);
    }
    if (opts.visibleTo) {
      where.push('(sender_admin_id = ? OR sender_user_id IN (SELECT user_id FROM user_departments WHERE dept_id IN (SELECT value FROM json_each(?))))');
      args.push(opts.visibleTo.adminId, JSON.stringify(opts.visibleTo.deptIds));
    }
    const limit = Math.min(Math.max(1, opts.limit), MAX_HISTORY_PAGE);
    return (this.deps.db.prepare(`SELECT * FROM broadcasts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, limit) as LogRow[]).map(recordOf);
  }
}
