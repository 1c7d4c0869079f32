import type { TreeDataNode } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DeptListView, DeptNodeView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';

export type DeptId = DeptNodeView['id'];

export interface DeptTreeNode extends TreeDataNode {
  key: string;
  dept: DeptNodeView;
  children?: DeptTreeNode[];
}

export const keyOf = (id: DeptId): string => String(id);

/** Re-roots the paths of an already loaded subtree after its top moved or was renamed. */
function rebase(children: DeptTreeNode[] | undefined, parentPath: string): DeptTreeNode[] | undefined {
  return children?.map((c) => {
    const path = `${parentPath}/${c.dept.name}`;
    return { ...c, dept: { ...c.dept, path }, children: rebase(c.children, path) };
  });
}

export function findNode(nodes: readonly DeptTreeNode[], key: string): DeptTreeNode | null {
  for (const n of nodes) {
    if (n.key === key) return n;
    const inner = n.children ? findNode(n.children, key) : null;
    if (inner) return inner;
  }
  return null;
}

/** A fresh list of children replaces the old one; subtrees already loaded stay loaded (a moved department keeps its open branch). */
function withList(nodes: DeptTreeNode[], parentId: DeptId | null, depts: DeptNodeView[]): DeptTreeNode[] {
  const fresh = depts.map((d): DeptTreeNode => {
    const old = findNode(nodes, keyOf(d.id));
    const children = d.hasChildren ? rebase(old?.children, d.path) : undefined;
    return { key: keyOf(d.id), title: d.name, isLeaf: !d.hasChildren, dept: d, ...(children ? { children } : {}) };
  });
  if (parentId === null) return fresh;
  const key = keyOf(parentId);
  const put = (list: DeptTreeNode[]): DeptTreeNode[] =>
    list.map((n) => (n.key === key ? { ...n, children: fresh } : n.children ? { ...n, children: put(n.children) } : n));
  return put(nodes);
}

export interface DeptTreeState {
  nodes: DeptTreeNode[] | null;
  error: string | null;
  expandedKeys: string[];
  setExpandedKeys(keys: string[]): void;
  /** Loads a node's children on first expand (antd Tree loadData). */
  loadChildren(node: DeptTreeNode): Promise<void>;
  /** Re-reads the children of a department (null: the top level). */
  refreshList(parentId: DeptId | null): Promise<void>;
  /** Re-reads the lists that hold these departments (their counts and flags change), as far as they are loaded. */
  refreshDepts(ids: readonly (DeptId | null)[]): Promise<void>;
  /** The loaded node of a department, if any. */
  find(id: DeptId): DeptTreeNode | null;
  /** The loaded children of a department (null: the top level), or null when not loaded. */
  childrenOf(parentId: DeptId | null): DeptTreeNode[] | null;
  expand(id: DeptId): void;
}

/** The lazily loaded department tree of the Organisation page, refreshed list by list after each change. */
export function useDeptTree(): DeptTreeState {
  const [nodes, setNodes] = useState<DeptTreeNode[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [expandedKeys, setExpandedKeys] = useState<string[]>([]);
  const current = useRef<DeptTreeNode[]>([]);
  current.current = nodes ?? [];

  const refreshList = useCallback(async (parentId: DeptId | null) => {
    try {
      const list = await api<DeptListView>('GET', '/depts', { query: { parentId: parentId ?? 'root' } });
      setNodes((cur) => withList(cur ?? [], parentId, list.depts));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    void refreshList(null);
  }, [refreshList]);

  const loadChildren = useCallback(
    async (node: DeptTreeNode) => {
      if (node.children) return;
      await refreshList(node.dept.id);
    },
    [refreshList],
  );

  const find = useCallback((id: DeptId) => findNode(current.current, keyOf(id)), []);

  const childrenOf = useCallback((parentId: DeptId | null): DeptTreeNode[] | null => {
    if (parentId === null) return current.current;
    return findNode(current.current, keyOf(parentId))?.children ?? null;
  }, []);

  const refreshDepts = useCallback(
    async (ids: readonly (DeptId | null)[]) => {
      const parents = new Set<DeptId | null>();
      for (const id of ids) {
        if (id === null) {
          parents.add(null);
          continue;
        }
        const n = findNode(current.current, keyOf(id));
        // a scoped administrator's scope roots sit at the top level whatever their parentId
        if (n) parents.add(current.current.includes(n) ? null : n.dept.parentId);
      }
      for (const p of parents) await refreshList(p);
    },
    [refreshList],
  );

  const expand = useCallback((id: DeptId) => setExpandedKeys((cur) => (cur.includes(keyOf(id)) ? cur : [...cur, keyOf(id)])), []);

  return { nodes, error, expandedKeys, setExpandedKeys, loadChildren, refreshList, refreshDepts, find, childrenOf, expand };
}
