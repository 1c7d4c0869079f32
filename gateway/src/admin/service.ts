import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from '../auth/password.js';
import { LockoutPolicy, WindowLimiter } from '../auth/rate-limit.js';
import { isLoopback, type SetupCode } from './setup-code.js';
import { hashToken } from '../auth/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import { adminTarget, logJson, roleTarget, type LogTarget } from './action-log.js';
import type { AdminView, MeView, RoleInput, RoleView, ScopeDeptView } from './api-types.js';
import type { DeptTree } from './dept-tree.js';
import { effectiveRights, effectiveRole, isSuperAdmin, Rbac, type AdminPrincipal, type EffectiveRole, type ScopeTarget } from './rbac.js';
import { Right } from './rights.js';
import {
  AdminUniqueViolation,
  LastSuperAdminError,
  type ActionLogEntry,
  type ActionLogQuery,
  type AdminAccountRecord,
  type AdminId,
  type AdminRepo,
  type RoleId,
  type RoleRecord,
} from './types.js';
import { checkBool, checkDeptIds, checkLogQuery, checkDisplayName, checkNewPassword, checkRights, checkRoleIds, checkRoleName, checkUsername } from './validate.js';

export const ADMIN_IDLE_TIMEOUT_MS = 30 * 60_000;
export const ADMIN_SESSION_LIFETIME_MS = 12 * 3_600_000;
/** last_seen_at moves at most this often, so a busy console is not a stream of writes. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;
export const MAX_SESSIONS_PER_ADMIN = 20;
export const MAX_LOG_PAGE = 500;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/** Who the action log names for the local `huitong` command and for failed logins. */
export const CLI_ACTOR = '(cli)';
export const ANONYMOUS_ACTOR = '(anonymous)';

export interface AdminPolicy {
  maxFailedLogins: number;
  lockoutSeconds: number;
  loginsPerMinutePerAddress: number;
  idleTimeoutMs?: number;
  absoluteLifetimeMs?: number;
}

/** Who does something and from where; every change is logged with both. */
export interface ActionContext {
  admin: AdminPrincipal;
  address: string | null;
}

export interface LoginResult {
  /** The cookie value: 256 random bits; only its hash is stored. */
  token: string;
  csrfToken: string;
  expiresAt: number;
  idleTimeoutMs: number;
  admin: AdminPrincipal;
}

export interface AdminSession {
  admin: AdminPrincipal;
  tokenHash: string;
  csrfToken: string;
  expiresAt: number;
}

/**
 * Console administrators (F-2.2) and delegated administration (F-3.9): the
 * first-run administrator, logins and sessions, roles with rights and
 * department scopes, and the action log. Every method that changes something
 * checks the caller's rights itself and writes the action log; no method ever
 * logs or returns a password or its hash.
 */
export class AdminService {
  readonly rbac: Rbac;
  private readonly perAddress: WindowLimiter;
  private readonly lockout: LockoutPolicy;
  private readonly idleMs: number;
  private readonly lifetimeMs: number;
  private dummyHash: Promise<string> | null = null;
  private setupDone = false;
  private setupCode: SetupCode | null = null;

  constructor(
    private readonly repo: AdminRepo,
    private readonly tree: DeptTree,
    policy: AdminPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.rbac = new Rbac(tree);
    this.perAddress = new WindowLimiter(policy.loginsPerMinutePerAddress, 60_000);
    this.lockout = new LockoutPolicy(policy.maxFailedLogins, policy.lockoutSeconds * 1000);
    this.idleMs = policy.idleTimeoutMs ?? ADMIN_IDLE_TIMEOUT_MS;
    this.lifetimeMs = policy.absoluteLifetimeMs ?? ADMIN_SESSION_LIFETIME_MS;
  }

  // ---- first run ----

  /** Requires `code` for setup requests from other machines (see SetupCode); created now when setup is pending. */
  async useSetupCode(code: SetupCode): Promise<void> {
    this.setupCode = code;
    if (await this.needsSetup()) code.ensure();
    else code.remove();
  }

  /** Whether creating the first administrator from `address` needs the setup code. */
  async setupCodeRequired(address: string | null): Promise<boolean> {
    return this.setupCode !== null && !isLoopback(address) && (await this.needsSetup());
  }

  /** True until the first administrator exists (then never again: the last super-administrator cannot be removed). */
  async needsSetup(): Promise<boolean> {
    if (this.setupDone) return false;
    this.setupDone = (await this.repo.countAccounts()) > 0;
    return !this.setupDone;
  }

  /**
   * Creates the first administrator, holding the built-in super-admin role.
   * Only while none exists: a concurrent second call gets GW_CONFLICT.
   */
  async createFirstAdmin(username: unknown, password: unknown, displayName?: unknown, address: string | null = null, setupCode?: unknown): Promise<AdminView> {
    if (await this.setupCodeRequired(address)) {
      // guessing is throttled like logins from that address
      const wait = this.perAddress.hit(`setup:${address}`, this.now());
      if (wait > 0) throw new GatewayError('GW_RATE_LIMITED', 'too many setup attempts from this address', { retryAfterMs: wait });
      if (!this.setupCode!.matches(setupCode)) {
        throw new GatewayError('GW_FORBIDDEN', `from another machine the setup code is needed: read ${this.setupCode!.file} on the appliance, or run "huitong admin setup-code"`, { details: { setupCodeRequired: true } });
      }
    }
    const name = checkUsername(username);
    const pw = checkNewPassword(password);
    const shown = checkDisplayName(displayName);
    if (!(await this.needsSetup())) throw new GatewayError('GW_CONFLICT', 'an administrator already exists; log in instead');
    const acct = await this.repo.createFirstAccount(name, shown, await hashPassword(pw), this.now());
    this.setupDone = true;
    if (!acct) throw new GatewayError('GW_CONFLICT', 'an administrator already exists; log in instead');
    this.setupCode?.remove();
    const view = await this.view(acct);
    await this.logAction({ id: acct.id, username: acct.username }, 'admin.setup', adminTarget(acct), null, view, address);
    return view;
  }

  // ---- login and sessions ----

  async login(username: unknown, password: unknown, address: string | null, userAgent: string | null): Promise<LoginResult> {
    if (typeof username !== 'string' || username.length === 0 || username.length > 64) throw new GatewayError('GW_BAD_REQUEST', 'username is required');
    if (typeof password !== 'string' || password.length === 0 || password.length > 1024) throw new GatewayError('GW_BAD_REQUEST', 'password is required');
    const now = this.now();
    const addrWait = address ? this.perAddress.hit(address, now) : 0;
    if (addrWait > 0) throw new GatewayError('GW_RATE_LIMITED', 'too many login attempts from this address', { retryAfterMs: addrWait });
    const locked = this.lockout.lockedFor(username, now);
    if (locked > 0) {
      await this.loginFailed(username, address, 'locked');
      throw new GatewayError('GW_ACCOUNT_LOCKED', `too many failed logins; try again in ${Math.ceil(locked / 60_000)} minute(s)`, { retryAfterMs: locked });
    }
    const acct = await this.repo.getAccountByUsername(username);
    // an unknown name costs the same scrypt as a known one, so timing does not tell which names exist
    const ok = acct ? await verifyPassword(password, acct.passwordHash) : (await verifyPassword(password, await this.dummy()), false);
    if (!acct || !ok) {
      this.lockout.fail(username, now);
      await this.loginFailed(username, address, 'wrong password');
      throw new GatewayError('GW_AUTH_FAILED', 'wrong username or password');
    }
    if (acct.disabled) {
      await this.loginFailed(username, address, 'disabled');
      throw new GatewayError('GW_FORBIDDEN', 'this administrator account is disabled');
    }
    this.lockout.succeed(username);
    await this.repo.purgeSessions(now, now - this.idleMs);
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = now + this.lifetimeMs;
    await this.repo.createSession(
      { tokenHash: hashToken(token), accountId: acct.id, csrfToken, createdAt: now, lastSeenAt: now, expiresAt, address, userAgent: userAgent?.slice(0, 256) ?? null },
      MAX_SESSIONS_PER_ADMIN,
    );
    const admin = await this.principal(acct);
    await this.logAction(admin, 'admin.login', adminTarget(acct), null, { userAgent: userAgent?.slice(0, 256) ?? null }, address);
    return { token, csrfToken, expiresAt, idleTimeoutMs: this.idleMs, admin };
  }

  private async loginFailed(username: string, address: string | null, reason: string): Promise<void> {
    await this.logAction({ id: null, username: ANONYMOUS_ACTOR }, 'admin.login_failed', { kind: 'admin', id: null, label: username.slice(0, 64) }, null, { reason }, address);
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }

  /**
   * The session behind a cookie token, with the administrator's roles as they
   * are now. Throws GW_TOKEN_INVALID when it is unknown, idle for longer than
   * the idle timeout, past its absolute lifetime, or its account is disabled.
   * Sliding: each use within the idle timeout extends it (recorded at most once a minute).
   */
  async authenticate(token: unknown): Promise<AdminSession> {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw new GatewayError('GW_TOKEN_INVALID', 'not logged in');
    const hash = hashToken(token);
    const s = await this.repo.getSession(hash);
    if (!s) throw new GatewayError('GW_TOKEN_INVALID', 'not logged in, or the session was ended; log in again');
    const now = this.now();
    if (now >= s.expiresAt || now - s.lastSeenAt >= this.idleMs) {
      await this.repo.deleteSession(hash);
      throw new GatewayError('GW_TOKEN_INVALID', 'the session expired; log in again');
    }
    const acct = await this.repo.getAccount(s.accountId);
    if (!acct || acct.disabled) {
      await this.repo.deleteSession(hash);
      throw new GatewayError('GW_TOKEN_INVALID', 'the session was ended; log in again');
    }
    if (now - s.lastSeenAt >= SESSION_TOUCH_INTERVAL_MS) await this.repo.touchSession(hash, now);
    return { admin: await this.principal(acct), tokenHash: hash, csrfToken: s.csrfToken, expiresAt: s.expiresAt };
  }

  /** Ends the session; unknown tokens are ignored. */
  async logout(token: unknown, address: string | null): Promise<void> {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) return;
    const hash = hashToken(token);
    const s = await this.repo.getSession(hash);
    if (!s) return;
    await this.repo.deleteSession(hash);
    const acct = await this.repo.getAccount(s.accountId);
    if (acct) await this.logAction({ id: acct.id, username: acct.username }, 'admin.logout', adminTarget(acct), null, null, address);
  }

  /** For the local `huitong admin reset-password` command: sets the password, ends the account's sessions and lifts a lockout. */
  async resetPassword(username: unknown, newPassword: unknown): Promise<{ username: string; sessionsEnded: number }> {
    const pw = checkNewPassword(newPassword);
    const acct = typeof username === 'string' ? await this.repo.getAccountByUsername(username) : null;
    if (!acct) throw new GatewayError('GW_NOT_FOUND', `no administrator named ${String(username).slice(0, 64)}`);
    await this.repo.updateAccount(acct.id, { passwordHash: await hashPassword(pw), passwordChangedAt: this.now() });
    const sessionsEnded = await this.repo.deleteAccountSessions(acct.id);
    this.lockout.succeed(acct.username);
    await this.logAction(null, 'admin.password_reset', adminTarget(acct), null, { password: 'changed', sessionsEnded }, null);
    return { username: acct.username, sessionsEnded };
  }

  /** Changes the caller's own password after checking the current one; their other sessions end. */
  async changeOwnPassword(ctx: ActionContext, session: { tokenHash: string }, current: unknown, next: unknown): Promise<void> {
    const pw = checkNewPassword(next);
    const acct = await this.mustAccount(ctx.admin.id);
    const locked = this.lockout.lockedFor(acct.username, this.now());
    if (locked > 0) throw new GatewayError('GW_ACCOUNT_LOCKED', `too many failed attempts; try again in ${Math.ceil(locked / 60_000)} minute(s)`, { retryAfterMs: locked });
    if (typeof current !== 'string' || !(await verifyPassword(current, acct.passwordHash))) {
      this.lockout.fail(acct.username, this.now());
      throw new GatewayError('GW_AUTH_FAILED', 'the current password is wrong');
    }
    await this.repo.updateAccount(acct.id, { passwordHash: await hashPassword(pw), passwordChangedAt: this.now() });
    const ended = await this.repo.deleteAccountSessions(acct.id, session.tokenHash);
    await this.logAction(ctx.admin, 'admin.password_change', adminTarget(acct), null, { password: 'changed', otherSessionsEnded: ended }, ctx.address);
  }

  // ---- rights ----

  private async principal(acct: AdminAccountRecord): Promise<AdminPrincipal> {
    const roles = (await this.repo.getRoles(acct.roleIds)).map(effectiveRole);
    return { id: acct.id, username: acct.username, displayName: acct.displayName || acct.username, roles };
  }

  /** See Rbac.authorise: GW_FORBIDDEN unless the administrator holds the right over the whole target. */
  authorise(admin: AdminPrincipal, right: Right, target?: ScopeTarget): Promise<void> {
    return this.rbac.authorise(admin, right, target);
  }

  /** See Rbac.scopeFilter: the departments a list endpoint may show, null for all. */
  scopeFilter(admin: AdminPrincipal, right?: Right): Promise<Set<DeptId> | null> {
    return this.rbac.scopeFilter(admin, right);
  }

  /** What the console shows about the logged-in administrator. */
  async me(admin: AdminPrincipal): Promise<MeView> {
    const wholeOrg = admin.roles.some((r) => r.wholeOrg);
    return {
      id: admin.id,
      username: admin.username,
      displayName: admin.displayName,
      superAdmin: isSuperAdmin(admin),
      rights: effectiveRights(admin),
      scope: wholeOrg ? null : await this.scopeView([...new Set(admin.roles.flatMap((r) => r.scopeDeptIds))]),
      roles: await Promise.all(admin.roles.map((r) => this.effectiveRoleView(r))),
    };
  }

  private async scopeView(ids: readonly DeptId[]): Promise<ScopeDeptView[]> {
    const out: ScopeDeptView[] = [];
    for (const id of ids) {
      const path = await this.tree.deptPath(id);
      if (path !== null) out.push({ id, path });
    }
    return out;
  }

  private async effectiveRoleView(r: EffectiveRole): Promise<RoleView> {
    return { id: r.id, name: r.name, builtin: r.builtin, wholeOrg: r.wholeOrg, rights: [...r.rights], scope: await this.scopeView(r.scopeDeptIds) };
  }

  private roleView(r: RoleRecord): Promise<RoleView> {
    return this.effectiveRoleView(effectiveRole(r));
  }

  private async grantable(actor: AdminPrincipal, roles: RoleRecord[]): Promise<void> {
    for (const r of roles) {
      const problem = await this.rbac.grantProblem(actor, effectiveRole(r));
      if (problem) throw new GatewayError('GW_FORBIDDEN', problem);
    }
  }

  // ---- roles ----

  async listRoles(ctx: ActionContext): Promise<(RoleView & { holders: number })[]> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const roles = await this.repo.listRoles();
    return Promise.all(roles.map(async (r) => ({ ...(await this.roleView(r)), holders: await this.repo.roleHolders(r.id) })));
  }

  private async mustRole(id: RoleId): Promise<RoleRecord> {
    const r = await this.repo.getRole(id);
    if (!r) throw new GatewayError('GW_NOT_FOUND', `role ${id} does not exist`);
    return r;
  }

  private async existingDepts(ids: DeptId[]): Promise<DeptId[]> {
    for (const id of ids) if ((await this.tree.deptPath(id)) === null) throw new GatewayError('GW_NOT_FOUND', `department ${id} does not exist`);
    return ids;
  }

  private static scopeShape(wholeOrg: boolean, scope: DeptId[]): void {
    if (wholeOrg && scope.length > 0) throw new GatewayError('GW_BAD_REQUEST', 'a role covers either the whole organisation or a list of departments, not both');
  }

  async createRole(ctx: ActionContext, input: RoleInput): Promise<RoleView> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const name = checkRoleName(input.name);
    const rights = checkRights(input.rights);
    const wholeOrg = input.wholeOrg === undefined ? false : checkBool('wholeOrg', input.wholeOrg);
    const scopeDeptIds = await this.existingDepts(input.scopeDeptIds === undefined ? [] : checkDeptIds(input.scopeDeptIds));
    AdminService.scopeShape(wholeOrg, scopeDeptIds);
    const now = this.now();
    await this.grantable(ctx.admin, [{ id: 0 as RoleId, name, builtin: false, wholeOrg, rights, scopeDeptIds, createdAt: now, updatedAt: now }]);
    const role = await uniqueName(() => this.repo.createRole({ name, rights, scopeDeptIds, wholeOrg }, now), name);
    const view = await this.roleView(role);
    await this.logAction(ctx.admin, 'role.create', roleTarget(role), null, view, ctx.address);
    return view;
  }

  async updateRole(ctx: ActionContext, id: RoleId, patch: Partial<RoleInput>): Promise<RoleView> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const cur = await this.mustRole(id);
    if (cur.builtin) throw new GatewayError('GW_FORBIDDEN', `the built-in role ${cur.name} cannot be changed: it always has every right over the whole organisation`);
    const name = patch.name === undefined ? cur.name : checkRoleName(patch.name);
    const rights = patch.rights === undefined ? cur.rights : checkRights(patch.rights);
    const wholeOrg = patch.wholeOrg === undefined ? cur.wholeOrg : checkBool('wholeOrg', patch.wholeOrg);
    let scopeDeptIds = patch.scopeDeptIds === undefined ? cur.scopeDeptIds : await this.existingDepts(checkDeptIds(patch.scopeDeptIds));
    // switching to the whole organisation drops the old department list unless a new one was given
    if (wholeOrg && patch.scopeDeptIds === undefined) scopeDeptIds = [];
    AdminService.scopeShape(wholeOrg, scopeDeptIds);
    const next: RoleRecord = { ...cur, name, rights, wholeOrg, scopeDeptIds };
    await this.grantable(ctx.admin, [cur, next]);
    const updated = await uniqueName(() => this.repo.updateRole(id, { name, rights, wholeOrg, scopeDeptIds }, this.now()), name);
    const view = await this.roleView(updated);
    await this.logAction(ctx.admin, 'role.update', roleTarget(updated), await this.roleView(cur), view, ctx.address);
    return view;
  }

  async deleteRole(ctx: ActionContext, id: RoleId): Promise<void> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const cur = await this.mustRole(id);
    if (cur.builtin) throw new GatewayError('GW_FORBIDDEN', `the built-in role ${cur.name} cannot be deleted`);
    await this.grantable(ctx.admin, [cur]);
    const holders = await this.repo.roleHolders(id);
    if (holders > 0) throw new GatewayError('GW_CONFLICT', `role ${cur.name} is still held by ${holders} administrator(s); take it from them first`, { details: { holders } });
    await this.repo.deleteRole(id);
    await this.logAction(ctx.admin, 'role.delete', roleTarget(cur), await this.roleView(cur), null, ctx.address);
  }

  // ---- administrator accounts ----

  private async mustAccount(id: AdminId): Promise<AdminAccountRecord> {
    const a = await this.repo.getAccount(id);
    if (!a) throw new GatewayError('GW_NOT_FOUND', `administrator ${id} does not exist`);
    return a;
  }

  private async mustRoles(ids: RoleId[]): Promise<RoleRecord[]> {
    const roles = await this.repo.getRoles(ids);
    if (roles.length !== ids.length) {
      const have = new Set(roles.map((r) => r.id));
      throw new GatewayError('GW_NOT_FOUND', `unknown role id(s): ${ids.filter((i) => !have.has(i)).join(', ')}`);
    }
    return roles;
  }

  /** The caller may manage an administrator only when they could grant every role that administrator holds. */
  private async manageable(actor: AdminPrincipal, target: AdminAccountRecord): Promise<void> {
    await this.grantable(actor, await this.repo.getRoles(target.roleIds));
  }

  private async view(a: AdminAccountRecord, roles?: Map<RoleId, RoleRecord>): Promise<AdminView> {
    const rs = roles ? a.roleIds.map((id) => roles.get(id)).filter((r): r is RoleRecord => !!r) : await this.repo.getRoles(a.roleIds);
    return {
      id: a.id, username: a.username, displayName: a.displayName || a.username, disabled: a.disabled, createdAt: a.createdAt, passwordChangedAt: a.passwordChangedAt,
      roles: rs.map((r) => ({ id: r.id, name: r.name, builtin: r.builtin })),
    };
  }

  async listAdmins(ctx: ActionContext): Promise<AdminView[]> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const roles = new Map((await this.repo.listRoles()).map((r) => [r.id, r] as const));
    return Promise.all((await this.repo.listAccounts()).map((a) => this.view(a, roles)));
  }

  async createAdmin(ctx: ActionContext, input: { username: unknown; password: unknown; displayName?: unknown; roleIds?: unknown }): Promise<AdminView> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const username = checkUsername(input.username);
    const pw = checkNewPassword(input.password);
    const displayName = checkDisplayName(input.displayName);
    const roleIds = input.roleIds === undefined ? [] : checkRoleIds(input.roleIds);
    await this.grantable(ctx.admin, await this.mustRoles(roleIds));
    let acct: AdminAccountRecord;
    try {
      acct = await this.repo.createAccount(username, displayName, await hashPassword(pw), roleIds, this.now());
    } catch (e) {
      if (e instanceof AdminUniqueViolation) throw new GatewayError('GW_CONFLICT', `the username ${username} is already taken`);
      throw e;
    }
    const view = await this.view(acct);
    await this.logAction(ctx.admin, 'admin.create', adminTarget(acct), null, view, ctx.address);
    return view;
  }

  /** Edits display name, disabled flag or password. The username is fixed: asking to change it is GW_BAD_REQUEST. */
  async updateAdmin(ctx: ActionContext, id: AdminId, patch: { displayName?: unknown; disabled?: unknown; password?: unknown; username?: unknown }): Promise<AdminView> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const cur = await this.mustAccount(id);
    if (patch.username !== undefined && patch.username !== cur.username) throw new GatewayError('GW_BAD_REQUEST', "an administrator's username cannot be changed");
    await this.manageable(ctx.admin, cur);
    const displayName = patch.displayName === undefined ? undefined : checkDisplayName(patch.displayName);
    const disabled = patch.disabled === undefined ? undefined : checkBool('disabled', patch.disabled);
    const password = patch.password === undefined ? undefined : checkNewPassword(patch.password);
    if (disabled && id === ctx.admin.id) throw new GatewayError('GW_FORBIDDEN', 'you cannot disable your own account');
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    const updated = await lastSuper(() =>
      this.repo.updateAccount(id, { displayName, disabled, ...(passwordHash ? { passwordHash, passwordChangedAt: this.now() } : {}) }), cur.username);
    if (disabled || passwordHash) await this.repo.deleteAccountSessions(id);
    const before = await this.view(cur);
    const after = await this.view(updated);
    await this.logAction(ctx.admin, 'admin.update', adminTarget(updated), before, passwordHash ? { ...after, password: 'changed' } : after, ctx.address);
    return after;
  }

  async deleteAdmin(ctx: ActionContext, id: AdminId): Promise<void> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    if (id === ctx.admin.id) throw new GatewayError('GW_FORBIDDEN', 'you cannot delete your own account');
    const cur = await this.mustAccount(id);
    await this.manageable(ctx.admin, cur);
    const before = await this.view(cur);
    await lastSuper(() => this.repo.deleteAccount(id), cur.username);
    await this.logAction(ctx.admin, 'admin.delete', adminTarget(cur), before, null, ctx.address);
  }

  /** Replaces the administrator's roles. The caller must be able to grant both the roles taken and the roles given. */
  async assignRoles(ctx: ActionContext, id: AdminId, roleIds: unknown): Promise<AdminView> {
    await this.rbac.authorise(ctx.admin, Right.Admins);
    const ids = checkRoleIds(roleIds);
    const cur = await this.mustAccount(id);
    await this.manageable(ctx.admin, cur);
    await this.grantable(ctx.admin, await this.mustRoles(ids));
    const updated = await lastSuper(() => this.repo.setAccountRoles(id, ids), cur.username);
    const before = await this.view(cur);
    const after = await this.view(updated);
    await this.logAction(ctx.admin, 'admin.roles', adminTarget(updated), before, after, ctx.address);
    return after;
  }

  // ---- action log ----

  /**
   * Appends to the administrator action log. `before`/`after` are stored as
   * JSON with every secret-named field (password, hash, token, key…) redacted.
   * `actor` null means the local `huitong` command.
   */
  async logAction(actor: { id: AdminId | null; username: string } | null, action: string, target: LogTarget | null, before: unknown, after: unknown, address: string | null): Promise<number> {
    return this.repo.appendLog({
      at: this.now(), adminId: actor?.id ?? null, adminUsername: actor?.username ?? CLI_ACTOR, action,
      targetKind: target?.kind ?? null, targetId: target?.id === null || target?.id === undefined ? null : String(target.id), targetLabel: target?.label ?? null,
      beforeJson: logJson(before), afterJson: logJson(after), address,
    });
  }

  /** Newest first, at most MAX_LOG_PAGE entries. The caller checks the `logs` right. */
  async queryLog(q: ActionLogQuery = {}): Promise<{ total: number; entries: ActionLogEntry[] }> {
    return this.repo.queryLog(checkLogQuery(q, MAX_LOG_PAGE));
  }
}

async function uniqueName<T>(fn: () => Promise<T>, name: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AdminUniqueViolation) throw new GatewayError('GW_CONFLICT', `a role named ${name} already exists`);
    throw e;
  }
}

async function lastSuper<T>(fn: () => Promise<T>, username: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LastSuperAdminError) {
      throw new GatewayError('GW_CONFLICT', `${username} is the last enabled super-administrator; give the super-admin role to another administrator first`);
    }
    throw e;
  }
}
