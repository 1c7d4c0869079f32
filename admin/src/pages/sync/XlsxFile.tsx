import { Alert, Descriptions, Space, Table, Tag, Typography, Upload } from 'antd';
import type { HTMLAttributes } from 'react';
import { ApiError, errorMessage } from '../../api';
import { useI18n, type MessageKey, type Translate } from '../../i18n';
import { formatTime } from './format';
import type { XlsxFileView } from './types';
import { formatBytes, MAX_FILE_MB, type FileRefusalDetails } from './upload';

/** Rows listed under a file or a run; the run drawer lists them all. */
export const PROBLEMS_SHOWN = 20;

type Problem = { label: string; message: string };

/** "row 7, 姓名" in the administrator's language. */
export function rowLabel(label: string, lang: 'zh' | 'en'): string {
  if (lang !== 'zh') return label;
  return label.replace(/^row (\d+)(, )?/, (_m, n: string, comma?: string) => `第 ${n} 行${comma ? '，' : ''}`);
}

/** A whole-file problem of the template (not_xlsx, bad_columns…) in words; the server's message otherwise. */
export function workbookProblemText(problem: string | undefined, message: string, t: Translate): string {
  const keys = ['not_xlsx', 'zip_bomb', 'no_sheet', 'bad_columns', 'merged_cells', 'formula', 'too_many_rows', 'empty', 'too_large'];
  if (problem && keys.includes(problem)) return `${t(`excel.failed.${problem}` as MessageKey, { mb: MAX_FILE_MB })}（${message}）`;
  return message;
}

/** The rows at fault: where, and the problem. */
export function ProblemsTable({ id, problems, count }: { id: string; problems: readonly Problem[]; count: number }) {
  const { t, lang } = useI18n();
  const shown = problems.slice(0, PROBLEMS_SHOWN);
  return (
    <Space direction="vertical" style={{ width: '100%' }} size={4}>
      <Table<Problem>
        id={id}
        size="small"
        pagination={false}
        rowKey={(p, i) => `${p.label}-${i ?? 0}`}
        dataSource={shown}
        onRow={(p) => ({ 'data-testid': 'sync-file-problem', 'data-label': p.label }) as HTMLAttributes<HTMLElement>}
        columns={[
          { title: t('sync.file.where'), key: 'where', width: 150, render: (_v, p) => rowLabel(p.label, lang) },
          { title: t('sync.file.problem'), key: 'problem', render: (_v, p) => p.message },
        ]}
      />
      {count > shown.length && <Typography.Text type="secondary">{t('sync.file.refusedMore', { shown: shown.length, count })}</Typography.Text>}
    </Space>
  );
}

/** The source's current spreadsheet: name, size, when, who, rows and departments, synced or not, and whether it passes the checks. */
export function FileSummary({ view }: { view: XlsxFileView }) {
  const { t, lang } = useI18n();
  const f = view.current;
  if (view.folderProblem) return <Alert id="sync-file-folder-problem" type="error" showIcon message={t('sync.file.folderProblem', { message: view.folderProblem })} />;
  if (!f) {
    return (
      <Typography.Text type="secondary" id="sync-file-none">
        {view.mode === 'upload' ? t('sync.file.none') : t('sync.file.noneFolder')}
      </Typography.Text>
    );
  }
  const color = f.status === 'applied' ? 'green' : f.status === 'failed' ? 'red' : 'blue';
  return (
    <Space direction="vertical" style={{ width: '100%' }} id="sync-file-current" data-status={f.status} data-name={f.name} data-ok={String(f.check.ok)}>
      <Descriptions size="small" column={2} bordered>
        <Descriptions.Item label={t('sync.file.name')} span={2}>
          <Space>
            <Typography.Text strong data-testid="sync-file-name">
              {f.name}
            </Typography.Text>
            <Tag color={color} data-testid="sync-file-status">
              {t(`sync.file.status.${f.status}` as MessageKey)}
            </Tag>
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label={t('sync.file.size')}>
          <span data-testid="sync-file-size">{formatBytes(f.size)}</span>
        </Descriptions.Item>
        <Descriptions.Item label={f.uploadedAt ? t('sync.file.uploadedAt') : t('sync.file.modifiedAt')}>
          <span data-testid="sync-file-time">
            {formatTime(f.uploadedAt ?? f.modifiedAt, lang)}
            {f.uploadedBy ? t('sync.file.by', { who: f.uploadedBy }) : ''}
          </span>
        </Descriptions.Item>
        <Descriptions.Item label={t('sync.file.rows')} span={2}>
          <span data-testid="sync-file-rows">
            {f.rows === null ? '—' : f.depts === null ? t('sync.file.rowsValue', { rows: f.rows }) : t('sync.file.rowsDepts', { rows: f.rows, depts: f.depts })}
          </span>
        </Descriptions.Item>
      </Descriptions>
      {f.check.ok ? (
        <Typography.Text type="success" data-testid="sync-file-check">
          ✓ {t('sync.file.checkOk')}
        </Typography.Text>
      ) : f.check.problem === 'rows' ? (
        <Alert
          type="error"
          showIcon
          data-testid="sync-file-check"
          message={t('sync.file.checkRows', { bad: f.check.badRows ?? 0, count: f.check.problemCount })}
          description={<ProblemsTable id="sync-file-problems" problems={f.check.problems} count={f.check.problemCount} />}
        />
      ) : (
        <Alert type="error" showIcon data-testid="sync-file-check" message={t('sync.file.checkWorkbook', { message: workbookProblemText(f.check.problem, f.check.message, t) })} />
      )}
      {view.older > 0 && <Typography.Text type="secondary">{t('sync.file.older', { n: view.older })}</Typography.Text>}
    </Space>
  );
}

/** An upload the server (or the console's own checks) refused: the source keeps its previous file. */
export function FileRefusal({ name, error }: { name: string; error: unknown }) {
  const { t } = useI18n();
  const d = (error instanceof ApiError && error.code === 'GW_SYNC_FILE_INVALID' ? error.details : undefined) as FileRefusalDetails | undefined;
  const rows = d?.problem === 'rows' && d.problems ? d.problems : null;
  return (
    <Alert
      id="sync-file-refused"
      type="error"
      showIcon
      message={t('sync.file.refused', { name })}
      description={
        rows ? (
          <Space direction="vertical" style={{ width: '100%' }}>
            <span>{t('sync.file.refusedRows', { bad: d?.badRows ?? 0, count: d?.problemCount ?? rows.length })}</span>
            <ProblemsTable id="sync-file-refused-problems" problems={rows} count={d?.problemCount ?? rows.length} />
          </Space>
        ) : (
          <span data-testid="sync-file-refused-reason">{d ? workbookProblemText(d.problem, errorMessage(error), t) : errorMessage(error)}</span>
        )
      }
    />
  );
}

/** Picks an .xlsx file (click or drop); the caller uploads it or keeps it for later. */
export function FilePicker({ replace, disabled, onFile }: { replace: boolean; disabled?: boolean; onFile(file: File): void }) {
  const { t } = useI18n();
  return (
    <div id="sync-file-picker">
      <Upload.Dragger
        accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        multiple={false}
        showUploadList={false}
        disabled={disabled}
        beforeUpload={(file) => {
          onFile(file);
          return Upload.LIST_IGNORE;
        }}
      >
        <p className="ant-upload-text">{replace ? t('sync.file.pickReplace') : t('sync.file.pick')}</p>
        <p className="ant-upload-hint">{t('sync.file.pickHint', { mb: MAX_FILE_MB })}</p>
      </Upload.Dragger>
    </div>
  );
}
