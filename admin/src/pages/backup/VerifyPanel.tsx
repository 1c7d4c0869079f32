import { Alert, Space, Typography } from 'antd';
import { useI18n } from '../../i18n';
import { CountsList } from './Counts';
import { JobProgress } from './JobProgress';
import type { BackupJobView, VerifyResult } from './types';

/** One verification: its bar while it runs, then what the archive holds, or the server's reason it cannot be used. */
export function VerifyPanel({ job }: { job: BackupJobView }) {
  const { t, lang } = useI18n();
  const result = job.state === 'done' ? (job.result as VerifyResult | null) : null;
  return (
    <div id="backup-verify-result" data-job={job.id} data-name={job.name} data-state={job.state}>
      <Space direction="vertical" size="small" style={{ width: '100%' }}>
        {job.state === 'running' && (
          <>
            <Typography.Text strong>{t('backup.verify.running', { name: job.name })}</Typography.Text>
            <JobProgress job={job} testId="backup-verify-progress" />
          </>
        )}
        {job.state === 'failed' && (
          <Alert
            id="backup-verify-error"
            type="error"
            showIcon
            message={t('backup.verify.failed', { name: job.name })}
            description={
              job.error ? (
                <span data-testid="backup-verify-reason" data-code={job.error.code}>
                  {job.error.message} ({job.error.code})
                </span>
              ) : null
            }
          />
        )}
        {result && (
          <>
            <Alert
              id="backup-verify-ok"
              type="success"
              showIcon
              message={t('backup.verify.ok', { name: job.name })}
              description={
                <>
                  <div>
                    {t('backup.verify.made', {
                      version: result.header.productVersion,
                      time: new Date(result.header.createdAt).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB'),
                      schema: result.header.schemaVersion,
                    })}
                  </div>
                  <div data-testid="backup-verify-checksum" data-checksum={result.checksumFile}>
                    {result.checksumFile === 'ok' ? t('backup.verify.checksumOk') : t('backup.verify.checksumAbsent')}
                  </div>
                </>
              }
            />
            <CountsList id="backup-verify-counts" counts={result.counts} />
            {result.missingFiles.length > 0 && <Alert type="warning" showIcon message={t('backup.verify.missing', { n: result.missingFiles.length })} />}
          </>
        )}
      </Space>
    </div>
  );
}
