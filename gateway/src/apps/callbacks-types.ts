/**
 * Types of people talking to apps (docs/apps-callbacks.md): auto-reply rules,
 * menus and callback deliveries, as the admin API and the console see them.
 * Types only, so the console can import them.
 */

/** The kinds an app may reply with (what sendAsApp sends). */
export const REPLY_KINDS = ['text', 'link', 'rich'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

/** An app message: a kind and its body as the client protocol defines it (TextBody, LinkBody, RichBody). */
export interface AppReply {
  kind: ReplyKind;
  body: unknown;
}

export type MatchKind = 'exact' | 'contains' | 'regex' | 'default';
export const MATCH_KINDS: readonly MatchKind[] = ['exact', 'contains', 'regex', 'default'];

export interface ReplyRuleView {
  id: number;
  appId: number;
  match: MatchKind;
  /** The keyword or regular expression; '' for the default reply. */
  pattern: string;
  /** Higher first; ties by id. */
  priority: number;
  reply: AppReply;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ReplyRuleInput {
  match: MatchKind;
  pattern?: string;
  priority?: number;
  reply: AppReply;
  enabled?: boolean;
}

export const MAX_MENU_ITEMS = 3;
export const MAX_SUB_ITEMS = 5;
export const MAX_MENU_NAME_CHARS = 16;

/**
 * A menu item: `click` (sends an event to the callback and/or answers with
 * `reply`), `view` (the client opens `url`), or a parent of 1–5 `sub` items.
 */
export interface MenuItem {
  name: string;
  type: 'click' | 'view' | 'parent';
  /** click: the key the callback event carries (1–64 of A–Z a–z 0–9 _ . : -, unique in the menu). */
  key?: string;
  /** view: an http or https URL. */
  url?: string;
  /** click: the message the app answers with, if any. */
  reply?: AppReply | null;
  /** parent: the sub-items. */
  sub?: MenuItem[];
}

export interface MenuView {
  appId: number;
  items: MenuItem[];
  version: number;
  updatedAt: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';
export type AttemptOutcome = 'acked' | 'http_error' | 'not_acked' | 'timeout' | 'network' | 'refused' | 'redirect';

export interface AttemptView {
  at: number;
  durationMs: number;
  httpStatus: number | null;
  outcome: AttemptOutcome;
  detail: string | null;
}

export interface DeliveryView {
  id: number;
  appId: number;
  packageId: string;
  msgType: string;
  /** Who the payload is from (fromUser), for the log. */
  fromUser: string;
  state: DeliveryState;
  attempts: number;
  nextAt: number;
  createdAt: number;
  deliveredAt: number | null;
  lastError: string | null;
  replayOf: number | null;
}

export interface DeliveryDetailView extends DeliveryView {
  /** The plaintext payload that is encrypted for each attempt. */
  payload: unknown;
  attemptLog: AttemptView[];
}

export interface DeliveryPageView {
  total: number;
  offset: number;
  limit: number;
  items: DeliveryView[];
}

export interface CallbackSettingsView {
  appId: number;
  url: string | null;
  /** Whether a Token is set (the Token itself is never sent back). */
  hasToken: boolean;
  /** Whether the app can get callbacks: URL, Token and open-API keys present. */
  ready: boolean;
  /** Per-attempt timeout, in milliseconds. */
  timeoutMs: number;
}

export interface TestSendView {
  ok: boolean;
  outcome: AttemptOutcome;
  httpStatus: number | null;
  durationMs: number;
  detail: string | null;
}
