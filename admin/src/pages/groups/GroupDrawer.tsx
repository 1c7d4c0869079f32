import { App, Button, Descriptions, Drawer, Input, Popconfirm, Space, Spin, Table, Tag, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { GroupDetailView, GroupMemberView, GroupSummaryView } from '../../../../gateway/src/admin/api-types-system';
import { api } from '../../api';
import { MemberPicker } from '../../components/MemberPicker';
import { useI18n } from '../../i18n';
import { describeError, ErrorAlert, fullness, MemberCount, OriginTag, type ShownError } from './shared';

type GroupId = GroupSummaryView['id'];
type UserId = GroupMemberView['id'];

const MEMBER_PAGE_SIZE = 50;

/**
 * One group's members (GET /groups/:id): filter, page through up to a few
 * thousand locally, remove one or a selection, add people found with the
 * member picker. A refused addition shows the server's figures; the list is
 * then re-read, so what is shown is what the server holds.
 */
export function GroupDrawer({ groupId, onClose, onChanged }: { groupId: GroupId | null; onClose(): void; onChanged(): void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [group, setGroup] = useState<GroupDetailView | null>(null);
  const [loadError, setLoadError] = useState<ShownError | null>(null);
  const [actionError, setActionError] = useState<ShownError | null>(null);
  const [adding, setAdding] = useState<UserId[]>([]);
  const [busy, setBusy] = useState(false);
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<UserId[]>([]);

  const load = useCallback(async (id: GroupId) => {
    try {
      setGroup(await api<GroupDetailView>('GET', `/groups/${id}`));
      setLoadError(null);
    } catch (err) {
      setLoadError(describeError(err, t));
    }
  }, [t]);

  useEffect(() => {
    setGroup(null);
    setLoadError(null);
    setActionError(null);
    setAdding([]);
    setFilter('');
    setPage(1);
    setSelected([]);
    if (groupId !== null) void load(groupId);
  }, [groupId, load]);

  const current = useMemo(() => new Set(group?.members.map((m) => m.id) ?? []), [group]);
  // RTX discussion groups are kept in step with RTX: members are changed there (the server refuses with GW_RTX_OWNED)
  const rtxOwned = group?.origin === 'rtx';
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const all = group?.members ?? [];
    return f ? all.filter((m) => m.name.toLowerCase().includes(f) || m.account.toLowerCase().includes(f)) : all;
  }, [group, filter]);

  const change = async (body: { add?: UserId[]; remove?: UserId[] }, done: string) => {
    if (!group) return;
    setBusy(true);
    setActionError(null);
    try {
      const g = await api<GroupDetailView>('POST', `/groups/${group.id}/members`, { body });
      setGroup(g);
      void message.success(done);
      onChanged();
      return true;
    } catch (err) {
      setActionError(describeError(err, t));
      // show what the server holds now, whatever happened
      await load(group.id);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const addNow = async () => {
    if (adding.length === 0) return;
    if (await change({ add: adding }, t('groups.added', { n: adding.length }))) setAdding([]);
  };

  const removeNow = async (ids: UserId[]) => {
    if (await change({ remove: ids }, t('groups.removed', { n: ids.length }))) setSelected((s) => s.filter((x) => !ids.includes(x)));
  };

  const f = group ? fullness(group) : 'ok';
  const room = group && group.memberLimit !== null ? Math.max(0, group.memberLimit - group.memberCount) : null;

  return (
    <Drawer
      open={groupId !== null}
      onClose={onClose}
      width={760}
      title={group ? t('groups.drawerTitle', { name: group.name }) : t('groups.detail')}
      destroyOnHidden
      rootClassName="group-drawer"
      id="group-drawer"
    >
      {loadError && <ErrorAlert error={loadError} testId="group-load-error" />}
      {!group && !loadError && <Spin />}
      {group && (
        <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="group-detail" data-group-id={group.id}>
          <Descriptions size="small" column={2} bordered>
            <Descriptions.Item label={t('groups.name')}>
              <span data-testid="group-detail-name">{group.name}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('groups.origin')}>
              <OriginTag origin={group.origin} />
            </Descriptions.Item>
            <Descriptions.Item label={t('groups.owner')}>{group.ownerName ?? <Typography.Text type="secondary">{t('groups.noOwner')}</Typography.Text>}</Descriptions.Item>
            <Descriptions.Item label={t('groups.members')}>
              <MemberCount group={group} testId="group-detail-count" />
            </Descriptions.Item>
          </Descriptions>

          <div>
            <Typography.Title level={5} style={{ marginTop: 0 }}>
              {t('groups.addMembers')}
            </Typography.Title>
            <Tooltip title={rtxOwned ? t('groups.rtxOwned') : undefined}>
              <Space.Compact style={{ width: '100%' }}>
                <MemberPicker id="group-add-picker" value={adding} onChange={(ids) => setAdding(ids)} exclude={current} placeholder={t('groups.addPlaceholder')} disabled={busy || rtxOwned} />
                <Button id="group-add-submit" type="primary" disabled={adding.length === 0 || rtxOwned} loading={busy} onClick={() => void addNow()}>
                  {t('groups.addSubmit')}
                </Button>
              </Space.Compact>
            </Tooltip>
            <Typography.Text type={f === 'full' ? 'danger' : f === 'near' ? 'warning' : 'secondary'} data-testid="group-room">
              {room === null ? t('groups.roomUnlimited') : room === 0 ? t('groups.roomNone') : t('groups.room', { n: room })}
            </Typography.Text>
          </div>

          <ErrorAlert error={actionError} testId="group-action-error" onClose={() => setActionError(null)} />

          <Space wrap style={{ justifyContent: 'space-between', width: '100%' }}>
            <Input.Search
              id="group-member-filter"
              allowClear
              placeholder={t('groups.filterMembers')}
              style={{ width: 280 }}
              onChange={(e) => {
                setFilter(e.target.value);
                setPage(1);
              }}
            />
            <Popconfirm
              title={t('groups.removeSelectedTitle', { n: selected.length })}
              description={t('groups.removeBody')}
              okText={t('groups.ok')}
              cancelText={t('groups.cancel')}
              okButtonProps={{ danger: true, id: 'group-remove-selected-ok' }}
              disabled={selected.length === 0}
              onConfirm={() => removeNow(selected)}
            >
              <Tooltip title={rtxOwned ? t('groups.rtxOwned') : undefined}>
                <Button id="group-remove-selected" danger disabled={selected.length === 0 || busy || rtxOwned}>
                  {t('groups.removeSelected', { n: selected.length })}
                </Button>
              </Tooltip>
            </Popconfirm>
          </Space>

          <Table<GroupMemberView>
            id="group-member-table"
            rowKey="id"
            size="small"
            dataSource={shown}
            rowSelection={{
              selectedRowKeys: selected,
              onChange: (keys) => setSelected(keys as UserId[]),
              getCheckboxProps: (m) => ({ disabled: m.id === group.ownerId || rtxOwned }),
            }}
            pagination={{ current: page, pageSize: MEMBER_PAGE_SIZE, total: shown.length, showSizeChanger: false, showTotal: (n) => t('total', { n }), onChange: setPage }}
            columns={[
              { title: t('groups.account'), dataIndex: 'account' },
              {
                title: t('groups.memberName'),
                dataIndex: 'name',
                render: (v: string, m) => (
                  <Space size={4}>
                    {v}
                    {m.id === group.ownerId && <Tag color="gold">{t('groups.ownerTag')}</Tag>}
                  </Space>
                ),
              },
              {
                title: t('groups.actions'),
                key: 'actions',
                width: 100,
                render: (_v, m) =>
                  m.id === group.ownerId || rtxOwned ? (
                    <Tooltip title={rtxOwned ? t('groups.rtxOwned') : t('groups.removeOwnerDisabled')}>
                      <Button size="small" type="link" disabled>
                        {t('groups.remove')}
                      </Button>
                    </Tooltip>
                  ) : (
                    <Popconfirm
                      title={t('groups.removeTitle', { name: m.name })}
                      description={t('groups.removeBody')}
                      okText={t('groups.ok')}
                      cancelText={t('groups.cancel')}
                      okButtonProps={{ danger: true, id: `group-member-remove-ok-${m.id}` }}
                      onConfirm={() => removeNow([m.id])}
                    >
                      <Button id={`group-member-remove-${m.id}`} size="small" type="link" danger disabled={busy}>
                        {t('groups.remove')}
                      </Button>
                    </Popconfirm>
                  ),
              },
            ]}
          />
        </Space>
      )}
    </Drawer>
  );
}
