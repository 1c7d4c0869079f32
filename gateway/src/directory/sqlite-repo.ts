import type { Db } from '../storage/sqlite.js';
import type { DeptId, GroupId, UserId } from '../protocol/client-v1.js';
import {
  UniqueViolation,
  GroupLimitExceeded,
  type DeptRecord,
  type DirectoryChanges,
  type DirectoryRepo,
  type GroupRecord,
  type NewUser,
  type UserPatch,
  type UserRecord,
  type UserSearch,
} from './types.js';

interface DeptRow { id: number; parent_id: number | null; name: string; sort_order: number; origin: string; external_id: string | null; version: number }
interface UserRow {
  id: number; account: string; name: string; pinyin: string; pinyin_initials: string; mobile: string; email: string; phone: string;
  title: string; gender: string; status: string; authorised: number; auth_decided: number; blocked: number; password_hash: string | null; sort_order: number;
  origin: string; external_id: string | null; version: number; row_version: number;
}
interface GroupRow { id: number; name: string; owner_id: number | null; origin: string; external_id: string | null; version: number }

const USER_COLS: Record<keyof UserPatch, string> = {
  account: 'account', name: 'name', pinyin: 'pinyin', pinyinInitials: 'pinyin_initials', mobile: 'mobile', email: 'email', phone: 'phone',
  title: 'title', gender: 'gender', status: 'status', authorised: 'authorised', authDecided: 'auth_decided', blocked: 'blocked', passwordHash: 'password_hash',
  order: 'sort_order', depts: '',
};

/** How far back tombstones are kept; older `since` values get resetRequired. */
const TOMBSTONE_KEEP = 1_000_000;

function deptFrom(r: DeptRow): DeptRecord {
  return { id: r.id as DeptId, parentId: r.parent_id as DeptId | null, name: r.name, order: r.sort_order, origin: r.origin, externalId: r.external_id, version: r.version };
}

function wrapUnique<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT_UNIQUE') || (e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new UniqueViolation(what);
    }
    throw e;
  }
}

export class SqliteDirectoryRepo implements DirectoryRepo {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      bump: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'dir_version' RETURNING CAST(value AS INTEGER) AS v"),
      version: db.prepare("SELECT CAST(value AS INTEGER) AS v FROM meta WHERE key = 'dir_version'"),
      tomb: db.prepare('INSERT OR REPLACE INTO dir_tombstones (kind, object_id, version) VALUES (?, ?, ?)'),
      dept: db.prepare('SELECT * FROM departments WHERE id = ?'),
      childByName: db.prepare('SELECT * FROM departments WHERE COALESCE(parent_id, 0) = COALESCE(?, 0) AND name = ?'),
      children: db.prepare('SELECT * FROM departments WHERE COALESCE(parent_id, 0) = COALESCE(?, 0) ORDER BY sort_order, id'),
      allDepts: db.prepare('SELECT * FROM departments ORDER BY parent_id, sort_order, id'),
      insDept: db.prepare('INSERT INTO departments (parent_id, name, sort_order, origin, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      user: db.prepare('SELECT * FROM users WHERE id = ?'),
      userByAccount: db.prepare('SELECT * FROM users WHERE account = ?'),
      userDepts: db.prepare('SELECT dept_id, is_main FROM user_departments WHERE user_id = ? ORDER BY is_main DESC, dept_id'),
      usersAfter: db.prepare('SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?'),
      activeIds: db.prepare("SELECT id FROM users WHERE status = 'active' AND authorised = 1 ORDER BY id"),
      groupByExt: db.prepare("SELECT id FROM groups WHERE external_id = ? ORDER BY (origin = 'rtx') DESC, id LIMIT 1"),
      insUser: db.prepare(`INSERT INTO users (account, name, pinyin, pinyin_initials, mobile, email, phone, title, gender, status, authorised,
        password_hash, sort_order, origin, external_id, version, created_at, updated_at)
        VALUES (@account, @name, @pinyin, @pinyinInitials, @mobile, @email, @phone, @title, @gender, @status, @authorised,
        @passwordHash, @order, @origin, @externalId, @version, @now, @now)`),
      insUserDept: db.prepare('INSERT INTO user_departments (user_id, dept_id, is_main) VALUES (?, ?, ?)'),
      delUserDepts: db.prepare('DELETE FROM user_departments WHERE user_id = ?'),
      group: db.prepare('SELECT * FROM groups WHERE id = ?'),
      groupsByName: db.prepare('SELECT * FROM groups WHERE name = ? ORDER BY id'),
      groupsOfUser: db.prepare('SELECT g.* FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.id'),
      members: db.prepare('SELECT user_id FROM group_members WHERE group_id = ? ORDER BY joined_at, user_id'),
      isMember: db.prepare('SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?'),
      insGroup: db.prepare('INSERT INTO groups (name, owner_id, origin, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      addMember: db.prepare('INSERT OR IGNORE INTO group_members (group_id, user_id, joined_at) VALUES (?, ?, ?)'),
      groupSize: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM group_members WHERE group_id = ?'),
      delMember: db.prepare('DELETE FROM group_members WHERE group_id = ? AND user_id = ?'),
      touchGroup: db.prepare('UPDATE groups SET version = ?, updated_at = ? WHERE id = ?'),
      exempt: db.prepare('SELECT 1 FROM group_limit_exempt WHERE user_id = ?'),
    };
  }

  private nextVersion(): number {
    return (this.s.bump.get() as { v: number }).v;
  }

  private userFrom(r: UserRow): UserRecord {
    const depts = (this.s.userDepts.all(r.id) as { dept_id: number; is_main: number }[]).map((d) => ({ deptId: d.dept_id as DeptId, main: d.is_main === 1 }));
    return {
      id: r.id as UserId, account: r.account, name: r.name, pinyin: r.pinyin, pinyinInitials: r.pinyin_initials, mobile: r.mobile, email: r.email,
      phone: r.phone, title: r.title, gender: r.gender as UserRecord['gender'], status: r.status as UserRecord['status'],
      authorised: r.authorised === 1, authDecided: r.auth_decided === 1, blocked: r.blocked === 1, passwordHash: r.password_hash, order: r.sort_order, origin: r.origin,
      externalId: r.external_id, version: r.version, rowVersion: r.row_version, depts,
    };
  }

  private groupFrom(r: GroupRow): GroupRecord {
    const memberIds = (this.s.members.all(r.id) as { user_id: number }[]).map((m) => m.user_id as UserId);
    return { id: r.id as GroupId, name: r.name, ownerId: r.owner_id as UserId | null, origin: r.origin, externalId: r.external_id, version: r.version, memberIds };
  }

  async currentVersion(): Promise<number> {
    return (this.s.version.get() as { v: number }).v;
  }

  async getDept(id: DeptId): Promise<DeptRecord | null> {
    const r = this.s.dept.get(id) as DeptRow | undefined;
    return r ? deptFrom(r) : null;
  }

  async findChildDept(parentId: DeptId | null, name: string): Promise<DeptRecord | null> {
    const r = this.s.childByName.get(parentId, name) as DeptRow | undefined;
    return r ? deptFrom(r) : null;
  }

  async listDepts(): Promise<DeptRecord[]> {
    return (this.s.allDepts.all() as DeptRow[]).map(deptFrom);
  }

  async childDepts(parentId: DeptId | null): Promise<DeptRecord[]> {
    return (this.s.children.all(parentId) as DeptRow[]).map(deptFrom);
  }

  async createDept(parentId: DeptId | null, name: string, order: number, origin: string, externalId: string | null, id?: DeptId): Promise<DeptRecord> {
    return this.db.transaction(() => {
      if (id !== undefined && this.s.dept.get(id)) throw new UniqueViolation('department id');
      const v = this.nextVersion();
      const now = Date.now();
      const info = wrapUnique('department name', () =>
        id === undefined
          ? this.s.insDept.run(parentId, name, order, origin, externalId, v, now, now)
          : this.db.prepare('INSERT INTO departments (id, parent_id, name, sort_order, origin, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(id, parentId, name, order, origin, externalId, v, now, now));
      return deptFrom(this.s.dept.get(info.lastInsertRowid) as DeptRow);
    })();
  }

  async updateDept(id: DeptId, patch: { name?: string; parentId?: DeptId | null; order?: number }): Promise<DeptRecord> {
    return this.db.transaction(() => {
      const sets: string[] = [];
      const args: unknown[] = [];
      if (patch.name !== undefined) {
        sets.push('name = ?');
        args.push(patch.name);
      }
      if (patch.parentId !== undefined) {
        sets.push('parent_id = ?');
        args.push(patch.parentId);
      }
      if (patch.order !== undefined) {
        sets.push('sort_order = ?');
        args.push(patch.order);
      }
      const v = this.nextVersion();
      sets.push('version = ?', 'updated_at = ?');
      args.push(v, Date.now(), id);
      wrapUnique('department name', () => this.db.prepare(`UPDATE departments SET ${sets.join(', ')} WHERE id = ?`).run(...args));
      return deptFrom(this.s.dept.get(id) as DeptRow);
    })();
  }

  async deleteDept(id: DeptId): Promise<void> {
    this.db.transaction(() => {
      const v = this.nextVersion();
      this.db.prepare('DELETE FROM departments WHERE id = ?').run(id);
      this.s.tomb.run('dept', id, v);
    })();
  }

  async deptContents(id: DeptId): Promise<{ users: number; subDepts: number }> {
    const users = (this.db.prepare('SELECT COUNT(*) AS n FROM user_departments WHERE dept_id = ?').get(id) as { n: number }).n;
    const subDepts = (this.db.prepare('SELECT COUNT(*) AS n FROM departments WHERE parent_id = ?').get(id) as { n: number }).n;
    return { users, subDepts };
  }

  async getUser(id: UserId): Promise<UserRecord | null> {
    const r = this.s.user.get(id) as UserRow | undefined;
    return r ? this.userFrom(r) : null;
  }

  async getUserByAccount(account: string): Promise<UserRecord | null> {
    const r = this.s.userByAccount.get(account) as UserRow | undefined;
    return r ? this.userFrom(r) : null;
  }

  async getUsers(ids: UserId[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    const out: UserRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM users WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as UserRow[];
      out.push(...rows.map((r) => this.userFrom(r)));
    }
    return out;
  }

  async activeUserIds(): Promise<UserId[]> {
    return (this.s.activeIds.pluck().all() as number[]) as UserId[];
  }

  async groupByExternalId(externalId: string): Promise<GroupRecord | null> {
    const id = this.s.groupByExt.pluck().get(externalId) as number | undefined;
    return id === undefined ? null : this.getGroup(id as GroupId);
  }

  async listUsers(after: UserId, limit: number): Promise<UserRecord[]> {
    return (this.s.usersAfter.all(after, limit) as UserRow[]).map((r) => this.userFrom(r));
  }

  async searchUsers(q: UserSearch): Promise<{ total: number; users: UserRecord[] }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.query) {
      const like = `%${q.query.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      where.push("(name LIKE ? ESCAPE '\\' OR pinyin LIKE ? ESCAPE '\\' OR pinyin_initials LIKE ? ESCAPE '\\' OR account LIKE ? ESCAPE '\\' OR mobile LIKE ? ESCAPE '\\')");
      args.push(like, like, like, like, like);
    }
    if (q.deptId !== undefined) {
      where.push('id IN (SELECT user_id FROM user_departments WHERE dept_id = ?)');
      args.push(q.deptId);
    }
    if (q.deptIds !== undefined) {
      // a JSON array keeps this one bound parameter however large the scope is
      where.push('id IN (SELECT user_id FROM user_departments WHERE dept_id IN (SELECT value FROM json_each(?)))');
      args.push(JSON.stringify(q.deptIds));
    }
    if (q.authorised !== undefined) {
      where.push('authorised = ?');
      args.push(q.authorised ? 1 : 0);
    }
    if (q.blocked !== undefined) {
      where.push('blocked = ?');
      args.push(q.blocked ? 1 : 0);
    }
    if (q.status !== undefined) {
      where.push('status = ?');
      args.push(q.status);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM users ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM users ${w} ORDER BY sort_order, pinyin, id LIMIT ? OFFSET ?`).all(...args, q.limit ?? 50, q.offset ?? 0) as UserRow[];
    return { total, users: rows.map((r) => this.userFrom(r)) };
  }

  async createUser(u: NewUser): Promise<UserRecord> {
    return this.db.transaction(() => {
      const v = this.nextVersion();
      const info = wrapUnique('account', () =>
        this.s.insUser.run({ ...u, authorised: u.authorised ? 1 : 0, version: v, now: Date.now() }),
      );
      const id = Number(info.lastInsertRowid);
      for (const d of u.depts) this.s.insUserDept.run(id, d.deptId, d.main ? 1 : 0);
      return this.userFrom(this.s.user.get(id) as UserRow);
    })();
  }

  async updateUser(id: UserId, patch: UserPatch, expectedRowVersion?: number): Promise<UserRecord> {
    return this.db.transaction(() => {
      const cur = this.s.user.get(id) as UserRow | undefined;
      if (!cur) throw new Error('user vanished');
      if (expectedRowVersion !== undefined && cur.row_version !== expectedRowVersion) throw new UniqueViolation('rowVersion');
      const sets: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch) as [keyof UserPatch, unknown][]) {
        if (k === 'depts' || v === undefined) continue;
        sets.push(`${USER_COLS[k]} = ?`);
        args.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
      }
      const v = this.nextVersion();
      sets.push('version = ?', 'row_version = row_version + 1', 'updated_at = ?');
      args.push(v, Date.now(), id);
      wrapUnique('account', () => this.db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`).run(...args));
      if (patch.depts) {
        this.s.delUserDepts.run(id);
        for (const d of patch.depts) this.s.insUserDept.run(id, d.deptId, d.main ? 1 : 0);
      }
      return this.userFrom(this.s.user.get(id) as UserRow);
    })();
  }

  async deleteUser(id: UserId): Promise<void> {
    this.db.transaction(() => {
      const v = this.nextVersion();
      const groups = this.db.prepare('SELECT group_id FROM group_members WHERE user_id = ?').all(id) as { group_id: number }[];
      this.db.prepare('DELETE FROM users WHERE id = ?').run(id);
      for (const g of groups) this.s.touchGroup.run(v, Date.now(), g.group_id);
      this.s.tomb.run('user', id, v);
    })();
  }

  async countUsers(filter: { authorised?: boolean; status?: UserRecord['status'] } = {}): Promise<number> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.authorised !== undefined) {
        where.push('authorised = ?');
        args.push(filter.authorised ? 1 : 0);
      }
    if (filter.status !== undefined) {
        where.push('status = ?');
        args.push(filter.status);
      }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM users ${w}`).get(...args) as { n: number }).n;
  }

  async getGroup(id: GroupId): Promise<GroupRecord | null> {
    const r = this.s.group.get(id) as GroupRow | undefined;
    return r ? this.groupFrom(r) : null;
  }

  async findGroupsByName(name: string): Promise<GroupRecord[]> {
    return (this.s.groupsByName.all(name) as GroupRow[]).map((r) => this.groupFrom(r));
  }

  async groupsOfUser(userId: UserId): Promise<GroupRecord[]> {
    return (this.s.groupsOfUser.all(userId) as GroupRow[]).map((r) => this.groupFrom(r));
  }

  async groupMemberIds(id: GroupId): Promise<UserId[]> {
    return (this.s.members.all(id) as { user_id: number }[]).map((m) => m.user_id as UserId);
  }

  async isGroupMember(id: GroupId, userId: UserId): Promise<boolean> {
    return this.s.isMember.get(id, userId) !== undefined;
  }

  async createGroup(name: string, ownerId: UserId | null, memberIds: UserId[], origin: string, externalId: string | null): Promise<GroupRecord> {
    return this.db.transaction(() => {
      const v = this.nextVersion();
      const now = Date.now();
      const info = wrapUnique('group', () => this.s.insGroup.run(name, ownerId, origin, externalId, v, now, now));
      const id = Number(info.lastInsertRowid);
      for (const m of memberIds) this.s.addMember.run(id, m, now);
      return this.groupFrom(this.s.group.get(id) as GroupRow);
    })();
  }

  async updateGroup(id: GroupId, patch: { name?: string; ownerId?: UserId | null }): Promise<GroupRecord> {
    return this.db.transaction(() => {
      const v = this.nextVersion();
      if (patch.name !== undefined) this.db.prepare('UPDATE groups SET name = ? WHERE id = ?').run(patch.name, id);
      if (patch.ownerId !== undefined) this.db.prepare('UPDATE groups SET owner_id = ? WHERE id = ?').run(patch.ownerId, id);
      this.s.touchGroup.run(v, Date.now(), id);
      return this.groupFrom(this.s.group.get(id) as GroupRow);
    })();
  }

  async changeGroupMembers(id: GroupId, add: UserId[], remove: UserId[], limit?: number): Promise<GroupRecord> {
    return this.db.transaction(() => {
      const before = limit === undefined ? 0 : this.s.groupSize.get(id)!.n;
      const v = this.nextVersion();
      const now = Date.now();
      for (const m of add) this.s.addMember.run(id, m, now);
      for (const m of remove) this.s.delMember.run(id, m);
      if (limit !== undefined) {
        // checked inside the write transaction, so two additions at once cannot pass the limit together
        const after = this.s.groupSize.get(id)!.n;
        if (after > limit && after > before) throw new GroupLimitExceeded(limit, before, after);
      }
      this.s.touchGroup.run(v, now, id);
      return this.groupFrom(this.s.group.get(id) as GroupRow);
    })();
  }

  async deleteGroup(id: GroupId): Promise<void> {
    this.db.transaction(() => {
      const v = this.nextVersion();
      this.db.prepare('DELETE FROM groups WHERE id = ?').run(id);
      this.s.tomb.run('group', id, v);
    })();
  }

  async groupIdsMatching(text: string): Promise<GroupId[]> {
    return (this.db.prepare("SELECT id FROM groups WHERE ? = '' OR instr(lower(name), lower(?)) > 0 ORDER BY id").all(text, text) as { id: number }[]).map((r) => r.id as GroupId);
  }

  async limitExemptIds(): Promise<UserId[]> {
    return (this.db.prepare('SELECT user_id FROM group_limit_exempt ORDER BY user_id').all() as { user_id: number }[]).map((r) => r.user_id as UserId);
  }

  async isLimitExempt(userId: UserId): Promise<boolean> {
    return this.s.exempt.get(userId) !== undefined;
  }

  async setLimitExempt(userId: UserId, exempt: boolean): Promise<void> {
    if (exempt) this.db.prepare('INSERT OR IGNORE INTO group_limit_exempt (user_id) VALUES (?)').run(userId);
    else this.db.prepare('DELETE FROM group_limit_exempt WHERE user_id = ?').run(userId);
  }

  async changesSince(since: number): Promise<DirectoryChanges & { version: number; resetRequired: boolean }> {
    return this.db.transaction(() => {
      const version = (this.s.version.get() as { v: number }).v;
      const resetRequired = since < 0 || since > version || version - since > TOMBSTONE_KEEP;
      const empty: DirectoryChanges = { depts: [], users: [], groups: [], removed: { depts: [], users: [], groups: [] } };
      if (resetRequired || since === version) return { version, resetRequired, ...empty };
      const depts = (this.db.prepare('SELECT * FROM departments WHERE version > ?').all(since) as DeptRow[]).map(deptFrom);
      const users = (this.db.prepare('SELECT * FROM users WHERE version > ?').all(since) as UserRow[]).map((r) => this.userFrom(r));
      const groups = (this.db.prepare('SELECT * FROM groups WHERE version > ?').all(since) as GroupRow[]).map((r) => this.groupFrom(r));
      const tombs = this.db.prepare('SELECT kind, object_id FROM dir_tombstones WHERE version > ?').all(since) as { kind: string; object_id: number }[];
      const removed = {
        depts: tombs.filter((t) => t.kind === 'dept').map((t) => t.object_id as DeptId),
        users: tombs.filter((t) => t.kind === 'user').map((t) => t.object_id as UserId),
        groups: tombs.filter((t) => t.kind === 'group').map((t) => t.object_id as GroupId),
      };
      return { version, resetRequired, depts, users, groups, removed };
    })();
  }
}
