import type { UserEdit } from '../directory/service.js';
import type { DeptRecord, GroupRecord, UserRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * Fields RTX owns on RTX-origin entries (docs/protocol/rtx-bridge-v1.md
 * "Identity"): read-only in the console, because the next sync would
 * overwrite a local edit. Sending a field with its current value is fine;
 * changing it is refused with GW_RTX_OWNED naming the fields.
 */
export const RTX_OWNED_USER_FIELDS = ['account', 'name', 'deptIds', 'mainDeptId', 'mobile', 'email', 'phone', 'title', 'gender'] as const;
export const RTX_OWNED_DEPT_FIELDS = ['name', 'parentId', 'order'] as const;

function refuse(what: string, fields: string[]): never {
  throw new GatewayError('GW_RTX_OWNED', `${what} comes from RTX: ${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} kept in step with RTX and cannot be changed here; change ${fields.length === 1 ? 'it' : 'them'} in RTX`, {
    details: { fields },
  });
}

/** Throws GW_RTX_OWNED when `edit` changes an RTX-owned field of an RTX-origin user. */
export function checkRtxOwnedUserEdit(cur: UserRecord, edit: UserEdit): void {
  if (cur.origin !== 'rtx') return;
  const changed: string[] = [];
  for (const f of ['account', 'name', 'mobile', 'email', 'phone', 'title', 'gender'] as const) {
    const v = edit[f];
    if (v !== undefined && (typeof v === 'string' ? v.trim() : v) !== cur[f]) changed.push(f);
  }
  const curIds = cur.depts.map((d) => d.deptId as number);
  const main = cur.depts.find((d) => d.main)?.deptId as number | undefined;
  if (edit.deptIds !== undefined) {
    const want = new Set<number>(edit.deptIds);
    if (want.size !== curIds.length || curIds.some((d) => !want.has(d))) changed.push('deptIds');
  }
  const wantMain = edit.mainDeptId ?? (edit.deptIds !== undefined ? edit.deptIds[0] : undefined);
  if (wantMain !== undefined && wantMain !== main && !changed.includes('deptIds')) changed.push('mainDeptId');
  if (changed.length > 0) refuse(`member ${cur.account}`, changed);
}

/** Throws GW_RTX_OWNED when a department patch changes an RTX-owned field of an RTX-origin department. */
export function checkRtxOwnedDeptPatch(cur: DeptRecord, patch: { name?: string; parentId?: number | null; order?: number }): void {
  if (cur.origin !== 'rtx') return;
  const changed: string[] = [];
  if (patch.name !== undefined && patch.name.trim() !== cur.name) changed.push('name');
  if (patch.parentId !== undefined && patch.parentId !== cur.parentId) changed.push('parentId');
  if (patch.order !== undefined && patch.order !== cur.order) changed.push('order');
  if (changed.length > 0) refuse(`department ${cur.name}`, changed);
}

/**
 * Throws GW_RTX_OWNED when a console change touches what RTX owns of an
 * RTX-origin group: its name (a rename to the current name is fine) and its
 * members (RTX discussion groups are managed in RTX; the next sync would undo
 * the change).
 */
export function checkRtxOwnedGroupChange(cur: GroupRecord, change: { name?: string; members?: boolean }): void {
  if (cur.origin !== 'rtx') return;
  const changed: string[] = [];
  if (change.name !== undefined && change.name.trim() !== cur.name) changed.push('name');
  if (change.members) changed.push('members');
  if (changed.length > 0) refuse(`group ${cur.name}`, changed);
}
