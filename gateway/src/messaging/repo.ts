import type { Conversation, MessageId, MessageKind, UserId } from '../protocol/client-v1.js';

/** An app that sends messages (table `apps`); `rowId` is what messages store. */
export interface AppRecord {
  rowId: number;
  key: string;
  name: string;
}

/** A conversation as stored: an app's is its row id (AppRecord.rowId). */
export type StoredConversation = Conversation | { kind: 'app'; id: number };

/** The sender id an app's messages are stored with (user ids are positive). */
export const appSenderId = (app: AppRecord): UserId => -app.rowId as UserId;

export interface AppendItem {
  /** A user, or appSenderId() for an app. */
  senderId: UserId;
  cmid: string;
  conv: StoredConversation;
  kind: MessageKind;
  /** JSON text of the body, validated by the service. */
  body: string;
  mentions: UserId[] | null;
  origin: string;
  /** Every user whose inbox gets the message, the sender included. */
  recipients: UserId[];
  fileIds: string[];
  /** For kind 'recall': the message being recalled (marked in the same transaction). */
  recallOf?: MessageId;
}

export type AppendResult =
  | { ok: true; duplicate: false; id: MessageId; ts: number; seqs: Map<UserId, number> }
  | { ok: true; duplicate: true; id: MessageId; ts: number; senderSeq: number }
  | { ok: false; error: Error };

export interface StoredMessage {
  id: MessageId;
  senderId: UserId;
  cmid: string;
  conv: StoredConversation;
  kind: MessageKind;
  body: string;
  mentions: UserId[] | null;
  origin: string;
  createdAt: number;
  recalledAt: number | null;
}

export interface InboxEntry extends StoredMessage {
  seq: number;
  senderAccount: string;
  /** For a message in an app conversation: the app. */
  app?: { key: string; name: string };
}

/**
 * Durable message storage. `appendBatch` stores many messages in ONE
 * transaction (group commit): when its promise resolves, every ok result is
 * durable. Items are de-duplicated by (senderId, cmid) — against stored rows
 * and within the batch — and a duplicate reports the original's id. Each
 * recipient's inbox gets the next gap-free sequence number. A failing item does
 * not fail the others.
 */
export interface MessageRepo {
  appendBatch(items: AppendItem[]): Promise<AppendResult[]>;
  inboxAfter(userId: UserId, afterSeq: number, limit: number): Promise<InboxEntry[]>;
  lastSeq(userId: UserId): Promise<number>;
  getMessage(id: MessageId): Promise<StoredMessage | null>;
  /** Moves the reader's pointer forward only; resolves the previous value, or null if it did not move. */
  advanceRead(userId: UserId, conv: Conversation, upTo: MessageId): Promise<MessageId | null>;
  /** Distinct senders (not the reader) of messages in (after, upTo] of a conversation. */
  sendersBetween(conv: Conversation, after: MessageId, upTo: MessageId, exclude: UserId): Promise<UserId[]>;
  /** How many members' read pointers in the message's conversation are at or past it. */
  readCount(id: MessageId): Promise<number>;
  /** True when the user uploaded the file or belongs to a conversation of a message carrying it. */
  canReadFile(userId: UserId, fileId: string): Promise<boolean>;
  /** The app with this key, or null. */
  appByKey(key: string): Promise<AppRecord | null>;
}
