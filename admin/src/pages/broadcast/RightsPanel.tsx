import { Alert, App as AntApp, Button, Popconfirm, Radio, Select, Space, Table, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { BroadcastRightEntryView, BroadcastRightsView, BroadcastScope } from '../../../../gateway/src/admin/routes-broadcast';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { PeoplePicker } from '../apps/PeoplePicker';

/**
 * Members' broadcast rights (F-6.2): who may broadcast from their client and
 * how far (everyone, or their own departments). Add with the people picker
 * and a scope, change the scope in the list, remove.
 */
export function RightsPanel() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [view, setView] = useState<BroadcastRightsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<number[]>([]);
  const [scope, setScope] = useState<BroadcastScope>('dept');
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    api<BroadcastRightsView>('GET', '/broadcast/rights').then(
      (v) => {
        setView(v);
        setError(null);
      },
      (e: unknown) => setError(errorMessage(e)),
    );
  }, []);
  useEffect(load, [load]);

  const put = (userId: number, s: BroadcastScope) => api<BroadcastRightEntryView>('PUT', `/broadcast/rights/${userId}`, { body: { scope: s } });

  const add = async () => {
    setBusy(true);
    try {
      for (const id of chosen) await put(id, scope);
      setChosen([]);
      void message.success(t('broadcast.rights.saved'));
    } catch (e) {
      void message.error(errorMessage(e));
    } finally {
      setBusy(false);
      load();
    }
  };
  const change = async (userId: number, s: BroadcastScope) => {
    try {
      await put(userId, s);
      void message.success(t('broadcast.rights.saved'));
    } catch (e) {
      void message.error(errorMessage(e));
    }
    load();
  };
  const remove = async (userId: number) => {
    try {
      await api('DELETE', `/broadcast/rights/${userId}`);
      void message.success(t('broadcast.rights.removed'));
    } catch (e) {
      void message.error(errorMessage(e));
    }
    load();
  };

  const mayAll = view?.mayGrantAll ?? false;
  const scopeOptions = [
    { value: 'dept', label: t('broadcast.rights.scope.dept') },
    ...(mayAll ? [{ value: 'all', label: t('broadcast.rights.scope.all') }] : []),
  ];

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Typography.Paragraph type="secondary">{t('broadcast.rights.intro')}</Typography.Paragraph>
      {view && !mayAll && <Alert type="info" showIcon message={t('broadcast.rights.scopedHint')} />}
      {error && <Alert type="error" showIcon message={error} />}
      <Space wrap style={{ width: '100%' }}>
        <div style={{ width: 360 }}>
          <PeoplePicker id="broadcast-rights-pick" path="/broadcast/people" known={[]} value={chosen as never} onChange={(v) => setChosen(v as number[])} />
        </div>
        <Radio.Group id="broadcast-rights-scope" value={scope} onChange={(e) => setScope(e.target.value as BroadcastScope)} options={scopeOptions} optionType="button" />
        <Button id="broadcast-rights-add" type="primary" loading={busy} disabled={chosen.length === 0} onClick={() => void add()}>{t('broadcast.rights.add')}</Button>
      </Space>
      <Table<BroadcastRightEntryView>
        id="broadcast-rights-table"
        rowKey={(r) => r.user.id}
        size="small"
        loading={!view && !error}
        dataSource={view?.rights ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        locale={{ emptyText: t('broadcast.rights.empty') }}
        columns={[
          { title: t('broadcast.rights.member'), key: 'member', render: (_, r) => `${r.user.name} (${r.user.account})` },
          {
            title: t('broadcast.rights.scope'), key: 'scope',
            render: (_, r) => (
              <Select<BroadcastScope>
                size="small"
                style={{ width: 140 }}
                value={r.scope}
                disabled={!mayAll && r.scope === 'all'}
                options={r.scope === 'all' && !mayAll ? [{ value: 'all', label: t('broadcast.rights.scope.all') }] : scopeOptions}
                onChange={(s) => void change(r.user.id, s)}
              />
            ),
          },
          { title: t('broadcast.rights.depts'), key: 'depts', render: (_, r) => r.depts.map((d) => d.path).join('，') },
          { title: t('broadcast.rights.grantedBy'), dataIndex: 'grantedBy' },
          { title: t('broadcast.rights.updatedAt'), key: 'updatedAt', render: (_, r) => new Date(r.updatedAt).toLocaleString() },
          {
            key: 'remove', width: 90,
            render: (_, r) => (
              <Popconfirm title={t('broadcast.rights.removeConfirm', { name: r.user.name })} onConfirm={() => void remove(r.user.id)}>
                <Button size="small" danger>{t('broadcast.remove')}</Button>
              </Popconfirm>
            ),
          },
        ]}
      />
    </Space>
  );
}
