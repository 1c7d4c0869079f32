/**
 * The shapes of the RTX integration routes (/api/admin/rtx/*), as the
 * console reads them. Status and code are gateway types; sync, runs and the
 * XML import follow the contract of gateway/src/admin/routes-rtx-sync.ts.
 */
import type { PluginHubStatus } from '../../../../gateway/src/edges/plugin/hub';
import type { ConnectionCodeView } from '../../../../gateway/src/settings/connection-code';

export type RtxStatus = PluginHubStatus;
export type RtxCode = ConnectionCodeView;

export interface ChangeCounts {
  created: number;
  updated: number;
  removed: number;
}

/** What a sync run planned or did. */
export interface RunCounts {
  depts: ChangeCounts;
  users: ChangeCounts;
  groups: ChangeCounts;
  /** Members created without a seat (not authorised). */
  unauthorised: number;
}

export type RunState = 'staging' | 'planned' | 'applied' | 'failed' | 'discarded';
export type RunSource = 'com' | 'xml' | 'mdb' | 'other';

/** One entry of GET /api/admin/rtx/runs. */
export interface RtxRun {
  id: number | string;
  source: RunSource;
  reason: string | null;
  state: RunState;
  startedAt: number;
  finishedAt: number | null;
  counts: RunCounts | null;
  error: string | null;
}

/** POST /api/admin/rtx/import-xml?dryRun=… */
export interface ImportXmlAnswer {
  runId: number | string;
  plan: RunCounts;
  applied: boolean;
  warnings: string[];
}

/** A run that will not change any more. */
export const isFinished = (s: RunState): boolean => s === 'applied' || s === 'failed' || s === 'discarded';

/** The plugin listener as /healthz reports it (the admin API does not say whether it uses TLS). */
export interface PluginListener {
  port: number | null;
  up: boolean;
  tls: boolean | null;
}

export async function fetchPluginListener(): Promise<PluginListener | null> {
  const res = await fetch('/healthz', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  // 503 (degraded) still carries the listeners
  const body = (await res.json()) as { listeners?: { name: string; port: number | null; up: boolean; url: string | null }[] };
  const l = body.listeners?.find((x) => x.name === 'plugin');
  if (!l) return null;
  return { port: l.port, up: l.up, tls: l.url ? l.url.startsWith('tls:') : null };
}
