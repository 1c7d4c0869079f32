import { ClientFrame, type ResultPayload } from '../../gateway/src/protocol/client-v1.js';
import type { Connection } from './connection.js';
import { TRANSIENT_REQUEST_CODES, toClientError, type ClientError } from './errors.js';
import type { ClientStore, OutboxEntry } from './store.js';

export type SendAck = ResultPayload[ClientFrame.Send];

export interface OutboxHooks {
  /** An entry was acknowledged (including entries restored from the store, which have no caller waiting). */
  sent(cmid: string, ack: SendAck, entry: OutboxEntry): void;
  /** The server refused an entry for good; it was removed. */
  failed(cmid: string, err: ClientError): void;
  /** Persisting the outbox failed; the entries are still held in memory. */
  persistFailed(err: unknown): void;
}

/** Pause before retrying after a transient refusal that names no delay. */
const DEFAULT_RETRY_MS = 1_000;

interface Waiter {
  resolve(ack: SendAck): void;
  reject(err: ClientError): void;
}

interface Item {
  entry: OutboxEntry;
  waiters: Waiter[];
  /** False until the entry is in the store: nothing is transmitted before it is durable. */
  stored: boolean;
  inflight: boolean;
  retry: NodeJS.Timeout | null;
}

/**
 * Sends that the server has not acknowledged yet. An entry is persisted before
 * it is first transmitted and removed only when the server acknowledges or
 * refuses it for good. When the connection drops, unacknowledged entries are
 * transmitted again on the next one with the same cmid; the server dedups by
 * cmid, so a retry never produces a second message.
 */
export class Outbox {
  private readonly items = new Map<string, Item>();
  private conn: Connection | null = null;
  private persistChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ClientStore,
    private readonly hooks: OutboxHooks,
  ) {}

  get size(): number {
    return this.items.size;
  }

  entries(): OutboxEntry[] {
    return [...this.items.values()].map((i) => structuredClone(i.entry));
  }

  /** Adds the entries a previous run left in the store. */
  async load(): Promise<void> {
    for (const entry of await this.store.getOutbox()) {
      if (!this.items.has(entry.cmid)) this.items.set(entry.cmid, { entry, waiters: [], stored: true, inflight: false, retry: null });
    }
  }

  /** Queues a send and resolves with its acknowledgement. An entry with a cmid already queued joins that entry. */
  enqueue(entry: OutboxEntry): Promise<SendAck> {
    const existing = this.items.get(entry.cmid);
    const item: Item = existing ?? { entry, waiters: [], stored: false, inflight: false, retry: null };
    const done = new Promise<SendAck>((resolve, reject) => item.waiters.push({ resolve, reject }));
    if (!existing) {
      this.items.set(entry.cmid, item);
      void this.persist().then(() => {
        item.stored = true;
        this.dispatch(item);
      });
    }
    return done;
  }

  /** Transmits every waiting entry over an authenticated connection. */
  attach(conn: Connection): void {
    this.conn = conn;
    for (const item of this.items.values()) this.dispatch(item);
  }

  /** The connection is gone: entries wait for the next attach(). */
  detach(): void {
    this.conn = null;
    for (const item of this.items.values()) {
      item.inflight = false;
      if (item.retry) clearTimeout(item.retry);
      item.retry = null;
    }
  }

  /** Fails the callers waiting on entries, keeping the entries for a later run. */
  rejectWaiters(err: ClientError): void {
    for (const item of this.items.values()) {
      const waiters = item.waiters;
      item.waiters = [];
      for (const w of waiters) w.reject(err);
    }
  }

  /** Drops entries no caller of this run is waiting on (they belong to another user's session). */
  discardRestored(): void {
    for (const [cmid, item] of this.items) if (item.waiters.length === 0) this.drop(cmid, item);
    void this.persist();
  }

  /** Drops everything without persisting (the store is being wiped). */
  clear(err: ClientError): void {
    this.rejectWaiters(err);
    for (const [cmid, item] of this.items) this.drop(cmid, item);
  }

  /** Resolves when the writes queued so far have finished. */
  flushed(): Promise<void> {
    return this.persistChain;
  }

  private dispatch(item: Item): void {
    const conn = this.conn;
    const { cmid, to, kind, body, mentions } = item.entry;
    if (!conn || !item.stored || item.inflight || item.retry || this.items.get(cmid) !== item) return;
    item.inflight = true;
    conn.request(ClientFrame.Send, { cmid, to, kind, body, ...(mentions ? { mentions } : {}) }).then(
      (ack) => this.settle(item, ack),
      (err: unknown) => {
        if (this.items.get(cmid) !== item) return;
        item.inflight = false;
        // The connection that carried it is gone; the next one re-sends it.
        if (this.conn !== conn || !conn.isOpen) return;
        const e = toClientError(err);
        if (TRANSIENT_REQUEST_CODES.has(e.code)) {
          item.retry = setTimeout(() => {
            item.retry = null;
            this.dispatch(item);
          }, e.retryAfterMs ?? DEFAULT_RETRY_MS);
          return;
        }
        this.drop(cmid, item);
        void this.persist();
        for (const w of item.waiters) w.reject(e);
        this.hooks.failed(cmid, e);
      },
    );
  }

  private settle(item: Item, ack: SendAck): void {
    const cmid = item.entry.cmid;
    if (this.items.get(cmid) !== item) return;
    this.drop(cmid, item);
    void this.persist();
    for (const w of item.waiters) w.resolve(ack);
    this.hooks.sent(cmid, ack, item.entry);
  }

  private drop(cmid: string, item: Item): void {
    if (item.retry) clearTimeout(item.retry);
    item.retry = null;
    this.items.delete(cmid);
  }

  private persist(): Promise<void> {
    this.persistChain = this.persistChain
      .then(() => this.store.setOutbox([...this.items.values()].map((i) => i.entry)))
      .catch((err: unknown) => this.hooks.persistFailed(err));
    return this.persistChain;
  }
}
