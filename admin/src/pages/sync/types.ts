/**
 * The shapes of the directory-sync routes (/api/admin/sync/*,
 * docs/admin-api-sync.md) as the console reads them: gateway types only,
 * plus the small helpers the page's parts share.
 */
import type { SyncRunsView, SyncSourcesView } from '../../../../gateway/src/admin/routes-sync';
import type { FileCheckView, XlsxFileInfo, XlsxFileView } from '../../../../gateway/src/admin/routes-sync-files';
import type { RtxStatusView } from '../../../../gateway/src/admin/routes-rtx';
import type { RunState, RunView, SourceInput, SourceView } from '../../../../gateway/src/sync/types';
import type { ConnectionCheck } from '../../../../sync/src/source';
import type { MatchKey, RunCounts } from '../../../../sync/src/engine/types';
import { api } from '../../api';

export type { ConnectionCheck, FileCheckView, MatchKey, RtxStatusView, RunCounts, RunState, RunView, SourceInput, SourceView, SyncRunsView, SyncSourcesView, XlsxFileInfo, XlsxFileView };
export type SourceKindView = SyncSourcesView['kinds'][number];

/** One step of a connection test (with a Chinese message and a code when the kind gives them). */
export type CheckStep = ConnectionCheck['steps'][number];

/** GET /schedule-preview */
export interface SchedulePreview {
  valid: boolean;
  problem: string | null;
  text: { zh: string; en: string } | null;
  next: number[];
}

export const SYNC_API = '/sync';

/** A run that still holds its source (the drawer and the lists poll while one is shown). */
export const isActive = (s: RunState): boolean => s === 'reading' || s === 'planning' || s === 'applying';

/** How often an active run (or a list holding one) is read again. */
export const RUN_POLL_MS = 1000;

export const OPS = ['create', 'update', 'move', 'disable', 'enable', 'delete', 'adopt', 'conflict'] as const;
export const COUNT_KINDS = ['depts', 'users', 'groups'] as const;

export async function startRun(sourceId: string, dryRun: boolean): Promise<number> {
  const r = await api<{ runId: number }>('POST', `${SYNC_API}/sources/${encodeURIComponent(sourceId)}/run`, { query: { dryRun: String(dryRun) } });
  return r.runId;
}

export const fetchRun = (id: number): Promise<RunView> => api<RunView>('GET', `${SYNC_API}/runs/${id}`);

export const fetchSourceFile = (sourceId: string): Promise<XlsxFileView> => api<XlsxFileView>('GET', `${SYNC_API}/sources/${encodeURIComponent(sourceId)}/file`);

/** Per-object errors of a run that are the source refusing its data (a spreadsheet's bad rows). */
export const readErrors = (r: RunView | null | undefined): RunView['errors'] => (r ? r.errors.filter((e) => e.op === 'read') : []);
