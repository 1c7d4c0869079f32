/**
 * The RTX bridge's payloads on the plugin channel (docs/protocol/rtx-bridge-v1.md).
 * The channel (plugin-v1) delivers each payload exactly once and in order;
 * this file says what the payloads mean. Types, limits and validators only:
 * imported by the adapter and by the gateway's RTX service.
 */

/** Payload types, adapter → gateway. */
export const FromAdapter = {
  /** A full org snapshot begins; pages follow, then `rtx.org.end`. */
  OrgBegin: 'rtx.org.begin',
  OrgDepts: 'rtx.org.depts',
  OrgUsers: 'rtx.org.users',
  OrgGroups: 'rtx.org.groups',
  /** The snapshot is complete: the gateway plans and applies it. */
  OrgEnd: 'rtx.org.end',
  /** A message an RTX user sent, captured on the RTX side. */
  ImCaptured: 'rtx.im.captured',
  /** Presence of RTX users (full list when `full`, else changes). */
  Presence: 'rtx.presence',
  /** The outcome of a `gw.im.send` / `gw.notify.send`. */
  Delivery: 'rtx.delivery',
  /** The adapter's view of the RTX server: reachable or not, and through what. */
  Status: 'rtx.status',
} as const;

/** Payload types, gateway → adapter. */
export const ToAdapter = {
  /** Deliver a chat message into RTX (SendIM in the sender's conversation). */
  ImSend: 'gw.im.send',
  /** Deliver a notification pop-up into RTX (SendNotify). */
  NotifySend: 'gw.notify.send',
  /** Read the org now and send a snapshot. */
  SyncRequest: 'gw.sync.request',
} as const;

export const ORG_PAGE_MAX_ITEMS = 1000;
export const MAX_TEXT_CHARS = 10_000;
export const MAX_RECEIVERS = 1000;

/** A department as RTX has it. `id`: RTX DeptID as a decimal string, or the backslash path when the source has no ids. */
export interface RtxDept {
  id: string;
  /** null = top level. */
  parentId: string | null;
  name: string;
  /** RTX SortID; lower first. */
  order: number;
}

/** A user as RTX has it. `account` (RTX UserName) is the key everywhere. */
export interface RtxUser {
  account: string;
  name: string;
  /** RTX number, when the source knows it. */
  uin?: number;
  gender: 'male' | 'female' | 'unknown';
  mobile: string;
  email: string;
  phone: string;
  /** Position / title. */
  title: string;
  /** AccountState 1 in RTX. */
  disabled: boolean;
  /** RtxDept ids; the first is the main department. May be empty. */
  deptIds: string[];
}

/** A discussion group (DisGroup). */
export interface RtxGroup {
  /** DisGroup id (a GUID or number, as a string). */
  id: string;
  name: string;
  /** Member accounts. */
  members: string[];
  /** The group conversation's RTX session key (`Key`), when the source knows it (the COM helper does; the export XML does not). Optional, added compatibly. */
  sessionKey?: string;
}

export interface OrgBegin {
  snapshotId: string;
  /** Where it was read: the COM helper, an export XML file, or another source. */
  source: 'com' | 'xml' | 'mdb' | 'other';
  counts: { depts: number; users: number; groups: number };
  reason?: string;
  /**
   * false: this source cannot enumerate groups (a COM helper without `org.groups`), so the
   * snapshot carries no group pages and the gateway must keep the RTX groups it has instead of
   * removing them. Absent = true. Optional, added compatibly.
   */
  hasGroups?: boolean;
}
export interface OrgPage<T> {
  snapshotId: string;
  /** 0, 1, 2... per kind. */
  page: number;
  items: T[];
}
export interface OrgEnd {
  snapshotId: string;
  /** Pages sent per kind, so the gateway can tell a complete snapshot. */
  pages: { depts: number; users: number; groups: number };
}

export interface ImCaptured {
  /** RTX im_message_id (or, from IMWatch, a stable hash of the record): the de-duplication key. */
  imMessageId: string;
  kind: 'single' | 'group';
  sender: string;
  /** Accounts; for a group, the members it went to as RTX reported them. */
  receivers: string[];
  /** RTX session GUID (`Key`); IMWatch gives ThreadID. */
  sessionKey: string;
  group?: { id: string; name: string };
  text: string;
  timeMs: number;
  via: 'com' | 'imwatch' | 'other';
}

export interface PresenceUpdate {
  full: boolean;
  items: { account: string; state: 'offline' | 'online' | 'away' }[];
}

export interface ImSend {
  /** The gateway's reference, echoed in `rtx.delivery`: `m<messageId>`. */
  ref: string;
  sender: string;
  /** RTX accounts to deliver to (1:1: one; group: the RTX members). */
  receivers: string[];
  text: string;
  /** The RTX session key to post into (a group's, or a 1:1 conversation's), when known. */
  sessionKey?: string;
  group?: { id: string; name: string };
  /** Milliseconds since the epoch when the gateway accepted the message. */
  sentAtMs: number;
}

export interface NotifySend {
  ref: string;
  receivers: string[];
  title: string;
  text: string;
}

export interface SyncRequest {
  reason: string;
}

export interface Delivery {
  ref: string;
  ok: boolean;
  /** Accounts that did not get it, when only some did. */
  failed?: string[];
  /** Present when !ok: RTX_UNKNOWN_USER, RTX_UNREACHABLE (past the retry window), RTX_REFUSED, RTX_BAD_REQUEST. */
  error?: { code: string; message: string };
}

export interface AdapterStatus {
  rtx: 'up' | 'down';
  /** Which ports work: sdk (8012), com (helper), xml, imwatch. */
  ports: Record<string, 'up' | 'down' | 'off'>;
  detail?: string;
}

// ---- validators (the receiving side checks every payload; a bad one is a clear error, never a crash) ----

export class BridgePayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BridgePayloadError';
  }
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BridgePayloadError(`${what} must be an object`);
  return v as Record<string, unknown>;
}
function str(o: Record<string, unknown>, k: string, what: string, max = 256, allowEmpty = false): string {
  const v = o[k];
  if (typeof v !== 'string' || (!allowEmpty && v === '') || v.length > max) throw new BridgePayloadError(`${what}.${k} must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${max} characters`);
  return v;
}
function strList(o: Record<string, unknown>, k: string, what: string, max: number): string[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length > max || v.some((x) => typeof x !== 'string' || x === '' || x.length > 256)) {
    throw new BridgePayloadError(`${what}.${k} must be a list of at most ${max} non-empty strings`);
  }
  return v as string[];
}

export function checkImCaptured(v: unknown): ImCaptured {
  const o = obj(v, 'rtx.im.captured');
  const kind = o.kind;
  if (kind !== 'single' && kind !== 'group') throw new BridgePayloadError('rtx.im.captured.kind must be single or group');
  str(o, 'imMessageId', 'rtx.im.captured', 128);
  str(o, 'sender', 'rtx.im.captured');
  strList(o, 'receivers', 'rtx.im.captured', MAX_RECEIVERS);
  str(o, 'sessionKey', 'rtx.im.captured', 128, true);
  str(o, 'text', 'rtx.im.captured', MAX_TEXT_CHARS, true);
  if (typeof o.timeMs !== 'number' || !Number.isFinite(o.timeMs)) throw new BridgePayloadError('rtx.im.captured.timeMs must be a number');
  if (kind === 'group') {
    const g = obj(o.group, 'rtx.im.captured.group');
    str(g, 'id', 'rtx.im.captured.group', 128);
    str(g, 'name', 'rtx.im.captured.group', 256, true);
  }
  return o as unknown as ImCaptured;
}

export function checkImSend(v: unknown): ImSend {
  const o = obj(v, 'gw.im.send');
  str(o, 'ref', 'gw.im.send', 64);
  str(o, 'sender', 'gw.im.send');
  strList(o, 'receivers', 'gw.im.send', MAX_RECEIVERS);
  str(o, 'text', 'gw.im.send', MAX_TEXT_CHARS, true);
  return o as unknown as ImSend;
}

export function checkDelivery(v: unknown): Delivery {
  const o = obj(v, 'rtx.delivery');
  str(o, 'ref', 'rtx.delivery', 64);
  if (typeof o.ok !== 'boolean') throw new BridgePayloadError('rtx.delivery.ok must be a boolean');
  if (!o.ok) {
    const e = obj(o.error, 'rtx.delivery.error');
    str(e, 'code', 'rtx.delivery.error', 64);
    str(e, 'message', 'rtx.delivery.error', 1000, true);
  }
  return o as unknown as Delivery;
}
