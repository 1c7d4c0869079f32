import { App as AntApp, Space } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorMessage } from '../api';
import { useI18n } from '../i18n';
import { ConnectionTest } from './sync/ConnectionTest';
import { RunDrawer } from './sync/RunDrawer';
import { RunsCard } from './sync/RunsCard';
import { SourceDrawer } from './sync/SourceDrawer';
import { SourcesCard, type SourceAction } from './sync/SourcesCard';
import { XlsxUploadModal } from './sync/XlsxUploadModal';
import { fetchRun, RUN_POLL_MS, startRun, SYNC_API, type RunView, type SourceView, type SyncSourcesView } from './sync/types';

/**
 * Settings → Sync: directory sync sources (LDAP / AD…), their schedules,
 * "sync now" and dry runs, the run history, each run's progress and plan,
 * and the safety brake's confirmation (docs/sync.md, docs/admin-api-sync.md).
 */
export default function SyncPage() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [data, setData] = useState<SyncSourcesView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lastRuns, setLastRuns] = useState<Map<number, RunView>>(new Map());
  const [editing, setEditing] = useState<{ source: SourceView | null; key: number } | null>(null);
  const [testing, setTesting] = useState<SourceView | null>(null);
  const [uploading, setUploading] = useState<SourceView | null>(null);
  const [openRun, setOpenRun] = useState<number | null>(null);
  const [runsSource, setRunsSource] = useState('');
  const [reloadKey, setReloadKey] = useState(0);
  const [busy, setBusy] = useState<{ id: string; action: SourceAction } | null>(null);
  const live = useRef(true);

  const load = useCallback(async () => {
    try {
      const d = await api<SyncSourcesView>('GET', `${SYNC_API}/sources`);
      if (!live.current) return;
      setData(d);
      setError(null);
      const ids = d.sources.map((s) => s.lastRunId).filter((x): x is number => x !== null);
      const runs = await Promise.all(ids.map((id) => fetchRun(id).catch(() => null)));
      if (!live.current) return;
      setLastRuns(new Map(runs.filter((r): r is RunView => r !== null).map((r) => [r.id, r])));
    } catch (err) {
      if (live.current) setError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    live.current = true;
    void load();
    return () => {
      live.current = false;
    };
  }, [load]);

  // while a source runs, its row (running marker, last run) is read again
  const anyRunning = (data?.sources ?? []).some((s) => s.runningRunId !== null);
  useEffect(() => {
    if (!anyRunning) return;
    const timer = setInterval(() => void load(), RUN_POLL_MS);
    return () => clearInterval(timer);
  }, [anyRunning, load]);

  const refreshAll = useCallback(() => {
    void load();
    setReloadKey((k) => k + 1);
  }, [load]);

  const sourceName = useCallback((id: string) => data?.sources.find((s) => s.id === id)?.name ?? id, [data]);

  const onAction = async (s: SourceView, action: SourceAction) => {
    if (action === 'test') return setTesting(s);
    if (action === 'upload') return setUploading(s);
    setBusy({ id: s.id, action });
    try {
      if (action === 'delete') {
        await api<void>('DELETE', `${SYNC_API}/sources/${encodeURIComponent(s.id)}`);
        void message.success(t('sync.sources.deleted', { name: s.name }));
      } else {
        const runId = await startRun(s.id, action === 'dry');
        void message.success(action === 'dry' ? t('sync.sources.dryStarted') : t('sync.sources.runStarted'));
        setOpenRun(runId);
      }
      refreshAll();
    } catch (err) {
      const running = err instanceof ApiError && err.code === 'GW_SYNC_RUNNING' ? (err.details as { runId?: number } | undefined)?.runId : undefined;
      if (running !== undefined) {
        void message.info(t('sync.sources.alreadyRunning'));
        setOpenRun(running);
      } else void message.error(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <Space id="sync-page" direction="vertical" size="large" style={{ width: '100%' }}>
      <SourcesCard
        sources={data?.sources ?? (error ? [] : null)}
        kinds={data?.kinds ?? []}
        lastRuns={lastRuns}
        error={error}
        busy={busy}
        onAdd={() => setEditing({ source: null, key: Date.now() })}
        onEdit={(s) => setEditing({ source: s, key: Date.now() })}
        onAction={(s, a) => void onAction(s, a)}
        onOpenRun={setOpenRun}
      />
      <RunsCard sources={data?.sources ?? []} sourceId={runsSource} onSourceId={setRunsSource} reloadKey={reloadKey} onOpen={setOpenRun} />
      {editing && data && (
        <SourceDrawer
          key={editing.key}
          source={editing.source}
          kinds={data.kinds}
          onClose={() => setEditing(null)}
          onChanged={refreshAll}
          onSaved={(view, test) => {
            setEditing(null);
            void message.success(t('sync.form.saved', { name: view.name }));
            refreshAll();
            if (test) setTesting(view);
          }}
        />
      )}
      {testing && <ConnectionTest source={testing} onClose={() => setTesting(null)} />}
      {uploading && (
        <XlsxUploadModal
          source={uploading}
          onClose={() => setUploading(null)}
          onUploaded={refreshAll}
          onSyncNow={() => {
            const s = uploading;
            setUploading(null);
            void onAction(s, 'run');
          }}
        />
      )}
      {openRun !== null && <RunDrawer key={openRun} runId={openRun} sourceName={sourceName} onClose={() => setOpenRun(null)} onChanged={refreshAll} />}
    </Space>
  );
}
