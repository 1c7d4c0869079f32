import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { OrgBegin, OrgEnd } from '../protocol/rtx-bridge-v1.js';
import type { UserId } from '../protocol/client-v1.js';
import type { SettingsStore } from '../settings/settings.js';
import { parseRtxExport, RtxXmlError } from '../../../rtx-adapter/src/rtx-xml.js';
import { planSync } from './planner.js';
import type { BatchResult, Kind, SqliteSyncStore } from './sqlite-sync.js';
import type { OrgSnapshot, Plan, RunCounts, RunView } from './types.js';
import { exportToSnapshot } from './xml.js';

/** Users per write transaction while applying (each a few ms; the event loop breathes in between). */
export const APPLY_BATCH_USERS = 2000;
/** Largest export XML accepted (console and CLI). */
export const MAX_IMPORT_XML_BYTES = 64 * 1024 * 1024;
const CHANGE_SAMPLE = 50;
const ACTION_LOG_DETAIL_MAX = 200;

/** Seats, as the licence has them. */
export interface SeatPort {
  /** How many more users may be authorised now (0 when the licence expired). */
  free(): Promise<number>;
  /** Runs `fn` with `extra` seats reserved against concurrent authorisations; rejects (GW_LICENCE_*) when they do not fit. */
  withSeats<T>(extra: number, fn: () => Promise<T>): Promise<T>;
}

/** The adapter, as far as sync needs it; attached by the gateway's RTX bridge. */
export interface SyncRequester {
  connected(): boolean;
  /** Queues gw.sync.request. */
  request(reason: string): Promise<void>;
}

export interface RtxSyncDeps {
  store: SqliteSyncStore;
  settings: SettingsStore;
  bus: Bus;
  seats: SeatPort;
  log: Logger;
  /** Writes one action-log entry with actor "rtx-sync". */
  actionLog(action: string, target: { kind: string; id: string | number | null; label: string | null }, before: unknown, after: unknown): Promise<unknown>;
}

export interface ImportResult {
  runId: number;
  plan: RunCounts;
  applied: boolean;
  warnings: string[];
}

/**
 * The RTX org sync (docs/protocol/rtx-bridge-v1.md "Snapshots"): a pipeline
 * source → snapshot → planner → plan → applier → lifecycle effects, with every
 * run a row (rtx_sync_runs). Sources: the adapter's rtx.org.* pages (staged in
 * the transaction that records them as processed, so staging is exactly-once)
 * and export XML files imported in the console or the CLI. Runs are applied
 * one at a time.
 */
export class RtxSyncService {
  private chain: Promise<unknown> = Promise.resolve();
  private requester: SyncRequester | null = null;

  constructor(private readonly deps: RtxSyncDeps) {}

  /** The gateway's RTX bridge attaches the adapter (null detaches it). */
  attach(requester: SyncRequester | null): void {
    this.requester = requester;
  }

  /** Asks the adapter for a snapshot now. Throws GW_RTX_NOT_CONNECTED when no adapter is connected. */
  async requestSync(reason: string): Promise<void> {
    if (!this.requester) throw new GatewayError('GW_RTX_NOT_CONNECTED', 'the Huitong server is not running, so no RTX adapter is connected: start it (huitong serve) and let the adapter connect');
    if (!this.requester.connected()) {
      throw new GatewayError('GW_RTX_NOT_CONNECTED', 'no RTX adapter is connected: start the adapter (or check its connection code) and try again');
    }
    await this.requester.request(reason);
  }

  /** The adapter link for the `rtx` sync source's connection test: null when no bridge is attached (the server is not running). */
  adapterConnected(): boolean | null {
    return this.requester ? this.requester.connected() : null;
  }

  /** Resolves once no run is being planned or applied (shutdown waits for it). */
  async idle(): Promise<void> {
    for (let c = this.chain; ; c = this.chain) {
      await c;
      if (c === this.chain) return;
    }
  }

  runs(limit: number): RunView[] {
    return this.deps.store.listRuns(limit);
  }

  run(id: number): RunView | null {
    return this.deps.store.run(id);
  }

  // ---- staging (transactional handlers: synchronous, same database) ----

  stageBegin(b: OrgBegin): void {
    const { store, log } = this.deps;
    if (store.runBySnapshot(b.snapshotId)) {
      log.warn({ snapshotId: b.snapshotId }, 'rtx.org.begin of a snapshot seen before: ignored');
      return;
    }
    const id = store.createRun({ snapshotId: b.snapshotId, source: `adapter:${b.source}`, reason: b.reason ?? null, expected: b.counts, state: 'staging' });
    log.info({ runId: id, snapshotId: b.snapshotId, counts: b.counts }, 'RTX snapshot begins');
  }

  stagePage(kind: Kind, snapshotId: string, page: number, items: unknown[]): void {
    const run = this.deps.store.runBySnapshot(snapshotId);
    if (!run || run.state !== 'staging') {
      this.deps.log.warn({ snapshotId, kind, page }, 'rtx.org page of a snapshot that is not being staged: ignored');
      return;
    }
    this.deps.store.stagePage(run.id, kind, page, items);
  }

  // ---- planning and applying ----

  /**
   * rtx.org.end: checks the pages against the counts, then plans and applies.
   * Idempotent: a run already finished is left alone; a run that was planned
   * but not finished (a crash while applying) is planned and applied again,
   * which converges because the plan is a difference. Throws only for
   * failures that pass (database busy).
   */
  finishSnapshot(end: OrgEnd): Promise<void> {
    return this.serial(async () => {
      const { store, log } = this.deps;
      const run = store.runBySnapshot(end.snapshotId);
      if (!run) {
        log.warn({ snapshotId: end.snapshotId }, 'rtx.org.end of an unknown snapshot: ignored');
        return;
      }
      if (run.state !== 'staging' && run.state !== 'planned') return;
      const staged = store.stagedPages(run.id);
      const expected = JSON.parse(run.expected ?? '{}') as Record<Kind, number>;
      const problems: string[] = [];
      for (const kind of ['depts', 'users', 'groups'] as const) {
        const pages = staged[kind];
        const items = pages.reduce((n, p) => n + p.n, 0);
        if (pages.length !== end.pages[kind] || pages.some((p, i) => p.page !== i)) {
          problems.push(`${kind}: ${end.pages[kind]} pages announced, ${pages.length} received (${pages.map((p) => p.page).join(',') || 'none'})`);
        } else if (items !== expected[kind]) problems.push(`${kind}: ${expected[kind]} items announced, ${items} received`);
      }
      if (problems.length > 0) {
        const error = `incomplete snapshot, discarded: ${problems.join('; ')}`;
        store.finishRun(run.id, 'discarded', error);
        log.error({ runId: run.id, snapshotId: end.snapshotId, problems }, 'RTX snapshot incomplete: discarded');
        return;
      }
      const started = performance.now();
      const snapshot: OrgSnapshot = { depts: store.stagedItems(run.id, 'depts'), users: store.stagedItems(run.id, 'users'), groups: store.stagedItems(run.id, 'groups') };
      await this.execute(run.id, snapshot, false, { stageMs: Math.round(performance.now() - started) });
    });
  }

  /**
   * Imports an RTX export XML file (F-3.7): the same plan and apply as a
   * snapshot, with source `xml`. A dry run stores the plan (state `planned`)
   * and changes nothing. Throws GW_BAD_REQUEST for a file that is not a
   * readable export.
   */
  importXml(bytes: Uint8Array, opts: { dryRun: boolean; reason?: string }): Promise<ImportResult> {
    if (bytes.length > MAX_IMPORT_XML_BYTES) throw new GatewayError('GW_BAD_REQUEST', `the export is larger than ${MAX_IMPORT_XML_BYTES / 1024 / 1024} MiB`);
    let snapshot: OrgSnapshot;
    let readWarnings: string[];
    const started = performance.now();
    try {
      ({ snapshot, warnings: readWarnings } = exportToSnapshot(parseRtxExport(bytes)));
    } catch (e) {
      if (e instanceof RtxXmlError) throw new GatewayError('GW_BAD_REQUEST', `not a readable RTX export XML file: ${e.message}`);
      throw e;
    }
    const stageMs = Math.round(performance.now() - started);
    return this.serial(async () => {
      const runId = this.deps.store.createRun({ snapshotId: null, source: 'xml', reason: opts.reason ?? (opts.dryRun ? 'dry run' : 'import'), expected: null, state: 'staging' });
      const r = await this.execute(runId, snapshot, opts.dryRun, { stageMs }, readWarnings);
      const view = this.deps.store.run(runId);
      if (view?.state === 'failed') throw new GatewayError('GW_INTERNAL', `the import failed: ${view.error ?? 'unknown error'}`);
      return { runId, plan: r?.counts ?? (view?.counts as RunCounts), applied: !opts.dryRun, warnings: view?.warnings ?? [] };
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async execute(runId: number, snapshot: OrgSnapshot, dryRun: boolean, timings: { stageMs?: number }, extraWarnings: string[] = []): Promise<Plan | null> {
    const { store, settings, seats, log } = this.deps;
    try {
      const free = await seats.free();
      const t0 = performance.now();
      const s = settings.get();
      const plan = planSync(snapshot, store.readCurrent(), { groupMemberLimit: s.rtxGroupMemberLimit, autoAuthorise: s.autoAuthorise, freeSeats: free });
      plan.warnings.unshift(...extraWarnings);
      const planMs = Math.round(performance.now() - t0);
      store.markPlanned(runId, plan.counts, plan.warnings, sampleChanges(plan), { ...timings, planMs }, dryRun);
      if (dryRun) return plan;
      const t1 = performance.now();
      const authorise = plan.users.create.filter((c) => c.authorise).length;
      let applyWarnings: string[];
      try {
        applyWarnings = authorise > 0 ? await seats.withSeats(authorise, () => this.apply(plan)) : await this.apply(plan);
      } catch (e) {
        if (!(e instanceof GatewayError) || !e.code.startsWith('GW_LICENCE')) throw e;
        // the seats were taken between planning and applying: nobody new is authorised
        for (const c of plan.users.create) c.authorise = false;
        plan.counts.unauthorised = plan.users.create.length;
        plan.warnings.push(`no new RTX user was authorised: ${e.message}`);
        applyWarnings = await this.apply(plan);
      }
      const applyMs = Math.round(performance.now() - t1);
      const warnings = [...plan.warnings, ...applyWarnings];
      store.markPlanned(runId, plan.counts, warnings, sampleChanges(plan), { ...timings, planMs, applyMs }, false);
      store.finishRun(runId, 'applied', null, { warnings });
      await this.logRun(runId, plan);
      log.info({ runId, counts: plan.counts, planMs, applyMs }, 'RTX sync applied');
      return plan;
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_BUSY') throw e;
      log.error({ err: e, runId }, 'RTX sync failed');
      store.finishRun(runId, 'failed', `the sync failed: ${(e as Error).message}`);
      return null;
    }
  }

  /** Applies a plan in batches, announcing each committed batch (directory version, revoked sessions). */
  private async apply(plan: Plan): Promise<string[]> {
    const { store } = this.deps;
    const warnings: string[] = [];
    const deptIds = new Map<string, number>();
    const userIds = new Map<string, number>();
    const announce = async (r: BatchResult) => {
      warnings.push(...r.warnings);
      if (r.version !== null) this.deps.bus.publish({ type: 'dir.changed', version: r.version });
      for (const id of r.revoked) this.deps.bus.publish({ type: 'user.revoked', userId: id as UserId, code: 'GW_USER_DISABLED' });
      // let other work (messages, logins) run between write transactions
      await new Promise((r) => setImmediate(r));
    };
    await announce(store.applyDepts(plan.depts, deptIds));
    const { create, update } = plan.users;
    for (let i = 0; i < create.length; i += APPLY_BATCH_USERS) await announce(store.applyUsers(create.slice(i, i + APPLY_BATCH_USERS), [], deptIds, userIds));
    for (let i = 0; i < update.length; i += APPLY_BATCH_USERS) await announce(store.applyUsers([], update.slice(i, i + APPLY_BATCH_USERS), deptIds, userIds));
    await announce(store.applyGroups(plan.groups, userIds));
    await announce(store.removeUsers(plan.users.remove));
    await announce(store.removeDepts(plan.depts.remove));
    return warnings;
  }

  /** Lifecycle effects in the action log: one entry per run, one per removed, disabled or adopted user and removed group (bounded). */
  private async logRun(runId: number, plan: Plan): Promise<void> {
    const log = this.deps.actionLog;
    await log('rtx.sync.apply', { kind: 'rtx-sync', id: runId, label: `RTX sync run ${runId}` }, null, { counts: plan.counts, warnings: plan.warnings.slice(0, 20) });
    let n = 0;
    const each = async (action: string, target: { kind: string; id: number; label: string }, before: unknown, after: unknown) => {
      if (n++ < ACTION_LOG_DETAIL_MAX) await log(action, target, before, after);
    };
    for (const u of plan.users.remove) await each('rtx.user.remove', { kind: 'user', id: u.id, label: u.account }, { account: u.account }, null);
    for (const u of plan.users.update) {
      if (u.adopt) await each('rtx.user.adopt', { kind: 'user', id: u.id, label: u.account }, { origin: 'local' }, { origin: 'rtx' });
      else if (u.disabling) await each('rtx.user.disable', { kind: 'user', id: u.id, label: u.account }, { status: 'active' }, { status: 'disabled' });
    }
    for (const g of plan.groups.remove) await each('rtx.group.remove', { kind: 'group', id: g.id, label: g.name }, { name: g.name }, null);
    for (const d of plan.depts.remove) await each('rtx.dept.remove', { kind: 'dept', id: d.id, label: d.name }, { name: d.name }, null);
    if (n > ACTION_LOG_DETAIL_MAX) await log('rtx.sync.more', { kind: 'rtx-sync', id: runId, label: `RTX sync run ${runId}` }, null, { notLogged: n - ACTION_LOG_DETAIL_MAX });
  }
}

/** A bounded sample of a plan's changes, stored with the run for the console. */
function sampleChanges(plan: Plan) {
  const take = <T, R>(xs: T[], f: (x: T) => R) => xs.slice(0, CHANGE_SAMPLE).map(f);
  return {
    depts: { create: take(plan.depts.create, (d) => d.name), update: take(plan.depts.update, (d) => `${d.before.name} → ${d.name}`), remove: take(plan.depts.remove, (d) => d.name) },
    users: {
      create: take(plan.users.create, (u) => u.account),
      update: take(plan.users.update, (u) => `${u.account}${u.adopt ? ' (adopted)' : ''}: ${[...Object.keys(u.set), ...(u.depts ? ['depts'] : [])].join(', ')}`),
      remove: take(plan.users.remove, (u) => u.account),
    },
    groups: { create: take(plan.groups.create, (g) => g.name), update: take(plan.groups.update, (g) => g.ext), remove: take(plan.groups.remove, (g) => g.name) },
  };
}
