import { FromAdapter, type PresenceUpdate } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import { RtxPortError, type PresencePort, type PresenceState } from './ports.js';

/**
 * Polls RTX presence every `intervalMs` and sends `rtx.presence`: the full list of users who are
 * not offline first (after each adapter start), then only changes (a user missing from a later
 * poll went offline). Large lists are split: the first payload is `full`, the next ones add to it.
 */

export const PRESENCE_PAGE_ITEMS = 2_000;

export interface PresencePollerDeps {
  port: PresencePort;
  /** Accounts the bridge knows (for ports that ask user by user). */
  accounts(): string[];
  send(type: string, body: unknown): Promise<number>;
  onOutcome(port: string, reachable: boolean): void;
  intervalMs: number;
  log: { warn(obj: object, msg: string): void };
}

export class PresencePoller {
  private last: Map<string, PresenceState> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly abort = new AbortController();
  private fullAgain = false;
  polls = 0;

  constructor(private readonly d: PresencePollerDeps) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pollOnce().finally(() => {
        this.running = null;
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.d.intervalMs);
        this.timer.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * The next poll sends the full list again: the gateway forgets RTX presence when the link
   * drops, and drops items for accounts it does not know yet (a full list sent before the
   * first snapshot was applied). Called on every (re)connect and after a snapshot was queued,
   * so the full list follows the snapshot on the channel.
   */
  resync(): void {
    this.fullAgain = true;
  }

  async pollOnce(): Promise<void> {
    let now: Map<string, PresenceState>;
    try {
      now = await this.d.port.poll(this.d.accounts(), this.abort.signal);
      this.d.onOutcome(this.d.port.name, true);
    } catch (e) {
      if (this.stopped) return;
      this.d.onOutcome(this.d.port.name, !(e instanceof RtxPortError && e.transient));
      this.d.log.warn({ err: (e as Error).message }, 'presence poll failed');
      return;
    }
    this.polls += 1;
    const items: PresenceUpdate['items'] = [];
    const full = this.last === null || this.fullAgain;
    this.fullAgain = false;
    if (full) for (const [account, state] of now) items.push({ account, state });
    else {
      const last = this.last as Map<string, PresenceState>;
      for (const [account, state] of now) if (last.get(account) !== state) items.push({ account, state });
      for (const account of last.keys()) if (!now.has(account)) items.push({ account, state: 'offline' });
    }
    if (!full && items.length === 0) return;
    const sends: Array<Promise<number>> = [];
    for (let i = 0; i === 0 || i < items.length; i += PRESENCE_PAGE_ITEMS) {
      sends.push(this.d.send(FromAdapter.Presence, { full: full && i === 0, items: items.slice(i, i + PRESENCE_PAGE_ITEMS) } satisfies PresenceUpdate));
    }
    try {
      await Promise.all(sends);
      this.last = now;
    } catch (e) {
      if (full) this.fullAgain = true;
      this.d.log.warn({ err: (e as Error).message }, 'could not queue rtx.presence');
    }
  }
}
