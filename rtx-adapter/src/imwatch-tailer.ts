import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { CapturedMessage, CapturePort } from './ports.js';
import { groupSessionKey, pairSessionKey } from './session-keys.js';

/**
 * Tails the IMWatch plug-in's logs (docs/protocol/rtx-files.md): `IM_YYYY-MM-DD.txt` in the
 * RTX host's local day, GB18030 bytes, CRLF, one record per message appended after a delay.
 * It reads only complete records (ended by an empty line followed by `ThreadID=` or the end of
 * the file), keeps a byte offset per file (persisted through `offsets`, saved only after the
 * bridge has taken the records, so a restart resumes without loss), keeps reading yesterday's
 * file for late records after the day rolls over, and builds a stable id per record (IMWatch
 * has none): the file name, the record's byte offset and its bytes, hashed.
 */

export const IMWATCH_FILE_RE = /^IM_(\d{4})-(\d{2})-(\d{2})\.txt$/i;
export const IMWATCH_POLL_MS = 250;
/** Files this many days older than the newest one are no longer watched for late records. */
export const IMWATCH_KEEP_DAYS = 2;
/** Most bytes read from one file in one poll. */
export const IMWATCH_MAX_READ_BYTES = 8 * 1024 * 1024;

export interface ImWatchRecord {
  /** Byte offset of the record in its file. */
  offset: number;
  /** Bytes of the record (its terminating empty line included). */
  length: number;
  threadId: string;
  /** `Time=` as written (host local time). */
  time: string;
  sender: string;
  receiversRaw: string;
  text: string;
  raw: Buffer;
}

const SEP_CRLF = Buffer.from('\r\n\r\nThreadID=', 'latin1');
const SEP_LF = Buffer.from('\n\nThreadID=', 'latin1');
const START = Buffer.from('ThreadID=', 'latin1');

/** Next record separator at or after `from`: index of the blank line and its length. */
function nextSep(buf: Buffer, from: number): { at: number; len: number } | null {
  const a = buf.indexOf(SEP_CRLF, from);
  const b = buf.indexOf(SEP_LF, from);
  // CR and LF never occur inside a GB18030 multi-byte character, so byte search is safe
  if (a >= 0 && (b < 0 || a <= b)) return { at: a, len: 4 };
  if (b >= 0) return { at: b, len: 2 };
  return null;
}

/**
 * Splits bytes (read from `baseOffset` of a file) into complete records. The last record counts
 * only when it ends with an empty line at the end of the bytes and `atEof` (nothing more was in
 * the file when read). Bytes before the first `ThreadID=` at a line start are skipped.
 * Returns the records and how many bytes were consumed (the next read starts there).
 */
export function parseImWatchChunk(buf: Buffer, baseOffset = 0, atEof = true): { records: ImWatchRecord[]; consumed: number; skipped: number } {
  const records: ImWatchRecord[] = [];
  let pos = 0;
  let skipped = 0;
  if (!buf.subarray(0, START.length).equals(START)) {
    const m = nextSep(buf, 0);
    const lineStart = buf.indexOf(Buffer.from('\nThreadID=', 'latin1'));
    const at = m ? m.at + m.len : lineStart >= 0 ? lineStart + 1 : -1;
    if (at < 0) return { records, consumed: 0, skipped: 0 };
    skipped = at;
    pos = at;
  }
  for (;;) {
    const sep = nextSep(buf, pos);
    let end: number;
    let next: number;
    if (sep) {
      end = sep.at;
      next = sep.at + sep.len;
    } else {
      if (!atEof) break;
      const tail = buf.subarray(pos);
      if (tail.length >= 4 && tail.subarray(-4).equals(Buffer.from('\r\n\r\n', 'latin1'))) end = buf.length - 4;
      else if (tail.length >= 2 && tail.subarray(-2).equals(Buffer.from('\n\n', 'latin1')) && !tail.subarray(-3).equals(Buffer.from('\r\n\n', 'latin1'))) end = buf.length - 2;
      else break;
      next = buf.length;
    }
    const raw = buf.subarray(pos, end);
    const rec = parseRecord(raw, baseOffset + pos, next - pos);
    if (rec) records.push(rec);
    else skipped += next - pos;
    pos = next;
    if (pos >= buf.length) break;
  }
  return { records, consumed: pos, skipped };
}

function parseRecord(raw: Buffer, offset: number, length: number): ImWatchRecord | null {
  const lines = iconv.decode(raw, 'gb18030').split(/\r?\n/);
  const f: Record<string, string> = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq).trim().toLowerCase();
    if (k === 'msg') {
      f.msg = [line.slice(eq + 1), ...lines.slice(i + 1)].join('\n');
      break;
    }
    f[k] = line.slice(eq + 1);
  }
  if (f.threadid === undefined || !f.sender || f.receivers === undefined || f.msg === undefined) return null;
  return { offset, length, threadId: f.threadid.trim(), time: (f.time ?? '').trim(), sender: f.sender.trim(), receiversRaw: f.receivers.trim(), text: f.msg, raw: Buffer.from(raw) };
}

/** `YYYY-MM-DD HH:MM:SS` in the host's UTC offset → Unix ms; NaN when unreadable. */
export function imwatchTimeMs(time: string, utcOffsetMinutes: number): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})$/.exec(time);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - utcOffsetMinutes * 60_000;
}

export interface ResolvedGroup {
  id: string;
  name: string;
  sessionKey?: string;
}

/**
 * The bridge's view of a record: 1:1 unless every receiver is followed by `;` (a group,
 * even of two). The group is found by its member set in the last org read (`resolveGroup`);
 * when it is not found, its id is `imwatch:<hash of the member set>` — a group the gateway
 * does not know, so it refuses and counts the message and asks for a sync.
 */
export function capturedFromRecord(file: string, r: ImWatchRecord, utcOffsetMinutes: number, resolveGroup?: (sender: string, members: string[]) => ResolvedGroup | null): CapturedMessage {
  const isGroup = r.receiversRaw.endsWith(';');
  const receivers = r.receiversRaw.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
  const id = `imwatch:${createHash('sha256').update(`${path.basename(file)}\0${r.offset}\0`).update(r.raw).digest('hex').slice(0, 40)}`;
  const t = imwatchTimeMs(r.time, utcOffsetMinutes);
  const base = { imMessageId: id, sender: r.sender, receivers, text: r.text, timeMs: Number.isFinite(t) ? t : Date.now(), via: 'imwatch' as const };
  if (!isGroup) return { ...base, kind: 'single', sessionKey: pairSessionKey(r.sender, receivers[0] ?? '') };
  const g = resolveGroup?.(r.sender, receivers) ?? null;
  const key = groupSessionKey([r.sender, ...receivers]);
  return {
    ...base,
    kind: 'group',
    sessionKey: g?.sessionKey ?? key,
    group: g ? { id: g.id, name: g.name } : { id: `imwatch:${key.slice(1, -1)}`, name: '' },
  };
}

export interface OffsetStore {
  load(): Record<string, number> | null;
  save(offsets: Record<string, number>): void;
}

export interface ImWatchTailerOptions {
  dir: string;
  /** The RTX host's UTC offset (default +480). */
  utcOffsetMinutes?: number;
  pollMs?: number;
  offsets: OffsetStore;
  /** Without saved offsets: start at the end of the existing files (default) or read them all. */
  startAt?: 'end' | 'beginning';
  resolveGroup?: (sender: string, members: string[]) => ResolvedGroup | null;
  log?: { warn(obj: object, msg: string): void };
}

export class ImWatchTailer implements CapturePort {
  readonly name = 'imwatch' as const;
  private offsets: Record<string, number> = {};
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private sink: ((m: CapturedMessage[]) => Promise<void>) | null = null;
  private up = false;
  private stopped = true;

  constructor(private readonly opts: ImWatchTailerOptions) {}

  state(): 'up' | 'down' {
    return this.up ? 'up' : 'down';
  }

  async start(sink: (messages: CapturedMessage[]) => Promise<void>): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    const saved = this.opts.offsets.load();
    if (saved) this.offsets = { ...saved };
    else {
      this.offsets = {};
      if ((this.opts.startAt ?? 'end') === 'end') {
        for (const f of await this.files().catch(() => [] as string[])) this.offsets[f] = (await stat(path.join(this.opts.dir, f)).catch(() => ({ size: 0 }))).size;
      }
      this.opts.offsets.save(this.offsets);
    }
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, () => this.kick());
      this.watcher.on('error', () => undefined);
    } catch {
      // the folder may not exist yet: polling finds it
    }
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.opts.pollMs ?? IMWATCH_POLL_MS);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    while (this.running) await this.running;
  }

  /** Reads what is new now (a pass that starts after this call); resolves when done. Nothing when not started. */
  async pollNow(): Promise<void> {
    if (this.stopped) return;
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.poll();
        } catch (e) {
          this.up = false;
          this.opts.log?.warn({ err: (e as Error).message }, 'IMWatch: reading failed; will retry');
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  private async files(): Promise<string[]> {
    return (await readdir(this.opts.dir)).filter((f) => IMWATCH_FILE_RE.test(f)).sort();
  }

  private async poll(): Promise<void> {
    let files: string[];
    try {
      files = await this.files();
    } catch (e) {
      this.up = false;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    this.up = true;
    const newest = files[files.length - 1];
    const dayOf = (f: string) => {
      const m = IMWATCH_FILE_RE.exec(f);
      return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) : 0;
    };
    const horizon = newest ? dayOf(newest) - IMWATCH_KEEP_DAYS * 86_400_000 : 0;
    const known = Object.keys(this.offsets);
    const oldestKnown = known.length > 0 ? known.sort()[0] : undefined;
    let changed = false;
    for (const f of files) {
      if (dayOf(f) < horizon) continue;
      // a file older than every file we track was there before us (and read, or skipped at start)
      if (this.offsets[f] === undefined && oldestKnown !== undefined && f < oldestKnown) continue;
      changed = (await this.readFile(f)) || changed;
      if (this.stopped) break;
    }
    for (const f of Object.keys(this.offsets)) {
      if (dayOf(f) < horizon) {
        delete this.offsets[f];
        changed = true;
      }
    }
    if (changed) this.opts.offsets.save(this.offsets);
  }

  /** Reads new complete records of one file, hands them to the sink, then advances its offset. */
  private async readFile(f: string): Promise<boolean> {
    const full = path.join(this.opts.dir, f);
    let offset = this.offsets[f] ?? 0;
    const size = (await stat(full)).size;
    if (size < offset) {
      this.opts.log?.warn({ file: f, size, offset }, 'IMWatch: the file shrank; reading it again from the start');
      offset = 0;
    }
    if (size === offset) {
      if (this.offsets[f] === undefined) {
        this.offsets[f] = offset;
        return true;
      }
      return false;
    }
    const fh = await open(full, 'r');
    let buf: Buffer;
    try {
      const want = Math.min(size - offset, IMWATCH_MAX_READ_BYTES);
      buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, offset);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const atEof = offset + buf.length >= size;
    let { records, consumed, skipped } = parseImWatchChunk(buf, offset, atEof);
    if (consumed === 0 && buf.length >= IMWATCH_MAX_READ_BYTES) {
      // one record larger than we read at once: skip it rather than stall the file
      const next = buf.indexOf(SEP_CRLF, 1);
      consumed = next > 0 ? next + 4 : buf.length;
      skipped = consumed;
      records = [];
    }
    if (skipped > 0) this.opts.log?.warn({ file: f, offset, bytes: skipped }, 'IMWatch: unreadable bytes skipped');
    const offsetMinutes = this.opts.utcOffsetMinutes ?? 480;
    const msgs = records.map((r) => capturedFromRecord(f, r, offsetMinutes, this.opts.resolveGroup));
    if (msgs.length > 0 && this.sink) await this.sink(msgs);
    if (consumed === 0 && this.offsets[f] === offset) return false;
    this.offsets[f] = offset + consumed;
    this.opts.offsets.save(this.offsets);
    return true;
  }
}
