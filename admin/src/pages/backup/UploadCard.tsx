import { Alert, Card, Progress, Space, Typography, Upload } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { uploadArchive } from './transfer';
import { archiveNameFor, formatBytes } from './types';

type Step =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string; percent: number }
  | { kind: 'done'; name: string; bytes: number }
  | { kind: 'failed'; message: string };

/**
 * Upload of an archive into dataDir/backups (PUT /backup/files/:name) with
 * its progress; `onUploaded` then verifies it. The name is made one the
 * server accepts; an existing name is refused before sending anything.
 */
export function UploadCard({ existing, onUploaded }: { existing: string[]; onUploaded(name: string): void }) {
  const { t } = useI18n();
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const pick = async (file: File) => {
    const name = archiveNameFor(file.name);
    if (!name) return setStep({ kind: 'failed', message: t('backup.upload.notTar', { name: file.name }) });
    if (file.size === 0) return setStep({ kind: 'failed', message: t('backup.upload.empty', { name: file.name }) });
    if (existing.includes(name)) return setStep({ kind: 'failed', message: t('backup.upload.exists', { name }) });
    const ctl = new AbortController();
    abort.current = ctl;
    setStep({ kind: 'uploading', name, percent: 0 });
    try {
      const r = await uploadArchive(name, file, (f) => setStep((s) => (s.kind === 'uploading' ? { ...s, percent: Math.min(99, Math.floor(f * 100)) } : s)), ctl.signal);
      if (ctl.signal.aborted) return;
      setStep({ kind: 'done', name: r.name, bytes: r.bytes });
      onUploaded(r.name);
    } catch (err) {
      if (!ctl.signal.aborted) setStep({ kind: 'failed', message: errorMessage(err) });
    }
  };

  const uploading = step.kind === 'uploading';
  return (
    <Card id="backup-upload-card" title={t('backup.upload.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Paragraph style={{ marginBottom: 0 }}>{t('backup.upload.intro')}</Typography.Paragraph>
        <div id="backup-upload-dragger">
          <Upload.Dragger
            name="file"
            accept=".tar,application/x-tar"
            multiple={false}
            showUploadList={false}
            disabled={uploading}
            beforeUpload={(file) => {
              void pick(file);
              return Upload.LIST_IGNORE;
            }}
          >
            <p className="ant-upload-text">{t('backup.upload.dragger')}</p>
            <p className="ant-upload-hint">{t('backup.upload.hint')}</p>
          </Upload.Dragger>
        </div>
        {step.kind === 'uploading' && (
          <div data-testid="backup-upload-progress" data-name={step.name} data-percent={String(step.percent)}>
            <Typography.Text strong>{t('backup.upload.uploading', { name: step.name, percent: step.percent })}</Typography.Text>
            <Progress percent={step.percent} status="active" />
          </div>
        )}
        {step.kind === 'done' && <Alert id="backup-upload-done" data-name={step.name} type="success" showIcon message={t('backup.upload.done', { name: step.name, size: formatBytes(step.bytes) })} />}
        {step.kind === 'failed' && <Alert id="backup-upload-error" type="error" showIcon message={t('backup.upload.failed')} description={step.message} />}
      </Space>
    </Card>
  );
}
