import { Alert, Button, Card, Select, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState, type HTMLAttributes } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { CountsLine, formatDuration, formatTime, runDuration, RunStateTag } from './format';
import { isActive, RUN_POLL_MS, SYNC_API, type RunView, type SourceView, type SyncRunsView } from './types';

const RUNS_LIMIT = 50;

/**
 * The run history (GET /runs), of all sources or one, newest first; read
 * again while a listed run is active and whenever `reloadKey` changes.
 * Runs held by the safety brake are highlighted; a row opens the run.
 */
export function RunsCard({ sources, sourceId, onSourceId, reloadKey, onOpen }: { sources: SourceView[]; sourceId: string; onSourceId(id: string): void; reloadKey: number; onOpen(runId: number): void }) {
  const { t, lang } = useI18n();
  const [runs, setRuns] = useState<RunView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useRef(true);

  const load = useCallback(async () => {
    try {
      const r = await api<SyncRunsView>('GET', `${SYNC_API}/runs`, { query: { sourceId: sourceId || undefined, limit: RUNS_LIMIT } });
      if (!live.current) return;
      setRuns(r.runs);
      setError(null);
    } catch (err) {
      if (live.current) setError(errorMessage(err));
    }
  }, [sourceId]);

  useEffect(() => {
    live.current = true;
    void load();
    return () => {
      live.current = false;
    };
  }, [load, reloadKey]);

  const anyActive = (runs ?? []).some((r) => isActive(r.state));
  useEffect(() => {
    if (!anyActive) return;
    const timer = setInterval(() => void load(), RUN_POLL_MS);
    return () => clearInterval(timer);
  }, [anyActive, load]);

  const nameOf = (id: string) => sources.find((s) => s.id === id)?.name ?? id;
  const held = (runs ?? []).filter((r) => r.state === 'needs_confirmation');

  return (
    <Card
      id="sync-runs-card"
      title={t('sync.runs.title')}
      extra={
        <Space>
          <Select
            id="sync-runs-source"
            style={{ minWidth: 180 }}
            value={sourceId}
            onChange={onSourceId}
            options={[{ value: '', label: t('sync.runs.allSources') }, ...sources.map((s) => ({ value: s.id, label: s.name }))]}
          />
          <Button id="sync-runs-refresh" onClick={() => void load()}>
            {t('sync.refresh')}
          </Button>
        </Space>
      }
    >
      <Space direction="vertical" style={{ width: '100%' }}>
        {error && <Alert type="warning" showIcon message={t('sync.runs.unavailable', { message: error })} />}
        {held.map((r) => (
          <Alert
            key={r.id}
            data-testid="sync-held-alert"
            type="warning"
            showIcon
            message={t('sync.runs.heldAlert', { source: nameOf(r.sourceId), affected: r.brake?.affected ?? '?' })}
            action={
              <Button size="small" type="primary" onClick={() => onOpen(r.id)}>
                {t('sync.runs.review')}
              </Button>
            }
          />
        ))}
        <Table<RunView>
          id="sync-runs"
          size="small"
          rowKey="id"
          loading={runs === null && !error}
          dataSource={runs ?? []}
          pagination={{ pageSize: 10, showSizeChanger: false, hideOnSinglePage: true }}
          locale={{ emptyText: t('sync.runs.empty') }}
          scroll={{ x: true }}
          rowClassName={(r) => (r.state === 'needs_confirmation' ? 'sync-run-held' : '')}
          onRow={(r) =>
            ({
              'data-testid': 'sync-run',
              'data-run': String(r.id),
              'data-state': r.state,
              'data-source': r.sourceId,
              style: r.state === 'needs_confirmation' ? { background: '#fff7e6' } : undefined,
            }) as HTMLAttributes<HTMLElement>
          }
          columns={[
            { title: '#', dataIndex: 'id', key: 'id', width: 60 },
            { title: t('sync.runs.startedAt'), key: 'startedAt', width: 170, render: (_v, r) => formatTime(r.startedAt, lang) },
            { title: t('sync.runs.source'), key: 'source', render: (_v, r) => nameOf(r.sourceId) },
            { title: t('sync.runs.trigger'), key: 'trigger', width: 90, render: (_v, r) => t(`sync.trigger.${r.trigger}` as MessageKey) },
            {
              title: t('sync.runs.state'),
              key: 'state',
              width: 150,
              render: (_v, r) => (
                <Space size={4} wrap>
                  <RunStateTag state={r.state} />
                  {r.dryRun && <Tag>{t('sync.runs.dry')}</Tag>}
                </Space>
              ),
            },
            { title: t('sync.runs.counts'), key: 'counts', render: (_v, r) => <CountsLine counts={r.counts} /> },
            { title: t('sync.runs.duration'), key: 'duration', width: 90, render: (_v, r) => formatDuration(runDuration(r)) },
            {
              title: t('sync.runs.errors'),
              key: 'errors',
              width: 70,
              render: (_v, r) => (r.errorCount > 0 || r.error ? <Typography.Text type="danger">{r.errorCount || '!'}</Typography.Text> : '0'),
            },
            {
              title: '',
              key: 'open',
              width: 80,
              render: (_v, r) => (
                <Button size="small" type="link" data-testid="sync-run-open" onClick={() => onOpen(r.id)}>
                  {t('sync.runs.details')}
                </Button>
              ),
            },
          ]}
        />
      </Space>
    </Card>
  );
}
