import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorMessage } from '../../api';
import type { BackupJobView } from './types';

/** How often the jobs are read while one runs (the docs suggest 500 ms). */
export const JOB_POLL_MS = 500;

export interface BackupJobs {
  /** The server's jobs, newest first; null until first read. */
  jobs: BackupJobView[] | null;
  error: string | null;
  /** A job the page just started (202): shown at once, followed until it ends. */
  add(job: BackupJobView): void;
  reload(): Promise<void>;
}

/**
 * The server's backup jobs (GET /backup/jobs), read at once and then every
 * JOB_POLL_MS while one of them runs; `onFinished` is called once for each job
 * seen running that has ended (done or failed).
 */
export function useBackupJobs(onFinished: (job: BackupJobView) => void): BackupJobs {
  const [jobs, setJobs] = useState<BackupJobView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = useRef(new Set<string>());
  const finished = useRef(onFinished);
  finished.current = onFinished;
  const live = useRef(true);
  /** Counts finished reads, so the next poll is scheduled after a failed one too. */
  const [reads, setReads] = useState(0);

  const take = useCallback((list: BackupJobView[]) => {
    const ended: BackupJobView[] = [];
    for (const j of list) {
      if (j.state === 'running') running.current.add(j.id);
      else if (running.current.delete(j.id)) ended.push(j);
    }
    setJobs(list);
    for (const j of ended) finished.current(j);
  }, []);

  const reload = useCallback(async () => {
    try {
      const r = await api<{ jobs: BackupJobView[] }>('GET', '/backup/jobs');
      if (!live.current) return;
      setError(null);
      take(r.jobs);
    } catch (err) {
      if (live.current) setError(errorMessage(err));
    }
    if (live.current) setReads((n) => n + 1);
  }, [take]);

  const add = useCallback(
    (job: BackupJobView) => {
      if (job.state === 'running') running.current.add(job.id);
      setJobs((list) => [job, ...(list ?? []).filter((j) => j.id !== job.id)]);
    },
    [],
  );

  useEffect(() => {
    live.current = true;
    void reload();
    return () => {
      live.current = false;
    };
  }, [reload]);

  const anyRunning = jobs?.some((j) => j.state === 'running') ?? false;
  useEffect(() => {
    if (!anyRunning) return;
    const timer = setTimeout(() => void reload(), JOB_POLL_MS);
    return () => clearTimeout(timer);
  }, [anyRunning, reads, reload]);

  return { jobs, error, add, reload };
}
