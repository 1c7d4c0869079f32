import { Alert, Descriptions, Progress, Space, Spin, Tag } from 'antd';
import { useEffect, useState } from 'react';
import type { LicenceStatus, SystemStatusView } from '../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../api';
import { useI18n, type MessageKey } from '../i18n';

type LicenceBrief = NonNullable<SystemStatusView['licence']>;

const STATE_COLOURS: Record<LicenceStatus['state'], string> = { trial: 'blue', valid: 'green', expiring: 'orange', expired: 'red' };

export function LicenceState({ state }: { state: LicenceStatus['state'] }) {
  const { t } = useI18n();
  return <Tag color={STATE_COLOURS[state]}>{t(`licence.${state}` as MessageKey)}</Tag>;
}

/** The licence facts both the setup wizard (from /status) and the licence page (from /licence) show. */
export function LicenceSummary({ licence, full }: { licence: LicenceBrief; full?: LicenceStatus }) {
  const { t } = useI18n();
  const percent = licence.seats > 0 ? Math.min(100, Math.round((licence.used / licence.seats) * 100)) : 0;
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {licence.warnings.map((w) => (
        <Alert key={w} type="warning" showIcon message={w} />
      ))}
      <Descriptions bordered size="small" column={2}>
        <Descriptions.Item label={t('licence.state')}>
          <LicenceState state={licence.state} />
        </Descriptions.Item>
        {full && <Descriptions.Item label={t('licence.company')}>{full.company ?? '—'}</Descriptions.Item>}
        <Descriptions.Item label={t('licence.seats')}>{licence.seats}</Descriptions.Item>
        <Descriptions.Item label={t('licence.used')}>
          {licence.used} <Progress percent={percent} size="small" style={{ width: 160, display: 'inline-flex', marginLeft: 8 }} />
        </Descriptions.Item>
        {full && <Descriptions.Item label={t('licence.issuedAt')}>{full.issuedAt ?? '—'}</Descriptions.Item>}
        <Descriptions.Item label={t('licence.expiresAt')}>{licence.expiresAt ?? '—'}</Descriptions.Item>
        <Descriptions.Item label={t('licence.daysLeft')}>{licence.daysLeft ?? '—'}</Descriptions.Item>
        {full && <Descriptions.Item label={t('licence.id')}>{full.licenceId ?? '—'}</Descriptions.Item>}
      </Descriptions>
    </Space>
  );
}

export default function LicencePage() {
  const [status, setStatus] = useState<LicenceStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<LicenceStatus>('GET', '/licence').then(setStatus, (err: unknown) => setError(errorMessage(err)));
  }, []);
  if (error) return <Alert type="error" showIcon message={error} />;
  if (!status) return <Spin />;
  return <LicenceSummary licence={status} full={status} />;
}
