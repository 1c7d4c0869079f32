import { nameToPinyin } from '../directory/pinyin.js';
import { logJson } from '../admin/action-log.js';
import type { Db } from '../storage/sqlite.js';
import type { CurDept, CurGroup, CurOtherUser, CurOwnedUser, CurrentDirectory, DeptRef, PlanItem, UserRef } from '../../../sync/src/engine/types.js';
import type { ObjectError } from './types.js';

/**
 * The sync engine's reads and bulk writes on the embedded SQLite directory.
 * Like rtx/sqlite-sync.ts and excel/bulk.ts it writes the tables directly, a
 * batch per transaction, following the directory repository's rules: each
 * transaction bumps meta.dir_version once and stamps every row it changes;
 * removals leave tombstones; a user's row_version moves on each change. Each
 * item runs in a savepoint, so one bad object is a per-object error, not a
 * failed batch. Lifecycle effects that live in the database (tokens revoked,
 * seat released, action log entries) commit in the same transaction as the
 * change that causes them.
 */

/** Ids the plan refers to by external id, learned as the apply goes. */
export interface ApplyContext {
  origin: string;
  sourceId: string;
  /** Action-log actor: 'sync:<sourceId>'. */
  actor: string;
  runId: number;
  now: () => number;
  deptIds: Map<string, number>;
  userIds: Map<string, number>;
}

export interface BatchResult {
  version: number | null;
  /** Users whose live sessions must close now (disabled or deleted). */
  revoked: number[];
  errors: ObjectError[];
  warnings: string[];
  applied: PlanItem[];
}

const empty = (): BatchResult => ({ version: null, revoked: [], errors: [], warnings: [], applied: [] });
const errOf = (it: PlanItem, e: unknown): ObjectError => {
  const code = (e as { code?: string }).code ?? '';
  const message = e instanceof StaleError
    ? e.message
    : code.startsWith('SQLITE_CONSTRAINT_UNIQUE')
      ? 'a unique value (account, or a department name at the same place) is taken by another entry'
      : code.startsWith('SQLITE_CONSTRAINT')
        ? 'the directory refused the change (a constraint)'
        : 'the change failed';
  return { kind: it.kind, externalId: it.externalId, op: it.op, label: it.label, message };
};

class StaleError extends Error {}

export class SyncDirectoryWriter {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      bump: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'dir_version' RETURNING CAST(value AS INTEGER) AS v").pluck(),
      tomb: db.prepare('INSERT OR REPLACE INTO dir_tombstones (kind, object_id, version) VALUES (?, ?, ?)'),
      log: db.prepare(`INSERT INTO admin_action_log (at, admin_id, admin_username, action, target_kind, target_id, target_label, before_json, after_json, address)
        VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, NULL)`),
      insDept: db.prepare('INSERT INTO departments (parent_id, name, sort_order, origin, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      tmpDeptName: db.prepare('UPDATE departments SET name = ? WHERE id = ? AND origin = ?'),
      updDept: db.prepare('UPDATE departments SET parent_id = ?, name = ?, sort_order = ?, version = ?, updated_at = ? WHERE id = ? AND origin = ?'),
      delDept: db.prepare('DELETE FROM departments WHERE id = ? AND origin = ?'),
      insUser: db.prepare(`INSERT INTO users (account, name, pinyin, pinyin_initials, mobile, email, phone, title, gender, status, authorised, auth_decided,
        password_hash, sort_order, origin, external_id, login_dn, version, created_at, updated_at)
        VALUES (@account, @name, @pinyin, @initials, @mobile, @email, @phone, @title, @gender, @status, @authorised, 0, NULL, 0, @origin, @ext, @loginDn, @version, @now, @now)`),
      updUser: db.prepare(`UPDATE users SET account = @account, name = @name, pinyin = @pinyin, pinyin_initials = @initials, mobile = @mobile, email = @email,
        phone = @phone, title = @title, gender = @gender, status = @status, origin = @origin, external_id = @ext, login_dn = @loginDn,
        version = @version, row_version = row_version + 1, updated_at = @now WHERE id = @id AND origin = @expectOrigin`),
      setAuthorised: db.prepare('UPDATE users SET authorised = ?, auth_decided = 0 WHERE id = ?'),
      disableUser: db.prepare("UPDATE users SET status = 'disabled', authorised = 0, auth_decided = 0, version = ?, row_version = row_version + 1, updated_at = ? WHERE id = ? AND origin = ?"),
      revokeTokens: db.prepare('UPDATE device_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id = ?)'),
      delUserDepts: db.prepare('DELETE FROM user_departments WHERE user_id = ?'),
      insUserDept: db.prepare('INSERT OR IGNORE INTO user_departments (user_id, dept_id, is_main) VALUES (?, ?, ?)'),
      stateUpsert: db.prepare(`INSERT INTO sync_user_state (user_id, source_id, disabled_since, missing) VALUES (?, ?, ?, ?)
        ON CONFLICT (user_id) DO UPDATE SET source_id = excluded.source_id, missing = excluded.missing`),
      stateDel: db.prepare('DELETE FROM sync_user_state WHERE user_id = ?'),
      touchGroupsOf: db.prepare('UPDATE groups SET version = ?, updated_at = ? WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)'),
      delUser: db.prepare('DELETE FROM users WHERE id = ? AND origin = ?'),
      insGroup: db.prepare('INSERT INTO groups (name, owner_id, origin, external_id, version, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?)'),
      updGroup: db.prepare('UPDATE groups SET name = ?, version = ?, updated_at = ? WHERE id = ? AND origin = ?'),
      groupMembers: db.prepare('SELECT user_id FROM group_members WHERE group_id = ?').pluck(),
      addMember: db.prepare('INSERT OR IGNORE INTO group_members (group_id, user_id, joined_at) VALUES (?, ?, ?)'),
      delMember: db.prepare('DELETE FROM group_members WHERE group_id = ? AND user_id = ?'),
      delGroup: db.prepare('DELETE FROM groups WHERE id = ? AND origin = ?'),
      setLoginDn: db.prepare('UPDATE users SET login_dn = ? WHERE id = ? AND origin = ?'),
    };
  }

  // ---- reading ----

  /** The directory as the planner needs it for one source. */
  readCurrent(origin: string): CurrentDirectory {
    const depts = this.db.prepare('SELECT id, parent_id AS parentId, name, sort_order AS "order", origin, external_id AS externalId FROM departments').all() as CurDept[];
    const owned = this.db
      .prepare(`SELECT u.id, u.external_id AS externalId, u.account, u.name, u.email, u.mobile, u.phone, u.title, u.gender, u.status,
        u.login_dn AS loginDn, s.disabled_since AS disabledSince, COALESCE(s.missing, 0) AS missing
        FROM users u LEFT JOIN sync_user_state s ON s.user_id = u.id WHERE u.origin = ? AND u.external_id IS NOT NULL`)
      .all(origin) as (Omit<CurOwnedUser, 'deptIds' | 'missing'> & { missing: number })[];
    const byId = new Map<number, CurOwnedUser>();
    for (const u of owned) byId.set(u.id, Object.assign(u, { missing: u.missing === 1, deptIds: [] as number[] }) as unknown as CurOwnedUser);
    const ms = this.db
      .prepare('SELECT ud.user_id, ud.dept_id FROM user_departments ud JOIN users x ON x.id = ud.user_id WHERE x.origin = ? ORDER BY ud.user_id, ud.is_main DESC, ud.dept_id')
      .raw()
      .iterate(origin) as IterableIterator<[number, number]>;
    for (const [u, d] of ms) byId.get(u)?.deptIds.push(d);
    const others = this.db.prepare('SELECT id, account, email, mobile, origin FROM users WHERE origin <> ? OR external_id IS NULL').all(origin) as CurOtherUser[];
    const groups = this.db.prepare('SELECT id, external_id AS externalId, name FROM groups WHERE origin = ? AND external_id IS NOT NULL').all(origin) as Omit<CurGroup, 'memberIds'>[];
    const gById = new Map<number, CurGroup>(groups.map((g) => [g.id, { ...g, memberIds: [] }]));
    const gm = this.db
      .prepare('SELECT m.group_id, m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.origin = ? ORDER BY m.group_id, m.user_id')
      .raw()
      .iterate(origin) as IterableIterator<[number, number]>;
    for (const [g, u] of gm) gById.get(g)?.memberIds.push(u);
    return { depts, owned: [...byId.values()], others, groups: [...gById.values()] };
  }

  // ---- writing ----

  private logEntry(ctx: ApplyContext, action: string, it: PlanItem, id: number | null, before: unknown, after: unknown): void {
    this.s.log.run(ctx.now(), ctx.actor, action, it.kind, id === null ? null : String(id), it.label, logJson(before), logJson(after));
  }

  private deptId(ctx: ApplyContext, r: DeptRef | null): number | null {
    if (r === null) return null;
    if ('id' in r) return r.id;
    const id = ctx.deptIds.get(r.ext);
    if (id === undefined) throw new StaleError(`its department ${r.ext} was not created`);
    return id;
  }

  private userId(ctx: ApplyContext, r: UserRef): number | undefined {
    return 'id' in r ? r.id : ctx.userIds.get(r.ext);
  }

  /** Creates, renames and moves departments, parents first (one transaction). */
  applyDepts(items: PlanItem[], ctx: ApplyContext): BatchResult {
    if (items.length === 0) return empty();
    const out = empty();
    out.version = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      const now = ctx.now();
      // renames and moves may swap names between siblings: out of the way first
      for (const it of items) if (it.targetId !== null && (it.changes.name || it.changes.parent)) this.s.tmpDeptName.run(`\u0001${it.targetId}`, it.targetId, ctx.origin);
      for (const it of items) {
        const d = it.dept;
        if (!d) continue;
        try {
          this.db.transaction(() => {
            const parent = this.deptId(ctx, d.parent);
            if (it.op === 'create') {
              ctx.deptIds.set(it.externalId, Number(this.s.insDept.run(parent, d.name, d.order, ctx.origin, it.externalId, v, now, now).lastInsertRowid));
            } else if (this.s.updDept.run(parent, d.name, d.order, v, now, it.targetId, ctx.origin).changes === 0) {
              throw new StaleError('the department is no longer this source\'s');
            }
          })();
          out.applied.push(it);
        } catch (e) {
          if (!isItemError(e)) throw e;
          out.errors.push(errOf(it, e));
        }
      }
      return v;
    })();
    return out;
  }

  /** One batch of user creates, updates, moves, adoptions, disables and enables (one transaction). */
  applyUsers(items: PlanItem[], ctx: ApplyContext): BatchResult {
    if (items.length === 0) return empty();
    const out = empty();
    out.version = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      const now = ctx.now();
      for (const it of items) {
        try {
          this.db.transaction(() => this.applyUser(it, ctx, v, now, out))();
          out.applied.push(it);
        } catch (e) {
          if (!isItemError(e)) throw e;
          out.errors.push(errOf(it, e));
        }
      }
      return v;
    })();
    return out;
  }

  private setDepts(ctx: ApplyContext, userId: number, refs: DeptRef[]): void {
    this.s.delUserDepts.run(userId);
    let first = true;
    for (const r of refs) {
      const d = 'id' in r ? r.id : ctx.deptIds.get(r.ext);
      if (d === undefined) continue;
      this.s.insUserDept.run(userId, d, first ? 1 : 0);
      first = false;
    }
  }

  /** Disabled: sessions and tokens go, the seat is released, the engine remembers since when. */
  private disableEffects(ctx: ApplyContext, it: PlanItem, id: number, now: number, out: BatchResult): void {
    this.s.setAuthorised.run(0, id);
    this.s.revokeTokens.run(now, id);
    this.s.stateUpsert.run(id, ctx.sourceId, now, it.missing ? 1 : 0);
    out.revoked.push(id);
  }

  private applyUser(it: PlanItem, ctx: ApplyContext, v: number, now: number, out: BatchResult): void {
    const u = it.user;
    if (it.op === 'disable' && !u) {
      // dropped by the source: disabled now, deleted after the deletion period
      const id = it.targetId as number;
      if (it.changes.status) {
        if (this.s.disableUser.run(v, now, id, ctx.origin).changes === 0) throw new StaleError('the user is no longer this source\'s');
        this.disableEffects(ctx, it, id, now, out);
        this.logEntry(ctx, 'sync.user.disable', it, id, { status: 'active' }, { status: 'disabled', reason: it.reason, run: ctx.runId });
      } else {
        this.s.stateUpsert.run(id, ctx.sourceId, now, 1);
      }
      return;
    }
    if (!u) return;
    const py = nameToPinyin(u.name);
    const row = {
      account: u.account, name: u.name, pinyin: py.full, initials: py.initials, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title, gender: u.gender, status: u.status,
      origin: ctx.origin, ext: it.externalId, loginDn: u.loginDn ?? null, version: v, now,
    };
    if (it.op === 'create') {
      const id = Number(this.s.insUser.run({ ...row, authorised: u.authorise && u.status === 'active' ? 1 : 0 }).lastInsertRowid);
      ctx.userIds.set(it.externalId, id);
      this.setDepts(ctx, id, u.depts);
      if (u.status === 'disabled') this.s.stateUpsert.run(id, ctx.sourceId, now, 0);
      return;
    }
    const id = it.targetId as number;
    const expectOrigin = it.op === 'adopt' ? 'local' : ctx.origin;
    if (this.s.updUser.run({ ...row, id, expectOrigin }).changes === 0) {
      throw new StaleError(it.op === 'adopt' ? 'the local user changed origin since the plan was made' : 'the user is no longer this source\'s');
    }
    if (it.op === 'adopt') ctx.userIds.set(it.externalId, id);
    if (it.changes.depts || it.op === 'adopt') this.setDepts(ctx, id, u.depts);
    const wasActive = it.changes.status ? it.changes.status.before === 'active' : u.status === 'active';
    if (u.status === 'disabled') {
      if (wasActive || it.op === 'adopt') this.disableEffects(ctx, it, id, now, out);
      else this.s.stateUpsert.run(id, ctx.sourceId, now, it.missing ? 1 : 0);
    } else {
      this.s.stateDel.run(id);
      if (it.op === 'enable' && u.authorise) this.s.setAuthorised.run(1, id);
    }
    if (it.op === 'disable' || it.op === 'enable' || it.op === 'adopt') {
      this.logEntry(ctx, `sync.user.${it.op}`, it, id, it.op === 'adopt' ? { origin: 'local' } : { status: it.changes.status?.before }, { ...(it.op === 'adopt' ? { origin: ctx.origin } : {}), status: u.status, reason: it.reason, run: ctx.runId });
    }
  }

  /** Login DNs of users the plan otherwise left alone (one transaction, no directory version: clients never see them). */
  setLoginDns(list: { id: number; dn: string | null }[], ctx: ApplyContext): void {
    this.db.transaction(() => {
      for (const x of list) this.s.setLoginDn.run(x.dn, x.id, ctx.origin);
    })();
  }

  /** Group creates, updates and deletes (one transaction per batch). */
  applyGroups(items: PlanItem[], ctx: ApplyContext): BatchResult {
    if (items.length === 0) return empty();
    const out = empty();
    out.version = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      const now = ctx.now();
      for (const it of items) {
        try {
          this.db.transaction(() => {
            if (it.op === 'delete') {
              if (this.s.delGroup.run(it.targetId, ctx.origin).changes === 0) throw new StaleError('the group is no longer this source\'s');
              this.s.tomb.run('group', it.targetId, v);
              this.logEntry(ctx, 'sync.group.delete', it, it.targetId, { name: it.label }, null);
              return;
            }
            const g = it.group;
            if (!g) return;
            const want = new Set<number>();
            for (const m of g.members) {
              const id = this.userId(ctx, m);
              if (id !== undefined) want.add(id);
            }
            let gid: number;
            if (it.op === 'create') {
              gid = Number(this.s.insGroup.run(g.name, ctx.origin, it.externalId, v, now, now).lastInsertRowid);
            } else {
              gid = it.targetId as number;
              if (this.s.updGroup.run(g.name, v, now, gid, ctx.origin).changes === 0) throw new StaleError('the group is no longer this source\'s');
              for (const m of this.s.groupMembers.all(gid) as number[]) if (!want.has(m)) this.s.delMember.run(gid, m);
            }
            for (const m of want) this.s.addMember.run(gid, m, now);
          })();
          out.applied.push(it);
        } catch (e) {
          if (!isItemError(e)) throw e;
          out.errors.push(errOf(it, e));
        }
      }
      return v;
    })();
    return out;
  }

  /** Deletes users (one transaction per batch): their groups move to the new version, tombstones are left. */
  deleteUsers(items: PlanItem[], ctx: ApplyContext): BatchResult {
    if (items.length === 0) return empty();
    const out = empty();
    out.version = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      const now = ctx.now();
      for (const it of items) {
        const id = it.targetId as number;
        try {
          this.db.transaction(() => {
            this.s.touchGroupsOf.run(v, now, id);
            if (this.s.delUser.run(id, ctx.origin).changes === 0) throw new StaleError('the user is no longer this source\'s');
            this.s.tomb.run('user', id, v);
            this.logEntry(ctx, 'sync.user.delete', it, id, { account: it.label }, { reason: it.reason, run: ctx.runId });
          })();
          out.revoked.push(id);
          out.applied.push(it);
        } catch (e) {
          if (!isItemError(e)) throw e;
          out.errors.push(errOf(it, e));
        }
      }
      return v;
    })();
    return out;
  }

  /** Deletes departments, children first; one still holding members or sub-departments is kept (a warning). */
  deleteDepts(items: PlanItem[], ctx: ApplyContext): BatchResult {
    if (items.length === 0) return empty();
    const out = empty();
    out.version = this.db.transaction((): number => {
      const v = this.s.bump.get() as number;
      for (const it of items) {
        try {
          this.db.transaction(() => {
            if (this.s.delDept.run(it.targetId, ctx.origin).changes === 0) throw new StaleError('the department is no longer this source\'s');
            this.s.tomb.run('dept', it.targetId, v);
          })();
          out.applied.push(it);
        } catch (e) {
          if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
            out.warnings.push(`department ${it.label} is no longer in the source but was kept: it still holds members or sub-departments`);
            continue;
          }
          if (!isItemError(e)) throw e;
          out.errors.push(errOf(it, e));
        }
      }
      return v;
    })();
    return out;
  }
}

/** An error that concerns one item (a constraint, a stale target), not the database as a whole. */
function isItemError(e: unknown): boolean {
  if (e instanceof StaleError) return true;
  return String((e as { code?: string }).code ?? '').startsWith('SQLITE_CONSTRAINT');
}
