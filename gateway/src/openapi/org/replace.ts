import { staticRefusal } from '../../apps/ssrf.js';
import { hashMd5Password } from '../../auth/password.js';
import { CONTROL_RE, EMAIL_RE, MOBILE_RE } from '../../directory/service.js';
import type { DeptRecord, Gender, UserRecord } from '../../directory/types.js';
import type { DeptId, UserId } from '../../protocol/client-v1.js';
import type { OpenApiDeps } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { ORG } from './codes.js';
import { get, intOf, USER_ID_RE } from './input.js';
import { orgStore, type DeptDetail } from './store.js';

/**
 * org/replaceall (wire spec §3.6; docs/open-api.md "Full sync"): the org
 * becomes what the request lists. The request is checked whole before the
 * job starts (so bad input gets its errcode at once and nothing is written);
 * the job then applies it through the directory service, each step in its own
 * transaction, with the usual lifecycle: a user no longer listed is disabled
 * and de-authorised (live sessions close, the licence seat is freed) and the
 * action log says so; departments no longer listed are removed.
 *
 * Entries owned by a directory source (origin other than `local` and
 * `openapi`: LDAP, RTX, spreadsheets) are left to their source.
 */

export interface ReplaceDept {
  id: number;
  name: string;
  parentId: number;
  sortId: number;
  alias: string | null;
}

export interface ReplaceUser {
  account: string;
  name: string;
  gender: Gender;
  mobile: string;
  phone: string;
  email: string;
  dept: number[];
  details: DeptDetail[];
  authType: number | null;
  md5: string | null;
  enableState: -1 | 0 | 1;
}

export interface ReplaceRequest {
  depts: ReplaceDept[] | null;
  users: ReplaceUser[];
  /** Where the completion callback goes instead of the app's callback (`callback: {url, token}`). */
  callback: { url: string; token: string } | null;
}

const MAX_NAME_CHARS = 64;
const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

/** Checks a replaceall payload; throws the errcode of the first problem (300301–300312). */
export async function checkReplace(deps: OpenApiDeps, p: Record<string, unknown>): Promise<ReplaceRequest> {
  const rawDepts = get(p, 'deptList');
  let depts: ReplaceDept[] | null = null;
  if (rawDepts !== undefined) {
    if (!Array.isArray(rawDepts)) throw fail(ORG.BAD_DEPT_LIST, 'deptList must be an array');
    const seen = new Set<number>();
    depts = rawDepts.map((d, i) => {
      if (!d || typeof d !== 'object' || Array.isArray(d)) throw fail(ORG.BAD_DEPT, `deptList[${i}] is not a department`);
      const o = d as Record<string, unknown>;
      const id = intOf(get(o, 'id'), ORG.BAD_DEPT, `deptList[${i}].id`);
      const name = get(o, 'name');
      const parentId = intOf(get(o, 'parentId'), ORG.BAD_DEPT, `deptList[${i}].parentId`) ?? 0;
      if (id === undefined || id <= 0) throw fail(ORG.BAD_DEPT, `deptList[${i}].id must be a positive integer`);
      if (typeof name !== 'string' || name.trim() === '' || name.includes('/') || CONTROL_RE.test(name) || [...name.trim()].length > MAX_NAME_CHARS) {
        throw fail(ORG.BAD_DEPT, `deptList[${i}].name must be 1–${MAX_NAME_CHARS} characters without / or control characters`);
      }
      if (seen.has(id)) throw fail(ORG.BAD_DEPT, `department ${id} is listed twice`);
      seen.add(id);
      const alias = get(o, 'alias');
      return { id, name: name.trim(), parentId, sortId: intOf(get(o, 'sortId'), ORG.BAD_DEPT, 'sortId') ?? 0, alias: typeof alias === 'string' ? alias.trim() : null };
    });
    for (const d of depts) if (d.parentId !== 0 && !seen.has(d.parentId)) throw fail(ORG.SYNC_PARENT_NOT_FOUND, `the parent ${d.parentId} of department ${d.id} is not listed`);
    const parent = new Map(depts.map((d) => [d.id, d.parentId]));
    for (const d of depts) {
      const path = new Set<number>();
      for (let cur = d.id; cur !== 0; cur = parent.get(cur) ?? 0) {
        if (path.has(cur)) throw fail(ORG.BAD_DEPT_LIST, `department ${d.id} is its own ancestor`);
        path.add(cur);
      }
    }
  }
  const known = depts ? new Set(depts.map((d) => d.id)) : new Set((await deps.services.directory.listDepts()).map((d) => d.id as number));
  const rawUsers = get(p, 'userList');
  if (rawUsers === undefined) throw fail(ORG.MISSING_USER_LIST, 'userList is missing');
  if (!Array.isArray(rawUsers)) throw fail(ORG.BAD_USER_LIST, 'userList must be an array');
  const accounts = new Set<string>();
  const users = rawUsers.map((u, i): ReplaceUser => {
    if (!u || typeof u !== 'object' || Array.isArray(u)) throw fail(ORG.BAD_USER, `userList[${i}] is not a user`);
    const o = u as Record<string, unknown>;
    const account = str(get(o, 'userId'));
    if (!USER_ID_RE.test(account) || account.length > 64) throw fail(ORG.BAD_USER, `userList[${i}].userId is not a valid userId`);
    const key = account.toLowerCase();
    if (accounts.has(key)) throw fail(ORG.JOB_NOT_FOUND, `userId ${account} is listed twice`);
    accounts.add(key);
    const name = str(get(o, 'name'));
    if (name === '' || CONTROL_RE.test(name) || [...name].length > MAX_NAME_CHARS) throw fail(ORG.BAD_USER, `${account}: name must be 1–${MAX_NAME_CHARS} characters`);
    const g = intOf(get(o, 'gender'), ORG.BAD_USER, `${account}: gender`);
    if (g === undefined) throw fail(ORG.MISSING_GENDER, `${account}: gender is missing`);
    if (g !== 0 && g !== 1) throw fail(ORG.BAD_USER, `${account}: gender is 0 or 1`);
    const text = (f: string, re: RegExp) => {
      const v = str(get(o, f));
      if (v !== '' && !re.test(v)) throw fail(ORG.BAD_USER, `${account}: ${f} is not valid`);
      return v;
    };
    const rawDept = get(o, 'dept') ?? [];
    if (!Array.isArray(rawDept) || rawDept.length > 20) throw fail(ORG.BAD_USER, `${account}: dept must be an array of at most 20 department ids`);
    const dept = [...new Set(rawDept.map((x) => intOf(x, ORG.BAD_USER, `${account}: dept`) ?? -1))];
    const unknown = dept.filter((d) => !known.has(d));
    if (unknown.length > 0) throw fail(ORG.SYNC_DEPT_NOT_FOUND, `${account}: department ${unknown.join(', ')} does not exist`);
    const rawDetails = get(o, 'deptDetail') ?? [];
    if (!Array.isArray(rawDetails)) throw fail(ORG.BAD_POSITIONS, `${account}: deptDetail must be an array`);
    const details = rawDetails.map((x) => {
      const dd = (x ?? {}) as Record<string, unknown>;
      const deptId = intOf(get(dd, 'deptId'), ORG.BAD_POSITIONS, 'deptId');
      if (deptId === undefined || !dept.includes(deptId)) throw fail(ORG.BAD_POSITIONS, `${account}: deptDetail names a department the user is not in`);
      return { deptId, position: str(get(dd, 'position')).slice(0, 64), weight: intOf(get(dd, 'weight'), ORG.BAD_POSITIONS, 'weight') ?? 0, sortId: intOf(get(dd, 'sortId'), ORG.BAD_POSITIONS, 'sortId') ?? 0 };
    });
    const authType = intOf(get(o, 'authType'), ORG.BAD_USER, 'authType') ?? null;
    const passwd = get(o, 'passwd');
    if (passwd !== undefined && (typeof passwd !== 'string' || !/^[0-9a-fA-F]{32}$/.test(passwd))) throw fail(ORG.BAD_USER, `${account}: passwd is the hex MD5 of the password`);
    const es = intOf(get(o, 'enableState'), ORG.BAD_USER, 'enableState') ?? 1;
    if (es !== -1 && es !== 0 && es !== 1) throw fail(ORG.BAD_USER, `${account}: enableState is −1, 0 or 1`);
    return {
      account, name, gender: g === 1 ? 'female' : 'male', mobile: text('mobile', MOBILE_RE), phone: text('phone', MOBILE_RE), email: text('email', EMAIL_RE),
      dept, details, authType, md5: typeof passwd === 'string' ? passwd.toLowerCase() : null, enableState: es,
    };
  });
  return { depts, users, callback: callbackOf(get(p, 'callback')) };
}

const MAX_CALLBACK_URL_CHARS = 2048;
const MAX_CALLBACK_TOKEN_CHARS = 256;

/**
 * The request's own completion callback, or null. Absent, null, `{}` and an
 * empty url count as none; otherwise url is an http(s) URL that the outbound
 * guard does not refuse on its face, and token a non-empty string (100003).
 */
function callbackOf(v: unknown): { url: string; token: string } | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw fail(ERR.BAD_REQUEST, 'callback is {url, token}');
  const url = get(v as Record<string, unknown>, 'url');
  const token = get(v as Record<string, unknown>, 'token');
  if (url === undefined) return null;
  if (typeof url !== 'string' || url.length > MAX_CALLBACK_URL_CHARS || !/^https?:\/\//i.test(url.trim())) throw fail(ERR.BAD_REQUEST, 'callback.url must be an http or https URL');
  const refused = staticRefusal(url.trim());
  if (refused) throw fail(ERR.BAD_REQUEST, `callback.url is refused: ${refused}`);
  if (typeof token !== 'string' || token === '' || token.length > MAX_CALLBACK_TOKEN_CHARS) throw fail(ERR.BAD_REQUEST, `callback.token must be 1–${MAX_CALLBACK_TOKEN_CHARS} characters`);
  return { url: url.trim(), token };
}

/** Ours to replace: made here or by the open API, not by a directory source. */
const inScope = (origin: string) => origin === 'local' || origin === 'openapi';

export interface ReplaceSummary {
  depts: { created: number; updated: number; deleted: number };
  users: { created: number; updated: number; disabled: number; inactive: number };
  skipped: string[];
}

/** Applies a checked request. `actor` names the app in the action log; `appRow` checks the passwords of users listed with authType 2. */
export async function applyReplace(deps: OpenApiDeps, req: ReplaceRequest, actor: string, appRow: number | null = null): Promise<ReplaceSummary> {
  const dir = deps.services.directory;
  const store = orgStore(deps.services.db);
  const sum: ReplaceSummary = { depts: { created: 0, updated: 0, deleted: 0 }, users: { created: 0, updated: 0, disabled: 0, inactive: 0 }, skipped: [] };
  const log = (action: string, kind: string, id: number, label: string, before: unknown, after: unknown) =>
    deps.services.admin.logAction({ id: null, username: actor }, action, { kind, id, label }, before, after, null);

  // ---- departments, parents first ----
  if (req.depts) {
    const cur = new Map((await dir.listDepts()).map((d) => [d.id as number, d]));
    const byId = new Map(req.depts.map((d) => [d.id, d]));
    const depth = (d: ReplaceDept): number => (d.parentId === 0 ? 0 : 1 + depth(byId.get(d.parentId) as ReplaceDept));
    for (const d of [...req.depts].sort((a, b) => depth(a) - depth(b))) {
      const have = cur.get(d.id);
      const parent = d.parentId === 0 ? null : (d.parentId as DeptId);
      if (!have) {
        await dir.createDept(parent, d.name, d.sortId, 'openapi', null, d.id as DeptId);
        sum.depts.created += 1;
      } else if (!inScope(have.origin)) {
        sum.skipped.push(`department ${d.id} belongs to ${have.origin}`);
        continue;
      } else if (have.name !== d.name || have.parentId !== parent || have.order !== d.sortId) {
        if (have.name !== d.name) await dir.renameDept(have.id, d.name);
        if (have.parentId !== parent || have.order !== d.sortId) await dir.moveDept(have.id, parent, d.sortId);
        sum.depts.updated += 1;
      }
      if (d.alias !== null) store.setAlias(d.id, d.alias);
    }
  }

  // ---- listed users ----
  const listed = new Set<number>();
  const toAuthorise: UserRecord[] = [];
  for (const u of req.users) {
    const have = await dir.getUserByAccount(u.account);
    if (have && !inScope(have.origin)) {
      sum.skipped.push(`${u.account} belongs to ${have.origin}`);
      listed.add(have.id);
      continue;
    }
    const title = u.details.find((d) => d.deptId === u.dept[0])?.position ?? '';
    const fields = { name: u.name, gender: u.gender, mobile: u.mobile, phone: u.phone, email: u.email, deptIds: u.dept as DeptId[], title };
    let rec: UserRecord;
    if (!have) {
      rec = await dir.createUser({ account: u.account, origin: 'openapi', authorised: false, ...(u.enableState === -1 ? { status: 'disabled' as const } : {}), ...fields });
      sum.users.created += 1;
    } else {
      const changed = have.name !== u.name || have.gender !== u.gender || have.mobile !== u.mobile || have.phone !== u.phone || have.email !== u.email || have.title !== title
        || have.depts.map((d) => d.deptId).join(',') !== u.dept.join(',');
      rec = changed ? await dir.editUser(have.id, fields) : have;
      if (changed) sum.users.updated += 1;
    }
    listed.add(rec.id);
    store.replaceDetails(rec.id, u.details);
    if (u.md5 !== null && (u.authType ?? 0) === 0) await dir.setPasswordHash(rec.id, await hashMd5Password(u.md5));
    if (u.authType !== null) store.setExtra(rec.id, { authType: u.authType, authAppRow: u.authType === 2 ? appRow : null });
    if (u.enableState === -1 && rec.status !== 'disabled') {
      await dir.setStatus(rec.id, 'disabled');
      if (rec.authorised) await dir.setAuthorised(rec.id, false);
    } else if (u.enableState === 0) {
      if (rec.status === 'disabled') await dir.setStatus(rec.id, 'active');
      if (rec.authorised) await dir.setAuthorised(rec.id, false);
    } else if (u.enableState === 1) {
      if (rec.status === 'disabled') await dir.setStatus(rec.id, 'active');
      if (!rec.authorised) toAuthorise.push(rec);
    }
  }

  // ---- users no longer listed: disabled, seat freed, sessions closed, logged ----
  const all = (await dir.searchUsers({ limit: 10_000_000 })).users;
  for (const u of all) {
    if (listed.has(u.id) || !inScope(u.origin) || u.status === 'disabled') continue;
    await dir.setStatus(u.id, 'disabled');
    if (u.authorised) await dir.setAuthorised(u.id, false);
    await log('member.disable', 'user', u.id, u.account, { status: u.status, authorised: u.authorised }, { status: 'disabled', authorised: false, reason: 'not in org/replaceall' });
    sum.users.disabled += 1;
  }

  // seats freed above are free for those listed as authorised
  for (const u of toAuthorise) {
    const ok = await deps.services.licence.withSeats(1, () => dir.setAuthorised(u.id, true)).then(() => true, () => false);
    if (!ok) sum.users.inactive += 1;
  }

  // ---- departments no longer listed, deepest first ----
  if (req.depts) {
    const keep = new Set(req.depts.map((d) => d.id));
    const gone = (await dir.listDepts()).filter((d) => !keep.has(d.id) && inScope(d.origin));
    const goneIds = new Set(gone.map((d) => d.id as number));
    for (const u of (await dir.searchUsers({ deptIds: [...goneIds] as DeptId[], limit: 10_000_000 })).users) {
      const rest = u.depts.map((d) => d.deptId).filter((d) => !goneIds.has(d));
      await dir.editUser(u.id as UserId, { deptIds: rest });
    }
    const level = (d: DeptRecord): number => {
      let n = 0;
      for (let p = d.parentId; p !== null; p = gone.find((x) => x.id === p)?.parentId ?? null) n += 1;
      return n;
    };
    for (const d of gone.sort((a, b) => level(b) - level(a))) {
      if ((await dir.childDepts(d.id)).some((c) => !goneIds.has(c.id))) {
        sum.skipped.push(`department ${d.id} kept: it holds departments of a directory source`);
        continue;
      }
      await dir.deleteDept(d.id);
      await log('dept.delete', 'dept', d.id, d.name, { name: d.name, parentId: d.parentId }, { reason: 'not in org/replaceall' });
      sum.depts.deleted += 1;
    }
  }
  return sum;
}

export function summaryText(s: ReplaceSummary): string {
  const parts = [
    `departments: ${s.depts.created} created, ${s.depts.updated} updated, ${s.depts.deleted} deleted`,
    `users: ${s.users.created} created, ${s.users.updated} updated, ${s.users.disabled} disabled`,
  ];
  if (s.users.inactive > 0) parts.push(`${s.users.inactive} left inactive: no licence seat free`);
  if (s.skipped.length > 0) parts.push(`skipped: ${s.skipped.slice(0, 5).join('; ')}${s.skipped.length > 5 ? '; …' : ''}`);
  return parts.join('; ');
}
