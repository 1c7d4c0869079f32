import { Alert, App as AntApp, Button, Card, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState, type HTMLAttributes } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { formatTime } from './ConnectionCard';
import { CountsLine } from './Counts';
import { isFinished, type RtxRun, type RunState } from './types';

const RUNS_LIMIT = 20;
/** How often the runs are read while a requested sync has not finished, and for how long at most. */
const RUN_POLL_MS = 1500;
const RUN_WAIT_MAX_MS = 5 * 60_000;

const STATE_COLOR: Record<RunState, string> = { staging: 'processing', planned: 'blue', applied: 'green', failed: 'red', discarded: 'default' };

export function RunStateTag({ state }: { state: RunState }) {
  const { t } = useI18n();
  return (
    <Tag color={STATE_COLOR[state]} data-state={state}>
      {t(`rtx.run.${state}` as MessageKey)}
    </Tag>
  );
}

/**
 * "Sync now" and the history of sync runs. After a request the runs are read
 * again every RUN_POLL_MS until a run newer than the request has finished.
 * `reloadKey` changing (an XML import was applied) reads them again.
 */
export function SyncCard({ reloadKey }: { reloadKey: number }) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [runs, setRuns] = useState<RtxRun[] | null>(null);
  const [runsError, setRunsError] = useState<string | null>(null);
  const [requesting, setRequesting] = useState(false);
  const [syncError, setSyncError] = useState<string | null>(null);
  /** Set while waiting for the run of a request: the run ids known before it. */
  const [waiting, setWaiting] = useState<{ known: Set<string>; since: number } | null>(null);
  const live = useRef(true);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  const loadRuns = useCallback(async (): Promise<RtxRun[] | null> => {
    try {
      const r = await api<{ runs: RtxRun[] }>('GET', '/rtx/runs', { query: { limit: RUNS_LIMIT } });
      if (!live.current) return null;
      setRuns(r.runs);
      setRunsError(null);
      return r.runs;
    } catch (err) {
      if (live.current) setRunsError(errorMessage(err));
      return null;
    }
  }, []);

  useEffect(() => {
    void loadRuns();
  }, [loadRuns, reloadKey]);

  // poll until the run the request started has finished (or give up after a while)
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => {
      void loadRuns().then((list) => {
        if (!list || !live.current) return;
        const fresh = list.find((r) => !waiting.known.has(String(r.id)));
        if (fresh && isFinished(fresh.state)) {
          setWaiting(null);
          void message.info(t('rtx.sync.done', { state: t(`rtx.run.${fresh.state}` as MessageKey) }));
        } else if (Date.now() - waiting.since > RUN_WAIT_MAX_MS) setWaiting(null);
      });
    }, RUN_POLL_MS);
    return () => clearInterval(timer);
  }, [waiting, loadRuns, message, t]);

  const syncNow = async () => {
    setRequesting(true);
    setSyncError(null);
    const known = new Set((runs ?? []).map((r) => String(r.id)));
    try {
      await api<{ requested: boolean }>('POST', '/rtx/sync', { body: {} });
      void message.success(t('rtx.sync.requested'));
      setWaiting({ known, since: Date.now() });
    } catch (err) {
      setSyncError(errorMessage(err));
    } finally {
      setRequesting(false);
    }
  };

  return (
    <Card id="rtx-sync-card" title={t('rtx.sync.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('rtx.sync.intro')}</Typography.Text>
        <Space>
          <Button id="rtx-sync-now" type="primary" loading={requesting} disabled={waiting !== null} onClick={() => void syncNow()}>
            {t('rtx.sync.now')}
          </Button>
        </Space>
        {syncError && <Alert id="rtx-sync-error" type="error" showIcon closable onClose={() => setSyncError(null)} message={t('rtx.sync.failed')} description={syncError} />}
        {waiting && <Alert id="rtx-sync-waiting" type="info" showIcon message={t('rtx.sync.waiting')} />}
        <Typography.Title level={5} style={{ margin: 0 }}>
          {t('rtx.runs.title')}
        </Typography.Title>
        {runsError && <Alert id="rtx-runs-error" type="warning" showIcon message={t('rtx.runs.unavailable', { message: runsError })} />}
        <Table<RtxRun>
          id="rtx-runs"
          size="small"
          rowKey={(r) => String(r.id)}
          loading={runs === null && !runsError}
          dataSource={runs ?? []}
          pagination={false}
          locale={{ emptyText: t('rtx.runs.empty') }}
          onRow={(r) => ({ 'data-testid': 'rtx-run', 'data-run': String(r.id), 'data-state': r.state }) as HTMLAttributes<HTMLElement>}
          columns={[
            { title: t('rtx.runs.startedAt'), key: 'startedAt', width: 160, render: (_v, r) => formatTime(r.startedAt, lang) },
            { title: t('rtx.runs.source'), key: 'source', width: 110, render: (_v, r) => t(`rtx.source.${r.source}` as MessageKey) },
            { title: t('rtx.runs.reason'), key: 'reason', width: 140, render: (_v, r) => r.reason || '—' },
            { title: t('rtx.runs.state'), key: 'state', width: 90, render: (_v, r) => <RunStateTag state={r.state} /> },
            { title: t('rtx.runs.counts'), key: 'counts', render: (_v, r) => <CountsLine counts={r.counts} /> },
            { title: t('rtx.runs.finishedAt'), key: 'finishedAt', width: 160, render: (_v, r) => formatTime(r.finishedAt, lang) },
            {
              title: t('rtx.runs.error'),
              key: 'error',
              render: (_v, r) => (r.error ? <Typography.Text type="danger">{r.error}</Typography.Text> : '—'),
            },
          ]}
        />
      </Space>
    </Card>
  );
}
