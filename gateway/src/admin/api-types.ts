/**
 * The shapes the admin API sends and accepts (docs/admin-api.md). Types only:
 * the console imports this file and nothing else from the server.
 */
import type { DeptId } from '../protocol/client-v1.js';
import type { Right } from './rights.js';
import type { AdminId, RoleId } from './types.js';

/** A department in a scope, with its path for display ("销售部/华东大区"). */
export interface ScopeDeptView {
  id: DeptId;
  path: string;
}

export interface AdminView {
  id: AdminId;
  username: string;
  displayName: string;
  disabled: boolean;
  createdAt: number;
  passwordChangedAt: number;
  roles: { id: RoleId; name: string; builtin: boolean }[];
}

export interface RoleView {
  id: RoleId;
  name: string;
  builtin: boolean;
  /** True for the built-in role and for roles over the whole organisation. */
  wholeOrg: boolean;
  rights: Right[];
  /** Empty when wholeOrg; for other roles, empty means no department at all. */
  scope: ScopeDeptView[];
}

/** GET /api/admin/me (and, with the session fields, the login and setup answers). */
export interface MeView {
  id: AdminId;
  username: string;
  displayName: string;
  superAdmin: boolean;
  /** Every right of every role, in display order. */
  rights: Right[];
  /** null: the whole organisation; else the union of the roles' scope departments. */
  scope: ScopeDeptView[] | null;
  roles: RoleView[];
}

export interface SessionView {
  /** Send as the x-csrf-token header on every POST/PUT/PATCH/DELETE. */
  csrfToken: string;
  /** Absolute end of the session, ms since the epoch. */
  expiresAt: number;
}

/** The answer of POST /api/admin/login and POST /api/admin/setup/admin. */
export type LoginView = MeView & SessionView & { idleTimeoutSeconds: number };

/** Creating or changing a role; checked on the server. */
export interface RoleInput {
  name: unknown;
  rights: unknown;
  scopeDeptIds?: unknown;
  wholeOrg?: unknown;
}
