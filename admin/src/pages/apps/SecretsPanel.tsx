import { Alert, Descriptions, Typography } from 'antd';
import { useI18n } from '../../i18n';
import type { AppSecretsView } from './shared';

/** The app's credentials in full with copy buttons, and the warning that they are shown once. */
export function SecretsPanel({ secrets, idPrefix = 'app-secret' }: { secrets: AppSecretsView; idPrefix?: string }) {
  const { t } = useI18n();
  const copyable = (text: string) => ({ text, tooltips: [t('apps.copy'), t('apps.copied')] });
  return (
    <>
      <Alert id={`${idPrefix}s-warning`} type="warning" showIcon message={t('apps.secretsWarning')} style={{ marginBottom: 12 }} />
      <Descriptions column={1} bordered size="small" labelStyle={{ width: 170 }}>
        <Descriptions.Item label={t('apps.buin')}>
          <Typography.Text id={`${idPrefix}-buin`} copyable={copyable(String(secrets.buin))}>{secrets.buin}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('apps.appId')}>
          <Typography.Text id={`${idPrefix}-appid`} code copyable={copyable(secrets.appId)}>{secrets.appId}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('apps.aesKey')}>
          <Typography.Text id={`${idPrefix}-aeskey`} code copyable={copyable(secrets.encodingAesKey)}>{secrets.encodingAesKey}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('apps.token')}>
          {secrets.token ? <Typography.Text id={`${idPrefix}-token`} code copyable={copyable(secrets.token)}>{secrets.token}</Typography.Text> : '—'}
        </Descriptions.Item>
      </Descriptions>
    </>
  );
}
