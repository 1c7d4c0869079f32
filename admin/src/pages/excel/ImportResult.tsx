import { Alert, App as AntApp, Button, Space, Statistic, Table, Typography } from 'antd';
import { useState, type HTMLAttributes } from 'react';
import { errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { downloadExcel, type ImportAnswer, type RowError } from './transfer';

type Written = Extract<ImportAnswer, { ok: true }>;
type Refused = Extract<ImportAnswer, { ok: false }>;

export function ImportDone({ answer }: { answer: Written }) {
  const { t } = useI18n();
  return (
    <Alert
      id="excel-import-done"
      type="success"
      showIcon
      message={t('excel.done.title')}
      description={
        <Space direction="vertical">
          <span data-testid="excel-import-summary">{t('excel.done.summary', { created: answer.created, authorised: answer.authorised, deptsCreated: answer.deptsCreated })}</span>
          <Space size="large">
            <Statistic title={t('excel.done.created')} value={answer.created} />
            <Statistic title={t('excel.done.authorised')} value={answer.authorised} />
            <Statistic title={t('excel.done.deptsCreated')} value={answer.deptsCreated} />
          </Space>
        </Space>
      }
    />
  );
}

/** A refused import: nothing was written; the problems by row, and the full report as Excel. */
export function ImportRefused({ answer }: { answer: Refused }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [downloading, setDownloading] = useState(false);
  const time = new Date(answer.reportExpiresAt).toLocaleTimeString();

  const download = async () => {
    setDownloading(true);
    try {
      const name = await downloadExcel(`/import/${encodeURIComponent(answer.reportId)}/report`, 'import-errors.xlsx');
      void message.success(t('excel.download.done', { name }));
    } catch (err) {
      void message.error(t('excel.download.failed', { message: errorMessage(err) }));
    } finally {
      setDownloading(false);
    }
  };

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Alert
        id="excel-import-refused"
        type="error"
        showIcon
        message={t('excel.refused.title', { count: answer.errorCount })}
        description={
          <Space direction="vertical">
            <span>{t('excel.refused.desc', { time })}</span>
            {answer.errorCount > answer.errors.length && <strong>{t('excel.refused.truncated', { shown: answer.errors.length, count: answer.errorCount })}</strong>}
          </Space>
        }
        action={
          <Button id="excel-report-download" danger loading={downloading} onClick={() => void download()}>
            {t('excel.report.download')}
          </Button>
        }
      />
      <Table<RowError & { key: number }>
        id="excel-report-table"
        size="small"
        rowKey="key"
        dataSource={answer.errors.map((e, key) => ({ ...e, key }))}
        pagination={{ defaultPageSize: 10, showSizeChanger: true, pageSizeOptions: [10, 20, 50, 100], showTotal: (n) => `${n}` }}
        onRow={(e) => ({ 'data-testid': 'excel-report-row', 'data-row': e.row }) as HTMLAttributes<HTMLElement>}
        columns={[
          { title: t('excel.report.row'), dataIndex: 'row', width: 80 },
          { title: t('excel.report.column'), dataIndex: 'column', width: 90, render: (c: string) => c || t('excel.report.wholeRow') },
          {
            title: t('excel.report.value'),
            dataIndex: 'value',
            width: 220,
            render: (v: string | undefined) => (
              <Typography.Text code={Boolean(v)} ellipsis={{ tooltip: v }} style={{ maxWidth: 200 }}>
                {v ?? ''}
              </Typography.Text>
            ),
          },
          { title: t('excel.report.problem'), dataIndex: 'message' },
        ]}
      />
    </Space>
  );
}
