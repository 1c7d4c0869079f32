import { Button, Popconfirm, Space, Table, Tag, Tooltip } from 'antd';
import type { HTMLAttributes, ReactNode } from 'react';
import { useState } from 'react';
import type { AdminView, MeView } from '../../../../gateway/src/admin/api-types';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { CreateAdminForm, EditAdminForm, PasswordForm, RolesForm } from './AdminForms';
import { canManage, type RoleRow } from './grantable';

export interface AdminsTabProps {
  me: MeView;
  admins: AdminView[];
  roles: RoleRow[];
  loading: boolean;
  run(fn: () => Promise<unknown>, done?: string): Promise<boolean>;
  reload(): void;
}

type Open = { kind: 'create' } | { kind: 'edit' | 'password' | 'roles'; admin: AdminView } | null;

/** Administrator accounts: list, create, edit, disable/enable, reset password, change roles, delete. */
export function AdminsTab({ me, admins, roles, loading, run, reload }: AdminsTabProps) {
  const { t, lang } = useI18n();
  const [open, setOpen] = useState<Open>(null);
  const fmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  const done = () => {
    setOpen(null);
    reload();
  };

  const setDisabled = (a: AdminView, disabled: boolean) =>
    void run(() => api<AdminView>('PATCH', `/admins/${a.id}`, { body: { disabled } }), t('admins.saved')).then((ok) => ok && reload());
  const remove = (a: AdminView) => void run(() => api<void>('DELETE', `/admins/${a.id}`), t('admins.deleted')).then((ok) => ok && reload());

  /** A button disabled with the reason as its tooltip, or enabled. */
  const guarded = (reason: string | null, button: (disabled: boolean) => ReactNode) => (reason ? <Tooltip title={reason}>{button(true)}</Tooltip> : button(false));

  const actions = (a: AdminView) => {
    const self = a.id === me.id;
    const unmanaged = canManage(me, a, roles) ? null : t('admins.admin.notManageable');
    const id = (what: string) => `admin-${what}-${a.username}`;
    return (
      <Space size={4} wrap>
        {guarded(unmanaged, (d) => (
          <Button size="small" disabled={d} data-testid={id('edit')} onClick={() => setOpen({ kind: 'edit', admin: a })}>
            {t('admins.edit')}
          </Button>
        ))}
        {guarded(unmanaged, (d) => (
          <Button size="small" disabled={d} data-testid={id('roles')} onClick={() => setOpen({ kind: 'roles', admin: a })}>
            {t('admins.admin.changeRoles')}
          </Button>
        ))}
        {guarded(unmanaged, (d) => (
          <Button size="small" disabled={d} data-testid={id('password')} onClick={() => setOpen({ kind: 'password', admin: a })}>
            {t('admins.admin.resetPassword')}
          </Button>
        ))}
        {a.disabled
          ? guarded(unmanaged, (d) => (
              <Button size="small" disabled={d} data-testid={id('enable')} onClick={() => setDisabled(a, false)}>
                {t('admins.admin.enable')}
              </Button>
            ))
          : guarded(self ? t('admins.admin.selfNoDisable') : unmanaged, (d) =>
              d ? (
                <Button size="small" disabled data-testid={id('disable')}>
                  {t('admins.admin.disable')}
                </Button>
              ) : (
                <Popconfirm
                  title={t('admins.admin.disableConfirm', { name: a.username })}
                  okText={t('admins.admin.disable')}
                  cancelText={t('admins.cancel')}
                  okButtonProps={{ danger: true, id: 'admin-disable-confirm' }}
                  onConfirm={() => setDisabled(a, true)}
                >
                  <Button size="small" data-testid={id('disable')}>
                    {t('admins.admin.disable')}
                  </Button>
                </Popconfirm>
              ),
            )}
        {guarded(self ? t('admins.admin.selfNoDelete') : unmanaged, (d) =>
          d ? (
            <Button size="small" danger disabled data-testid={id('delete')}>
              {t('admins.delete')}
            </Button>
          ) : (
            <Popconfirm
              title={t('admins.deleteConfirm', { name: a.username })}
              okText={t('admins.yes')}
              cancelText={t('admins.cancel')}
              okButtonProps={{ danger: true, id: 'admin-delete-confirm' }}
              onConfirm={() => remove(a)}
            >
              <Button size="small" danger data-testid={id('delete')}>
                {t('admins.delete')}
              </Button>
            </Popconfirm>
          ),
        )}
      </Space>
    );
  };

  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <Button type="primary" id="admin-create" onClick={() => setOpen({ kind: 'create' })}>
          {t('admins.admin.create')}
        </Button>
        <Button id="admins-refresh" onClick={reload}>
          {t('admins.refresh')}
        </Button>
      </Space>
      <Table<AdminView>
        id="admins-table"
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={admins}
        pagination={false}
        onRow={(a) => ({ 'data-testid': `admin-row-${a.username}` }) as HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('admins.admin.username'),
            key: 'username',
            render: (_v, a) => (
              <Space size={4}>
                <span>{a.username}</span>
                {a.id === me.id && <Tag color="blue">{t('admins.admin.you')}</Tag>}
              </Space>
            ),
          },
          { title: t('admins.admin.displayName'), dataIndex: 'displayName', render: (v: string) => <span data-testid="admin-display-name">{v}</span> },
          {
            title: t('admins.admin.roles'),
            key: 'roles',
            render: (_v, a) => (
              <Space size={[0, 4]} wrap data-testid="admin-roles">
                {a.roles.length === 0 ? (
                  <Tag>{t('admins.admin.noRoles')}</Tag>
                ) : (
                  a.roles.map((r) => (
                    <Tag key={r.id} color={r.builtin ? 'gold' : undefined}>
                      {r.name}
                    </Tag>
                  ))
                )}
              </Space>
            ),
          },
          {
            title: t('admins.admin.status'),
            dataIndex: 'disabled',
            render: (d: boolean) => (
              <Tag data-testid="admin-status" color={d ? 'default' : 'green'}>
                {d ? t('admins.admin.disabled') : t('admins.admin.enabled')}
              </Tag>
            ),
          },
          { title: t('admins.admin.createdAt'), dataIndex: 'createdAt', render: (v: number) => fmt.format(new Date(v)) },
          { title: t('admins.admin.passwordChangedAt'), dataIndex: 'passwordChangedAt', render: (v: number) => fmt.format(new Date(v)) },
          { title: t('admins.actions'), key: 'actions', render: (_v, a) => actions(a) },
        ]}
      />
      {open?.kind === 'create' && <CreateAdminForm me={me} roles={roles} onClose={() => setOpen(null)} onDone={done} />}
      {open?.kind === 'edit' && <EditAdminForm admin={open.admin} onClose={() => setOpen(null)} onDone={done} />}
      {open?.kind === 'password' && <PasswordForm admin={open.admin} onClose={() => setOpen(null)} onDone={done} />}
      {open?.kind === 'roles' && <RolesForm me={me} admin={open.admin} roles={roles} onClose={() => setOpen(null)} onDone={done} />}
    </>
  );
}
