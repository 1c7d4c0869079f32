import type { Bus } from '../bus/bus.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId, DeptView, GroupId, GroupView, UserId, UserView } from '../protocol/client-v1.js';
import type { SettingsStore } from '../settings/settings.js';
import { nameToPinyin } from './pinyin.js';
import { GroupLimitExceeded, UniqueViolation, type DeptRecord, type DirectoryRepo, type Gender, type GroupRecord, type UserPatch, type UserRecord, type UserSearch } from './types.js';

export const ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MOBILE_RE = /^\+?[0-9][0-9 -]{4,19}$/;
export const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
// eslint-disable-next-line no-control-regex
export const CONTROL_RE = /[\u0000-\u001f\u007f]/;
export const MAX_NAME_CHARS = 64;
/** Result pages stay under this many bytes of JSON, well inside MAX_FRAME_BYTES. */
export const PAGE_BUDGET_BYTES = 192 * 1024;

function checkName(what: string, name: unknown, extra?: (n: string) => string | null): string {
  if (typeof name !== 'string') throw new GatewayError('GW_BAD_REQUEST', `${what} is required`);
  const n = name.trim();
  if (n.length === 0) throw new GatewayError('GW_BAD_REQUEST', `${what} must not be empty`);
  if ([...n].length > MAX_NAME_CHARS) throw new GatewayError('GW_BAD_REQUEST', `${what} is longer than ${MAX_NAME_CHARS} characters`);
  if (CONTROL_RE.test(n)) throw new GatewayError('GW_BAD_REQUEST', `${what} contains control characters`);
  const more = extra?.(n);
  if (more) throw new GatewayError('GW_BAD_REQUEST', more);
  return n;
}

function checkOptional(what: string, v: unknown, re: RegExp): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !re.test(v.trim())) throw new GatewayError('GW_BAD_REQUEST', `${what} is not valid: ${String(v).slice(0, 40)}`);
  return v.trim();
}

export function checkAccount(account: unknown): string {
  if (typeof account !== 'string' || !ACCOUNT_RE.test(account)) {
    throw new GatewayError('GW_BAD_REQUEST', 'account must be 1–64 characters of letters, digits, . _ @ - and start with a letter or digit');
  }
  return account;
}

export interface UserInput {
  account: string;
  name: string;
  /** Departments; the first is the main one unless mainDeptId says otherwise. */
  deptIds?: DeptId[];
  mainDeptId?: DeptId;
  passwordHash?: string | null;
  mobile?: string;
  email?: string;
  phone?: string;
  title?: string;
  gender?: Gender;
  authorised?: boolean;
  /** 'active' when absent; a user created disabled is never authorised. */
  status?: 'active' | 'disabled';
  order?: number;
  origin?: string;
  externalId?: string | null;
}

export interface UserEdit {
  account?: string;
  name?: string;
  deptIds?: DeptId[];
  mainDeptId?: DeptId;
  mobile?: string;
  email?: string;
  phone?: string;
  title?: string;
  gender?: Gender;
  order?: number;
}

/**
 * The organisation: departments, people, groups, and who may log in. Every
 * change that takes access away (block, disable, de-authorise, delete)
 * announces `user.revoked` so live sessions close at once.
 */
export class DirectoryService {
  constructor(
    private readonly repo: DirectoryRepo,
    private readonly settings: SettingsStore,
    private readonly bus: Bus,
  ) {}

  private changed(version: number): void {
    this.bus.publish({ type: 'dir.changed', version });
  }

  private async mustDept(id: DeptId): Promise<DeptRecord> {
    const d = await this.repo.getDept(id);
    if (!d) throw new GatewayError('GW_NOT_FOUND', `department ${id} does not exist`);
    return d;
  }

  async mustUser(id: UserId): Promise<UserRecord> {
    const u = await this.repo.getUser(id);
    if (!u) throw new GatewayError('GW_NOT_FOUND', `user ${id} does not exist`);
    return u;
  }

  async mustUserByAccount(account: string): Promise<UserRecord> {
    const u = await this.repo.getUserByAccount(account);
    if (!u) throw new GatewayError('GW_NOT_FOUND', `no user with account ${account}`);
    return u;
  }

  async mustGroup(id: GroupId): Promise<GroupRecord> {
    const g = await this.repo.getGroup(id);
    if (!g) throw new GatewayError('GW_NOT_FOUND', `group ${id} does not exist`);
    return g;
  }

  version(): Promise<number> {
    return this.repo.currentVersion();
  }

  // ---- departments ----

  /** With `id` (a positive integer), the department gets that id; a taken id is GW_CONFLICT. */
  async createDept(parentId: DeptId | null, name: string, order = 0, origin = 'local', externalId: string | null = null, id?: DeptId): Promise<DeptRecord> {
    const n = checkName('department name', name, (x) => (x.includes('/') ? 'department name must not contain /' : null));
    if (id !== undefined && !(Number.isSafeInteger(id) && id > 0)) throw new GatewayError('GW_BAD_REQUEST', 'a department id must be a positive integer');
    if (parentId !== null) await this.mustDept(parentId);
    try {
      const d = await this.repo.createDept(parentId, n, order, origin, externalId, id);
      this.changed(d.version);
      return d;
    } catch (e) {
      if (e instanceof UniqueViolation && e.what === 'department id') throw new GatewayError('GW_CONFLICT', `department id ${String(id)} is taken`);
      if (e instanceof UniqueViolation) throw new GatewayError('GW_CONFLICT', `a department named ${n} already exists there`);
      throw e;
    }
  }

  /** Resolves "研发部/平台组", creating missing levels when `create` is set. */
  async deptByPath(pathText: string, create: boolean): Promise<DeptRecord> {
    const parts = pathText.split('/').map((p) => p.trim()).filter(Boolean);
    if (parts.length === 0) throw new GatewayError('GW_BAD_REQUEST', 'department path is empty');
    let parent: DeptRecord | null = null;
    for (const part of parts) {
      const found: DeptRecord | null = await this.repo.findChildDept(parent?.id ?? null, part);
      if (found) parent = found;
      else if (create) parent = await this.createDept(parent?.id ?? null, part);
      else throw new GatewayError('GW_NOT_FOUND', `no department ${parts.slice(0, parts.indexOf(part) + 1).join('/')}`);
    }
    return parent as DeptRecord;
  }

  async renameDept(id: DeptId, name: string): Promise<DeptRecord> {
    await this.mustDept(id);
    const n = checkName('department name', name, (x) => (x.includes('/') ? 'department name must not contain /' : null));
    try {
      const d = await this.repo.updateDept(id, { name: n });
      this.changed(d.version);
      return d;
    } catch (e) {
      if (e instanceof UniqueViolation) throw new GatewayError('GW_CONFLICT', `a department named ${n} already exists there`);
      throw e;
    }
  }

  async moveDept(id: DeptId, newParentId: DeptId | null, order?: number): Promise<DeptRecord> {
    const dept = await this.mustDept(id);
    for (let cur = newParentId; cur !== null; ) {
      if (cur === id) throw new GatewayError('GW_DEPT_CYCLE', `cannot move ${dept.name} under itself or one of its sub-departments`);
      cur = (await this.mustDept(cur)).parentId;
    }
    try {
      const d = await this.repo.updateDept(id, { parentId: newParentId, ...(order !== undefined ? { order } : {}) });
      this.changed(d.version);
      return d;
    } catch (e) {
      if (e instanceof UniqueViolation) throw new GatewayError('GW_CONFLICT', `a department named ${dept.name} already exists there`);
      throw e;
    }
  }

  async deleteDept(id: DeptId): Promise<void> {
    const dept = await this.mustDept(id);
    const c = await this.repo.deptContents(id);
    if (c.users > 0 || c.subDepts > 0) {
      const what = [c.users > 0 ? `${c.users} member(s)` : '', c.subDepts > 0 ? `${c.subDepts} sub-department(s)` : ''].filter(Boolean).join(' and ');
      throw new GatewayError('GW_DEPT_NOT_EMPTY', `${dept.name} still has ${what}; move or delete them first`, { details: c });
    }
    await this.repo.deleteDept(id);
    this.changed(await this.repo.currentVersion());
  }

  // ---- users ----

  async createUser(input: UserInput): Promise<UserRecord> {
    const account = checkAccount(input.account);
    const name = checkName('name', input.name);
    const depts = await this.deptMemberships(input.deptIds ?? [], input.mainDeptId);
    const py = nameToPinyin(name);
    try {
      const u = await this.repo.createUser({
        account, name, pinyin: py.full, pinyinInitials: py.initials,
        mobile: checkOptional('mobile', input.mobile, MOBILE_RE), email: checkOptional('email', input.email, EMAIL_RE),
        phone: checkOptional('phone', input.phone, MOBILE_RE), title: input.title ? checkName('title', input.title) : '',
        gender: input.gender ?? 'unknown', status: input.status ?? 'active', authorised: input.status === 'disabled' ? false : (input.authorised ?? false),
        passwordHash: input.passwordHash ?? null, order: input.order ?? 0, origin: input.origin ?? 'local', externalId: input.externalId ?? null, depts,
      });
      this.changed(u.version);
      return u;
    } catch (e) {
      if (e instanceof UniqueViolation) throw new GatewayError('GW_CONFLICT', `account ${account} is already taken`);
      throw e;
    }
  }

  private async deptMemberships(deptIds: DeptId[], mainDeptId?: DeptId): Promise<{ deptId: DeptId; main: boolean }[]> {
    const unique = [...new Set(deptIds)];
    for (const d of unique) await this.mustDept(d);
    if (mainDeptId !== undefined && !unique.includes(mainDeptId)) throw new GatewayError('GW_BAD_REQUEST', 'the main department must be one of the departments');
    const main = mainDeptId ?? unique[0];
    return unique.map((deptId) => ({ deptId, main: deptId === main }));
  }

  /** Edits a profile. With expectedRowVersion, a concurrent edit since that version is refused (GW_CONFLICT). */
  async editUser(id: UserId, edit: UserEdit, expectedRowVersion?: number): Promise<UserRecord> {
    const cur = await this.mustUser(id);
    const patch: UserPatch = {};
    if (edit.account !== undefined) patch.account = checkAccount(edit.account);
    if (edit.name !== undefined) {
      patch.name = checkName('name', edit.name);
      const py = nameToPinyin(patch.name);
      patch.pinyin = py.full;
      patch.pinyinInitials = py.initials;
    }
    if (edit.mobile !== undefined) patch.mobile = checkOptional('mobile', edit.mobile, MOBILE_RE);
    if (edit.email !== undefined) patch.email = checkOptional('email', edit.email, EMAIL_RE);
    if (edit.phone !== undefined) patch.phone = checkOptional('phone', edit.phone, MOBILE_RE);
    if (edit.title !== undefined) patch.title = edit.title === '' ? '' : checkName('title', edit.title);
    if (edit.gender !== undefined) {
      if (!['male', 'female', 'unknown'].includes(edit.gender)) throw new GatewayError('GW_BAD_REQUEST', 'gender must be male, female or unknown');
      patch.gender = edit.gender;
    }
    if (edit.order !== undefined) patch.order = edit.order;
    if (edit.deptIds !== undefined || edit.mainDeptId !== undefined) {
      patch.depts = await this.deptMemberships(edit.deptIds ?? cur.depts.map((d) => d.deptId), edit.mainDeptId);
    }
    return this.patchUser(id, patch, expectedRowVersion);
  }

  private async patchUser(id: UserId, patch: UserPatch, expectedRowVersion?: number): Promise<UserRecord> {
    try {
      const u = await this.repo.updateUser(id, patch, expectedRowVersion);
      this.changed(u.version);
      return u;
    } catch (e) {
      if (e instanceof UniqueViolation) {
        if (e.what === 'rowVersion') throw new GatewayError('GW_CONFLICT', 'someone else changed this user meanwhile; reload and try again');
        throw new GatewayError('GW_CONFLICT', `account ${patch.account ?? ''} is already taken`);
      }
      throw e;
    }
  }

  async setPasswordHash(id: UserId, passwordHash: string): Promise<void> {
    await this.mustUser(id);
    await this.repo.updateUser(id, { passwordHash });
  }

  async setBlocked(id: UserId, blocked: boolean): Promise<UserRecord> {
    await this.mustUser(id);
    const u = await this.patchUser(id, { blocked });
    if (blocked) this.bus.publish({ type: 'user.revoked', userId: id, code: 'GW_USER_BLOCKED' });
    return u;
  }

  async setAuthorised(id: UserId, authorised: boolean): Promise<UserRecord> {
    await this.mustUser(id);
    const u = await this.patchUser(id, { authorised, authDecided: true });
    if (!authorised) this.bus.publish({ type: 'user.revoked', userId: id, code: 'GW_USER_UNAUTHORISED' });
    return u;
  }

  async setStatus(id: UserId, status: 'active' | 'disabled'): Promise<UserRecord> {
    await this.mustUser(id);
    const u = await this.patchUser(id, { status });
    if (status === 'disabled') this.bus.publish({ type: 'user.revoked', userId: id, code: 'GW_USER_DISABLED' });
    return u;
  }

  async deleteUser(id: UserId): Promise<void> {
    await this.mustUser(id);
    await this.repo.deleteUser(id);
    this.bus.publish({ type: 'user.revoked', userId: id, code: 'GW_USER_DISABLED' });
    this.changed(await this.repo.currentVersion());
  }

  /** A page of users matching every filter given, filtered and paged by the repository. */
  searchUsers(q: UserSearch) {
    return this.repo.searchUsers(q);
  }

  countUsers(filter?: { authorised?: boolean; status?: 'active' | 'disabled' }) {
    return this.repo.countUsers(filter);
  }

  getUser(id: UserId) {
    return this.repo.getUser(id);
  }

  /** Ids of every active, authorised user (the recipients of a broadcast). */
  activeUserIds(): Promise<UserId[]> {
    return this.repo.activeUserIds();
  }

  getUserByAccount(account: string) {
    return this.repo.getUserByAccount(account);
  }

  getUsers(ids: UserId[]) {
    return this.repo.getUsers(ids);
  }

  // ---- groups ----

  async memberLimitFor(origin: string, ownerId: UserId | null): Promise<number> {
    if (ownerId !== null && (await this.repo.isLimitExempt(ownerId))) return Number.MAX_SAFE_INTEGER;
    const s = this.settings.get();
    return origin === 'rtx' ? s.rtxGroupMemberLimit : s.groupMemberLimit;
  }

  private async checkUsersExist(ids: UserId[]): Promise<void> {
    const found = await this.repo.getUsers(ids);
    if (found.length !== ids.length) {
      const have = new Set(found.map((u) => u.id));
      throw new GatewayError('GW_NOT_FOUND', `unknown user id(s): ${ids.filter((i) => !have.has(i)).slice(0, 10).join(', ')}`);
    }
  }

  async createGroup(name: string, ownerId: UserId | null, memberIds: UserId[], origin = 'local', externalId: string | null = null): Promise<GroupRecord> {
    const n = checkName('group name', name);
    const members = [...new Set([...(ownerId !== null ? [ownerId] : []), ...memberIds])];
    await this.checkUsersExist(members);
    const limit = await this.memberLimitFor(origin, ownerId);
    if (members.length > limit) throw new GatewayError('GW_GROUP_LIMIT', `a group may have at most ${limit} members; ${members.length} were given`);
    const g = await this.repo.createGroup(n, ownerId, members, origin, externalId);
    this.changed(g.version);
    return g;
  }

  async renameGroup(id: GroupId, name: string): Promise<GroupRecord> {
    await this.mustGroup(id);
    const g = await this.repo.updateGroup(id, { name: checkName('group name', name) });
    this.changed(g.version);
    return g;
  }

  async changeGroupMembers(id: GroupId, add: UserId[], remove: UserId[]): Promise<GroupRecord> {
    const g = await this.mustGroup(id);
    await this.checkUsersExist([...new Set(add)]);
    const after = new Set(g.memberIds);
    for (const a of add) after.add(a);
    for (const r of remove) after.delete(r);
    const limit = await this.memberLimitFor(g.origin, g.ownerId);
    const refuse = (n: number) => new GatewayError('GW_GROUP_LIMIT', `${g.name} may have at most ${limit} members; this change would make ${n}`);
    if (after.size > limit && after.size > g.memberIds.length) throw refuse(after.size);
    // checked again inside the write: another change may have filled the group meanwhile
    const updated = await this.repo.changeGroupMembers(id, add, remove, limit >= Number.MAX_SAFE_INTEGER ? undefined : limit).catch((err: unknown) => {
      throw err instanceof GroupLimitExceeded ? refuse(err.after) : err;
    });
    this.changed(updated.version);
    return updated;
  }

  async deleteGroup(id: GroupId): Promise<void> {
    await this.mustGroup(id);
    await this.repo.deleteGroup(id);
    this.changed(await this.repo.currentVersion());
  }

  groupMemberIds(id: GroupId): Promise<UserId[]> {
    return this.repo.groupMemberIds(id);
  }

  isGroupMember(id: GroupId, userId: UserId): Promise<boolean> {
    return this.repo.isGroupMember(id, userId);
  }

  getGroup(id: GroupId) {
    return this.repo.getGroup(id);
  }

  /** The group carrying this external id (an RTX session key or group id), or null. */
  groupByExternalId(externalId: string) {
    return this.repo.groupByExternalId(externalId);
  }

  findGroupsByName(name: string) {
    return this.repo.findGroupsByName(name);
  }

  groupsOfUser(userId: UserId) {
    return this.repo.groupsOfUser(userId);
  }

  setLimitExempt(userId: UserId, exempt: boolean) {
    return this.repo.setLimitExempt(userId, exempt);
  }

  limitExemptIds() {
    return this.repo.limitExemptIds();
  }

  groupIdsMatching(text: string) {
    return this.repo.groupIdsMatching(text);
  }

  listDepts() {
    return this.repo.listDepts();
  }

  childDepts(parentId: DeptId | null) {
    return this.repo.childDepts(parentId);
  }

  // ---- client views ----

  /**
   * A page of the whole directory for `viewer`: departments, then users, then
   * the viewer's groups, each in id order. A page holds at most `limit` items
   * per kind and stays under PAGE_BUDGET_BYTES of JSON, so it always fits a
   * frame; `nextCursor` (opaque) continues, null means done.
   */
  async snapshotPage(viewer: UserId, cursor: string | undefined, limit: number) {
    const version = await this.repo.currentVersion();
    const m = /^([dug]):(\d{1,15})$/.exec(cursor ?? 'd:0');
    if (!m) throw new GatewayError('GW_BAD_REQUEST', 'cursor is not valid');
    let phase = m[1] as 'd' | 'u' | 'g';
    let after = Number(m[2]);
    let budget = PAGE_BUDGET_BYTES;
    const page = { version, depts: [] as DeptView[], users: [] as UserView[], groups: [] as GroupView[], nextCursor: null as string | null };
    const take = <T extends { id: number }>(items: T[], into: T[]): boolean => {
      for (const it of items) {
        const size = Buffer.byteLength(JSON.stringify(it)) + 1;
        if (size > budget && (page.depts.length + page.users.length + page.groups.length) > 0) return false;
        budget -= size;
        into.push(it);
        after = it.id;
      }
      return true;
    };
    if (phase === 'd') {
      const depts = (await this.repo.listDepts()).filter((d) => d.id > after).sort((x, y) => x.id - y.id);
      const batch = depts.slice(0, limit).map(deptView);
      if (!take(batch, page.depts) || depts.length > limit) return { ...page, nextCursor: `d:${after}` };
      phase = 'u';
      after = 0;
    }
    if (phase === 'u') {
      const users = await this.repo.listUsers(after as UserId, limit);
      if (!take(users.map(userView), page.users) || users.length === limit) return { ...page, nextCursor: `u:${after}` };
      phase = 'g';
      after = 0;
    }
    const groups = (await this.repo.groupsOfUser(viewer)).filter((g) => g.id > after);
    const views = await Promise.all(groups.slice(0, limit).map((g) => this.groupView(g)));
    if (!take(views, page.groups) || groups.length > limit) return { ...page, nextCursor: `g:${after}` };
    return page;
  }

  async delta(viewer: UserId, since: number) {
    const ch = await this.repo.changesSince(since);
    const mine = ch.groups.filter((g) => g.memberIds.includes(viewer));
    // groups the viewer left look like removals to them
    const left = ch.groups.filter((g) => !g.memberIds.includes(viewer)).map((g) => g.id);
    const out = {
      version: ch.version,
      resetRequired: ch.resetRequired,
      depts: ch.depts.map(deptView),
      users: ch.users.map(userView),
      groups: await Promise.all(mine.map((g) => this.groupView(g))),
      removed: { depts: ch.removed.depts, users: ch.removed.users, groups: [...ch.removed.groups, ...left] },
    };
    // a delta too large for one frame: the client takes a (paged) snapshot instead
    if (Buffer.byteLength(JSON.stringify(out)) > PAGE_BUDGET_BYTES) {
      return { version: ch.version, resetRequired: true, depts: [], users: [], groups: [], removed: { depts: [], users: [], groups: [] } };
    }
    return out;
  }

  async groupView(g: GroupRecord): Promise<GroupView> {
    return { id: g.id, name: g.name, ownerId: g.ownerId, memberIds: g.memberIds, origin: g.origin, memberLimit: Math.min(await this.memberLimitFor(g.origin, g.ownerId), 2 ** 31 - 1), version: g.version };
  }
}

export function deptView(d: DeptRecord): DeptView {
  return { id: d.id, parentId: d.parentId, name: d.name, order: d.order, version: d.version };
}

export function userView(u: UserRecord): UserView {
  const main = u.depts.find((d) => d.main);
  return {
    id: u.id, account: u.account, name: u.name, pinyin: u.pinyin, mainDeptId: main?.deptId ?? null, deptIds: u.depts.map((d) => d.deptId),
    title: u.title, gender: u.gender, mobile: u.mobile, email: u.email, phone: u.phone, status: u.status, origin: u.origin, order: u.order, version: u.version,
  };
}
