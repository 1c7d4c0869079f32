import type { DirectoryService } from '../../directory/service.js';
import { CONTROL_RE } from '../../directory/service.js';
import type { DeptRecord } from '../../directory/types.js';
import type { DeptId } from '../../protocol/client-v1.js';
import { data, ok, type AppCall, type AppEndpoint, type OpenApiDeps } from '../endpoint.js';
import { fail } from '../errors.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { ORG } from '../org/codes.js';
import { get, input, intOf, mustInt, strOf, userByAccount } from '../org/input.js';
import { orgStore } from '../org/store.js';
import { deptOut, userOut } from '../org/views.js';

/**
 * Departments (wire spec §3.4; docs/open-api.md "Organisation"). The API's
 * department id is the directory's; the root 0 is the directory's top level.
 */

export const ORG_READ = ['org.read', 'org.write'] as const;
export const ORG_WRITE = ['org.write'] as const;
export const MAX_DEPT_NAME_CHARS = 64;
export const MAX_ALIAS_CHARS = 64;
/** Everyone of a department in one answer: the spec's lists are not paged. */
export const ALL = 1_000_000;

function deptName(v: unknown): string {
  if (v === undefined || v === null || v === '') throw fail(ORG.MISSING_DEPT_NAME, 'name is missing');
  if (typeof v !== 'string') throw fail(ORG.BAD_DEPT_NAME, 'name must be a string');
  const n = v.trim();
  if (n === '' || CONTROL_RE.test(n) || n.includes('/')) throw fail(ORG.INVALID_DEPT_NAME, 'name must not be blank or hold / or control characters');
  if ([...n].length > MAX_DEPT_NAME_CHARS) throw fail(ORG.DEPT_NAME_TOO_LONG, `name is longer than ${MAX_DEPT_NAME_CHARS} characters`);
  return n;
}

function aliasOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || CONTROL_RE.test(v) || [...v].length > MAX_ALIAS_CHARS) throw fail(ORG.INVALID_ALIAS, `alias must be a string of at most ${MAX_ALIAS_CHARS} characters`);
  return v.trim();
}

/** A department the call names by `id`: 300109 missing, 300102 not an integer, 300101 the root, 300106 negative, 300114 none. */
export async function deptArg(directory: DirectoryService, v: unknown, allowRoot = false): Promise<DeptRecord | null> {
  const id = mustInt(v, ORG.MISSING_DEPT_ID, ORG.BAD_DEPT_ID, 'id');
  if (id === 0) {
    if (allowRoot) return null;
    throw fail(ORG.ROOT_DEPT, 'the root department (0) cannot be changed');
  }
  if (id < 0) throw fail(ORG.INVALID_DEPT_ID, 'a department id is a positive integer');
  const d = (await directory.listDepts()).find((x) => x.id === id);
  if (!d) throw fail(ORG.DEPT_NOT_FOUND, `department ${id} does not exist`);
  return d;
}

async function parentArg(directory: DirectoryService, v: unknown): Promise<DeptId | null> {
  const p = mustInt(v, ORG.MISSING_PARENT_ID, ORG.BAD_PARENT_ID, 'parentId');
  if (p === 0) return null;
  if (p < 0) throw fail(ORG.INVALID_PARENT_ID, 'parentId must be 0 or a department id');
  if (!(await directory.listDepts()).some((d) => d.id === p)) throw fail(ORG.INVALID_PARENT_ID, `parent department ${p} does not exist`);
  return p as DeptId;
}

function sortIdOf(v: unknown): number | undefined {
  const n = intOf(v, ORG.BAD_SORT_ID, 'sortId');
  if (n !== undefined && n < 0) throw fail(ORG.BAD_SORT_ID, 'sortId must not be negative');
  return n;
}

async function checkSortFree(directory: DirectoryService, parentId: DeptId | null, sortId: number | undefined, self?: DeptId): Promise<void> {
  // 0 is the Java library's default for "not given", so only a chosen sortId must be unique
  if (!sortId) return;
  if ((await directory.childDepts(parentId)).some((d) => d.order === sortId && d.id !== self)) throw fail(ORG.SORT_ID_EXISTS, `sortId ${sortId} is taken under this parent`);
}

function checkAliasFree(deps: OpenApiDeps, alias: string | undefined, self?: number): void {
  if (!alias) return;
  const owner = orgStore(deps.services.db).deptByAlias(alias);
  if (owner !== null && owner !== self) throw fail(ORG.INVALID_ALIAS, `alias ${alias} belongs to department ${owner}`);
}

/** Directory refusals in the department errcodes. */
function deptError(e: unknown): never {
  if (e instanceof GatewayError) {
    if (e.code === 'GW_CONFLICT') throw fail(/department id/.test(e.message) ? ORG.DEPT_ID_EXISTS : ORG.INVALID_DEPT_NAME, e.message);
    if (e.code === 'GW_DEPT_CYCLE') throw fail(ORG.INVALID_PARENT_ID, e.message);
    if (e.code === 'GW_BAD_REQUEST') throw fail(ORG.INVALID_DEPT_NAME, e.message);
    if (e.code === 'GW_NOT_FOUND') throw fail(ORG.DEPT_NOT_FOUND, e.message);
  }
  throw e;
}

async function descendants(directory: DirectoryService, root: DeptId | null): Promise<DeptRecord[]> {
  const all = await directory.listDepts();
  const byParent = new Map<number, DeptRecord[]>();
  for (const d of all) {
    const k = d.parentId ?? 0;
    byParent.set(k, [...(byParent.get(k) ?? []), d]);
  }
  for (const list of byParent.values()) list.sort((a, b) => a.order - b.order || a.id - b.id);
  const out: DeptRecord[] = [];
  const walk = (p: number) => {
    for (const d of byParent.get(p) ?? []) {
      out.push(d);
      walk(d.id);
    }
  };
  walk(root ?? 0);
  return out;
}

export { descendants };

const list = (deps: OpenApiDeps, depts: DeptRecord[]) => data({ deptList: depts.map((d) => deptOut(d, orgStore(deps.services.db))) });

async function createDept(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const name = deptName(get(p, 'name'));
  const parentId = await parentArg(dir, get(p, 'parentId'));
  const id = intOf(get(p, 'id'), ORG.BAD_DEPT_ID, 'id');
  if (id === 0) throw fail(ORG.ROOT_DEPT, 'the root department is 0 and always exists');
  if (id !== undefined && id < 0) throw fail(ORG.INVALID_DEPT_ID, 'a department id is a positive integer');
  if (id !== undefined && (await dir.listDepts()).some((d) => d.id === id)) throw fail(ORG.DEPT_ID_EXISTS, `department ${id} exists`);
  const sortId = sortIdOf(get(p, 'sortId'));
  await checkSortFree(dir, parentId, sortId);
  const alias = aliasOf(get(p, 'alias'));
  checkAliasFree(deps, alias);
  const d = await dir.createDept(parentId, name, sortId ?? 0, 'openapi', null, id as DeptId | undefined).catch(deptError);
  if (alias) orgStore(deps.services.db).setAlias(d.id, alias);
  return data({ id: d.id });
}

async function updateDept(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const d = (await deptArg(dir, get(p, 'id'))) as DeptRecord;
  const name = get(p, 'name') === undefined ? undefined : deptName(get(p, 'name'));
  const parentId = get(p, 'parentId') === undefined ? undefined : await parentArg(dir, get(p, 'parentId'));
  const sortId = sortIdOf(get(p, 'sortId'));
  const alias = aliasOf(field(p, 'alias'));
  const parent = parentId === undefined ? d.parentId : parentId;
  if (sortId !== undefined) await checkSortFree(dir, parent, sortId, d.id);
  checkAliasFree(deps, alias, d.id);
  if (parentId !== undefined && parentId !== d.parentId) {
    for (let cur = parentId; cur !== null; ) {
      if (cur === d.id) throw fail(ORG.INVALID_PARENT_ID, 'a department cannot move under itself or one of its sub-departments');
      cur = (await dir.listDepts()).find((x) => x.id === cur)?.parentId ?? null;
    }
  }
  if (name !== undefined && name !== d.name) await dir.renameDept(d.id, name).catch(deptError);
  if ((parentId !== undefined && parentId !== d.parentId) || (sortId !== undefined && sortId !== d.order)) await dir.moveDept(d.id, parent, sortId ?? d.order).catch(deptError);
  if (alias !== undefined) orgStore(deps.services.db).setAlias(d.id, alias);
  return ok();
}

/** `alias` with '' meaning "remove" (present() would drop it). */
function field(p: Record<string, unknown>, name: string): unknown {
  for (const k of Object.keys(p)) if (k.toLowerCase() === name.toLowerCase()) return p[k];
  return undefined;
}

async function deleteDept(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const d = (await deptArg(dir, get(p, 'id') ?? get(p, 'deptId'))) as DeptRecord;
  if ((await dir.childDepts(d.id)).length > 0) throw fail(ORG.DEPT_HAS_CHILDREN, `${d.name} has sub-departments`);
  if ((await dir.searchUsers({ deptId: d.id, limit: 1 })).total > 0) throw fail(ORG.DEPT_HAS_USERS, `${d.name} has members`);
  await dir.deleteDept(d.id).catch((e: unknown) => {
    if (e instanceof GatewayError && e.code === 'GW_DEPT_NOT_EMPTY') throw fail(ORG.DEPT_HAS_USERS, e.message);
    throw e;
  });
  return ok();
}

/** The `id` of a read: absent means the root (0). */
async function readRoot(call: AppCall, deps: OpenApiDeps): Promise<DeptRecord | null> {
  const p = input(call);
  const v = get(p, 'id') ?? get(p, 'deptId');
  return v === undefined ? null : deptArg(deps.services.directory, v, true);
}

async function sortDept(call: AppCall, deps: OpenApiDeps) {
  const p = input(call);
  const dir = deps.services.directory;
  const d = (await deptArg(dir, get(p, 'id'))) as DeptRecord;
  const behind = intOf(get(p, 'behindDeptId'), ORG.BAD_DEPT_ID, 'behindDeptId') ?? 0;
  const siblings = (await dir.childDepts(d.parentId)).filter((x) => x.id !== d.id);
  const at = behind === 0 ? 0 : siblings.findIndex((x) => x.id === behind) + 1;
  if (at === 0 && behind !== 0) throw fail(ORG.INVALID_DEPT_ID, `department ${behind} is not a sibling of ${d.id}`);
  siblings.splice(at, 0, d);
  // sortIds become 1..n in the new order; only those that change are written
  for (const [i, s] of siblings.entries()) if (s.order !== i + 1) await dir.moveDept(s.id, s.parentId, i + 1);
  return data({});
}

export const DEPT_ENDPOINTS: AppEndpoint[] = [
  { path: '/cgi/dept/create', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: createDept },
  { path: '/cgi/dept/update', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: updateDept },
  { path: '/cgi/dept/delete', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_WRITE, handle: deleteDept },
  {
    path: '/cgi/dept/list', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const root = await readRoot(call, deps);
      return list(deps, [...(root ? [root] : []), ...(await deps.services.directory.childDepts(root?.id ?? null))]);
    },
  },
  {
    path: '/cgi/dept/listchildren', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => list(deps, await deps.services.directory.childDepts((await readRoot(call, deps))?.id ?? null)),
  },
  {
    path: '/cgi/dept/alllistchildren', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => list(deps, await descendants(deps.services.directory, (await readRoot(call, deps))?.id ?? null)),
  },
  {
    path: '/cgi/dept/get', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const d = await readRoot(call, deps);
      if (!d) return data({ id: 0, name: '', parentId: 0, sortId: 0, alias: '' });
      return data(deptOut(d, orgStore(deps.services.db)));
    },
  },
  {
    path: '/cgi/dept/getid', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const store = orgStore(deps.services.db);
      const alias = strOf(get(input(call), 'alias'), ORG.INVALID_ALIAS, 'alias');
      if (alias === undefined) return data({ aliasList: store.aliases() });
      const id = store.deptByAlias(alias);
      if (id === null) throw fail(ORG.DEPT_NOT_FOUND, `no department has alias ${alias.slice(0, 64)}`);
      return data({ id });
    },
  },
  { path: '/cgi/dept/sort', methods: ['POST'], auth: 'token', rights: ORG_WRITE, handle: sortDept },
  {
    path: '/cgi/dept/expand/invisible', methods: ['GET', 'POST'], auth: 'token', body: 'raw', rights: ORG_READ,
    handle: async (call, deps) => {
      const p = input(call);
      const dir = deps.services.directory;
      await userByAccount(dir, get(p, 'userId'));
      const v = get(p, 'deptId') ?? get(p, 'id');
      const d = v === undefined ? null : await deptArg(dir, v, true);
      const store = orgStore(deps.services.db);
      const users = d ? (await dir.searchUsers({ deptId: d.id, limit: ALL })).users : [];
      return data({ deptList: (await dir.childDepts(d?.id ?? null)).map((x) => deptOut(x, store)), userList: users.map((u) => userOut(u, store)) });
    },
  },
];
