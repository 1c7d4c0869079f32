import { Alert, Descriptions, Progress, Space, Tag } from 'antd';
import type { LicenceStatus } from '../../../../gateway/src/admin/api-types-system';
import { useI18n, type MessageKey } from '../../i18n';
import { licenceWarnings, type LicenceBrief } from './warnings';

const STATE_COLOURS: Record<LicenceStatus['state'], string> = { trial: 'blue', valid: 'green', expiring: 'orange', expired: 'red' };

export function LicenceState({ state }: { state: LicenceStatus['state'] }) {
  const { t } = useI18n();
  return (
    <Tag color={STATE_COLOURS[state]} data-testid="licence-state" data-state={state}>
      {t(`licence.${state}` as MessageKey)}
    </Tag>
  );
}

/**
 * The licence facts both the setup wizard (from /status) and the licence page
 * (from /licence) show, with the warnings in the console's language: the trial
 * and its limit, expiry from 30 days before, expired, seats full or overrun.
 * `storedInvalid` names an active stored licence that no longer verifies.
 */
export function LicenceSummary({ licence, full, storedInvalid }: { licence: LicenceBrief; full?: LicenceStatus; storedInvalid?: string | null }) {
  const { t } = useI18n();
  const percent = licence.seats > 0 ? Math.min(100, Math.round((licence.used / licence.seats) * 100)) : 0;
  return (
    <Space direction="vertical" style={{ width: '100%' }} id="licence-summary">
      {licenceWarnings(licence, t, storedInvalid ?? null).map((w) => (
        <Alert key={w.key} data-testid="licence-warning" data-warning={w.key} type={w.type} showIcon message={w.text} />
      ))}
      <Descriptions bordered size="small" column={2}>
        <Descriptions.Item label={t('licence.state')}>
          <LicenceState state={licence.state} />
        </Descriptions.Item>
        {full && (
          <Descriptions.Item label={t('licence.company')}>
            <span data-testid="licence-company">{full.company ?? '—'}</span>
          </Descriptions.Item>
        )}
        <Descriptions.Item label={t('licence.seats')}>
          <span data-testid="licence-seats">{licence.seats}</span>
        </Descriptions.Item>
        <Descriptions.Item label={t('licence.used')}>
          <span data-testid="licence-used">{licence.used}</span>{' '}
          <Progress percent={percent} size="small" status={licence.used > licence.seats ? 'exception' : 'normal'} style={{ width: 160, display: 'inline-flex', marginLeft: 8 }} />
        </Descriptions.Item>
        {full && <Descriptions.Item label={t('licence.issuedAt')}>{full.issuedAt ?? '—'}</Descriptions.Item>}
        <Descriptions.Item label={t('licence.expiresAt')}>
          <span data-testid="licence-expires">{licence.expiresAt ?? '—'}</span>
        </Descriptions.Item>
        <Descriptions.Item label={t('licence.daysLeft')}>{licence.daysLeft ?? '—'}</Descriptions.Item>
        {full && (
          <Descriptions.Item label={t('licence.id')}>
            <span data-testid="licence-id">{full.licenceId ?? '—'}</span>
          </Descriptions.Item>
        )}
      </Descriptions>
    </Space>
  );
}

