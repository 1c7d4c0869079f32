import { Alert, App, Button, Form, Input, Modal, Popconfirm, Space, Table, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { GroupDetailView, GroupListView, GroupSummaryView } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { CreateGroupModal, GROUP_NAME_MAX } from './CreateGroupModal';
import { GroupDrawer } from './GroupDrawer';
import { describeError, ErrorAlert, MemberCount, OriginTag, type ShownError } from './shared';

type GroupId = GroupSummaryView['id'];

const PAGE_SIZE = 20;

function RenameModal({ group, onClose, onDone }: { group: GroupSummaryView | null; onClose(): void; onDone(g: GroupDetailView): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ name: string }>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ShownError | null>(null);

  useEffect(() => {
    setError(null);
  }, [group]);

  const submit = async () => {
    if (!group) return;
    const v = await form.validateFields();
    setSaving(true);
    try {
      onDone(await api<GroupDetailView>('PATCH', `/groups/${group.id}`, { body: { name: v.name.trim() } }));
    } catch (err) {
      setError(describeError(err, t));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={group !== null}
      title={t('groups.renameTitle')}
      okText={t('groups.ok')}
      cancelText={t('groups.cancel')}
      okButtonProps={{ id: 'group-rename-ok', loading: saving }}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={onClose}
      destroyOnHidden
    >
      {group && (
        <Form form={form} name="group_rename" layout="vertical" initialValues={{ name: group.name }} onFinish={() => void submit()}>
          <Form.Item
            name="name"
            label={t('groups.name')}
            rules={[
              { required: true, whitespace: true, message: t('groups.nameRequired') },
              { max: GROUP_NAME_MAX, message: t('groups.nameMax') },
            ]}
          >
            <Input maxLength={GROUP_NAME_MAX} showCount autoFocus />
          </Form.Item>
        </Form>
      )}
      <ErrorAlert error={error} testId="group-rename-error" />
    </Modal>
  );
}

/**
 * The group list (GET /groups, paged on the server) with its actions: create,
 * open the members drawer, rename, delete. `reloadKey` changes when limits
 * or the whitelist change elsewhere on the page.
 */
export function GroupList({ reloadKey, defaultLimit }: { reloadKey: number; defaultLimit: number | null }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const [data, setData] = useState<GroupListView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<GroupSummaryView | null>(null);
  const [open, setOpen] = useState<GroupId | null>(null);

  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    let live = true;
    setLoading(true);
    api<GroupListView>('GET', '/groups', { query: { q: q.trim(), offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE } })
      .then(
        (v) => {
          if (!live) return;
          // a deletion can empty the last page: step back to one that has rows
          if (v.groups.length === 0 && v.total > 0 && page > 1) setPage(Math.ceil(v.total / PAGE_SIZE));
          setData(v);
          setError(null);
        },
        (err: unknown) => live && setError(errorMessage(err)),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [q, page, tick, reloadKey]);

  const remove = async (g: GroupSummaryView) => {
    try {
      await api('DELETE', `/groups/${g.id}`);
      void message.success(t('groups.deleted'));
    } catch (err) {
      void message.error(errorMessage(err));
    }
    reload();
  };

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Space wrap style={{ justifyContent: 'space-between', width: '100%' }}>
        <Input.Search
          id="groups-search"
          allowClear
          maxLength={64}
          placeholder={t('groups.search')}
          style={{ width: 320 }}
          onSearch={(v) => {
            setQ(v);
            setPage(1);
          }}
        />
        <Space>
          <Button id="groups-refresh" onClick={reload}>
            {t('groups.refresh')}
          </Button>
          <Button id="groups-create" type="primary" onClick={() => setCreating(true)}>
            {t('groups.create')}
          </Button>
        </Space>
      </Space>
      {error && <Alert type="error" showIcon message={error} data-testid="groups-error" />}
      <Table<GroupSummaryView>
        id="groups-table"
        rowKey="id"
        size="middle"
        loading={loading}
        dataSource={data?.groups ?? []}
        locale={{ emptyText: t('groups.empty') }}
        pagination={{ current: page, pageSize: PAGE_SIZE, total: data?.total ?? 0, showSizeChanger: false, showTotal: (n) => t('total', { n }), onChange: setPage }}
        columns={[
          {
            title: t('groups.name'),
            dataIndex: 'name',
            render: (v: string, g) => (
              <Typography.Link data-testid={`group-name-${g.id}`} onClick={() => setOpen(g.id)}>
                {v}
              </Typography.Link>
            ),
          },
          { title: t('groups.origin'), dataIndex: 'origin', width: 90, render: (v: string) => <OriginTag origin={v} /> },
          { title: t('groups.owner'), dataIndex: 'ownerName', render: (v: string | null) => v ?? <Typography.Text type="secondary">{t('groups.noOwner')}</Typography.Text> },
          { title: `${t('groups.members')} / ${t('groups.limit')}`, key: 'count', width: 220, render: (_v, g) => <MemberCount group={g} testId={`group-count-${g.id}`} /> },
          {
            title: t('groups.actions'),
            key: 'actions',
            width: 220,
            render: (_v, g) => (
              <Space size={0}>
                <Button id={`group-open-${g.id}`} type="link" size="small" onClick={() => setOpen(g.id)}>
                  {t('groups.detail')}
                </Button>
                {g.origin === 'rtx' ? (
                  <Tooltip title={t('groups.rtxOwned')}>
                    <Button id={`group-rename-${g.id}`} type="link" size="small" disabled>
                      {t('groups.rename')}
                    </Button>
                  </Tooltip>
                ) : (
                  <Button id={`group-rename-${g.id}`} type="link" size="small" onClick={() => setRenaming(g)}>
                    {t('groups.rename')}
                  </Button>
                )}
                <Popconfirm
                  title={t('groups.deleteTitle', { name: g.name })}
                  description={<div style={{ maxWidth: 320 }}>{t('groups.deleteBody', { n: g.memberCount })}</div>}
                  okText={t('groups.delete')}
                  cancelText={t('groups.cancel')}
                  okButtonProps={{ danger: true, id: `group-delete-ok-${g.id}` }}
                  onConfirm={() => remove(g)}
                >
                  <Button id={`group-delete-${g.id}`} type="link" size="small" danger>
                    {t('groups.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <CreateGroupModal
        open={creating}
        defaultLimit={defaultLimit}
        onClose={() => setCreating(false)}
        onCreated={(g) => {
          setCreating(false);
          void message.success(t('groups.created', { name: g.name }));
          reload();
          setOpen(g.id);
        }}
      />
      <RenameModal
        group={renaming}
        onClose={() => setRenaming(null)}
        onDone={() => {
          setRenaming(null);
          void message.success(t('groups.renamed'));
          reload();
        }}
      />
      <GroupDrawer groupId={open} onClose={() => setOpen(null)} onChanged={reload} />
    </Space>
  );
}
