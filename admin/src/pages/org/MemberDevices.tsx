import { Alert, App as AntApp, Button, Empty, Popconfirm, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { DeviceCommandView, DeviceView, MemberDevicesView, MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';

const TYPE_LABEL: Record<string, MessageKey> = {
  desktop: 'org.device.type.desktop', web: 'org.device.type.web', ios: 'org.device.type.ios', android: 'org.device.type.android',
};

/** Time as the administrator reads it, in their language. */
export function formatTime(ms: number | null, lang: 'zh' | 'en'): string {
  if (ms === null) return '—';
  return new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

function CommandState({ c }: { c: DeviceCommandView }) {
  const { t } = useI18n();
  if (c.ackedAt !== null) return <Tag color="green">{t('org.device.acked')}</Tag>;
  if (c.deliveredAt !== null) return <Tag color="blue">{t('org.device.delivered')}</Tag>;
  return <Tag color="orange">{t('org.device.pending')}</Tag>;
}

/**
 * A member's devices (the `devices` right): when and where each was last
 * seen, force offline, remote wipe, and the commands issued to each with
 * whether the device received and carried them out.
 */
export function MemberDevices({ member }: { member: MemberView }) {
  const { t, lang } = useI18n();
  const { modal, message } = AntApp.useApp();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const v = await api<MemberDevicesView>('GET', `/members/${member.id}/devices`);
      setDevices(v.devices);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, [member.id]);

  useEffect(() => {
    void load();
  }, [load]);

  const issue = async (d: DeviceView, kind: 'offline' | 'wipe') => {
    try {
      await api<DeviceCommandView>('POST', `/members/${member.id}/devices/${d.id}/${kind}`);
      void message.success(kind === 'offline' ? t('org.device.offlineSent', { name: d.name || d.key }) : t('org.device.wipeSent', { name: d.name || d.key }));
    } catch (err) {
      setError(errorMessage(err));
    }
    await load();
  };

  const wipe = (d: DeviceView) =>
    modal.confirm({
      title: t('org.device.wipeTitle', { name: d.name || d.key }),
      content: (
        <Space direction="vertical">
          <Typography.Text>{t('org.device.wipeExplain', { name: member.name })}</Typography.Text>
          <Typography.Text type="secondary">{t('org.device.wipeWhen')}</Typography.Text>
        </Space>
      ),
      okText: t('org.device.wipe'),
      okButtonProps: { danger: true, id: 'device-wipe-ok' },
      cancelText: t('org.cancel'),
      onOk: () => issue(d, 'wipe'),
    });

  return (
    <Space direction="vertical" style={{ width: '100%' }} id="member-devices">
      <Space style={{ width: '100%', justifyContent: 'space-between' }}>
        <Typography.Text type="secondary">{t('org.device.intro')}</Typography.Text>
        <Button id="devices-refresh" size="small" onClick={() => void load()} loading={loading}>
          {t('org.refresh')}
        </Button>
      </Space>
      {error && <Alert id="devices-error" role="alert" type="error" showIcon closable onClose={() => setError(null)} message={error} />}
      <Table<DeviceView>
        rowKey="id"
        size="small"
        loading={loading && devices === null}
        dataSource={devices ?? []}
        pagination={false}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('org.device.none')} /> }}
        onRow={(d) => ({ 'data-device-key': d.key }) as React.HTMLAttributes<HTMLElement>}
        expandable={{
          rowExpandable: (d) => d.commands.length > 0,
          expandedRowRender: (d) => (
            <Table<DeviceCommandView>
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={d.commands}
              columns={[
                { title: t('org.device.command'), key: 'kind', render: (_v, c) => (c.kind === 'wipe' ? t('org.device.wipe') : t('org.device.offline')) },
                { title: t('org.device.issuedAt'), key: 'issuedAt', render: (_v, c) => formatTime(c.issuedAt, lang) },
                { title: t('org.device.issuedBy'), dataIndex: 'issuedBy' },
                { title: t('org.device.state'), key: 'state', render: (_v, c) => <CommandState c={c} /> },
                { title: t('org.device.deliveredAt'), key: 'deliveredAt', render: (_v, c) => formatTime(c.deliveredAt, lang) },
                { title: t('org.device.ackedAt'), key: 'ackedAt', render: (_v, c) => formatTime(c.ackedAt, lang) },
              ]}
            />
          ),
        }}
        columns={[
          { title: t('org.device.type'), key: 'type', width: 80, render: (_v, d) => <Tag>{TYPE_LABEL[d.type] ? t(TYPE_LABEL[d.type] as MessageKey) : d.type}</Tag> },
          {
            title: t('org.device.name'),
            key: 'name',
            render: (_v, d) => (
              <Tooltip title={d.key}>
                <span>{d.name || d.key}</span>
              </Tooltip>
            ),
          },
          { title: t('org.device.lastSeen'), key: 'lastSeenAt', width: 150, render: (_v, d) => formatTime(d.lastSeenAt, lang) },
          { title: t('org.device.address'), key: 'lastAddress', render: (_v, d) => d.lastAddress ?? '—' },
          {
            title: t('org.device.lastCommand'),
            key: 'last',
            width: 150,
            render: (_v, d) => {
              const c = d.commands[0];
              return c ? (
                <Space size={4} wrap={false} style={{ whiteSpace: 'nowrap' }}>
                  <span>{c.kind === 'wipe' ? t('org.device.wipe') : t('org.device.offline')}</span>
                  <CommandState c={c} />
                </Space>
              ) : (
                '—'
              );
            },
          },
          {
            title: t('org.actions'),
            key: 'actions',
            width: 170,
            render: (_v, d) => (
              <Space size={0}>
                <Popconfirm
                  title={t('org.device.offlineConfirm', { name: d.name || d.key })}
                  description={t('org.device.offlineHint')}
                  okText={t('org.device.offline')}
                  cancelText={t('org.cancel')}
                  okButtonProps={{ id: 'device-offline-ok' }}
                  onConfirm={() => issue(d, 'offline')}
                >
                  <Button type="link" size="small" data-testid="device-offline">
                    {t('org.device.offline')}
                  </Button>
                </Popconfirm>
                <Button type="link" size="small" danger data-testid="device-wipe" onClick={() => wipe(d)}>
                  {t('org.device.wipe')}
                </Button>
              </Space>
            ),
          },
        ]}
      />
    </Space>
  );
}
