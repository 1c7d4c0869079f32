import { Alert, Button, Card, Popconfirm, Space, Table, Tag, Tooltip, Typography } from 'antd';
import type { HTMLAttributes } from 'react';
import { useI18n } from '../../i18n';
import { CountsLine, formatSlot, formatTime, RunStateTag } from './format';
import { readErrors, type RunView, type SourceKindView, type SourceView } from './types';
import { rowLabel } from './XlsxFile';

export type SourceAction = 'run' | 'dry' | 'test' | 'delete' | 'upload';

/** Rows at fault listed under a source; the run lists them all. */
const ROWS_ON_CARD = 5;
const SAME_FILE = 'same file as the failed run';

/** The source's last run when it failed. */
function failedRun(s: SourceView, lastRuns: Map<number, RunView>): RunView | null {
  const r = s.lastRunId !== null ? lastRuns.get(s.lastRunId) : undefined;
  return r?.state === 'failed' ? r : null;
}

/** Whether the source's row gets the failure spelled out under it: a spreadsheet source, or rows refused by the source. */
const explained = (s: SourceView, r: RunView | null): r is RunView => r !== null && (s.kind === 'xlsx' || readErrors(r).length > 0);

/**
 * Under a source whose last run failed on its data: the reason, the rows at
 * fault (the first few), whether the scheduled run only found the same file
 * again, and the way out (upload a replacement, open the run).
 */
function SourceProblem({ source, run, onUpload, onOpenRun }: { source: SourceView; run: RunView; onUpload(): void; onOpenRun(): void }) {
  const { t, lang } = useI18n();
  const rows = readErrors(run);
  const badRows = new Set(rows.map((e) => /^row (\d+)/.exec(e.label)?.[1] ?? e.label)).size;
  return (
    <Alert
      type="error"
      showIcon
      data-testid="sync-source-problem"
      data-run={run.id}
      message={rows.length > 0 ? t('sync.card.fileFailed') : t('sync.card.failed')}
      description={
        <Space direction="vertical" size={4} style={{ width: '100%' }}>
          <Typography.Text data-testid="sync-source-problem-reason">{run.error}</Typography.Text>
          {run.error?.startsWith(SAME_FILE) && (
            <Typography.Text type="secondary" data-testid="sync-source-problem-same">
              {t('sync.card.sameFile')}
            </Typography.Text>
          )}
          {rows.length > 0 && (
            <>
              <Typography.Text>{t('sync.card.fileRows', { bad: badRows, count: run.errorCount })}</Typography.Text>
              <ul data-testid="sync-source-problem-rows" style={{ margin: 0, paddingInlineStart: 20 }}>
                {rows.slice(0, ROWS_ON_CARD).map((e, i) => (
                  <li key={`${e.label}-${i}`} data-testid="sync-source-problem-row" data-label={e.label}>
                    {rowLabel(e.label, lang)}：{e.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </Space>
      }
      action={
        <Space direction="vertical">
          {source.kind === 'xlsx' && (
            <Button size="small" type="primary" data-testid="sync-source-upload" onClick={onUpload}>
              {t('sync.card.upload')}
            </Button>
          )}
          <Button size="small" data-testid="sync-source-problem-open" onClick={onOpenRun}>
            {run.errorCount > ROWS_ON_CARD ? t('sync.card.more', { count: run.errorCount }) : t('sync.card.openRun')}
          </Button>
        </Space>
      }
    />
  );
}

/**
 * The sources: kind, name, enabled, schedule in words with the next run, the
 * last run (state, time, counts), the last error; per row "sync now",
 * "dry run", edit, test connection and delete (after a confirmation); under a
 * source whose last run failed on its data, the reason with the rows at fault
 * and, for a spreadsheet source, the upload of a replacement.
 */
export function SourcesCard({
  sources,
  kinds,
  lastRuns,
  error,
  busy,
  onAdd,
  onEdit,
  onAction,
  onOpenRun,
}: {
  sources: SourceView[] | null;
  kinds: SourceKindView[];
  lastRuns: Map<number, RunView>;
  error: string | null;
  busy: { id: string; action: SourceAction } | null;
  onAdd(): void;
  onEdit(s: SourceView): void;
  onAction(s: SourceView, action: SourceAction): void;
  onOpenRun(runId: number): void;
}) {
  const { t, lang } = useI18n();
  const kindLabel = (k: string) => {
    const spec = kinds.find((x) => x.kind === k);
    return spec?.label ? spec.label[lang] : k;
  };
  const isBusy = (s: SourceView, a: SourceAction) => busy?.id === s.id && busy.action === a;

  return (
    <Card
      id="sync-sources-card"
      title={t('sync.sources.title')}
      extra={
        <Button id="sync-source-add" type="primary" onClick={onAdd} disabled={kinds.length === 0}>
          {t('sync.sources.add')}
        </Button>
      }
    >
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('sync.sources.intro')}</Typography.Text>
        {error && <Alert id="sync-sources-error" type="error" showIcon message={error} />}
        <Table<SourceView>
          id="sync-sources"
          size="middle"
          rowKey="id"
          loading={sources === null && !error}
          dataSource={sources ?? []}
          pagination={false}
          scroll={{ x: true }}
          locale={{ emptyText: t('sync.sources.empty') }}
          onRow={(s) => ({ 'data-testid': 'sync-source', 'data-source': s.id, 'data-enabled': String(s.enabled) }) as HTMLAttributes<HTMLElement>}
          expandable={{
            showExpandColumn: false,
            expandedRowKeys: (sources ?? []).filter((s) => explained(s, failedRun(s, lastRuns))).map((s) => s.id),
            expandedRowRender: (s) => {
              const r = failedRun(s, lastRuns);
              return r ? <SourceProblem source={s} run={r} onUpload={() => onAction(s, 'upload')} onOpenRun={() => onOpenRun(r.id)} /> : null;
            },
          }}
          columns={[
            {
              title: t('sync.sources.name'),
              key: 'name',
              render: (_v, s) => (
                <Space direction="vertical" size={0}>
                  <Typography.Text strong data-testid="sync-source-name">
                    {s.name}
                  </Typography.Text>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {kindLabel(s.kind)} · {s.id}
                  </Typography.Text>
                </Space>
              ),
            },
            {
              title: t('sync.sources.enabled'),
              key: 'enabled',
              width: 80,
              render: (_v, s) => <Tag color={s.enabled ? 'green' : 'default'}>{s.enabled ? t('sync.sources.on') : t('sync.sources.off')}</Tag>,
            },
            {
              title: t('sync.sources.schedule'),
              key: 'schedule',
              render: (_v, s) =>
                s.schedule ? (
                  <Space direction="vertical" size={0}>
                    <span data-testid="sync-source-schedule">{s.scheduleText ? s.scheduleText[lang] : s.schedule}</span>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="sync-source-next">
                      {s.nextRunAt ? t('sync.sources.next', { time: formatSlot(s.nextRunAt, lang) }) : s.enabled ? '' : t('sync.sources.pausedSchedule')}
                    </Typography.Text>
                  </Space>
                ) : (
                  <Typography.Text type="secondary" data-testid="sync-source-schedule">
                    {t('sync.sources.manual')}
                  </Typography.Text>
                ),
            },
            {
              title: t('sync.sources.lastRun'),
              key: 'last',
              render: (_v, s) => {
                const r = s.lastRunId !== null ? lastRuns.get(s.lastRunId) : undefined;
                if (s.lastRunId === null) return <Typography.Text type="secondary">{t('sync.sources.never')}</Typography.Text>;
                if (!r) return `#${s.lastRunId}`;
                return (
                  <Space direction="vertical" size={0} data-testid="sync-source-last" data-state={r.state}>
                    <Space size={4}>
                      <a onClick={() => onOpenRun(r.id)} data-testid="sync-source-last-open">
                        <RunStateTag state={r.state} />
                      </a>
                      {r.dryRun && <Tag>{t('sync.runs.dry')}</Tag>}
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {formatTime(r.finishedAt ?? r.startedAt, lang)}
                      </Typography.Text>
                    </Space>
                    <CountsLine counts={r.counts} />
                  </Space>
                );
              },
            },
            {
              title: t('sync.sources.lastError'),
              key: 'error',
              render: (_v, s) =>
                s.lastError ? (
                  <Typography.Text type="danger" data-testid="sync-source-error" ellipsis={{ tooltip: s.lastError }} style={{ maxWidth: 220 }}>
                    {s.lastError}
                  </Typography.Text>
                ) : (
                  '—'
                ),
            },
            {
              title: t('sync.sources.actions'),
              key: 'actions',
              fixed: 'right',
              render: (_v, s) => (
                <Space wrap size={4}>
                  <Tooltip title={s.enabled ? '' : t('sync.sources.disabledRun')}>
                    <Button size="small" type="primary" data-testid="sync-source-run" disabled={!s.enabled || s.runningRunId !== null} loading={isBusy(s, 'run')} onClick={() => onAction(s, 'run')}>
                      {t('sync.sources.run')}
                    </Button>
                  </Tooltip>
                  <Tooltip title={s.kind === 'rtx' ? t('sync.rtx.noDry') : ''}>
                    <Button size="small" data-testid="sync-source-dry" disabled={s.runningRunId !== null || s.kind === 'rtx'} loading={isBusy(s, 'dry')} onClick={() => onAction(s, 'dry')}>
                      {t('sync.sources.dry')}
                    </Button>
                  </Tooltip>
                  <Button size="small" data-testid="sync-source-edit" onClick={() => onEdit(s)}>
                    {t('sync.sources.edit')}
                  </Button>
                  <Button size="small" data-testid="sync-source-test" onClick={() => onAction(s, 'test')}>
                    {t('sync.sources.test')}
                  </Button>
                  <Popconfirm
                    title={t('sync.sources.deleteTitle', { name: s.name })}
                    description={<div style={{ maxWidth: 320 }}>{t('sync.sources.deleteBody')}</div>}
                    okText={t('sync.sources.delete')}
                    okButtonProps={{ danger: true, id: 'sync-source-delete-ok' }}
                    cancelText={t('sync.cancel')}
                    onConfirm={() => onAction(s, 'delete')}
                  >
                    <Button size="small" danger data-testid="sync-source-delete" disabled={s.runningRunId !== null} loading={isBusy(s, 'delete')}>
                      {t('sync.sources.delete')}
                    </Button>
                  </Popconfirm>
                  {s.runningRunId !== null && (
                    <Button size="small" type="link" data-testid="sync-source-running" onClick={() => onOpenRun(s.runningRunId!)}>
                      {t('sync.sources.running')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Space>
    </Card>
  );
}
