import { performance } from 'node:perf_hooks';
import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { UserId } from '../protocol/client-v1.js';
import type { SeatPort } from '../rtx/sync-service.js';
import { SecretBox } from '../settings/secret-box.js';
import type { SettingsStore } from '../settings/settings.js';
import type { Db } from '../storage/sqlite.js';
import { hasFingerprint, SourceDataError, type ConnectionCheck, type Delta, type DirectorySource, type Snapshot } from '../../../sync/src/source.js';
import { cronProblem, describeCron, nextRuns } from '../../../sync/src/engine/cron.js';
import { brakeHolds, planSync } from '../../../sync/src/engine/planner.js';
import type { SourceKindRegistry } from '../../../sync/src/engine/registry.js';
import { APPLY_BATCH, emptyCounts, type Plan, type PlanItem, type RunCounts } from '../../../sync/src/engine/types.js';
import { SyncDirectoryWriter, type ApplyContext, type BatchResult } from './directory-writer.js';
import { gzipPlan, matchingOf, SyncRunStore, type SourceRow, type StoredRun } from './run-store.js';
import { SourceConfigs } from './sources.js';
import { ACTIVE_STATES, MAX_OBJECT_ERRORS, type ObjectError, type RunProgress, type RunTrigger, type RunView, type SourceInput, type SourceView } from './types.js';

export interface SyncClock {
  now(): number;
}
export const SYSTEM_CLOCK: SyncClock = { now: () => Date.now() };

/** How often a source that reads deltas is read in full anyway (docs/sync.md#reconcile). */
export const DEFAULT_RECONCILE_HOURS = 24;
const TEST_CONNECTION_TIMEOUT_MS = 30_000;
/** The start of a run's error when a scheduled run skipped data already refused (sameAsRefused). */
const SAME_DATA_RE = /^same file as the failed run (\d+), not read again \(a manual sync reads it again\): /;

export interface SyncServiceDeps {
  db: Db;
  kinds: SourceKindRegistry;
  dataDir: string;
  bus: Bus;
  seats: SeatPort;
  settings: SettingsStore;
  log: Logger;
  /** One action-log entry by `actor` ('sync:<id>' for the engine, an administrator for console actions). */
  actionLog(actor: string, action: string, target: { kind: string; id: string | number | null; label: string | null }, before: unknown, after: unknown): Promise<unknown>;
  clock?: SyncClock;
  /** Services lent to the kinds the gateway registers (SourceFactoryDeps.host: `rtxSync` for the `rtx` kind). */
  host?: Readonly<Record<string, unknown>>;
}

export interface StartOptions {
  trigger: RunTrigger;
  dryRun: boolean;
  requestedBy: string | null;
  /** Apply even when the safety brake would hold the plan (`huitong sync run --yes`). */
  confirmBrake?: boolean;
}

interface Active {
  runId: number;
  sourceId: string;
  abort: AbortController;
  progress: RunProgress;
  done: Promise<void>;
  waiters: Set<() => void>;
  cancelledBy: string | null;
}

class Cancelled extends Error {}

/**
 * Directory sync runs (docs/sync.md): source → read → plan → stored plan
 * (a dry run ends here; the safety brake holds it here) → apply in batches →
 * lifecycle effects, each run a row with its state. At most one run per
 * source reads, plans or applies at a time; "sync now" during one answers
 * GW_SYNC_RUNNING with that run's id. Schedules (scheduler.ts) only start runs.
 */
export class SyncService {
  readonly store: SyncRunStore;
  readonly writer: SyncDirectoryWriter;
  readonly configs: SourceConfigs;
  private readonly clock: SyncClock;
  private readonly active = new Map<string, Active>();
  private readonly byRun = new Map<number, Active>();
  private box: SecretBox | null = null;
  private closed = false;
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly deps: SyncServiceDeps) {
    this.clock = deps.clock ?? SYSTEM_CLOCK;
    this.store = new SyncRunStore(deps.db);
    this.writer = new SyncDirectoryWriter(deps.db);
    this.configs = new SourceConfigs(this.store, deps.kinds, () => (this.box ??= SecretBox.open(deps.dataDir)), () => this.clock.now());
  }

  now(): number {
    return this.clock.now();
  }

  /** The gateway's data directory (a spreadsheet source without a folder keeps its uploads under it). */
  get dataDir(): string {
    return this.deps.dataDir;
  }

  /** At server start: runs a stopped process left reading, planning or applying are failed (a plan held by the brake stays confirmable). */
  recover(): number {
    const left = this.store.runsInStates(ACTIVE_STATES).filter((r) => !this.byRun.has(r.id));
    for (const r of left) this.store.finishRun(r.id, 'failed', { error: `interrupted while ${r.state}: the server stopped; the next run makes the directory right`, now: this.now() });
    return left.length;
  }

  /** Called after a source was created, changed or deleted (the scheduler re-arms). */
  onSourcesChanged(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.changeListeners) fn();
  }

  // ---- sources ----

  kinds(): { kind: string; label: { zh: string; en: string } | null; secretFields: string[] }[] {
    return this.deps.kinds.list().map((k) => ({ kind: k.kind, label: k.label ?? null, secretFields: [...(k.secretFields ?? [])] }));
  }

  sources(): SourceView[] {
    return this.store.sources().map((r) => this.configs.view(r, this.active.get(r.id)?.runId ?? null));
  }

  source(id: string): SourceView {
    return this.configs.view(this.configs.row(id), this.active.get(id)?.runId ?? null);
  }

  sourceRow(id: string): SourceRow {
    return this.configs.row(id);
  }

  createSource(input: SourceInput): SourceView {
    const view = this.configs.view(this.configs.create(input), null);
    this.changed();
    return view;
  }

  updateSource(id: string, input: SourceInput): { before: SourceView; after: SourceView } {
    this.refuseWhileRunning(id, 'changed');
    const r = this.configs.update(id, input);
    this.changed();
    return { before: this.configs.view(r.before, null), after: this.configs.view(r.after, null) };
  }

  /** Deletes the source and its schedule; the entries it created stay in the directory (still marked with its origin). */
  deleteSource(id: string): SourceView {
    const view = this.source(id);
    this.refuseWhileRunning(id, 'deleted');
    this.store.deleteSource(id);
    this.changed();
    return view;
  }

  private refuseWhileRunning(id: string, what: string): void {
    const a = this.active.get(id);
    if (a) throw new GatewayError('GW_SYNC_RUNNING', `run ${a.runId} of source ${id} is in progress; the source cannot be ${what} until it ends (or cancel it)`, { details: { runId: a.runId } });
  }

  /** "Test connection" of a saved source. Never throws for a directory problem: the check says it. */
  async testConnection(id: string): Promise<ConnectionCheck> {
    const row = this.configs.row(id);
    const spec = this.configs.kind(row.kind);
    let timer: NodeJS.Timeout | undefined;
    try {
      const src = spec.create(this.configs.plainConfig(row), this.factoryDeps(row));
      const check = await Promise.race([
        src.testConnection(),
        new Promise<ConnectionCheck>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, steps: [{ step: 'read', ok: false, message: `no answer within ${TEST_CONNECTION_TIMEOUT_MS / 1000} s` }] }), TEST_CONNECTION_TIMEOUT_MS);
        }),
      ]);
      await src.close?.().catch(() => undefined);
      return check;
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      this.deps.log.warn({ err: e, sourceId: id }, 'sync source test failed');
      return { ok: false, steps: [{ step: 'read', ok: false, message: 'the source could not be set up from its configuration; see the server log' }] };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next `count` run times of a cron expression, and the expression in words. */
  previewSchedule(expr: string, count: number): { valid: boolean; problem: string | null; text: { zh: string; en: string } | null; next: number[] } {
    const problem = cronProblem(expr);
    if (problem) return { valid: false, problem, text: null, next: [] };
    return { valid: true, problem: null, text: describeCron(expr), next: nextRuns(expr, this.now(), count) };
  }

  /** What a source kind's factory gets (SourceFactoryDeps). */
  private factoryDeps(row: SourceRow) {
    return {
      sourceId: row.id, origin: row.origin, dataDir: this.deps.dataDir, log: this.deps.log.child({ syncSource: row.id }), now: () => this.now(), host: this.deps.host ?? {},
      directoryCounts: (origin: string) => this.store.directoryCounts(origin),
    };
  }

  // ---- runs ----

  runningRunOf(sourceId: string): number | null {
    return this.active.get(sourceId)?.runId ?? null;
  }

  /** The run of the source that waits for an administrator (the safety brake), if any. */
  pendingConfirmation(sourceId: string): StoredRun | null {
    return this.store.runs({ sourceId, limit: 20 }).find((r) => r.state === 'needs_confirmation') ?? null;
  }

  /**
   * Starts a run and returns its id at once; the run goes on in the
   * background. Throws GW_SYNC_RUNNING (details.runId) while another run of
   * the source is active, GW_NOT_FOUND for an unknown source, GW_CONFLICT for a
   * real run of a disabled source (dry runs are allowed).
   */
  startRun(sourceId: string, opts: StartOptions): number {
    if (this.closed) throw new GatewayError('GW_SERVER_SHUTDOWN');
    const row = this.configs.row(sourceId);
    const running = this.active.get(sourceId);
    if (running) throw new GatewayError('GW_SYNC_RUNNING', `run ${running.runId} of source ${sourceId} is in progress; wait for it or cancel it`, { details: { runId: running.runId } });
    if (!opts.dryRun && row.enabled !== 1) throw new GatewayError('GW_CONFLICT', `source ${sourceId} is disabled: enable it first (a dry run is allowed)`);
    this.configs.kind(row.kind);
    const runId = this.store.createRun({ sourceId, trigger: opts.trigger, dryRun: opts.dryRun, requestedBy: opts.requestedBy, now: this.now() });
    if (!opts.dryRun) {
      // a new real run supersedes a plan still waiting for confirmation
      const pending = this.pendingConfirmation(sourceId);
      if (pending) this.store.finishRun(pending.id, 'cancelled', { error: `superseded by run ${runId}`, now: this.now() });
    }
    this.launch(runId, sourceId, (a) => this.execute(runId, row, opts, a));
    return runId;
  }

  /** Applies a run the safety brake held. Throws GW_CONFLICT when the run is not waiting, GW_SYNC_RUNNING when its source is busy. */
  confirm(runId: number, by: string): RunView {
    const run = this.store.run(runId);
    if (!run) throw new GatewayError('GW_NOT_FOUND', `no sync run ${runId}`);
    if (run.state !== 'needs_confirmation') throw new GatewayError('GW_CONFLICT', `run ${runId} is ${run.state}; only a run held by the safety brake can be confirmed`);
    const row = this.configs.row(run.sourceId);
    const busy = this.active.get(run.sourceId);
    if (busy) throw new GatewayError('GW_SYNC_RUNNING', `run ${busy.runId} of source ${run.sourceId} is in progress`, { details: { runId: busy.runId } });
    const plan = this.store.plan(runId);
    if (!plan) throw new GatewayError('GW_CONFLICT', `run ${runId} has no stored plan`);
    this.store.setState(runId, 'applying', { confirmedBy: by });
    this.launch(runId, run.sourceId, (a) => this.applyAndFinish(runId, row, plan, a, { ...(run.timings ?? {}) }, performance.now()));
    return this.run(runId) as RunView;
  }

  /** Cancels a run: reading and planning stop at once, applying stops after the current batch (what was applied stays). */
  cancel(runId: number, by: string): RunView {
    const run = this.store.run(runId);
    if (!run) throw new GatewayError('GW_NOT_FOUND', `no sync run ${runId}`);
    const a = this.byRun.get(runId);
    if (a) {
      a.cancelledBy = by;
      a.abort.abort();
    } else if (run.state === 'needs_confirmation') {
      this.store.finishRun(runId, 'cancelled', { error: `cancelled by ${by}`, now: this.now() });
    } else {
      throw new GatewayError('GW_CONFLICT', `run ${runId} is ${run.state} and cannot be cancelled`);
    }
    return this.run(runId) as RunView;
  }

  run(id: number): RunView | null {
    const r = this.store.run(id);
    if (!r) return null;
    const { nextCursor: _n, ...view } = r;
    return { ...view, progress: this.byRun.get(id)?.progress ?? null };
  }

  runs(q: { sourceId?: string; limit: number; beforeId?: number }): RunView[] {
    return this.store.runs(q).map(({ nextCursor: _n, ...r }) => ({ ...r, progress: this.byRun.get(r.id)?.progress ?? null }));
  }

  /** The stored plan as JSON bytes, or null. */
  planJson(id: number): Buffer | null {
    return this.store.planJson(id);
  }

  /** Resolves with the run once it is no longer active (finished, or held by the brake). */
  async waitFor(runId: number): Promise<RunView> {
    const a = this.byRun.get(runId);
    if (a) await a.done;
    const r = this.run(runId);
    if (!r) throw new GatewayError('GW_NOT_FOUND', `no sync run ${runId}`);
    return r;
  }

  /** Resolves at the run's next progress change, its end, or after `ms` (long polling for the CLI). */
  async waitForChange(runId: number, ms: number): Promise<RunView | null> {
    const a = this.byRun.get(runId);
    if (a) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          a?.waiters.delete(done);
          resolve();
        }
        a.waiters.add(done);
        void a.done.then(done);
      });
    }
    return this.run(runId);
  }

  /** Cancels active runs and waits for them (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.byRun.values()];
    for (const a of all) {
      a.cancelledBy ??= 'the server stopping';
      a.abort.abort();
    }
    await Promise.allSettled(all.map((a) => a.done));
  }

  private launch(runId: number, sourceId: string, body: (a: Active) => Promise<void>): void {
    const a: Active = { runId, sourceId, abort: new AbortController(), progress: { phase: 'reading', done: 0, total: null }, done: Promise.resolve(), waiters: new Set(), cancelledBy: null };
    this.active.set(sourceId, a);
    this.byRun.set(runId, a);
    a.done = (async () => {
      try {
        await body(a);
      } catch (e) {
        this.deps.log.error({ err: e, runId }, 'sync run failed unexpectedly');
      } finally {
        this.active.delete(sourceId);
        this.byRun.delete(runId);
        for (const w of [...a.waiters]) w();
      }
    })();
  }

  private progress(a: Active, p: RunProgress): void {
    a.progress = p;
    for (const w of [...a.waiters]) w();
  }

  /**
   * Deltas cannot show deletions (an entry that is gone is not "changed"): every
   * `reconcileHours` (source config, default 24; 0 = every run) the source is read
   * in full, so people removed at the source are disabled in the same run.
   */
  private reconcileDue(row: SourceRow): boolean {
    if (!row.cursor) return true;
    const cfg = this.configs.plainConfig(row) as { reconcileHours?: unknown };
    const hours = typeof cfg.reconcileHours === 'number' && cfg.reconcileHours >= 0 ? cfg.reconcileHours : DEFAULT_RECONCILE_HOURS;
    const last = this.store.lastFullReadAt(row.id);
    return last === null || this.now() - last >= hours * 3_600_000;
  }

  private async execute(runId: number, row: SourceRow, opts: StartOptions, a: Active): Promise<void> {
    const { log } = this.deps;
    const t0 = performance.now();
    const timings: { readMs?: number; planMs?: number; applyMs?: number; totalMs?: number } = {};
    try {
      const spec = this.configs.kind(row.kind);
      const src = spec.create(this.configs.plainConfig(row), this.factoryDeps(row));
      let read: Snapshot | Delta | null;
      try {
        if (await this.sameAsRefused(runId, row, opts, src, t0)) return;
        read = await src.read({
          sinceCursor: this.reconcileDue(row) ? null : row.cursor, signal: a.abort.signal, dryRun: opts.dryRun,
          onProgress: (p) => this.progress(a, { phase: p.phase, done: p.done, total: p.total ?? null }),
        });
      } finally {
        await src.close?.().catch(() => undefined);
      }
      if (a.abort.signal.aborted) throw new Cancelled();
      timings.readMs = Math.round(performance.now() - t0);
      this.store.setState(runId, 'planning', { readKind: read.kind, nextCursor: read.cursor ?? null });
      this.progress(a, { phase: 'planning', done: 0, total: null });
      const t1 = performance.now();
      const plan = planSync(read, this.writer.readCurrent(row.origin), { origin: row.origin, matching: matchingOf(row), deletionDays: row.deletion_days, now: this.now() });
      if (read.notes?.length) plan.warnings.unshift(...read.notes.slice(0, 20).map((n) => String(n).slice(0, 500)));
      // what was read is not needed past the plan: let it go before storing and applying (50,000 users are ~100 MB)
      read = null;
      timings.planMs = Math.round(performance.now() - t1);
      const blob = await gzipPlan(plan);
      if (a.abort.signal.aborted) throw new Cancelled();
      const holds = brakeHolds(plan, row.brake_percent);
      const brake = holds ? { ownedUsers: plan.brake.ownedUsers, affected: plan.brake.affected, percent: Math.round((plan.brake.affected * 1000) / plan.brake.ownedUsers) / 10, limit: row.brake_percent } : null;
      const conflicts = conflictErrors(plan);
      if (opts.dryRun) {
        this.store.storePlan(runId, plan, blob, 'planning', brake, timings, false, this.now());
        this.store.finishRun(runId, 'planned', { errors: conflicts.slice(0, MAX_OBJECT_ERRORS), errorCount: conflicts.length, timings: { ...timings, totalMs: Math.round(performance.now() - t0) }, now: this.now() });
        log.info({ runId, sourceId: row.id, counts: plan.counts }, 'sync dry run planned');
        return;
      }
      if (holds && !opts.confirmBrake) {
        this.store.storePlan(runId, plan, blob, 'needs_confirmation', brake, timings, false, this.now());
        this.store.setErrors(runId, conflicts.slice(0, MAX_OBJECT_ERRORS), conflicts.length);
        this.store.setLastError(row.id, `the safety brake held run ${runId}: it would disable or delete ${plan.brake.affected} of ${plan.brake.ownedUsers} users (more than ${row.brake_percent} %); an administrator must confirm it`);
        await this.deps.actionLog(`sync:${row.id}`, 'sync.brake', { kind: 'sync-run', id: runId, label: row.id }, null, { brake });
        log.warn({ runId, sourceId: row.id, brake }, 'sync plan held by the safety brake');
        return;
      }
      this.store.storePlan(runId, plan, blob, 'applying', brake, timings, false, this.now());
      if (holds) this.store.setState(runId, 'applying', { confirmedBy: opts.requestedBy ?? 'cli --yes' });
      await this.applyAndFinish(runId, row, plan, a, timings, t0);
    } catch (e) {
      if (e instanceof Cancelled || a.abort.signal.aborted) {
        this.store.finishRun(runId, 'cancelled', { error: `cancelled by ${a.cancelledBy ?? 'an administrator'}`, timings: { ...timings, totalMs: Math.round(performance.now() - t0) }, now: this.now() });
        return;
      }
      const message = e instanceof GatewayError || e instanceof SourceDataError ? e.message.slice(0, 500) : `the source could not be read or the plan failed: ${(e as Error).message}`.slice(0, 500);
      // a source refusing its data entry by entry (a spreadsheet's bad rows): those are the run's per-object errors
      const errors: ObjectError[] = e instanceof SourceDataError ? e.problems.map((p) => ({ kind: p.kind, externalId: p.externalId, op: 'read', label: p.label, message: p.message })) : [];
      // refused data is the source's business, said once in the run: no stack in the log
      if (e instanceof SourceDataError) log.warn({ runId, sourceId: row.id, problems: errors.length, reason: message }, 'sync run failed: the source refused its data');
      else log.error({ err: e, runId, sourceId: row.id }, 'sync run failed');
      this.store.finishRun(runId, 'failed', {
        error: message, timings: { ...timings, totalMs: Math.round(performance.now() - t0) }, now: this.now(),
        fingerprint: e instanceof SourceDataError ? e.fingerprint : null,
        ...(errors.length > 0 ? { errors: errors.slice(0, MAX_OBJECT_ERRORS), errorCount: errors.length } : {}),
      });
    }
  }

  /**
   * A scheduled run of a source whose data is still what its last decided run
   * refused (a spreadsheet with the same SHA-256 as the failed run's) fails at
   * once with that run's reason and rows, without parsing the data again. A
   * manual or CLI run always reads. True when the run was ended here.
   */
  private async sameAsRefused(runId: number, row: SourceRow, opts: StartOptions, src: DirectorySource, t0: number): Promise<boolean> {
    if ((opts.trigger !== 'schedule' && opts.trigger !== 'missed') || opts.dryRun || !hasFingerprint(src)) return false;
    const prev = this.store.lastDecidedRun(row.id, runId);
    if (!prev || prev.state !== 'failed' || !prev.nextCursor) return false;
    const now = await src.fingerprint().catch(() => null);
    if (now !== prev.nextCursor) return false;
    // a run that skipped before names the run that read the file: so does this one
    const earlier = SAME_DATA_RE.exec(prev.error ?? '');
    const readBy = earlier ? Number(earlier[1]) : prev.id;
    const reason = earlier ? (prev.error ?? '').slice(earlier[0].length) : (prev.error ?? 'refused');
    const error = `same file as the failed run ${readBy}, not read again (a manual sync reads it again): ${reason}`.slice(0, 500);
    this.store.finishRun(runId, 'failed', { error, errors: prev.errors, errorCount: prev.errorCount, fingerprint: now, timings: { totalMs: Math.round(performance.now() - t0) }, now: this.now() });
    this.deps.log.info({ runId, sourceId: row.id, sameAs: prev.id }, 'scheduled sync: the source still has the data a run refused');
    return true;
  }

  /** Applies a stored plan, then ends the run as applied (or cancelled / failed) with what was applied. */
  private async applyAndFinish(runId: number, row: SourceRow, plan: Plan, a: Active, timings: Record<string, number | undefined>, t0: number): Promise<void> {
    const t1 = performance.now();
    const counts = emptyCounts();
    counts.sourceUsers = plan.counts.sourceUsers;
    counts.unchanged = plan.counts.unchanged;
    const errors: ObjectError[] = conflictErrors(plan);
    for (const it of plan.items) if (it.op === 'conflict') counts[`${it.kind}s` as 'depts' | 'users' | 'groups'].conflict += 1;
    const warnings = [...plan.warnings];
    const finish = (state: 'applied' | 'cancelled' | 'failed', error: string | null) =>
      this.store.finishRun(runId, state, {
        error, counts, errors: errors.slice(0, MAX_OBJECT_ERRORS), errorCount: errors.length, warnings: warnings.slice(0, 200),
        timings: { ...timings, applyMs: Math.round(performance.now() - t1), totalMs: Math.round(performance.now() - t0) }, now: this.now(),
      });
    try {
      await this.withSeatsFor(plan, warnings, () => this.applyItems(runId, row, plan, a, counts, errors, warnings));
      finish('applied', null);
      await this.afterApply(row, runId);
      await this.deps.actionLog(`sync:${row.id}`, 'sync.run.apply', { kind: 'sync-run', id: runId, label: row.id }, null, { counts, errors: errors.length });
      this.deps.log.info({ runId, sourceId: row.id, counts }, 'sync run applied');
    } catch (e) {
      if (e instanceof Cancelled) {
        const done = a.progress.done;
        finish('cancelled', `cancelled by ${a.cancelledBy ?? 'an administrator'} after ${done} of ${a.progress.total ?? '?'} changes (those stay applied)`);
        return;
      }
      this.deps.log.error({ err: e, runId }, 'sync apply failed');
      finish('failed', `applying failed: ${e instanceof GatewayError ? e.message : 'a database error (see the server log)'}; what was applied stays, the next run continues`);
    }
  }

  /** The kind's afterApply hook (the spreadsheet kind archives the file it read); a failure is logged only. */
  private async afterApply(row: SourceRow, runId: number): Promise<void> {
    const spec = this.deps.kinds.get(row.kind);
    if (!spec?.afterApply) return;
    try {
      await spec.afterApply(this.configs.plainConfig(row), this.factoryDeps(row), this.store.run(runId)?.nextCursor ?? null);
    } catch (e) {
      this.deps.log.warn({ err: e, runId, sourceId: row.id }, 'sync source after-apply step failed');
    }
  }

  /** New and re-enabled users take free seats when auto-authorise is on; the seats are reserved while applying. */
  private async withSeatsFor(plan: Plan, warnings: string[], fn: () => Promise<void>): Promise<void> {
    const settings = this.deps.settings.get();
    let free = settings.autoAuthorise ? await this.deps.seats.free() : 0;
    const wants = plan.items.filter((i) => i.kind === 'user' && (i.op === 'create' || i.op === 'enable') && i.user?.status === 'active');
    let n = 0;
    for (const it of wants) {
      if (free <= 0) break;
      (it.user as NonNullable<PlanItem['user']>).authorise = true;
      free -= 1;
      n += 1;
    }
    if (wants.length > n) warnings.push(`${wants.length - n} new or re-enabled users are not authorised: ${settings.autoAuthorise ? 'no licence seat is free for them' : 'auto-authorise is off'} (authorise them in the console)`);
    if (n === 0) return fn();
    try {
      await this.deps.seats.withSeats(n, fn);
    } catch (e) {
      if (!(e instanceof GatewayError) || !e.code.startsWith('GW_LICENCE')) throw e;
      for (const it of wants) if (it.user) it.user.authorise = false;
      warnings.push(`no new user was authorised: ${e.message}`);
      await fn();
    }
  }

  private async applyItems(runId: number, row: SourceRow, plan: Plan, a: Active, counts: RunCounts, errors: ObjectError[], warnings: string[]): Promise<void> {
    const ctx: ApplyContext = { origin: row.origin, sourceId: row.id, actor: `sync:${row.id}`, runId, now: () => this.now(), deptIds: new Map(), userIds: new Map() };
    const is = (kind: PlanItem['kind'], ops: PlanItem['op'][]) => plan.items.filter((i) => i.kind === kind && ops.includes(i.op));
    const phases: [string, PlanItem[], (b: PlanItem[], c: ApplyContext) => BatchResult, number][] = [
      ['departments', is('dept', ['create', 'update', 'move']), (b, c) => this.writer.applyDepts(b, c), Number.MAX_SAFE_INTEGER],
      ['users', is('user', ['create', 'update', 'move', 'disable', 'enable', 'adopt']), (b, c) => this.writer.applyUsers(b, c), APPLY_BATCH],
      ['groups', is('group', ['create', 'update', 'delete']), (b, c) => this.writer.applyGroups(b, c), APPLY_BATCH],
      ['deleting users', is('user', ['delete']), (b, c) => this.writer.deleteUsers(b, c), APPLY_BATCH],
      ['deleting departments', is('dept', ['delete']), (b, c) => this.writer.deleteDepts(b, c), Number.MAX_SAFE_INTEGER],
    ];
    const total = phases.reduce((n, p) => n + p[1].length, 0);
    let done = 0;
    this.progress(a, { phase: 'applying', done, total });
    for (const [phase, items, write, size] of phases) {
      for (let i = 0; i < items.length; i += size) {
        if (a.abort.signal.aborted) throw new Cancelled();
        const r = write(items.slice(i, i + size), ctx);
        for (const it of r.applied) counts[`${it.kind}s` as 'depts' | 'users' | 'groups'][it.op] += 1;
        errors.push(...r.errors);
        warnings.push(...r.warnings);
        // lifecycle: after the batch committed, announce it; live sessions of disabled and deleted users close now
        if (r.version !== null) this.deps.bus.publish({ type: 'dir.changed', version: r.version });
        for (const id of r.revoked) this.deps.bus.publish({ type: 'user.revoked', userId: id as UserId, code: 'GW_USER_DISABLED' });
        done += Math.min(size, items.length - i);
        this.progress(a, { phase, done, total });
        // other work (messages, logins) runs between write transactions
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (plan.loginDns?.length && !a.abort.signal.aborted) this.writer.setLoginDns(plan.loginDns, ctx);
  }
}

function conflictErrors(plan: Plan): ObjectError[] {
  const out: ObjectError[] = [];
  for (const it of plan.items) if (it.op === 'conflict') out.push({ kind: it.kind, externalId: it.externalId, op: 'conflict', label: it.label, message: it.reason });
  return out;
}
