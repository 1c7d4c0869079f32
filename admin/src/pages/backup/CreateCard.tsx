import { Alert, Button, Card, Space, Typography } from 'antd';
import { useI18n } from '../../i18n';
import { CountsList } from './Counts';
import { JobProgress } from './JobProgress';
import { formatBytes, type BackupJobView, type ExportResult } from './types';

/**
 * "Back up now": starts an export job and follows it by phase; when it is
 * done, the archive's name, size and counts (the list shows it too).
 */
export function CreateCard({ job, busy, starting, error, onStart }: { job: BackupJobView | null; busy: boolean; starting: boolean; error: string | null; onStart(): void }) {
  const { t } = useI18n();
  const result = job?.state === 'done' ? (job.result as ExportResult | null) : null;
  return (
    <Card id="backup-create-card" title={t('backup.create.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Paragraph style={{ marginBottom: 0 }}>{t('backup.create.intro')}</Typography.Paragraph>
        <div>
          <Button id="backup-create" type="primary" loading={starting} disabled={busy} onClick={onStart}>
            {t('backup.create.start')}
          </Button>
        </div>
        {error && <Alert id="backup-create-error" type="error" showIcon message={error} />}
        {job && (
          <div id="backup-export-job" data-job={job.id} data-state={job.state} data-name={job.name}>
            <Space direction="vertical" size="small" style={{ width: '100%' }}>
              {job.state === 'running' && <Typography.Text strong>{t('backup.create.running', { name: job.name })}</Typography.Text>}
              <JobProgress job={job} testId="backup-export-progress" />
              {job.state === 'failed' && (
                <Alert id="backup-export-error" type="error" showIcon message={t('backup.create.failed')} description={job.error ? `${job.error.message} (${job.error.code})` : null} />
              )}
              {result && (
                <Space direction="vertical" size="small" style={{ width: '100%' }}>
                  <Alert id="backup-export-done" type="success" showIcon message={t('backup.create.done', { name: job.name, size: formatBytes(result.bytes) })} />
                  <CountsList id="backup-export-counts" counts={result.counts} />
                  {result.missingFiles.length > 0 && <Alert type="warning" showIcon message={t('backup.create.missing', { n: result.missingFiles.length })} />}
                </Space>
              )}
            </Space>
          </div>
        )}
      </Space>
    </Card>
  );
}
