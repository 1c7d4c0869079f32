import { passwordProblem } from '../auth/password.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import { ALL_RIGHTS, isRight, sortRights, type Right } from './rights.js';
import type { ActionLogQuery, AdminId, RoleId } from './types.js';

export const USERNAME_RE = /^[A-Za-z0-9._-]{3,32}$/;
export const MAX_DISPLAY_NAME_CHARS = 64;
export const MAX_ROLE_NAME_CHARS = 64;
export const MAX_SCOPE_DEPTS = 1000;
export const MAX_ROLES_PER_ADMIN = 100;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export function checkUsername(v: unknown): string {
  if (typeof v !== 'string' || !USERNAME_RE.test(v)) {
    throw new GatewayError('GW_BAD_REQUEST', 'username must be 3–32 characters of letters, digits, . _ -');
  }
  return v;
}

export function checkNewPassword(v: unknown): string {
  const problem = passwordProblem(v);
  if (problem) throw new GatewayError('GW_BAD_REQUEST', problem);
  return v as string;
}

function checkText(what: string, v: unknown, max: number, required: boolean): string {
  if (v === undefined || v === null) {
    if (required) throw new GatewayError('GW_BAD_REQUEST', `${what} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new GatewayError('GW_BAD_REQUEST', `${what} must be a string`);
  const t = v.trim();
  if (required && t.length === 0) throw new GatewayError('GW_BAD_REQUEST', `${what} must not be empty`);
  if ([...t].length > max) throw new GatewayError('GW_BAD_REQUEST', `${what} is longer than ${max} characters`);
  if (CONTROL_RE.test(t)) throw new GatewayError('GW_BAD_REQUEST', `${what} contains control characters`);
  return t;
}

export const checkDisplayName = (v: unknown): string => checkText('display name', v, MAX_DISPLAY_NAME_CHARS, false);
export const checkRoleName = (v: unknown): string => checkText('role name', v, MAX_ROLE_NAME_CHARS, true);

export function checkRights(v: unknown): Right[] {
  if (!Array.isArray(v)) throw new GatewayError('GW_BAD_REQUEST', 'rights must be a list');
  const bad = v.filter((r) => !isRight(r));
  if (bad.length > 0) {
    throw new GatewayError('GW_BAD_REQUEST', `unknown right(s): ${bad.slice(0, 5).map((b) => String(b).slice(0, 32)).join(', ')}; rights are ${ALL_RIGHTS.join(', ')}`);
  }
  const rights = sortRights(v as Right[]);
  if (rights.length === 0) throw new GatewayError('GW_BAD_REQUEST', 'a role needs at least one right');
  return rights;
}

function checkIds(what: string, v: unknown, max: number): number[] {
  if (!Array.isArray(v)) throw new GatewayError('GW_BAD_REQUEST', `${what} must be a list of ids`);
  if (v.length > max) throw new GatewayError('GW_BAD_REQUEST', `${what} may list at most ${max} ids`);
  for (const x of v) if (!Number.isSafeInteger(x) || (x as number) < 1) throw new GatewayError('GW_BAD_REQUEST', `${what} must be positive integer ids`);
  return [...new Set(v as number[])];
}

export const checkDeptIds = (v: unknown): DeptId[] => checkIds('scopeDeptIds', v, MAX_SCOPE_DEPTS) as DeptId[];
export const checkRoleIds = (v: unknown): RoleId[] => checkIds('roleIds', v, MAX_ROLES_PER_ADMIN) as RoleId[];

export function checkBool(what: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new GatewayError('GW_BAD_REQUEST', `${what} must be true or false`);
  return v;
}

export function checkId(what: string, v: unknown): number {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (!Number.isSafeInteger(n) || (n as number) < 1) throw new GatewayError('GW_BAD_REQUEST', `${what} must be a positive integer`);
  return n as number;
}

/** An object body, or GW_BAD_REQUEST. */
export function checkObject(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new GatewayError('GW_BAD_REQUEST', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Checks the filters of an action-log query (they may come straight from a query string parsed as numbers). */
export function checkLogQuery(q: ActionLogQuery, maxLimit: number): ActionLogQuery & { limit: number; offset: number } {
  const num = (what: string, v: unknown, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new GatewayError('GW_BAD_REQUEST', `${what} must be an integer from ${min} to ${max}`);
    return v;
  };
  const str = (what: string, v: unknown, max: number): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new GatewayError('GW_BAD_REQUEST', `${what} must be a string of 1–${max} characters`);
    return v;
  };
  const out: ActionLogQuery & { limit: number; offset: number } = {
    limit: num('limit', q.limit, 1, maxLimit) ?? 50,
    offset: num('offset', q.offset, 0, 1_000_000) ?? 0,
  };
  const from = num('from', q.from, 0, Number.MAX_SAFE_INTEGER);
  const to = num('to', q.to, 0, Number.MAX_SAFE_INTEGER);
  const adminId = num('adminId', q.adminId, 1, Number.MAX_SAFE_INTEGER);
  const action = str('action', q.action, 64);
  const targetKind = str('targetKind', q.targetKind, 32);
  const targetId = str('targetId', q.targetId, 64);
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  if (adminId !== undefined) out.adminId = adminId as AdminId;
  if (action !== undefined) out.action = action;
  if (targetKind !== undefined) out.targetKind = targetKind;
  if (targetId !== undefined) out.targetId = targetId;
  return out;
}
