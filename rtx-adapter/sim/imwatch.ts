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
      this.chain = this.chain
        .then(() => this.append(m))
        .catch((err: unknown) => {
          this.pending--;
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

  private async append(m: CapturedMessage): Promise<void> {
    const offset = this.opts.utcOffsetMinutes ?? 480;
    const file = path.join(this.opts.dir, `IM_${localStamp(m.time_ms, offset).day}.txt`);
    const record = formatImWatchRecord(m, offset);
    await mkdir(this.opts.dir, { recursive: true });
    await appendFile(file, iconv.encode(record, 'gb18030'));
    this.pending--;
    this.written.set(m.im_message_id, { file, record });
    if (this.written.size > 10_000) this.written.delete(this.written.keys().next().value as string);
    this.emit('written', { file, record, message: m });
  }

  /** Drops records still waiting for their delay; waits for appends in progress. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.chain;
  }
}
