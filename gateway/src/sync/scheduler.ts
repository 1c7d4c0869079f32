import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import { nextRun } from '../../../sync/src/engine/cron.js';
import type { SyncService } from './service.js';

/** Time and timers, injectable so tests drive the scheduler without sleeping. */
export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_SCHEDULER_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Longest single wait: timers re-arm at least this often (and setTimeout's 2^31 ms limit stays far away). */
const MAX_WAIT_MS = 60 * 60 * 1000;

/**
 * Starts scheduled sync runs (docs/sync.md "Schedules"). Each enabled source
 * with a cron expression has a persisted next_run_at; one timer waits for the
 * earliest. When it comes, the source's next time is computed from now and
 * stored, then a run starts (trigger `schedule`) unless one of that source
 * is already active or a plan of it waits for confirmation (then the slot is
 * skipped, not queued). At start, a source whose next_run_at passed while the
 * server was down runs once (trigger `missed`), however many slots it missed.
 */
export class SyncScheduler {
  private timer: unknown = null;
  private started = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: { service: SyncService; log: Logger; clock?: SchedulerClock }) {}

  private get clock(): SchedulerClock {
    return this.deps.clock ?? SYSTEM_SCHEDULER_CLOCK;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const interrupted = this.deps.service.recover();
    if (interrupted > 0) this.deps.log.warn({ runs: interrupted }, 'sync runs interrupted by the last stop were marked failed');
    this.unsubscribe = this.deps.service.onSourcesChanged(() => this.reschedule());
    this.tick(true);
  }

  stop(): void {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** After a source's schedule changed (the service stored its new next_run_at): re-arm. */
  reschedule(): void {
    if (this.started) this.arm();
  }

  /** Starts what is due; `atStart`: overdue runs are "missed" runs. */
  private tick(atStart = false): void {
    if (!this.started) return;
    const { service, log } = this.deps;
    const now = this.clock.now();
    for (const row of service.store.sources()) {
      if (row.enabled !== 1 || !row.schedule) {
        if (row.next_run_at !== null) service.store.setNextRun(row.id, null);
        continue;
      }
      let next: number;
      try {
        next = nextRun(row.schedule, now);
      } catch (e) {
        service.store.setNextRun(row.id, null);
        service.store.setLastError(row.id, `the schedule cannot be used: ${(e as Error).message}`);
        continue;
      }
      if (row.next_run_at === null) {
        service.store.setNextRun(row.id, next);
        continue;
      }
      if (row.next_run_at > now) continue;
      // due (or overdue): the next slot is computed from now, so missed slots collapse into this one run
      service.store.setNextRun(row.id, next);
      const trigger = atStart ? 'missed' : 'schedule';
      const pending = service.pendingConfirmation(row.id);
      if (pending) {
        log.warn({ sourceId: row.id, runId: pending.id }, 'scheduled sync skipped: a plan of this source waits for confirmation');
        continue;
      }
      try {
        const runId = service.startRun(row.id, { trigger, dryRun: false, requestedBy: `schedule (${row.schedule})` });
        log.info({ sourceId: row.id, runId, trigger }, 'scheduled sync run started');
      } catch (e) {
        if (e instanceof GatewayError && e.code === 'GW_SYNC_RUNNING') log.info({ sourceId: row.id, runId: e.details?.runId }, 'scheduled sync skipped: a run of this source is still in progress');
        else log.error({ err: e, sourceId: row.id }, 'scheduled sync could not start');
      }
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (!this.started) return;
    let earliest: number | null = null;
    for (const row of this.deps.service.store.sources()) {
      if (row.enabled === 1 && row.schedule && row.next_run_at !== null && (earliest === null || row.next_run_at < earliest)) earliest = row.next_run_at;
    }
    const wait = earliest === null ? MAX_WAIT_MS : Math.min(Math.max(0, earliest - this.clock.now()), MAX_WAIT_MS);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.tick();
    }, wait);
  }
}
