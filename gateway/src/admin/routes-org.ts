import type { FastifyInstance } from 'fastify';
import type { DeptRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';
import type { DeptCreateInput, DeptListView, DeptNodeView, DeptPatchInput } from './api-types-org.js';
import { actionContext, ADMIN_PREFIX, requireAdmin } from './http.js';
import { targets } from './rbac.js';
import { Right } from './rights.js';
import { checkRtxOwnedDeptPatch } from '../rtx/owned.js';

/** Bodies of the organisation and member routes are small. */
export const ORG_BODY_BYTES = 64 * 1024;
/** The largest sort order a department or member may have. */
export const MAX_ORDER = 1_000_000_000;

export interface OrgRouteDeps {
  services: Services;
}

// ---- request checks shared with routes-members.ts ----

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

/** The body as an object whose every field is in `allowed`, or GW_BAD_REQUEST naming the first stranger. */
export function body(v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('the body must be a JSON object');
  const unknown = Object.keys(v).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw bad(`unknown field ${unknown.slice(0, 3).join(', ').slice(0, 100)}; allowed: ${allowed.join(', ')}`);
  return v as Record<string, unknown>;
}

/** A query string with only `allowed` keys, each given once. */
export function query(v: unknown, allowed: readonly string[]): Record<string, string | undefined> {
  const q = (v ?? {}) as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const [k, x] of Object.entries(q)) {
    if (!allowed.includes(k)) throw bad(`unknown query parameter ${k.slice(0, 40)}; allowed: ${allowed.join(', ')}`);
    if (typeof x !== 'string') throw bad(`query parameter ${k} must be given once`);
    out[k] = x;
  }
  return out;
}

export function intField(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/** An id from a JSON body (a number) or a path/query string ("12"). */
export function idField(name: string, v: unknown): number {
  const n = typeof v === 'string' && /^[1-9]\d{0,14}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw bad(`${name} must be a positive integer id`);
  return n;
}

export function strField(name: string, v: unknown, max: number): string {
  if (typeof v !== 'string') throw bad(`${name} must be a string`);
  if ([...v].length > max) throw bad(`${name} is longer than ${max} characters`);
  return v;
}

export function boolField(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(`${name} must be true or false`);
  return v;
}

/** A department id, or null for the organisation root. */
function parentField(name: string, v: unknown): DeptId | null {
  return v === null ? null : (idField(name, v) as DeptId);
}

// ---- department helpers ----

/** The departments by id, read once per request (the directory has no single-department lookup). */
export async function deptMap(services: Services): Promise<Map<DeptId, DeptRecord>> {
  return new Map((await services.directory.listDepts()).map((d) => [d.id, d] as const));
}

export function deptPath(byId: Map<DeptId, DeptRecord>, id: DeptId): string {
  const names: string[] = [];
  for (let d = byId.get(id); d && names.length < 256; d = d.parentId === null ? undefined : byId.get(d.parentId)) names.push(d.name);
  return names.reverse().join('/');
}

function mustDept(byId: Map<DeptId, DeptRecord>, id: DeptId): DeptRecord {
  const d = byId.get(id);
  if (!d) throw new GatewayError('GW_NOT_FOUND', `department ${id} does not exist`);
  return d;
}

function deptLog(d: DeptRecord, byId: Map<DeptId, DeptRecord>) {
  return { id: d.id, name: d.name, parentId: d.parentId, path: deptPath(byId, d.id), order: d.order };
}

const byOrder = (a: DeptRecord, b: DeptRecord) => a.order - b.order || a.name.localeCompare(b.name, 'zh') || a.id - b.id;

/**
 * Departments (F-3.1): the lazily loaded tree, create, rename, move, reorder,
 * delete. Every change needs the `org` right over its target (docs/admin-api.md,
 * "When is a target inside the scope?") and is written to the action log.
 */
export function registerOrgRoutes(app: FastifyInstance, deps: OrgRouteDeps): void {
  const { services } = deps;
  const { directory, admin } = services;

  const node = async (d: DeptRecord, byId: Map<DeptId, DeptRecord>): Promise<DeptNodeView> => {
    const memberCount = (await directory.searchUsers({ deptId: d.id, limit: 0 })).total;
    let subDeptCount = 0;
    for (const x of byId.values()) if (x.parentId === d.id) subDeptCount++;
    return { id: d.id, parentId: d.parentId, name: d.name, path: deptPath(byId, d.id), order: d.order, memberCount, subDeptCount, hasChildren: subDeptCount > 0 };
  };

  // Any administrator may browse the departments inside the scopes of their roles: the member, authorisation and device pages need the tree too.
  app.get(`${ADMIN_PREFIX}/depts`, { preHandler: requireAdmin() }, async (req): Promise<DeptListView> => {
    const ctx = actionContext(req);
    const q = query(req.query, ['parentId']);
    const parentId = q.parentId === undefined || q.parentId === 'root' ? null : (idField('parentId', q.parentId) as DeptId);
    const visible = await admin.scopeFilter(ctx.admin);
    const byId = await deptMap(services);
    if (parentId !== null) mustDept(byId, parentId);
    let list: DeptRecord[];
    if (visible === null) {
      list = await directory.childDepts(parentId);
    } else if (parentId === null) {
      // a scoped administrator's top level: the highest departments of their scopes
      list = [...visible].map((id) => byId.get(id)).filter((d): d is DeptRecord => !!d && (d.parentId === null || !visible.has(d.parentId)));
    } else {
      if (!visible.has(parentId)) {
        const roots = [...visible].filter((v) => { const p = byId.get(v)?.parentId ?? null; return p === null || !visible.has(p); });
        const scope = roots.length > 0 ? `you may only see ${roots.map((r) => deptPath(byId, r)).join(', ')}` : 'your roles reach no department';
        throw new GatewayError('GW_FORBIDDEN', `${scope}; ${deptPath(byId, parentId)} is outside it`, { details: { deptId: parentId } });
      }
      list = await directory.childDepts(parentId);
    }
    return { parentId, depts: await Promise.all([...list].sort(byOrder).map((d) => node(d, byId))) };
  });

  // One department by id (its name and path), for a console that holds an id it has not browsed to, e.g. a member's new department.
  app.get(`${ADMIN_PREFIX}/depts/:id`, { preHandler: requireAdmin() }, async (req): Promise<DeptNodeView> => {
    const ctx = actionContext(req);
    query(req.query, []);
    const id = idField('department id', (req.params as { id: string }).id) as DeptId;
    const byId = await deptMap(services);
    const d = mustDept(byId, id);
    const visible = await admin.scopeFilter(ctx.admin);
    if (visible !== null && !visible.has(id)) throw new GatewayError('GW_FORBIDDEN', `${deptPath(byId, id)} is outside the departments you may see`, { details: { deptId: id } });
    return node(d, byId);
  });

  app.post(`${ADMIN_PREFIX}/depts`, { preHandler: requireAdmin(Right.Org), bodyLimit: ORG_BODY_BYTES }, async (req, reply) => {
    const ctx = actionContext(req);
    const b = body(req.body, ['parentId', 'name', 'order']) as Partial<Record<keyof DeptCreateInput, unknown>>;
    if (!('parentId' in b)) throw bad('parentId is required (null for a top-level department)');
    const parentId = parentField('parentId', b.parentId);
    const name = strField('name', b.name, 64);
    const order = b.order === undefined ? 0 : intField('order', b.order, 0, MAX_ORDER);
    await admin.authorise(ctx.admin, Right.Org, targets.deptChild(parentId));
    const d = await directory.createDept(parentId, name, order);
    const byId = await deptMap(services);
    await admin.logAction(ctx.admin, 'dept.create', { kind: 'dept', id: d.id, label: deptPath(byId, d.id) }, null, deptLog(d, byId), ctx.address);
    return reply.status(201).send(await node(d, byId));
  });

  app.patch(`${ADMIN_PREFIX}/depts/:id`, { preHandler: requireAdmin(Right.Org), bodyLimit: ORG_BODY_BYTES }, async (req) => {
    const ctx = actionContext(req);
    const id = idField('department id', (req.params as { id: string }).id) as DeptId;
    const b = body(req.body, ['name', 'parentId', 'order']) as Partial<Record<keyof DeptPatchInput, unknown>>;
    const name = b.name === undefined ? undefined : strField('name', b.name, 64);
    const parentId = b.parentId === undefined ? undefined : parentField('parentId', b.parentId);
    const order = b.order === undefined ? undefined : intField('order', b.order, 0, MAX_ORDER);
    if (name === undefined && parentId === undefined && order === undefined) throw bad('give at least one of name, parentId, order');
    const byId = await deptMap(services);
    const cur = mustDept(byId, id);
    checkRtxOwnedDeptPatch(cur, { ...(name !== undefined ? { name } : {}), ...(parentId !== undefined ? { parentId } : {}), ...(order !== undefined ? { order } : {}) });
    const moving = parentId !== undefined && parentId !== cur.parentId;
    if (moving) {
      if (parentId !== null) mustDept(byId, parentId);
      await admin.authorise(ctx.admin, Right.Org, targets.deptMove(cur.parentId, parentId));
      // refused before anything is written, so a rename in the same request does not happen alone
      for (let p = parentId; p !== null; p = byId.get(p)?.parentId ?? null) {
        if (p === id) throw new GatewayError('GW_DEPT_CYCLE', `cannot move ${deptPath(byId, id)} under itself or one of its sub-departments (${deptPath(byId, parentId as DeptId)})`);
      }
      const newName = name?.trim() ?? cur.name;
      const clash = (await directory.childDepts(parentId)).find((d) => d.id !== id && d.name === newName);
      if (clash) throw new GatewayError('GW_CONFLICT', `a department named ${newName} already exists under ${parentId === null ? 'the top level' : deptPath(byId, parentId)}`);
    } else {
      await admin.authorise(ctx.admin, Right.Org, targets.dept(id));
    }
    let d = cur;
    if (moving || order !== undefined) d = await directory.moveDept(id, moving ? (parentId as DeptId | null) : cur.parentId, order);
    if (name !== undefined && name.trim() !== cur.name) d = await directory.renameDept(id, name);
    const after = await deptMap(services);
    await admin.logAction(ctx.admin, moving ? 'dept.move' : 'dept.update', { kind: 'dept', id, label: deptPath(after, id) }, deptLog(cur, byId), deptLog(d, after), ctx.address);
    return node(d, after);
  });

  app.delete(`${ADMIN_PREFIX}/depts/:id`, { preHandler: requireAdmin(Right.Org) }, async (req, reply) => {
    const ctx = actionContext(req);
    const id = idField('department id', (req.params as { id: string }).id) as DeptId;
    const byId = await deptMap(services);
    const cur = mustDept(byId, id);
    await admin.authorise(ctx.admin, Right.Org, targets.deptChild(cur.parentId));
    await directory.deleteDept(id);
    await admin.logAction(ctx.admin, 'dept.delete', { kind: 'dept', id, label: deptPath(byId, id) }, deptLog(cur, byId), null, ctx.address);
    return reply.status(204).send();
  });
}
