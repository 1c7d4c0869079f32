import { createHash, randomUUID } from 'node:crypto';
import {
  FromAdapter,
  ORG_PAGE_MAX_ITEMS,
  ToAdapter,
  checkImCaptured,
  checkImSend,
  type AdapterStatus,
  type ImSend,
  type NotifySend,
  type OrgBegin,
  type OrgEnd,
  type OrgPage,
  type RtxGroup,
} from '../../gateway/src/protocol/rtx-bridge-v1.js';
import type { BridgeStore } from './bridge-store.js';
import { Deliveries, imConversation, type DeliveriesOptions } from './deliveries.js';
import type { ResolvedGroup } from './imwatch-tailer.js';
import type { CapturedMessage, CapturePort, DirectoryPort, OrgData, PresencePort, SenderPort } from './ports.js';
import { PresencePoller } from './presence.js';

/**
 * The bridge core (docs/rtx-adapter.md): org snapshots from the directory port, captured
 * messages from the capture ports to the gateway (de-duplicated, echo-suppressed), deliveries
 * from the gateway into RTX (deliveries.ts), presence (presence.ts) and the adapter's view of
 * RTX (`rtx.status`). It sees RTX only through the ports and the gateway only through the
 * channel, so either side can be faked.
 */

/** What the bridge needs from the plugin channel (PluginChannel). */
export interface BridgeChannel {
  send(type: string, body: unknown): Promise<number>;
  on(type: string, handler: (body: unknown, ctx: { key: string; seq: number }) => void): void;
}

export interface BridgeOptions extends DeliveriesOptions {
  /** Read the org this often (0 = only on connect, on request and when the export XML changes). */
  syncIntervalMs: number;
  /** After a failed org read, try again after this long. */
  syncRetryMs: number;
  presenceIntervalMs: number;
  /** How long a capture's id is remembered for de-duplication. */
  dedupTtlMs: number;
  /** How long a delivered ref is remembered. */
  doneTtlMs: number;
  /** How often rtx.status is re-evaluated (sent only on change). */
  statusCheckMs: number;
  /** Without any RTX answer for this long, probe() is called (0 = never). */
  probeAfterMs: number;
}

export const DEFAULT_BRIDGE_OPTIONS: BridgeOptions = {
  syncIntervalMs: 3_600_000,
  syncRetryMs: 30_000,
  presenceIntervalMs: 30_000,
  dedupTtlMs: 7 * 86_400_000,
  doneTtlMs: 7 * 86_400_000,
  statusCheckMs: 1_000,
  probeAfterMs: 15_000,
  retryWindowMs: 600_000,
  retryMinDelayMs: 500,
  retryMaxDelayMs: 30_000,
  concurrency: 8,
  echoWindowMs: 120_000,
};

/** Largest JSON of one page's items, so a page stays well under the 1 MiB frame limit. */
const PAGE_MAX_JSON_BYTES = 600_000;

export interface BridgeDeps {
  channel: BridgeChannel;
  store: BridgeStore;
  directory: DirectoryPort | null;
  captures: CapturePort[];
  sender: SenderPort | null;
  presence: PresencePort | null;
  /** State of every configured port (and 'off' for the others), for rtx.status. */
  portStates(reach: ReadonlyMap<string, 'up' | 'down'>): Record<string, 'up' | 'down' | 'off'>;
  /** A cheap call that tells whether RTX answers (e.g. getstatus); throws RtxPortError. */
  probe?: () => Promise<void>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  opts?: Partial<BridgeOptions>;
}

/** Splits items into pages of at most `maxItems` and about `maxBytes` of JSON. */
export function paginate<T>(items: readonly T[], maxItems = ORG_PAGE_MAX_ITEMS, maxBytes = PAGE_MAX_JSON_BYTES): T[][] {
  const pages: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const b = Buffer.byteLength(JSON.stringify(it));
    if (cur.length > 0 && (cur.length >= maxItems || bytes + b > maxBytes)) {
      pages.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += b;
  }
  if (cur.length > 0) pages.push(cur);
  return pages;
}

/** A hash of the org's content, independent of the order the source listed things in. */
export function orgHash(org: OrgData): string {
  const by = <T>(xs: readonly T[], k: (x: T) => string) => [...xs].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
  const canonical = {
    source: org.source,
    depts: by(org.depts, (d) => d.id),
    users: by(org.users, (u) => u.account),
    groups: org.groups === null ? null : by(org.groups, (g) => g.id),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

const memberKey = (members: Iterable<string>) => [...new Set([...members].map((m) => m.trim().toLowerCase()))].sort().join('\u0000');

export interface BridgeStatus {
  lastSync: { at: number; snapshotId: string | null; skipped: boolean; error: string | null } | null;
  syncs: number;
  captured: { forwarded: number; duplicates: number; echoes: number; crossPath: number; invalid: number };
  deliveries: { delivered: number; failed: number; retried: number; backlog: number };
  presencePolls: number;
  rtx: AdapterStatus | null;
}

export class Bridge {
  readonly opts: BridgeOptions;
  private readonly deliveries: Deliveries;
  private readonly presence: PresencePoller | null;
  private readonly reach = new Map<string, 'up' | 'down'>();
  private lastAnswerAt = 0;
  private org: OrgData | null = null;
  private groupsByMembers = new Map<string, RtxGroup>();
  private groupKeys = new Map<string, string>();
  private syncRunning: Promise<void> | null = null;
  private syncAgain: string | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private captureChain: Promise<void> = Promise.resolve();
  private readonly inflightIds = new Set<string>();
  private lastStatusJson = '';
  private lastStatus: AdapterStatus | null = null;
  private stopped = true;
  private readonly st: BridgeStatus = { lastSync: null, syncs: 0, captured: { forwarded: 0, duplicates: 0, echoes: 0, crossPath: 0, invalid: 0 }, deliveries: { delivered: 0, failed: 0, retried: 0, backlog: 0 }, presencePolls: 0, rtx: null };

  constructor(private readonly d: BridgeDeps) {
    this.opts = { ...DEFAULT_BRIDGE_OPTIONS, ...(d.opts ?? {}) };
    this.deliveries = new Deliveries({
      store: d.store,
      sender: d.sender,
      send: (t, b) => d.channel.send(t, b),
      groupSessionKey: (id) => this.groupKeys.get(id),
      onOutcome: (port, ok) => this.outcome(port, ok),
      log: d.log,
      opts: this.opts,
    });
    this.presence =
      d.presence && this.opts.presenceIntervalMs > 0
        ? new PresencePoller({ port: d.presence, accounts: () => this.org?.users.map((u) => u.account) ?? [], send: (t, b) => d.channel.send(t, b), onOutcome: (p, ok) => this.outcome(p, ok), intervalMs: this.opts.presenceIntervalMs, log: d.log })
        : null;
    this.registerHandlers();
  }

  /**
   * Payload handlers, registered before the channel starts. All three are transactional: they
   * only write the adapter store, in the transaction that marks the payload processed, so the
   * gateway's frame is acknowledged only once its work is durably queued here.
   */
  private registerHandlers(): void {
    const { channel, store } = this.d;
    channel.on(ToAdapter.ImSend, (body) => {
      const ref = refOf(body);
      let m: ImSend;
      try {
        m = checkImSend(body);
      } catch (e) {
        return this.refuse(ref, 'gw.im.send', (e as Error).message);
      }
      if (m.receivers.length === 0) return this.refuse(ref, 'gw.im.send', 'no receivers');
      store.enqueueJob({ ref: m.ref, kind: 'im', body: m, conv: imConversation(m) });
      setImmediate(() => this.deliveries.kick());
    });
    channel.on(ToAdapter.NotifySend, (body) => {
      const ref = refOf(body);
      const n = body as Partial<NotifySend> | null;
      if (!ref || !n || !Array.isArray(n.receivers) || n.receivers.length === 0 || n.receivers.some((r) => typeof r !== 'string' || r === '') || typeof n.text !== 'string' || n.text === '') {
        return this.refuse(ref, 'gw.notify.send', 'needs ref, receivers and text');
      }
      store.enqueueJob({ ref, kind: 'notify', body: { ref, receivers: n.receivers, title: typeof n.title === 'string' ? n.title : '', text: n.text }, conv: `n:${ref}` });
      setImmediate(() => this.deliveries.kick());
    });
    channel.on(ToAdapter.SyncRequest, (body) => {
      const reason = typeof (body as { reason?: unknown } | null)?.reason === 'string' ? (body as { reason: string }).reason : 'requested by the gateway';
      // a unique value: a request arriving while a snapshot is being read is not cleared by it
      store.setMeta('sync_forced', `${reason.slice(0, 200)}\u0000${randomUUID()}`);
      setImmediate(() => this.requestSync(reason, false));
    });
  }

  /** A payload that can never be delivered: recorded as a failed job (reported by the worker). */
  private refuse(ref: string | null, type: string, message: string): void {
    if (!ref) {
      this.d.log.warn({ type, message }, 'payload without a usable ref: cannot be answered, skipped');
      return;
    }
    const fresh = this.d.store.enqueueJob({ ref, kind: 'im', body: null, conv: `x:${ref}` });
    if (!fresh) return;
    const row = this.d.store.db.prepare('SELECT id FROM bridge_job WHERE ref = ?').get(ref) as { id: number };
    this.d.store.finishJob(row.id, { ref, ok: false, error: { code: 'RTX_BAD_REQUEST', message: `${type}: ${message}`.slice(0, 1000) } });
    setImmediate(() => this.deliveries.kick());
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.loadSavedGroups();
    this.deliveries.start();
    // IMWatch first: COM capture's catch-up (com-ports.ts) reads it before forwarding anything
    for (const c of [...this.d.captures].sort((a, b) => Number(b.name === 'imwatch') - Number(a.name === 'imwatch'))) await c.start((msgs) => this.captured(msgs));
    this.presence?.start();
    this.requestSync('adapter start', false);
    if (this.opts.syncIntervalMs > 0) {
      const every = () => {
        this.syncTimer = setTimeout(() => {
          this.requestSync('schedule', false);
          every();
        }, this.opts.syncIntervalMs);
        this.syncTimer.unref();
      };
      every();
    }
    const statusTick = () => {
      if (this.stopped) return;
      this.checkStatus();
      this.d.store.purge(this.opts.doneTtlMs);
      this.statusTimer = setTimeout(statusTick, this.opts.statusCheckMs);
      this.statusTimer.unref();
    };
    statusTick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    await Promise.allSettled([this.deliveries.stop(), this.presence?.stop(), ...this.d.captures.map((c) => c.stop())]);
    await this.captureChain;
    while (this.syncRunning) await this.syncRunning.catch(() => undefined);
  }

  /** The plugin channel connected: send a snapshot if the org changed since the last one. */
  onConnected(): void {
    // the gateway cleared RTX presence when the link dropped: send the whole list again
    this.presence?.resync();
    this.requestSync('connected', false);
  }

  status(): BridgeStatus {
    return { ...this.st, deliveries: { ...this.deliveries.counters, backlog: this.deliveries.backlog() }, presencePolls: this.presence?.polls ?? 0, rtx: this.lastStatus };
  }

  // ---- org ----

  /** Reads the org and sends a snapshot (`force`, or a pending gw.sync.request: even when unchanged). */
  requestSync(reason: string, force = true): void {
    if (this.stopped || !this.d.directory) return;
    if (force) this.d.store.setMeta('sync_forced', `${reason.slice(0, 200)}\u0000${randomUUID()}`);
    if (this.syncRunning) {
      this.syncAgain = reason;
      return;
    }
    this.syncRunning = this.runSync(reason).finally(() => {
      this.syncRunning = null;
      const again = this.syncAgain;
      this.syncAgain = null;
      if (again !== null && !this.stopped) this.requestSync(again, false);
    });
  }

  /** Resolves when no sync is running (tests). */
  async syncIdle(): Promise<void> {
    while (this.syncRunning) await this.syncRunning;
  }

  private async runSync(reason: string): Promise<void> {
    const dir = this.d.directory as DirectoryPort;
    const store = this.d.store;
    const forced = store.getMeta('sync_forced');
    let org: OrgData;
    try {
      org = await dir.readOrg();
      this.outcome(dir.name, true);
    } catch (e) {
      this.outcome(dir.name, false);
      this.st.lastSync = { at: Date.now(), snapshotId: null, skipped: false, error: (e as Error).message };
      this.d.log.warn({ source: dir.name, err: (e as Error).message }, 'reading the RTX org failed; will retry');
      if (!this.stopped) setTimeout(() => this.requestSync(`retry after: ${reason}`, false), this.opts.syncRetryMs).unref();
      return;
    }
    this.useOrg(org);
    for (const w of org.warnings.slice(0, 20)) this.d.log.warn({ source: org.source }, `org: ${w}`);
    const hash = orgHash(org);
    if (forced === null && store.getMeta('org_hash') === hash) {
      this.st.lastSync = { at: Date.now(), snapshotId: null, skipped: true, error: null };
      return;
    }
    const snapshotId = randomUUID();
    const pages = { depts: paginate(org.depts), users: paginate(org.users), groups: org.groups ? paginate(org.groups) : [] };
    const begin: OrgBegin = {
      snapshotId,
      source: org.source,
      counts: { depts: org.depts.length, users: org.users.length, groups: org.groups?.length ?? 0 },
      reason: (forced?.split('\u0000')[0] ?? reason).slice(0, 200),
      ...(org.groups === null ? { hasGroups: false } : {}),
    };
    // all sends in one turn: the channel stores them in one transaction (a snapshot is queued whole or not at all)
    const sends: Array<Promise<number>> = [this.d.channel.send(FromAdapter.OrgBegin, begin)];
    pages.depts.forEach((items, page) => sends.push(this.d.channel.send(FromAdapter.OrgDepts, { snapshotId, page, items } satisfies OrgPage<unknown>)));
    pages.users.forEach((items, page) => sends.push(this.d.channel.send(FromAdapter.OrgUsers, { snapshotId, page, items } satisfies OrgPage<unknown>)));
    pages.groups.forEach((items, page) => sends.push(this.d.channel.send(FromAdapter.OrgGroups, { snapshotId, page, items } satisfies OrgPage<unknown>)));
    sends.push(this.d.channel.send(FromAdapter.OrgEnd, { snapshotId, pages: { depts: pages.depts.length, users: pages.users.length, groups: pages.groups.length } } satisfies OrgEnd));
    const seqs = await Promise.all(sends);
    store.db.transaction(() => {
      store.setMeta('org_hash', hash);
      store.setMeta('org_end_seq', String(seqs[seqs.length - 1]));
      if (store.getMeta('sync_forced') === forced) store.setMeta('sync_forced', null);
    })();
    this.st.syncs += 1;
    this.st.lastSync = { at: Date.now(), snapshotId, skipped: false, error: null };
    // presence sent before this snapshot may have named accounts the gateway did not know yet
    this.presence?.resync();
    this.d.log.info({ snapshotId, source: org.source, ...begin.counts, reason: begin.reason }, 'org snapshot queued for the gateway');
  }

  private useOrg(org: OrgData): void {
    this.org = org;
    this.useGroups(org.groups ?? []);
    // kept for the next start: IMWatch group records read before the first org read of a
    // restarted adapter are resolved with them instead of becoming unknown groups
    if (org.groups !== null) this.d.store.setMeta('org_groups', JSON.stringify(org.groups.map((g) => ({ id: g.id, name: g.name, members: g.members, ...(g.sessionKey ? { sessionKey: g.sessionKey } : {}) }))));
  }

  private useGroups(groups: readonly RtxGroup[]): void {
    this.groupsByMembers = new Map();
    this.groupKeys = new Map();
    for (const g of groups) {
      this.groupsByMembers.set(memberKey(g.members), g);
      if (g.sessionKey) this.groupKeys.set(g.id, g.sessionKey);
    }
  }

  /** The groups of the last org read before this start (until this start's first read). */
  private loadSavedGroups(): void {
    const saved = this.d.store.getMeta('org_groups');
    if (this.org !== null || saved === null) return;
    try {
      this.useGroups(JSON.parse(saved) as RtxGroup[]);
    } catch {
      this.d.log.warn({}, 'the saved RTX groups are unreadable: IMWatch group records wait for the org read');
    }
  }

  /** The group an IMWatch record went to, by its member set (sender + receivers). */
  resolveGroup(sender: string, receivers: string[]): ResolvedGroup | null {
    const g = this.groupsByMembers.get(memberKey([sender, ...receivers]));
    return g ? { id: g.id, name: g.name, ...(g.sessionKey ? { sessionKey: g.sessionKey } : {}) } : null;
  }

  // ---- captures ----

  /** The capture ports' sink: serialised, so de-duplication sees every message in order. */
  captured(msgs: CapturedMessage[]): Promise<void> {
    const run = this.captureChain.then(() => this.forward(msgs));
    this.captureChain = run.catch(() => undefined);
    return run;
  }

  private async forward(msgs: CapturedMessage[]): Promise<void> {
    const { store, channel } = this.d;
    const multiPath = this.d.captures.length > 1;
    const sends: Array<Promise<number>> = [];
    const ids: string[] = [];
    const seenNow: string[] = [];
    for (const raw of msgs) {
      let m: CapturedMessage;
      try {
        m = checkImCaptured(raw);
      } catch (e) {
        this.st.captured.invalid += 1;
        this.d.log.warn({ err: (e as Error).message }, 'captured message refused');
        continue;
      }
      if (this.inflightIds.has(m.imMessageId) || store.seen(m.imMessageId)) {
        this.st.captured.duplicates += 1;
        continue;
      }
      if (store.takeEcho(m.sender, m.text, m.kind)) {
        this.st.captured.echoes += 1;
        seenNow.push(m.imMessageId);
        continue;
      }
      if (multiPath && store.takeOrAddContent(contentKeys(m), m.via, this.opts.echoWindowMs)) {
        this.st.captured.crossPath += 1;
        seenNow.push(m.imMessageId);
        continue;
      }
      this.inflightIds.add(m.imMessageId);
      ids.push(m.imMessageId);
      sends.push(channel.send(FromAdapter.ImCaptured, m));
    }
    try {
      await Promise.all(sends);
      this.st.captured.forwarded += sends.length;
      store.markSeen([...ids, ...seenNow], this.opts.dedupTtlMs);
    } finally {
      for (const id of ids) this.inflightIds.delete(id);
    }
  }

  // ---- status ----

  private outcome(port: string, reachable: boolean): void {
    this.reach.set(port, reachable ? 'up' : 'down');
    if (reachable) this.lastAnswerAt = Date.now();
  }

  private checkStatus(): void {
    if (this.d.probe && this.opts.probeAfterMs > 0 && !this.probing && Date.now() - this.lastAnswerAt > this.opts.probeAfterMs) {
      this.probing = true;
      this.lastAnswerAt = Date.now();
      this.d
        .probe()
        .then(() => this.outcome(this.d.sender?.name ?? 'sdk', true))
        .catch((e: unknown) => this.outcome(this.d.sender?.name ?? 'sdk', !(e instanceof Error && 'transient' in e && (e as { transient: boolean }).transient)))
        .finally(() => (this.probing = false));
    }
    const ports = this.d.portStates(this.reach);
    const main = this.d.sender?.name ?? this.d.directory?.name ?? this.d.captures[0]?.name;
    const rtx: 'up' | 'down' = main !== undefined && ports[main] === 'up' ? 'up' : 'down';
    const down = Object.entries(ports).filter(([, s]) => s === 'down').map(([p]) => p);
    const status: AdapterStatus = { rtx, ports, ...(down.length > 0 ? { detail: `not working: ${down.join(', ')}` } : {}) };
    const json = JSON.stringify(status);
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    this.lastStatus = status;
    this.d.log.info({ ...status }, 'RTX status changed');
    this.d.channel.send(FromAdapter.Status, status).catch(() => undefined);
  }
}

function refOf(body: unknown): string | null {
  const r = (body as { ref?: unknown } | null)?.ref;
  return typeof r === 'string' && r !== '' && r.length <= 64 ? r : null;
}

/** Content keys of a capture for its second and the two neighbours (paths stamp times differently). */
export function contentKeys(m: CapturedMessage): string[] {
  const sec = Math.floor(m.timeMs / 1000);
  const base = `${m.sender.trim().toLowerCase()}\u0000${memberKey(m.receivers)}\u0000${m.text.replace(/\r\n?/g, '\n')}`;
  return [sec, sec - 1, sec + 1].map((s) => createHash('sha256').update(`${base}\u0000${s}`).digest('hex').slice(0, 40));
}
