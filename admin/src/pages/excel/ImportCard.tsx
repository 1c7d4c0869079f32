import { Alert, App as AntApp, Button, Card, Collapse, Progress, Space, Steps, Typography, Upload } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { MAX_IMPORT_BYTES } from '../../../../gateway/src/excel/columns';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n, type MessageKey, type Translate } from '../../i18n';
import { ColumnsTable } from './ColumnsTable';
import { ImportDone, ImportRefused } from './ImportResult';
import { downloadExcel, uploadWorkbook, type ImportAnswer, type ImportProgressView } from './transfer';

/** Rows the gateway accepts per file (gateway/src/excel/import.ts MAX_IMPORT_ROWS). */
const MAX_IMPORT_ROWS = 100_000;
const MAX_MB = Math.round(MAX_IMPORT_BYTES / 1048576);
const POLL_INTERVAL_MS = 250;

/** What the progress bar shows; `phase` is also its data-phase, for tests. */
interface Shown {
  phase: 'uploading' | 'reading' | 'checking' | 'writing' | 'waiting' | 'done' | 'refused' | 'failed';
  percent: number;
  label: string;
}

type Run =
  | { kind: 'idle' }
  | { kind: 'running'; name: string }
  | { kind: 'written'; name: string; answer: Extract<ImportAnswer, { ok: true }> }
  | { kind: 'refused'; name: string; answer: Extract<ImportAnswer, { ok: false }> }
  /** detail: the server's own words; serverSide: the file reached the server (so "nothing was imported" applies). */
  | { kind: 'failed'; name: string; message: string; detail: string | null; serverSide: boolean };

/** Client-side checks matching the server's limits; null when the file may be sent. */
function fileProblem(file: File, t: Translate): string | null {
  if (!/\.xlsx$/i.test(file.name)) return t('excel.check.extension', { name: file.name });
  if (file.size === 0) return t('excel.check.empty', { name: file.name });
  if (file.size > MAX_IMPORT_BYTES) return t('excel.check.size', { name: file.name, size: (file.size / 1048576).toFixed(1), mb: MAX_MB });
  return null;
}

/** The failure of an import the server refused as a whole (not row errors), in the administrator's words. */
function failureMessage(err: unknown, t: Translate): { message: string; detail: string | null } {
  if (!(err instanceof ApiError)) return { message: t('excel.failed.other'), detail: errorMessage(err) };
  const problem = (err.details as { problem?: unknown } | undefined)?.problem;
  const known: Record<string, MessageKey> = {
    not_xlsx: 'excel.failed.not_xlsx', zip_bomb: 'excel.failed.zip_bomb', no_sheet: 'excel.failed.no_sheet', bad_columns: 'excel.failed.bad_columns',
    merged_cells: 'excel.failed.merged_cells', formula: 'excel.failed.formula', too_many_rows: 'excel.failed.too_many_rows', empty: 'excel.failed.empty',
  };
  const byCode: Record<string, MessageKey> = {
    GW_FILE_TOO_LARGE: 'excel.failed.too_large', GW_CONFLICT: 'excel.failed.busy', GW_LICENCE_SEATS_FULL: 'excel.failed.seats', GW_LICENCE_EXPIRED: 'excel.failed.expired',
  };
  const key = (typeof problem === 'string' ? known[problem] : undefined) ?? byCode[err.code] ?? 'excel.failed.other';
  return { message: t(key, { mb: MAX_MB }), detail: err.message };
}

/** The bar for a progress answer; never lower than what is shown already. */
function fromProgress(p: ImportProgressView, t: Translate): Omit<Shown, 'percent'> & { percent: number } {
  if (!p.running) return { phase: 'reading', percent: 35, label: t('excel.phase.reading') };
  if (!p.mine) return { phase: 'waiting', percent: 30, label: t('excel.phase.busy') };
  switch (p.phase) {
    case 'reading':
      return { phase: 'reading', percent: 35, label: t('excel.phase.reading') };
    case 'parsed':
      return { phase: 'checking', percent: 45, label: t('excel.phase.checking', { total: p.total }) };
    case 'validated':
      return { phase: 'writing', percent: 60, label: t('excel.phase.checked', { done: p.done, total: p.total }) };
    case 'written':
      return { phase: 'writing', percent: Math.min(99, 60 + Math.round((40 * p.done) / Math.max(1, p.total))), label: t('excel.phase.writing', { done: p.done, total: p.total }) };
  }
}

export function ImportCard() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [run, setRun] = useState<Run>({ kind: 'idle' });
  const [shown, setShown] = useState<Shown | null>(null);
  const [templateBusy, setTemplateBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const show = (next: Shown) => setShown((cur) => (cur && next.percent < cur.percent && next.phase !== 'failed' ? cur : next));

  const start = async (file: File) => {
    const problem = fileProblem(file, t);
    if (problem) {
      setShown(null);
      setRun({ kind: 'failed', name: file.name, message: problem, detail: null, serverSide: false });
      return;
    }
    const ctl = new AbortController();
    abort.current = ctl;
    setRun({ kind: 'running', name: file.name });
    setShown({ phase: 'uploading', percent: 0, label: t('excel.phase.uploading', { percent: 0 }) });
    let uploaded = false;
    let polling = true;
    // the import answers only when it is over: meanwhile the progress endpoint tells how far it is
    const poll = async () => {
      while (polling && !ctl.signal.aborted) {
        await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
        if (!polling || !uploaded) continue;
        try {
          const p = await api<ImportProgressView>('GET', '/excel/import/progress');
          if (polling) show(fromProgress(p, t));
        } catch {
          // a missed poll only delays the bar
        }
      }
    };
    void poll();
    try {
      const answer = await uploadWorkbook(
        file,
        (f) => {
          if (f >= 1) {
            uploaded = true;
            show({ phase: 'reading', percent: 30, label: t('excel.phase.reading') });
          } else show({ phase: 'uploading', percent: Math.round(f * 30), label: t('excel.phase.uploading', { percent: Math.round(f * 100) }) });
        },
        ctl.signal,
      );
      polling = false;
      if (answer.ok) {
        setShown({ phase: 'done', percent: 100, label: t('excel.phase.done') });
        setRun({ kind: 'written', name: file.name, answer });
      } else {
        setShown({ phase: 'refused', percent: 100, label: t('excel.phase.refused') });
        setRun({ kind: 'refused', name: file.name, answer });
      }
    } catch (err) {
      polling = false;
      if (ctl.signal.aborted) return;
      const f = failureMessage(err, t);
      setShown((cur) => ({ phase: 'failed', percent: cur?.percent ?? 0, label: t('excel.phase.failed') }));
      setRun({ kind: 'failed', name: file.name, ...f, serverSide: err instanceof ApiError && err.status > 0 });
    }
  };

  const downloadTemplate = async () => {
    setTemplateBusy(true);
    try {
      const name = await downloadExcel('/template', 'member-template.xlsx');
      void message.success(t('excel.download.done', { name }));
    } catch (err) {
      void message.error(t('excel.download.failed', { message: errorMessage(err) }));
    } finally {
      setTemplateBusy(false);
    }
  };

  const running = run.kind === 'running';
  const step = run.kind === 'idle' ? 0 : 2;
  const status = shown?.phase === 'done' ? 'success' : shown?.phase === 'refused' || shown?.phase === 'failed' ? 'exception' : 'active';

  return (
    <Card id="excel-import-card" title={t('excel.import.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Paragraph style={{ marginBottom: 0 }}>{t('excel.import.intro')}</Typography.Paragraph>
        <Steps
          size="small"
          current={step}
          items={[
            { title: t('excel.step.template'), description: t('excel.step.template.desc') },
            { title: t('excel.step.fill'), description: t('excel.step.fill.desc') },
            { title: t('excel.step.upload'), description: t('excel.step.upload.desc') },
          ]}
        />
        <Space wrap>
          <Button id="excel-template-download" loading={templateBusy} onClick={() => void downloadTemplate()}>
            {t('excel.template.download')}
          </Button>
          <Typography.Text type="secondary">{t('excel.template.hint')}</Typography.Text>
        </Space>
        <Collapse size="small" items={[{ key: 'columns', label: t('excel.columns.title'), children: <ColumnsTable /> }]} defaultActiveKey={['columns']} />
        <div id="excel-import-dragger">
          <Upload.Dragger
            name="file"
            multiple={false}
            showUploadList={false}
            disabled={running}
            beforeUpload={(file) => {
              void start(file);
              return Upload.LIST_IGNORE;
            }}
          >
            <p className="ant-upload-text">{t('excel.dragger.text')}</p>
            <p className="ant-upload-hint">{t('excel.dragger.hint', { mb: MAX_MB, rows: MAX_IMPORT_ROWS.toLocaleString() })}</p>
          </Upload.Dragger>
        </div>
        {shown && (
          <div id="excel-import-progress" data-testid="excel-import-progress" data-phase={shown.phase} data-percent={shown.percent}>
            <Typography.Text strong>{t('excel.progress.title', { name: run.kind === 'idle' ? '' : run.name })}</Typography.Text>
            <Progress percent={shown.percent} status={status} />
            <Typography.Text type="secondary" id="excel-import-phase">
              {shown.label}
            </Typography.Text>
          </div>
        )}
        {run.kind === 'written' && <ImportDone answer={run.answer} />}
        {run.kind === 'refused' && <ImportRefused answer={run.answer} />}
        {run.kind === 'failed' && (
          <Alert
            id="excel-import-failed"
            type="error"
            showIcon
            message={run.serverSide ? t('excel.failed.title') : run.message}
            description={
              run.serverSide || run.detail ? (
                <Space direction="vertical">
                  {run.serverSide && <span>{run.message}</span>}
                  {run.detail && <Typography.Text type="secondary">{t('excel.failed.detail', { message: run.detail })}</Typography.Text>}
                </Space>
              ) : null
            }
          />
        )}
      </Space>
    </Card>
  );
}
