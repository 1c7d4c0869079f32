import { Button, Popconfirm, Space, Table, Tag, Tooltip } from 'antd';
import type { HTMLAttributes } from 'react';
import { useState } from 'react';
import type { MeView } from '../../../../gateway/src/admin/api-types';
import { RIGHT_LABELS, sortRights } from '../../../../gateway/src/admin/rights';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { canGrant, type RoleRow } from './grantable';
import { RoleForm } from './RoleForm';

export interface RolesTabProps {
  me: MeView;
  roles: RoleRow[];
  loading: boolean;
  /** Runs a change; a refusal is shown by the page. Resolves true on success. */
  run(fn: () => Promise<unknown>, done?: string): Promise<boolean>;
  reload(): void;
}

/** The roles: list, create, edit, delete. The built-in role is read-only. */
export function RolesTab({ me, roles, loading, run, reload }: RolesTabProps) {
  const { t, lang } = useI18n();
  // undefined: no form; null: a new role
  const [editing, setEditing] = useState<RoleRow | null | undefined>(undefined);

  const remove = (r: RoleRow) => void run(() => api<void>('DELETE', `/roles/${r.id}`), t('admins.deleted')).then((ok) => ok && reload());

  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <Button type="primary" id="role-create" onClick={() => setEditing(null)}>
          {t('admins.role.create')}
        </Button>
        <Button id="roles-refresh" onClick={reload}>
          {t('admins.refresh')}
        </Button>
      </Space>
      <Table<RoleRow>
        id="roles-table"
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={roles}
        pagination={false}
        onRow={(r) => ({ 'data-testid': `role-row-${r.name}` }) as HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('admins.role.name'),
            key: 'name',
            render: (_v, r) => (
              <Space size={4}>
                <span data-testid="role-name">{r.name}</span>
                {r.builtin && <Tag color="gold">{t('admins.role.builtin')}</Tag>}
              </Space>
            ),
          },
          {
            title: t('admins.role.rights'),
            key: 'rights',
            render: (_v, r) =>
              r.builtin ? (
                <Tag color="blue">{t('admins.role.allRights')}</Tag>
              ) : (
                <Space size={[0, 4]} wrap data-testid="role-rights">
                  {sortRights(r.rights).map((x) => (
                    <Tag key={x}>{RIGHT_LABELS[x][lang]}</Tag>
                  ))}
                </Space>
              ),
          },
          {
            title: t('admins.role.scope'),
            key: 'scope',
            render: (_v, r) => (
              <Space size={[0, 4]} wrap data-testid="role-scope">
                {r.wholeOrg ? (
                  <Tag color="green">{t('admins.role.wholeOrg')}</Tag>
                ) : r.scope.length === 0 ? (
                  <Tag>{t('admins.role.noDept')}</Tag>
                ) : (
                  r.scope.map((s) => <Tag key={s.id}>{s.path}</Tag>)
                )}
              </Space>
            ),
          },
          { title: t('admins.role.holders'), dataIndex: 'holders', width: 100, render: (n: number) => <span data-testid="role-holders">{n}</span> },
          {
            title: t('admins.actions'),
            key: 'actions',
            width: 180,
            render: (_v, r) => {
              if (r.builtin) {
                return (
                  <Space>
                    <Button size="small" data-testid={`role-view-${r.id}`} onClick={() => setEditing(r)}>
                      {t('admins.view')}
                    </Button>
                    <Tooltip title={t('admins.role.builtinNoDelete')}>
                      <Button size="small" danger disabled data-testid={`role-delete-${r.id}`}>
                        {t('admins.delete')}
                      </Button>
                    </Tooltip>
                  </Space>
                );
              }
              if (!canGrant(me, r)) {
                return (
                  <Tooltip title={t('admins.notGrantable')}>
                    <Space>
                      <Button size="small" disabled data-testid={`role-edit-${r.id}`}>
                        {t('admins.edit')}
                      </Button>
                      <Button size="small" danger disabled data-testid={`role-delete-${r.id}`}>
                        {t('admins.delete')}
                      </Button>
                    </Space>
                  </Tooltip>
                );
              }
              return (
                <Space>
                  <Button size="small" data-testid={`role-edit-${r.id}`} onClick={() => setEditing(r)}>
                    {t('admins.edit')}
                  </Button>
                  <Popconfirm
                    title={t('admins.deleteConfirm', { name: r.name })}
                    description={r.holders > 0 ? t('admins.role.heldNoDelete', { n: r.holders }) : undefined}
                    okText={t('admins.yes')}
                    cancelText={t('admins.cancel')}
                    okButtonProps={{ danger: true, id: 'role-delete-confirm' }}
                    onConfirm={() => remove(r)}
                  >
                    <Button size="small" danger data-testid={`role-delete-${r.id}`}>
                      {t('admins.delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              );
            },
          },
        ]}
      />
      {editing !== undefined && (
        <RoleForm
          me={me}
          role={editing}
          onClose={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined);
            reload();
          }}
        />
      )}
    </>
  );
}
