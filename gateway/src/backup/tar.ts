import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * The part of the POSIX ustar format a backup archive needs, written and read
 * by hand (docs/backup.md#archive-format): regular files only, names of at most
 * 100 bytes, sizes in octal (or GNU base-256 from 8 GiB on), 512-byte blocks,
 * two zero blocks at the end. Standard `tar tvf` lists what we write.
 * Reading is strict, so that every byte of an archive is covered by a check:
 * header checksums, zero padding and zero trailer (entry data by the manifest's
 * SHA-256 sums).
 */

export const BLOCK_BYTES = 512;
/** Entry data is copied in chunks of this size: memory use does not grow with the archive. */
export const CHUNK_BYTES = 1024 * 1024;
const OCTAL_SIZE_MAX = 8 ** 11 - 1;

const invalid = (message: string) => new GatewayError('GW_BACKUP_INVALID', message);

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const b = Buffer.from(value, 'utf8');
  if (b.length > length) throw new Error(`tar field too long: ${value}`);
  b.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

function writeSize(buf: Buffer, offset: number, size: number): void {
  if (size <= OCTAL_SIZE_MAX) return writeOctal(buf, offset, 12, size);
  // GNU base-256: high bit of the first byte set, big-endian binary in the rest
  buf[offset] = 0x80;
  let v = BigInt(size);
  for (let i = offset + 11; i > offset; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function headerChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_BYTES; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum;
}

export function tarHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  const h = Buffer.alloc(BLOCK_BYTES);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o600);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, 124, size);
  writeOctal(h, 136, 12, Math.max(0, Math.floor(mtimeSeconds)));
  h[156] = 0x30; // '0': regular file
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'huitong');
  writeString(h, 297, 32, 'huitong');
  writeString(h, 148, 8, headerChecksum(h).toString(8).padStart(6, '0') + '\0 ');
  return h;
}

const padding = (size: number) => (BLOCK_BYTES - (size % BLOCK_BYTES)) % BLOCK_BYTES;

/** Appends entries to an open file; keeps the SHA-256 of everything written. */
export class TarWriter {
  private hash: Hash = createHash('sha256');
  private offset = 0;

  constructor(private readonly fh: FileHandle, private readonly mtimeSeconds: number) {}

  get bytesWritten(): number {
    return this.offset;
  }

  private async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.offset + done);
      done += bytesWritten;
    }
    this.hash.update(buf);
    this.offset += buf.length;
  }

  async addBuffer(name: string, data: Buffer): Promise<{ size: number; sha256: string }> {
    await this.write(tarHeader(name, data.length, this.mtimeSeconds));
    await this.write(data);
    await this.write(Buffer.alloc(padding(data.length)));
    return { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  /**
   * Copies `size` bytes of `src` into a new entry. If `accept` refuses the
   * entry's hash (a blob whose content no longer matches its name) or the source
   * is shorter than `size`, the entry is taken back out: the archive is as if
   * it had never been added, and the result is null.
   */
  async addFile(name: string, src: FileHandle, size: number, onBytes: (n: number) => void, accept: (sha256: string) => boolean = () => true): Promise<{ size: number; sha256: string } | null> {
    const startOffset = this.offset;
    const startHash = this.hash.copy();
    const entryHash = createHash('sha256');
    await this.write(tarHeader(name, size, this.mtimeSeconds));
    let copied = 0;
    let ok = true;
    while (copied < size) {
      const want = Math.min(CHUNK_BYTES, size - copied);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await src.read(buf, 0, want, copied);
      if (bytesRead === 0) {
        ok = false;
        break;
      }
      const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
      entryHash.update(chunk);
      await this.write(chunk);
      copied += bytesRead;
      onBytes(bytesRead);
    }
    const sha256 = entryHash.digest('hex');
    if (!ok || !accept(sha256)) {
      this.offset = startOffset;
      this.hash = startHash;
      await this.fh.truncate(startOffset);
      return null;
    }
    await this.write(Buffer.alloc(padding(size)));
    return { size, sha256 };
  }

  /** Writes the end-of-archive marker; returns the SHA-256 of the whole archive. */
  async finish(): Promise<string> {
    await this.write(Buffer.alloc(2 * BLOCK_BYTES));
    return this.hash.digest('hex');
  }
}

export interface TarEntry {
  name: string;
  size: number;
}

function readOctal(h: Buffer, offset: number, length: number, what: string): number {
  const raw = h.subarray(offset, offset + length).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{1,12}$/.test(raw)) throw invalid(`a tar header has an unreadable ${what} field`);
  return parseInt(raw, 8);
}

function readSize(h: Buffer): number {
  if (((h[124] as number) & 0x80) === 0) return readOctal(h, 124, 12, 'size');
  let v = 0n;
  for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i] as number);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('a tar header declares an impossible size');
  return Number(v);
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

/**
 * Reads an archive front to back from an open file. Every byte read goes into
 * a running SHA-256 (`sha256()` once the end is reached). Throws
 * GW_BACKUP_INVALID for anything that is not a well-formed archive of regular
 * files, with a message saying what and where.
 */
export class TarReader {
  private offset = 0;
  private readonly hash = createHash('sha256');
  private pending: TarEntry | null = null;
  private ended = false;

  constructor(private readonly fh: FileHandle, readonly totalBytes: number) {}

  get bytesRead(): number {
    return this.offset;
  }

  private async readExactly(n: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, this.offset + got);
      if (bytesRead === 0) throw invalid(`the archive is truncated: it ends at byte ${this.offset + got}, in the middle of ${this.pending ? `entry ${this.pending.name}` : 'a tar header'}`);
      got += bytesRead;
    }
    this.offset += n;
    this.hash.update(buf);
    return buf;
  }

  /** The next entry's header, or null at the end-of-archive marker. Its data must be read (readData) before the next call. */
  async next(): Promise<TarEntry | null> {
    if (this.pending) throw new Error('TarReader.next before the previous entry was read');
    if (this.ended) return null;
    if (this.offset + BLOCK_BYTES > this.totalBytes) {
      throw invalid(`the archive is truncated: it ends at byte ${this.totalBytes} without the end-of-archive marker`);
    }
    const h = await this.readExactly(BLOCK_BYTES);
    if (isZero(h)) {
      const second = await this.readExactly(BLOCK_BYTES).catch(() => {
        throw invalid('the archive is truncated: its end-of-archive marker is incomplete');
      });
      if (!isZero(second)) throw invalid(`the archive is damaged at byte ${this.offset - BLOCK_BYTES}: a zero block is followed by data`);
      // tools may pad to a record size with more zeros; anything else after the end is damage
      while (this.offset < this.totalBytes) {
        const rest = await this.readExactly(Math.min(CHUNK_BYTES, this.totalBytes - this.offset));
        if (!isZero(rest)) throw invalid('the archive has unexpected data after its end-of-archive marker');
      }
      this.ended = true;
      return null;
    }
    const stored = readOctal(h, 148, 8, 'checksum');
    if (stored !== headerChecksum(h)) throw invalid(`the archive is damaged: the tar header at byte ${this.offset - BLOCK_BYTES} fails its checksum`);
    if (h.subarray(257, 262).toString('latin1') !== 'ustar') throw invalid(`the tar header at byte ${this.offset - BLOCK_BYTES} is not in ustar format`);
    const type = h[156] as number;
    const nameEnd = h.indexOf(0, 0);
    const name = h.subarray(0, nameEnd === -1 || nameEnd > 100 ? 100 : nameEnd).toString('utf8');
    const prefixEnd = h.indexOf(0, 345);
    const prefix = h.subarray(345, prefixEnd === -1 || prefixEnd > 500 ? 500 : prefixEnd).toString('utf8');
    if (type !== 0x30 && type !== 0) throw invalid(`the archive holds ${JSON.stringify(name)}, which is not a regular file (tar type ${String.fromCharCode(type)})`);
    if (prefix !== '') throw invalid(`the archive holds an unexpected entry ${JSON.stringify(prefix + '/' + name)}`);
    const size = readSize(h);
    this.pending = { name, size };
    return this.pending;
  }

  /** Reads the current entry's data in chunks (each passed to `onChunk`, awaited) and its padding. */
  async readData(onChunk: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    const entry = this.pending;
    if (!entry) throw new Error('TarReader.readData without an entry');
    let left = entry.size;
    while (left > 0) {
      const chunk = await this.readExactly(Math.min(CHUNK_BYTES, left));
      left -= chunk.length;
      await onChunk(chunk);
    }
    const pad = padding(entry.size);
    if (pad > 0 && !isZero(await this.readExactly(pad))) throw invalid(`the archive is damaged: the padding after ${entry.name} is not zero`);
    this.pending = null;
  }

  /** The SHA-256 of the whole archive; only after next() returned null. */
  sha256(): string {
    if (!this.ended) throw new Error('TarReader.sha256 before the end');
    return this.hash.digest('hex');
  }
}
