import type { DeptId, UserId } from '../protocol/client-v1.js';

/**
 * The open-API areas an app may call (docs/open-api.md "Rights"). An app
 * calling outside its rights gets errcode 100005, as the spec's server does.
 */
export const APP_RIGHTS = ['msg', 'media', 'notice', 'org.read', 'org.write', 'group', 'session', 'sysmsg', 'mail', 'sms'] as const;
export type AppRight = (typeof APP_RIGHTS)[number];

export type AppKind = 'builtin' | 'system' | 'custom';

/** Who an app reaches and who sees it: everyone, or departments (with their subdepartments) and people. */
export type AppVisibility = { all: true } | { all?: false; depts: DeptId[]; users: UserId[] };

export interface OpenApp {
  /** The row id (messages store it); the conversation id clients see is `key`. */
  rowId: number;
  key: string;
  name: string;
  kind: AppKind;
  origin: string;
  /** The enterprise number and appId the open API knows the app by; null for an app without open-API access. */
  buin: number | null;
  appId: string | null;
  /** The 44-character EncodingAESKey, unsealed; null without open-API access. */
  encodingAesKey: string | null;
  rights: AppRight[];
  visibility: AppVisibility;
  enabled: boolean;
  /** Part of every access token of the app; bumped to end them all. */
  tokenGen: number;
  callbackUrl: string | null;
  /** The callback Token, unsealed. */
  callbackToken: string | null;
  /** What people see of the app (docs/admin-api-apps.md). */
  profile: AppProfile;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** The descriptive side of an app: shown to administrators and, for visible apps, to clients (`apps.list`). */
export interface AppProfile {
  description: string;
  /** The sha256 name of the logo image (public at /api/app-logos/NAME), or null. */
  logo: string | null;
  /** The app's home page, opened when a person opens the app. For the mail assistant: the mail web address. */
  homeUrl: string | null;
  /** The third-party mobile-app jump: a URL or app scheme mobile clients open; desktop clients hide it. */
  mobileUrl: string | null;
  /** Members who manage the app (people of the organisation, not console administrators). */
  managers: UserId[];
}

/** The system apps of the spec (§4.1, §6): made at first start under the gateway's buin, with generated keys. */
export const SYSTEM_APPS: ReadonlyArray<{ appId: string; name: string; rights: AppRight[] }> = [
  { appId: 'sysOrgAssistant', name: '组织架构同步助手', rights: ['org.read', 'org.write', 'media'] },
  { appId: 'sysMsgAssistant', name: '系统消息', rights: ['sysmsg', 'media'] },
  { appId: 'sysExmailAssistant', name: '邮件助手', rights: ['mail'] },
  { appId: 'sysSmsAssistant', name: '短信助手', rights: ['sms'] },
  { appId: 'sysMsgMonitor', name: '会话审计', rights: ['media'] },
];

/** Rights a new custom app starts with. */
export const CUSTOM_APP_RIGHTS: readonly AppRight[] = ['msg', 'media', 'notice'];

export interface AppCreate {
  name: string;
  kind?: 'custom' | 'system';
  /** Given when moving from an existing installation; otherwise the gateway's buin. */
  buin?: number;
  /** Given when moving; otherwise generated (`yd` + 32 hex digits). */
  appId?: string;
  /** Given when moving; otherwise generated. */
  encodingAesKey?: string;
  rights?: AppRight[];
  visibility?: AppVisibility;
  callbackUrl?: string | null;
  callbackToken?: string | null;
  profile?: Partial<AppProfile>;
}

export interface AppPatch {
  name?: string;
  rights?: AppRight[];
  visibility?: AppVisibility;
  enabled?: boolean;
  callbackUrl?: string | null;
  callbackToken?: string | null;
  description?: string;
  /** A logo name from AppService.putLogo, or null to remove it. */
  logo?: string | null;
  homeUrl?: string | null;
  mobileUrl?: string | null;
  managers?: UserId[];
}
