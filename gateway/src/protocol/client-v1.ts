/**
 * Client protocol v1 — the frames exchanged between clients and the gateway over
 * WSS (port 7443, path /ws, one JSON text message per frame) and over TLS TCP
 * (port 7006, each frame a 4-byte big-endian length followed by that many bytes
 * of UTF-8 JSON). The document is docs/protocol/client-v1.md; keep both in step.
 *
 * This module holds types and constants only, so the client library and the
 * web client can import it without pulling in server code.
 */

export const PROTOCOL_VERSION = 1;
/** Largest frame either side may send; larger ones close the connection (GW_FRAME_TOO_LARGE). */
export const MAX_FRAME_BYTES = 256 * 1024;
/** Clients send `ping` at this interval when idle. */
export const HEARTBEAT_INTERVAL_MS = 20_000;
/** The server closes a connection from which nothing arrived for this long. */
export const HEARTBEAT_TIMEOUT_MS = 60_000;
/** A connection must complete `hello` within this time. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Recall is allowed this long after the message was stored. */
export const RECALL_WINDOW_MS = 2 * 60_000;
/** Largest page of `msg.sync`. */
export const MAX_SYNC_PAGE = 500;
/** Largest page of `dir.snapshot`. */
export const MAX_DIR_PAGE = 2000;
/** Most people one connection may watch for presence. */
export const MAX_PRESENCE_SUBSCRIPTIONS = 3000;
/** Largest text body, in characters. */
export const MAX_TEXT_CHARS = 10_000;

export type UserId = number & { readonly __brand: 'UserId' };
export type DeptId = number & { readonly __brand: 'DeptId' };
export type GroupId = number & { readonly __brand: 'GroupId' };
export type MessageId = number & { readonly __brand: 'MessageId' };

/** Frames the client sends. Every one carries a request id `rid`, answered by `result` or `error`. */
export enum ClientFrame {
  Hello = 'hello',
  Login = 'login',
  Resume = 'resume',
  Logout = 'logout',
  Ping = 'ping',
  DirSnapshot = 'dir.snapshot',
  DirDelta = 'dir.delta',
  PresenceSubscribe = 'presence.sub',
  Send = 'msg.send',
  Sync = 'msg.sync',
  Read = 'msg.read',
  ReadCounts = 'msg.readcounts',
  Recall = 'msg.recall',
  CommandAck = 'device.cmd.ack',
  SsoSign = 'sso.sign',
  AppsList = 'apps.list',
  /** The user opened an app's conversation (the app's callback gets an `enter` event). */
  AppEnter = 'app.enter',
  /** An app's custom menu. */
  AppMenu = 'app.menu',
  /** The user clicked a `click` item of an app's menu. */
  AppMenuClick = 'app.menu.click',
  /** The user's workbench: title, banners and the apps of their portal template (docs/protocol/client-v1.md "workbench.get"). */
  WorkbenchGet = 'workbench.get',
  /** A system broadcast by a member with the broadcast right (docs/broadcast.md). */
  BroadcastSend = 'broadcast.send',
  /** The user's own broadcast right: none, everyone, or their departments (docs/broadcast.md). */
  BroadcastRights = 'broadcast.rights',
}

/** Frames the server sends. `result` and `error` answer a request by its `rid`; the rest are pushes. */
export enum ServerFrame {
  Result = 'result',
  Error = 'error',
  Message = 'msg',
  Receipt = 'msg.receipt',
  Presence = 'presence',
  DirChanged = 'dir.changed',
  Command = 'device.cmd',
  Bye = 'bye',
  /** Apps were made, changed or removed: ask `apps.list` again. */
  AppsChanged = 'apps.changed',
  /** An app's badge count (待办数) for the user changed; also sent after login for every non-zero count. */
  AppNotice = 'app.notice',
  /** An app asks the client to show a pop-up window (open API popwindow); online devices only. */
  PopWindow = 'app.popwindow',
  /** An app's event (open API event/publish: a ringing pop-up started or cancelled); online devices only. */
  AppEvent = 'app.event',
  /** The workbench, a portal template or the apps changed: ask `workbench.get` again. */
  WorkbenchChanged = 'workbench.changed',
}

export type ClientType = 'ios' | 'android' | 'web' | 'desktop' | 'cli' | 'rtx';
export const CLIENT_TYPES: readonly ClientType[] = ['ios', 'android', 'web', 'desktop', 'cli', 'rtx'];

export interface DeviceInfo {
  /** Stable id the client generates once per installation (1–64 chars of [A-Za-z0-9._-]). */
  id: string;
  type: ClientType;
  name?: string;
  pushToken?: string;
}

export type Conversation = { kind: 'user'; id: UserId } | { kind: 'group'; id: GroupId };
/**
 * A conversation with an app (a system or an integration, not a person): only apps write in it.
 * `id` is the app's key; `system` is the built-in app of notifications (SendNotify, broadcasts).
 */
export type AppConversation = { kind: 'app'; id: string };
/** Where a stored message lives: a person, a group or an app. */
export type AnyConversation = Conversation | AppConversation;
/** The built-in app that sends notifications from scripts and systems (RTX SendNotify.cgi). */
export const SYSTEM_APP = Object.freeze({ id: 'system', name: '系统通知' });
/**
 * An app in the user's app list (`apps.list`). `fileTransfer`: the
 * conversation with oneself across devices (`conversation` is the user);
 * `notice`: system notifications; `sysMsg`, `mail`: the system assistants
 * (the mail assistant's `homeUrl` is the mail web address); `custom`: the
 * organisation's apps. `logoUrl` is a path on the server's HTTPS address.
 * `mobileUrl` (a URL or app scheme) is for mobile clients; desktop clients hide it.
 */
export interface AppEntry {
  key: string;
  name: string;
  kind: 'fileTransfer' | 'notice' | 'sysMsg' | 'mail' | 'custom';
  description: string;
  logoUrl: string | null;
  homeUrl: string | null;
  mobileUrl: string | null;
  conversation: AnyConversation;
}
/**
 * The workbench a user sees (`workbench.get`, F-4.1/F-5.1): the
 * organisation's title and banners, and the apps of the portal template that
 * applies to the user, in sections, each app with the fields of `apps.list`
 * (only apps the user may see). `imageUrl` is a path on the server's HTTPS
 * address; `link` an http(s) URL the banner opens, or null.
 */
export interface WorkbenchView {
  title: string;
  banners: { imageUrl: string; link: string | null }[];
  /** Sections in order; `title` may be empty (one untitled section for the default template). */
  sections: { title: string; apps: AppEntry[] }[];
  /** The template that applied. */
  template: { id: number; name: string; isDefault: boolean };
}
/** An item of an app's custom menu (`app.menu`): a parent has `sub` (1–5 click or view items). */
export interface AppMenuItem { name: string; type: 'click' | 'view' | 'parent'; key?: string; url?: string; sub?: AppMenuItem[] }
/** How long a signature from `sso.sign` stays valid. */
export const SSO_SIGN_TTL_MS = 10 * 60_000;

export type MessageKind = 'text' | 'image' | 'file' | 'link' | 'rich' | 'recall' | AppOnlyKind;
/** Kinds only apps send (the open API's msg/send, the console): people cannot send them. */
export type AppOnlyKind = 'mpnews' | 'exlink' | 'sysmsg' | 'mail';
export const APP_ONLY_KINDS: readonly AppOnlyKind[] = ['mpnews', 'exlink', 'sysmsg', 'mail'];

export interface TextBody { text: string }
export interface FileBody { fileId: string; name: string; size: number; mime?: string }
export interface ImageBody extends FileBody { width?: number; height?: number }
/**
 * `sso`: when opening the link, the client appends the user's identity,
 * `userName=<account>&token=<identify token>` (docs/open-api.md "Identify").
 */
export interface LinkBody { url: string; title: string; description?: string; sso?: boolean }
export interface RichSegment { text: string; bold?: boolean; italic?: boolean; href?: string; mention?: UserId }
export interface RichBody { title?: string; segments: RichSegment[] }
/** Stored and delivered like any message, so offline devices learn of a recall. */
export interface RecallBody { messageId: MessageId }

/** An article of an mpnews message: `cover` is its picture (a stored file readers of the message may fetch). */
export interface MpnewsItem { title: string; content: string; digest?: string; showFront?: boolean; url?: string; cover?: ImageBody }
export interface MpnewsBody { items: MpnewsItem[] }
/** An external link card; `cover` is its picture. */
export interface ExlinkItem { title: string; url: string; digest?: string; cover?: ImageBody }
export interface ExlinkBody { items: ExlinkItem[] }
export type SysmsgItem = { text: string } | { link: { title: string; url: string; sso?: boolean } };
/**
 * A system message (sysMsgAssistant): `popDurationS` is how long the client pops it up; absent or ≤ 0 = until closed.
 * `from`: for a broadcast (docs/broadcast.md), who sent it.
 */
export interface SysmsgBody { title: string; items: SysmsgItem[]; popDurationS?: number; from?: BroadcastSender }
/** Who sent a broadcast: a member with the broadcast right, or an administrator from the console. */
export type BroadcastSender = { kind: 'member'; userId: UserId; account: string; name: string } | { kind: 'admin'; name: string };
/** Who a broadcast goes to: everyone, or departments (each with its subdepartments) and people. */
export interface BroadcastTargets { all?: boolean; deptIds?: DeptId[]; userIds?: UserId[] }
/** A broadcast's content: a title and a text, links, or both. */
export interface BroadcastContent { title: string; text?: string; links?: { title: string; url: string }[] }
/** A member's broadcast right: `all` = to anyone; `dept` = within `deptIds` (their departments) and subdepartments; null = none. */
export interface BroadcastRightView { scope: 'all' | 'dept' | null; deptIds: DeptId[] }
/** A mail notice (sysExmailAssistant): a new mail, or the unread count changed. `time` in Unix seconds. */
export interface MailBody {
  action: 'new' | 'unread';
  unreadCount: number;
  subject?: string;
  fromUser?: string;
  fromEmail?: string;
  time?: number;
  link?: string;
}

export interface BodyByKind {
  text: TextBody;
  image: ImageBody;
  file: FileBody;
  link: LinkBody;
  rich: RichBody;
  recall: RecallBody;
  mpnews: MpnewsBody;
  exlink: ExlinkBody;
  sysmsg: SysmsgBody;
  mail: MailBody;
}
/** What people send. */
export type SendableKind = Exclude<MessageKind, 'recall' | AppOnlyKind>;
/** What apps send. */
export type AppSendableKind = Exclude<MessageKind, 'recall'>;

/** A message as it sits in one user's inbox. */
export interface MessageView {
  id: MessageId;
  /** The recipient's inbox sequence number: 1, 2, 3... with no gaps, per user. */
  seq: number;
  cmid: string;
  /** The sending person; 0 for a message from an app (then `fromApp` names it). */
  from: UserId;
  /** The sender's account; '' for a message from an app. */
  fromAccount: string;
  /** For a message from an app: the app (its key and display name). */
  fromApp?: { id: string; name: string };
  /** For 1:1 messages the addressee (not the reader); for group messages the group; for app messages the app. */
  to: AnyConversation;
  kind: MessageKind;
  body: BodyByKind[MessageKind];
  mentions?: UserId[];
  /** Milliseconds since the epoch, server clock, when the message became durable. */
  ts: number;
  /** Where the message came from: a client, RTX, an app, the open API, a broadcast. */
  origin: string;
  recalled?: boolean;
}

export interface DeptView { id: DeptId; parentId: DeptId | null; name: string; order: number; version: number }
export interface UserView {
  id: UserId;
  account: string;
  name: string;
  pinyin: string;
  mainDeptId: DeptId | null;
  deptIds: DeptId[];
  title: string;
  gender: 'male' | 'female' | 'unknown';
  mobile: string;
  email: string;
  phone: string;
  status: 'active' | 'disabled';
  origin: string;
  order: number;
  version: number;
}
export interface GroupView {
  id: GroupId;
  name: string;
  ownerId: UserId | null;
  memberIds: UserId[];
  origin: string;
  memberLimit: number;
  version: number;
}

export interface ClientLimits {
  offlineFileMaxBytes: number;
  p2pFileMaxBytes: number;
  maxFrameBytes: number;
  heartbeatIntervalMs: number;
  recallWindowMs: number;
}

export interface AuthOk {
  token: string;
  user: UserView;
  deviceId: string;
  dirVersion: number;
  /** Highest inbox seq the user has; sync from the last one the device saw. */
  lastSeq: number;
  limits: ClientLimits;
}

/** `away`: only for a user whose RTX client says away (no connection here); clients then lists `rtx`. */
export type PresenceStatus = 'online' | 'away' | 'offline';
export interface PresenceEntry { userId: UserId; status: PresenceStatus; clients: ClientType[] }

export interface DeviceCommand { id: number; kind: 'force_offline' | 'wipe'; issuedAt: number }

/** Request payloads, by frame type. */
export interface RequestPayload {
  [ClientFrame.Hello]: { v: number; client?: string };
  [ClientFrame.Login]: { account: string; password: string; device: DeviceInfo };
  [ClientFrame.Resume]: { token: string };
  [ClientFrame.Logout]: Record<string, never>;
  [ClientFrame.Ping]: Record<string, never>;
  [ClientFrame.DirSnapshot]: { cursor?: string; limit?: number };
  [ClientFrame.DirDelta]: { since: number };
  [ClientFrame.PresenceSubscribe]: { userIds: UserId[] };
  [ClientFrame.Send]: {
    cmid: string;
    /** A person, a group, or an app the user can see (`{kind: 'app', id: key}`; text, link, rich, image, file). */
    to: AnyConversation;
    kind: SendableKind;
    body: BodyByKind[SendableKind];
    mentions?: UserId[];
  };
  [ClientFrame.Sync]: { after: number; limit?: number };
  [ClientFrame.Read]: { conv: Conversation; upTo: MessageId };
  [ClientFrame.ReadCounts]: { ids: MessageId[] };
  [ClientFrame.Recall]: { messageId: MessageId };
  [ClientFrame.CommandAck]: { id: number };
  [ClientFrame.SsoSign]: Record<string, never>;
  [ClientFrame.AppsList]: Record<string, never>;
  [ClientFrame.AppEnter]: { app: string };
  [ClientFrame.AppMenu]: { app: string };
  [ClientFrame.AppMenuClick]: { app: string; key: string };
  [ClientFrame.WorkbenchGet]: Record<string, never>;
  /** `onlineOnly`: only people with a connection at that moment get it (docs/broadcast.md). */
  [ClientFrame.BroadcastSend]: { content: BroadcastContent; targets: BroadcastTargets; onlineOnly?: boolean };
  [ClientFrame.BroadcastRights]: Record<string, never>;
}

/** Result payloads, by the request's frame type. */
export interface ResultPayload {
  [ClientFrame.Hello]: { v: number; server: string; heartbeatIntervalMs: number; maxFrameBytes: number };
  [ClientFrame.Login]: AuthOk;
  [ClientFrame.Resume]: AuthOk;
  [ClientFrame.Logout]: Record<string, never>;
  [ClientFrame.Ping]: Record<string, never>;
  [ClientFrame.DirSnapshot]: { version: number; depts: DeptView[]; users: UserView[]; groups: GroupView[]; nextCursor: string | null };
  [ClientFrame.DirDelta]: {
    version: number;
    /** True when `since` is too old for a delta: take a snapshot instead. */
    resetRequired: boolean;
    depts: DeptView[];
    users: UserView[];
    groups: GroupView[];
    removed: { depts: DeptId[]; users: UserId[]; groups: GroupId[] };
  };
  [ClientFrame.PresenceSubscribe]: { presence: PresenceEntry[] };
  /**
   * `body` / `mentions`: present only when the server stored something other than
   * what was sent (unknown fields dropped, values normalised); the sending device
   * shows the stored form.
   */
  [ClientFrame.Send]: { id: MessageId; seq: number; ts: number; duplicate: boolean; body?: BodyByKind[SendableKind]; mentions?: UserId[] };
  [ClientFrame.Sync]: { messages: MessageView[]; lastSeq: number; more: boolean };
  [ClientFrame.Read]: Record<string, never>;
  [ClientFrame.ReadCounts]: { counts: { id: MessageId; read: number; members: number }[] };
  [ClientFrame.Recall]: { id: MessageId; seq: number };
  [ClientFrame.CommandAck]: Record<string, never>;
  /** A signature a web page passes to SignAuth.cgi (port 8012) with the user's account; valid until `expiresAt`. */
  [ClientFrame.SsoSign]: { account: string; sign: string; expiresAt: number };
  /** The enabled apps visible to the user (visibility counts subdepartments), in display order. */
  [ClientFrame.AppsList]: { apps: AppEntry[] };
  [ClientFrame.AppEnter]: Record<string, never>;
  /** At most 3 items of at most 5 sub-items; `click` items carry the `key` to send in app.menu.click, `view` items a URL to open. */
  [ClientFrame.AppMenu]: { app: string; items: AppMenuItem[]; version: number };
  [ClientFrame.AppMenuClick]: Record<string, never>;
  [ClientFrame.WorkbenchGet]: WorkbenchView;
  /** `reached`: the people whose inbox got it. */
  [ClientFrame.BroadcastSend]: { id: number; messageId: MessageId; reached: number };
  [ClientFrame.BroadcastRights]: BroadcastRightView;
}

/** Push payloads, by frame type. */
export interface PushPayload {
  [ServerFrame.Message]: MessageView;
  [ServerFrame.Receipt]: { conv: Conversation; reader: UserId; upTo: MessageId };
  [ServerFrame.Presence]: { presence: PresenceEntry[] };
  [ServerFrame.DirChanged]: { version: number };
  [ServerFrame.Command]: DeviceCommand;
  [ServerFrame.Bye]: { code: string; message: string };
  [ServerFrame.AppsChanged]: Record<string, never>;
  [ServerFrame.AppNotice]: AppNoticeView;
  [ServerFrame.PopWindow]: PopWindowView;
  [ServerFrame.AppEvent]: AppEventView;
  [ServerFrame.WorkbenchChanged]: Record<string, never>;
}

/** An app's badge count for the user: `count` 0 clears it. `popWindow`, when the app asked for one with the count. */
export interface AppNoticeView {
  app: { id: string; name: string };
  count: number;
  tip: string;
  /** ms since the epoch, when the app set it. */
  ts: number;
  popWindow?: AppPopWindowSpec;
}

/** A pop-up window's content and placement as an app describes it (open API pop_wind / windowInfo), passed through. */
export interface AppPopWindowSpec {
  title?: string;
  width?: number;
  height?: number;
  content?: string;
  popMode?: number;
  position?: number;
  contentType?: string;
  stayDuration?: number;
  popSessionId?: string;
}

/**
 * A pop-up window (open API popwindow). `durationS`: -1 = until closed (0 from the app means 5 s);
 * `position`: 0 centre, 1 top left, 2 top right, 3 bottom right, 4 bottom left; `popMode`: 1 browser, 2 window.
 */
export interface PopWindowView {
  app: { id: string; name: string };
  url: string;
  tip: string;
  title: string;
  width: number;
  height: number;
  durationS: number;
  position: number;
  noticeId: string;
  popMode: number;
}

/** An app's event (open API event/publish): a ringing pop-up, `action` 1 start, 2 cancel. */
export interface AppEventView {
  app: { id: string; name: string };
  eventId: string;
  eventType: string;
  popWindow: { tips: string; action: number; timestamp: number; windowType: string; windowInfo: AppPopWindowSpec };
}

export interface ErrorPayload { code: string; message: string; retryAfterMs?: number }

export type RequestFrame<T extends ClientFrame = ClientFrame> = { t: T; rid: number; p: RequestPayload[T] };
export type ResultFrame<T extends ClientFrame = ClientFrame> = { t: ServerFrame.Result; rid: number; p: ResultPayload[T] };
export type ErrorFrame = { t: ServerFrame.Error; rid: number | null; p: ErrorPayload };
export type PushFrame<T extends keyof PushPayload = keyof PushPayload> = { t: T; p: PushPayload[T] };
export type AnyServerFrame = ResultFrame | ErrorFrame | PushFrame;

/** WebSocket close codes (4000–4999 are ours); TCP sends a `bye` frame with the same code string then closes. */
export { CLOSE_CODES } from '../errors/registry.js';
