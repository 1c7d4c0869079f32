import { FromAdapter, type Delivery, type ImSend, type NotifySend } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import type { BridgeStore, JobRow } from './bridge-store.js';
import { RtxPortError, type SenderPort } from './ports.js';
import { groupSessionKey, pairSessionKey } from './session-keys.js';

/**
 * Deliveries into RTX (`gw.im.send` → SendIM, `gw.notify.send` → SendNotify). Each payload is
 * queued in the adapter store inside the transaction that marks it processed (so the channel
 * acknowledges it at once and it survives restarts), then a worker delivers the queue:
 * in order per conversation, a few conversations at once, retrying with backoff while RTX is
 * unreachable until the retry window (from when the adapter received it) has passed; every
 * payload ends with exactly one `rtx.delivery` (ok, or a failure code the gateway shows the
 * sender). A delivered job stays in the store as the "delivered ref" for `doneTtlMs`, so the
 * same ref is never sent into RTX twice.
 *
 * Remaining window: between RTX accepting a SendIM and the store recording it (one SQLite
 * commit) a crash leaves the job queued, and it is sent again after the restart — a possible
 * duplicate in RTX, chosen over a possible loss. A SendIM that timed out may also have been
 * delivered; its retry may duplicate it.
 */

export interface DeliveriesOptions {
  retryWindowMs: number;
  retryMinDelayMs: number;
  retryMaxDelayMs: number;
  /** Conversations delivered at once. */
  concurrency: number;
  echoWindowMs: number;
}

export interface DeliveriesDeps {
  store: BridgeStore;
  sender: SenderPort | null;
  send(type: string, body: unknown): Promise<number>;
  /** The session key of an RTX group, when the org read knew it. */
  groupSessionKey(groupId: string): string | undefined;
  /** Tells the bridge whether RTX answered (for rtx.status). */
  onOutcome(port: string, reachable: boolean): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  opts: DeliveriesOptions;
}

export type DeliveryCode = 'RTX_UNKNOWN_USER' | 'RTX_UNREACHABLE' | 'RTX_REFUSED' | 'RTX_BAD_REQUEST';

/**
 * The ordering lane of a `gw.im.send`: the conversation the gateway keeps in order — the group,
 * else the sender with the receivers (a 1:1 pair, or the set of a multi-person send). The session
 * key plays no part: the gateway adds it to a pair's sends from the moment it learns the RTX
 * session from a captured message (and replaces it when RTX uses another), so one conversation's
 * sends come with and without it, and lanes by key would let them overtake each other.
 */
export function imConversation(m: Pick<ImSend, 'group' | 'sender' | 'receivers'>): string {
  if (m.group?.id) return `g:${m.group.id}`;
  if (m.receivers.length <= 1) return `p:${pairSessionKey(m.sender, m.receivers[0] ?? '')}`;
  return `m:${groupSessionKey([m.sender, ...m.receivers])}`;
}

export class Deliveries {
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly busyConvs = new Set<string>();
  private readonly reporting = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private stopped = true;
  readonly counters = { delivered: 0, failed: 0, retried: 0 };

  constructor(private readonly d: DeliveriesDeps) {}

  start(): void {
    this.stopped = false;
    // jobs queued by an adapter version whose lanes followed the session key
    const moved = this.d.store.relaneQueued('im', (body) => {
      const m = JSON.parse(body) as ImSend | null;
      return m && Array.isArray(m.receivers) ? imConversation(m) : null;
    });
    if (moved > 0) this.d.log.info({ moved }, 'queued deliveries moved to their conversation lanes');
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // in-flight sends are not cut short: RTX may already have taken them, and a send cut off
    // here would stay queued and be sent again after the restart (each ends within the SDK timeout)
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Looks at the queue now (after new jobs, or a job finished). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pump();
        this.reportPending();
      } while (this.pumpAgain && !this.stopped);
    } finally {
      this.pumping = false;
    }
  }

  private pump(): void {
    const now = Date.now();
    const blocked = new Set(this.busyConvs);
    let nextDue = Infinity;
    for (const job of this.d.store.queuedJobs(5_000)) {
      if (this.inFlight.has(job.id)) continue;
      if (blocked.has(job.conv)) continue;
      // later jobs of this conversation wait for this one (order per conversation)
      blocked.add(job.conv);
      if (job.next_at > now) {
        nextDue = Math.min(nextDue, job.next_at);
        continue;
      }
      if (this.inFlight.size >= this.d.opts.concurrency) break;
      this.busyConvs.add(job.conv);
      const p = this.run(job).finally(() => {
        this.inFlight.delete(job.id);
        this.busyConvs.delete(job.conv);
        this.kick();
      });
      this.inFlight.set(job.id, p);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (nextDue < Infinity) {
      this.timer = setTimeout(() => this.kick(), Math.max(10, nextDue - Date.now()));
      this.timer.unref();
    }
  }

  private async run(job: JobRow): Promise<void> {
    const { store, opts } = { store: this.d.store, opts: this.d.opts };
    const sender = this.d.sender;
    if (!sender) return this.finish(job, this.failure(job, 'RTX_REFUSED', 'this adapter has no way to send into RTX (configure the RTX SDK URL or the COM helper)'));
    let echoId: number | null = null;
    try {
      if (job.kind === 'im') {
        const m = JSON.parse(job.body) as ImSend;
        const sessionKey = m.sessionKey || (m.group ? (this.d.groupSessionKey(m.group.id) ?? m.group.id) : pairSessionKey(m.sender, m.receivers[0] ?? ''));
        echoId = store.addEcho(m.sender, m.text, m.group ? 'group' : 'single', opts.echoWindowMs);
        await sender.sendIm({ sender: m.sender, receivers: m.receivers, text: m.text, sessionKey });
      } else {
        const n = JSON.parse(job.body) as NotifySend;
        await sender.sendNotify({ receivers: n.receivers, title: n.title, text: n.text });
      }
      this.d.onOutcome(sender.name, true);
      this.counters.delivered += 1;
      this.finish(job, { ref: job.ref, ok: true });
    } catch (e) {
      const err = e instanceof RtxPortError ? e : new RtxPortError('BAD_ANSWER', `unexpected failure: ${(e as Error).message}`);
      this.d.onOutcome(sender.name, err.kind !== 'UNREACHABLE');
      if (err.transient) {
        const now = Date.now();
        const deadline = job.received_at + opts.retryWindowMs;
        if (now >= deadline) {
          this.finish(job, this.failure(job, 'RTX_UNREACHABLE', `RTX could not be reached for ${Math.round(opts.retryWindowMs / 1000)} s: ${err.message}`));
        } else {
          const delay = Math.min(opts.retryMaxDelayMs, opts.retryMinDelayMs * 2 ** Math.min(job.attempts, 20));
          store.retryJob(job.id, Math.min(deadline, now + delay), err.message);
          this.counters.retried += 1;
          if (job.attempts === 0) this.d.log.warn({ ref: job.ref, err: err.message }, 'RTX unreachable: delivery will be retried');
        }
        return;
      }
      if (echoId !== null) store.dropEcho(echoId);
      const code: DeliveryCode = err.kind === 'UNKNOWN_USER' ? 'RTX_UNKNOWN_USER' : err.kind === 'BAD_REQUEST' ? 'RTX_BAD_REQUEST' : 'RTX_REFUSED';
      this.finish(job, this.failure(job, code, err.message, err.accounts));
    }
  }

  private failure(job: Pick<JobRow, 'ref'>, code: DeliveryCode, message: string, failed?: string[]): Delivery {
    this.counters.failed += 1;
    return { ref: job.ref, ok: false, ...(failed && failed.length > 0 ? { failed } : {}), error: { code, message: message.slice(0, 1000) } };
  }

  private finish(job: JobRow, result: Delivery): void {
    this.d.store.finishJob(job.id, result);
    if (!result.ok) this.d.log.warn({ ref: job.ref, error: result.error }, 'delivery into RTX failed');
    this.reportOne(job.id, result);
  }

  private reportOne(id: number, result: Delivery): void {
    if (this.reporting.has(id)) return;
    this.reporting.add(id);
    this.d
      .send(FromAdapter.Delivery, result)
      .then(() => this.d.store.markReported([id]))
      .catch((e: unknown) => this.d.log.warn({ err: (e as Error).message }, 'could not queue rtx.delivery; will retry'))
      .finally(() => this.reporting.delete(id));
  }

  /** Reports results recorded but not yet queued for the gateway (after a restart, or a failure queued by a payload handler). */
  reportPending(): void {
    for (const r of this.d.store.unreported()) {
      if (!this.reporting.has(r.id)) this.reportOne(r.id, JSON.parse(r.result) as Delivery);
    }
  }

  /** Jobs waiting. */
  backlog(): number {
    return this.d.store.jobCounts().queued;
  }
}
