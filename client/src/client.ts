import { randomUUID } from 'node:crypto';
import {
  ClientFrame,
  MAX_DIR_PAGE,
  MAX_PRESENCE_SUBSCRIPTIONS,
  type AppEntry,
  type AnyConversation,
  type AppMenuItem,
  type AuthOk,
  type BodyByKind,
  type BroadcastContent,
  type BroadcastRightView,
  type BroadcastTargets,
  type Conversation,
  type MessageId,
  type PresenceEntry,
  type ResultPayload,
  type SendableKind,
  type UserId,
  type UserView,
  type WorkbenchView,
} from '../../gateway/src/protocol/client-v1.js';
import { ClientCore } from './client-core.js';
import type { DirectorySnapshot, SendOptions } from './client-types.js';
import { ClientError } from './errors.js';
import type { SendAck } from './outbox.js';
import type { OutboxEntry } from './store.js';

/**
 * A connection to a Huitong gateway that stays up: it logs in or resumes,
 * catches up on missed messages, delivers each inbox message once and in seq
 * order ('message'), keeps unacknowledged sends and re-sends them with the same
 * cmid after a reconnect, and stops for good when the server says reconnecting
 * would be wrong (blocked, disabled, signed out, wiped, replaced).
 *
 * Delivery is exactly once per seq within a process. Across restarts it is
 * exactly once as far as the store's lastSeq was written; a crash between
 * delivering and writing redelivers those messages.
 */
export class HuitongClient extends ClientCore {
  /** Highest inbox seq delivered through 'message'. */
  get lastSeq(): number {
    return this.orderer.lastSeq;
  }

  /** The signed-in user, once online. */
  get user(): UserView | null {
    return this.authOk?.user ?? null;
  }

  get auth(): AuthOk | null {
    return this.authOk;
  }

  /** Sends not yet acknowledged by the server, oldest first. */
  get pendingSends(): OutboxEntry[] {
    return this.outbox.entries();
  }

  /** Logs in with an account and password (kept for re-login), replacing any session. */
  async login(account: string, password: string): Promise<AuthOk> {
    if (this.running) await this.close();
    this.credentials = { account, password };
    this.forceLogin = true;
    return this.connect();
  }

  /** Connects by resuming the given session token. */
  async resume(token: string): Promise<AuthOk> {
    if (this.running) await this.close();
    this.explicitToken = token;
    this.forceLogin = false;
    return this.connect();
  }

  /** Ends the session on the server (its token stops working) and closes. */
  async logout(): Promise<void> {
    await this.request(ClientFrame.Logout, {}).catch(() => undefined);
    this.forgetSession();
    await this.close();
  }

  /**
   * Sends a message through the outbox and resolves with the server's ack. If the
   * connection drops first, the message is re-sent with the same cmid after
   * reconnecting. Rejects when the server refuses it or the client stops.
   */
  send<K extends SendableKind>(to: AnyConversation, kind: K, body: BodyByKind[K], opts: SendOptions = {}): Promise<SendAck> {
    if (!this.running) return Promise.reject(new ClientError('CLIENT_STOPPED'));
    const entry: OutboxEntry = {
      cmid: opts.cmid ?? randomUUID(),
      to,
      kind,
      body,
      ...(opts.mentions ? { mentions: opts.mentions } : {}),
      queuedAt: Date.now(),
    };
    const frame = { t: ClientFrame.Send, rid: Number.MAX_SAFE_INTEGER, p: entry };
    if (Buffer.byteLength(JSON.stringify(frame), 'utf8') > this.maxFrameBytes) {
      return Promise.reject(new ClientError('GW_FRAME_TOO_LARGE', `The message is larger than ${this.maxFrameBytes} bytes.`));
    }
    return this.outbox.enqueue(entry);
  }

  sendText(to: AnyConversation, text: string, opts: SendOptions = {}): Promise<SendAck> {
    return this.send(to, 'text', { text }, opts);
  }

  /** Tells the server the user opened an app's conversation (the app's callback gets an `enter` event). */
  async enterApp(app: string): Promise<void> {
    await this.request(ClientFrame.AppEnter, { app });
  }

  /** An app's custom menu. */
  async appMenu(app: string): Promise<{ items: AppMenuItem[]; version: number }> {
    const r = await this.request(ClientFrame.AppMenu, { app });
    return { items: r.items, version: r.version };
  }

  /** Clicks a `click` item of an app's menu; the app's answer, if any, arrives as a message. */
  async clickAppMenu(app: string, key: string): Promise<void> {
    await this.request(ClientFrame.AppMenuClick, { app, key });
  }

  recall(messageId: MessageId): Promise<ResultPayload[ClientFrame.Recall]> {
    return this.request(ClientFrame.Recall, { messageId });
  }

  async markRead(conv: Conversation, upTo: MessageId): Promise<void> {
    await this.request(ClientFrame.Read, { conv, upTo });
  }

  async readCounts(ids: MessageId[]): Promise<ResultPayload[ClientFrame.ReadCounts]['counts']> {
    return (await this.request(ClientFrame.ReadCounts, { ids })).counts;
  }

  /**
   * Watches these users' presence, in addition to those already watched (the
   * whole set is renewed after every reconnect), and returns their current
   * presence. Changes arrive as 'presence'.
   */
  async subscribePresence(userIds: UserId[]): Promise<PresenceEntry[]> {
    const all = new Set([...this.presenceIds, ...userIds]);
    if (all.size > MAX_PRESENCE_SUBSCRIPTIONS) {
      throw new ClientError('GW_BAD_REQUEST', `At most ${MAX_PRESENCE_SUBSCRIPTIONS} users can be watched.`);
    }
    const result = await this.request(ClientFrame.PresenceSubscribe, { userIds: [...all] });
    for (const id of userIds) this.presenceIds.add(id);
    // the server lists only those online; everyone else asked about is offline
    const online = new Map(result.presence.map((e) => [e.userId, e]));
    return [...new Set(userIds)].map((id) => online.get(id) ?? { userId: id, status: 'offline' as const, clients: [] });
  }

  /** The whole directory visible to the user, following `nextCursor` pages. */
  async dirSnapshot(opts: { pageSize?: number } = {}): Promise<DirectorySnapshot> {
    const out: DirectorySnapshot = { version: 0, depts: [], users: [], groups: [] };
    let cursor: string | undefined;
    for (let first = true; ; first = false) {
      const page = await this.request(ClientFrame.DirSnapshot, {
        ...(cursor !== undefined ? { cursor } : {}),
        limit: opts.pageSize ?? MAX_DIR_PAGE,
      });
      // Deltas are safe from the first page's version: later pages can only be newer.
      if (first) out.version = page.version;
      out.depts.push(...page.depts);
      out.users.push(...page.users);
      out.groups.push(...page.groups);
      if (page.nextCursor === null || page.nextCursor === undefined) return out;
      if (page.nextCursor === cursor) throw new ClientError('CLIENT_PROTOCOL', 'The directory snapshot cursor did not advance.');
      cursor = page.nextCursor;
    }
  }

  /**
   * The apps the user sees (the file-transfer assistant, the system
   * assistants, the organisation's apps). Ask again on 'appsChanged' and on
   * 'dirChanged' (a move between departments can change what is visible).
   */
  async apps(): Promise<AppEntry[]> {
    return (await this.request(ClientFrame.AppsList, {})).apps;
  }

  /**
   * The user's workbench (F-4.1, F-5.1): title, banners and the apps of the
   * portal template that applies to them, in sections. Ask again on
   * 'workbenchChanged' and on 'dirChanged'.
   */
  async workbench(): Promise<WorkbenchView> {
    return this.request(ClientFrame.WorkbenchGet, {});
  }

  /** The user's broadcast right: null, `all` (anyone) or `dept` (within `deptIds` and their subdepartments). */
  async broadcastRights(): Promise<BroadcastRightView> {
    return this.request(ClientFrame.BroadcastRights, {});
  }

  /**
   * A system broadcast (docs/broadcast.md), within the user's broadcast right;
   * `onlineOnly`: only people connected now get it. Refused with GW_FORBIDDEN
   * outside the right, GW_RATE_LIMITED past the per-minute limit.
   */
  async broadcast(content: BroadcastContent, targets: BroadcastTargets, opts: { onlineOnly?: boolean } = {}): Promise<ResultPayload[ClientFrame.BroadcastSend]> {
    return this.request(ClientFrame.BroadcastSend, { content, targets, ...(opts.onlineOnly !== undefined ? { onlineOnly: opts.onlineOnly } : {}) });
  }

  /** Directory changes since a version; `resetRequired` means take a snapshot instead. */
  dirDelta(since: number): Promise<ResultPayload[ClientFrame.DirDelta]> {
    return this.request(ClientFrame.DirDelta, { since });
  }
}
