import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { MessagingService, SendAck } from '../messaging/service.js';
import type { BodyByKind, SendableKind, UserId } from '../protocol/client-v1.js';
import type { AutoReplyService } from './auto-reply.js';
import type { CallbackQueue } from './callback-queue.js';
import type { AppReply } from './callbacks-types.js';
import type { ClientMenuItem, MenuService } from './menus.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';

/** Who is talking to the app. */
export interface AppUser {
  id: UserId;
  account: string;
}

export interface AppInboundDeps {
  apps: AppService;
  messaging: MessagingService;
  rules: AutoReplyService;
  menus: MenuService;
  callbacks: CallbackQueue;
  log: Logger;
}

/** Apps that take no messages from people: the gateway's own notification app and the file-transfer assistant. */
const NO_INBOUND_KEYS = new Set(['system', 'fileTransfer']);

/**
 * People talking to apps (docs/apps-callbacks.md): a person's message into an
 * app conversation goes through the one messaging path (stored in the
 * person's app conversation, so their other devices see it), then to the
 * app's callback and to its auto-reply rules; opening an app conversation and
 * clicking a menu item become callback events. Only apps the person can see
 * (the app's visibility) take part.
 */
export class AppInbound {
  constructor(private readonly deps: AppInboundDeps) {}

  /** The enabled app with this key that the user can see; GW_NOT_FOUND or GW_FORBIDDEN otherwise. */
  visibleApp(user: AppUser, key: unknown): OpenApp {
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) throw new GatewayError('GW_BAD_REQUEST', 'app must be an app id');
    const app = this.deps.apps.byKey(key);
    if (!app || app.origin === 'deleted') throw new GatewayError('GW_NOT_FOUND', `app ${key.slice(0, 64)} does not exist`);
    if (!app.enabled || this.deps.apps.outsideVisibility(app, [user.id]).length > 0) throw new GatewayError('GW_FORBIDDEN', 'this app is not available to you');
    return app;
  }

  /** A person's message to an app. Resolves with the ack once it is durable; the callback and the auto-reply follow. */
  async send(user: AppUser, req: { cmid: unknown; to: unknown; kind: unknown; body: unknown; mentions?: unknown }, originDeviceKey?: string): Promise<SendAck> {
    const app = this.visibleApp(user, (req.to as { id?: unknown } | null)?.id);
    if (NO_INBOUND_KEYS.has(app.key) || app.kind === 'builtin') throw new GatewayError('GW_BAD_REQUEST', 'this app does not take messages');
    if (req.mentions !== undefined && req.mentions !== null) throw new GatewayError('GW_BAD_REQUEST', 'messages to an app have no mentions');
    const ack = await this.deps.messaging.send({
      senderId: user.id, senderAccount: user.account, cmid: req.cmid, to: req.to, kind: req.kind, body: req.body, origin: 'client',
      toApp: { rowId: app.rowId, key: app.key, name: app.name },
      ...(originDeviceKey ? { originDeviceKey } : {}),
    });
    if (!ack.duplicate) this.afterMessage(app, user, ack, req.kind as SendableKind, (ack.body ?? req.body) as BodyByKind[SendableKind]);
    return ack;
  }

  /** The user opened the app's conversation: an `event{appId, operation: "enter"}` to the callback. */
  enter(user: AppUser, key: unknown): void {
    const app = this.visibleApp(user, key);
    this.deps.callbacks.enqueue(app, user.account, 'event', { event: { appId: app.appId ?? app.key, operation: 'enter' } });
  }

  /** The app's menu as clients show it. */
  menu(user: AppUser, key: unknown): { app: string; items: ClientMenuItem[]; version: number } {
    const app = this.visibleApp(user, key);
    return { app: app.key, ...this.deps.menus.forClient(app.rowId) };
  }

  /** A click on a menu item: an event to the callback and the item's configured reply, if any. */
  async menuClick(user: AppUser, key: unknown, itemKey: unknown): Promise<void> {
    const app = this.visibleApp(user, key);
    if (typeof itemKey !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'key must be a menu item key');
    const item = this.deps.menus.clickItem(app.rowId, itemKey);
    if (!item) throw new GatewayError('GW_NOT_FOUND', `the app's menu has no click item ${itemKey.slice(0, 64)}`);
    this.deps.callbacks.enqueue(app, user.account, 'event', { event: { appId: app.appId ?? app.key, operation: 'menu.click', key: itemKey, name: item.name } });
    if (item.reply) await this.reply(app, user, item.reply, `menu.${randomUUID()}`);
  }

  private afterMessage(app: OpenApp, user: AppUser, ack: SendAck, kind: SendableKind, body: BodyByKind[SendableKind]): void {
    const cb = callbackFields(kind, body);
    this.deps.callbacks.enqueue(app, user.account, cb.msgType, cb.fields);
    const text = kind === 'text' ? (body as BodyByKind['text']).text : kind === 'rich' ? (body as BodyByKind['rich']).segments.map((s) => s.text).join('') : '';
    const hit = this.deps.rules.match(app.rowId, text);
    // keyed by the person's message, so a re-sent message is answered once
    if (hit) void this.reply(app, user, hit.reply, `ar.${ack.id}`).catch((e: unknown) => this.deps.log.warn({ err: e, app: app.key }, 'the auto-reply was not sent'));
  }

  private async reply(app: OpenApp, user: AppUser, reply: AppReply, cmid: string): Promise<void> {
    await this.deps.messaging.sendAsApp({ appId: app.key, cmid, to: [user.id], kind: reply.kind, body: reply.body, origin: 'auto-reply' });
  }
}

/** The callback payload fields of a person's message (wire spec §6): text, image and file; links and rich text as text. */
export function callbackFields(kind: SendableKind, body: BodyByKind[SendableKind]): { msgType: string; fields: Record<string, unknown> } {
  switch (kind) {
    case 'image': {
      const b = body as BodyByKind['image'];
      return { msgType: 'image', fields: { image: { media_id: b.fileId, name: b.name, size: b.size } } };
    }
    case 'file': {
      const b = body as BodyByKind['file'];
      return { msgType: 'file', fields: { file: { media_id: b.fileId, name: b.name, size: b.size } } };
    }
    case 'link': {
      const b = body as BodyByKind['link'];
      return { msgType: 'text', fields: { text: { content: `${b.title} ${b.url}` } } };
    }
    case 'rich':
      return { msgType: 'text', fields: { text: { content: (body as BodyByKind['rich']).segments.map((s) => s.text).join('') } } };
    default:
      return { msgType: 'text', fields: { text: { content: (body as BodyByKind['text']).text } } };
  }
}
