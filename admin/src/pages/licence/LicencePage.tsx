import { Alert, Button, Card, Space, Spin } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { LicenceHistoryEntry, LicenceStatus } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { LicenceHistory } from './History';
import { ImportCard } from './ImportCard';
import { RequestForm } from './RequestForm';
import { LicenceSummary } from './Summary';

/** The licence page (F-2.3, F-9.1): the current state, import, history and the expansion/renewal request. */
export default function LicencePage() {
  const { t } = useI18n();
  const [status, setStatus] = useState<LicenceStatus | null>(null);
  const [history, setHistory] = useState<LicenceHistoryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [s, h] = await Promise.all([api<LicenceStatus>('GET', '/licence'), api<{ licences: LicenceHistoryEntry[] }>('GET', '/licence/history')]);
      setStatus(s);
      setHistory(h.licences);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  if (!status) return error ? <Alert type="error" showIcon message={error} action={<Button onClick={() => void load()}>{t('retry')}</Button>} /> : <Spin />;
  // an active licence the server lists without content no longer verifies: the server runs as a trial
  const broken = status.state === 'trial' ? (history?.find((h) => h.active && h.company === null)?.id ?? null) : null;

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} id="licence-page">
      {error && <Alert type="error" showIcon message={error} />}
      <Card
        size="small"
        title={t('licence.current')}
        extra={
          <Button size="small" id="licence-reload" loading={loading} onClick={() => void load()}>
            {t('licence.reload')}
          </Button>
        }
      >
        <LicenceSummary licence={status} full={status} storedInvalid={broken} />
      </Card>
      <ImportCard
        onImported={(r) => {
          setStatus(r.status);
          void load();
        }}
      />
      <RequestForm key={`${status.licenceId ?? 'trial'}-${status.state}`} status={status} />
      <LicenceHistory licences={history ?? []} loading={loading && history === null} />
    </Space>
  );
}
