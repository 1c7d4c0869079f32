import { EventEmitter } from 'node:events';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { CapturedMessage } from './model.js';

/**
 * Writes what RTX users send the way the IMWatch plug-in does: one file a day
 * `IMWatch/IM_YYYY-MM-DD.txt` (server local time), GB18030 bytes (GB2312 for GB2312 text),
 * CRLF lines, records appended after a configurable delay. Format: docs/protocol/rtx-files.md.
 * Emits `written` ({ file, record, message }) after each append.
 */

export interface ImWatchOptions {
  /** The IMWatch folder (files go directly in it). */
  dir: string;
  /** Delay between a message and its record reaching the file, ms (default 0). */
  delayMs?: number;
  /** The RTX host's UTC offset in minutes (default +480, China). */
  utcOffsetMinutes?: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` in the given UTC offset. */
export function localStamp(timeMs: number, utcOffsetMinutes: number): { day: string; time: string } {
  const d = new Date(timeMs + utcOffsetMinutes * 60_000);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return { day, time: `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` };
}

/** One record as text (CRLF line ends, followed by an empty line). */
export function formatImWatchRecord(m: CapturedMessage, utcOffsetMinutes: number): string {
  const receivers = m.kind === 'group' ? m.receivers.map((r) => `${r};`).join('') : m.receivers.join(';');
  const text = m.text.replace(/\r?\n/g, '\r\n');
  return `ThreadID=${m.seq}\r\nTime=${localStamp(m.time_ms, utcOffsetMinutes).time}\r\nSender=${m.sender}\r\nReceivers=${receivers}\r\nMsg=${text}\r\n\r\n`;
}

export class ImWatchWriter extends EventEmitter {
  private chain: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private queued: CapturedMessage[] = [];
  private closed = false;
  /** Recently written records by im_message_id (last 10,000), for waiters that come late. */
  readonly written = new Map<string, { file: string; record: string }>();

  constructor(readonly opts: ImWatchOptions) {
    super();
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Records waiting for their delay or their append. */
  get pendingRecords(): number {
    return this.pending;
  }

  write(m: CapturedMessage): void {
    if (this.closed) return;
    this.pending++;
    const go = () => {
      // records due together leave in one append (one thread-pool round trip, not one per record,
      // so the file keeps up with a busy server); order is kept
      this.queued.push(m);
      if (this.queued.length > 1) return;
      this.chain = this.chain
        .then(() => this.appendQueued())
        .catch((err: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
          else console.error('IMWatch append failed:', err);
        });
    };
    const delay = this.opts.delayMs ?? 0;
    if (delay <= 0) return go();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      go();
    }, delay);
    this.timers.add(timer);
  }

  private async appendQueued(): Promise<void> {
    const batch = this.queued.splice(0);
    this.pending -= batch.length;
    const offset = this.opts.utcOffsetMinutes ?? 480;
    await mkdir(this.opts.dir, { recursive: true });
    // consecutive records of the same day's file in one append
    for (let i = 0; i < batch.length; ) {
      const file = path.join(this.opts.dir, `IM_${localStamp((batch[i] as CapturedMessage).time_ms, offset).day}.txt`);
      const group: Array<{ m: CapturedMessage; record: string }> = [];
      for (; i < batch.length; i++) {
        const m = batch[i] as CapturedMessage;
        if (path.join(this.opts.dir, `IM_${localStamp(m.time_ms, offset).day}.txt`) !== file) break;
        group.push({ m, record: formatImWatchRecord(m, offset) });
      }
      await appendFile(file, iconv.encode(group.map((x) => x.record).join(''), 'gb18030'));
      for (const { m, record } of group) {
        this.written.set(m.im_message_id, { file, record });
        if (this.written.size > 10_000) this.written.delete(this.written.keys().next().value as string);
        this.emit('written', { file, record, message: m });
      }
    }
  }

  /** Drops records still waiting for their delay; waits for appends in progress. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.chain;
  }
}
