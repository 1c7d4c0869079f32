import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MEMORY_DIRECTORIES, MemoryDirectory } from '../../sync/src/engine/registry.js';
import { SOURCE_KINDS } from '../../sync/src/kinds.js';
import type { SourceDept, SourceUser } from '../../sync/src/source.js';
import type { Plan } from '../../sync/src/engine/types.js';
import { SyncService } from '../../gateway/src/sync/service.js';
import { SyncScheduler, type SchedulerClock } from '../../gateway/src/sync/scheduler.js';
import type { RunView } from '../../gateway/src/sync/types.js';
import { CONTROL_COMMANDS } from '../../gateway/src/control/commands.js';
import { runSync } from '../../gateway/src/cli/sync.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import { createLogger } from '../../gateway/src/log.js';
import type { Services } from '../../gateway/src/services.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { startGateway, TEST_PASSWORD } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';
import { nextEvent, online, WAIT_MS, within } from '../helpers/clients.js';
import { consoleSession } from '../helpers/rtx.js';

const DAY_MS = 86_400_000;
let dirSeq = 0;

/** A fresh memory directory registered under a unique name. */
function memDir(t: { teardown(fn: () => unknown): void }): { name: string; dir: MemoryDirectory } {
  const name = `mem-${process.pid}-${++dirSeq}`;
  const dir = new MemoryDirectory();
  MEMORY_DIRECTORIES.set(name, dir);
  t.teardown(() => MEMORY_DIRECTORIES.delete(name));
  return { name, dir };
}

function user(ext: string, extra: Partial<SourceUser> = {}): SourceUser {
  return { externalId: ext, account: ext, name: `用户${ext}`, deptExternalIds: [], disabled: false, ...extra };
}

const dept = (ext: string, parent: string | null, name = `部门${ext}`): SourceDept => ({ externalId: ext, parentExternalId: parent, name });

async function runOnce(sync: SyncService, sourceId: string, dryRun = false): Promise<RunView> {
  return sync.waitFor(sync.startRun(sourceId, { trigger: 'manual', dryRun, requestedBy: 'test' }));
}

function userRow(s: Services, account: string) {
  return s.db.prepare('SELECT id, account, name, email, origin, external_id, status, authorised FROM users WHERE account = ?').get(account) as
    | { id: number; account: string; name: string; email: string; origin: string; external_id: string | null; status: string; authorised: number }
    | undefined;
}

function deptsOf(s: Services, userId: number): string[] {
  return (s.db.prepare('SELECT d.external_id FROM user_departments ud JOIN departments d ON d.id = ud.dept_id WHERE ud.user_id = ? ORDER BY ud.is_main DESC').pluck().all(userId) as string[]);
}

/** A clock the test moves; timers fire when it passes them. */
class ManualClock implements SchedulerClock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Moves time on, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}

/** A second SyncService on the same database with a clock of the test's own. */
function serviceWithClock(s: Services & { dataDir: string }, clock: SchedulerClock): SyncService {
  return new SyncService({
    db: s.db, kinds: SOURCE_KINDS, dataDir: s.dataDir, bus: s.bus, settings: s.settings, log: createLogger('silent'),
    seats: { free: async () => 1_000_000, withSeats: (_n, fn) => fn() },
    actionLog: (actor, action, target, before, after) => s.admin.logAction({ id: null, username: actor }, action, target, before, after, null),
    clock,
  });
}

t.test('dry run, then apply: creates, updates, moves, disables exactly what the source owns', async (t) => {
  const s = makeServices(t);
  const { name, dir } = memDir(t);
  const local = await s.directory.createUser({ account: 'local1', name: '本地' });
  const other = memDir(t);
  other.dir.snapshot = { depts: [], users: [user('o1', { account: 'o1' })] };
  s.sync.createSource({ id: 'other', kind: 'memory', config: { directory: other.name } });
  t.equal((await runOnce(s.sync, 'other')).state, 'applied');

  dir.snapshot = {
    depts: [dept('A', null), dept('B', 'A')],
    users: [1, 2, 3, 4, 5].map((i) => user(`u${i}`, { deptExternalIds: [i % 2 ? 'A' : 'B'], email: `u${i}@corp.example` })),
  };
  s.sync.createSource({ id: 'hr', kind: 'memory', name: 'HR', config: { directory: name } });
  const before = s.db.prepare('SELECT COUNT(*) FROM users').pluck().get();
  const dry = await runOnce(s.sync, 'hr', true);
  t.equal(dry.state, 'planned', dry.error ?? '');
  t.ok(dry.dryRun);
  t.equal(dry.counts?.users.create, 5);
  t.equal(dry.counts?.depts.create, 2);
  t.equal(s.db.prepare('SELECT COUNT(*) FROM users').pluck().get(), before, 'the dry run changed nothing');
  t.equal(s.sync.sourceRow('hr').cursor, null, 'nor the cursor');
  const dryPlan = JSON.parse((s.sync.planJson(dry.id) as Buffer).toString()) as Plan;
  t.same(dryPlan.items.filter((i) => i.kind === 'user').map((i) => [i.op, i.externalId]), [1, 2, 3, 4, 5].map((i) => ['create', `u${i}`]), 'the stored plan says what would happen');
  t.match(dryPlan.items[0], { op: 'create', kind: 'dept', reason: String, changes: { name: { before: null, after: '部门A' } } });

  const applied = await runOnce(s.sync, 'hr');
  t.equal(applied.state, 'applied', applied.error ?? '');
  t.equal(applied.counts?.users.create, 5);
  t.ok(applied.timings?.totalMs !== undefined, 'timings recorded');
  t.match(userRow(s, 'u2'), { origin: 'memory:hr', external_id: 'u2', status: 'active', authorised: 1 });
  t.same(deptsOf(s, userRow(s, 'u2')!.id), ['B']);
  t.ok(s.sync.sourceRow('hr').cursor, 'the cursor moved');
  t.equal((await runOnce(s.sync, 'hr')).counts?.unchanged, 5, 'an unchanged source plans nothing');

  // changes at the source
  dir.snapshot = {
    depts: [dept('A', null), dept('B', null, '独立部门')],
    users: [
      user('u1', { name: '新名字', deptExternalIds: ['A'], email: 'u1@corp.example' }),
      user('u2', { deptExternalIds: ['A'], email: 'u2@corp.example' }),
      user('u4', { deptExternalIds: ['B'], email: 'u4@corp.example', disabled: true }),
      user('u5', { deptExternalIds: ['A'], email: 'u5@corp.example' }),
      user('u6', { deptExternalIds: ['B'] }),
    ],
  };
  s.sync.updateSource('hr', { brakePercent: 50 });
  const r2 = await runOnce(s.sync, 'hr');
  t.equal(r2.state, 'applied', r2.error ?? '');
  t.match(r2.counts?.users, { create: 1, update: 1, move: 1, disable: 2 });
  t.match(r2.counts?.depts, { move: 1 });
  t.equal(userRow(s, 'u1')?.name, '新名字');
  t.same(deptsOf(s, userRow(s, 'u2')!.id), ['A'], 'u2 moved');
  t.match(userRow(s, 'u3'), { status: 'disabled', authorised: 0 }, 'u3, gone from the source, is disabled (not deleted yet)');
  t.match(userRow(s, 'u4'), { status: 'disabled', authorised: 0 }, 'u4, disabled at the source, is disabled');
  t.equal(s.db.prepare("SELECT parent_id FROM departments WHERE external_id = 'B'").pluck().get(), null, 'department B moved to the top');
  t.match(userRow(s, 'local1'), { origin: 'local', status: 'active', id: local.id }, 'the local user is left alone');
  t.match(userRow(s, 'o1'), { origin: 'memory:other', status: 'active' }, "the other source's user is left alone");
  const plan = JSON.parse((s.sync.planJson(r2.id) as Buffer).toString()) as Plan;
  t.match(plan.items.find((i) => i.externalId === 'u1'), { op: 'update', changes: { name: { before: '用户u1', after: '新名字' } } });
  t.match(plan.items.find((i) => i.externalId === 'u3'), { op: 'disable', reason: /no longer in the source/ });
});

t.test('matching: adopt exactly one; two candidates or another source\'s user are conflicts, never merged', async (t) => {
  const s = makeServices(t);
  const alice = await s.directory.createUser({ account: 'alice', name: '爱丽丝', email: 'alice@corp.example' });
  await s.directory.createUser({ account: 'm1', name: '甲', mobile: '13800000001' });
  await s.directory.createUser({ account: 'm2', name: '乙', mobile: '13800000001' });
  const other = memDir(t);
  other.dir.snapshot = { depts: [], users: [user('bob')] };
  s.sync.createSource({ id: 'other', kind: 'memory', config: { directory: other.name } });
  await runOnce(s.sync, 'other');

  const { name, dir } = memDir(t);
  dir.snapshot = {
    depts: [],
    users: [
      user('guid-alice', { account: 'alice', email: 'ALICE@corp.example' }),
      user('guid-m', { account: 'mm', mobile: '+86 138 0000 0001' }),
      user('guid-bob', { account: 'bob' }),
    ],
  };
  s.sync.createSource({ id: 'ad', kind: 'memory', config: { directory: name }, matching: { by: ['email', 'mobile', 'account'], adopt: true } });
  const r = await runOnce(s.sync, 'ad');
  t.equal(r.state, 'applied', r.error ?? '');
  t.equal(r.counts?.users.adopt, 1);
  t.equal(r.counts?.users.conflict, 2);
  t.match(userRow(s, 'alice'), { id: alice.id, origin: 'memory:ad', external_id: 'guid-alice' }, 'alice adopted, same internal id');
  t.notOk(userRow(s, 'mm'), 'no user created for the ambiguous match');
  t.match(userRow(s, 'm1'), { origin: 'local' });
  t.match(userRow(s, 'm2'), { origin: 'local' });
  t.match(userRow(s, 'bob'), { origin: 'memory:other' }, "the other source's bob stays theirs");
  t.match(r.errors.find((e) => e.externalId === 'guid-m'), { op: 'conflict', message: /2 users match by mobile/ });
  t.match(r.errors.find((e) => e.externalId === 'guid-bob'), { op: 'conflict', message: /another source/ });
  const log = s.db.prepare("SELECT admin_username, action FROM admin_action_log WHERE action = 'sync.user.adopt'").all();
  t.same(log, [{ admin_username: 'sync:ad', action: 'sync.user.adopt' }], 'the adoption is logged');

  // adoption off: a match is a conflict
  await s.directory.createUser({ account: 'carol', name: '卡罗尔' });
  dir.snapshot.users.push(user('guid-carol', { account: 'carol' }));
  s.sync.updateSource('ad', { matching: { by: ['account'], adopt: false } });
  const r2 = await runOnce(s.sync, 'ad');
  t.match(r2.errors.find((e) => e.externalId === 'guid-carol'), { message: /adoption is off/ });
  t.match(userRow(s, 'carol'), { origin: 'local' });
});

t.test('deletion policy: disabled first, deleted after N days (injected clock); deltas touch only what they name', async (t) => {
  const s = makeServices(t);
  const clock = new ManualClock(Date.parse('2030-03-01T00:00:00Z'));
  const sync = serviceWithClock(s, clock);
  const { name, dir } = memDir(t);
  dir.snapshot = { depts: [dept('D', null)], users: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10'].map((x) => user(x, { deptExternalIds: ['D'] })) };
  sync.createSource({ id: 'hr', kind: 'memory', config: { directory: name }, deletionDays: 7, brakePercent: 50 });
  t.equal((await runOnce(sync, 'hr')).state, 'applied');

  dir.snapshot.users = dir.snapshot.users.filter((u) => u.externalId !== 'p1');
  const r1 = await runOnce(sync, 'hr');
  t.equal(r1.counts?.users.disable, 1);
  t.match(userRow(s, 'p1'), { status: 'disabled' });
  clock.advance(6 * DAY_MS);
  const r2 = await runOnce(sync, 'hr');
  t.equal(r2.counts?.users.delete, 0, 'not yet after 6 days');
  t.ok(userRow(s, 'p1'), 'still there');
  clock.advance(1 * DAY_MS + 1000);
  const r3 = await runOnce(sync, 'hr');
  t.equal(r3.counts?.users.delete, 1, 'deleted after 7 days');
  t.notOk(userRow(s, 'p1'));
  t.equal(s.db.prepare("SELECT COUNT(*) FROM dir_tombstones WHERE kind = 'user'").pluck().get(), 1, 'a tombstone for clients');
  t.equal(s.db.prepare("SELECT COUNT(*) FROM admin_action_log WHERE action = 'sync.user.delete' AND admin_username = 'sync:hr'").pluck().get(), 1);

  // a delta: one change and one removal; the rest is left alone
  dir.deltas.push({ depts: [], users: [user('p2', { name: '改名', deptExternalIds: ['D'] })], removed: { users: ['p3'] } });
  const r4 = await runOnce(sync, 'hr');
  t.equal(r4.readKind, 'delta');
  t.match(r4.counts?.users, { update: 1, disable: 1, delete: 0 });
  t.equal(userRow(s, 'p2')?.name, '改名');
  t.match(userRow(s, 'p3'), { status: 'disabled' });
  t.match(userRow(s, 'p4'), { status: 'active' }, 'users the delta does not name are untouched');

  // deltas cannot show deletions: a day after the last full read the source is read in full again
  dir.snapshot.users = dir.snapshot.users.filter((u) => u.externalId !== 'p5');
  dir.deltas.push({ depts: [], users: [] });
  clock.advance(12 * 3_600_000);
  const r5 = await runOnce(sync, 'hr');
  t.equal(r5.readKind, 'delta', 'within reconcileHours (24 by default): a delta, which does not see p5 is gone');
  t.match(userRow(s, 'p5'), { status: 'active' });
  clock.advance(12 * 3_600_000 + 1000);
  const r6 = await runOnce(sync, 'hr');
  t.equal(r6.readKind, 'snapshot', 'a day after the last full read: a full read');
  t.match(userRow(s, 'p5'), { status: 'disabled' }, 'the full read catches the deletion');
});

t.test('safety brake, history and plan download over the admin API; secrets are write-only', async (t) => {
  const g = await startGateway(t);
  const c = await consoleSession(g);
  const { name, dir } = memDir(t);
  dir.snapshot = { depts: [dept('R', null)], users: Array.from({ length: 20 }, (_, i) => user(`b${i}`, { deptExternalIds: ['R'] })) };
  const created = await c.send('POST', '/api/admin/sync/sources', { id: 'corp', kind: 'memory', name: '总部', config: { directory: name, secret: 's3cr3t-value' }, schedule: '0 2 * * *' });
  t.equal(created.status, 201, await created.clone().text());
  const view = (await created.json()) as { config: Record<string, unknown>; secretsSet: string[]; scheduleText: { zh: string; en: string }; nextRunAt: number };
  t.same(view.secretsSet, ['secret']);
  t.notOk('secret' in view.config, 'the secret is not returned');
  t.same(view.scheduleText, { zh: '每天 02:00', en: 'every day at 02:00' });
  t.ok(view.nextRunAt > Date.now());
  const stored = g.gw.services.db.prepare("SELECT config FROM sync_sources WHERE id = 'corp'").pluck().get() as string;
  t.notMatch(stored, /s3cr3t/, 'not in clear in the database');
  const listed = await (await c.get('/api/admin/sync/sources')).text();
  t.notMatch(listed, /s3cr3t/);
  t.notMatch(readFileSync(path.join(g.dataDir, 'huitong.db')).toString('latin1'), /s3cr3t-value/, 'nor anywhere in the database file');
  const preview = (await (await c.get('/api/admin/sync/schedule-preview?cron=30%209%20*%20*%201-5&count=3')).json()) as { valid: boolean; next: number[]; text: { en: string } };
  t.equal(preview.next.length, 3);
  t.match(preview.text.en, /weekday/);
  const bad = await c.get('/api/admin/sync/schedule-preview?cron=61%20*%20*%20*%20*');
  t.match(await bad.json(), { valid: false, problem: /minute/ });
  t.match(await (await c.send('POST', '/api/admin/sync/sources/corp/test')).json(), { ok: true });

  const waitState = async (runId: number, states: string[]): Promise<RunView> => {
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; ) {
      const r = (await (await c.get(`/api/admin/sync/runs/${runId}`)).json()) as RunView;
      if (states.includes(r.state)) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`run ${runId} never reached ${states.join('/')}`);
  };
  const start = await c.send('POST', '/api/admin/sync/sources/corp/run');
  t.equal(start.status, 202);
  const first = await waitState(((await start.json()) as { runId: number }).runId, ['applied', 'failed']);
  t.equal(first.state, 'applied', first.error ?? '');

  // 3 of 20 (15 %) gone at the source: more than 10 %
  dir.snapshot.users = dir.snapshot.users.slice(3);
  const held = await waitState(((await (await c.send('POST', '/api/admin/sync/sources/corp/run')).json()) as { runId: number }).runId, ['needs_confirmation', 'applied', 'failed']);
  t.equal(held.state, 'needs_confirmation');
  t.match(held.brake, { ownedUsers: 20, affected: 3, percent: 15, limit: 10 });
  t.match(userRow(g.gw.services, 'b0'), { status: 'active' }, 'nothing applied before the confirmation');
  const planRes = await c.get(`/api/admin/sync/runs/${held.id}/plan`);
  t.equal(planRes.status, 200);
  t.match(planRes.headers.get('content-disposition'), /attachment/);
  const plan = (await planRes.json()) as Plan;
  t.same(plan.items.filter((i) => i.op === 'disable').map((i) => i.externalId).sort(), ['b0', 'b1', 'b2'], 'the downloadable plan lists who would be disabled');
  const confirm = await c.send('POST', `/api/admin/sync/runs/${held.id}/confirm`);
  t.equal(confirm.status, 202, await confirm.clone().text());
  const done = await waitState(held.id, ['applied', 'failed']);
  t.equal(done.state, 'applied', done.error ?? '');
  t.equal(done.confirmedBy, 'root');
  t.match(userRow(g.gw.services, 'b0'), { status: 'disabled' });
  t.equal((await c.send('POST', `/api/admin/sync/runs/${held.id}/confirm`)).status, 409, 'a run is confirmed once');

  const history = (await (await c.get('/api/admin/sync/runs?sourceId=corp&limit=10')).json()) as { runs: RunView[] };
  t.same(history.runs.map((r) => r.state), ['applied', 'applied']);
  t.match(history.runs[0], { counts: { users: { disable: 3 } }, timings: { totalMs: Number }, errorCount: 0, trigger: 'manual' });
  t.equal((await c.get('/api/admin/sync/runs/999999')).status, 404);
  const patched = await c.send('PATCH', '/api/admin/sync/sources/corp', { config: { directory: name } });
  t.same(((await patched.json()) as { secretsSet: string[] }).secretsSet, ['secret'], 'a config change without the secret keeps it');
  t.equal((await c.send('POST', '/api/admin/sync/sources', { id: 'Bad Id', kind: 'memory' })).status, 400);
  t.equal((await c.send('POST', '/api/admin/sync/sources', { id: 'x', kind: 'nope' })).status, 400);
  t.equal((await c.send('PATCH', '/api/admin/sync/sources/corp', { schedule: 'every day' })).status, 400);
});

t.test('lifecycle: a user disabled at the source loses their live session, tokens and seat within the run, logged', async (t) => {
  const g = await startGateway(t);
  const sync = g.gw.services.sync;
  const { name, dir } = memDir(t);
  dir.snapshot = { depts: [], users: [user('carol'), ...Array.from({ length: 20 }, (_, i) => user(`x${i}`))] };
  sync.createSource({ id: 'ad', kind: 'memory', config: { directory: name } });
  t.equal((await runOnce(sync, 'ad')).state, 'applied');
  const carol = userRow(g.gw.services, 'carol')!;
  t.equal(carol.authorised, 1, 'authorised on creation (auto-authorise, a free seat)');
  await g.gw.services.auth.setPassword(carol.id as UserId, TEST_PASSWORD);
  const { client } = await online(t, g, 'carol');
  const closed = nextEvent(client, 'closed');

  const seen: string[] = [];
  let runId = 0;
  const off = g.gw.services.bus.subscribe((e) => {
    if (e.type === 'user.revoked' && e.userId === carol.id) seen.push(`revoked while ${sync.run(runId)?.state}`);
  });
  t.teardown(off);
  dir.snapshot.users[0] = user('carol', { disabled: true });
  runId = sync.startRun('ad', { trigger: 'manual', dryRun: false, requestedBy: 'test' });
  const r = await sync.waitFor(runId);
  t.equal(r.state, 'applied', r.error ?? '');
  t.same(seen, ['revoked while applying'], 'the session was closed inside the run, before it reported applied');
  const ev = await within(closed, WAIT_MS, 'the client to be closed');
  t.equal(ev.code, 'GW_USER_DISABLED', 'closed with GW_USER_DISABLED (close code 4405)');
  const db = g.gw.services.db;
  t.equal(db.prepare('SELECT COUNT(*) FROM device_tokens t JOIN devices d ON d.id = t.device_id WHERE d.user_id = ? AND t.revoked_at IS NULL').pluck().get(carol.id), 0, 'every token revoked');
  t.match(userRow(g.gw.services, 'carol'), { status: 'disabled', authorised: 0 }, 'the seat is released');
  t.match(db.prepare("SELECT admin_username, target_label FROM admin_action_log WHERE action = 'sync.user.disable'").all(), [{ admin_username: 'sync:ad', target_label: 'carol' }]);
  t.equal(db.prepare("SELECT COUNT(*) FROM admin_action_log WHERE action = 'sync.run.apply' AND admin_username = 'sync:ad'").pluck().get(), 2);
});

t.test('scheduler: cron fires, one run per source, "sync now" during a scheduled run, a missed run after downtime', async (t) => {
  const s = makeServices(t);
  const clock = new ManualClock(Date.parse('2030-03-01T00:00:30Z'));
  const sync = serviceWithClock(s, clock);
  const log = createLogger('silent');
  const { name, dir } = memDir(t);
  dir.snapshot = { depts: [], users: [user('s1')] };
  sync.createSource({ id: 'sched', kind: 'memory', config: { directory: name }, schedule: '*/5 * * * *' });
  const scheduler = new SyncScheduler({ service: sync, log, clock });
  scheduler.start();
  t.teardown(() => scheduler.stop());
  t.equal(sync.runs({ limit: 10 }).length, 0, 'nothing runs before the first slot');
  t.equal(sync.sourceRow('sched').next_run_at, Date.parse('2030-03-01T00:05:00Z'));

  let release!: () => void;
  dir.gate = new Promise<void>((r) => (release = r));
  clock.advance(5 * 60_000);
  const [scheduled] = sync.runs({ limit: 10 });
  t.match(scheduled, { trigger: 'schedule', state: 'reading' }, 'the cron slot started a run');
  t.equal(sync.sourceRow('sched').next_run_at, Date.parse('2030-03-01T00:10:00Z'), 'the next slot is persisted');
  try {
    sync.startRun('sched', { trigger: 'manual', dryRun: false, requestedBy: 'test' });
    t.fail('a second run must be refused');
  } catch (e) {
    t.ok(e instanceof GatewayError && e.code === 'GW_SYNC_RUNNING', 'sync now during the scheduled run: GW_SYNC_RUNNING');
    t.equal((e as GatewayError).details?.runId, scheduled?.id, 'naming the running run');
  }
  clock.advance(5 * 60_000);
  t.equal(sync.runs({ limit: 10 }).length, 1, 'the next slot is skipped while the run is still going: never two at once');
  release();
  dir.gate = null;
  t.equal((await sync.waitFor(scheduled!.id)).state, 'applied');
  clock.advance(5 * 60_000);
  const after = sync.runs({ limit: 10 });
  t.equal(after.length, 2, 'the following slot runs again');
  await sync.waitFor(after[0]!.id);

  // downtime: the server stops, three slots pass, it starts again
  scheduler.stop();
  clock.advance(17 * 60_000);
  const restarted = new SyncScheduler({ service: sync, log, clock });
  restarted.start();
  t.teardown(() => restarted.stop());
  const runs = sync.runs({ limit: 10 });
  t.equal(runs.length, 3, 'one run for the missed slots, not one per slot');
  t.equal(runs[0]?.trigger, 'missed');
  await sync.waitFor(runs[0]!.id);
  t.ok((sync.sourceRow('sched').next_run_at as number) > clock.now(), 'next run in the future again');
});

t.test('huitong sync run / status (the CLI against the control commands), and interrupted runs after a restart', async (t) => {
  const s = makeServices(t);
  const { name, dir } = memDir(t);
  dir.snapshot = { depts: [dept('T', null)], users: Array.from({ length: 50 }, (_, i) => user(`c${i}`, { deptExternalIds: ['T'] })) };
  s.sync.createSource({ id: 'cli', kind: 'memory', config: { directory: name } });
  let out = '';
  let err = '';
  const ctx = {
    control: (n: string, a: Record<string, unknown>) => (CONTROL_COMMANDS[n] as (x: Services, y: Record<string, unknown>) => Promise<unknown>)(s, a),
    serverRunning: async () => true,
    stdout: (x: string) => void (out += x),
    stderr: (x: string) => void (err += x),
    tty: false,
  };
  t.equal(await runSync(['run', 'cli', '--dry-run'], ctx), 0, err);
  t.match(out, /dry run planned/);
  t.equal(await runSync(['run', 'cli'], ctx), 0, err);
  t.match(out, /applied/);
  t.match(out, /50 create/);
  t.equal(await runSync(['status'], ctx), 0);
  t.match(out, /cli \(memory\)/);
  dir.snapshot.users = [];
  t.equal(await runSync(['run', 'cli'], ctx), 1, 'the brake holds: exit 1');
  t.match(err, /safety brake held run \d+/);
  t.equal(await runSync(['run', 'cli', '--yes'], ctx), 0, err);
  t.equal(userRow(s, 'c0')?.status, 'disabled');
  t.equal(await runSync(['run'], ctx), 64, 'usage');

  // a run left "applying" by a crash is failed at the next start
  s.db.prepare("INSERT INTO sync_runs (source_id, trigger, dry_run, state, started_at) VALUES ('cli', 'manual', 0, 'applying', 1)").run();
  t.equal(s.sync.recover(), 1);
  t.match(s.sync.runs({ limit: 1 })[0], { state: 'failed', error: /interrupted/ });
});

t.test('50,000 users from one snapshot, then no change, then 100 changes', async (t) => {
  const s = makeServices(t);
  const { name, dir } = memDir(t);
  const depts = Array.from({ length: 500 }, (_, i) => dept(`d${i}`, i < 20 ? null : `d${i % 20}`));
  dir.snapshot = { depts, users: Array.from({ length: 50_000 }, (_, i) => user(`guid-${i}`, { account: `user${i}`, name: `员工${i}`, email: `user${i}@corp.example`, deptExternalIds: [`d${i % 500}`] })) };
  s.sync.createSource({ id: 'big', kind: 'memory', config: { directory: name } });
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  const full = await runOnce(s.sync, 'big');
  const fullMs = Math.round(performance.now() - t0);
  t.equal(full.state, 'applied', full.error ?? '');
  t.equal(full.counts?.users.create, 50_000);
  const t1 = performance.now();
  const same = await runOnce(s.sync, 'big');
  const sameMs = Math.round(performance.now() - t1);
  t.equal(same.counts?.unchanged, 50_000);
  for (let i = 0; i < 100; i++) (dir.snapshot.users[i * 7] as SourceUser).title = '工程师';
  const t2 = performance.now();
  const changed = await runOnce(s.sync, 'big');
  const changedMs = Math.round(performance.now() - t2);
  t.equal(changed.counts?.users.update, 100);
  t.comment(`50,000-user full sync: ${fullMs} ms (${JSON.stringify(full.timings)}); unchanged snapshot: ${sameMs} ms; 100 changes: ${changedMs} ms; RSS ${Math.round(rss0 / 1048576)} → ${Math.round(process.memoryUsage.rss() / 1048576)} MiB`);
  t.ok(fullMs < 120_000, 'in reasonable time');
});
