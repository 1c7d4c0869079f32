/**
 * The shapes of the organisation and member routes of the admin API
 * (docs/admin-api-org.md). Types only: the console imports this file.
 */
import type { DeptId, UserId } from '../protocol/client-v1.js';

/** One department of the lazily loaded tree (GET /api/admin/depts). */
export interface DeptNodeView {
  id: DeptId;
  parentId: DeptId | null;
  name: string;
  /** "销售部/华东大区": shown for a scoped administrator's scope roots, which appear at top level. */
  path: string;
  order: number;
  /** Direct members (people whose departments include this one). */
  memberCount: number;
  /** Direct sub-departments. */
  subDeptCount: number;
  hasChildren: boolean;
}

export interface DeptListView {
  /** null for the top level (the organisation root, or a scoped administrator's scope roots). */
  parentId: DeptId | null;
  depts: DeptNodeView[];
}

/** POST /api/admin/depts. `parentId` null makes a top-level department. */
export interface DeptCreateInput {
  parentId: DeptId | null;
  name: string;
  order?: number;
}

/** PATCH /api/admin/depts/:id: rename, move (parentId, null = top level), reorder; at least one field. */
export interface DeptPatchInput {
  name?: string;
  parentId?: DeptId | null;
  order?: number;
}

export interface MemberDeptView {
  id: DeptId;
  name: string;
  main: boolean;
}

export type MemberStatus = 'active' | 'disabled';
export type MemberGender = 'male' | 'female' | 'unknown';

export interface MemberView {
  id: UserId;
  account: string;
  name: string;
  pinyin: string;
  mobile: string;
  email: string;
  phone: string;
  title: string;
  gender: MemberGender;
  status: MemberStatus;
  authorised: boolean;
  blocked: boolean;
  /** 'local', 'ldap', 'rtx'…: where the member came from. */
  origin: string;
  order: number;
  /** Send back in PATCH; a stale value answers 409 GW_CONFLICT and changes nothing. */
  rowVersion: number;
  depts: MemberDeptView[];
}

export interface MemberPageView {
  total: number;
  offset: number;
  limit: number;
  members: MemberView[];
}

/** POST /api/admin/members. `authorised: true` also needs the `authorisation` right and a free seat. */
export interface MemberCreateInput {
  account: string;
  name: string;
  deptIds: DeptId[];
  /** One of deptIds; the first when absent. */
  mainDeptId?: DeptId;
  mobile?: string;
  email?: string;
  phone?: string;
  title?: string;
  gender?: MemberGender;
  order?: number;
  password?: string;
  authorised?: boolean;
}

/** PATCH /api/admin/members/:id: any of the profile fields, and always the rowVersion read. */
export type MemberPatchInput = Partial<Omit<MemberCreateInput, 'password' | 'authorised'>> & { rowVersion: number };

export interface MemberPasswordInput {
  password: string;
}

export interface AuthorisationSettingsView {
  autoAuthorise: boolean;
}

export interface DeviceCommandView {
  id: number;
  kind: 'force_offline' | 'wipe';
  issuedAt: number;
  issuedBy: string;
  deliveredAt: number | null;
  ackedAt: number | null;
}

export interface DeviceView {
  id: number;
  /** The device's own id (as the client reports it). */
  key: string;
  type: string;
  name: string;
  lastSeenAt: number | null;
  lastAddress: string | null;
  createdAt: number;
  /** Newest first. */
  commands: DeviceCommandView[];
}

export interface MemberDevicesView {
  userId: UserId;
  devices: DeviceView[];
}
