import type { MatchingPolicy, RunCounts } from '../../../sync/src/engine/types.js';

export type RunTrigger = 'schedule' | 'manual' | 'missed' | 'cli';
export type RunState = 'reading' | 'planning' | 'planned' | 'needs_confirmation' | 'applying' | 'applied' | 'failed' | 'cancelled';
export const FINAL_STATES: readonly RunState[] = ['planned', 'applied', 'failed', 'cancelled'];
/** States in which a run holds its source (no other run of it may start). */
export const ACTIVE_STATES: readonly RunState[] = ['reading', 'planning', 'applying'];

/** A source as the console sees it: secrets never included. */
export interface SourceView {
  id: string;
  kind: string;
  name: string;
  origin: string;
  /** The config without its secret fields. */
  config: Record<string, unknown>;
  /** Secret fields that hold a value (write-only: send a new value to replace, "" to clear). */
  secretsSet: string[];
  schedule: string | null;
  /** The schedule in words, or null without a schedule. */
  scheduleText: { zh: string; en: string } | null;
  enabled: boolean;
  matching: MatchingPolicy;
  brakePercent: number;
  deletionDays: number | null;
  cursor: string | null;
  nextRunAt: number | null;
  lastRunId: number | null;
  lastError: string | null;
  /** The run holding the source now (reading, planning or applying), if any. */
  runningRunId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface SourceInput {
  id?: string;
  kind?: string;
  name?: string;
  config?: Record<string, unknown>;
  schedule?: string | null;
  enabled?: boolean;
  matching?: MatchingPolicy;
  brakePercent?: number;
  deletionDays?: number | null;
}

export interface ObjectError {
  kind: 'dept' | 'user' | 'group';
  externalId: string;
  op: string;
  label: string;
  message: string;
}

export interface RunProgress {
  phase: string;
  done: number;
  total: number | null;
}

export interface RunView {
  id: number;
  sourceId: string;
  trigger: RunTrigger;
  dryRun: boolean;
  state: RunState;
  readKind: 'snapshot' | 'delta' | null;
  requestedBy: string | null;
  /** Planned counts; once applied, what was applied. */
  counts: RunCounts | null;
  /** Set when the safety brake held the run. */
  brake: { ownedUsers: number; affected: number; percent: number; limit: number } | null;
  /** Per-object errors (the first MAX_OBJECT_ERRORS) and their total. */
  errors: ObjectError[];
  errorCount: number;
  warnings: string[];
  error: string | null;
  timings: { readMs?: number; planMs?: number; applyMs?: number; totalMs?: number } | null;
  confirmedBy: string | null;
  startedAt: number;
  finishedAt: number | null;
  /** While the run is active: where it is. */
  progress: RunProgress | null;
  /** Whether a plan is stored (GET /runs/:id/plan). */
  hasPlan: boolean;
}

export const MAX_OBJECT_ERRORS = 200;
