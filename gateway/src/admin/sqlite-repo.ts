import type { DeptId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import { isRight, type Right } from './rights.js';
import {
  AdminUniqueViolation,
  LastSuperAdminError,
  type ActionLogEntry,
  type ActionLogQuery,
  type AdminAccountRecord,
  type AdminId,
  type AdminRepo,
  type NewActionLogEntry,
  type NewRole,
  type RoleId,
  type RoleRecord,
  type SessionRecord,
} from './types.js';

interface AccountRow { id: number; username: string; password_hash: string; display_name: string; disabled: number; created_at: number; password_changed_at: number }
interface RoleRow { id: number; name: string; builtin: number; whole_org: number; created_at: number; updated_at: number }
interface SessionRow { token_hash: string; account_id: number; csrf_token: string; created_at: number; last_seen_at: number; expires_at: number; address: string | null; user_agent: string | null }
interface LogRow {
  id: number; at: number; admin_id: number | null; admin_username: string; action: string; target_kind: string | null; target_id: string | null;
  target_label: string | null; before_json: string | null; after_json: string | null; address: string | null;
}

function unique<T>(what: AdminUniqueViolation['what'], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT_UNIQUE')) throw new AdminUniqueViolation(what);
    throw e;
  }
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** LIKE pattern for a prefix, with the wildcards of the prefix itself escaped. */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** The administrator tables of migration 003 on the embedded SQLite database. */
export class SqliteAdminRepo implements AdminRepo {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      countAccounts: db.prepare('SELECT COUNT(*) AS n FROM admin_accounts'),
      account: db.prepare('SELECT * FROM admin_accounts WHERE id = ?'),
      accountByName: db.prepare('SELECT * FROM admin_accounts WHERE username = ?'),
      accounts: db.prepare('SELECT * FROM admin_accounts ORDER BY id'),
      accountRoles: db.prepare('SELECT role_id FROM admin_account_roles WHERE account_id = ? ORDER BY role_id'),
      insAccount: db.prepare('INSERT INTO admin_accounts (username, password_hash, display_name, disabled, created_at, password_changed_at) VALUES (?, ?, ?, 0, ?, ?)'),
      insAccountRole: db.prepare('INSERT OR IGNORE INTO admin_account_roles (account_id, role_id) VALUES (?, ?)'),
      delAccountRoles: db.prepare('DELETE FROM admin_account_roles WHERE account_id = ?'),
      delAccount: db.prepare('DELETE FROM admin_accounts WHERE id = ?'),
      enabledSupers: db.prepare(`SELECT COUNT(*) AS n FROM admin_account_roles ar
        JOIN admin_roles r ON r.id = ar.role_id JOIN admin_accounts a ON a.id = ar.account_id
        WHERE r.builtin = 1 AND a.disabled = 0`),
      builtin: db.prepare('SELECT * FROM admin_roles WHERE builtin = 1'),
      role: db.prepare('SELECT * FROM admin_roles WHERE id = ?'),
      roles: db.prepare('SELECT * FROM admin_roles ORDER BY builtin DESC, id'),
      roleRights: db.prepare('SELECT "right" AS r FROM admin_role_rights WHERE role_id = ?'),
      roleScopes: db.prepare('SELECT dept_id FROM admin_role_scopes WHERE role_id = ? ORDER BY dept_id'),
      insRole: db.prepare('INSERT INTO admin_roles (name, builtin, whole_org, created_at, updated_at) VALUES (?, 0, ?, ?, ?)'),
      insRight: db.prepare('INSERT OR IGNORE INTO admin_role_rights (role_id, "right") VALUES (?, ?)'),
      insScope: db.prepare('INSERT OR IGNORE INTO admin_role_scopes (role_id, dept_id) VALUES (?, ?)'),
      delRights: db.prepare('DELETE FROM admin_role_rights WHERE role_id = ?'),
      delScopes: db.prepare('DELETE FROM admin_role_scopes WHERE role_id = ?'),
      delRole: db.prepare('DELETE FROM admin_roles WHERE id = ? AND builtin = 0'),
      holders: db.prepare('SELECT COUNT(*) AS n FROM admin_account_roles WHERE role_id = ?'),
      insSession: db.prepare(`INSERT INTO admin_sessions (token_hash, account_id, csrf_token, created_at, last_seen_at, expires_at, address, user_agent)
        VALUES (@tokenHash, @accountId, @csrfToken, @createdAt, @lastSeenAt, @expiresAt, @address, @userAgent)`),
      trimSessions: db.prepare(`DELETE FROM admin_sessions WHERE account_id = ? AND token_hash NOT IN
        (SELECT token_hash FROM admin_sessions WHERE account_id = ? ORDER BY created_at DESC LIMIT ?)`),
      session: db.prepare('SELECT * FROM admin_sessions WHERE token_hash = ?'),
      touch: db.prepare('UPDATE admin_sessions SET last_seen_at = ? WHERE token_hash = ?'),
      delSession: db.prepare('DELETE FROM admin_sessions WHERE token_hash = ?'),
      delAccountSessions: db.prepare('DELETE FROM admin_sessions WHERE account_id = ? AND token_hash <> ?'),
      purge: db.prepare('DELETE FROM admin_sessions WHERE expires_at <= ? OR last_seen_at < ?'),
      insLog: db.prepare(`INSERT INTO admin_action_log (at, admin_id, admin_username, action, target_kind, target_id, target_label, before_json, after_json, address)
        VALUES (@at, @adminId, @adminUsername, @action, @targetKind, @targetId, @targetLabel, @beforeJson, @afterJson, @address)`),
    };
  }

  private accountFrom(r: AccountRow): AdminAccountRecord {
    return {
      id: r.id as AdminId, username: r.username, displayName: r.display_name, passwordHash: r.password_hash, disabled: r.disabled === 1,
      createdAt: r.created_at, passwordChangedAt: r.password_changed_at,
      roleIds: (this.s.accountRoles.all(r.id) as { role_id: number }[]).map((x) => x.role_id as RoleId),
    };
  }

  private roleFrom(r: RoleRow): RoleRecord {
    const rights = (this.s.roleRights.all(r.id) as { r: string }[]).map((x) => x.r).filter(isRight);
    return {
      id: r.id as RoleId, name: r.name, builtin: r.builtin === 1, wholeOrg: r.whole_org === 1, rights: rights as Right[],
      scopeDeptIds: (this.s.roleScopes.all(r.id) as { dept_id: number }[]).map((x) => x.dept_id as DeptId),
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }

  private mustAccount(id: AdminId): AdminAccountRecord {
    const r = this.s.account.get(id) as AccountRow | undefined;
    if (!r) throw new Error(`administrator ${id} does not exist`);
    return this.accountFrom(r);
  }

  private checkSupers(): void {
    if ((this.s.enabledSupers.get() as { n: number }).n === 0) throw new LastSuperAdminError();
  }

  async countAccounts(): Promise<number> {
    return (this.s.countAccounts.get() as { n: number }).n;
  }

  async createFirstAccount(username: string, displayName: string, passwordHash: string, now: number): Promise<AdminAccountRecord | null> {
    // IMMEDIATE: the write lock is taken before the count, so two processes cannot both see zero
    return this.db.transaction(() => {
      if ((this.s.countAccounts.get() as { n: number }).n > 0) return null;
      const builtin = this.s.builtin.get() as RoleRow | undefined;
      if (!builtin) throw new Error('the built-in super-admin role is missing');
      const id = unique('username', () => this.s.insAccount.run(username, passwordHash, displayName, now, now).lastInsertRowid);
      this.s.insAccountRole.run(id, builtin.id);
      return this.mustAccount(Number(id) as AdminId);
    }).immediate();
  }

  async createAccount(username: string, displayName: string, passwordHash: string, roleIds: RoleId[], now: number): Promise<AdminAccountRecord> {
    return this.db.transaction(() => {
      const id = unique('username', () => this.s.insAccount.run(username, passwordHash, displayName, now, now).lastInsertRowid);
      for (const r of roleIds) this.s.insAccountRole.run(id, r);
      return this.mustAccount(Number(id) as AdminId);
    }).immediate();
  }

  async getAccount(id: AdminId): Promise<AdminAccountRecord | null> {
    const r = this.s.account.get(id) as AccountRow | undefined;
    return r ? this.accountFrom(r) : null;
  }

  async getAccountByUsername(username: string): Promise<AdminAccountRecord | null> {
    const r = this.s.accountByName.get(username) as AccountRow | undefined;
    return r ? this.accountFrom(r) : null;
  }

  async listAccounts(): Promise<AdminAccountRecord[]> {
    return (this.s.accounts.all() as AccountRow[]).map((r) => this.accountFrom(r));
  }

  async updateAccount(id: AdminId, patch: { displayName?: string; disabled?: boolean; passwordHash?: string; passwordChangedAt?: number }): Promise<AdminAccountRecord> {
    const sets: string[] = [];
    const args: (string | number)[] = [];
    if (patch.displayName !== undefined) {
      sets.push('display_name = ?');
      args.push(patch.displayName);
    }
    if (patch.disabled !== undefined) {
      sets.push('disabled = ?');
      args.push(patch.disabled ? 1 : 0);
    }
    if (patch.passwordHash !== undefined) {
      sets.push('password_hash = ?');
      args.push(patch.passwordHash);
    }
    if (patch.passwordChangedAt !== undefined) {
      sets.push('password_changed_at = ?');
      args.push(patch.passwordChangedAt);
    }
    return this.db.transaction(() => {
      if (sets.length > 0) this.db.prepare(`UPDATE admin_accounts SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
      if (patch.disabled) this.checkSupers();
      return this.mustAccount(id);
    }).immediate();
  }

  async deleteAccount(id: AdminId): Promise<void> {
    this.db.transaction(() => {
      this.s.delAccount.run(id);
      this.checkSupers();
    }).immediate();
  }

  async setAccountRoles(id: AdminId, roleIds: RoleId[]): Promise<AdminAccountRecord> {
    return this.db.transaction(() => {
      this.s.delAccountRoles.run(id);
      for (const r of roleIds) this.s.insAccountRole.run(id, r);
      this.checkSupers();
      return this.mustAccount(id);
    }).immediate();
  }

  async builtinRole(): Promise<RoleRecord> {
    const r = this.s.builtin.get() as RoleRow | undefined;
    if (!r) throw new Error('the built-in super-admin role is missing');
    return this.roleFrom(r);
  }

  async getRole(id: RoleId): Promise<RoleRecord | null> {
    const r = this.s.role.get(id) as RoleRow | undefined;
    return r ? this.roleFrom(r) : null;
  }

  async getRoles(ids: RoleId[]): Promise<RoleRecord[]> {
    const out: RoleRecord[] = [];
    for (const id of new Set(ids)) {
      const r = this.s.role.get(id) as RoleRow | undefined;
      if (r) out.push(this.roleFrom(r));
    }
    return out;
  }

  async listRoles(): Promise<RoleRecord[]> {
    return (this.s.roles.all() as RoleRow[]).map((r) => this.roleFrom(r));
  }

  async createRole(role: NewRole, now: number): Promise<RoleRecord> {
    return this.db.transaction(() => {
      const id = unique('role name', () => this.s.insRole.run(role.name, role.wholeOrg ? 1 : 0, now, now).lastInsertRowid);
      for (const r of role.rights) this.s.insRight.run(id, r);
      for (const d of role.scopeDeptIds) this.s.insScope.run(id, d);
      return this.roleFrom(this.s.role.get(id) as RoleRow);
    })();
  }

  async updateRole(id: RoleId, patch: Partial<NewRole>, now: number): Promise<RoleRecord> {
    return this.db.transaction(() => {
      const sets = ['updated_at = ?'];
      const args: (string | number)[] = [now];
      if (patch.name !== undefined) {
      sets.push('name = ?');
      args.push(patch.name);
    }
      if (patch.wholeOrg !== undefined) {
      sets.push('whole_org = ?');
      args.push(patch.wholeOrg ? 1 : 0);
    }
      unique('role name', () => this.db.prepare(`UPDATE admin_roles SET ${sets.join(', ')} WHERE id = ? AND builtin = 0`).run(...args, id));
      if (patch.rights !== undefined) {
        this.s.delRights.run(id);
        for (const r of patch.rights) this.s.insRight.run(id, r);
      }
      if (patch.scopeDeptIds !== undefined) {
        this.s.delScopes.run(id);
        for (const d of patch.scopeDeptIds) this.s.insScope.run(id, d);
      }
      const row = this.s.role.get(id) as RoleRow | undefined;
      if (!row) throw new Error(`role ${id} does not exist`);
      return this.roleFrom(row);
    })();
  }

  async deleteRole(id: RoleId): Promise<void> {
    this.s.delRole.run(id);
  }

  async roleHolders(id: RoleId): Promise<number> {
    return (this.s.holders.get(id) as { n: number }).n;
  }

  async createSession(s: SessionRecord, maxPerAccount: number): Promise<void> {
    this.db.transaction(() => {
      this.s.insSession.run(s);
      this.s.trimSessions.run(s.accountId, s.accountId, maxPerAccount);
    })();
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const r = this.s.session.get(tokenHash) as SessionRow | undefined;
    return r
      ? {
          tokenHash: r.token_hash, accountId: r.account_id as AdminId, csrfToken: r.csrf_token, createdAt: r.created_at, lastSeenAt: r.last_seen_at,
          expiresAt: r.expires_at, address: r.address, userAgent: r.user_agent,
        }
      : null;
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    this.s.touch.run(at, tokenHash);
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.s.delSession.run(tokenHash);
  }

  async deleteAccountSessions(id: AdminId, keep?: string): Promise<number> {
    return this.s.delAccountSessions.run(id, keep ?? '').changes;
  }

  async purgeSessions(now: number, idleBefore: number): Promise<number> {
    return this.s.purge.run(now, idleBefore).changes;
  }

  async appendLog(e: NewActionLogEntry): Promise<number> {
    return Number(this.s.insLog.run(e).lastInsertRowid);
  }

  async queryLog(q: ActionLogQuery & { limit: number; offset: number }): Promise<{ total: number; entries: ActionLogEntry[] }> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.from !== undefined) {
      where.push('at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      args.push(q.to);
    }
    if (q.adminId !== undefined) {
      where.push('admin_id = ?');
      args.push(q.adminId);
    }
    if (q.action !== undefined) {
      if (q.action.endsWith('*')) {
        where.push("action LIKE ? ESCAPE '\\'");
        args.push(likePrefix(q.action.slice(0, -1)));
      } else {
        where.push('action = ?');
        args.push(q.action);
      }
    }
    if (q.targetKind !== undefined) {
      where.push('target_kind = ?');
      args.push(q.targetKind);
    }
    if (q.targetId !== undefined) {
      where.push('target_id = ?');
      args.push(q.targetId);
    }
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM admin_action_log ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM admin_action_log ${w} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as LogRow[];
    return {
      total,
      entries: rows.map((r) => ({
        id: r.id, at: r.at, adminId: r.admin_id as AdminId | null, adminUsername: r.admin_username, action: r.action, targetKind: r.target_kind,
        targetId: r.target_id, targetLabel: r.target_label, before: parseJson(r.before_json), after: parseJson(r.after_json), address: r.address,
      })),
    };
  }
}
