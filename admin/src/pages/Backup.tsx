import { App as AntApp, Space } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorMessage } from '../api';
import { useI18n } from '../i18n';
import { ArchivesCard } from './backup/ArchivesCard';
import { CreateCard } from './backup/CreateCard';
import { RestoreCard } from './backup/RestoreCard';
import { UploadCard } from './backup/UploadCard';
import type { BackupArchivesView, BackupArchiveView, BackupJobView } from './backup/types';
import { useBackupJobs } from './backup/use-jobs';

/**
 * Settings → Backup (docs/admin-api-backup.md): make a full backup now and
 * follow it, the archives in dataDir/backups (download, verify, delete), the
 * upload of an archive and its verification, and how to restore one — with
 * the server stopped, on the appliance, never from the console.
 */
export default function BackupPage() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [archives, setArchives] = useState<BackupArchiveView[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [exportId, setExportId] = useState<string | null>(null);
  const [verifyId, setVerifyId] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [restoreName, setRestoreName] = useState<string | null>(null);
  const restoreRef = useRef<HTMLDivElement>(null);
  const live = useRef(true);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  const loadArchives = useCallback(async () => {
    try {
      const r = await api<BackupArchivesView>('GET', '/backup/files');
      if (!live.current) return;
      setArchives(r.archives);
      setListError(null);
    } catch (err) {
      if (live.current) setListError(errorMessage(err));
    }
  }, []);

  // a finished export is a new archive; a finished verification may follow an upload the list has not seen
  const jobs = useBackupJobs(useCallback(() => void loadArchives(), [loadArchives]));
  const list = jobs.jobs ?? [];
  const busy = list.some((j) => j.state === 'running');

  useEffect(() => {
    void loadArchives();
  }, [loadArchives]);

  const byId = (id: string | null) => (id ? (list.find((j) => j.id === id) ?? null) : null);
  // a job started elsewhere (another tab, an administrator) is shown while it runs
  const exportJob = byId(exportId) ?? list.find((j) => j.kind === 'export' && j.state === 'running') ?? null;
  const verifyCandidate = byId(verifyId) ?? list.find((j) => j.kind === 'verify' && j.state === 'running') ?? null;
  const verifyJob = verifyCandidate && archives?.some((a) => a.name === verifyCandidate.name) !== false ? verifyCandidate : null;

  const refusal = (err: unknown) => (err instanceof ApiError && err.code === 'GW_BACKUP_BUSY' ? t('backup.busy') : errorMessage(err));

  const startExport = async () => {
    setStarting(true);
    setCreateError(null);
    try {
      const job = await api<BackupJobView>('POST', '/backup/export', { body: {} });
      jobs.add(job);
      setExportId(job.id);
    } catch (err) {
      setCreateError(refusal(err));
    } finally {
      setStarting(false);
    }
  };

  const startVerify = async (name: string) => {
    try {
      const job = await api<BackupJobView>('POST', `/backup/files/${encodeURIComponent(name)}/verify`, { body: {} });
      jobs.add(job);
      setVerifyId(job.id);
    } catch (err) {
      void message.error(refusal(err));
    }
  };

  const remove = async (name: string) => {
    try {
      await api<void>('DELETE', `/backup/files/${encodeURIComponent(name)}`);
      void message.success(t('backup.deleted', { name }));
      if (restoreName === name) setRestoreName(null);
    } catch (err) {
      void message.error(refusal(err));
    }
    await loadArchives();
  };

  const uploaded = async (name: string) => {
    await loadArchives();
    await startVerify(name);
  };

  const restore = (name: string) => {
    setRestoreName(name);
    restoreRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };

  return (
    <Space id="backup-page" direction="vertical" size="large" style={{ width: '100%' }}>
      <CreateCard job={exportJob} busy={busy} starting={starting} error={createError ?? jobs.error} onStart={() => void startExport()} />
      <ArchivesCard
        archives={archives}
        error={listError}
        jobs={list}
        shown={verifyJob}
        busy={busy}
        onReload={() => void loadArchives()}
        onVerify={(name) => void startVerify(name)}
        onDelete={remove}
        onRestore={restore}
      />
      <UploadCard existing={(archives ?? []).map((a) => a.name)} onUploaded={(name) => void uploaded(name)} />
      <RestoreCard ref={restoreRef} name={restoreName} />
    </Space>
  );
}
