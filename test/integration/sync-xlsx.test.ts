import t from 'tap';
import ExcelJS from 'exceljs';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildTemplate } from '../../gateway/src/excel/template.js';
import { MEMBER_SHEET } from '../../gateway/src/excel/columns.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import { createLogger } from '../../gateway/src/log.js';
import { SOURCE_KINDS } from '../../gateway/src/sync/kinds.js';
import { SyncScheduler, type SchedulerClock } from '../../gateway/src/sync/scheduler.js';
import { SyncService } from '../../gateway/src/sync/service.js';
import type { RunView } from '../../gateway/src/sync/types.js';
import type { Services } from '../../gateway/src/services.js';
import { tempDir } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';

type Row = string[];

/** The import template (gateway/src/excel/template.ts) with its example rows replaced by `rows`. */
async function templateWith(rows: Row[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load((await buildTemplate()) as unknown as ExcelJS.Buffer);
  const ws = wb.getWorksheet(MEMBER_SHEET) as ExcelJS.Worksheet;
  // the example rows blanked (an empty row is skipped), then ours from row 2
  for (let r = 2; r <= ws.rowCount; r++) ws.getRow(r).eachCell((c) => void (c.value = null));
  rows.forEach((r, i) => r.forEach((v, j) => void (ws.getRow(i + 2).getCell(j + 1).value = v === '' ? null : v)));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Writes a workbook into the folder, modified `agoMs` before now (so it counts as settled). */
async function drop(folder: string, name: string, rows: Row[], agoMs = 60_000): Promise<string> {
  const file = path.join(folder, name);
  writeFileSync(file, await templateWith(rows));
  const at = new Date(Date.now() - agoMs);
  utimesSync(file, at, at);
  return file;
}

const ROWS: Row[] = [
  ['zhangsan', '张三', '研发部/平台组', '13800138000', 'zhangsan@example.com', '工程师', '男', '', ''],
  ['lisi', '李四', '市场部；研发部/产品组', '', 'lisi@example.com', '产品经理', '女', 'Initial#2024', '否'],
  ['wangwu', '王五', '研发部', '', '', '', '', '', ''],
];

async function runOnce(sync: SyncService, id: string, dryRun = false): Promise<RunView> {
  return sync.waitFor(sync.startRun(id, { trigger: 'manual', dryRun, requestedBy: 'test' }));
}

function userRow(s: Services, account: string) {
  return s.db.prepare('SELECT id, account, name, email, origin, external_id, status FROM users WHERE account = ?').get(account) as
    | { id: number; account: string; name: string; email: string; origin: string; external_id: string | null; status: string }
    | undefined;
}

const deptsOf = (s: Services, userId: number) =>
  s.db.prepare('SELECT d.external_id FROM user_departments ud JOIN departments d ON d.id = ud.dept_id WHERE ud.user_id = ? ORDER BY ud.is_main DESC, d.external_id').pluck().all(userId) as string[];
const countUsers = (s: Services) => s.db.prepare('SELECT COUNT(*) FROM users').pluck().get() as number;
const matching = (folder: string) => readdirSync(folder).filter((f) => f.endsWith('.xlsx')).sort();

t.test('a dropped template is applied and archived; no new file changes nothing; a bad file fails with its rows and applies nothing', async (t) => {
  const s = makeServices(t);
  const folder = tempDir(t, 'huitong-drop-');
  await drop(folder, 'hr.xlsx', ROWS);
  s.sync.createSource({ id: 'hr-sheet', kind: 'xlsx', name: 'HR 表格', config: { folder } });
  t.match(s.sync.source('hr-sheet').config, { folder, pattern: '*.xlsx', after: 'archive', settleSeconds: 5 }, 'defaults filled in');

  const dry = await runOnce(s.sync, 'hr-sheet', true);
  t.equal(dry.state, 'planned', dry.error ?? '');
  t.equal(dry.counts?.users.create, 3);
  t.same(matching(folder), ['hr.xlsx'], 'a dry run leaves the file where it is');

  const r1 = await runOnce(s.sync, 'hr-sheet');
  t.equal(r1.state, 'applied', r1.error ?? '');
  t.equal(r1.readKind, 'snapshot');
  t.match(r1.counts, { users: { create: 3 }, depts: { create: 4 } });
  t.match(r1.warnings, [/read hr\.xlsx \(3 rows/, /密码 is not read/, /授权 is not read/]);
  t.match(userRow(s, 'zhangsan'), { origin: 'xlsx:hr-sheet', external_id: 'zhangsan', name: '张三', email: 'zhangsan@example.com', status: 'active' });
  t.same(deptsOf(s, userRow(s, 'lisi')!.id), ['市场部', '研发部/产品组'], 'the department paths are the external ids, main first');
  t.equal(s.db.prepare("SELECT p.external_id FROM departments d JOIN departments p ON p.id = d.parent_id WHERE d.external_id = '研发部/平台组'").pluck().get(), '研发部', 'nested under its parent path');
  t.same(matching(folder), [], 'the file left the folder');
  const processed = readdirSync(path.join(folder, 'processed'));
  t.equal(processed.length, 1);
  t.match(processed[0], /^\d{8}-\d{6}Z-hr\.xlsx$/, 'archived to processed/ with a timestamp');

  const users = countUsers(s);
  const cursor = s.sync.sourceRow('hr-sheet').cursor;
  t.match(cursor, /^xlsx-sha256:[0-9a-f]{64}$/);
  const r2 = await runOnce(s.sync, 'hr-sheet');
  t.equal(r2.state, 'applied', r2.error ?? '');
  t.equal(r2.readKind, 'delta');
  t.match(r2.warnings, [/no new file/]);
  t.same([r2.counts?.users, r2.counts?.depts], [r1.counts ? { ...r1.counts.users, create: 0 } : null, r1.counts ? { ...r1.counts.depts, create: 0 } : null], 'nothing planned');
  t.equal(countUsers(s), users, 'nothing changed');
  t.equal(s.sync.sourceRow('hr-sheet').cursor, cursor, 'the cursor stays');

  // a bad file: every problem row reported, nothing applied, the file stays for the administrator
  await drop(folder, 'bad.xlsx', [
    ['zhangsan', '张三改', '研发部', '', 'not-an-email', '', '', '', ''],
    ['newbie', '', '研发部', '', '', '', '', '', ''],
    ['ZhangSan', '重复', '研发部', '', '', '', '不详', '', ''],
  ], 30_000);
  const bad = await runOnce(s.sync, 'hr-sheet');
  t.equal(bad.state, 'failed');
  t.match(bad.error, /bad\.xlsx has problems on 3 of 3 rows; nothing was applied/);
  t.equal(bad.errorCount, 4);
  t.match(bad.errors, [
    { kind: 'user', op: 'read', externalId: 'zhangsan', label: 'row 2, 邮箱', message: /email not-an-email is not valid/ },
    { kind: 'user', externalId: 'newbie', label: 'row 3, 姓名', message: /required/ },
    { externalId: 'zhangsan', label: 'row 4, 帐号', message: /already used on row 2/ },
    { label: 'row 4, 性别', message: /男 or 女/ },
  ]);
  t.equal(countUsers(s), users, 'nothing applied');
  t.equal(userRow(s, 'zhangsan')?.name, '张三');
  t.equal(s.sync.sourceRow('hr-sheet').cursor, cursor, 'the cursor stays');
  t.match(s.sync.source('hr-sheet').lastError, /bad\.xlsx/);
  t.same(matching(folder), ['bad.xlsx'], 'the bad file stays in the folder');

  // the corrected file, newer: applied; the older bad one is archived as superseded with it
  await drop(folder, 'hr-fixed.xlsx', [ROWS[0]!.map((v, i) => (i === 1 ? '张三丰' : v)), ROWS[1]!], 10_000);
  const held = await runOnce(s.sync, 'hr-sheet');
  t.equal(held.state, 'needs_confirmation', 'disabling 1 of 3 users is past the 10 % brake');
  t.same(matching(folder), ['bad.xlsx', 'hr-fixed.xlsx'], 'a held plan leaves the files');
  s.sync.confirm(held.id, 'admin');
  const r3 = await s.sync.waitFor(held.id);
  t.equal(r3.state, 'applied', r3.error ?? '');
  t.match(r3.counts?.users, { update: 1, disable: 1, create: 0 });
  t.equal(userRow(s, 'zhangsan')?.name, '张三丰');
  t.equal(userRow(s, 'wangwu')?.status, 'disabled', 'gone from the sheet: disabled');
  t.same(matching(folder), []);
  t.same(readdirSync(path.join(folder, 'processed')).map((f) => f.replace(/^\d{8}-\d{6}Z-/, '')).sort(), ['hr-fixed.xlsx', 'hr.xlsx', 'superseded-bad.xlsx'], 'confirmed and applied: archived with the older bad file');
});

t.test('keep mode, files still being written, folder checks and path safety', async (t) => {
  const s = makeServices(t);
  const folder = tempDir(t, 'huitong-drop-');
  s.sync.createSource({ id: 'keep', kind: 'xlsx', config: { folder, after: 'keep', pattern: 'org-*.xlsx' } });

  t.match(await s.sync.testConnection('keep'), {
    ok: true,
    steps: [{ step: 'folder', ok: true, message: /is readable/ }, { step: 'file', ok: true, code: 'FILE_NONE_WAITING', message: /no file waiting: 0 files match org-\*\.xlsx/ }],
  }, 'an empty drop folder is not a failure');
  const empty = await runOnce(s.sync, 'keep');
  t.equal(empty.state, 'applied', empty.error ?? '');
  t.match(empty.warnings, [/no new file: nothing matches org-\*\.xlsx/]);

  const file = await drop(folder, 'org-1.xlsx', ROWS, 0);
  await drop(folder, 'other.xlsx', [['x1', 'X', '别处', '', '', '', '', '', '']]);
  const fresh = await runOnce(s.sync, 'keep');
  t.match(fresh.warnings, [/no new file yet: org-1\.xlsx was modified \d+ s ago/], 'a file modified just now is left for a later run');
  t.equal(userRow(s, 'zhangsan'), undefined);

  const past = new Date(Date.now() - 60_000);
  utimesSync(file, past, past);
  const r1 = await runOnce(s.sync, 'keep');
  t.equal(r1.state, 'applied', r1.error ?? '');
  t.equal(r1.counts?.users.create, 3);
  t.equal(userRow(s, 'x1'), undefined, 'a file not matching the pattern is ignored');
  t.same(matching(folder), ['org-1.xlsx', 'other.xlsx'], 'keep: the file stays');
  const r2 = await runOnce(s.sync, 'keep');
  t.match(r2.warnings, [/no new file: org-1\.xlsx is the file the last run applied/], 'remembered by its hash');
  t.equal(r2.counts?.users.create, 0);

  // configuration checks
  const refused = (config: Record<string, unknown>, re: RegExp) => {
    try {
      s.sync.createSource({ id: `x${Math.random().toString(36).slice(2, 8)}`, kind: 'xlsx', config });
      t.fail(`accepted ${JSON.stringify(config)}`);
    } catch (e) {
      t.ok(e instanceof GatewayError && e.code === 'GW_BAD_REQUEST', `refused ${JSON.stringify(config)}`);
      t.match((e as Error).message, re);
    }
  };
  refused({ folder: 'relative/dir' }, /absolute path/);
  refused({ after: 'archive' }, /needs a folder/);
  refused({ folder: 42 }, /folder must be an absolute path/);
  refused({ folder, after: 'delete' }, /after must be/);
  refused({ folder, pattern: '../*.xlsx' }, /pattern/);
  refused({ folder, pattern: '*' }, /ending in \.xlsx/);
  refused({ folder, bindPassword: 'x' }, /unknown key/);

  // inside the data directory only <dataDir>/imports/… may be used (secret.key, tls/, the database live there)
  writeFileSync(path.join(s.dataDir, 'secret-copy.xlsx'), 'x');
  s.sync.createSource({ id: 'datadir', kind: 'xlsx', config: { folder: s.dataDir, settleSeconds: 0 } });
  const check = await s.sync.testConnection('datadir');
  t.match(check, { ok: false, steps: [{ step: 'folder', ok: false, message: /inside the data directory/ }] });
  const inData = await runOnce(s.sync, 'datadir');
  t.equal(inData.state, 'failed');
  t.match(inData.error, /inside the data directory/);
  t.ok(existsSync(path.join(s.dataDir, 'secret-copy.xlsx')), 'nothing in the data directory was moved');
  s.sync.createSource({ id: 'tls', kind: 'xlsx', config: { folder: path.join(s.dataDir, 'tls') } });
  t.match(await s.sync.testConnection('tls'), { ok: false, steps: [{ message: /inside the data directory/ }] });
  const imports = path.join(s.dataDir, 'imports', 'hr');
  mkdirSync(imports, { recursive: true });
  s.sync.createSource({ id: 'imports', kind: 'xlsx', config: { folder: imports } });
  t.match(await s.sync.testConnection('imports'), { ok: true, steps: [{ step: 'folder', ok: true }] }, '<dataDir>/imports/hr is fine');
  s.sync.createSource({ id: 'missing', kind: 'xlsx', config: { folder: path.join(folder, 'nope') } });
  t.match(await s.sync.testConnection('missing'), { ok: false, steps: [{ step: 'folder', ok: false, message: /does not exist/ }] });
});

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

t.test('a scheduled run picks the file up (injected clock)', async (t) => {
  const s = makeServices(t);
  const clock = new ManualClock(Date.parse('2030-03-01T00:00:30Z'));
  const sync = new SyncService({
    db: s.db, kinds: SOURCE_KINDS, dataDir: s.dataDir, bus: s.bus, settings: s.settings, log: createLogger('silent'),
    seats: { free: async () => 1_000_000, withSeats: (_n, fn) => fn() },
    actionLog: (actor, action, target, before, after) => s.admin.logAction({ id: null, username: actor }, action, target, before, after, null),
    clock,
  });
  t.teardown(() => sync.close());
  const folder = tempDir(t, 'huitong-drop-');
  // written "now", years before the injected clock: settled by the default 5 s
  await drop(folder, 'hr.xlsx', ROWS, 0);
  sync.createSource({ id: 'sched', kind: 'xlsx', config: { folder }, schedule: '*/5 * * * *' });
  const scheduler = new SyncScheduler({ service: sync, log: createLogger('silent'), clock });
  scheduler.start();
  t.teardown(() => scheduler.stop());
  t.equal(sync.runs({ limit: 5 }).length, 0);
  clock.advance(5 * 60_000);
  const [run] = sync.runs({ limit: 5 });
  t.equal(run?.trigger, 'schedule');
  const done = await sync.waitFor(run!.id);
  t.equal(done.state, 'applied', done.error ?? '');
  t.equal(done.counts?.users.create, 3);
  t.match(userRow(s, 'wangwu'), { origin: 'xlsx:sched', status: 'active' });
  t.match(readdirSync(path.join(folder, 'processed')), [/^20300301-0005\d\dZ-hr\.xlsx$/], 'archived with the (injected) time of the run');
  clock.advance(5 * 60_000);
  const [next] = sync.runs({ limit: 5 });
  t.not(next?.id, run?.id);
  const quiet = await sync.waitFor(next!.id);
  t.equal(quiet.state, 'applied');
  t.match(quiet.warnings, [/no new file/]);
});
