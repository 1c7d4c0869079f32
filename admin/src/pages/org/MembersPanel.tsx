import { Alert, App as AntApp, Button, Card, Divider, Dropdown, Empty, Input, Popconfirm, Segmented, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DeptNodeView, MemberPageView, MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { MoveMemberModal, PasswordModal } from './MemberDialogs';
import { MemberDrawer, type MemberDrawerMode } from './MemberDrawer';
import type { DeptId } from './use-dept-tree';

export interface OrgRights {
  org: boolean;
  members: boolean;
  devices: boolean;
  authorisation: boolean;
}

export interface MembersPanelProps {
  dept: DeptNodeView | null;
  rights: OrgRights;
  /** Members joined or left these departments: their counts changed. */
  onDeptsChanged(ids: DeptId[]): void;
}

type Scope = 'dept' | 'all';

/**
 * The members of the selected department (or of the whole organisation),
 * paged and searched on the server, with the per-member actions the
 * administrator's rights allow.
 */
export function MembersPanel({ dept, rights, onDeptsChanged }: MembersPanelProps) {
  const { t } = useI18n();
  const { message, modal } = AntApp.useApp();
  const [scope, setScope] = useState<Scope>(dept ? 'dept' : 'all');
  const [q, setQ] = useState('');
  const [typed, setTyped] = useState('');
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [data, setData] = useState<MemberPageView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const [drawer, setDrawer] = useState<MemberDrawerMode | null>(null);
  const [pwd, setPwd] = useState<MemberView | null>(null);
  const [moving, setMoving] = useState<MemberView | null>(null);
  const seq = useRef(0);

  const deptId = dept?.id ?? null;
  // choosing a department in the tree browses it
  useEffect(() => {
    setScope(deptId === null ? 'all' : 'dept');
    setPage(1);
  }, [deptId]);

  const effectiveScope: Scope = deptId === null ? 'all' : scope;
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    api<MemberPageView>('GET', '/members', {
      query: { deptId: effectiveScope === 'dept' ? (deptId ?? undefined) : undefined, q: q.trim() || undefined, offset: (page - 1) * pageSize, limit: pageSize },
    }).then(
      (v) => {
        if (mine !== seq.current) return;
        setData(v);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
  }, [effectiveScope, deptId, q, page, pageSize, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  const changed = (depts: DeptId[]) => {
    reload();
    onDeptsChanged(depts);
  };

  const act = async (m: MemberView, what: 'enable' | 'disable' | 'delete') => {
    try {
      if (what === 'delete') await api<void>('DELETE', `/members/${m.id}`);
      else await api<MemberView>('POST', `/members/${m.id}/${what}`);
      void message.success(t(`org.member.${what}d` as 'org.member.enabled', { name: m.name }));
      changed(m.depts.map((d) => d.id));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const search = (value: string) => {
    setQ(value);
    setTyped(value);
    setPage(1);
  };

  const title =
    effectiveScope === 'all' ? t('org.member.allTitle') : `${t('org.members')} · ${dept?.path || dept?.name || ''}`;

  return (
    <Card
      size="small"
      id="members-card"
      title={<span id="members-title">{title}</span>}
      extra={
        rights.members && (
          <Button id="member-add" type="primary" size="small" onClick={() => setDrawer({ kind: 'create', dept })}>
            {t('org.member.add')}
          </Button>
        )
      }
    >
      <Space direction="vertical" style={{ width: '100%' }}>
        <Space wrap style={{ width: '100%' }}>
          <Segmented<Scope>
            id="member-scope"
            value={effectiveScope}
            onChange={(v) => {
              setScope(v);
              setPage(1);
            }}
            options={[
              { value: 'dept', label: t('org.member.scopeDept'), disabled: deptId === null },
              { value: 'all', label: t('org.member.scopeAll') },
            ]}
          />
          <Input.Search
            id="member-search"
            allowClear
            placeholder={t('org.search')}
            maxLength={64}
            value={typed}
            onChange={(e) => {
              setTyped(e.target.value);
              if (e.target.value === '' && q !== '') search('');
            }}
            onSearch={search}
            style={{ width: 340 }}
          />
        </Space>
        {effectiveScope === 'all' && q && <Typography.Text type="secondary">{t('org.member.searchingAll', { q })}</Typography.Text>}
        {error && <Alert id="members-error" role="alert" type="error" showIcon closable onClose={() => setError(null)} message={error} />}
        <Table<MemberView>
          id="members-table"
          rowKey="id"
          size="small"
          loading={loading}
          dataSource={data?.members ?? []}
          scroll={{ x: 760 }}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={q ? t('org.member.noMatch') : t('org.member.none')} /> }}
          onRow={(m) => ({ 'data-account': m.account }) as React.HTMLAttributes<HTMLElement>}
          pagination={{
            current: page,
            pageSize,
            total: data?.total ?? 0,
            showSizeChanger: true,
            pageSizeOptions: [20, 50, 100, 200],
            showTotal: (n) => t('total', { n }),
            onChange: (p, s) => {
              setPage(s !== pageSize ? 1 : p);
              setPageSize(s);
            },
          }}
          columns={[
            {
              title: t('org.name'),
              key: 'name',
              width: 120,
              render: (_v, m) => (
                <Space direction="vertical" size={0}>
                  <Typography.Link onClick={() => setDrawer({ kind: 'edit', member: m })}>{m.name}</Typography.Link>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {m.account}
                    {m.origin === 'rtx' && (
                      <Tooltip title={t('rtx.owned')}>
                        <Tag color="purple" data-testid="member-rtx-tag" style={{ marginInlineStart: 6, fontSize: 11, lineHeight: '16px', paddingInline: 4 }}>
                          {t('rtx.tag')}
                        </Tag>
                      </Tooltip>
                    )}
                  </Typography.Text>
                </Space>
              ),
            },
            { title: t('org.title'), dataIndex: 'title', width: 90, render: (v: string) => v || '—' },
            { title: t('org.mobile'), dataIndex: 'mobile', width: 110, render: (v: string) => v || '—' },
            {
              title: t('org.dept'),
              key: 'depts',
              render: (_v, m) => (
                <Space size={[4, 4]} wrap>
                  {m.depts.map((d) => (
                    <Tooltip key={d.id} title={d.main ? t('org.mainDept') : undefined}>
                      <Tag color={d.main ? 'geekblue' : undefined}>{d.name}</Tag>
                    </Tooltip>
                  ))}
                </Space>
              ),
            },
            {
              title: t('org.status'),
              key: 'status',
              width: 120,
              render: (_v, m) => (
                <Space size={[4, 4]} wrap data-testid="member-status">
                  <Tag color={m.status === 'active' ? 'green' : 'default'}>{m.status === 'active' ? t('org.active') : t('org.disabled')}</Tag>
                  {m.authorised ? <Tag color="blue">{t('org.authorised')}</Tag> : <Tag>{t('org.unauthorised')}</Tag>}
                  {m.blocked && <Tag color="red">{t('org.blocked')}</Tag>}
                </Space>
              ),
            },
            {
              title: t('org.actions'),
              key: 'actions',
              fixed: 'right',
              width: rights.members ? 190 : 70,
              render: (_v, m) => (
                <Space size={0} split={<Divider type="vertical" />} wrap={false}>
                  {rights.members && (
                    <Typography.Link data-testid="member-edit" onClick={() => setDrawer({ kind: 'edit', member: m })}>
                      {t('org.edit')}
                    </Typography.Link>
                  )}
                  {rights.devices && (
                    <Typography.Link data-testid="member-devices" onClick={() => setDrawer({ kind: 'edit', member: m, tab: 'devices' })}>
                      {t('org.member.devices')}
                    </Typography.Link>
                  )}
                  {rights.members && (
                    <Popconfirm
                      title={t('org.member.deleteConfirm', { name: m.name, account: m.account })}
                      description={t('org.member.deleteHint')}
                      okText={t('org.delete')}
                      cancelText={t('org.cancel')}
                      okButtonProps={{ danger: true, id: 'member-delete-ok' }}
                      onConfirm={() => act(m, 'delete')}
                    >
                      <Typography.Link type="danger" data-testid="member-delete">
                        {t('org.delete')}
                      </Typography.Link>
                    </Popconfirm>
                  )}
                  {rights.members && (
                    <Dropdown
                      trigger={['click']}
                      menu={{
                        items: [
                          { key: 'move', label: <span data-testid="member-move">{t('org.member.move')}</span> },
                          { key: 'password', label: <span data-testid="member-password">{t('org.member.resetPassword')}</span> },
                          m.status === 'active'
                            ? { key: 'disable', label: <span data-testid="member-toggle">{t('org.member.disable')}</span>, danger: true }
                            : { key: 'enable', label: <span data-testid="member-toggle">{t('org.member.enable')}</span> },
                        ],
                        onClick: ({ key }) => {
                          if (key === 'move') setMoving(m);
                          else if (key === 'password') setPwd(m);
                          else if (key === 'enable') void act(m, 'enable');
                          else
                            modal.confirm({
                              title: t('org.member.disableConfirm', { name: m.name }),
                              content: t('org.member.disableHint'),
                              okText: t('org.member.disable'),
                              okButtonProps: { danger: true, id: 'member-disable-ok' },
                              cancelText: t('org.cancel'),
                              onOk: () => act(m, 'disable'),
                            });
                        },
                      }}
                    >
                      <Typography.Link data-testid="member-more">{t('org.more')}</Typography.Link>
                    </Dropdown>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Space>
      {drawer && (
        <MemberDrawer
          key={drawer.kind === 'edit' ? `edit-${drawer.member.id}-${drawer.tab ?? 'profile'}` : 'create'}
          mode={drawer}
          canEditMembers={rights.members}
          canAuthorise={rights.authorisation}
          canDevices={rights.devices}
          onClose={() => setDrawer(null)}
          onSaved={(_m, depts) => {
            setDrawer(null);
            changed(depts);
          }}
        />
      )}
      {pwd && <PasswordModal member={pwd} onClose={() => setPwd(null)} />}
      {moving && (
        <MoveMemberModal
          member={moving}
          onClose={() => setMoving(null)}
          onDone={(m, depts) => {
            setMoving(null);
            void message.success(t('org.member.moved', { name: m.name }));
            changed(depts);
          }}
        />
      )}
    </Card>
  );
}
