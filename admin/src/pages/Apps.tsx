import { Avatar, Button, Input, Modal, Space, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { AppDetail } from './apps/AppDetail';
import { CreateAppModal } from './apps/CreateAppModal';
import { ImportAppModal } from './apps/ImportAppModal';
import { SecretsPanel } from './apps/SecretsPanel';
import type { AppListView, AppSummaryView, AppWithSecretsView } from './apps/shared';

/**
 * Apps (F-4.2–F-4.4): the system apps (file transfer, notifications, the
 * assistants with their fixed appIds) and custom apps; create with generated
 * credentials shown once, import with given ones, and each app's detail.
 * Right `apps`.
 */
export default function AppsPage() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [reload, setReload] = useState(0);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [shown, setShown] = useState<AppWithSecretsView | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [data, setData] = useState<AppListView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    let live = true;
    setLoading(true);
    api<AppListView>('GET', '/apps', { query: { q } })
      .then(
        (v) => {
          if (!live) return;
          setData(v);
          setError(null);
        },
        (err: unknown) => live && setError(errorMessage(err)),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [q, reload]);
  const bump = () => setReload((n) => n + 1);

  const made = (r: AppWithSecretsView) => {
    setCreating(false);
    setImporting(false);
    setShown(r);
    bump();
  };

  const columns = [
    {
      title: t('apps.col.name'),
      key: 'name',
      render: (_: unknown, a: AppSummaryView) => (
        <Space>
          <Avatar shape="square" size="small" src={a.logoUrl ?? undefined}>{a.name.slice(0, 1)}</Avatar>
          <Typography.Link className="app-name">{a.name}</Typography.Link>
        </Space>
      ),
    },
    {
      title: t('apps.col.kind'),
      key: 'kind',
      render: (_: unknown, a: AppSummaryView) => (
        <Space size={4} wrap>
          <Tag color={a.kind === 'custom' ? 'blue' : 'gold'}>{t(`apps.kind.${a.kind}` as MessageKey)}</Tag>
          {a.role !== 'custom' && <Tag>{t(`apps.role.${a.role}` as MessageKey)}</Tag>}
        </Space>
      ),
    },
    { title: t('apps.col.appId'), key: 'appId', render: (_: unknown, a: AppSummaryView) => (a.appId ? <Typography.Text code copyable>{a.appId}</Typography.Text> : '—') },
    { title: t('apps.col.buin'), dataIndex: 'buin', key: 'buin', render: (b: number | null) => b ?? '—' },
    {
      title: t('apps.col.visibility'),
      key: 'visibility',
      render: (_: unknown, a: AppSummaryView) =>
        !a.peopleFacing ? <Typography.Text type="secondary">{t('apps.hiddenForPeople')}</Typography.Text> : a.visibility.all ? t('apps.visibleAll') : t('apps.visibleSome', { depts: a.visibility.depts, users: a.visibility.users }),
    },
    { title: t('apps.col.state'), key: 'state', render: (_: unknown, a: AppSummaryView) => <Tag color={a.enabled ? 'green' : 'default'}>{a.enabled ? t('apps.enabled') : t('apps.disabled')}</Tag> },
  ];

  return (
    <Space direction="vertical" style={{ width: '100%' }} size="middle">
      <Space wrap>
        <Input.Search id="apps-search" allowClear placeholder={t('apps.search')} style={{ width: 280 }} maxLength={64} onSearch={(v) => setQ(v.trim())} />
        <Button id="apps-create" type="primary" onClick={() => setCreating(true)}>{t('apps.create')}</Button>
        <Button id="apps-import" onClick={() => setImporting(true)}>{t('apps.import')}</Button>
        <Button onClick={bump}>{t('apps.refresh')}</Button>
      </Space>
      {error && <Typography.Text type="danger">{error}</Typography.Text>}
      <Table<AppSummaryView>
        id="apps-table"
        rowKey="id"
        size="middle"
        loading={loading}
        dataSource={data?.apps ?? []}
        columns={columns}
        pagination={false}
        locale={{ emptyText: t('apps.empty') }}
        onRow={(a) => ({ onClick: () => setOpen(a.id), style: { cursor: 'pointer' }, 'data-app-id': a.id } as React.HTMLAttributes<HTMLElement>)}
      />
      <CreateAppModal open={creating} onClose={() => setCreating(false)} onCreated={made} />
      <ImportAppModal open={importing} onClose={() => setImporting(false)} onImported={made} />
      <Modal
        open={shown !== null}
        title={t('apps.secretsTitle')}
        width={680}
        closable={false}
        maskClosable={false}
        destroyOnHidden
        footer={
          <Button
            id="app-secrets-close"
            type="primary"
            onClick={() => {
              const id = shown?.app.id ?? null;
              setShown(null);
              setOpen(id);
            }}
          >
            {t('apps.close')}
          </Button>
        }
      >
        {shown && <SecretsPanel secrets={shown.secrets} />}
      </Modal>
      <AppDetail id={open} onClose={() => setOpen(null)} onChanged={bump} />
    </Space>
  );
}
