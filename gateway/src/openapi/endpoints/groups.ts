import { CONTROL_RE } from '../../directory/service.js';
import type { GroupRecord } from '../../directory/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { GroupId } from '../../protocol/client-v1.js';
import { data, ok, type AppCall, type AppEndpoint, type OpenApiDeps } from '../endpoint.js';
import { ERR, fail } from '../errors.js';
import { ORG } from '../org/codes.js';
import { arrayOf, get, idsOf, input, strOf, userByAccount, usersByAccounts } from '../org/input.js';
import { newGuid, orgStore, type GuidRow } from '../org/store.js';

/**
 * Groups (群; wire spec §3.7; docs/open-api.md "Groups"): directory groups of
 * origin `openapi`, each known to the API by a GUID (`{62A4B7FC-…}`) kept in
 * openapi_groups. Clients see them as ordinary groups; the member limit of
 * Settings applies. Sessions (session/*) are groups too but not addressable here.
 */

export const MAX_GROUP_NAME_CHARS = 32;
export const GROUP_ORIGIN = 'openapi';
const GUID_RE = /^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$/;

/** A GUID as stored: upper case, in braces (a caller may leave the braces out). */
export function normGuid(v: string): string {
  const s = v.trim().toUpperCase();
  return s.startsWith('{') ? s : `{${s}}`;
}

function groupName(v: unknown): string {
  if (v === undefined || v === null || v === '') throw fail(ORG.MISSING_GROUP_NAME, 'name is missing');
  if (typeof v !== 'string' || v.trim() === '' || CONTROL_RE.test(v)) throw fail(ORG.BAD_GROUP_NAME, 'name must be text without control characters');
  if ([...v.trim()].length > MAX_GROUP_NAME_CHARS) throw fail(ORG.GROUP_NAME_TOO_LONG, `name is longer than ${MAX_GROUP_NAME_CHARS} characters`);
  return v.trim();
}

/** The group a call names by `id` (or `groupId`, as the PHP libraries send). */
async function groupArg(deps: OpenApiDeps, p: Record<string, unknown>): Promise<{ row: GuidRow; group: GroupRecord }> {
  const id = strOf(get(p, 'id') ?? get(p, 'groupId'), ORG.INVALID_GROUP_ID, 'id');
  if (id === undefined) throw fail(ORG.MISSING_GROUP_ID, 'id is missing');
  if (!GUID_RE.test(id)) throw fail(ORG.INVALID_GROUP_ID, 'id is a GUID such as {62A4B7FC-8648-4365-A1C4-2F5FDEB26C7F}');
  const row = orgStore(deps.services.db).byGuid(normGuid(id));
  const group = row?.kind === 'group' ? await deps.services.directory.getGroup(row.groupId as GroupId) : null;
  if (!row || !group) throw fail(ORG.GROUP_NOT_FOUND, `no group ${id.slice(0, 40)}`);
  return { row, group };
}

/** The member-limit refusal keeps its message; the spec has no errcode for it (docs/open-api.md). */
export function limitError(e: unknown): never {
  if (e instanceof GatewayError && e.code === 'GW_GROUP_LIMIT') throw fail(ERR.INVALID_REQUEST, e.message);
  throw e;
}

async function members(call: AppCall, deps: OpenApiDeps, add: boolean) {
  const p = input(call);
  const { group } = await groupArg(deps, p);
  const list = arrayOf(get(p, 'userList'), ORG.GROUP_INVALID_USER, 'userList');
  if (!list || list.length === 0) throw fail(ORG.GROUP_INVALID_USER, 'userList is missing');
  const users = idsOf(await usersByAccounts(deps.services.directory, list, ORG.GROUP_INVALID_USER));
  await deps.services.directory.changeGroupMembers(group.id, add ? users : [], add ? [] : users).catch(limitError);
  return ok();
}

export const GROUP_ENDPOINTS: AppEndpoint[] = [
  {
    path: '/cgi/group/create', methods: ['POST'], auth: 'token', rights: ['group'],
    handle: async (call, deps) => {
      const name = groupName(get(input(call), 'name'));
      const guid = newGuid();
      const g = await deps.services.directory.createGroup(name, null, [], GROUP_ORIGIN, guid);
      orgStore(deps.services.db).addGuid(guid, g.id, 'group');
      return data({ id: guid });
    },
  },
  {
    path: '/cgi/group/delete', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ['group'],
    handle: async (call, deps) => {
      const { group } = await groupArg(deps, input(call));
      await deps.services.directory.deleteGroup(group.id);
      return ok();
    },
  },
  {
    path: '/cgi/group/update', methods: ['POST'], auth: 'token', rights: ['group'],
    handle: async (call, deps) => {
      const p = input(call);
      const { group } = await groupArg(deps, p);
      await deps.services.directory.renameGroup(group.id, groupName(get(p, 'name')));
      return ok();
    },
  },
  {
    path: '/cgi/group/info', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ['group'],
    handle: async (call, deps) => {
      const { row, group } = await groupArg(deps, input(call));
      const dir = deps.services.directory;
      const users = await dir.getUsers(group.memberIds);
      const byId = new Map(users.map((u) => [u.id, u]));
      const admin = group.ownerId === null ? '' : (byId.get(group.ownerId)?.account ?? (await dir.getUser(group.ownerId))?.account ?? '');
      const list = group.memberIds.map((id) => byId.get(id)).filter((u) => u !== undefined);
      return data({ id: row.guid, name: group.name, admin, members: list.map((u) => ({ account: u.account, name: u.name, mobile: u.mobile })) });
    },
  },
  {
    path: '/cgi/group/list', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ['group'],
    handle: async (call, deps) => {
      const p = input(call);
      const store = orgStore(deps.services.db);
      const dir = deps.services.directory;
      let groups: GroupRecord[];
      if (get(p, 'userId') !== undefined) {
        const u = await userByAccount(dir, get(p, 'userId'), ORG.GROUP_INVALID_USER);
        groups = (await dir.groupsOfUser(u.id)).filter((g) => store.guidOf(g.id)?.kind === 'group');
      } else {
        const rows = store.listGuids('group');
        groups = (await Promise.all(rows.map((r) => dir.getGroup(r.groupId as GroupId)))).filter((g): g is GroupRecord => g !== null);
      }
      return data({ groupList: groups.map((g) => ({ id: store.guidOf(g.id)?.guid ?? '', name: g.name })) });
    },
  },
  { path: '/cgi/group/addmember', methods: ['POST'], auth: 'token', rights: ['group'], handle: (call, deps) => members(call, deps, true) },
  { path: '/cgi/group/delmember', methods: ['POST'], auth: 'token', rights: ['group'], handle: (call, deps) => members(call, deps, false) },
  {
    path: '/cgi/group/ismember', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ['group'],
    handle: async (call, deps) => {
      const p = input(call);
      const { group } = await groupArg(deps, p);
      const u = await userByAccount(deps.services.directory, get(p, 'userId'), ORG.GROUP_INVALID_USER);
      return data({ belong: group.memberIds.includes(u.id) });
    },
  },
];
