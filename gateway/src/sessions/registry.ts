import type { Bus, BusEvent } from '../bus/bus.js';
import type { ErrorCode } from '../errors/registry.js';
import type { ClientType, PresenceEntry, UserId } from '../protocol/client-v1.js';

/** What the registry needs from a live connection; edges implement it over their socket. */
export interface Session {
  readonly userId: UserId;
  readonly deviceKey: string;
  readonly deviceId: number;
  readonly clientType: ClientType;
  readonly since: number;
  readonly address: string | null;
  /** Sends one pre-serialised server frame; must not throw; closes itself on overflow. False when not sent. */
  sendRaw(json: string): boolean;
  /** Ends the session with a code the client understands. Idempotent. */
  end(code: ErrorCode, message?: string): void;
  /** Called for a device command addressed to this session's device. */
  onCommand(e: Extract<BusEvent, { type: 'device.command' }>): void;
}

export const PRESENCE_FLUSH_MS = 250;
/** Entries per presence push frame (an entry is under 100 bytes). */
export const PRESENCE_PUSH_MAX = 1000;

/**
 * Who is connected, on which devices; routes bus events to sessions; batches
 * presence changes to the sessions that subscribed to them (never a broadcast
 * to everyone).
 */
export class SessionRegistry {
  private readonly byUser = new Map<number, Set<Session>>();
  private readonly watchers = new Map<number, Set<Session>>();
  private readonly watching = new Map<Session, Set<number>>();
  private readonly dirtyPresence = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private dirVersionPending: number | null = null;
  /** Presence learned from RTX (the RTX client), shown alongside the user's own sessions. */
  private readonly rtxPresence = new Map<number, 'online' | 'away'>();
  deliveredFrames = 0;

  constructor(private readonly bus: Bus) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => this.flushPresence(), PRESENCE_FLUSH_MS);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get connectionCount(): number {
    let n = 0;
    for (const s of this.byUser.values()) n += s.size;
    return n;
  }

  get onlineUsers(): number {
    return this.byUser.size;
  }

  sessionsOf(userId: UserId): ReadonlySet<Session> {
    return this.byUser.get(userId) ?? new Set();
  }

  all(): Session[] {
    return [...this.byUser.values()].flatMap((s) => [...s]);
  }

  add(s: Session): void {
    let set = this.byUser.get(s.userId);
    if (!set) this.byUser.set(s.userId, (set = new Set()));
    // the same device connecting again replaces its older connection
    for (const old of set) if (old.deviceKey === s.deviceKey) old.end('GW_REPLACED');
    set.add(s);
    this.dirtyPresence.add(s.userId);
  }

  remove(s: Session): void {
    const set = this.byUser.get(s.userId);
    if (set?.delete(s)) {
      if (set.size === 0) this.byUser.delete(s.userId);
      this.dirtyPresence.add(s.userId);
    }
    this.unwatchAll(s);
  }

  presenceOf(userId: UserId): PresenceEntry {
    const set = this.byUser.get(userId);
    const clients = set ? [...new Set([...set].map((x) => x.clientType))] : [];
    const rtx = this.rtxPresence.get(userId);
    if (rtx !== undefined && !clients.includes('rtx')) clients.push('rtx');
    // a connection here counts as online; otherwise the RTX client's state shows (away included)
    return { userId, status: set && set.size > 0 ? 'online' : (rtx ?? 'offline'), clients };
  }

  /**
   * Sets the presence of users in RTX (the RTX client is shown as a client of
   * type `rtx`): `full` replaces everything known, else only the users given
   * change; `offline` removes a user. Watchers learn of changes at the next flush.
   */
  setRtxPresence(items: readonly { userId: UserId; state: 'online' | 'away' | 'offline' }[], full: boolean): void {
    if (full) {
      const keep = new Set(items.filter((i) => i.state !== 'offline').map((i) => i.userId as number));
      for (const u of this.rtxPresence.keys()) {
        if (!keep.has(u)) {
          this.rtxPresence.delete(u);
          this.dirtyPresence.add(u);
        }
      }
    }
    for (const i of items) {
      const before = this.rtxPresence.get(i.userId);
      if (i.state === 'offline') this.rtxPresence.delete(i.userId);
      else this.rtxPresence.set(i.userId, i.state);
      if (before !== this.rtxPresence.get(i.userId)) this.dirtyPresence.add(i.userId);
    }
  }

  /** Replaces the set of people a session watches; returns the presence of those online (the rest are offline). */
  watch(s: Session, userIds: UserId[]): PresenceEntry[] {
    this.unwatchAll(s);
    const set = new Set<number>(userIds);
    this.watching.set(s, set);
    for (const u of set) {
      let w = this.watchers.get(u);
      if (!w) this.watchers.set(u, (w = new Set()));
      w.add(s);
    }
    return [...set].filter((u) => this.byUser.has(u) || this.rtxPresence.has(u)).map((u) => this.presenceOf(u as UserId));
  }

  private unwatchAll(s: Session): void {
    const set = this.watching.get(s);
    if (!set) return;
    for (const u of set) {
      const w = this.watchers.get(u);
      w?.delete(s);
      if (w && w.size === 0) this.watchers.delete(u);
    }
    this.watching.delete(s);
  }

  private flushPresence(): void {
    if (this.dirVersionPending !== null) {
      const json = JSON.stringify({ t: 'dir.changed', p: { version: this.dirVersionPending } });
      this.dirVersionPending = null;
      for (const set of this.byUser.values()) for (const s of set) s.sendRaw(json);
    }
    if (this.dirtyPresence.size === 0) return;
    const perSession = new Map<Session, PresenceEntry[]>();
    for (const u of this.dirtyPresence) {
      const w = this.watchers.get(u);
      if (!w) continue;
      const entry = this.presenceOf(u as UserId);
      for (const s of w) {
        let arr = perSession.get(s);
        if (!arr) perSession.set(s, (arr = []));
        arr.push(entry);
      }
    }
    this.dirtyPresence.clear();
    // at most PRESENCE_PUSH_MAX entries a frame, so a push always fits the frame limit
    for (const [s, presence] of perSession) {
      for (let i = 0; i < presence.length; i += PRESENCE_PUSH_MAX) s.sendRaw(JSON.stringify({ t: 'presence', p: { presence: presence.slice(i, i + PRESENCE_PUSH_MAX) } }));
    }
  }

  private onEvent(e: BusEvent): void {
    switch (e.type) {
      case 'message': {
        const set = this.byUser.get(e.userId);
        if (!set) return;
        const json = `{"t":"msg","p":${JSON.stringify(e.message)}}`;
        for (const s of set) {
          if (s.deviceKey === e.skipDeviceKey) continue;
          s.sendRaw(json);
          this.deliveredFrames += 1;
        }
        return;
      }
      case 'receipt': {
        const set = this.byUser.get(e.userId);
        if (!set) return;
        const json = JSON.stringify({ t: 'msg.receipt', p: { conv: e.conv, reader: e.reader, upTo: e.upTo } });
        for (const s of set) s.sendRaw(json);
        return;
      }
      case 'user.revoked': {
        const set = this.byUser.get(e.userId);
        if (set) for (const s of [...set]) s.end(e.code);
        return;
      }
      case 'device.command': {
        const set = this.byUser.get(e.userId);
        if (set) for (const s of [...set]) if (s.deviceKey === e.deviceKey) s.onCommand(e);
        return;
      }
      case 'app.push': {
        const set = this.byUser.get(e.userId);
        if (!set) return;
        const json = JSON.stringify(e.push);
        for (const s of set) s.sendRaw(json);
        return;
      }
      case 'dir.changed':
        // coalesced: clients learn of the newest version at the next flush
        this.dirVersionPending = Math.max(this.dirVersionPending ?? 0, e.version);
        return;
    }
  }
}
