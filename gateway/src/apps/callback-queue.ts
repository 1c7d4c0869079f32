import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/sqlite.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';
import type { AttemptView, DeliveryDetailView, DeliveryPageView, DeliveryState, DeliveryView, TestSendView } from './callbacks-types.js';
import { CALLBACK_TIMEOUT_MS, sendCallback, type AttemptResult, type CallbackTarget } from './callbacks.js';
import { systemResolver, type HostResolver } from './ssrf.js';

/** Retries stop this long after a delivery was queued (wire spec §6: "retries for up to 24 h"). */
export const CALLBACK_RETRY_WINDOW_MS = 24 * 3600_000;
/** The wait after the first failed attempt; it doubles after each further failure… */
export const CALLBACK_BACKOFF_BASE_MS = 10_000;
/** …up to this. */
export const CALLBACK_BACKOFF_MAX_MS = 3600_000;
/** Apps whose deliveries are in flight at once (each app's deliveries go one at a time, in order). */
const MAX_PARALLEL_APPS = 8;
export const MAX_DELIVERY_PAGE = 200;
/** Finished deliveries (delivered or failed) are kept this long in the log, then deleted with their attempts. */
export const CALLBACK_LOG_RETENTION_MS = 30 * 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

/** Time for the queue: `wait` resolves after `ms` (Infinity: never) or rejects when `signal` aborts. Tests inject a virtual one. */
export interface CallbackClock {
  now(): number;
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: CallbackClock = {
  now: () => Date.now(),
  wait: (ms, signal) => new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2 ** 31 - 1)) : null;
    function done() {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      if (timer) clearTimeout(timer);
      reject(signal.reason as Error);
    }
    signal.addEventListener('abort', abort, { once: true });
  }),
};

/** The decrypted payload of a callback (wire spec §6): packageId is a string. */
export interface CallbackPayload {
  fromUser: string;
  createTime: number;
  packageId: string;
  msgType: string;
  [field: string]: unknown;
}

export interface CallbackQueueDeps {
  db: Db;
  apps: AppService;
  log: Logger;
  clock?: CallbackClock;
  resolve?: HostResolver;
  timeoutMs?: number;
  /** Refuse loopback and private addresses too (off by default: apps live in the intranet). */
  refusePrivate?: boolean;
  /** Seals the Token of a delivery's own target at rest (the data directory's secret box). */
  secrets?: { seal(plain: string): string; open(sealed: string): string };
}

/** A target given for one delivery instead of the app's callback (org/replaceall's `callback: {url, token}`). */
export interface CallbackOverride {
  url: string;
  token: string;
}

interface DeliveryRow {
  id: number;
  app_row_id: number;
  package_id: string;
  msg_type: string;
  payload: string;
  state: DeliveryState;
  attempts: number;
  next_at: number;
  created_at: number;
  delivered_at: number | null;
  last_error: string | null;
  replay_of: number | null;
  target_url: string | null;
  target_token: string | null;
}

/** Wait before attempt n+1 after n failed attempts. */
export function backoffMs(failed: number): number {
  return Math.min(CALLBACK_BACKOFF_MAX_MS, CALLBACK_BACKOFF_BASE_MS * 2 ** Math.max(0, failed - 1));
}

/**
 * The persisted queue of callbacks to apps' servers (F-4.8,
 * docs/apps-callbacks.md). enqueue() writes a row and wakes the loop; the
 * loop sends each app's oldest pending delivery (one at a time per app, so an
 * app sees its events in order; up to 8 apps at once), records every attempt,
 * and on failure waits with exponential backoff (10 s doubling to 1 h) until
 * 24 h after the delivery was queued, then marks it failed. Refusals by the
 * outbound guard are final. Rows survive restarts: a started queue picks up
 * whatever is pending. start()/stop(); stop aborts requests in flight (those
 * attempts are not counted) and resolves once the loop has ended.
 */
export class CallbackQueue {
  private readonly clock: CallbackClock;
  private readonly resolve: HostResolver;
  readonly timeoutMs: number;
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private readonly inFlight = new Map<number, Promise<void>>();
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private seq = 0;
  private prunedAt = 0;
  private readonly listeners = new Set<(d: DeliveryView) => void>();

  constructor(private readonly deps: CallbackQueueDeps) {
    this.clock = deps.clock ?? realClock;
    this.resolve = deps.resolve ?? systemResolver;
    this.timeoutMs = deps.timeoutMs ?? CALLBACK_TIMEOUT_MS;
  }

  /**
   * The target of an app's callbacks, or null when the app has none (no URL, Token or open-API keys, or disabled).
   * With `to`, that URL and Token instead of the app's (still encrypted with the app's key).
   */
  target(app: OpenApp, to?: CallbackOverride | null): CallbackTarget | null {
    const url = to ? to.url : app.callbackUrl;
    const token = to ? to.token : app.callbackToken;
    if (!app.enabled || app.origin === 'deleted' || !url || !token || !app.appId || app.buin === null) return null;
    const cipher = this.deps.apps.cipher(app);
    return cipher ? { url, token, buin: app.buin, appId: app.appId, cipher } : null;
  }

  /** The override stored with a delivery, or null (the app's callback). */
  private overrideOf(d: DeliveryRow): CallbackOverride | null {
    if (d.target_url === null || d.target_token === null) return null;
    return { url: d.target_url, token: this.deps.secrets ? this.deps.secrets.open(d.target_token) : d.target_token };
  }

  /** A packageId: a decimal string, unique in this process and increasing. */
  private packageId(): string {
    this.seq = (this.seq + 1) % 1000;
    return String(this.clock.now() * 1000 + this.seq);
  }

  /**
   * Queues a payload for the app's callback; null (nothing queued) when the
   * app has no callback. Durable when it returns.
   */
  enqueue(app: OpenApp, fromUser: string, msgType: string, fields: Record<string, unknown>, to: CallbackOverride | null = null): number | null {
    if (!this.target(app, to)) return null;
    const now = this.clock.now();
    const payload: CallbackPayload = { fromUser, createTime: Math.floor(now / 1000), packageId: this.packageId(), msgType, ...fields };
    const token = to ? (this.deps.secrets ? this.deps.secrets.seal(to.token) : to.token) : null;
    const id = Number(
      this.deps.db
        .prepare("INSERT INTO app_callback_deliveries (app_row_id, package_id, msg_type, payload, state, next_at, created_at, target_url, target_token) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)")
        .run(app.rowId, payload.packageId, msgType, JSON.stringify(payload), now, now, to?.url ?? null, token).lastInsertRowid,
    );
    this.wake();
    return id;
  }

  /** Queues a delivery again (a new row with the same payload), at the end of the app's queue. */
  replay(appRowId: number, id: number): DeliveryView {
    const d = this.row(appRowId, id);
    if (d.state === 'pending') throw new GatewayError('GW_CONFLICT', 'the delivery is still pending; it is retried by itself');
    const app = this.deps.apps.get(appRowId);
    if (!app || !this.target(app, this.overrideOf(d))) throw new GatewayError('GW_BAD_REQUEST', 'the app has no callback URL and Token; set them first');
    const now = this.clock.now();
    const nid = Number(
      this.deps.db
        .prepare("INSERT INTO app_callback_deliveries (app_row_id, package_id, msg_type, payload, state, next_at, created_at, replay_of, target_url, target_token) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)")
        .run(appRowId, d.package_id, d.msg_type, d.payload, now, now, d.id, d.target_url, d.target_token).lastInsertRowid,
    );
    this.wake();
    return toView(this.row(appRowId, nid));
  }

  list(appRowId: number, opts: { state?: DeliveryState; offset?: number; limit?: number } = {}): DeliveryPageView {
    const offset = opts.offset ?? 0;
    const limit = Math.min(opts.limit ?? 50, MAX_DELIVERY_PAGE);
    const where = opts.state ? 'app_row_id = ? AND state = ?' : 'app_row_id = ?';
    const args: unknown[] = opts.state ? [appRowId, opts.state] : [appRowId];
    const total = (this.deps.db.prepare(`SELECT COUNT(*) AS n FROM app_callback_deliveries WHERE ${where}`).get(...args) as { n: number }).n;
    const rows = this.deps.db.prepare(`SELECT * FROM app_callback_deliveries WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, limit, offset) as DeliveryRow[];
    return { total, offset, limit, items: rows.map(toView) };
  }

  detail(appRowId: number, id: number): DeliveryDetailView {
    const d = this.row(appRowId, id);
    const attempts = this.deps.db.prepare('SELECT at, duration_ms, http_status, outcome, detail FROM app_callback_attempts WHERE delivery_id = ? ORDER BY id').all(id) as {
      at: number; duration_ms: number; http_status: number | null; outcome: AttemptView['outcome']; detail: string | null;
    }[];
    return {
      ...toView(d), payload: JSON.parse(d.payload) as unknown,
      attemptLog: attempts.map((a) => ({ at: a.at, durationMs: a.duration_ms, httpStatus: a.http_status, outcome: a.outcome, detail: a.detail })),
    };
  }

  /** Calls `fn` after each delivery changes state (delivered, failed) or is retried; returns the unsubscribe. */
  onChange(fn: (d: DeliveryView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a test event to the app's callback now, outside the queue and the log. */
  async testSend(app: OpenApp, signal: AbortSignal = new AbortController().signal): Promise<TestSendView> {
    const target = this.target(app);
    if (!target) throw new GatewayError('GW_BAD_REQUEST', 'the app has no callback URL and Token (or no open-API keys)');
    const payload: CallbackPayload = {
      fromUser: '', createTime: Math.floor(this.clock.now() / 1000), packageId: this.packageId(), msgType: 'event',
      event: { appId: target.appId, operation: 'test' },
    };
    const r = await sendCallback(target, JSON.stringify(payload), payload.packageId, this.sendOptions(signal));
    return { ok: r.outcome === 'acked', outcome: r.outcome, httpStatus: r.httpStatus, durationMs: r.durationMs, detail: r.detail };
  }

  /**
   * Sends a payload to the app's callback now and waits for the answer, outside the queue and the
   * log (the third-party login asks and reads the reply). Through the outbound guard, with the
   * per-attempt timeout; never retried. Null when the app has no callback.
   */
  async call(app: OpenApp, fromUser: string, msgType: string, fields: Record<string, unknown>, signal: AbortSignal = new AbortController().signal): Promise<AttemptResult | null> {
    const target = this.target(app);
    if (!target) return null;
    const payload: CallbackPayload = { fromUser, createTime: Math.floor(this.clock.now() / 1000), packageId: this.packageId(), msgType, ...fields };
    return sendCallback(target, JSON.stringify(payload), payload.packageId, this.sendOptions(signal));
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal).catch((e: unknown) => {
      if (!controller.signal.aborted) this.deps.log.error({ err: e }, 'the callback queue stopped');
    });
  }

  async stop(): Promise<void> {
    if (!this.controller) return;
    this.controller.abort(new GatewayError('GW_SERVER_SHUTDOWN'));
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()]);
    this.controller = null;
    this.loop = null;
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private sendOptions(signal: AbortSignal) {
    return { resolve: this.resolve, timeoutMs: this.timeoutMs, signal, ...(this.deps.refusePrivate ? { refusePrivate: true } : {}) };
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.woken = false;
      const now = this.clock.now();
      if (now - this.prunedAt >= PRUNE_EVERY_MS) this.prune(now);
      let nextAt = Number.POSITIVE_INFINITY;
      for (const head of this.heads()) {
        if (this.inFlight.has(head.app_row_id)) continue;
        if (head.next_at > now) {
          nextAt = Math.min(nextAt, head.next_at);
          continue;
        }
        if (this.inFlight.size >= MAX_PARALLEL_APPS) break;
        const p = this.attempt(head, signal)
          .catch((e: unknown) => {
            if (!signal.aborted) this.deps.log.error({ err: e, delivery: head.id }, 'a callback attempt failed unexpectedly');
          })
          .finally(() => {
            this.inFlight.delete(head.app_row_id);
            this.wake();
          });
        this.inFlight.set(head.app_row_id, p);
      }
      if (this.woken) continue;
      await this.sleep(nextAt - now, signal);
    }
  }

  /** Waits `ms` on the clock, or until wake(). */
  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const local = new AbortController();
    const both = AbortSignal.any([signal, local.signal]);
    const woken = new Promise<void>((resolve) => {
      this.wakeUp = resolve;
      if (this.woken) resolve();
    });
    try {
      await Promise.race([woken, this.clock.wait(ms, both).catch(() => undefined)]);
    } finally {
      this.wakeUp = null;
      local.abort();
    }
  }

  /** Deletes finished deliveries older than the retention (their attempts go with them). */
  private prune(now: number): void {
    this.prunedAt = now;
    this.deps.db.prepare("DELETE FROM app_callback_deliveries WHERE state <> 'pending' AND created_at < ?").run(now - CALLBACK_LOG_RETENTION_MS);
  }

  /** Each app's oldest pending delivery. */
  private heads(): DeliveryRow[] {
    return this.deps.db
      .prepare(`SELECT d.* FROM app_callback_deliveries d
        JOIN (SELECT MIN(id) AS id FROM app_callback_deliveries WHERE state = 'pending' GROUP BY app_row_id) h ON h.id = d.id
        ORDER BY d.next_at, d.id`)
      .all() as DeliveryRow[];
  }

  private async attempt(d: DeliveryRow, signal: AbortSignal): Promise<void> {
    const app = this.deps.apps.get(d.app_row_id);
    let target: CallbackTarget | null = null;
    try {
      target = app ? this.target(app, this.overrideOf(d)) : null;
    } catch (e) {
      this.deps.log.error({ err: e, delivery: d.id }, 'the Token of the delivery\'s own target cannot be opened');
    }
    let r: AttemptResult;
    if (!target) r = { outcome: 'refused', httpStatus: null, detail: 'the app no longer has a callback (URL, Token, keys) or is disabled', durationMs: 0 };
    else r = await sendCallback(target, d.payload, d.package_id, this.sendOptions(signal));
    if (signal.aborted) return;
    const now = this.clock.now();
    const attempts = d.attempts + 1;
    const db = this.deps.db;
    db.transaction(() => {
      db.prepare('INSERT INTO app_callback_attempts (delivery_id, at, duration_ms, http_status, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)').run(d.id, now, r.durationMs, r.httpStatus, r.outcome, r.detail);
      if (r.outcome === 'acked') {
        db.prepare("UPDATE app_callback_deliveries SET state = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?").run(attempts, now, d.id);
      } else if (r.outcome === 'refused') {
        db.prepare("UPDATE app_callback_deliveries SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?").run(attempts, `refused: ${r.detail ?? ''}`, d.id);
      } else {
        const next = now + backoffMs(attempts);
        if (next - d.created_at > CALLBACK_RETRY_WINDOW_MS) {
          db.prepare("UPDATE app_callback_deliveries SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?").run(attempts, `gave up after 24 h: ${r.detail ?? r.outcome}`, d.id);
        } else {
          db.prepare('UPDATE app_callback_deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?').run(attempts, next, r.detail ?? r.outcome, d.id);
        }
      }
    })();
    const view = toView(this.row(d.app_row_id, d.id));
    for (const fn of this.listeners) {
      try {
        fn(view);
      } catch (e) {
        this.deps.log.warn({ err: e }, 'a callback listener failed');
      }
    }
  }

  private row(appRowId: number, id: number): DeliveryRow {
    const d = this.deps.db.prepare('SELECT * FROM app_callback_deliveries WHERE id = ? AND app_row_id = ?').get(id, appRowId) as DeliveryRow | undefined;
    if (!d) throw new GatewayError('GW_NOT_FOUND', `delivery ${id} does not exist`);
    return d;
  }
}

function toView(d: DeliveryRow): DeliveryView {
  let fromUser = '';
  try {
    fromUser = String((JSON.parse(d.payload) as { fromUser?: unknown }).fromUser ?? '');
  } catch {
    // a payload is always JSON; the log shows it without a sender otherwise
  }
  return {
    id: d.id, appId: d.app_row_id, packageId: d.package_id, msgType: d.msg_type, fromUser, state: d.state, attempts: d.attempts,
    nextAt: d.next_at, createdAt: d.created_at, deliveredAt: d.delivered_at, lastError: d.last_error, replayOf: d.replay_of,
  };
}
