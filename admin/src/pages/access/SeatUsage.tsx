import { Alert, Card, Progress, Space, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { SystemStatusView } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';

type Seats = NonNullable<SystemStatusView['licence']>;

/**
 * Seats of the licence (or the trial), read again whenever `version`
 * changes. From GET /status, which every administrator may read (the licence
 * page's GET /licence needs the licence right).
 */
export function SeatUsage({ version }: { version: number }) {
  const { t } = useI18n();
  const [seats, setSeats] = useState<Seats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api<SystemStatusView>('GET', '/status').then(
      (s) => {
        if (!live) return;
        setSeats(s.licence);
        setError(s.licence ? null : t('access.seatsUnknown'));
      },
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [version, t]);

  const full = seats !== null && seats.used >= seats.seats;
  const percent = seats && seats.seats > 0 ? Math.min(100, Math.round((seats.used / seats.seats) * 100)) : 0;
  return (
    <Card size="small" title={t('access.seats')} id="access-seats" style={{ height: '100%' }}>
      {error && <Alert type="warning" showIcon message={error} />}
      {seats && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Space>
            <Typography.Text strong data-testid="access-seats-text">
              {t('access.seatsUsed', { used: seats.used, seats: seats.seats })}
            </Typography.Text>
            {!full && <Typography.Text type="secondary">{t('access.seatsFree', { n: seats.seats - seats.used })}</Typography.Text>}
          </Space>
          <Progress percent={percent} status={full ? 'exception' : 'normal'} showInfo={false} />
          {full && <Alert type="warning" showIcon message={t('access.seatsNone')} data-testid="access-seats-full" />}
        </Space>
      )}
    </Card>
  );
}
