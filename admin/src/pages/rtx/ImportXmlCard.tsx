import { Alert, Button, Card, Progress, Space, Typography, Upload } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { CountsTable, hasChanges } from './Counts';
import type { ImportXmlAnswer } from './types';
import { uploadRtxExport } from './upload';

type Step =
  | { kind: 'idle' }
  /** uploading/planning (dryRun) or applying; percent of the upload */
  | { kind: 'busy'; file: File; dryRun: boolean; percent: number }
  | { kind: 'planned'; file: File; answer: ImportXmlAnswer }
  | { kind: 'applied'; file: File; answer: ImportXmlAnswer }
  /** planFailed: the dry run failed (pick another file); otherwise applying did */
  | { kind: 'failed'; file: File | null; message: string; planFailed: boolean; plan: ImportXmlAnswer | null };

function Warnings({ warnings }: { warnings: string[] }) {
  const { t } = useI18n();
  if (warnings.length === 0) return null;
  return (
    <Alert
      id="rtx-import-warnings"
      type="warning"
      showIcon
      message={t('rtx.import.warnings', { n: warnings.length })}
      description={
        <ul style={{ margin: 0, paddingInlineStart: 20, maxHeight: 240, overflow: 'auto' }}>
          {warnings.map((w, i) => (
            <li key={i} data-testid="rtx-import-warning">
              {w}
            </li>
          ))}
        </ul>
      }
    />
  );
}

/**
 * Import of an RTX Manager export: the file is tried first (dry run: the plan
 * and its warnings, nothing written), then applied on the administrator's
 * word. `onApplied` lets the page read the sync history again.
 */
export function ImportXmlCard({ onApplied }: { onApplied(): void }) {
  const { t } = useI18n();
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const run = async (file: File, dryRun: boolean, plan: ImportXmlAnswer | null) => {
    const ctl = new AbortController();
    abort.current = ctl;
    setStep({ kind: 'busy', file, dryRun, percent: 0 });
    try {
      const answer = await uploadRtxExport(file, dryRun, (f) => setStep((s) => (s.kind === 'busy' ? { ...s, percent: Math.round(f * 100) } : s)), ctl.signal);
      if (ctl.signal.aborted) return;
      setStep(dryRun ? { kind: 'planned', file, answer } : { kind: 'applied', file, answer });
      if (!dryRun) onApplied();
    } catch (err) {
      if (ctl.signal.aborted) return;
      setStep({ kind: 'failed', file, message: errorMessage(err), planFailed: dryRun, plan });
    }
  };

  const pick = (file: File) => {
    if (!/\.xml$/i.test(file.name)) return setStep({ kind: 'failed', file: null, message: t('rtx.import.notXml', { name: file.name }), planFailed: true, plan: null });
    if (file.size === 0) return setStep({ kind: 'failed', file: null, message: t('rtx.import.empty', { name: file.name }), planFailed: true, plan: null });
    void run(file, true, null);
  };

  const busy = step.kind === 'busy';
  const showDragger = step.kind === 'idle' || (step.kind === 'failed' && step.planFailed) || step.kind === 'applied';

  return (
    <Card id="rtx-import-card" title={t('rtx.import.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Paragraph style={{ marginBottom: 0 }}>{t('rtx.import.intro')}</Typography.Paragraph>
        {showDragger && (
          <div id="rtx-import-dragger">
            <Upload.Dragger
              name="file"
              accept=".xml,text/xml,application/xml"
              multiple={false}
              showUploadList={false}
              disabled={busy}
              beforeUpload={(file) => {
                pick(file);
                return Upload.LIST_IGNORE;
              }}
            >
              <p className="ant-upload-text">{t('rtx.import.dragger')}</p>
              <p className="ant-upload-hint">{t('rtx.import.hint')}</p>
            </Upload.Dragger>
          </div>
        )}
        {step.kind === 'busy' && (
          <div id="rtx-import-busy" data-phase={step.dryRun ? 'planning' : 'applying'}>
            <Typography.Text strong>{step.dryRun ? t('rtx.import.checking', { name: step.file.name }) : t('rtx.import.applying', { name: step.file.name })}</Typography.Text>
            <Progress percent={step.percent < 100 ? Math.round(step.percent * 0.9) : 95} status="active" />
            {step.percent < 100 && <Typography.Text type="secondary">{t('rtx.import.uploading', { percent: step.percent })}</Typography.Text>}
          </div>
        )}
        {step.kind === 'planned' && (
          <div id="rtx-import-plan" data-run={String(step.answer.runId)}>
            <Space direction="vertical" size="middle" style={{ width: '100%' }}>
              <Alert
                type={hasChanges(step.answer.plan) ? 'info' : 'success'}
                showIcon
                message={t('rtx.import.planTitle', { name: step.file.name })}
                description={hasChanges(step.answer.plan) ? t('rtx.import.planDesc') : t('rtx.import.noChange')}
              />
              <CountsTable id="rtx-import-plan-table" counts={step.answer.plan} />
              <Warnings warnings={step.answer.warnings} />
              <Space>
                <Button id="rtx-import-apply" type="primary" disabled={!hasChanges(step.answer.plan)} onClick={() => void run(step.file, false, step.answer)}>
                  {t('rtx.import.apply')}
                </Button>
                <Button id="rtx-import-another" onClick={() => setStep({ kind: 'idle' })}>
                  {t('rtx.import.another')}
                </Button>
              </Space>
            </Space>
          </div>
        )}
        {step.kind === 'applied' && (
          <div id="rtx-import-applied" data-run={String(step.answer.runId)}>
            <Space direction="vertical" size="middle" style={{ width: '100%' }}>
              <Alert type="success" showIcon message={t('rtx.import.applied', { name: step.file.name })} />
              <CountsTable id="rtx-import-applied-table" counts={step.answer.plan} />
              <Warnings warnings={step.answer.warnings} />
            </Space>
          </div>
        )}
        {step.kind === 'failed' && (
          <Alert
            id="rtx-import-error"
            type="error"
            showIcon
            message={step.planFailed ? t('rtx.import.failed') : t('rtx.import.applyFailed')}
            description={step.message}
            action={
              !step.planFailed && step.file && step.plan ? (
                <Space direction="vertical">
                  <Button size="small" id="rtx-import-retry" onClick={() => step.file && void run(step.file, false, step.plan)}>
                    {t('retry')}
                  </Button>
                  <Button size="small" onClick={() => setStep({ kind: 'idle' })}>
                    {t('rtx.import.another')}
                  </Button>
                </Space>
              ) : undefined
            }
          />
        )}
      </Space>
    </Card>
  );
}
