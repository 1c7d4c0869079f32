/**
 * Types of the JSON-line contract between the RTX adapter and the COM helper on the RTX host
 * (docs/protocol/rtx-helper.md). Shared by the adapter (com-helper.ts) and the simulator's helper
 * (rtx-adapter/sim/helper-main.ts, through sim/helper-protocol.ts). Every line is one JSON object,
 * pure ASCII (non-ASCII characters escaped as \uXXXX) so the Windows console code page can
 * never corrupt it.
 */

export const HELPER_PROTOCOL_VERSION = 1;
/** Longest line either side may write, in bytes, newline excluded. */
export const MAX_HELPER_LINE_BYTES = 4 * 1024 * 1024;
/** Longest `capture.wait`, ms. */
export const MAX_CAPTURE_WAIT_MS = 30_000;
/** Largest page of `org.users` / `org.departments` / `org.groups`. */
export const MAX_ORG_PAGE = 2_000;
export const DEFAULT_ORG_PAGE = 500;
/** A snapshot not read for this long is dropped (`SNAPSHOT_EXPIRED`). */
export const SNAPSHOT_IDLE_TTL_MS = 600_000;

export enum HelperLineType {
  Ready = 'ready',
  Request = 'request',
  Response = 'response',
  Event = 'event',
  Fatal = 'fatal',
}

export enum HelperMethod {
  Ping = 'ping',
  OrgSummary = 'org.summary',
  OrgSnapshot = 'org.snapshot',
  OrgDepartments = 'org.departments',
  OrgUsers = 'org.users',
  OrgGroups = 'org.groups',
  OrgRelease = 'org.release',
  OrgUser = 'org.user',
  PresenceQuery = 'presence.query',
  PresenceOnline = 'presence.online',
  SendNotify = 'send.notify',
  SendIm = 'send.im',
  CaptureStart = 'capture.start',
  CaptureStop = 'capture.stop',
  CaptureWait = 'capture.wait',
  Shutdown = 'shutdown',
}

export type HelperErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_METHOD'
  | 'UNSUPPORTED'
  | 'RTX_UNAVAILABLE'
  | 'RTX_LOGIN_FAILED'
  | 'RTX_COM_ERROR'
  | 'NO_SUCH_USER'
  | 'NO_SUCH_DEPT'
  | 'NO_SUCH_GROUP'
  | 'SNAPSHOT_EXPIRED'
  | 'NOT_CAPTURING'
  | 'INTERNAL';

export interface HelperError {
  code: HelperErrorCode;
  message: string;
  /** The COM return code / HRESULT when one exists (e.g. −984 no such user). */
  com_code?: number;
}

export type HelperCapability = 'org' | 'org.ids' | 'org.groups' | 'presence' | 'send' | 'capture';

export interface ReadyLine {
  type: HelperLineType.Ready;
  protocol: number;
  helper: string;
  helper_version: string;
  capabilities: HelperCapability[];
  rtx: { host: string; version: string | null };
}

export interface Department {
  /** Numeric RTX DeptID when the helper can know it (`org.ids` capability), else null. */
  id: number | null;
  parent_id: number | null;
  name: string;
  /** Backslash-joined names from the top (`总部\研发部`); the key when id is null. */
  path: string;
  parent_path: string | null;
  sort_id: number | null;
}

export interface User {
  account: string;
  name: string;
  /** RTX number. */
  uin: number | null;
  /** 0 male, 1 female (as RTX stores it), null unknown. */
  gender: 0 | 1 | null;
  mobile: string;
  email: string;
  phone: string;
  position: string | null;
  /** `AccountState`: 0 enabled, 1 disabled, null unknown. */
  account_state: 0 | 1 | null;
  dept_paths: string[];
  dept_ids: number[] | null;
}

export interface Group {
  id: string;
  name: string;
  session_key: string | null;
  members: string[];
}

export interface Page<T> {
  snapshot_id: string;
  offset: number;
  total: number;
  items: T[];
  /** Offset of the next page, null after the last one. */
  next_offset: number | null;
}

export interface MessageEventData {
  im_message_id: string;
  kind: 'single' | 'group';
  sender: string;
  receivers: string[];
  session_key: string;
  group: { id: string; name: string } | null;
  text: string;
  /** Send time, Unix ms (UTC). */
  time_ms: number;
  /** The raw RTXSData Content XML when the helper has it (optional, for diagnostics). */
  content_xml?: string;
}

export interface HelperParams {
  [HelperMethod.Ping]: Record<string, never>;
  [HelperMethod.OrgSummary]: Record<string, never>;
  [HelperMethod.OrgSnapshot]: { groups?: boolean };
  [HelperMethod.OrgDepartments]: { snapshot_id: string; offset?: number; limit?: number };
  [HelperMethod.OrgUsers]: { snapshot_id: string; offset?: number; limit?: number };
  [HelperMethod.OrgGroups]: { snapshot_id: string; offset?: number; limit?: number };
  [HelperMethod.OrgRelease]: { snapshot_id: string };
  [HelperMethod.OrgUser]: { account: string };
  [HelperMethod.PresenceQuery]: { accounts: string[] };
  [HelperMethod.PresenceOnline]: Record<string, never>;
  [HelperMethod.SendNotify]: { receivers: string[] | 'all'; title?: string; msg: string; delay_ms?: number };
  [HelperMethod.SendIm]: { sender: string; pwd?: string; receivers: string[]; msg: string; session_key?: string };
  [HelperMethod.CaptureStart]: { app_guid: string; app_name: string; action?: 'copy' | 'distill' };
  [HelperMethod.CaptureStop]: Record<string, never>;
  [HelperMethod.CaptureWait]: { timeout_ms?: number; max_events?: number };
  [HelperMethod.Shutdown]: Record<string, never>;
}

export interface HelperResults {
  [HelperMethod.Ping]: { time_ms: number };
  [HelperMethod.OrgSummary]: { departments: number; users: number; groups: number | null; user_version: number | null; dept_version: number | null };
  [HelperMethod.OrgSnapshot]: { snapshot_id: string; departments: number; users: number; groups: number | null; taken_ms: number };
  [HelperMethod.OrgDepartments]: Page<Department>;
  [HelperMethod.OrgUsers]: Page<User>;
  [HelperMethod.OrgGroups]: Page<Group>;
  [HelperMethod.OrgRelease]: Record<string, never>;
  [HelperMethod.OrgUser]: User;
  [HelperMethod.PresenceQuery]: { states: Record<string, 0 | 1 | 2 | null> };
  [HelperMethod.PresenceOnline]: { accounts: string[] };
  [HelperMethod.SendNotify]: Record<string, never>;
  [HelperMethod.SendIm]: Record<string, never>;
  [HelperMethod.CaptureStart]: { capturing: true };
  [HelperMethod.CaptureStop]: { capturing: false };
  [HelperMethod.CaptureWait]: { events: number; capturing: boolean };
  [HelperMethod.Shutdown]: Record<string, never>;
}

export interface RequestLine<M extends HelperMethod = HelperMethod> {
  type: HelperLineType.Request;
  id: number;
  method: M;
  params: HelperParams[M];
}

export type ResponseLine =
  | { type: HelperLineType.Response; id: number; ok: true; result: unknown }
  /** id is null when the request line itself could not be read. */
  | { type: HelperLineType.Response; id: number | null; ok: false; error: HelperError };

export type EventLine =
  | { type: HelperLineType.Event; event: 'message'; data: MessageEventData }
  | { type: HelperLineType.Event; event: 'capture_state'; data: { capturing: boolean; reason: string } }
  | { type: HelperLineType.Event; event: 'log'; data: { level: 'info' | 'warn' | 'error'; message: string } };

export interface FatalLine {
  type: HelperLineType.Fatal;
  error: HelperError;
}

export type HelperLine = ReadyLine | RequestLine | ResponseLine | EventLine | FatalLine;

/** JSON.stringify with every non-ASCII UTF-16 unit escaped as \uXXXX: the line is pure ASCII. */
export function encodeHelperLine(line: HelperLine | Record<string, unknown>): string {
  return JSON.stringify(line).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
