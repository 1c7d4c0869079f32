import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import type { DeptTree } from './dept-tree.js';
import { ALL_RIGHTS, rightName, sortRights, type Right } from './rights.js';
import type { AdminId, RoleId, RoleRecord } from './types.js';

/** A role as it applies: the built-in role has every right over the whole organisation. */
export interface EffectiveRole {
  readonly id: RoleId;
  readonly name: string;
  readonly builtin: boolean;
  readonly wholeOrg: boolean;
  readonly rights: ReadonlySet<Right>;
  readonly scopeDeptIds: readonly DeptId[];
}

/** A logged-in administrator with the roles resolved at the start of the request. */
export interface AdminPrincipal {
  readonly id: AdminId;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly EffectiveRole[];
}

/**
 * What an action touches, as departments. The target is inside a scope when
 * every listed department lies in a subtree the administrator's roles (those
 * carrying the right) cover. `null` stands for the organisation root (a
 * top-level department's parent); an empty list means "not in any department".
 * Both are covered only by whole-organisation roles.
 */
export interface ScopeTarget {
  readonly deptIds: readonly (number | null)[];
}

/** Targets for the usual actions, so every route describes them the same way. */
export const targets = {
  /** Renaming, reordering or editing a department. */
  dept: (id: DeptId): ScopeTarget => ({ deptIds: [id] }),
  /** Creating or deleting a department changes its parent's contents (so a scoped administrator cannot delete their own scope root). */
  deptChild: (parentId: DeptId | null): ScopeTarget => ({ deptIds: [parentId] }),
  /** Moving a department: both the old and the new parent. */
  deptMove: (oldParentId: DeptId | null, newParentId: DeptId | null): ScopeTarget => ({ deptIds: [oldParentId, newParentId] }),
  /** A member: all of their departments. */
  member: (deptIds: readonly DeptId[]): ScopeTarget => ({ deptIds }),
  /** Changing a member's departments: the old and the new ones. */
  memberMove: (oldDeptIds: readonly DeptId[], newDeptIds: readonly DeptId[]): ScopeTarget => ({ deptIds: [...new Set([...oldDeptIds, ...newDeptIds])] }),
};

export function effectiveRole(r: RoleRecord): EffectiveRole {
  return {
    id: r.id, name: r.name, builtin: r.builtin, wholeOrg: r.builtin || r.wholeOrg,
    rights: new Set(r.builtin ? ALL_RIGHTS : r.rights), scopeDeptIds: r.builtin || r.wholeOrg ? [] : [...r.scopeDeptIds],
  };
}

export function effectiveRights(admin: AdminPrincipal): Right[] {
  return sortRights(admin.roles.flatMap((r) => [...r.rights]));
}

export function isSuperAdmin(admin: AdminPrincipal): boolean {
  return admin.roles.some((r) => r.builtin);
}

const list = (xs: string[]) => xs.join(', ');

/**
 * Rights and scopes (F-3.9), decided on the server for every request. Reads the
 * department tree through its port; never writes.
 */
export class Rbac {
  constructor(private readonly tree: DeptTree) {}

  /** True when the role reaches the department (null = the organisation root). */
  async covers(role: EffectiveRole, deptId: number | null): Promise<boolean> {
    if (role.wholeOrg) return true;
    if (deptId === null || role.scopeDeptIds.length === 0) return false;
    const scope = new Set<number>(role.scopeDeptIds);
    if (scope.has(deptId)) return true;
    return (await this.tree.deptAncestors(deptId as DeptId)).some((a) => scope.has(a));
  }

  private async coveredByAny(roles: readonly EffectiveRole[], deptId: number | null): Promise<boolean> {
    for (const r of roles) if (await this.covers(r, deptId)) return true;
    return false;
  }

  private async scopeText(roles: readonly EffectiveRole[]): Promise<string> {
    const ids = [...new Set(roles.flatMap((r) => r.scopeDeptIds))];
    const paths = (await Promise.all(ids.map((d) => this.tree.deptPath(d)))).filter((p): p is string => p !== null);
    return paths.length > 0 ? `may only manage ${list(paths)}` : 'has no department in its scope';
  }

  private async deptLabel(deptId: number | null): Promise<string> {
    if (deptId === null) return 'the organisation root';
    return (await this.tree.deptPath(deptId as DeptId)) ?? `department ${deptId}`;
  }

  /**
   * Resolves when the administrator holds `right` and, given a target, when
   * every department of the target lies inside the scope of their roles that
   * carry the right. Throws GW_FORBIDDEN naming the missing right or the scope.
   */
  async authorise(admin: AdminPrincipal, right: Right, target?: ScopeTarget): Promise<void> {
    const roles = admin.roles.filter((r) => r.rights.has(right));
    if (roles.length === 0) throw new GatewayError('GW_FORBIDDEN', `you do not have the right ${rightName(right)}`, { details: { right } });
    if (!target || roles.some((r) => r.wholeOrg)) return;
    const ids = target.deptIds.length === 0 ? [null] : [...new Set(target.deptIds)];
    for (const d of ids) {
      if (await this.coveredByAny(roles, d)) continue;
      const who = `your role${roles.length > 1 ? 's' : ''} ${list(roles.map((r) => r.name))}`;
      throw new GatewayError('GW_FORBIDDEN', `${who} ${await this.scopeText(roles)}; ${await this.deptLabel(d)} is outside it`, {
        details: { right, deptId: d },
      });
    }
  }

  /** True when authorise would resolve. */
  async allowed(admin: AdminPrincipal, right: Right, target?: ScopeTarget): Promise<boolean> {
    try {
      await this.authorise(admin, right, target);
      return true;
    } catch (e) {
      if (e instanceof GatewayError && e.code === 'GW_FORBIDDEN') return false;
      throw e;
    }
  }

  /**
   * The departments the administrator may see: with `right`, through the roles
   * carrying it; without, through any role. null means every department (and
   * people in none); a set may be empty.
   */
  async scopeFilter(admin: AdminPrincipal, right?: Right): Promise<Set<DeptId> | null> {
    const roles = right === undefined ? admin.roles : admin.roles.filter((r) => r.rights.has(right));
    if (roles.some((r) => r.wholeOrg)) return null;
    const roots = new Set<number>(roles.flatMap((r) => r.scopeDeptIds));
    const out = new Set<DeptId>();
    if (roots.size === 0) return out;
    for (const d of await this.tree.deptIds()) {
      if (roots.has(d) || (await this.tree.deptAncestors(d)).some((a) => roots.has(a))) out.add(d);
    }
    return out;
  }

  /**
   * Null when `actor` may hand `role` to someone (or manage an administrator
   * holding it): they must hold each of its rights over at least its scope, and
   * only a super-administrator hands out the built-in role. Otherwise the reason.
   */
  async grantProblem(actor: AdminPrincipal, role: EffectiveRole): Promise<string | null> {
    if (role.builtin) return isSuperAdmin(actor) ? null : `only a super-administrator may grant or manage the role ${role.name}`;
    for (const right of sortRights(role.rights)) {
      const mine = actor.roles.filter((r) => r.rights.has(right));
      if (mine.length === 0) return `you cannot grant ${rightName(right)} (role ${role.name}): you do not have it`;
      if (mine.some((r) => r.wholeOrg)) continue;
      if (role.wholeOrg) return `you cannot grant ${rightName(right)} over the whole organisation (role ${role.name}): your scope is narrower`;
      for (const d of role.scopeDeptIds) {
        if (!(await this.coveredByAny(mine, d))) return `you cannot grant ${rightName(right)} over ${await this.deptLabel(d)} (role ${role.name}): it is outside your scope`;
      }
    }
    return null;
  }
}
