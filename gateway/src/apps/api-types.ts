/**
 * The shapes of the admin API's apps (docs/admin-api-apps.md). Types only: the
 * console imports this file.
 */
import type { DeptId, UserId } from '../protocol/client-v1.js';
import type { AppKind, AppRight } from './types.js';

/**
 * What an app is to people: `fileTransfer` (the conversation with oneself),
 * `notice` (the built-in system notifications), `sysMsg`, `mail` (the
 * assistants of the open API people meet), `integration` (system apps for
 * integrations that nobody opens: sysOrgAssistant…), `custom`.
 */
export type AppRole = 'fileTransfer' | 'notice' | 'sysMsg' | 'mail' | 'integration' | 'custom';

export interface AppSummaryView {
  /** The app's id in this API. */
  id: number;
  /** The conversation id clients see ({kind: 'app', id: key}). */
  key: string;
  name: string;
  kind: AppKind;
  role: AppRole;
  buin: number | null;
  appId: string | null;
  enabled: boolean;
  description: string;
  /** The public URL path of the logo (/api/app-logos/NAME), or null. */
  logoUrl: string | null;
  homeUrl: string | null;
  mobileUrl: string | null;
  /** Whether people see it in their app list (when visible to them and enabled). */
  peopleFacing: boolean;
  visibility: { all: boolean; depts: number; users: number };
  version: number;
  updatedAt: number;
}

export interface AppListView {
  apps: AppSummaryView[];
}

export interface NamedDept { id: DeptId; name: string; path: string }
export interface NamedUser { id: UserId; account: string; name: string }

/** GET /api/admin/apps/people: members in the administrator's scope, for the visibility and managers pickers. */
export interface AppPeopleView {
  members: (NamedUser & { dept: string | null })[];
}

export interface AppDetailView extends AppSummaryView {
  /** The EncodingAESKey with all but its first and last 4 characters masked; null without open-API access. */
  aesKeyMasked: string | null;
  /** Whether a callback Token is set (its value is only in AppSecretsView). */
  hasCallbackToken: boolean;
  callbackUrl: string | null;
  rights: AppRight[];
  /**
   * Who sees the app. For an administrator with a department scope, only the
   * departments and people inside it are named; the others are counted in
   * `hiddenDepts`/`hiddenUsers` and kept as they are by every change.
   */
  visibilityDetail: { all: boolean; depts: NamedDept[]; users: NamedUser[]; hiddenDepts: number; hiddenUsers: number };
  /** Members who manage the app; outside the administrator's scope only counted. */
  managers: NamedUser[];
  hiddenManagers: number;
  createdAt: number;
}

/** The app's secrets in full: answered once by create, import and regenerate, and by the logged reveal action. */
export interface AppSecretsView {
  buin: number;
  appId: string;
  encodingAesKey: string;
  /** The callback Token; null when none is set. */
  token: string | null;
}

export interface AppWithSecretsView {
  app: AppDetailView;
  secrets: AppSecretsView;
}

export interface AppCreateInput {
  name: string;
  description?: string;
  homeUrl?: string | null;
  mobileUrl?: string | null;
}

export interface AppImportInput {
  name: string;
  buin: number;
  appId: string;
  encodingAesKey: string;
  token?: string | null;
  description?: string;
}

export interface AppPatchInput {
  version: number;
  name?: string;
  description?: string;
  logo?: string | null;
  homeUrl?: string | null;
  mobileUrl?: string | null;
  enabled?: boolean;
  managers?: UserId[];
}

export interface AppVisibilityInput {
  version: number;
  all: boolean;
  depts?: DeptId[];
  users?: UserId[];
}
