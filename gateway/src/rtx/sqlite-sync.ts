import { nameToPinyin } from '../directory/pinyin.js';
import type { Db } from '../storage/sqlite.js';
import type { CurrentDirectory, CurrentUser, DeptRef, Plan, RunCounts, RunState, RunView, UserFields, UserRef } from './types.js';

/**
 * The RTX sync's storage on the embedded SQLite database: runs and staged
 * pages (migration 006), a bulk read of the directory's RTX-origin entries,
 * and the bulk writes that apply a plan. The writes follow the directory
 * repository's rules (001-initial.sql, directory/sqlite-repo.ts): each
 * transaction that changes anything bumps meta.dir_version once and stamps
 * every row it changes with it; removals leave tombstones; a user's
 * row_version moves on every change. Like excel/bulk.ts, it writes the
 * tables directly so that 20,000 users take a few transactions, not 20,000.
 */

interface RunRow {
  id: number; snapshot_id: string | null; source: string; reason: string | null; state: RunState; expected: string | null; counts: string | null;
  warnings: string | null; error: string | null; timings: string | null; started_at: number; finished_at: number | null;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

export function runView(r: RunRow): RunView {
  return {
    id: r.id, source: r.source, reason: r.reason, state: r.state, startedAt: r.started_at, finishedAt: r.finished_at,
    counts: parse<RunCounts>(r.counts), warnings: parse<string[]>(r.warnings) ?? [], error: r.error, timings: parse(r.timings),
  };
}

/** Effects the service announces after a batch committed. */
export interface BatchResult {
  /** The directory version the batch stamped, or null when it changed nothing. */
  version: number | null;
  /** Users whose sessions must close. */
  revoked: number[];
  warnings: string[];
}

export type Kind = 'depts' | 'users' | 'groups';

export class SqliteSyncStore {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      bump: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'dir_version' RETURNING CAST(value AS INTEGER) AS v").pluck(),
      tomb: db.prepare('INSERT OR REPLACE INTO dir_tombstones (kind, object_id, version) VALUES (?, ?, ?)'),
      runBySnapshot: db.prepare('SELECT * FROM rtx_sync_runs WHERE snapshot_id = ?'),
      run: db.prepare('SELECT * FROM rtx_sync_runs WHERE id = ?'),
      insPage: db.prepare('INSERT OR REPLACE INTO rtx_sync_pages (run_id, kind, page, n, items) VALUES (?, ?, ?, ?, ?)'),
      pages: db.prepare('SELECT kind, page, n FROM rtx_sync_pages WHERE run_id = ? ORDER BY kind, page'),
      pageItems: db.prepare('SELECT items FROM rtx_sync_pages WHERE run_id = ? AND kind = ? ORDER BY page').pluck(),
      insDept: db.prepare("INSERT INTO departments (parent_id, name, sort_order, origin, external_id, version, created_at, updated_at) VALUES (?, ?, ?, 'rtx', ?, ?, ?, ?)"),
      tmpDeptName: db.prepare('UPDATE departments SET name = ? WHERE id = ?'),
      updDept: db.prepare('UPDATE departments SET parent_id = ?, name = ?, sort_order = ?, version = ?, updated_at = ? WHERE id = ?'),
      delDept: db.prepare('DELETE FROM departments WHERE id = ?'),
      insUser: db.prepare(`INSERT INTO users (account, name, pinyin, pinyin_initials, mobile, email, phone, title, gender, status, authorised,
        password_hash, sort_order, origin, external_id, version, created_at, updated_at)
        VALUES (@account, @name, @pinyin, @initials, @mobile, @email, @phone, @title, @gender, @status, @authorised, NULL, @order, 'rtx', @account, @version, @now, @now)`),
      insUserDept: db.prepare('INSERT OR IGNORE INTO user_departments (user_id, dept_id, is_main) VALUES (?, ?, ?)'),
      delUserDepts: db.prepare('DELETE FROM user_departments WHERE user_id = ?'),
      adopt: db.prepare("UPDATE users SET origin = 'rtx', external_id = account WHERE id = ?"),
      delUser: db.prepare('DELETE FROM users WHERE id = ?'),
      touchGroupsOf: db.prepare('UPDATE groups SET version = ?, updated_at = ? WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)'),
      insGroup: db.prepare("INSERT INTO groups (name, owner_id, origin, external_id, version, created_at, updated_at) VALUES (?, NULL, 'rtx', ?, ?, ?, ?)"),
      addMember: db.prepare('INSERT OR IGNORE INTO group_members (group_id, user_id, joined_at) VALUES (?, ?, ?)'),
      delMember: db.prepare('DELETE FROM group_members WHERE group_id = ? AND user_id = ?'),
      renameGroup: db.prepare('UPDATE groups SET name = ?, version = ?, updated_at = ? WHERE id = ?'),
      touchGroup: db.prepare('UPDATE groups SET version = ?, updated_at = ? WHERE id = ?'),
      delGroup: db.prepare('DELETE FROM groups WHERE id = ?'),
    };
  }

  // ---- runs and staging ----

  /** A new run; for a snapshot, any unfinished older one is discarded (a newer begin abandons it). */
  createRun(r: { snapshotId: string | null; source: string; reason: string | null; expected: unknown; state: RunState }): number {
    return this.db.transaction(() => {
      if (r.snapshotId !== null) {
        const old = this.s.runBySnapshot.get(r.snapshotId) as RunRow | undefined;
        if (old) throw new Error(`snapshot ${r.snapshotId} was seen before (run ${old.id})`);
        for (const o of this.db.prepare("SELECT id, snapshot_id FROM rtx_sync_runs WHERE state = 'staging' AND snapshot_id IS NOT NULL").all() as { id: number; snapshot_id: string }[]) {
          this.finishRun(o.id, 'discarded', `abandoned: snapshot ${r.snapshotId} began before it ended`);
        }
      }
      const info = this.db
        .prepare('INSERT INTO rtx_sync_runs (snapshot_id, source, reason, state, expected, started_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.snapshotId, r.source, r.reason, r.state, r.expected === undefined ? null : JSON.stringify(r.expected), Date.now());
      return Number(info.lastInsertRowid);
    })();
  }

  runBySnapshot(snapshotId: string): RunRow | null {
    return (this.s.runBySnapshot.get(snapshotId) as RunRow | undefined) ?? null;
  }

  run(id: number): RunView | null {
    const r = this.s.run.get(id) as RunRow | undefined;
    return r ? runView(r) : null;
  }

  listRuns(limit: number): RunView[] {
    return (this.db.prepare('SELECT * FROM rtx_sync_runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[]).map(runView);
  }

  stagePage(runId: number, kind: Kind, page: number, items: unknown[]): void {
    this.s.insPage.run(runId, kind, page, items.length, JSON.stringify(items));
  }

  /** Pages staged per kind: their numbers and item counts. */
  stagedPages(runId: number): Record<Kind, { page: number; n: number }[]> {
    const out: Record<Kind, { page: number; n: number }[]> = { depts: [], users: [], groups: [] };
    for (const r of this.s.pages.all(runId) as { kind: Kind; page: number; n: number }[]) out[r.kind].push({ page: r.page, n: r.n });
    return out;
  }

  stagedItems<T>(runId: number, kind: Kind): T[] {
    const out: T[] = [];
    for (const json of this.s.pageItems.all(runId, kind) as string[]) for (const it of JSON.parse(json) as T[]) out.push(it);
    return out;
  }

  /** Stores the plan's counts, warnings and sample; `final` (a dry run) also ends the run, which stays `planned`. */
  markPlanned(runId: number, counts: RunCounts, warnings: string[], changes: unknown, timings: object, final: boolean): void {
    const now = Date.now();
    this.db
      .prepare("UPDATE rtx_sync_runs SET state = 'planned', counts = ?, warnings = ?, changes = ?, timings = ?, planned_at = ?, finished_at = ? WHERE id = ?")
      .run(JSON.stringify(counts), JSON.stringify(warnings), JSON.stringify(changes), JSON.stringify(timings), now, final ? now : null, runId);
    if (final) this.db.prepare('DELETE FROM rtx_sync_pages WHERE run_id = ?').run(runId);
  }

  /** Ends a run; its staged pages are dropped. */
  finishRun(runId: number, state: 'applied' | 'failed' | 'discarded', error: string | null, extra: { warnings?: string[]; timings?: object } = {}): void {
    this.db.transaction(() => {
      const sets = ['state = ?', 'error = ?', 'finished_at = ?'];
      const args: unknown[] = [state, error, Date.now()];
      if (extra.warnings) {
        sets.push('warnings = ?');
        args.push(JSON.stringify(extra.warnings));
      }
      if (extra.timings) {
        sets.push('timings = ?');
        args.push(JSON.stringify(extra.timings));
      }
      this.db.prepare(`UPDATE rtx_sync_runs SET ${sets.join(', ')} WHERE id = ?`).run(...args, runId);
      this.db.prepare('DELETE FROM rtx_sync_pages WHERE run_id = ?').run(runId);
    })();
  }

  // ---- the directory as the planner needs it ----

  readCurrent(): CurrentDirectory {
    const depts = (this.db.prepare('SELECT id, parent_id AS parentId, name, sort_order AS "order", origin, external_id AS externalId FROM departments').all() as CurrentDirectory['depts']);
    const rtxUsers = this.db
      .prepare("SELECT id, account, origin, external_id AS externalId, name, mobile, email, phone, title, gender, status FROM users WHERE origin = 'rtx'")
      .all() as Omit<CurrentUser, 'deptIds'>[];
    const byId = new Map<number, CurrentUser>();
    for (const u of rtxUsers) byId.set(u.id, Object.assign(u, { deptIds: [] as number[] }) as CurrentUser);
    const memberships = this.db
      .prepare("SELECT ud.user_id AS u, ud.dept_id AS d FROM user_departments ud JOIN users x ON x.id = ud.user_id WHERE x.origin = 'rtx' ORDER BY ud.user_id, ud.is_main DESC, ud.dept_id")
      .raw()
      .all() as [number, number][];
    for (const [u, d] of memberships) byId.get(u)?.deptIds.push(d);
    const otherUsers = this.db.prepare("SELECT id, account, origin FROM users WHERE origin <> 'rtx'").all() as CurrentDirectory['otherUsers'];
    const groups = this.db.prepare("SELECT id, external_id AS externalId, name FROM groups WHERE origin = 'rtx' AND external_id IS NOT NULL").all() as { id: number; externalId: string; name: string }[];
    const gById = new Map(groups.map((g) => [g.id, { ...g, memberIds: [] as number[] }]));
    const members = this.db
      .prepare("SELECT m.group_id, m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.origin = 'rtx' ORDER BY m.group_id, m.joined_at, m.user_id")
      .raw()
      .all() as [number, number][];
    for (const [g, u] of members) gById.get(g)?.memberIds.push(u);
    return { depts, rtxUsers: [...byId.values()], otherUsers, rtxGroups: [...gById.values()] };
  }

  // ---- applying a plan ----

  /** Creates and updates departments (one transaction). Returns the ids of the new ones by RTX id. */
  applyDepts(plan: Plan['depts'], deptIds: Map<string, number>): BatchResult {
    if (plan.create.length === 0 && plan.update.length === 0) return { version: null, revoked: [], warnings: [] };
    return this.db.transaction((): BatchResult => {
      const v = this.s.bump.get() as number;
      const now = Date.now();
      const parentOf = (ref: DeptRef | null): number | null => (ref === null ? null : 'id' in ref ? ref.id : (deptIds.get(ref.ext) ?? null));
      // renames and moves may swap names between siblings: move them out of the way first
      for (const u of plan.update) if (u.name !== u.before.name || parentOf(u.parent) !== u.before.parentId) this.s.tmpDeptName.run(`\u0001${u.id}`, u.id);
      for (const c of plan.create) {
        const id = Number(this.s.insDept.run(parentOf(c.parent), c.name, c.order, c.ext, v, now, now).lastInsertRowid);
        deptIds.set(c.ext, id);
      }
      for (const u of plan.update) this.s.updDept.run(parentOf(u.parent), u.name, u.order, v, now, u.id);
      return { version: v, revoked: [], warnings: [] };
    })();
  }

  /** Creates and updates one batch of users (one transaction); fills `userIds` (lower-cased account → id) for the new ones. */
  applyUsers(create: Plan['users']['create'], update: Plan['users']['update'], deptIds: Map<string, number>, userIds: Map<string, number>): BatchResult {
    if (create.length === 0 && update.length === 0) return { version: null, revoked: [], warnings: [] };
    const warnings: string[] = [];
    const revoked: number[] = [];
    const result = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      const now = Date.now();
      const dept = (r: DeptRef) => ('id' in r ? r.id : deptIds.get(r.ext));
      const setDepts = (userId: number, refs: DeptRef[]) => {
        let first = true;
        for (const r of refs) {
          const d = dept(r);
          if (d === undefined) continue;
          this.s.insUserDept.run(userId, d, first ? 1 : 0);
          first = false;
        }
      };
      for (const c of create) {
        const py = nameToPinyin(c.name);
        try {
          const id = this.db.transaction(() => {
            const uid = Number(this.s.insUser.run({ ...c, pinyin: py.full, initials: py.initials, authorised: c.authorise ? 1 : 0, version: v, now }).lastInsertRowid);
            setDepts(uid, c.depts);
            return uid;
          })();
          userIds.set(c.account.toLowerCase(), id);
        } catch (e) {
          if (!String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw e;
          warnings.push(`${c.account}: the account was taken meanwhile; not created`);
        }
      }
      for (const u of update) {
        const sets: string[] = [];
        const args: unknown[] = [];
        for (const [k, val] of Object.entries(u.set) as [keyof UserFields, unknown][]) {
          sets.push(`${k === 'order' ? 'sort_order' : k} = ?`);
          args.push(val);
          if (k === 'name') {
            const py = nameToPinyin(val as string);
            sets.push('pinyin = ?', 'pinyin_initials = ?');
            args.push(py.full, py.initials);
          }
        }
        sets.push('version = ?', 'row_version = row_version + 1', 'updated_at = ?');
        args.push(v, now, u.id);
        this.db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`).run(...args);
        if (u.adopt) this.s.adopt.run(u.id);
        if (u.depts) {
          this.s.delUserDepts.run(u.id);
          setDepts(u.id, u.depts);
        }
        if (u.disabling) revoked.push(u.id);
      }
      return v;
    })();
    return { version: result, revoked, warnings };
  }

  /** Creates, changes and removes groups (one transaction). */
  applyGroups(plan: Plan['groups'], userIds: Map<string, number>): BatchResult {
    if (plan.create.length === 0 && plan.update.length === 0 && plan.remove.length === 0) return { version: null, revoked: [], warnings: [] };
    return this.db.transaction((): BatchResult => {
      const v = this.s.bump.get() as number;
      const now = Date.now();
      const user = (r: UserRef) => ('id' in r ? r.id : userIds.get(r.account.toLowerCase()));
      for (const c of plan.create) {
        const gid = Number(this.s.insGroup.run(c.name, c.ext, v, now, now).lastInsertRowid);
        for (const m of c.members) {
          const uid = user(m);
          if (uid !== undefined) this.s.addMember.run(gid, uid, now);
        }
      }
      for (const u of plan.update) {
        if (u.name !== undefined) this.s.renameGroup.run(u.name, v, now, u.id);
        else this.s.touchGroup.run(v, now, u.id);
        for (const m of u.add) {
          const uid = user(m);
          if (uid !== undefined) this.s.addMember.run(u.id, uid, now);
        }
        for (const r of u.remove) this.s.delMember.run(u.id, r);
      }
      for (const r of plan.remove) {
        this.s.delGroup.run(r.id);
        this.s.tomb.run('group', r.id, v);
      }
      return { version: v, revoked: [], warnings: [] };
    })();
  }

  /** Removes users (one transaction): their groups move to the new version, tombstones are left. */
  removeUsers(remove: Plan['users']['remove']): BatchResult {
    if (remove.length === 0) return { version: null, revoked: [], warnings: [] };
    return this.db.transaction((): BatchResult => {
      const v = this.s.bump.get() as number;
      const now = Date.now();
      for (const r of remove) {
        this.s.touchGroupsOf.run(v, now, r.id);
        this.s.delUser.run(r.id);
        this.s.tomb.run('user', r.id, v);
      }
      return { version: v, revoked: remove.map((r) => r.id), warnings: [] };
    })();
  }

  /** Removes departments, children first; one that still holds local members or sub-departments is kept (a warning). */
  removeDepts(remove: Plan['depts']['remove']): BatchResult & { kept: number } {
    if (remove.length === 0) return { version: null, revoked: [], warnings: [], kept: 0 };
    const warnings: string[] = [];
    let kept = 0;
    const v = this.db.transaction((): number => {
      const ver = this.s.bump.get() as number;
      for (const r of remove) {
        try {
          this.db.transaction(() => {
            this.s.delDept.run(r.id);
            this.s.tomb.run('dept', r.id, ver);
          })();
        } catch (e) {
          if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw e;
          kept += 1;
          warnings.push(`department ${r.name} is no longer in RTX but was kept: it still holds local members or sub-departments`);
        }
      }
      return ver;
    })();
    return { version: v, revoked: [], warnings, kept };
  }
}
