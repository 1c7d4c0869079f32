import {
  MAX_PAYLOAD_TYPE_CHARS,
  PAYLOAD_TYPE_RE,
  PLUGIN_HEARTBEAT_INTERVAL_MS,
  PLUGIN_IDLE_TIMEOUT_MS,
  PLUGIN_MAX_FRAME_BYTES,
  PLUGIN_MAX_UNACKED,
  PluginFrameType,
  PluginProtocolError,
  type PluginCloseCode,
  type DataFrame,
  type PluginFrame,
} from './plugin-v1.js';

/**
 * The reliable stream of the plugin channel, used by both ends (gateway and
 * adapter): per-direction sequence numbers, cumulative acks, a window of
 * unacknowledged frames, re-sending after a reconnect, dropping duplicates,
 * refusing gaps, heartbeats and the idle timeout. Pure: no sockets and no
 * database — the stores and the link are injected, so are the timers.
 *
 * Exactly-once, in order, rests on two stores that survive restarts:
 * - the Outbox holds every frame this side sent until the peer acknowledged it;
 * - the Inbox records the highest seq whose effect is durably done, together
 *   with the effect (one transaction) or after an effect that is idempotent.
 */

/** A frame waiting in the outbox. `bodyJson` is the body as JSON text, exactly as it goes on the wire. */
export interface OutboundFrame {
  seq: number;
  type: string;
  bodyJson: string;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Durable store of the frames this side sends. Implementations: SQLite on
 * both ends. Calls are never concurrent: the session serialises them.
 */
export interface PluginOutbox {
  /**
   * Appends the payloads in order, assigning each the next seq (the last seq
   * + 1, …), and returns the seqs. Durable when it returns (resolves): a seq
   * is never handed out twice, even across a crash. May throw (nothing was
   * appended then).
   */
  append(items: readonly { type: string; bodyJson: string }[]): MaybePromise<number[]>;
  /** Frames with seq > afterSeq, not yet acknowledged, in seq order, at most `limit`. */
  unacked(afterSeq: number, limit: number): MaybePromise<OutboundFrame[]>;
  /**
   * The peer has processed every frame up to `upTo`: they may be forgotten.
   * Need not be durable at once (a lost ack only means a re-send, which the
   * peer drops). When `upTo` is beyond the last seq (the peer saw frames this
   * store no longer knows — e.g. a database restored from a backup), the seq
   * counter jumps to `upTo` so that new frames are not taken for duplicates.
   */
  ack(upTo: number): MaybePromise<void>;
  /** The last seq handed out and the highest acknowledged one. */
  state(): MaybePromise<{ lastSeq: number; ackedSeq: number }>;
}

/**
 * Durable record of what this side received. `apply` runs the payloads'
 * effects and records the last seq as processed; the session calls it with
 * consecutive frames in order, one call at a time.
 */
export interface PluginInbox {
  /** Highest seq whose effect is durably done (0 = none). */
  highWater(): MaybePromise<number>;
  /**
   * Applies `frames` (consecutive; the first is highWater() + 1) and raises
   * the high-water to the last one. Each frame's effect must be recorded
   * atomically with the high-water (same transaction), or be idempotent by
   * (stream, seq) so that a frame re-delivered after a crash between the two
   * does nothing twice. May throw after processing a prefix: highWater() then
   * tells how far it got, and the rest is re-sent after a reconnect.
   */
  apply(frames: readonly DataFrame[]): Promise<void>;
}

/** One connection, as the session sees it. */
export interface PluginLink {
  /** Writes one frame, given as JSON text. Returns false when the link is already closed. */
  write(json: string): boolean;
  /** Writes `bye` with this code and message, then closes. Called at most once by the session. */
  close(code: PluginCloseCode, message: string): void;
}

/** Injectable clock (tests use a fake one). */
export interface SessionTimers {
  now(): number;
  /** Calls fn every `ms`; returns a function that stops it. Must not keep the process alive. */
  every(ms: number, fn: () => void): () => void;
  /** Runs fn after the current I/O callbacks (batches the sends of one event-loop turn). */
  defer(fn: () => void): void;
}

export const realTimers: SessionTimers = {
  now: () => Date.now(),
  every(ms, fn) {
    const h = setInterval(fn, ms);
    h.unref();
    return () => clearInterval(h);
  },
  defer: (fn) => void setImmediate(fn),
};

export interface LinkParams {
  /** The peer's high-water: the highest of our seqs it has durably processed. */
  peerRecvSeq: number;
  maxUnacked?: number;
  heartbeatIntervalMs?: number;
  idleTimeoutMs?: number;
}

export interface SessionStatus {
  connected: boolean;
  /** When the last frame of any kind arrived (ms since the epoch), or null. */
  lastSeenAt: number | null;
  /** Outbound: last seq handed out, highest acknowledged, highest written on this link. */
  lastSeq: number;
  ackedSeq: number;
  writtenSeq: number;
  /** Outbound frames not yet acknowledged (waiting to be written, or on the wire). */
  backlog: number;
  /** Inbound: highest seq processed. */
  highWater: number;
  /** Inbound frames received but not yet processed. */
  pending: number;
  /** Counters since start: frames written after an attach that were waiting when it began, duplicates dropped, links attached. */
  resent: number;
  duplicatesDropped: number;
  links: number;
}

export interface SessionOptions {
  outbox: PluginOutbox;
  inbox: PluginInbox;
  timers?: SessionTimers;
  maxFrameBytes?: number;
  /** Most frames handed to one inbox.apply call. */
  maxApplyBatch?: number;
  /** Reports things worth a log line (never secrets): fast-forwards, apply failures. */
  onWarning?: (message: string, err?: unknown) => void;
}

interface PendingSend {
  type: string;
  bodyJson: string;
  resolve: (seq: number) => void;
  reject: (e: unknown) => void;
}

/** Conservative size of a data frame's envelope around type and body: `{"t":"data","seq":<16 digits>,"type":"","body":}`. */
const DATA_ENVELOPE_BYTES = 64;

/**
 * The reliable stream of one side. Lifecycle: `send()` at any time (frames
 * wait in the outbox while no link is attached); for each connection, after
 * the handshake, `attach(link, params)`, then `onFrame()` for every frame
 * after it, and `detach(link)` when the connection ends.
 */
export class PluginSession {
  private readonly timers: SessionTimers;
  private readonly maxFrameBytes: number;
  private readonly maxApplyBatch: number;
  private link: PluginLink | null = null;
  private linkNo = 0;
  private window = PLUGIN_MAX_UNACKED;
  private stopHeartbeat: (() => void) | null = null;
  private lastSentAt = 0;
  private lastRecvAt: number | null = null;

  // outbound
  private queue: PendingSend[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;
  private lastSeq = 0;
  private acked = 0;
  private written = 0;
  private pumping = false;
  /** Frames up to this seq were waiting when the link was attached: writing them counts as (re-)sending. */
  private queuedAtAttach = 0;
  /** Frames received while attach() reads the stores; null when not attaching. */
  private early: PluginFrame[] | null = null;
  private pumpAgain = false;

  // inbound
  private received = 0;
  private highWater = 0;
  private pendingIn: DataFrame[] = [];
  private applying: Promise<void> | null = null;
  private closed = false;

  private counters = { resent: 0, duplicatesDropped: 0, links: 0 };

  constructor(private readonly opts: SessionOptions) {
    this.timers = opts.timers ?? realTimers;
    this.maxFrameBytes = opts.maxFrameBytes ?? PLUGIN_MAX_FRAME_BYTES;
    this.maxApplyBatch = opts.maxApplyBatch ?? 500;
  }

  /**
   * (Re-)reads the stores' state: at start, so status() is right before the
   * first link, and after the stores changed under the session (the gateway
   * re-binding its stream to another adapter). Call only while detached.
   */
  async load(): Promise<void> {
    await this.flush();
    const st = await this.opts.outbox.state();
    this.lastSeq = st.lastSeq;
    this.acked = st.ackedSeq;
    this.written = this.acked;
    this.highWater = this.received = await this.settledHighWater();
  }

  get connected(): boolean {
    return this.link !== null;
  }

  /**
   * Queues a payload and resolves its seq once it is durable in the outbox
   * (all sends of one event-loop turn share one append). Payloads are sent in
   * the order of the calls. Throws at once (PluginProtocolError) for a type
   * that is not a payload type or a body whose frame would exceed the frame
   * limit; rejects when the outbox fails or the session is closed.
   */
  send(type: string, body: unknown): Promise<number> {
    if (this.closed) return Promise.reject(new PluginProtocolError('GW_SERVER_SHUTDOWN', 'the plugin session is closed'));
    if (typeof type !== 'string' || type.length > MAX_PAYLOAD_TYPE_CHARS || !PAYLOAD_TYPE_RE.test(type)) {
      throw new PluginProtocolError('GW_BAD_FRAME', `not a payload type: ${String(type).slice(0, 40)}`);
    }
    const bodyJson = JSON.stringify(body === undefined ? null : body);
    const bytes = Buffer.byteLength(bodyJson, 'utf8') + Buffer.byteLength(type, 'utf8') + DATA_ENVELOPE_BYTES;
    if (bytes > this.maxFrameBytes) {
      throw new PluginProtocolError('GW_FRAME_TOO_LARGE', `payload ${type} of about ${bytes} bytes exceeds the frame limit of ${this.maxFrameBytes} bytes`);
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ type, bodyJson, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.timers.defer(() => void this.flush());
      }
    });
  }

  /**
   * Frames were appended to the outbox by the caller itself, up to `lastSeq`
   * (PluginHub.sendInTransaction: in the caller's own transaction, committed
   * now): send them like queued ones.
   */
  noteAppended(lastSeq: number): void {
    if (lastSeq > this.lastSeq) this.lastSeq = lastSeq;
    void this.pump();
  }

  /** Stores every queued send; resolves when the outbox has them (or they were refused). */
  async flush(): Promise<void> {
    this.flushScheduled = false;
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = (async () => {
      try {
        const seqs = await this.opts.outbox.append(batch.map((b) => ({ type: b.type, bodyJson: b.bodyJson })));
        const last = seqs[seqs.length - 1];
        if (last !== undefined && last > this.lastSeq) this.lastSeq = last;
        batch.forEach((b, i) => b.resolve(seqs[i] as number));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
    void this.pump();
    if (this.queue.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      this.timers.defer(() => void this.flush());
    }
  }

  /**
   * Waits until no inbound frame is being processed and returns the
   * high-water: what the handshake reports to the peer. Frames received on
   * a link that has ended and not yet processed are dropped (the peer
   * re-sends them).
   */
  async settledHighWater(): Promise<number> {
    while (this.applying) await this.applying;
    this.highWater = await this.opts.inbox.highWater();
    return this.highWater;
  }

  /**
   * Starts using a link after the handshake: forgets what the peer has
   * processed, then (re-)sends every unacknowledged frame in order, within the
   * window. Call settledHighWater() first (the handshake needs it anyway).
   * A previous link still attached is detached (not closed) first.
   */
  async attach(link: PluginLink, params: LinkParams): Promise<void> {
    if (this.closed) {
      link.close('GW_SERVER_SHUTDOWN', 'shutting down');
      return;
    }
    if (this.link) this.detach(this.link);
    const no = ++this.linkNo;
    this.link = link;
    // frames that arrive while the stores are read wait here, so they meet the loaded state
    this.early = [];
    this.counters.links += 1;
    this.window = Math.max(1, params.maxUnacked ?? PLUGIN_MAX_UNACKED);
    this.pendingIn = [];
    this.received = this.highWater = await this.settledHighWater();
    if (this.linkNo !== no) return;
    await this.flushing;
    const st = await this.opts.outbox.state();
    if (this.linkNo !== no) return;
    this.lastSeq = st.lastSeq;
    this.acked = st.ackedSeq;
    if (params.peerRecvSeq > this.lastSeq) {
      this.opts.onWarning?.(`the peer has processed up to seq ${params.peerRecvSeq}, beyond the last seq ${this.lastSeq} this side knows (restored database?); continuing after it`);
    }
    if (params.peerRecvSeq > this.acked) {
      await this.opts.outbox.ack(params.peerRecvSeq);
      this.acked = params.peerRecvSeq;
      this.lastSeq = Math.max(this.lastSeq, this.acked);
    }
    if (this.linkNo !== no) return;
    this.written = this.acked;
    this.queuedAtAttach = this.lastSeq;
    const now = this.timers.now();
    this.lastSentAt = now;
    this.lastRecvAt = now;
    const hb = params.heartbeatIntervalMs ?? PLUGIN_HEARTBEAT_INTERVAL_MS;
    const idle = params.idleTimeoutMs ?? PLUGIN_IDLE_TIMEOUT_MS;
    this.stopHeartbeat = this.timers.every(Math.max(10, Math.min(hb, idle) / 3), () => {
      if (this.link !== link) return;
      const t = this.timers.now();
      if (this.lastRecvAt !== null && t - this.lastRecvAt >= idle) {
        this.fail('GW_HEARTBEAT_TIMEOUT', `nothing arrived for ${idle} ms`);
        return;
      }
      if (t - this.lastSentAt >= hb) this.write({ t: PluginFrameType.Ping });
    });
    const early = this.early;
    this.early = null;
    void this.pump();
    for (const f of early ?? []) if (this.link === link) this.onFrame(link, f);
  }

  /** Stops using the link (the connection ended). Unprocessed inbound frames are dropped; nothing outbound is lost. */
  detach(link: PluginLink): void {
    if (this.link !== link) return;
    this.link = null;
    this.linkNo += 1;
    this.stopHeartbeat?.();
    this.stopHeartbeat = null;
    this.pendingIn = [];
    this.early = null;
  }

  /** Closes the link with a protocol error and detaches from it. */
  private fail(code: PluginCloseCode, message: string): void {
    const link = this.link;
    if (!link) return;
    this.detach(link);
    link.close(code, message);
  }

  /**
   * Handles one frame of an attached link: data, ack or ping. Any other
   * frame type is the transport's business (hello/welcome/bye) and refused
   * here. Protocol violations close the link (GW_PLUGIN_SEQUENCE).
   */
  onFrame(link: PluginLink, frame: PluginFrame): void {
    if (this.link !== link) return;
    if (this.early) {
      this.early.push(frame);
      return;
    }
    this.lastRecvAt = this.timers.now();
    switch (frame.t) {
      case PluginFrameType.Ping:
        return;
      case PluginFrameType.Ack:
        return this.onAck(frame.seq);
      case PluginFrameType.Data:
        return this.onData(frame);
      default:
        return this.fail('GW_BAD_FRAME', `${frame.t} is not expected after the handshake`);
    }
  }

  private onAck(seq: number): void {
    if (seq > this.written) return this.fail('GW_PLUGIN_SEQUENCE', `ack of seq ${seq}, but only up to ${this.written} was sent`);
    if (seq <= this.acked) return;
    this.acked = seq;
    void Promise.resolve(this.opts.outbox.ack(seq)).catch((e: unknown) => this.opts.onWarning?.('outbox ack failed', e));
    void this.pump();
  }

  private onData(frame: DataFrame): void {
    if (frame.seq <= this.received) {
      // already processed or queued: a re-send; ack what is done so the peer can forget it
      this.counters.duplicatesDropped += 1;
      if (frame.seq <= this.highWater && this.pendingIn.length === 0 && !this.applying) this.write({ t: PluginFrameType.Ack, seq: this.highWater });
      return;
    }
    if (frame.seq !== this.received + 1) return this.fail('GW_PLUGIN_SEQUENCE', `expected seq ${this.received + 1}, got ${frame.seq}`);
    if (frame.seq - this.highWater > this.window) return this.fail('GW_PLUGIN_SEQUENCE', `more than ${this.window} unacknowledged frames`);
    this.received = frame.seq;
    this.pendingIn.push(frame);
    this.kickApply();
  }

  private kickApply(): void {
    if (this.applying) return;
    this.applying = this.applyLoop().finally(() => {
      this.applying = null;
      // frames that arrived after the loop's last look and before this callback
      if (this.pendingIn.length > 0) this.kickApply();
    });
  }

  private async applyLoop(): Promise<void> {
    while (this.pendingIn.length > 0) {
      const no = this.linkNo;
      const batch = this.pendingIn.splice(0, this.maxApplyBatch);
      try {
        await this.opts.inbox.apply(batch);
        this.highWater = (batch[batch.length - 1] as DataFrame).seq;
      } catch (e) {
        this.highWater = await Promise.resolve(this.opts.inbox.highWater()).catch(() => this.highWater);
        this.opts.onWarning?.(`processing inbound frame ${this.highWater + 1} failed; it will be retried after a reconnect`, e);
        if (this.linkNo === no) this.fail('GW_INTERNAL', `could not process frame ${this.highWater + 1}; retrying after a reconnect`);
        this.pendingIn = [];
        this.received = this.highWater;
        return;
      }
      if (this.linkNo === no && this.link) this.write({ t: PluginFrameType.Ack, seq: this.highWater });
    }
  }

  /** Writes unacknowledged frames while the window allows. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.link && this.written - this.acked < this.window && this.written < this.lastSeq) {
          const no = this.linkNo;
          const room = this.window - (this.written - this.acked);
          const frames = await this.opts.outbox.unacked(this.written, room);
          if (this.linkNo !== no || !this.link) break;
          if (frames.length === 0) break;
          for (const f of frames) {
            if (f.seq <= this.written) continue;
            this.link.write(`{"t":"data","seq":${f.seq},"type":${JSON.stringify(f.type)},"body":${f.bodyJson}}`);
            this.lastSentAt = this.timers.now();
            if (f.seq <= this.queuedAtAttach) this.counters.resent += 1;
            this.written = f.seq;
          }
        }
      } while (this.pumpAgain);
    } catch (e) {
      this.opts.onWarning?.('reading the outbox failed', e);
      this.fail('GW_INTERNAL', 'could not read the outbox');
    } finally {
      this.pumping = false;
    }
  }

  private write(frame: PluginFrame): void {
    if (!this.link) return;
    this.link.write(JSON.stringify(frame));
    this.lastSentAt = this.timers.now();
  }

  status(): SessionStatus {
    return {
      connected: this.link !== null,
      lastSeenAt: this.lastRecvAt,
      lastSeq: this.lastSeq,
      ackedSeq: this.acked,
      writtenSeq: this.written,
      backlog: Math.max(0, this.lastSeq - this.acked),
      highWater: this.highWater,
      pending: this.received - this.highWater,
      ...this.counters,
    };
  }

  /**
   * Stores what is queued, lets inbound processing finish, and closes the
   * link with `code` (GW_SERVER_SHUTDOWN by default). Later sends are refused.
   */
  async close(code: PluginCloseCode = 'GW_SERVER_SHUTDOWN', message = 'shutting down'): Promise<void> {
    await this.flush();
    this.closed = true;
    const link = this.link;
    if (link) {
      this.detach(link);
      link.close(code, message);
    }
    while (this.applying) await this.applying;
  }
}

/** What a payload handler learns about the frame it handles. */
export interface PayloadContext {
  /** The stream: the adapter id (both ends use the adapter's id). */
  stream: string;
  seq: number;
  type: string;
  /** `<stream>#<seq>`: a stable idempotency key for this payload, the same on every re-delivery. */
  key: string;
}

/** Runs inside the transaction that records the frame as processed: synchronous writes to the same database only. */
export type TransactionalHandler = (body: unknown, ctx: PayloadContext) => void;
/** Runs before the frame is recorded as processed; must be idempotent by `ctx.key` (a crash in between re-delivers it). */
export type IdempotentHandler = (body: unknown, ctx: PayloadContext) => Promise<void>;

/** The durable high-water of one side, in a database that can run transactions. */
export interface HighWaterStore {
  /** The stream (adapter id) the frames belong to. */
  stream(): string;
  highWater(): number;
  /** Records `seq` as processed; called inside transaction(). */
  setHighWater(seq: number): void;
  /** Runs fn in one transaction (synchronously, like better-sqlite3's db.transaction) and returns its result. */
  transaction<T>(fn: () => T): T;
}

/**
 * The Inbox both ends use: dispatches each payload to the handler registered
 * for its type and raises the high-water so that each payload's effect
 * happens exactly once.
 * - Transactional handlers (`on`) run inside the transaction that raises the
 *   high-water; consecutive frames for such handlers share one transaction.
 * - Idempotent handlers (`onIdempotent`) may be asynchronous (they call
 *   services that commit on their own); the high-water is raised after the
 *   handler resolved, so a crash in between re-delivers the payload, with the
 *   same `ctx.key`.
 * A handler that throws stops the stream at that frame (the link is closed
 * and the frame is re-sent after a reconnect): throw only for failures that
 * may pass (database busy); a payload that can never be processed must be
 * answered or logged and the handler return normally.
 * A payload type nobody registered is reported to `onUnhandled` and skipped.
 */
export class PayloadDispatcher implements PluginInbox {
  private readonly tx = new Map<string, TransactionalHandler>();
  private readonly idem = new Map<string, IdempotentHandler>();

  constructor(
    private readonly store: HighWaterStore,
    private readonly onUnhandled: (ctx: PayloadContext) => void = () => {},
  ) {}

  /** Registers the transactional handler of a payload type (replacing any handler of that type). */
  on(type: string, handler: TransactionalHandler): void {
    this.idem.delete(type);
    this.tx.set(type, handler);
  }

  /** Registers the idempotent (possibly asynchronous) handler of a payload type (replacing any handler of that type). */
  onIdempotent(type: string, handler: IdempotentHandler): void {
    this.tx.delete(type);
    this.idem.set(type, handler);
  }

  highWater(): number {
    return this.store.highWater();
  }

  async apply(frames: readonly DataFrame[]): Promise<void> {
    const stream = this.store.stream();
    const ctx = (f: DataFrame): PayloadContext => ({ stream, seq: f.seq, type: f.type, key: `${stream}#${f.seq}` });
    let i = 0;
    while (i < frames.length) {
      const first = frames[i] as DataFrame;
      const idem = this.idem.get(first.type);
      if (idem) {
        await idem(first.body, ctx(first));
        this.store.transaction(() => this.store.setHighWater(first.seq));
        i += 1;
        continue;
      }
      i = this.store.transaction(() => {
        let j = i;
        for (; j < frames.length; j++) {
          const f = frames[j] as DataFrame;
          if (this.idem.has(f.type)) break;
          const h = this.tx.get(f.type);
          if (h) h(f.body, ctx(f));
          else this.onUnhandled(ctx(f));
        }
        this.store.setHighWater((frames[j - 1] as DataFrame).seq);
        return j;
      });
    }
  }
}
