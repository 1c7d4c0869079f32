import { randomUUID } from 'node:crypto';
import type { Db } from '../../storage/sqlite.js';

export interface UserExtra {
  shortCode: string;
  attrs: { name: string; value: string }[];
  needChangePwd: boolean;
  authType: number;
  /** The app that set authType 2 and checks the user's password (migration 016); null: the org-sync assistant. */
  authAppRow: number | null;
  quitAt: number | null;
}

export interface DeptDetail {
  deptId: number;
  position: string;
  weight: number;
  sortId: number;
}

export interface GuidRow {
  guid: string;
  groupId: number;
  kind: 'group' | 'session';
  version: number;
  type: string;
}

export interface JobRow {
  id: string;
  appRow: number;
  type: string;
  state: 1 | 3 | 4;
  desc: string;
  createdAt: number;
  finishedAt: number | null;
}

const NO_EXTRA: UserExtra = { shortCode: '', attrs: [], needChangePwd: false, authType: 0, authAppRow: null, quitAt: null };

/** A GUID in the form the spec's server uses: `{8AD595F3-73B3-4B56-90AF-F336F9222FC5}`. */
export function newGuid(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

/**
 * What the open API keeps beside the directory (migration 011): department
 * aliases, per-user extras and per-department details, the GUIDs of groups
 * and sessions, full-sync jobs. Each call is one statement or one transaction.
 */
export class OpenOrgStore {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      alias: db.prepare<[number], { alias: string }>('SELECT alias FROM openapi_dept_alias WHERE dept_id = ?'),
      aliasDept: db.prepare<[string], { dept_id: number }>('SELECT dept_id FROM openapi_dept_alias WHERE alias = ?'),
      aliases: db.prepare<[], { dept_id: number; alias: string }>('SELECT dept_id, alias FROM openapi_dept_alias ORDER BY dept_id'),
      setAlias: db.prepare('INSERT INTO openapi_dept_alias (dept_id, alias) VALUES (?, ?) ON CONFLICT (dept_id) DO UPDATE SET alias = excluded.alias'),
      delAlias: db.prepare('DELETE FROM openapi_dept_alias WHERE dept_id = ?'),
      extra: db.prepare<[number], { short_code: string; attrs: string; need_change_pwd: number; auth_type: number; auth_app_row: number | null; quit_at: number | null }>('SELECT * FROM openapi_user_extra WHERE user_id = ?'),
      ensureExtra: db.prepare('INSERT OR IGNORE INTO openapi_user_extra (user_id) VALUES (?)'),
      details: db.prepare<[number], { dept_id: number; position: string; weight: number; sort_id: number }>('SELECT dept_id, position, weight, sort_id FROM openapi_user_dept WHERE user_id = ?'),
      setDetail: db.prepare(`INSERT INTO openapi_user_dept (user_id, dept_id, position, weight, sort_id) VALUES (@u, @d, @position, @weight, @sortId)
        ON CONFLICT (user_id, dept_id) DO UPDATE SET position = excluded.position, weight = excluded.weight, sort_id = excluded.sort_id`),
      delDetails: db.prepare('DELETE FROM openapi_user_dept WHERE user_id = ?'),
      quitUsers: db.prepare<[], { user_id: number }>('SELECT user_id FROM openapi_user_extra WHERE quit_at IS NOT NULL ORDER BY user_id'),
      guid: db.prepare<[string], { guid: string; group_id: number; kind: string; version: number; type: string }>('SELECT * FROM openapi_groups WHERE guid = ?'),
      guidOf: db.prepare<[number], { guid: string; group_id: number; kind: string; version: number; type: string }>('SELECT * FROM openapi_groups WHERE group_id = ?'),
      guids: db.prepare<[string], { guid: string; group_id: number; kind: string; version: number; type: string }>('SELECT * FROM openapi_groups WHERE kind = ? ORDER BY group_id'),
      insGuid: db.prepare('INSERT INTO openapi_groups (guid, group_id, kind, type) VALUES (?, ?, ?, ?)'),
      bump: db.prepare('UPDATE openapi_groups SET version = version + 1 WHERE guid = ?'),
      job: db.prepare<[string], { id: string; app_row: number; type: string; state: number; desc: string; created_at: number; finished_at: number | null }>('SELECT * FROM openapi_jobs WHERE id = ?'),
      running: db.prepare<[], { id: string }>('SELECT id FROM openapi_jobs WHERE state = 1'),
      insJob: db.prepare('INSERT INTO openapi_jobs (id, app_row, type, state, desc, created_at) VALUES (?, ?, ?, 1, ?, ?)'),
      endJob: db.prepare('UPDATE openapi_jobs SET state = ?, desc = ?, finished_at = ? WHERE id = ?'),
    };
  }

  // ---- departments ----

  alias(deptId: number): string {
    return this.s.alias.get(deptId)?.alias ?? '';
  }

  deptByAlias(alias: string): number | null {
    return this.s.aliasDept.get(alias)?.dept_id ?? null;
  }

  aliases(): { id: number; alias: string }[] {
    return this.s.aliases.all().map((r) => ({ id: r.dept_id, alias: r.alias }));
  }

  /** '' removes the alias. Throws a SQLite unique error when another department has it. */
  setAlias(deptId: number, alias: string): void {
    if (alias === '') this.s.delAlias.run(deptId);
    else this.s.setAlias.run(deptId, alias);
  }

  // ---- users ----

  extra(userId: number): UserExtra {
    const r = this.s.extra.get(userId);
    if (!r) return { ...NO_EXTRA, attrs: [] };
    let attrs: UserExtra['attrs'] = [];
    try {
      const v = JSON.parse(r.attrs) as unknown;
      if (Array.isArray(v)) attrs = v as UserExtra['attrs'];
    } catch {
      attrs = [];
    }
    return { shortCode: r.short_code, attrs, needChangePwd: r.need_change_pwd === 1, authType: r.auth_type, authAppRow: r.auth_app_row, quitAt: r.quit_at };
  }

  setExtra(userId: number, patch: Partial<UserExtra>): void {
    this.db.transaction(() => {
      this.s.ensureExtra.run(userId);
      const cols: [string, unknown][] = [];
      if (patch.shortCode !== undefined) cols.push(['short_code', patch.shortCode]);
      if (patch.attrs !== undefined) cols.push(['attrs', JSON.stringify(patch.attrs)]);
      if (patch.needChangePwd !== undefined) cols.push(['need_change_pwd', patch.needChangePwd ? 1 : 0]);
      if (patch.authType !== undefined) cols.push(['auth_type', patch.authType]);
      if (patch.authAppRow !== undefined) cols.push(['auth_app_row', patch.authAppRow]);
      if (patch.quitAt !== undefined) cols.push(['quit_at', patch.quitAt]);
      const sets = cols.map(([c]) => `${c} = ?`);
      const args = cols.map(([, v]) => v);
      if (sets.length > 0) this.db.prepare(`UPDATE openapi_user_extra SET ${sets.join(', ')} WHERE user_id = ?`).run(...args, userId);
    })();
  }

  quitUserIds(): number[] {
    return this.s.quitUsers.all().map((r) => r.user_id);
  }

  details(userId: number): Map<number, DeptDetail> {
    return new Map(this.s.details.all(userId).map((r) => [r.dept_id, { deptId: r.dept_id, position: r.position, weight: r.weight, sortId: r.sort_id }]));
  }

  setDetail(userId: number, d: DeptDetail): void {
    this.s.setDetail.run({ u: userId, d: d.deptId, position: d.position, weight: d.weight, sortId: d.sortId });
  }

  /** Replaces the user's details with these (departments not listed lose theirs). */
  replaceDetails(userId: number, list: DeptDetail[]): void {
    this.db.transaction(() => {
      this.s.delDetails.run(userId);
      for (const d of list) this.setDetail(userId, d);
    })();
  }

  // ---- groups and sessions ----

  byGuid(guid: string): GuidRow | null {
    const r = this.s.guid.get(guid);
    return r ? guidRow(r) : null;
  }

  guidOf(groupId: number): GuidRow | null {
    const r = this.s.guidOf.get(groupId);
    return r ? guidRow(r) : null;
  }

  listGuids(kind: 'group' | 'session'): GuidRow[] {
    return this.s.guids.all(kind).map(guidRow);
  }

  addGuid(guid: string, groupId: number, kind: 'group' | 'session', type = 'multi'): void {
    this.s.insGuid.run(guid, groupId, kind, type);
  }

  bumpVersion(guid: string): void {
    this.s.bump.run(guid);
  }

  // ---- jobs ----

  job(id: string): JobRow | null {
    const r = this.s.job.get(id);
    return r ? { id: r.id, appRow: r.app_row, type: r.type, state: r.state as JobRow['state'], desc: r.desc, createdAt: r.created_at, finishedAt: r.finished_at } : null;
  }

  runningJob(): string | null {
    return this.s.running.get()?.id ?? null;
  }

  /** Starts a job unless one is running: the check and the insert are one transaction. */
  startJob(id: string, appRow: number, type: string, now: number): boolean {
    return this.db.transaction(() => {
      if (this.s.running.get()) return false;
      this.s.insJob.run(id, appRow, type, 'running', now);
      return true;
    })();
  }

  endJob(id: string, state: 3 | 4, desc: string, now: number): void {
    this.s.endJob.run(state, desc, now, id);
  }

  /** Jobs left running by a process that stopped are failed: nothing runs them any more. */
  failOrphans(now: number): void {
    this.db.prepare("UPDATE openapi_jobs SET state = 4, desc = 'the gateway stopped while the job ran', finished_at = ? WHERE state = 1").run(now);
  }
}

function guidRow(r: { guid: string; group_id: number; kind: string; version: number; type: string }): GuidRow {
  return { guid: r.guid, groupId: r.group_id, kind: r.kind as GuidRow['kind'], version: r.version, type: r.type };
}

const stores = new WeakMap<Db, OpenOrgStore>();

/** The store of this database (one per open database). */
export function orgStore(db: Db): OpenOrgStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new OpenOrgStore(db)));
  return s;
}
