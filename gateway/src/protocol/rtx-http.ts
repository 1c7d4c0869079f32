import iconv from 'iconv-lite';

/**
 * The wire codec of the RTX HTTP SDK (port 8012, docs/rtx-sdk.md §2–3), shared by the RTX
 * simulator and the gateway's RTX-compatible 8012 front. Pure and I/O-free: a tolerant
 * incremental HTTP/1.x request parser over raw bytes (request lines may carry raw GBK bytes,
 * which Node's own parser refuses), parameter extraction with the documented charset rule,
 * case-insensitive path matching and a response builder that emits GBK bodies with the
 * `Ret Code` / `Ret String` headers at positions 3 and 4. Decisions: docs/rtx-simulator.md.
 */

export const MAX_REQUEST_LINE_BYTES = 16 * 1024;
export const MAX_HEADER_BYTES = 32 * 1024;
export const MAX_HEADER_COUNT = 100;
export const MAX_BODY_BYTES = 1024 * 1024;

/** The success text of SendNotify/SendIM; clients test `contains("操作成功")`. */
export const RTX_OK_TEXT = '操作成功!';
/** `操作成功!` in GBK: b2 d9 d7 f7 b3 c9 b9 a6 21. */
export const RTX_OK_BYTES: Buffer = Buffer.from([0xb2, 0xd9, 0xd7, 0xf7, 0xb3, 0xc9, 0xb9, 0xa6, 0x21]);
/** Text answered to callers outside the SDK IP allow-list (SDKProperty.xml). */
export const RTX_IP_DENIED_TEXT = 'IP受限制';

export type RtxHttpErrorCode =
  | 'REQUEST_LINE_TOO_LONG'
  | 'BAD_REQUEST_LINE'
  | 'HEADERS_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'BAD_HEADER'
  | 'BAD_CONTENT_LENGTH'
  | 'BODY_TOO_LARGE'
  | 'CHUNKED_NOT_SUPPORTED';

const STATUS_OF: Record<RtxHttpErrorCode, number> = {
  REQUEST_LINE_TOO_LONG: 414,
  BAD_REQUEST_LINE: 400,
  HEADERS_TOO_LARGE: 431,
  TOO_MANY_HEADERS: 431,
  BAD_HEADER: 400,
  BAD_CONTENT_LENGTH: 400,
  BODY_TOO_LARGE: 413,
  CHUNKED_NOT_SUPPORTED: 411,
};

/** A request the parser refuses. The connection cannot continue after it: answer and close. */
export class RtxHttpParseError extends Error {
  readonly status: number;
  constructor(
    readonly code: RtxHttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RtxHttpParseError';
    this.status = STATUS_OF[code];
  }
}

export interface RtxHttpRequest {
  /** Upper-cased method token (`GET`, `POST`...). */
  method: string;
  /** The request target exactly as received (raw bytes, may hold bytes ≥ 0x80). */
  target: Buffer;
  /** The path part of the target, percent-decoded as Latin-1 bytes (`/SendNotify.cgi`). */
  path: string;
  /** The query part of the target (after `?`), raw bytes, still percent-encoded. */
  query: Buffer;
  /** `1.0` or `1.1` (`1.0` when the line carries no recognisable version). */
  httpVersion: '1.0' | '1.1';
  /** Header lines in order; names lower-cased, values as Latin-1 text, trimmed. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Whether the connection stays open after the answer (HTTP/1.1 default, `Connection`). */
  keepAlive: boolean;
}

export interface RtxHttpParserLimits {
  maxRequestLineBytes?: number;
  maxHeaderBytes?: number;
  maxHeaderCount?: number;
  maxBodyBytes?: number;
}

/** Returns the first header value with that (case-insensitive) name. */
export function headerValue(req: Pick<RtxHttpRequest, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of req.headers) if (k === lower) return v;
  return undefined;
}

/**
 * Incremental, tolerant HTTP/1.x request parser. Feed it TCP chunks with push(); it returns
 * every complete request (pipelining works) and keeps partial ones buffered. Tolerances: bare
 * LF line ends, raw bytes ≥ 0x80 in the request line, an unescaped space cutting the target
 * (like a real RTX server: what follows is ignored), leading empty lines, header lines without
 * a value. Refused (RtxHttpParseError, the parser is then dead): oversized line/headers/body,
 * a malformed request line, a bad Content-Length, `Transfer-Encoding: chunked`.
 */
export class RtxHttpRequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private failed: RtxHttpParseError | undefined;
  private pending: Omit<RtxHttpRequest, 'body'> | undefined;
  private pendingLength = 0;
  private readonly limits: Required<RtxHttpParserLimits>;

  constructor(limits: RtxHttpParserLimits = {}) {
    this.limits = {
      maxRequestLineBytes: limits.maxRequestLineBytes ?? MAX_REQUEST_LINE_BYTES,
      maxHeaderBytes: limits.maxHeaderBytes ?? MAX_HEADER_BYTES,
      maxHeaderCount: limits.maxHeaderCount ?? MAX_HEADER_COUNT,
      maxBodyBytes: limits.maxBodyBytes ?? MAX_BODY_BYTES,
    };
  }

  /** Bytes received but not yet part of a complete request. */
  get bufferedBytes(): number {
    return this.buf.length;
  }

  /** Throws RtxHttpParseError on a refused request; later calls rethrow it. */
  push(chunk: Uint8Array): RtxHttpRequest[] {
    if (this.failed) throw this.failed;
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: RtxHttpRequest[] = [];
    try {
      for (;;) {
        const req = this.next();
        if (!req) break;
        out.push(req);
      }
    } catch (err) {
      if (err instanceof RtxHttpParseError) this.failed = err;
      throw err;
    }
    return out;
  }

  private next(): RtxHttpRequest | undefined {
    if (!this.pending) {
      // Tolerate empty lines between pipelined requests (RFC 9112 §2.2).
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0d || this.buf[start] === 0x0a)) start++;
      if (start > 0) this.buf = this.buf.subarray(start);
      if (this.buf.length === 0) return undefined;
      const headEnd = findHeadEnd(this.buf);
      if (headEnd < 0) {
        const firstLf = this.buf.indexOf(0x0a);
        if (firstLf < 0 && this.buf.length > this.limits.maxRequestLineBytes) {
          throw new RtxHttpParseError('REQUEST_LINE_TOO_LONG', `Request line longer than ${this.limits.maxRequestLineBytes} bytes.`);
        }
        if (firstLf >= 0 && this.buf.length - firstLf - 1 > this.limits.maxHeaderBytes) {
          throw new RtxHttpParseError('HEADERS_TOO_LARGE', `Request head longer than ${this.limits.maxHeaderBytes} bytes.`);
        }
        return undefined;
      }
      const head = this.buf.subarray(0, headEnd);
      this.buf = this.buf.subarray(headEnd + headTerminatorLength(this.buf, headEnd));
      this.pending = this.parseHead(head);
    }
    const need = this.pendingLength;
    if (this.buf.length < need) return undefined;
    const body = Buffer.from(this.buf.subarray(0, need));
    this.buf = this.buf.subarray(need);
    const req: RtxHttpRequest = { ...this.pending, body };
    this.pending = undefined;
    this.pendingLength = 0;
    return req;
  }

  private parseHead(head: Buffer): Omit<RtxHttpRequest, 'body'> {
    const lines = splitLines(head);
    const requestLine = lines.shift() ?? Buffer.alloc(0);
    if (requestLine.length > this.limits.maxRequestLineBytes) {
      throw new RtxHttpParseError('REQUEST_LINE_TOO_LONG', `Request line longer than ${this.limits.maxRequestLineBytes} bytes.`);
    }
    const sp1 = requestLine.indexOf(0x20);
    if (sp1 <= 0) throw new RtxHttpParseError('BAD_REQUEST_LINE', 'Request line has no method and target.');
    const method = requestLine.subarray(0, sp1).toString('latin1');
    if (!/^[A-Za-z]{1,16}$/.test(method)) throw new RtxHttpParseError('BAD_REQUEST_LINE', 'Request line has no valid method.');
    let targetStart = sp1;
    while (requestLine[targetStart] === 0x20) targetStart++;
    let targetEnd = requestLine.indexOf(0x20, targetStart);
    if (targetEnd < 0) targetEnd = requestLine.length;
    const target = Buffer.from(requestLine.subarray(targetStart, targetEnd));
    if (target.length === 0 || (target[0] !== 0x2f && !/^https?:\/\//i.test(target.subarray(0, 8).toString('latin1')))) {
      throw new RtxHttpParseError('BAD_REQUEST_LINE', 'Request target must start with "/".');
    }
    // A raw space inside a value cut the target; the version, if any, is the last token.
    const rest = requestLine.subarray(targetEnd).toString('latin1').trim();
    const m = /HTTP\/1\.([01])$/i.exec(rest);
    const httpVersion: '1.0' | '1.1' = m?.[1] === '1' ? '1.1' : '1.0';
    if (lines.length > this.limits.maxHeaderCount) {
      throw new RtxHttpParseError('TOO_MANY_HEADERS', `More than ${this.limits.maxHeaderCount} header lines.`);
    }
    const headerBytes = head.length - requestLine.length;
    if (headerBytes > this.limits.maxHeaderBytes) {
      throw new RtxHttpParseError('HEADERS_TOO_LARGE', `Headers longer than ${this.limits.maxHeaderBytes} bytes.`);
    }
    const headers: Array<[string, string]> = [];
    for (const line of lines) {
      if (line.length === 0) continue;
      if (line[0] === 0x20 || line[0] === 0x09) {
        // obsolete line folding: append to the previous header
        const prev = headers[headers.length - 1];
        if (!prev) throw new RtxHttpParseError('BAD_HEADER', 'Continuation line before any header.');
        prev[1] = `${prev[1]} ${line.toString('latin1').trim()}`;
        continue;
      }
      const colon = line.indexOf(0x3a);
      if (colon <= 0) throw new RtxHttpParseError('BAD_HEADER', `Header line without a name: "${printable(line)}".`);
      const name = line.subarray(0, colon).toString('latin1').trim().toLowerCase();
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new RtxHttpParseError('BAD_HEADER', `Bad header name "${printable(line.subarray(0, colon))}".`);
      headers.push([name, line.subarray(colon + 1).toString('latin1').trim()]);
    }
    const te = headers.filter(([k]) => k === 'transfer-encoding').map(([, v]) => v.toLowerCase());
    if (te.some((v) => v !== 'identity')) {
      throw new RtxHttpParseError('CHUNKED_NOT_SUPPORTED', 'Transfer-Encoding is not supported: send a Content-Length body.');
    }
    const lengths = [...new Set(headers.filter(([k]) => k === 'content-length').map(([, v]) => v))];
    let length = 0;
    if (lengths.length > 1) throw new RtxHttpParseError('BAD_CONTENT_LENGTH', 'Conflicting Content-Length headers.');
    if (lengths.length === 1) {
      const v = lengths[0] ?? '';
      if (!/^\d{1,15}$/.test(v)) throw new RtxHttpParseError('BAD_CONTENT_LENGTH', `Bad Content-Length "${v.slice(0, 40)}".`);
      length = Number(v);
      if (length > this.limits.maxBodyBytes) {
        throw new RtxHttpParseError('BODY_TOO_LARGE', `Body of ${length} bytes exceeds the limit of ${this.limits.maxBodyBytes} bytes.`);
      }
    }
    this.pendingLength = length;
    const connection = (headers.find(([k]) => k === 'connection')?.[1] ?? '').toLowerCase();
    const keepAlive = httpVersion === '1.1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    let path: Buffer = target;
    if (target[0] !== 0x2f) {
      // absolute-form: http://host:port/path?query
      const s = target.indexOf('//') + 2;
      const slash = target.indexOf(0x2f, s);
      path = slash < 0 ? Buffer.from('/') : target.subarray(slash);
    }
    const q = path.indexOf(0x3f);
    const query = q < 0 ? Buffer.alloc(0) : Buffer.from(path.subarray(q + 1));
    const pathPart = q < 0 ? path : path.subarray(0, q);
    return { method: method.toUpperCase(), target, path: percentDecode(pathPart, false).toString('latin1'), query, httpVersion, headers, keepAlive };
  }
}

function findHeadEnd(buf: Buffer): number {
  // The head ends at the first empty line (CRLF CRLF, or LF LF / LF CRLF from sloppy clients).
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a) return i + 1;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 1;
  }
  return -1;
}

function headTerminatorLength(buf: Buffer, headEnd: number): number {
  return buf[headEnd] === 0x0d ? 2 : 1;
}

function splitLines(head: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = head.indexOf(0x0a); i >= 0; i = head.indexOf(0x0a, start)) {
    const end = i > start && head[i - 1] === 0x0d ? i - 1 : i;
    lines.push(head.subarray(start, end));
    start = i + 1;
  }
  if (start < head.length) lines.push(head.subarray(start));
  return lines;
}

function printable(b: Buffer): string {
  return b.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
}

function hexVal(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes bytes. `plusIsSpace` applies the form rule (`+` = space). A `%` not followed
 * by two hex digits is kept literally (tolerant, like the stock server).
 */
export function percentDecode(bytes: Uint8Array, plusIsSpace: boolean): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c === 0x25) {
      const hi = hexVal(bytes[i + 1]);
      const lo = hexVal(bytes[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = plusIsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

/**
 * Percent-encodes bytes the way Java's URLEncoder does: `A-Z a-z 0-9 . - * _` kept, space → `+`,
 * everything else `%XX` (upper-case hex). The result is pure ASCII.
 */
export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const c of bytes) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x2d || c === 0x2a || c === 0x5f) {
      s += String.fromCharCode(c);
    } else if (c === 0x20) s += '+';
    else s += `%${c < 16 ? '0' : ''}${c.toString(16).toUpperCase()}`;
  }
  return s;
}

/** Encodes text as GBK bytes (GB18030, the superset, so no character is ever lost). */
export function encodeGbk(text: string): Buffer {
  return iconv.encode(text, 'gb18030');
}

/** Decodes GBK/GB2312/GB18030 bytes. */
export function decodeGbk(bytes: Uint8Array): string {
  return iconv.decode(Buffer.from(bytes), 'gb18030');
}

/** Builds a query/form string with GBK (default) or UTF-8 percent-encoding, for clients and tests. */
export function encodeRtxForm(params: Record<string, string | number>, charset: 'gbk' | 'utf-8' = 'gbk'): string {
  return Object.entries(params)
    .map(([k, v]) => `${percentEncode(Buffer.from(k, 'latin1'))}=${percentEncode(charset === 'gbk' ? encodeGbk(String(v)) : Buffer.from(String(v), 'utf8'))}`)
    .join('&');
}

/** Parses `a=1&b=2` bytes: keys lower-cased (ASCII), values percent-decoded raw bytes. */
export function parseFormBytes(raw: Uint8Array): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let start = 0;
  while (start <= buf.length) {
    let amp = buf.indexOf(0x26, start);
    if (amp < 0) amp = buf.length;
    const part = buf.subarray(start, amp);
    start = amp + 1;
    if (part.length === 0) continue;
    const eq = part.indexOf(0x3d);
    const keyBytes = eq < 0 ? part : part.subarray(0, eq);
    const valueBytes = eq < 0 ? Buffer.alloc(0) : part.subarray(eq + 1);
    const key = percentDecode(keyBytes, true).toString('latin1').trim().toLowerCase();
    if (key.length === 0) continue;
    out.push([key, percentDecode(valueBytes, true)]);
  }
  return out;
}

export type RtxTextCharset = 'ascii' | 'gb18030' | 'utf-8' | string;

/**
 * The charset rule of docs/rtx-sdk.md §2, heuristic documented in docs/rtx-simulator.md:
 * 1. a known `encoding` hint wins;
 * 2. no byte ≥ 0x80 → ASCII;
 * 3. not valid UTF-8 → GB18030;
 * 4. valid UTF-8 whose reading holds an implausible code point (C1 control, private use,
 *    non-character, planes 3–16 outside CJK Ext G/H, unassigned tail of plane 2) → GB18030;
 * 5. valid UTF-8 made only of 3- and 4-byte sequences (CJK in UTF-8) → UTF-8;
 * 6. valid UTF-8 mixing 3/4-byte sequences with 2-byte ones that are all Latin-1 / Latin
 *    Extended letters and symbols (`温度25°C`, `约翰·史密斯`, pinyin) → UTF-8;
 * 7. other valid UTF-8 with 2-byte sequences (U+0080–U+07FF): GB18030 when every double byte
 *    read GBK-wise lies in the GB2312 area (both bytes A1–FE) — plausible GBK text —, else UTF-8.
 */
export function detectRtxCharset(bytes: Uint8Array, hint?: string): RtxTextCharset {
  if (hint) {
    const h = hint.trim().toLowerCase();
    if (h && iconv.encodingExists(h)) return h === 'gbk' || h === 'gb2312' || h === 'cp936' ? 'gb18030' : h;
  }
  let high = false;
  for (const b of bytes) if (b >= 0x80) { high = true; break; }
  if (!high) return 'ascii';
  const shape = utf8Shape(bytes);
  if (!shape) return 'gb18030';
  if (!plausibleUnicode(Buffer.from(bytes).toString('utf8'))) return 'gb18030';
  if (!shape.has2) return 'utf-8';
  if (shape.has3 && latinTwoByteOnly(Buffer.from(bytes).toString('utf8'))) return 'utf-8';
  return gb2312Shaped(bytes) ? 'gb18030' : 'utf-8';
}

/** Decodes parameter bytes with detectRtxCharset(). */
export function decodeRtxText(bytes: Uint8Array, hint?: string): string {
  const cs = detectRtxCharset(bytes, hint);
  if (cs === 'ascii') return Buffer.from(bytes).toString('latin1');
  if (cs === 'utf-8') return Buffer.from(bytes).toString('utf8');
  return iconv.decode(Buffer.from(bytes), cs);
}

/** Validates UTF-8 strictly (no overlongs, surrogates or > U+10FFFF); reports 2-byte sequences. */
function utf8Shape(b: Uint8Array): { has2: boolean; has3: boolean } | undefined {
  let has2 = false;
  let has3 = false;
  const cont = (i: number) => {
    const x = b[i];
    return x !== undefined && (x & 0xc0) === 0x80;
  };
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) {
      if (!cont(i + 1)) return undefined;
      has2 = true;
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const c1 = b[i + 1] as number;
      if (!cont(i + 1) || !cont(i + 2)) return undefined;
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return undefined;
      has3 = true;
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const c1 = b[i + 1] as number;
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return undefined;
      if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return undefined;
      has3 = true;
      i += 4;
    } else return undefined;
  }
  return { has2, has3 };
}

/** Every U+0080–U+07FF character is Latin-1 / Latin Extended (°, ·, ×, é, pinyin ǚ...). */
function latinTwoByteOnly(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c >= 0x80 && c < 0x800 && (c < 0xa0 || c > 0x24f)) return false;
  }
  return true;
}

function plausibleUnicode(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) continue;
    if (c < 0xa0) return false;
    if (c >= 0xe000 && c <= 0xf8ff) return false;
    if (c >= 0xfdd0 && c <= 0xfdef) return false;
    if ((c & 0xfffe) === 0xfffe) return false;
    if (c >= 0x2fa20 && c < 0x30000) return false;
    if (c > 0x323af) return false;
  }
  return true;
}

function gb2312Shaped(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    if (c < 0x80) { i++; continue; }
    const d = b[i + 1];
    if (d === undefined || c < 0xa1 || c > 0xfe || d < 0xa1 || d > 0xfe) return false;
    i += 2;
  }
  return true;
}

/** The parameters of one SDK request (docs/rtx-sdk.md §2), keys case-insensitive. */
export class RtxParams {
  private readonly map = new Map<string, Buffer>();
  constructor(
    entries: Array<[string, Buffer]>,
    /** Where the values came from. */
    readonly source: 'query' | 'body' | 'none',
  ) {
    // First occurrence wins, like PHP's $_GET would not (it keeps the last); the stock CGI
    // scripts read the first. Either way duplicates are rare.
    for (const [k, v] of entries) if (!this.map.has(k)) this.map.set(k, v);
  }

  /** The charset hint (`encoding=` parameter), if any. */
  get encodingHint(): string | undefined {
    const e = this.map.get('encoding');
    return e && e.length > 0 ? e.toString('latin1') : undefined;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  /** Raw value bytes after percent-decoding (`+` already a space). */
  bytes(name: string): Buffer | undefined {
    return this.map.get(name.toLowerCase());
  }

  /** Decoded text by the charset rule, or undefined when the parameter is absent. */
  get(name: string): string | undefined {
    const b = this.map.get(name.toLowerCase());
    return b === undefined ? undefined : decodeRtxText(b, this.encodingHint);
  }
}

/**
 * Extracts parameters like the stock scripts: the query first; the body (form-urlencoded, or
 * no content type) only when every query parameter is empty.
 */
export function extractRtxParams(req: Pick<RtxHttpRequest, 'query' | 'body' | 'headers'>): RtxParams {
  const q = parseFormBytes(req.query);
  if (q.some(([, v]) => v.length > 0)) return new RtxParams(q, 'query');
  const ct = (headerValue(req, 'content-type') ?? '').toLowerCase();
  if (req.body.length > 0 && (ct === '' || ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('text/plain'))) {
    const b = parseFormBytes(req.body);
    if (b.length > 0) return new RtxParams(b, 'body');
  }
  return new RtxParams(q, q.length > 0 ? 'query' : 'none');
}

/** Case-insensitive endpoint match: `/sendnotify.cgi` matches `SendNotify.cgi`; repeated slashes folded. */
export function matchRtxPath(path: string, endpoint: string): boolean {
  return normalizeRtxPath(path) === normalizeRtxPath(endpoint);
}

/** Lower-cases, folds repeated slashes, ensures a leading slash and drops a trailing one. */
export function normalizeRtxPath(path: string): string {
  let p = `/${path}`.replace(/\/+/g, '/').toLowerCase();
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export interface RtxResponseInit {
  /** HTTP status; the SDK answers 200 even for failures. */
  status?: number;
  /** A string is encoded as GBK; bytes are sent as given. */
  body: string | Uint8Array;
  /** `Ret Code` header: 0 success, −1 failure (or a COM error code). */
  retCode: number;
  /** `Ret String` header text (sent URL-encoded GBK). Defaults to `操作成功` / the body text. */
  retString?: string;
  contentType?: string;
  /** Headers after Ret Code / Ret String (e.g. `SessionKey`). */
  extraHeaders?: Array<[string, string]>;
  keepAlive: boolean;
  httpVersion?: '1.0' | '1.1';
  /** HEAD requests get headers only. */
  headOnly?: boolean;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 411: 'Length Required', 413: 'Payload Too Large', 414: 'URI Too Long', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export const RTX_SERVER_HEADER = 'RTX_HTTPServer';

/**
 * Serialises a response. Header order is part of the contract: 1 `Server`, 2 `Content-Type`,
 * 3 `Ret Code`, 4 `Ret String` (Java clients read them by position), then extras,
 * `Content-Length`, `Connection`.
 */
export function buildRtxResponse(init: RtxResponseInit): Buffer {
  const status = init.status ?? 200;
  const body = typeof init.body === 'string' ? encodeGbk(init.body) : Buffer.from(init.body);
  const retString = init.retString ?? (init.retCode === 0 ? '操作成功' : typeof init.body === 'string' ? init.body.replace(/<br>$/i, '') : '');
  const lines = [
    `HTTP/${init.httpVersion ?? '1.1'} ${status} ${REASONS[status] ?? 'OK'}`,
    `Server: ${RTX_SERVER_HEADER}`,
    `Content-Type: ${init.contentType ?? 'text/html; charset=GBK'}`,
    `Ret Code: ${init.retCode}`,
    `Ret String: ${percentEncode(encodeGbk(retString))}`,
    ...(init.extraHeaders ?? []).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
    `Connection: ${init.keepAlive ? 'keep-alive' : 'close'}`,
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return init.headOnly ? head : Buffer.concat([head, body]);
}

/** The success answer of SendNotify/SendIM: body `操作成功!`. */
export function rtxOk(keepAlive: boolean, httpVersion: '1.0' | '1.1' = '1.1'): Buffer {
  return buildRtxResponse({ body: RTX_OK_BYTES, retCode: 0, retString: '操作成功', keepAlive, httpVersion });
}

/** A failure answer: `text<br>`, `Ret Code: -1` (or the given code), HTTP 200 unless told. */
export function rtxError(text: string, keepAlive: boolean, opts: { retCode?: number; status?: number; httpVersion?: '1.0' | '1.1' } = {}): Buffer {
  return buildRtxResponse({ body: `${text}<br>`, retCode: opts.retCode ?? -1, retString: text, keepAlive, status: opts.status ?? 200, httpVersion: opts.httpVersion ?? '1.1' });
}

/** The answer to a request the parser refused; the connection must then be closed. */
export function rtxParseErrorResponse(err: RtxHttpParseError): Buffer {
  return buildRtxResponse({ status: err.status, body: `${err.message}<br>`, retCode: -1, retString: err.code, keepAlive: false, httpVersion: '1.1' });
}

export interface ParsedRtxResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Parses one complete response (head + Content-Length body) — for clients and tests. Returns
 * undefined while incomplete. `Ret String` stays URL-encoded; see decodeRetString().
 */
export function parseRtxResponse(buf: Buffer): { response: ParsedRtxResponse; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = lines.slice(1).map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  const len = Number(headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1] ?? 0);
  if (buf.length < end + 4 + len) return undefined;
  return { response: { status, headers, body: Buffer.from(buf.subarray(end + 4, end + 4 + len)) }, rest: buf.subarray(end + 4 + len) };
}

/** Decodes a `Ret String` header value (URL-encoded GBK). */
export function decodeRetString(value: string): string {
  return decodeGbk(percentDecode(Buffer.from(value, 'latin1'), true));
}
