import type { RtxDept, RtxGroup, RtxUser } from '../protocol/rtx-bridge-v1.js';
import type { Gender } from '../directory/types.js';

/** A complete RTX org, from the adapter's pages or an export XML file. */
export interface OrgSnapshot {
  depts: RtxDept[];
  users: RtxUser[];
  groups: RtxGroup[];
}

export type RunState = 'staging' | 'planned' | 'applied' | 'failed' | 'discarded';

export interface KindCounts {
  created: number;
  updated: number;
  removed: number;
}

/** What a plan does (the dry run) or did. */
export interface RunCounts {
  depts: KindCounts;
  /** `adopted`: local users with an RTX account that became RTX-origin (also counted in `updated`). */
  users: KindCounts & { adopted: number };
  groups: KindCounts;
  /** New RTX users left unauthorised (auto-authorise off, or no free seat). */
  unauthorised: number;
}

export interface RunView {
  id: number;
  /** `adapter:<begin.source>` for snapshots from the adapter, `xml` for an export imported in the console or CLI. */
  source: string;
  reason: string | null;
  state: RunState;
  startedAt: number;
  finishedAt: number | null;
  counts: RunCounts | null;
  warnings: string[];
  error: string | null;
  timings: { stageMs?: number; planMs?: number; applyMs?: number } | null;
}

// ---- the directory as the planner sees it (RTX-origin entries, plus what local entries it must not collide with) ----

export interface CurrentDept {
  id: number;
  parentId: number | null;
  name: string;
  order: number;
  origin: string;
  externalId: string | null;
}

export interface CurrentUser {
  id: number;
  account: string;
  origin: string;
  externalId: string | null;
  name: string;
  mobile: string;
  email: string;
  phone: string;
  title: string;
  gender: Gender;
  status: 'active' | 'disabled';
  /** Main first, then the others in dept id order. */
  deptIds: number[];
}

export interface CurrentGroup {
  id: number;
  externalId: string;
  name: string;
  memberIds: number[];
}

export interface CurrentDirectory {
  depts: CurrentDept[];
  /** RTX-origin users with every field the planner compares. */
  rtxUsers: CurrentUser[];
  /** Every other user: id, account, origin (for adoption). */
  otherUsers: { id: number; account: string; origin: string }[];
  rtxGroups: CurrentGroup[];
}

// ---- the plan ----

/** A department reference in a plan: an existing id, or the RTX id of a department the plan creates. */
export type DeptRef = { id: number } | { ext: string };
/** A user reference: an existing id, or the account of a user the plan creates. */
export type UserRef = { id: number } | { account: string };

export interface UserFields {
  name: string;
  mobile: string;
  email: string;
  phone: string;
  title: string;
  gender: Gender;
  status: 'active' | 'disabled';
  order: number;
}

export interface PlannedDept {
  ext: string;
  parent: DeptRef | null;
  name: string;
  order: number;
}

export interface Plan {
  depts: {
    /** In creation order (parents first). */
    create: PlannedDept[];
    update: (PlannedDept & { id: number; before: { parentId: number | null; name: string; order: number } })[];
    /** Children first. */
    remove: { id: number; name: string }[];
  };
  users: {
    create: (UserFields & { account: string; depts: DeptRef[]; authorise: boolean })[];
    /** Fields that changed only (depts: the whole new list, main first); adopt: a local user becoming RTX-origin. */
    update: { id: number; account: string; set: Partial<UserFields>; depts?: DeptRef[]; adopt: boolean; disabling: boolean }[];
    remove: { id: number; account: string }[];
  };
  groups: {
    create: { ext: string; name: string; members: UserRef[] }[];
    update: { id: number; ext: string; name?: string; add: UserRef[]; remove: number[] }[];
    remove: { id: number; ext: string; name: string }[];
  };
  counts: RunCounts;
  warnings: string[];
}

export function emptyCounts(): RunCounts {
  const k = () => ({ created: 0, updated: 0, removed: 0 });
  return { depts: k(), users: { ...k(), adopted: 0 }, groups: k(), unauthorised: 0 };
}
