import { inflateRawSync } from 'node:zlib';

/**
 * Zip bomb guards for uploaded workbooks. inspectZip reads only the central
 * directory, never decompressing, so a zip bomb is refused by its own
 * declarations; inflateEntry then unpacks one entry bounded by its declared
 * size, so a zip whose headers understate the real sizes is refused too.
 */

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const EOCD_MIN_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const CDH_FIXED_BYTES = 46;

export interface ZipLimits {
  /** Sum of the declared uncompressed sizes. */
  maxUncompressedBytes: number;
  /** Declared uncompressed total divided by the file size. */
  maxRatio: number;
  maxEntries: number;
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedBytes: number;
  uncompressedBytes: number;
  localHeaderOffset: number;
}

export interface ZipSummary {
  entries: ZipEntry[];
  uncompressedBytes: number;
}

export class ZipRefused extends Error {
  constructor(readonly reason: 'not_zip' | 'zip_bomb' | 'zip_unsupported', message: string) {
    super(message);
    this.name = 'ZipRefused';
  }
}

/** True when the buffer starts like a zip (local file header "PK\x03\x04"). */
export function looksLikeZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50;
}

function findEocd(buf: Buffer): number {
  const stop = Math.max(0, buf.length - EOCD_MIN_BYTES - MAX_COMMENT_BYTES);
  for (let i = buf.length - EOCD_MIN_BYTES; i >= stop; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) return i;
  }
  return -1;
}

/**
 * Reads the central directory and checks its declared sizes against `limits`.
 * Throws ZipRefused (never anything else) when the file is not a readable zip,
 * uses ZIP64, or declares more than the limits allow.
 */
export function inspectZip(buf: Buffer, limits: ZipLimits): ZipSummary {
  if (!looksLikeZip(buf) || buf.length < EOCD_MIN_BYTES) throw new ZipRefused('not_zip', 'the file is not an .xlsx workbook (it is not a zip archive)');
  const eocd = findEocd(buf);
  if (eocd < 0) throw new ZipRefused('not_zip', 'the file is not a complete .xlsx workbook (the zip directory is missing; the upload may be cut short)');
  if (eocd >= 20 && buf.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIG) throw new ZipRefused('zip_unsupported', 'the workbook uses ZIP64, which is not accepted; save it again from Excel or WPS');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipRefused('zip_unsupported', 'the workbook uses ZIP64, which is not accepted; save it again from Excel or WPS');
  if (count > limits.maxEntries) throw new ZipRefused('zip_bomb', `the workbook holds ${count} parts; at most ${limits.maxEntries} are accepted`);
  if (cdOffset + cdSize > eocd) throw new ZipRefused('not_zip', 'the workbook is damaged (its zip directory points outside the file)');
  let total = 0;
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CDH_FIXED_BYTES > eocd || buf.readUInt32LE(p) !== CDH_SIG) throw new ZipRefused('not_zip', 'the workbook is damaged (bad zip directory entry)');
    const compressed = buf.readUInt32LE(p + 20);
    const uncompressed = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localHeaderOffset = buf.readUInt32LE(p + 42);
    if (compressed === 0xffffffff || uncompressed === 0xffffffff || localHeaderOffset === 0xffffffff) throw new ZipRefused('zip_unsupported', 'the workbook uses ZIP64, which is not accepted; save it again from Excel or WPS');
    entries.push({
      name: buf.toString('utf8', p + CDH_FIXED_BYTES, Math.min(eocd, p + CDH_FIXED_BYTES + nameLen)),
      method: buf.readUInt16LE(p + 10), compressedBytes: compressed, uncompressedBytes: uncompressed, localHeaderOffset,
    });
    total += uncompressed;
    if (total > limits.maxUncompressedBytes) {
      throw new ZipRefused('zip_bomb', `the workbook would unpack to more than ${Math.round(limits.maxUncompressedBytes / 1048576)} MB; it is refused as a possible zip bomb`);
    }
    p += CDH_FIXED_BYTES + nameLen + extraLen + commentLen;
  }
  if (total / buf.length > limits.maxRatio) {
    throw new ZipRefused('zip_bomb', `the workbook unpacks to ${Math.round(total / buf.length)} times its size (at most ${limits.maxRatio} is accepted); it is refused as a possible zip bomb`);
  }
  return { entries, uncompressedBytes: total };
}

const LOCAL_SIG = 0x04034b50;
const LOCAL_FIXED_BYTES = 30;

/**
 * Unpacks one entry, never producing more than its declared size: an entry
 * that inflates to more is refused as a zip bomb. Throws ZipRefused only.
 */
export function inflateEntry(buf: Buffer, e: ZipEntry): Buffer {
  const at = e.localHeaderOffset;
  if (at + LOCAL_FIXED_BYTES > buf.length || buf.readUInt32LE(at) !== LOCAL_SIG) throw new ZipRefused('not_zip', `the workbook is damaged (part ${e.name.slice(0, 60)} is missing)`);
  const start = at + LOCAL_FIXED_BYTES + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  if (start + e.compressedBytes > buf.length) throw new ZipRefused('not_zip', `the workbook is damaged (part ${e.name.slice(0, 60)} is cut short)`);
  const data = buf.subarray(start, start + e.compressedBytes);
  if (e.method === 0) {
    if (e.compressedBytes !== e.uncompressedBytes) throw new ZipRefused('not_zip', `the workbook is damaged (part ${e.name.slice(0, 60)} has inconsistent sizes)`);
    return data;
  }
  if (e.method !== 8) throw new ZipRefused('zip_unsupported', `the workbook uses a compression method (${e.method}) that is not accepted; save it again from Excel or WPS`);
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(1, e.uncompressedBytes) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ZipRefused('zip_bomb', `part ${e.name.slice(0, 60)} of the workbook unpacks to more than it declares (${e.uncompressedBytes} bytes); it is refused as a possible zip bomb`);
    }
    throw new ZipRefused('not_zip', `the workbook is damaged (part ${e.name.slice(0, 60)} cannot be unpacked)`);
  }
}
