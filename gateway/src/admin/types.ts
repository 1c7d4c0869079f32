import type { DeptId } from '../protocol/client-v1.js';
import type { Right } from './rights.js';

export type AdminId = number & { readonly __brand: 'AdminId' };
export type RoleId = number & { readonly __brand: 'RoleId' };

export interface AdminAccountRecord {
  id: AdminId;
  /** Fixed after creation; unique without regard to case. */
  username: string;
  displayName: string;
  passwordHash: string;
  disabled: boolean;
  createdAt: number;
  passwordChangedAt: number;
  roleIds: RoleId[];
}

export interface RoleRecord {
  id: RoleId;
  name: string;
  /** The built-in super-admin role: every right over the whole organisation; cannot be changed or deleted. */
  builtin: boolean;
  /** No scope rows and this flag: the role's rights reach the whole organisation. */
  wholeOrg: boolean;
  /** Stored rights (empty for the built-in role, whose rights are implicit). */
  rights: Right[];
  /** Roots of the department subtrees the role may manage. */
  scopeDeptIds: DeptId[];
  createdAt: number;
  updatedAt: number;
}

export interface NewRole {
  name: string;
  wholeOrg: boolean;
  rights: Right[];
  scopeDeptIds: DeptId[];
}

export interface SessionRecord {
  /** SHA-256 of the cookie token (base64url). */
  tokenHash: string;
  accountId: AdminId;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end of the session, whatever its use. */
  expiresAt: number;
  address: string | null;
  userAgent: string | null;
}

export interface ActionLogEntry {
  id: number;
  at: number;
  /** null for actions taken through the local `huitong` command or by someone not logged in. */
  adminId: AdminId | null;
  adminUsername: string;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  targetLabel: string | null;
  before: unknown;
  after: unknown;
  address: string | null;
}

export type NewActionLogEntry = Omit<ActionLogEntry, 'id' | 'before' | 'after'> & { beforeJson: string | null; afterJson: string | null };

export interface ActionLogQuery {
  /** Inclusive lower bound, ms since the epoch. */
  from?: number;
  /** Exclusive upper bound, ms since the epoch. */
  to?: number;
  adminId?: AdminId;
  /** An exact action, or a prefix ending in `*` (`role.*`). */
  action?: string;
  targetKind?: string;
  targetId?: string;
  limit?: number;
  offset?: number;
}

/** The super-admin role would be left without an enabled member. Repositories throw it and roll back. */
export class LastSuperAdminError extends Error {
  constructor() {
    super('the last enabled super-administrator cannot be removed');
    this.name = 'LastSuperAdminError';
  }
}

/** A unique constraint (username, role name) refused the write. */
export class AdminUniqueViolation extends Error {
  constructor(readonly what: 'username' | 'role name') {
    super(`unique constraint: ${what}`);
    this.name = 'AdminUniqueViolation';
  }
}

/**
 * Storage of administrators, roles, sessions and the action log. Each call is
 * atomic. Calls that could leave the built-in role without an enabled member
 * (`setAccountRoles`, `updateAccount` with `disabled`, `deleteAccount`) check
 * that inside their transaction and reject with LastSuperAdminError, changing
 * nothing. Unique violations reject with AdminUniqueViolation. Nothing else is
 * expected to throw but storage failures.
 */
export interface AdminRepo {
  countAccounts(): Promise<number>;
  /**
   * Creates the first administrator with the built-in role, only if no
   * administrator exists, in one transaction that holds the write lock across
   * the check and the insert. Resolves null when one already existed.
   */
  createFirstAccount(username: string, displayName: string, passwordHash: string, now: number): Promise<AdminAccountRecord | null>;
  createAccount(username: string, displayName: string, passwordHash: string, roleIds: RoleId[], now: number): Promise<AdminAccountRecord>;
  getAccount(id: AdminId): Promise<AdminAccountRecord | null>;
  getAccountByUsername(username: string): Promise<AdminAccountRecord | null>;
  listAccounts(): Promise<AdminAccountRecord[]>;
  updateAccount(id: AdminId, patch: { displayName?: string; disabled?: boolean; passwordHash?: string; passwordChangedAt?: number }): Promise<AdminAccountRecord>;
  deleteAccount(id: AdminId): Promise<void>;
  setAccountRoles(id: AdminId, roleIds: RoleId[]): Promise<AdminAccountRecord>;

  builtinRole(): Promise<RoleRecord>;
  getRole(id: RoleId): Promise<RoleRecord | null>;
  getRoles(ids: RoleId[]): Promise<RoleRecord[]>;
  listRoles(): Promise<RoleRecord[]>;
  createRole(role: NewRole, now: number): Promise<RoleRecord>;
  updateRole(id: RoleId, patch: Partial<NewRole>, now: number): Promise<RoleRecord>;
  deleteRole(id: RoleId): Promise<void>;
  /** How many accounts hold the role. */
  roleHolders(id: RoleId): Promise<number>;

  createSession(s: SessionRecord, maxPerAccount: number): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRecord | null>;
  touchSession(tokenHash: string, at: number): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes the account's sessions, except `keep` when given; resolves how many went. */
  deleteAccountSessions(id: AdminId, keep?: string): Promise<number>;
  /** Deletes sessions past their absolute end or idle since before `idleBefore`. */
  purgeSessions(now: number, idleBefore: number): Promise<number>;

  appendLog(e: NewActionLogEntry): Promise<number>;
  queryLog(q: ActionLogQuery & { limit: number; offset: number }): Promise<{ total: number; entries: ActionLogEntry[] }>;
}
