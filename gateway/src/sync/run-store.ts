import { once } from 'node:events';
import { createGzip, gunzipSync } from 'node:zlib';
import type { Db } from '../storage/sqlite.js';
import type { MatchingPolicy, Plan, RunCounts } from '../../../sync/src/engine/types.js';
import type { ObjectError, RunState, RunTrigger, RunView } from './types.js';

/**
 * Sync sources, runs and stored plans on SQLite (migration 007). Plain rows:
 * the service decides; config secrets arrive here already sealed.
 */

export interface SourceRow {
  id: string;
  kind: string;
  name: string;
  origin: string;
  config: string;
  schedule: string | null;
  enabled: number;
  matching: string;
  brake_percent: number;
  deletion_days: number | null;
  cursor: string | null;
  next_run_at: number | null;
  last_run_id: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

interface RunRow {
  id: number; source_id: string; trigger: RunTrigger; dry_run: number; state: RunState; read_kind: 'snapshot' | 'delta' | null; requested_by: string | null;
  counts: string | null; brake: string | null; errors: string | null; error_count: number; warnings: string | null; error: string | null; timings: string | null;
  next_cursor: string | null; confirmed_by: string | null; started_at: number; finished_at: number | null; has_plan: number;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

export interface StoredRun extends Omit<RunView, 'progress'> {
  nextCursor: string | null;
}

function runOf(r: RunRow): StoredRun {
  return {
    id: r.id, sourceId: r.source_id, trigger: r.trigger, dryRun: r.dry_run === 1, state: r.state, readKind: r.read_kind, requestedBy: r.requested_by,
    counts: parse<RunCounts>(r.counts), brake: parse(r.brake), errors: parse<ObjectError[]>(r.errors) ?? [], errorCount: r.error_count,
    warnings: parse<string[]>(r.warnings) ?? [], error: r.error, timings: parse(r.timings), confirmedBy: r.confirmed_by,
    startedAt: r.started_at, finishedAt: r.finished_at, hasPlan: r.has_plan === 1, nextCursor: r.next_cursor,
  };
}

const RUN_COLS = 'r.*, EXISTS (SELECT 1 FROM sync_run_plans p WHERE p.run_id = r.id) AS has_plan';

export class SyncRunStore {
  constructor(readonly db: Db) {}

  /** When the source's last applied full read (a snapshot, not a dry run) finished; null if never. */
  lastFullReadAt(sourceId: string): number | null {
    const v = this.db.prepare("SELECT max(finished_at) FROM sync_runs WHERE source_id = ? AND state = 'applied' AND read_kind = 'snapshot' AND dry_run = 0").pluck().get(sourceId);
    return typeof v === 'number' ? v : null;
  }

  // ---- sources ----

  sources(): SourceRow[] {
    return this.db.prepare('SELECT * FROM sync_sources ORDER BY id').all() as SourceRow[];
  }

  source(id: string): SourceRow | null {
    return (this.db.prepare('SELECT * FROM sync_sources WHERE id = ?').get(id) as SourceRow | undefined) ?? null;
  }

  insertSource(r: Omit<SourceRow, 'cursor' | 'last_run_id' | 'last_error' | 'created_at' | 'updated_at'>, now: number): void {
    this.db
      .prepare(`INSERT INTO sync_sources (id, kind, name, origin, config, schedule, enabled, matching, brake_percent, deletion_days, next_run_at, created_at, updated_at)
        VALUES (@id, @kind, @name, @origin, @config, @schedule, @enabled, @matching, @brake_percent, @deletion_days, @next_run_at, @now, @now)`)
      .run({ ...r, now });
  }

  updateSource(id: string, set: Partial<Pick<SourceRow, 'name' | 'config' | 'schedule' | 'enabled' | 'matching' | 'brake_percent' | 'deletion_days' | 'next_run_at'>>, now: number): void {
    const keys = Object.keys(set);
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE sync_sources SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @now WHERE id = @id`).run({ ...set, id, now });
  }

  setNextRun(id: string, at: number | null): void {
    this.db.prepare('UPDATE sync_sources SET next_run_at = ? WHERE id = ?').run(at, id);
  }

  deleteSource(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sync_user_state WHERE source_id = ?').run(id);
      this.db.prepare('DELETE FROM sync_sources WHERE id = ?').run(id);
    })();
  }

  // ---- runs ----

  createRun(r: { sourceId: string; trigger: RunTrigger; dryRun: boolean; requestedBy: string | null; now: number }): number {
    return this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare("INSERT INTO sync_runs (source_id, trigger, dry_run, state, requested_by, started_at) VALUES (?, ?, ?, 'reading', ?, ?)")
          .run(r.sourceId, r.trigger, r.dryRun ? 1 : 0, r.requestedBy, r.now).lastInsertRowid,
      );
      this.db.prepare('UPDATE sync_sources SET last_run_id = ? WHERE id = ?').run(id, r.sourceId);
      return id;
    })();
  }

  run(id: number): StoredRun | null {
    const r = this.db.prepare(`SELECT ${RUN_COLS} FROM sync_runs r WHERE r.id = ?`).get(id) as RunRow | undefined;
    return r ? runOf(r) : null;
  }

  runs(q: { sourceId?: string; limit: number; beforeId?: number }): StoredRun[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.sourceId !== undefined) {
      where.push('r.source_id = ?');
      args.push(q.sourceId);
    }
    if (q.beforeId !== undefined) {
      where.push('r.id < ?');
      args.push(q.beforeId);
    }
    const sql = `SELECT ${RUN_COLS} FROM sync_runs r ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as RunRow[]).map(runOf);
  }

  runsInStates(states: readonly RunState[]): StoredRun[] {
    return (this.db.prepare(`SELECT ${RUN_COLS} FROM sync_runs r WHERE r.state IN (${states.map(() => '?').join(', ')}) ORDER BY r.id`).all(...states) as RunRow[]).map(runOf);
  }

  setState(id: number, state: RunState, extra: { readKind?: 'snapshot' | 'delta'; nextCursor?: string | null; confirmedBy?: string } = {}): void {
    const sets = ['state = @state'];
    if (extra.readKind !== undefined) sets.push('read_kind = @readKind');
    if (extra.nextCursor !== undefined) sets.push('next_cursor = @nextCursor');
    if (extra.confirmedBy !== undefined) sets.push('confirmed_by = @confirmedBy');
    this.db.prepare(`UPDATE sync_runs SET ${sets.join(', ')} WHERE id = @id`).run({ id, state, readKind: extra.readKind ?? null, nextCursor: extra.nextCursor ?? null, confirmedBy: extra.confirmedBy ?? null });
  }

  /** Stores the plan (`blob`: gzipPlan(plan)), its counts, warnings and brake figures, and moves the run to `state`. */
  storePlan(id: number, plan: Plan, blob: Buffer, state: RunState, brake: RunView['brake'], timings: object, final: boolean, now: number): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO sync_run_plans (run_id, items, plan) VALUES (?, ?, ?)').run(id, plan.items.length, blob);
      this.db
        .prepare('UPDATE sync_runs SET state = ?, counts = ?, warnings = ?, brake = ?, timings = ?, finished_at = ? WHERE id = ?')
        .run(state, JSON.stringify(plan.counts), JSON.stringify(plan.warnings), brake === null ? null : JSON.stringify(brake), JSON.stringify(timings), final ? now : null, id);
    })();
  }

  /** The stored plan as JSON bytes (gunzipped), or null. */
  planJson(id: number): Buffer | null {
    const b = this.db.prepare('SELECT plan FROM sync_run_plans WHERE run_id = ?').pluck().get(id) as Buffer | undefined;
    return b ? gunzipSync(b) : null;
  }

  plan(id: number): Plan | null {
    const j = this.planJson(id);
    return j ? (JSON.parse(j.toString('utf8')) as Plan) : null;
  }

  /**
   * Ends a run; an applied run moves the source's cursor; the source's last error follows the run.
   * A failed run's next_cursor is `fingerprint` (the data it refused, SourceDataError.fingerprint)
   * or null: the cursor a failed run read never moves the source, and a non-null value there means
   * only "this data was refused".
   */
  finishRun(
    id: number,
    state: 'planned' | 'applied' | 'failed' | 'cancelled',
    r: { error?: string | null; counts?: RunCounts; errors?: ObjectError[]; errorCount?: number; warnings?: string[]; timings?: object; fingerprint?: string | null; now: number },
  ): void {
    this.db.transaction(() => {
      const sets = ['state = @state', 'error = @error', 'finished_at = @now'];
      if (state === 'failed') sets.push('next_cursor = @fingerprint');
      if (r.counts) sets.push('counts = @counts');
      if (r.errors) sets.push('errors = @errors', 'error_count = @errorCount');
      if (r.warnings) sets.push('warnings = @warnings');
      if (r.timings) sets.push('timings = @timings');
      this.db.prepare(`UPDATE sync_runs SET ${sets.join(', ')} WHERE id = @id`).run({
        id, state, error: r.error ?? null, now: r.now, counts: r.counts ? JSON.stringify(r.counts) : null, errors: r.errors ? JSON.stringify(r.errors) : null,
        errorCount: r.errorCount ?? 0, warnings: r.warnings ? JSON.stringify(r.warnings) : null, timings: r.timings ? JSON.stringify(r.timings) : null,
        fingerprint: r.fingerprint ?? null,
      });
      const run = this.db.prepare('SELECT source_id, next_cursor, dry_run FROM sync_runs WHERE id = ?').get(id) as { source_id: string; next_cursor: string | null; dry_run: number };
      if (state === 'applied' && run.dry_run === 0) this.db.prepare('UPDATE sync_sources SET cursor = ?, last_error = NULL WHERE id = ?').run(run.next_cursor, run.source_id);
      else if (state === 'failed') this.db.prepare('UPDATE sync_sources SET last_error = ? WHERE id = ?').run(r.error ?? 'failed', run.source_id);
    })();
  }

  /** The source's latest real (not dry) run before `beforeId` that was applied or failed; null if none. */
  lastDecidedRun(sourceId: string, beforeId: number): StoredRun | null {
    const r = this.db
      .prepare(`SELECT ${RUN_COLS} FROM sync_runs r WHERE r.source_id = ? AND r.id < ? AND r.dry_run = 0 AND r.state IN ('applied', 'failed') ORDER BY r.id DESC LIMIT 1`)
      .get(sourceId, beforeId) as RunRow | undefined;
    return r ? runOf(r) : null;
  }

  /** Users (and how many disabled) and departments in the directory under `origin`. */
  directoryCounts(origin: string): { users: number; disabledUsers: number; depts: number } {
    const u = this.db.prepare("SELECT COUNT(*) AS users, COALESCE(SUM(status = 'disabled'), 0) AS disabled FROM users WHERE origin = ?").get(origin) as { users: number; disabled: number };
    const depts = this.db.prepare('SELECT COUNT(*) FROM departments WHERE origin = ?').pluck().get(origin) as number;
    return { users: u.users, disabledUsers: u.disabled, depts };
  }

  setErrors(id: number, errors: ObjectError[], count: number): void {
    this.db.prepare('UPDATE sync_runs SET errors = ?, error_count = ? WHERE id = ?').run(JSON.stringify(errors), count, id);
  }

  setLastError(sourceId: string, error: string | null): void {
    this.db.prepare('UPDATE sync_sources SET last_error = ? WHERE id = ?').run(error, sourceId);
  }
}

const PLAN_CHUNK_ITEMS = 1000;

/**
 * The plan as gzip JSON, serialised a thousand items at a time: a 50,000-user
 * plan is ~50 MB of JSON (twice that as a V8 string once a Chinese name is in
 * it), which a single JSON.stringify would hold at once next to its Buffer.
 */
export async function gzipPlan(plan: Plan): Promise<Buffer> {
  const gz = createGzip({ level: 6 });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const ended = once(gz, 'end');
  const write = async (s: string) => {
    if (!gz.write(s)) await once(gz, 'drain');
  };
  const { items, ...rest } = plan;
  await write('{"items":[');
  for (let i = 0; i < items.length; i += PLAN_CHUNK_ITEMS) {
    const chunk = JSON.stringify(items.slice(i, i + PLAN_CHUNK_ITEMS));
    await write((i === 0 ? '' : ',') + chunk.slice(1, -1));
  }
  await write(`],${JSON.stringify(rest).slice(1)}`);
  gz.end();
  await ended;
  return Buffer.concat(out);
}

export function matchingOf(row: SourceRow): MatchingPolicy {
  return JSON.parse(row.matching) as MatchingPolicy;
}
