import type { DeptId, GroupId, UserId } from '../protocol/client-v1.js';

export type Gender = 'male' | 'female' | 'unknown';
export type UserStatus = 'active' | 'disabled';

export interface DeptRecord {
  id: DeptId;
  parentId: DeptId | null;
  name: string;
  order: number;
  origin: string;
  externalId: string | null;
  version: number;
}

export interface UserRecord {
  id: UserId;
  account: string;
  name: string;
  pinyin: string;
  pinyinInitials: string;
  mobile: string;
  email: string;
  phone: string;
  title: string;
  gender: Gender;
  status: UserStatus;
  authorised: boolean;
  /** An administrator (or auto-authorise at first login) has decided; auto-authorise no longer applies. */
  authDecided: boolean;
  blocked: boolean;
  passwordHash: string | null;
  order: number;
  origin: string;
  externalId: string | null;
  version: number;
  /** Optimistic-concurrency counter for edits; bumps on every change of the row. */
  rowVersion: number;
  depts: { deptId: DeptId; main: boolean }[];
}

export interface GroupRecord {
  id: GroupId;
  name: string;
  ownerId: UserId | null;
  origin: string;
  externalId: string | null;
  version: number;
  memberIds: UserId[];
}

export interface NewUser {
  account: string;
  name: string;
  pinyin: string;
  pinyinInitials: string;
  mobile: string;
  email: string;
  phone: string;
  title: string;
  gender: Gender;
  status: UserStatus;
  authorised: boolean;
  passwordHash: string | null;
  order: number;
  origin: string;
  externalId: string | null;
  depts: { deptId: DeptId; main: boolean }[];
}

export type UserPatch = Partial<Omit<NewUser, 'origin' | 'externalId'>> & { blocked?: boolean; authDecided?: boolean };

export interface DirectoryChanges {
  depts: DeptRecord[];
  users: UserRecord[];
  groups: GroupRecord[];
  removed: { depts: DeptId[]; users: UserId[]; groups: GroupId[] };
}

export interface UserSearch {
  /** Matches name, pinyin, initials, account, mobile (substring, case-insensitive). */
  query?: string;
  deptId?: DeptId;
  /** Only members of at least one of these departments (a scoped administrator's view). */
  deptIds?: DeptId[];
  /** Only members whose authorised flag is this (the authorised list, or those still waiting). */
  authorised?: boolean;
  /** Only members whose blocked flag is this (the blocked list). */
  blocked?: boolean;
  status?: UserStatus;
  offset?: number;
  limit?: number;
}

/**
 * Storage of the directory. Implementations must make each call atomic; every
 * mutating call bumps the global directory version and stamps the changed rows
 * with it (removals leave a tombstone), so `changesSince` can answer deltas.
 * Calls may reject with a ConflictError (unique constraint) or NotFound (null
 * return) but never leave a half-applied change.
 */
export interface DirectoryRepo {
  currentVersion(): Promise<number>;

  getDept(id: DeptId): Promise<DeptRecord | null>;
  findChildDept(parentId: DeptId | null, name: string): Promise<DeptRecord | null>;
  listDepts(): Promise<DeptRecord[]>;
  childDepts(parentId: DeptId | null): Promise<DeptRecord[]>;
  /** With `id`, the department gets that id (a taken id is a UniqueViolation 'department id'). */
  createDept(parentId: DeptId | null, name: string, order: number, origin: string, externalId: string | null, id?: DeptId): Promise<DeptRecord>;
  updateDept(id: DeptId, patch: { name?: string; parentId?: DeptId | null; order?: number }): Promise<DeptRecord>;
  deleteDept(id: DeptId): Promise<void>;
  /** Direct members and direct sub-departments. */
  deptContents(id: DeptId): Promise<{ users: number; subDepts: number }>;

  getUser(id: UserId): Promise<UserRecord | null>;
  getUserByAccount(account: string): Promise<UserRecord | null>;
  getUsers(ids: UserId[]): Promise<UserRecord[]>;
  listUsers(after: UserId, limit: number): Promise<UserRecord[]>;
  searchUsers(q: UserSearch): Promise<{ total: number; users: UserRecord[] }>;
  createUser(u: NewUser): Promise<UserRecord>;
  /** Applies a patch; when expectedRowVersion is given and differs, rejects with a ConflictError. */
  updateUser(id: UserId, patch: UserPatch, expectedRowVersion?: number): Promise<UserRecord>;
  deleteUser(id: UserId): Promise<void>;
  countUsers(filter?: { authorised?: boolean; status?: UserStatus }): Promise<number>;
  /** Ids of every active, authorised user, in id order (broadcasts). */
  activeUserIds(): Promise<UserId[]>;

  getGroup(id: GroupId): Promise<GroupRecord | null>;
  /** The group with this external id (e.g. an RTX session key), preferring origin `rtx`; null if none. */
  groupByExternalId(externalId: string): Promise<GroupRecord | null>;
  findGroupsByName(name: string): Promise<GroupRecord[]>;
  groupsOfUser(userId: UserId): Promise<GroupRecord[]>;
  groupMemberIds(id: GroupId): Promise<UserId[]>;
  isGroupMember(id: GroupId, userId: UserId): Promise<boolean>;
  createGroup(name: string, ownerId: UserId | null, memberIds: UserId[], origin: string, externalId: string | null): Promise<GroupRecord>;
  updateGroup(id: GroupId, patch: { name?: string; ownerId?: UserId | null }): Promise<GroupRecord>;
  /**
   * Adds and removes members in one transaction. With `limit`, a change that
   * leaves the group larger than before and above `limit` throws
   * GroupLimitExceeded and writes nothing.
   */
  changeGroupMembers(id: GroupId, add: UserId[], remove: UserId[], limit?: number): Promise<GroupRecord>;
  deleteGroup(id: GroupId): Promise<void>;
  /** Ids of groups whose name contains `text` (case-insensitive; all groups for ''), in id order. */
  groupIdsMatching(text: string): Promise<GroupId[]>;
  isLimitExempt(userId: UserId): Promise<boolean>;
  /** Everyone on the group-limit whitelist, in id order. */
  limitExemptIds(): Promise<UserId[]>;
  setLimitExempt(userId: UserId, exempt: boolean): Promise<void>;

  changesSince(version: number): Promise<DirectoryChanges & { version: number; resetRequired: boolean }>;
}

export class UniqueViolation extends Error {
  constructor(readonly what: string) {
    super(`unique constraint: ${what}`);
  }
}

/** A membership change refused inside the write transaction: the group would pass its limit. */
export class GroupLimitExceeded extends Error {
  constructor(
    readonly limit: number,
    readonly before: number,
    readonly after: number,
  ) {
    super(`the group may have at most ${limit} members; this change would make ${after}`);
    this.name = 'GroupLimitExceeded';
  }
}
