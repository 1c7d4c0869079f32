import { Alert, App as AntApp, Badge, Button, Card, Dropdown, Empty, Popconfirm, Space, Spin, Tooltip, Tree } from 'antd';
import type { MenuProps, TreeProps } from 'antd';
import { useState } from 'react';
import type { DeptNodeView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { DeptMoveModal, DeptNameModal, type DeptNameMode } from './DeptDialogs';
import { MAX_DEPT_ORDER, ORDER_STEP, placeAt } from './dept-order';
import type { DeptId, DeptTreeNode, DeptTreeState } from './use-dept-tree';

export interface DeptTreeProps {
  tree: DeptTreeState;
  selected: DeptNodeView | null;
  onSelect(dept: DeptNodeView | null): void;
  /** The administrator holds the `org` right: show the editing tools. */
  canEdit: boolean;
}

type Action = 'addChild' | 'addTop' | 'rename' | 'move' | 'delete';

const nextOrder = (siblings: readonly DeptTreeNode[] | null): number => {
  if (!siblings || siblings.length === 0) return 0;
  return Math.min(MAX_DEPT_ORDER, Math.max(...siblings.map((s) => s.dept.order)) + ORDER_STEP);
};

/**
 * The department tree: lazily loaded, with a toolbar and a right-click menu on
 * the selected department (create, rename, move, delete) and drag and drop to
 * reorder or move. Nothing changes on screen before the server agrees: a
 * refused change leaves the tree as it was and shows the server's reason.
 */
export function DeptTree({ tree, selected, onSelect, canEdit }: DeptTreeProps) {
  const { t } = useI18n();
  const { modal, message } = AntApp.useApp();
  const [nameMode, setNameMode] = useState<DeptNameMode | null>(null);
  const [moving, setMoving] = useState<DeptNodeView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  /** The loaded list that shows a department: the top level for a scoped administrator's scope roots, else its parent's. */
  const holder = (d: DeptNodeView): DeptId | null => (tree.childrenOf(null)?.some((n) => n.dept.id === d.id) ? null : d.parentId);

  const afterMove = async (dept: DeptNodeView, oldParent: DeptId | null, newParent: DeptId | null) => {
    // the old and new parents' lists, and the lists holding those parents (their sub-department counts)
    await tree.refreshList(oldParent);
    if (newParent !== oldParent) {
      await tree.refreshList(newParent);
      await tree.refreshDepts([oldParent, newParent]);
      if (newParent !== null) tree.expand(newParent);
    }
    if (selected?.id === dept.id) onSelect(dept);
  };

  const remove = async (dept: DeptNodeView) => {
    setError(null);
    try {
      await api<void>('DELETE', `/depts/${dept.id}`);
      if (selected?.id === dept.id) onSelect(null);
      await tree.refreshList(holder(dept));
      await tree.refreshDepts([dept.parentId]);
      void message.success(t('org.dept.deleted', { name: dept.name }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const run = (action: Action, dept: DeptNodeView | null) => {
    setError(null);
    switch (action) {
      case 'addTop':
        return setNameMode({ kind: 'create', parent: null, order: nextOrder(tree.childrenOf(null)) });
      case 'addChild':
        return dept && setNameMode({ kind: 'create', parent: dept, order: nextOrder(tree.childrenOf(dept.id)) });
      case 'rename':
        return dept && setNameMode({ kind: 'rename', dept });
      case 'move':
        return dept && setMoving(dept);
      case 'delete':
        if (!dept) return;
        modal.confirm({
          title: t('org.dept.deleteConfirm', { name: dept.name }),
          content: t('org.dept.deleteHint'),
          okText: t('org.delete'),
          okButtonProps: { danger: true },
          cancelText: t('org.cancel'),
          onOk: () => remove(dept),
        });
    }
  };

  const onDrop: TreeProps<DeptTreeNode>['onDrop'] = (info) => {
    const drag = info.dragNode.dept;
    const target = info.node.dept;
    const pos = info.node.pos.split('-');
    const relative = info.dropPosition - Number(pos[pos.length - 1]);
    void (async () => {
      setError(null);
      setBusy(true);
      try {
        if (!info.dropToGap) {
          // into the target: last among its children
          const kids = tree.childrenOf(target.id) ?? (await api<{ depts: DeptNodeView[] }>('GET', '/depts', { query: { parentId: target.id } })).depts.map((d) => ({ dept: d }) as DeptTreeNode);
          const order = nextOrder(kids.filter((k) => k.dept.id !== drag.id));
          const node = await api<DeptNodeView>('PATCH', `/depts/${drag.id}`, { body: { parentId: target.id, order } });
          await afterMove(node, drag.parentId, target.id);
          return;
        }
        // beside the target, among its siblings
        const parentId = target.parentId;
        const siblings = (tree.childrenOf(holder(target)) ?? []).map((n) => n.dept).filter((d) => d.id !== drag.id);
        const at = siblings.findIndex((d) => d.id === target.id) + (relative > 0 ? 1 : 0);
        const plan = placeAt(siblings.map((d) => d.order), at);
        const parentChange = drag.parentId !== parentId ? { parentId } : {};
        if ('order' in plan) {
          const node = await api<DeptNodeView>('PATCH', `/depts/${drag.id}`, { body: { ...parentChange, order: plan.order } });
          await afterMove(node, drag.parentId, parentId);
          return;
        }
        // no room between the neighbours: the dragged department first (a refusal stops here), then the others that change
        const sequence = [...siblings.slice(0, at), drag, ...siblings.slice(at)];
        const node = await api<DeptNodeView>('PATCH', `/depts/${drag.id}`, { body: { ...parentChange, order: plan.renumber[at] } });
        try {
          for (const [i, d] of sequence.entries()) {
            if (d.id !== drag.id && d.order !== plan.renumber[i]) await api<DeptNodeView>('PATCH', `/depts/${d.id}`, { body: { order: plan.renumber[i] } });
          }
        } finally {
          await afterMove(node, drag.parentId, parentId);
        }
      } catch (err) {
        setError(errorMessage(err));
      } finally {
        setBusy(false);
      }
    })();
  };

  const menuItems = (): MenuProps['items'] => [
    { key: 'addChild', label: t('org.dept.addChild') },
    { key: 'rename', label: t('org.dept.rename') },
    { key: 'move', label: t('org.dept.moveTo') },
    { type: 'divider' },
    { key: 'delete', label: t('org.delete'), danger: true },
  ];

  const titleOf = (n: DeptTreeNode) => {
    const d = n.dept;
    const label = (
      <span data-testid="dept-node" data-dept-id={d.id} data-dept-name={d.name} title={d.path || d.name}>
        {d.name}
        <Badge count={d.memberCount} showZero overflowCount={99999} color="#d9d9d9" style={{ color: 'rgba(0,0,0,0.65)', marginLeft: 6, boxShadow: 'none' }} size="small" />
      </span>
    );
    if (!canEdit) return label;
    return (
      <Dropdown trigger={['contextMenu']} menu={{ items: menuItems(), onClick: ({ key, domEvent }) => { domEvent.stopPropagation(); run(key as Action, d); } }}>
        {label}
      </Dropdown>
    );
  };

  const sel = selected;
  const toolbar = canEdit && (
    <Space size={4} wrap>
      <Button size="small" id="dept-add-top" onClick={() => run('addTop', null)}>
        {t('org.dept.addTop')}
      </Button>
      <Tooltip title={sel ? undefined : t('org.dept.selectFirst')}>
        <Button size="small" id="dept-add-child" type="primary" disabled={!sel} onClick={() => run('addChild', sel)}>
          {t('org.dept.addChild')}
        </Button>
      </Tooltip>
      <Button size="small" id="dept-rename" disabled={!sel} onClick={() => run('rename', sel)}>
        {t('org.dept.rename')}
      </Button>
      <Button size="small" id="dept-move" disabled={!sel} onClick={() => run('move', sel)}>
        {t('org.dept.moveTo')}
      </Button>
      <Popconfirm
        title={sel ? t('org.dept.deleteConfirm', { name: sel.name }) : ''}
        description={t('org.dept.deleteHint')}
        okText={t('org.delete')}
        cancelText={t('org.cancel')}
        okButtonProps={{ danger: true, id: 'dept-delete-ok' }}
        disabled={!sel}
        onConfirm={() => (sel ? remove(sel) : undefined)}
      >
        <Button size="small" id="dept-delete" danger disabled={!sel}>
          {t('org.delete')}
        </Button>
      </Popconfirm>
    </Space>
  );

  return (
    <Card title={t('org.depts')} size="small" id="dept-tree-card" styles={{ body: { minHeight: 480 } }}>
      <Space direction="vertical" style={{ width: '100%' }}>
        {toolbar}
        {canEdit && <div style={{ color: 'rgba(0,0,0,0.45)', fontSize: 12 }}>{t('org.dept.dragHint')}</div>}
        {tree.error && <Alert type="error" showIcon message={tree.error} />}
        {error && <Alert id="dept-error" role="alert" type="error" showIcon closable message={error} onClose={() => setError(null)} />}
        {tree.nodes === null && !tree.error ? (
          <Spin />
        ) : tree.nodes && tree.nodes.length === 0 ? (
          <Empty description={t('org.dept.none')} />
        ) : (
          <Spin spinning={busy}>
            <Tree<DeptTreeNode>
              rootClassName="dept-tree"
              blockNode
              showLine
              treeData={tree.nodes ?? []}
              loadData={tree.loadChildren}
              expandedKeys={tree.expandedKeys}
              onExpand={(keys) => tree.setExpandedKeys(keys.map(String))}
              selectedKeys={selected ? [String(selected.id)] : []}
              onSelect={(_keys, info) => onSelect(info.selected ? info.node.dept : null)}
              onRightClick={({ node }) => onSelect(node.dept)}
              draggable={canEdit ? { icon: false } : false}
              onDrop={onDrop}
              titleRender={titleOf}
            />
          </Spin>
        )}
      </Space>
      {nameMode && (
        <DeptNameModal
          mode={nameMode}
          onCancel={() => setNameMode(null)}
          onDone={(node) => {
            const mode = nameMode;
            setNameMode(null);
            void (async () => {
              await tree.refreshList(mode.kind === 'create' ? (mode.parent?.id ?? null) : holder(node));
              if (mode.kind === 'create' && mode.parent) {
                await tree.refreshDepts([mode.parent.id]);
                tree.expand(mode.parent.id);
              }
              if (mode.kind === 'create') onSelect(node);
              else if (selected?.id === node.id) onSelect(node);
            })();
          }}
        />
      )}
      {moving && (
        <DeptMoveModal
          dept={moving}
          onCancel={() => setMoving(null)}
          onDone={(node, oldParent) => {
            setMoving(null);
            void afterMove(node, oldParent, node.parentId);
          }}
        />
      )}
    </Card>
  );
}
