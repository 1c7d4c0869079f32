import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import type { RunView, SourceView } from './types.js';

type Args = Record<string, unknown>;
const MAX_WAIT_MS = 10_000;

function sourceArg(a: Args): string {
  if (typeof a.source !== 'string' || a.source === '') throw new GatewayError('GW_BAD_REQUEST', 'source is required (see huitong sync status)');
  return a.source;
}

function runArg(a: Args): number {
  const id = Number(a.id);
  if (!Number.isSafeInteger(id) || id < 1) throw new GatewayError('GW_BAD_REQUEST', 'a run id is required');
  return id;
}

export interface SyncStatusView {
  sources: (SourceView & { lastRun: RunView | null })[];
}

/**
 * The admin socket's `sync.*` commands (`huitong sync …`, docs/cli.md). A run
 * started with `wait` resolves when it ends, which the CLI uses when no
 * server runs (the run lives in the CLI's own process); through the socket it
 * starts the run and polls `sync.run.get`, which waits up to `waitMs` for progress.
 */
export const SYNC_CONTROL_COMMANDS: Record<string, (s: Services, a: Args) => Promise<unknown>> = {
  'sync.status': async (s): Promise<SyncStatusView> => ({
    sources: s.sync.sources().map((src) => ({ ...src, lastRun: src.lastRunId === null ? null : s.sync.run(src.lastRunId) })),
  }),

  'sync.runs': async (s, a) => ({
    runs: s.sync.runs({ limit: Math.min(Math.max(Number(a.limit ?? 20) || 20, 1), 200), ...(typeof a.source === 'string' && a.source ? { sourceId: a.source } : {}) }),
  }),

  'sync.run': async (s, a) => {
    const source = sourceArg(a);
    const dryRun = a.dryRun === true;
    const runId = s.sync.startRun(source, { trigger: 'cli', dryRun, requestedBy: 'huitong sync run', confirmBrake: a.yes === true });
    await s.admin.logAction(null, dryRun ? 'sync.run.dry_run' : 'sync.run.start', { kind: 'sync-run', id: runId, label: source }, null, a.yes === true ? { brakeConfirmedInAdvance: true } : null, null);
    if (a.wait === true) return s.sync.waitFor(runId);
    return s.sync.run(runId);
  },

  'sync.run.get': async (s, a) => {
    const id = runArg(a);
    const waitMs = Math.min(Math.max(Number(a.waitMs ?? 0) || 0, 0), MAX_WAIT_MS);
    const r = waitMs > 0 ? await s.sync.waitForChange(id, waitMs) : s.sync.run(id);
    if (!r) throw new GatewayError('GW_NOT_FOUND', `no sync run ${id}`);
    return r;
  },

  'sync.confirm': async (s, a) => {
    const id = runArg(a);
    const r = s.sync.confirm(id, 'huitong sync confirm');
    await s.admin.logAction(null, 'sync.run.confirm', { kind: 'sync-run', id, label: r.sourceId }, null, null, null);
    return a.wait === true ? s.sync.waitFor(id) : r;
  },

  'sync.cancel': async (s, a) => {
    const id = runArg(a);
    const r = s.sync.cancel(id, 'huitong sync cancel');
    await s.admin.logAction(null, 'sync.run.cancel', { kind: 'sync-run', id, label: r.sourceId }, null, null, null);
    return r;
  },
};
