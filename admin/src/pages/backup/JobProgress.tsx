import { Progress, Typography } from 'antd';
import { useI18n, type MessageKey } from '../../i18n';
import { formatBytes, jobPercent, type BackupJobView } from './types';

/** A job's bar by phase: data-phase, data-state and data-percent say where it is. */
export function JobProgress({ job, testId }: { job: BackupJobView; testId: string }) {
  const { t } = useI18n();
  const percent = jobPercent(job);
  const p = job.progress;
  const phase = t(`backup.phase.${p.phase}` as MessageKey);
  const line =
    p.bytesTotal > 0
      ? t('backup.progress.bytes', { phase, done: formatBytes(p.bytesDone), total: formatBytes(p.bytesTotal) })
      : p.entriesTotal > 0
        ? t('backup.progress.entries', { phase, done: p.entriesDone, total: p.entriesTotal })
        : phase;
  return (
    <div data-testid={testId} data-job={job.id} data-phase={p.phase} data-state={job.state} data-percent={String(percent)}>
      <Progress percent={percent} status={job.state === 'failed' ? 'exception' : job.state === 'running' ? 'active' : 'success'} />
      <Typography.Text type="secondary" data-testid={`${testId}-text`}>
        {line}
      </Typography.Text>
    </div>
  );
}
