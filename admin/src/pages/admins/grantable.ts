/**
 * What the console offers to grant: a hint that mirrors the server's check
 * (Rbac.grantProblem, docs/admin-api.md "No escalation"). The server decides;
 * a refusal it sends is shown as it is.
 */
import type { AdminView, MeView, RoleView, ScopeDeptView } from '../../../../gateway/src/admin/api-types';
import { Right } from '../../../../gateway/src/admin/rights';

export type RoleRow = RoleView & { holders: number };

/** The rights in the role form, grouped as the form shows them. */
export const RIGHT_GROUPS: { key: 'org' | 'comm' | 'system'; rights: Right[] }[] = [
  { key: 'org', rights: [Right.Org, Right.Members, Right.Authorisation, Right.Devices] },
  { key: 'comm', rights: [Right.Groups, Right.Apps, Right.Audit] },
  { key: 'system', rights: [Right.Settings, Right.Licence, Right.Admins, Right.Logs] },
];

/** `inner` lies in the subtree of `outer` (paths are "销售部/华东"). */
function within(inner: ScopeDeptView, outer: ScopeDeptView): boolean {
  return inner.id === outer.id || inner.path.startsWith(`${outer.path}/`);
}

/** The logged-in administrator's roles that carry `right`. */
function rolesWith(me: MeView, right: Right): RoleView[] {
  return me.roles.filter((r) => r.builtin || r.rights.includes(right));
}

/** May `me` put `right` into a role at all? */
export function holdsRight(me: MeView, right: Right): boolean {
  return me.superAdmin || rolesWith(me, right).length > 0;
}

/** May `me` give `right` over the whole organisation? */
export function holdsWholeOrg(me: MeView, right?: Right): boolean {
  if (me.superAdmin) return true;
  const roles = right === undefined ? me.roles : rolesWith(me, right);
  return roles.some((r) => r.builtin || r.wholeOrg);
}

/** True when the server would let `me` grant `role` (or manage an administrator holding it). */
export function canGrant(me: MeView, role: Pick<RoleView, 'builtin' | 'wholeOrg' | 'rights' | 'scope'>): boolean {
  if (me.superAdmin) return true;
  if (role.builtin) return false;
  for (const right of role.rights) {
    const mine = rolesWith(me, right);
    if (mine.length === 0) return false;
    if (mine.some((r) => r.builtin || r.wholeOrg)) continue;
    if (role.wholeOrg) return false;
    for (const d of role.scope) if (!mine.some((r) => r.scope.some((s) => within(d, s)))) return false;
  }
  return true;
}

/** True when `me` could grant every role `admin` holds (the server's rule for managing another administrator). */
export function canManage(me: MeView, admin: AdminView, roles: readonly RoleRow[]): boolean {
  const byId = new Map(roles.map((r) => [r.id, r] as const));
  return admin.roles.every((held) => {
    const r = byId.get(held.id);
    return r ? canGrant(me, r) : me.superAdmin;
  });
}
