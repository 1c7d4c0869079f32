import { Alert, Button, Popconfirm, Space, Table, Tag, Typography, App as AntApp } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { TemplateEditor } from './TemplateEditor';
import { describeError, type TemplateListView, type TemplateSummaryView } from './shared';

/** The portal templates by priority (F-5.1): reorder, create, edit, delete; the default template always last. */
export function TemplatesPanel() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [data, setData] = useState<TemplateListView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | 'new' | null>(null);

  const load = useCallback(() => {
    api<TemplateListView>('GET', '/portal/templates').then(setData, (err: unknown) => setError(errorMessage(err)));
  }, []);
  useEffect(load, [load]);

  const custom = data?.templates.filter((x) => !x.isDefault) ?? [];
  const move = async (id: number, d: -1 | 1) => {
    const ids = custom.map((x) => x.id);
    const i = ids.indexOf(id);
    ids.splice(i, 1);
    ids.splice(i + d, 0, id);
    try {
      setData(await api<TemplateListView>('PUT', '/portal/order', { body: { ids } }));
      setError(null);
    } catch (err) {
      setError(describeError(err, t));
      load();
    }
  };
  const remove = async (x: TemplateSummaryView) => {
    try {
      await api('DELETE', `/portal/templates/${x.id}`, { query: { version: x.version } });
      void message.success(t('portal.saved'));
      load();
    } catch (err) {
      setError(describeError(err, t));
      load();
    }
  };

  const columns = [
    {
      title: t('portal.col.priority'), key: 'priority', width: 150,
      render: (_: unknown, x: TemplateSummaryView) => {
        if (x.isDefault) return <Tag color="blue">{t('portal.defaultTag')}</Tag>;
        const i = custom.findIndex((c) => c.id === x.id);
        return (
          <Space>
            <span>{i + 1}</span>
            {data?.canReorder && (
              <>
                <Button size="small" className="portal-template-up" disabled={i === 0} onClick={() => void move(x.id, -1)}>↑</Button>
                <Button size="small" className="portal-template-down" disabled={i === custom.length - 1} onClick={() => void move(x.id, 1)}>↓</Button>
              </>
            )}
          </Space>
        );
      },
    },
    { title: t('portal.col.name'), dataIndex: 'name', key: 'name' },
    {
      title: t('portal.col.apps'), key: 'apps',
      render: (_: unknown, x: TemplateSummaryView) => (x.isDefault ? t('portal.defaultApps') : t('portal.appsCount', { apps: x.apps, sections: x.sections })),
    },
    {
      title: t('portal.col.members'), key: 'members',
      render: (_: unknown, x: TemplateSummaryView) => (x.isDefault ? t('portal.defaultMembers') : t('portal.membersCount', { depts: x.members.depts, users: x.members.users })),
    },
    {
      title: '', key: 'actions', width: 160,
      render: (_: unknown, x: TemplateSummaryView) => (x.isDefault ? null : (
        <Space>
          <Button size="small" className="portal-template-edit" onClick={() => setEditing(x.id)}>{t('portal.edit')}</Button>
          <Popconfirm title={t('portal.deleteConfirm', { name: x.name })} onConfirm={() => void remove(x)}>
            <Button size="small" danger className="portal-template-delete">{t('portal.delete')}</Button>
          </Popconfirm>
        </Space>
      )),
    },
  ];

  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <Button id="portal-new-template" type="primary" onClick={() => setEditing('new')}>{t('portal.newTemplate')}</Button>
      </Space>
      <Typography.Paragraph type="secondary">{t('portal.priorityHint')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={error} />}
      <Table<TemplateSummaryView> id="portal-templates" rowKey="id" size="small" pagination={false} loading={!data && !error} dataSource={data?.templates ?? []} columns={columns} />
      {editing !== null && (
        <TemplateEditor
          id={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            load();
          }}
        />
      )}
    </>
  );
}
