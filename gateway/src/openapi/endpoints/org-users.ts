import { hashMd5Password } from '../../auth/password.js';
import { EMAIL_RE, MOBILE_RE, CONTROL_RE } from '../../directory/service.js';
import type { Gender, UserRecord } from '../../directory/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { DeptId, UserId } from '../../protocol/client-v1.js';
import { data, ok, type AppCall, type AppEndpoint, type OpenApiDeps } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { ORG } from '../org/codes.js';
import { arrayOf, get, input, intOf, mustInt, strOf, USER_ID_RE, userByAccount, usersByAccounts } from '../org/input.js';
import { orgStore, type DeptDetail } from '../org/store.js';
import { simpleUserOut, userOut } from '../org/views.js';
import { ALL, deptArg, descendants, ORG_READ, ORG_WRITE } from './org-depts.js';

/**
 * Users (wire spec §3.5; docs/open-api.md "Organisation"). The API's userId is
 * the directory account, its gid the directory's user id. enableState maps to
 * status and authorisation: −1 disabled (seat released), 0 active but not
 * authorised, 1 authorised (takes a licence seat).
 */

export const MAX_USER_DEPTS = 20;
export const MAX_BATCH_DELETE = 200;
export const MAX_QUIT_LIST = 1000;
const MAX_USER_ID_CHARS = 64;
const MAX_NAME_CHARS = 64;
const MAX_EMAIL_CHARS = 128;
const MAX_POSITION_CHARS = 64;

function userIdOf(v: unknown): string {
  const s = strOf(v, ORG.BAD_USER_ID, 'userId');
  if (s === undefined) throw fail(ORG.MISSING_USER_ID, 'userId is missing');
  if (s.length > MAX_USER_ID_CHARS) throw fail(ORG.USER_ID_TOO_LONG, `userId is longer than ${MAX_USER_ID_CHARS} characters`);
  if (!USER_ID_RE.test(s)) throw fail(ORG.INVALID_USER_ID, 'userId is letters, digits and . _ @ -, starting with a letter or digit');
  return s;
}

function nameOf(v: unknown): string {
  if (v === undefined || v === null || v === '') throw fail(ORG.MISSING_USER_NAME, 'name is missing');
  if (typeof v !== 'string' || v.trim() === '' || CONTROL_RE.test(v)) throw fail(ORG.BAD_NAME, 'name must be text without control characters');
  if ([...v.trim()].length > MAX_NAME_CHARS) throw fail(ORG.NAME_TOO_LONG, `name is longer than ${MAX_NAME_CHARS} characters`);
  return v.trim();
}

function genderOf(v: unknown): Gender | undefined {
  const g = intOf(v, ORG.BAD_GENDER, 'gender');
  if (g === undefined) return undefined;
  if (g !== 0 && g !== 1) throw fail(ORG.BAD_GENDER, 'gender is 0 (male) or 1 (female)');
  return g === 1 ? 'female' : 'male';
}

function optText(v: unknown, re: RegExp, code: number, what: string, max = 64, tooLong = code): string | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return '';
  if (typeof v !== 'string') throw fail(code, `${what} must be a string`);
  if (v.length > max) throw fail(tooLong, `${what} is longer than ${max} characters`);
  if (!re.test(v.trim())) throw fail(code, `${what} is not valid`);
  return v.trim();
}

async function deptsOf(deps: OpenApiDeps, v: unknown): Promise<DeptId[] | undefined> {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw fail(ORG.BAD_USER_DEPT, 'dept must be an array of department ids');
  const ids = v.map((x) => intOf(x, ORG.BAD_USER_DEPT, 'dept'));
  if (ids.some((x) => x === undefined || x <= 0)) throw fail(ORG.BAD_USER_DEPT, 'dept must be an array of department ids');
  const unique = [...new Set(ids as number[])];
  if (unique.length > MAX_USER_DEPTS) throw fail(ORG.TOO_MANY_DEPTS, `a user belongs to at most ${MAX_USER_DEPTS} departments`);
  const known = new Set((await deps.services.directory.listDepts()).map((d) => d.id as number));
  const missing = unique.filter((d) => !known.has(d));
  if (missing.length > 0) throw fail(ORG.DEPT_NOT_FOUND, `department ${missing.join(', ')} does not exist`);
  return unique as DeptId[];
}

function enableStateOf(v: unknown): -1 | 0 | 1 | undefined {
  const n = intOf(v, ERR.BAD_REQUEST, 'enableState');
  if (n === undefined) return undefined;
  if (n !== -1 && n !== 0 && n !== 1) throw fail(ERR.BAD_REQUEST, 'enableState is −1 (disabled), 0 (inactive) or 1 (authorised)');
  return n;
}

function attrsOf(v: unknown): { name: string; value: string }[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw fail(ERR.BAD_REQUEST, 'attrs must be an array of {name, value}');
  return v.map((a) => {
    const name = get(a as Record<string, unknown>, 'name');
    const value = get(a as Record<string, unknown>, 'value');
    if (!a || typeof a !== 'object' || typeof name !== 'string' || (value !== undefined && typeof value !== 'string' && typeof value !== 'number')) {
      throw fail(ERR.BAD_REQUEST, 'attrs must be an array of {name, value}');
    }
    return { name, value: value === undefined ? '' : String(value) };
  });
}

function detailOf(v: unknown, code = ORG.BAD_POSITIONS): Omit<DeptDetail, 'deptId'> & { deptId?: number } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail(code, 'deptDetail items are {deptId, position, weight, sortId}');
  const o = v as Record<string, unknown>;
  const position = get(o, 'position');
  if (position !== undefined && (typeof position !== 'string' || [...position].length > MAX_POSITION_CHARS || CONTROL_RE.test(position))) throw fail(ORG.BAD_POSITION, `position is text of at most ${MAX_POSITION_CHARS} characters`);
  const deptId = intOf(get(o, 'deptId'), ORG.BAD_USER_DEPT, 'deptId');
  return {
    ...(deptId !== undefined ? { deptId } : {}),
    position: (position as string | undefined)?.trim() ?? '',
    weight: intOf(get(o, 'weight'), ORG.BAD_WEIGHT, 'weight') ?? 0,
    sortId: intOf(get(o, 'sortId'), ORG.BAD_SORT, 'sortId') ?? 0,
  };
}

function detailsOf(v: unknown, depts: DeptId[]): DeptDetail[] | undefined {
  const list = arrayOf(v, ORG.BAD_POSITIONS, 'deptDetail');
  if (list === undefined) return undefined;
  return list.map((x) => {
    const d = detailOf(x);
    if (d.deptId === undefined) throw fail(ORG.BAD_POSITIONS, 'each deptDetail names its deptId');
    if (!depts.includes(d.deptId as DeptId)) throw fail(ORG.USER_NOT_IN_DEPT, `the user is not in department ${d.deptId}`);
    return d as DeptDetail;
  });
}

const isLicence = (e: unknown) => typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('GW_LICENCE');
const licenceFail = (e: unknown): never => {
  if (isLicence(e)) throw fail(ERR.NO_PERMISSION, (e as Error).message);
  throw e;
};

/** Puts users in an enable state: −1 disables them (sessions close, seat freed), 0 de-authorises, 1 authorises within the licence. */
export async function applyEnableState(deps: OpenApiDeps, users: UserRecord[], state: -1 | 0 | 1): Promise<void> {
  const dir = deps.services.directory;
  if (state === 1) {
    const need = users.filter((u) => !u.authorised || u.status === 'disabled');
    const toAuthorise = need.filter((u) => !u.authorised);
    await deps.services.licence
      .withSeats(toAuthorise.length, async () => {
        for (const u of need) {
          if (u.status === 'disabled') await dir.setStatus(u.id, 'active');
          if (!u.authorised) await dir.setAuthorised(u.id, true);
        }
      })
      .catch(licenceFail);
    return;
  }
  for (const u of users) {
    if (state === -1 && u.status !== 'disabled') await dir.setStatus(u.id, 'disabled');
    if (state === 0 && u.status === 'disabled') await dir.setStatus(u.id, 'active');
    if (u.authorised) await dir.setAuthorised(u.id, false);
  }
}

function userError(e: unknown): never {
  if (e instanceof GatewayError) {
    if (e.code === 'GW_CONFLICT') throw fail(ORG.USER_EXISTS, e.message);
    if (e.code === 'GW_BAD_REQUEST') throw fail(ORG.BAD_USER, e.message);
  }
  return licenceFail(e);
}

async function createUser(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const account = userIdOf(get(p, 'userId'));
  const name = nameOf(get(p, 'name'));
  const gender = genderOf(get(p, 'gender')) ?? 'male';
  const mobile = optText(get(p, 'mobile'), MOBILE_RE, ORG.BAD_MOBILE, 'mobile');
  const phone = optText(get(p, 'phone'), MOBILE_RE, ORG.BAD_PHONE, 'phone');
  const email = optText(get(p, 'email'), EMAIL_RE, ORG.BAD_EMAIL, 'email', MAX_EMAIL_CHARS, ORG.EMAIL_TOO_LONG);
  const depts = await deptsOf(deps, get(p, 'dept'));
  if (!depts || depts.length === 0) throw fail(ORG.USER_NO_DEPT, 'dept must name at least one department');
  const state = enableStateOf(get(p, 'enableState'));
  const shortCode = strOf(get(p, 'shortCode'), ERR.BAD_REQUEST, 'shortCode') ?? '';
  const attrs = attrsOf(get(p, 'attrs')) ?? [];
  const details = detailsOf(get(p, 'deptDetail'), depts) ?? [];
  if (await dir.getUserByAccount(account)) throw fail(ORG.USER_EXISTS, `user ${account} exists`);
  const title = details.find((d) => d.deptId === depts[0])?.position ?? '';
  const make = (authorised: boolean) =>
    dir.createUser({
      account, name, gender, deptIds: depts, authorised, origin: 'openapi', title,
      ...(mobile !== undefined ? { mobile } : {}), ...(phone !== undefined ? { phone } : {}), ...(email !== undefined ? { email } : {}),
      ...(state === -1 ? { status: 'disabled' as const } : {}),
    });
  let u: UserRecord;
  if (state === -1 || state === 0) u = await make(false).catch(userError);
  else if (state === 1) u = await deps.services.licence.withSeats(1, () => make(true)).catch(userError);
  // enableState absent: authorised when a seat is free, else created inactive (docs/open-api.md)
  else u = await deps.services.licence.withSeats(1, () => make(true)).catch((e: unknown) => (isLicence(e) ? make(false).catch(userError) : userError(e)));
  const store = orgStore(deps.services.db);
  store.setExtra(u.id, { shortCode, attrs });
  store.replaceDetails(u.id, details);
  return ok();
}

async function updateUser(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const u = await userByAccount(dir, get(p, 'userId'));
  const name = get(p, 'name') === undefined ? undefined : nameOf(get(p, 'name'));
  const gender = genderOf(get(p, 'gender'));
  const mobile = optText(get(p, 'mobile'), MOBILE_RE, ORG.BAD_MOBILE, 'mobile');
  const phone = optText(get(p, 'phone'), MOBILE_RE, ORG.BAD_PHONE, 'phone');
  const email = optText(get(p, 'email'), EMAIL_RE, ORG.BAD_EMAIL, 'email', MAX_EMAIL_CHARS, ORG.EMAIL_TOO_LONG);
  const depts = await deptsOf(deps, get(p, 'dept'));
  if (depts && depts.length === 0) throw fail(ORG.USER_NO_DEPT, 'dept must name at least one department');
  const state = enableStateOf(get(p, 'enableState'));
  const shortCode = strOf(get(p, 'shortCode'), ERR.BAD_REQUEST, 'shortCode');
  const attrs = attrsOf(get(p, 'attrs'));
  const finalDepts = depts ?? u.depts.map((d) => d.deptId);
  const details = detailsOf(get(p, 'deptDetail'), finalDepts);
  const store = orgStore(deps.services.db);
  const title = details?.find((d) => d.deptId === finalDepts[0])?.position;
  await dir
    .editUser(u.id, {
      ...(name !== undefined ? { name } : {}), ...(gender !== undefined ? { gender } : {}), ...(mobile !== undefined ? { mobile } : {}),
      ...(phone !== undefined ? { phone } : {}), ...(email !== undefined ? { email } : {}), ...(depts !== undefined ? { deptIds: depts } : {}),
      ...(title !== undefined ? { title } : {}),
    })
    .catch(userError);
  if (shortCode !== undefined || attrs !== undefined) store.setExtra(u.id, { ...(shortCode !== undefined ? { shortCode } : {}), ...(attrs !== undefined ? { attrs } : {}) });
  if (details !== undefined) store.replaceDetails(u.id, details);
  else if (depts !== undefined) {
    const keep = [...store.details(u.id).values()].filter((d) => depts.includes(d.deptId as DeptId));
    store.replaceDetails(u.id, keep);
  }
  if (state !== undefined) await applyEnableState(deps, [await dir.mustUser(u.id)], state);
  return ok();
}

async function positionUpdate(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const u = await userByAccount(dir, get(p, 'userId'));
  const deptId = mustInt(get(p, 'deptId'), ORG.MISSING_DEPT_ID, ORG.BAD_DEPT_ID, 'deptId');
  const inDept = u.depts.find((d) => d.deptId === deptId);
  if (!inDept) throw fail(ORG.USER_NOT_IN_DEPT, `${u.account} is not in department ${deptId}`);
  const store = orgStore(deps.services.db);
  const cur = store.details(u.id).get(deptId) ?? { deptId, position: inDept.main ? u.title : '', weight: 0, sortId: 0 };
  const d = detailOf(p);
  const next: DeptDetail = {
    deptId,
    position: get(p, 'position') === undefined ? cur.position : d.position,
    weight: get(p, 'weight') === undefined ? cur.weight : d.weight,
    sortId: get(p, 'sortId') === undefined ? cur.sortId : d.sortId,
  };
  if (inDept.main && next.position !== u.title) await dir.editUser(u.id, { title: next.position }).catch(userError);
  store.setDetail(u.id, next);
  return ok();
}

async function deleteUsers(deps: OpenApiDeps, users: UserRecord[]): Promise<void> {
  for (const u of users) await deps.services.directory.deleteUser(u.id as UserId);
}

function listOf(v: unknown, max: number): unknown[] {
  const list = arrayOf(v, ORG.BAD_USER_LIST, 'the user list');
  if (list === undefined || list.length === 0) throw fail(ORG.MISSING_USER_LIST, 'the user list is missing');
  if (list.length > max) throw fail(ORG.USER_LIST_TOO_LONG, `at most ${max} users per call`);
  return list;
}

/** The users of a department (`deptId`; 0 = the top level, which holds nobody directly). */
async function deptUsers(deps: OpenApiDeps, call: AppCall, subtree: boolean): Promise<UserRecord[]> {
  const p = input(call);
  const dir = deps.services.directory;
  const d = await deptArg(dir, get(p, 'deptId') ?? get(p, 'id'), true);
  if (!subtree) return d ? (await dir.searchUsers({ deptId: d.id, limit: ALL })).users : [];
  if (!d) return (await dir.searchUsers({ limit: ALL })).users;
  const ids = [d.id, ...(await descendants(dir, d.id)).map((x) => x.id)];
  return (await dir.searchUsers({ deptIds: ids, limit: ALL })).users;
}

function quitOut(u: UserRecord, deps: OpenApiDeps) {
  const x = orgStore(deps.services.db).extra(u.id);
  return { gid: u.id, account: u.account, chsName: u.name, gender: u.gender === 'female' ? 1 : 0, mobile: u.mobile, phone: u.phone, email: u.email, shortCode: x.shortCode };
}

async function quit(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const users = await usersByAccounts(deps.services.directory, listOf(get(p, 'accList'), MAX_QUIT_LIST), ORG.USER_NOT_FOUND);
  await applyEnableState(deps, users, -1);
  const store = orgStore(deps.services.db);
  for (const u of users) store.setExtra(u.id, { quitAt: Date.now() });
  // the Java library throws unless the reply carries `encrypt` (wire spec §3.5)
  return data({});
}

async function restore(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const gid = intOf(get(p, 'gid'), ERR.BAD_REQUEST, 'gid');
  const account = strOf(get(p, 'account'), ORG.BAD_USER_ID, 'account');
  const u = gid !== undefined ? await dir.getUser(gid as UserId) : account !== undefined ? await dir.getUserByAccount(account) : null;
  if (gid === undefined && account === undefined) throw fail(ORG.MISSING_USER_ID, 'gid is missing');
  if (!u) throw fail(ORG.USER_NOT_FOUND, 'no such user');
  const store = orgStore(deps.services.db);
  if (store.extra(u.id).quitAt === null) throw fail(ORG.USER_NOT_FOUND, `${u.account} has not quit`);
  // back as active; authorised again when a seat is free, else inactive until someone authorises them
  await dir.setStatus(u.id, 'active');
  await deps.services.licence.withSeats(1, () => dir.setAuthorised(u.id, true)).catch((e: unknown) => (isLicence(e) ? null : Promise.reject(e)));
  store.setExtra(u.id, { quitAt: null });
  return data(quitOut(await dir.mustUser(u.id), deps));
}

export const USER_ENDPOINTS: AppEndpoint[] = [
  { path: '/cgi/user/create', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: createUser },
  { path: '/cgi/user/update', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: updateUser },
  { path: '/cgi/user/positionupdate', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: positionUpdate },
  {
    path: '/cgi/user/delete', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_WRITE,
    handle: async (call, deps) => {
      await deleteUsers(deps, [await userByAccount(deps.services.directory, get(input(call), 'userId'))]);
      return ok();
    },
  },
  {
    path: '/cgi/user/batchdelete', methods: ['POST'], auth: 'token', rights: ORG_WRITE,
    handle: async (call, deps) => {
      const list = listOf(get(input(call), 'delList'), MAX_BATCH_DELETE);
      // every user is checked before anyone is deleted
      await deleteUsers(deps, await usersByAccounts(deps.services.directory, list, ORG.USER_NOT_FOUND));
      return ok();
    },
  },
  {
    path: '/cgi/user/get', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => data(userOut(await userByAccount(deps.services.directory, get(input(call), 'userId')), orgStore(deps.services.db))),
  },
  {
    path: '/cgi/user/list', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => data({ userList: (await deptUsers(deps, call, false)).map((u) => userOut(u, orgStore(deps.services.db))) }),
  },
  {
    path: '/cgi/user/simplelist', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => data({ userList: (await deptUsers(deps, call, false)).map(simpleUserOut) }),
  },
  {
    path: '/cgi/dept/user/listall', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => data({ userList: (await deptUsers(deps, call, true)).map((u) => userOut(u, orgStore(deps.services.db))) }),
  },
  {
    path: '/cgi/user/setauth', methods: ['POST'], auth: 'token', rights: ORG_WRITE,
    handle: async (call, deps) => {
      const p = input(call);
      const u = await userByAccount(deps.services.directory, get(p, 'userId'));
      const authType = intOf(get(p, 'authType'), ORG.BAD_AUTH_TYPE, 'authType') ?? 0;
      if (authType !== 0 && authType !== 1 && authType !== 2) throw fail(ORG.BAD_AUTH_TYPE, 'authType is 0 (local), 1 (RTX) or 2 (third party)');
      const passwd = get(p, 'passwd');
      if (authType === 0 && passwd !== undefined) {
        if (typeof passwd !== 'string' || !/^[0-9a-fA-F]{32}$/.test(passwd)) throw fail(ORG.BAD_PASSWORD, 'passwd is the lower-case hex MD5 of the password');
        await deps.services.directory.setPasswordHash(u.id, await hashMd5Password(passwd));
      }
      // the app that makes a user third-party is the one that checks their password (docs/apps-callbacks.md)
      orgStore(deps.services.db).setExtra(u.id, { authType, authAppRow: authType === 2 ? call.app.rowId : null });
      return ok();
    },
  },
  {
    path: '/cgi/user/extend/update', methods: ['POST'], auth: 'token', rights: ORG_WRITE,
    handle: async (call, deps) => {
      const p = input(call);
      const u = await userByAccount(deps.services.directory, get(p, 'userId'));
      const key = get(p, 'key');
      if (typeof key !== 'string' || key.toLowerCase() !== 'needchangepwd') throw fail(ERR.BAD_REQUEST, 'key must be needchangepwd');
      const value = String(get(p, 'value') ?? '');
      if (value !== '0' && value !== '1') throw fail(ERR.BAD_REQUEST, 'value must be "0" or "1"');
      orgStore(deps.services.db).setExtra(u.id, { needChangePwd: value === '1' });
      return ok();
    },
  },
  {
    path: '/cgi/user/enable/state', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => data({ enableState: userOut(await userByAccount(deps.services.directory, get(input(call), 'userId')), orgStore(deps.services.db)).enableState }),
  },
  {
    path: '/cgi/user/enable/stateupdate', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_WRITE,
    handle: async (call, deps) => {
      const p = input(call);
      const users = await usersByAccounts(deps.services.directory, listOf(get(p, 'userIdList'), MAX_QUIT_LIST), ORG.USER_NOT_FOUND);
      const state = enableStateOf(get(p, 'enableState'));
      if (state === undefined) throw fail(ERR.BAD_REQUEST, 'enableState is missing');
      await applyEnableState(deps, users, state);
      return ok();
    },
  },
  { path: '/cgi/user/quit', aliases: ['/cgi/user.quit'], methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: quit },
  { path: '/cgi/user/restore', aliases: ['/cgi/user.restore'], methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: restore },
  {
    path: '/cgi/user/quit/search', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const account = strOf(get(input(call), 'account'), ORG.BAD_USER_ID, 'account');
      const users = await deps.services.directory.getUsers(orgStore(deps.services.db).quitUserIds() as UserId[]);
      const hits = users.filter((u) => account === undefined || u.account.toLowerCase().includes(account.toLowerCase())).sort((a, b) => a.id - b.id);
      return data({ userList: hits.map((u) => quitOut(u, deps)) });
    },
  },
];
