/**
 * The shapes of the admin API's group and system endpoints
 * (docs/admin-api-system.md). Types only, like api-types.ts: the console may
 * import this file.
 */
import type { DeptId, GroupId, UserId } from '../protocol/client-v1.js';
import type { LicenceHistoryEntry, LicenceState, LicenceStatus } from '../licence/service.js';
import type { ActionLogEntry } from './types.js';

export type { LicenceHistoryEntry, LicenceStatus };
export type { LicenceRequest, RenewalRequestInput } from '../licence/request.js';
export type { ImportResult } from '../licence/service.js';

/** A group in the list. */
export interface GroupSummaryView {
  id: GroupId;
  name: string;
  ownerId: UserId | null;
  /** The owner's name, null without an owner. */
  ownerName: string | null;
  /** 'local' for groups made on Huitong, 'rtx' for groups synced with RTX. */
  origin: string;
  memberCount: number;
  /** The member limit that applies; null when the owner is on the whitelist (no limit). */
  memberLimit: number | null;
  ownerExempt: boolean;
  version: number;
}

export interface GroupMemberView {
  id: UserId;
  account: string;
  name: string;
  deptIds: DeptId[];
}

/** GET /api/admin/groups/:id and the answers of the group changes. */
export interface GroupDetailView extends GroupSummaryView {
  members: GroupMemberView[];
}

/** GET /api/admin/groups */
export interface GroupListView {
  /** Groups matching the search that the administrator may manage. */
  total: number;
  offset: number;
  limit: number;
  groups: GroupSummaryView[];
}

/** GET/PUT /api/admin/groups/settings (F-6.1). */
export interface GroupSettingsView {
  groupMemberLimit: number;
  rtxGroupMemberLimit: number;
}

/** A person on the member-limit whitelist. */
export interface ExemptUserView {
  id: UserId;
  account: string;
  name: string;
}

export interface ListenerStatusView {
  name: string;
  port: number | null;
  up: boolean;
}

/** GET /api/admin/status: what the setup wizard and the console's home page show (F-2.1–2.4). */
export interface SystemStatusView {
  needsSetup: boolean;
  version: string;
  listeners: ListenerStatusView[];
  database: { up: boolean; latencyMs: number | null };
  /** null when the licence state cannot be read (the database is down). */
  licence: {
    state: LicenceState;
    seats: number;
    used: number;
    expiresAt: string | null;
    daysLeft: number | null;
    warnings: string[];
  } | null;
}

/** One entry of GET /api/admin/log: the stored entry as it is. */
export type ActionLogEntryView = ActionLogEntry;

export interface ActionLogPageView {
  total: number;
  offset: number;
  limit: number;
  entries: ActionLogEntryView[];
}
