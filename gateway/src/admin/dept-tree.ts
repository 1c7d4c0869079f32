import type { DeptId } from '../protocol/client-v1.js';

/**
 * What administration needs to know about the department tree, and nothing
 * more: role scopes are subtrees, checked through parent links. None of the
 * methods throws for an unknown department.
 */
export interface DeptTree {
  /** The department's ancestors, nearest first, without itself; [] for a top-level or unknown department. */
  deptAncestors(deptId: DeptId): Promise<DeptId[]>;
  /** Every department id (to list what a scoped administrator may see). */
  deptIds(): Promise<DeptId[]>;
  /** "销售部/华东大区", or null when the department does not exist. */
  deptPath(deptId: DeptId): Promise<string | null>;
}

interface DeptLike {
  id: DeptId;
  parentId: DeptId | null;
  name: string;
}

/** Deeper than any real organisation; a guard against a corrupt parent cycle. */
const MAX_DEPTH = 256;

/**
 * A DeptTree over the directory: the departments are loaded once per
 * directory version (every department change bumps it), so checks cost no
 * query while the organisation does not change.
 */
export function directoryDeptTree(directory: { listDepts(): Promise<DeptLike[]>; version(): Promise<number> }): DeptTree {
  let cache: { version: number; byId: Map<DeptId, DeptLike> } | null = null;
  let loading: Promise<Map<DeptId, DeptLike>> | null = null;

  const depts = async (): Promise<Map<DeptId, DeptLike>> => {
    const version = await directory.version();
    if (cache && cache.version === version) return cache.byId;
    loading ??= (async () => {
      try {
        const byId = new Map<DeptId, DeptLike>();
        for (const d of await directory.listDepts()) byId.set(d.id, { id: d.id, parentId: d.parentId, name: d.name });
        cache = { version, byId };
        return byId;
      } finally {
        loading = null;
      }
    })();
    return loading;
  };

  const chain = (byId: Map<DeptId, DeptLike>, id: DeptId): DeptLike[] => {
    const out: DeptLike[] = [];
    for (let cur = byId.get(id); cur && out.length < MAX_DEPTH; cur = cur.parentId === null ? undefined : byId.get(cur.parentId)) out.push(cur);
    return out;
  };

  return {
    async deptAncestors(deptId) {
      return chain(await depts(), deptId).slice(1).map((d) => d.id);
    },
    async deptIds() {
      return [...(await depts()).keys()];
    },
    async deptPath(deptId) {
      const c = chain(await depts(), deptId);
      return c.length === 0 ? null : c.reverse().map((d) => d.name).join('/');
    },
  };
}
