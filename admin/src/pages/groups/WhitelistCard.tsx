import { Alert, App, Button, Card, Popconfirm, Space, Table, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ExemptUserView } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { MemberPicker } from '../../components/MemberPicker';
import { useI18n } from '../../i18n';

type UserId = ExemptUserView['id'];

/**
 * The member-limit whitelist (GET/PUT/DELETE /groups/exempt): a group whose
 * owner is listed has no member limit.
 */
export function WhitelistCard({ onChanged }: { onChanged(): void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [users, setUsers] = useState<ExemptUserView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<UserId[]>([]);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setUsers((await api<{ users: ExemptUserView[] }>('GET', '/groups/exempt')).users);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const listed = useMemo(() => new Set(users?.map((u) => u.id) ?? []), [users]);

  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      // one call per person: the API takes one user a call, each logged on its own
      for (const id of picked) await api('PUT', `/groups/exempt/${id}`);
      setPicked([]);
      void message.success(t('groups.whitelistAdded'));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
      await load();
      onChanged();
    }
  };

  const remove = async (id: UserId) => {
    setError(null);
    try {
      await api('DELETE', `/groups/exempt/${id}`);
      void message.success(t('groups.whitelistRemoved'));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      await load();
      onChanged();
    }
  };

  return (
    <Card size="small" title={t('groups.whitelistTitle')} id="group-whitelist-card">
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('groups.whitelistHint')}</Typography.Text>
        <Space.Compact style={{ width: '100%' }}>
          <MemberPicker id="group-exempt-picker" value={picked} onChange={(ids) => setPicked(ids)} exclude={listed} placeholder={t('groups.whitelistPick')} disabled={busy} />
          <Button id="group-exempt-add" type="primary" disabled={picked.length === 0} loading={busy} onClick={() => void add()}>
            {t('groups.whitelistAdd')}
          </Button>
        </Space.Compact>
        {error && <Alert type="error" showIcon message={error} data-testid="group-exempt-error" />}
        <Table<ExemptUserView>
          id="group-exempt-table"
          rowKey="id"
          size="small"
          loading={users === null && !error}
          dataSource={users ?? []}
          locale={{ emptyText: t('groups.whitelistEmpty') }}
          pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
          columns={[
            { title: t('groups.account'), dataIndex: 'account' },
            { title: t('groups.memberName'), dataIndex: 'name' },
            {
              title: t('groups.actions'),
              key: 'actions',
              width: 90,
              render: (_v, u) => (
                <Popconfirm
                  title={t('groups.whitelistRemoveTitle', { name: u.name })}
                  description={t('groups.whitelistRemoveBody')}
                  okText={t('groups.ok')}
                  cancelText={t('groups.cancel')}
                  okButtonProps={{ id: `group-exempt-remove-ok-${u.id}` }}
                  onConfirm={() => remove(u.id)}
                >
                  <Button id={`group-exempt-remove-${u.id}`} size="small" type="link" danger>
                    {t('groups.whitelistRemove')}
                  </Button>
                </Popconfirm>
              ),
            },
          ]}
        />
      </Space>
    </Card>
  );
}
