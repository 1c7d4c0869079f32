import { Alert, Button, Descriptions, Popconfirm, Space, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { SecretsPanel } from './SecretsPanel';
import { describeError, ErrorAlert, isStale, type AppDetailView, type AppSecretsView, type AppWithSecretsView } from './shared';

/** appId, buin, the EncodingAESKey masked (reveal, logged), regenerate with confirmation. */
export function KeysTab({ app, onSaved, onStale }: { app: AppDetailView; onSaved(a: AppDetailView): void; onStale(): void }) {
  const { t } = useI18n();
  const [secrets, setSecrets] = useState<AppSecretsView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (app.role === 'fileTransfer') return <Alert type="info" showIcon message={t('apps.fileTransferHint')} />;
  if (!app.appId) return <Alert type="info" showIcon message={t('apps.noKeys')} />;

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(describeError(err, t));
      if (isStale(err)) onStale();
    } finally {
      setBusy(false);
    }
  };

  const reveal = () => run(async () => setSecrets(await api<AppSecretsView>('POST', `/apps/${app.id}/reveal`, { body: {} })));
  const regenerate = () =>
    run(async () => {
      const r = await api<AppWithSecretsView>('POST', `/apps/${app.id}/regenerate-key`, { body: { version: app.version } });
      setSecrets(r.secrets);
      onSaved(r.app);
    });

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {secrets ? (
        <SecretsPanel secrets={secrets} idPrefix="app-revealed" />
      ) : (
        <Descriptions column={1} bordered size="small" labelStyle={{ width: 170 }}>
          <Descriptions.Item label={t('apps.buin')}>
            <Typography.Text id="app-key-buin">{app.buin}</Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('apps.appId')}>
            <Typography.Text id="app-key-appid" code copyable>{app.appId}</Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('apps.aesKey')}>
            <Space>
              <Typography.Text id="app-key-masked" code>{app.aesKeyMasked}</Typography.Text>
              <Popconfirm title={t('apps.revealConfirm')} okText={t('apps.ok')} cancelText={t('apps.cancel')} okButtonProps={{ id: 'app-reveal-ok' }} onConfirm={() => void reveal()}>
                <Button id="app-reveal" size="small" loading={busy}>{t('apps.reveal')}</Button>
              </Popconfirm>
            </Space>
          </Descriptions.Item>
          <Descriptions.Item label={t('apps.token')}>{app.hasCallbackToken ? '••••••••' : '—'}</Descriptions.Item>
        </Descriptions>
      )}
      <Popconfirm title={t('apps.regenerateConfirm')} okText={t('apps.ok')} cancelText={t('apps.cancel')} okButtonProps={{ id: 'app-regenerate-ok', danger: true }} onConfirm={() => void regenerate()}>
        <Button id="app-regenerate" danger loading={busy}>{t('apps.regenerate')}</Button>
      </Popconfirm>
      <ErrorAlert error={error} id="app-keys-error" />
    </Space>
  );
}
