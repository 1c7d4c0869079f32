import type { MessageView } from '../../gateway/src/protocol/client-v1.js';

export interface SyncPage {
  messages: MessageView[];
  lastSeq: number;
  more: boolean;
}

export interface SeqOrdererDeps {
  /** Fetches the page of messages with seq > after (a `msg.sync` request). May reject. */
  fetch(after: number): Promise<SyncPage>;
  /** Receives each message exactly once, in strictly increasing seq order. */
  deliver(message: MessageView): void;
  /** Told the new lastSeq after each batch of deliveries, so it can be persisted. */
  advanced?(lastSeq: number): void;
  /** A catch-up started by a gap in live pushes failed; the orderer holds until sync() is called again. */
  syncFailed?(err: unknown): void;
}

/**
 * Consecutive catch-up rounds that fetch nothing while pushes stay ahead of a
 * gap, before the gap is accepted as permanent (the server no longer has those
 * messages) and the buffered pushes are delivered past it.
 */
const MAX_FRUITLESS_ROUNDS = 2;

/**
 * Turns live pushes and `msg.sync` pages into one stream delivered exactly once
 * per inbox seq, in seq order.
 *
 * - A live push with seq == lastSeq + 1 is delivered at once; seq <= lastSeq is
 *   a duplicate and dropped; a larger seq is buffered and starts a catch-up.
 * - A catch-up fetches from lastSeq while `more`, delivering what it gets (the
 *   server's pages are authoritative, so a seq the server skips, such as a
 *   purged message, is skipped too), then delivers the buffered pushes that
 *   became contiguous.
 * - While held (disconnected, or before the first catch-up after connecting)
 *   pushes are only buffered; sync() catches up and releases them.
 */
export class SeqOrderer {
  private seq: number;
  private readonly buffer = new Map<number, MessageView>();
  private live = false;
  private running: Promise<void> | null = null;
  /** Bumped by hold()/reset(); a catch-up from an older generation stops delivering. */
  private generation = 0;

  constructor(
    lastSeq: number,
    private readonly deps: SeqOrdererDeps,
  ) {
    this.seq = lastSeq;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Pushes waiting for a gap to be filled. */
  get bufferedCount(): number {
    return this.buffer.size;
  }

  get isLive(): boolean {
    return this.live && this.running === null;
  }

  /** Stops delivering at once, even in the middle of a page, until the next sync(). */
  hold(): void {
    this.live = false;
    this.running = null;
    this.generation++;
  }

  /** Forgets everything (local data was wiped) and holds. */
  reset(lastSeq = 0): void {
    this.hold();
    this.buffer.clear();
    this.seq = lastSeq;
  }

  push(message: MessageView): void {
    if (message.seq <= this.seq || this.buffer.has(message.seq)) return;
    this.buffer.set(message.seq, message);
    if (!this.live || this.running) return;
    this.drain(this.generation);
    if (this.buffer.size > 0) {
      this.sync().catch((err: unknown) => this.deps.syncFailed?.(err));
    }
  }

  /**
   * Catches up from lastSeq and then goes live. Concurrent calls share one run.
   * Rejects when a fetch fails; the orderer then stays held (pushes are kept).
   */
  sync(): Promise<void> {
    if (this.running) return this.running;
    const gen = this.generation;
    const run = this.catchUp(gen).then(
      () => {
        if (this.running === run) this.running = null;
      },
      (err: unknown) => {
        if (this.running === run) {
          this.running = null;
          this.live = false;
        }
        throw err;
      },
    );
    this.running = run;
    return run;
  }

  private async catchUp(gen: number): Promise<void> {
    let fruitless = 0;
    for (;;) {
      const before = this.seq;
      let page: SyncPage;
      do {
        page = await this.deps.fetch(this.seq);
        if (gen !== this.generation) return;
        this.acceptPage(page.messages, gen);
        if (gen !== this.generation) return;
      } while (page.more && page.messages.length > 0);
      this.live = true;
      this.drain(gen);
      if (gen !== this.generation || this.buffer.size === 0) return;
      fruitless = this.seq === before ? fruitless + 1 : 0;
      if (fruitless >= MAX_FRUITLESS_ROUNDS) {
        this.skipGaps(gen);
        return;
      }
    }
  }

  private acceptPage(messages: MessageView[], gen: number): void {
    const start = this.seq;
    const sorted = [...messages].sort((a, b) => a.seq - b.seq);
    for (const m of sorted) {
      if (gen !== this.generation) break;
      if (m.seq <= this.seq) continue;
      this.seq = m.seq;
      this.deps.deliver(m);
    }
    for (const s of this.buffer.keys()) if (s <= this.seq) this.buffer.delete(s);
    if (this.seq !== start) this.deps.advanced?.(this.seq);
  }

  /** Delivers buffered pushes that continue the sequence. */
  private drain(gen: number): void {
    const start = this.seq;
    for (;;) {
      if (gen !== this.generation) break;
      const next = this.buffer.get(this.seq + 1);
      if (!next) break;
      this.buffer.delete(next.seq);
      this.seq = next.seq;
      this.deps.deliver(next);
    }
    for (const s of this.buffer.keys()) if (s <= this.seq) this.buffer.delete(s);
    if (this.seq !== start) this.deps.advanced?.(this.seq);
  }

  private skipGaps(gen: number): void {
    const start = this.seq;
    const rest = [...this.buffer.values()].sort((a, b) => a.seq - b.seq);
    for (const m of rest) {
      if (gen !== this.generation) break;
      this.buffer.delete(m.seq);
      this.seq = m.seq;
      this.deps.deliver(m);
    }
    if (this.seq !== start) this.deps.advanced?.(this.seq);
  }
}
