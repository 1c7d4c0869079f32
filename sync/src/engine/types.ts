/**
 * The sync engine's data (docs/sync.md): the directory as the planner sees it,
 * the policies of a source, and the plan — one item per object with its
 * operation, the reason, and the changes before/after. A plan is plain JSON:
 * it is stored with its run, downloaded from the console, and applied later
 * when the safety brake held it.
 */

export type Gender = 'male' | 'female' | 'unknown';
export type ObjectKind = 'dept' | 'user' | 'group';
export type PlanOp = 'create' | 'update' | 'move' | 'disable' | 'enable' | 'delete' | 'adopt' | 'conflict';
export const PLAN_OPS: readonly PlanOp[] = ['create', 'update', 'move', 'disable', 'enable', 'delete', 'adopt', 'conflict'];

export type MatchKey = 'account' | 'email' | 'mobile';

/** How a source user with no entry of this source yet is matched to an existing person. */
export interface MatchingPolicy {
  /** Keys tried in priority order; the first that finds anyone decides. */
  by: MatchKey[];
  /** Adopt an unowned (local) user that exactly one key value matches; otherwise such a match is a conflict. */
  adopt: boolean;
}

export const DEFAULT_MATCHING: MatchingPolicy = { by: ['account'], adopt: true };

export interface PlanPolicy {
  origin: string;
  matching: MatchingPolicy;
  /** Users removed at the source are deleted this many days after they were disabled; null = never. */
  deletionDays: number | null;
  /** The current time (injected for tests). */
  now: number;
}

// ---- the directory as the planner sees it ----

export interface CurDept {
  id: number;
  parentId: number | null;
  name: string;
  order: number;
  origin: string;
  externalId: string | null;
}

export interface CurOwnedUser {
  id: number;
  externalId: string;
  account: string;
  name: string;
  email: string;
  mobile: string;
  phone: string;
  title: string;
  gender: Gender;
  status: 'active' | 'disabled';
  /** Main first. */
  deptIds: number[];
  /** Set when the engine disabled the user: since when, and whether the source dropped them. */
  disabledSince: number | null;
  missing: boolean;
  /** The DN the user binds as to log in (LDAP sources), as last synced. */
  loginDn?: string | null;
}

/** Every user not owned by this source, with what matching needs. */
export interface CurOtherUser {
  id: number;
  account: string;
  email: string;
  mobile: string;
  origin: string;
}

export interface CurGroup {
  id: number;
  externalId: string;
  name: string;
  memberIds: number[];
}

export interface CurrentDirectory {
  depts: CurDept[];
  owned: CurOwnedUser[];
  others: CurOtherUser[];
  /** Groups this source owns. */
  groups: CurGroup[];
}

// ---- the plan ----

/** A reference to a department: an existing id, or the external id of one the plan creates. */
export type DeptRef = { id: number } | { ext: string };
/** A reference to a user: an existing id, or the external id of one the plan creates. */
export type UserRef = { id: number } | { ext: string };

export interface UserFields {
  account: string;
  name: string;
  email: string;
  mobile: string;
  phone: string;
  title: string;
  gender: Gender;
  status: 'active' | 'disabled';
}

export interface Change {
  before: unknown;
  after: unknown;
}

export interface PlanItem {
  /** Position in the plan (apply order). */
  seq: number;
  op: PlanOp;
  kind: ObjectKind;
  externalId: string;
  /** The directory id it acts on; null for a create. */
  targetId: number | null;
  /** Account, department or group name, for people to read. */
  label: string;
  reason: string;
  /** Fields that change; for a create, every field (before null). */
  changes: Record<string, Change>;
  /** What the applier writes (absent for conflicts). */
  dept?: { parent: DeptRef | null; name: string; order: number };
  /** `loginDn`: the DN the user binds as to log in (LDAP sources; null for others). */
  user?: UserFields & { depts: DeptRef[]; authorise?: boolean; loginDn?: string | null };
  group?: { name: string; members: UserRef[] };
  /** A user the engine disables because the source dropped them (delete follows after deletionDays). */
  missing?: boolean;
}

export type OpCounts = Record<PlanOp, number>;

export interface RunCounts {
  depts: OpCounts;
  users: OpCounts;
  groups: OpCounts;
  /** Users the source has (after the run), and owned users left as they were. */
  sourceUsers: number;
  unchanged: number;
}

export function emptyOpCounts(): OpCounts {
  return { create: 0, update: 0, move: 0, disable: 0, enable: 0, delete: 0, adopt: 0, conflict: 0 };
}

export function emptyCounts(): RunCounts {
  return { depts: emptyOpCounts(), users: emptyOpCounts(), groups: emptyOpCounts(), sourceUsers: 0, unchanged: 0 };
}

export interface Plan {
  origin: string;
  read: 'snapshot' | 'delta';
  items: PlanItem[];
  counts: RunCounts;
  warnings: string[];
  /** For the safety brake: users this source owns now, and how many this plan takes away (active ones disabled or deleted). */
  brake: { ownedUsers: number; affected: number };
  /**
   * Login DNs that changed for users the plan otherwise leaves alone (an entry
   * moved or renamed with nothing else to sync, or synced before DNs were kept).
   * Written without a directory version: clients never see a login DN.
   */
  loginDns?: { id: number; dn: string | null }[];
}

/** How many plan items of each kind are applied per write transaction. */
export const APPLY_BATCH = 2000;
