import type { BroadcastSender, DeptId, SysmsgBody, UserId } from '../protocol/client-v1.js';

/** What the broadcast service and the console exchange (docs/broadcast.md). Types only. */

export type BroadcastScope = 'all' | 'dept';

/** A member's broadcast right as stored. */
export interface BroadcastRight {
  userId: UserId;
  scope: BroadcastScope;
  /** The administrator who granted or last changed it. */
  grantedBy: string;
  createdAt: number;
  updatedAt: number;
}

/** Targets after checking: everyone, or departments (with subdepartments) and people. */
export interface CheckedTargets {
  all: boolean;
  depts: DeptId[];
  users: UserId[];
}

/** One broadcast of the history. */
export interface BroadcastRecord {
  id: number;
  sender: BroadcastSender & { account?: string };
  senderUserId: UserId | null;
  senderAdminId: number | null;
  title: string;
  targets: CheckedTargets;
  onlineOnly: boolean;
  messageId: number | null;
  reached: number;
  createdAt: number;
}

/** The outcome of a broadcast. */
export interface BroadcastResult {
  id: number;
  messageId: number;
  reached: number;
  body: SysmsgBody;
}

// --- the console's views (GET/POST /api/admin/broadcast…) ---

export interface NamedMember { id: UserId; account: string; name: string }

export interface BroadcastRightEntryView {
  user: NamedMember;
  scope: BroadcastScope;
  /** The member's departments (their paths): where a `dept` right reaches. */
  depts: { id: DeptId; path: string }[];
  grantedBy: string;
  updatedAt: number;
}

export interface BroadcastRightsView {
  rights: BroadcastRightEntryView[];
  /** False for an administrator with a department scope: they grant only `dept`. */
  mayGrantAll: boolean;
}

export interface BroadcastPreviewView {
  /** How many people it would reach now. */
  reach: number;
  /** The system message as clients will get it; null when no content was given. */
  body: SysmsgBody | null;
}

export interface BroadcastSentView {
  id: number;
  messageId: number;
  reached: number;
  body: SysmsgBody;
}

export interface BroadcastHistoryEntryView {
  id: number;
  sender: { kind: 'member' | 'admin'; name: string; account: string };
  title: string;
  targets: { all: boolean; depts: { id: DeptId; path: string }[]; users: NamedMember[]; moreUsers: number };
  onlineOnly: boolean;
  reached: number;
  createdAt: number;
}

export interface BroadcastHistoryView {
  broadcasts: BroadcastHistoryEntryView[];
  /** Pass as `before` for the next page; null at the end. */
  next: number | null;
}

export interface BroadcastPeopleView {
  members: (NamedMember & { dept: string | null })[];
}
