/**
 * A client of the open API written from the wire spec alone
 * (/work/shared/docs/youdu-open-api.md §1–§5), the way other people's client
 * libraries are written: its crypto is its own (it imports nothing of the
 * server), so a test that passes with it shows the server speaks the spec,
 * not merely agrees with itself.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class SpecCipher {
  readonly key: Buffer;

  constructor(
    readonly encodingAesKey: string,
    readonly appId: string,
  ) {
    if (encodingAesKey.length !== 44) throw new Error('illegal AES key (-40003)');
    this.key = Buffer.from(encodingAesKey, 'base64');
    if (this.key.length !== 32) throw new Error('illegal AES key (-40003)');
  }

  /** random(16) ‖ uint32be(len) ‖ msg ‖ appId, padded to 32-byte blocks, AES-256-CBC with IV = key[0..16]. */
  encrypt(msg: string | Buffer, opts: { prefix?: Buffer; appId?: string; iv?: Buffer } = {}): string {
    const m = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(m.length);
    const text = Buffer.concat([opts.prefix ?? randomBytes(16), len, m, Buffer.from(opts.appId ?? this.appId, 'latin1')]);
    const n = 32 - (text.length % 32);
    const c = createCipheriv('aes-256-cbc', this.key, opts.iv ?? this.key.subarray(0, 16));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.concat([text, Buffer.alloc(n, n)])), c.final()]).toString('base64');
  }

  /** Decrypts as the strictest libraries do: length a multiple of 32, every pad byte equal and ≤ 32, the appId suffix exact. */
  decrypt(b64: string): Buffer {
    const data = Buffer.from(b64, 'base64');
    if (data.length % 32 !== 0) throw new Error(`ciphertext length ${data.length} is not a multiple of 32`);
    const d = createDecipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16));
    d.setAutoPadding(false);
    const text = Buffer.concat([d.update(data), d.final()]);
    const n = text[text.length - 1] as number;
    if (n < 1 || n > 32) throw new Error(`bad padding byte ${n}`);
    for (let i = text.length - n; i < text.length; i++) if (text[i] !== n) throw new Error('pad bytes differ');
    const plain = text.subarray(0, text.length - n);
    const len = plain.readUInt32BE(16);
    const msg = plain.subarray(20, 20 + len);
    const suffix = plain.subarray(20 + len).toString('latin1');
    if (suffix !== this.appId) throw new Error(`appId mismatch: ${suffix} (-40004)`);
    return msg;
  }
}

export function specSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

export interface CgiReply {
  status: number;
  headers: Headers;
  text: string;
  json: { errcode?: unknown; errmsg?: unknown; encrypt?: unknown; [k: string]: unknown };
}

export class YouduClient {
  readonly cipher: SpecCipher;
  token: string | null = null;

  constructor(
    readonly base: string,
    readonly buin: number,
    readonly appId: string,
    encodingAesKey: string,
  ) {
    this.cipher = new SpecCipher(encodingAesKey, appId);
  }

  /** A raw call: any method, body and headers; returns status, headers and the body as text and JSON (when it is). */
  async raw(path: string, init: { method?: string; body?: string | Buffer | FormData; headers?: Record<string, string> } = {}): Promise<CgiReply> {
    const res = await fetch(`${this.base}${path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), ...(init.body !== undefined ? { body: init.body } : {}), headers: init.headers ?? {} });
    const text = await res.text();
    let json: CgiReply['json'] = {};
    try {
      json = JSON.parse(text) as CgiReply['json'];
    } catch {
      // a download body
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  envelope(payload: unknown): string {
    return JSON.stringify({ buin: this.buin, appId: this.appId, encrypt: this.cipher.encrypt(typeof payload === 'string' ? payload : JSON.stringify(payload)) });
  }

  async gettoken(): Promise<string> {
    const r = await this.raw('/cgi/gettoken', { body: this.envelope(String(Math.floor(Date.now() / 1000))), headers: { 'content-type': 'application/json' } });
    const data = this.open(r) as { accessToken: string; expireIn: number };
    this.token = data.accessToken;
    return data.accessToken;
  }

  /** Decrypts a reply's `encrypt` (errcode must be 0). */
  open(r: CgiReply): unknown {
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    if (r.json.errcode !== 0) throw new Error(`errcode ${String(r.json.errcode)}: ${String(r.json.errmsg)}`);
    if (typeof r.json.encrypt !== 'string') throw new Error('no encrypt in the reply');
    return JSON.parse(this.cipher.decrypt(r.json.encrypt).toString('utf8'));
  }

  private withToken(path: string): string {
    return `${path}${path.includes('?') ? '&' : '?'}accessToken=${encodeURIComponent(this.token ?? '')}`;
  }

  /** POST with the normal envelope and the token; the raw reply. */
  async post(path: string, payload: unknown): Promise<CgiReply> {
    if (!this.token) await this.gettoken();
    return this.raw(this.withToken(path), { body: this.envelope(payload), headers: { 'content-type': 'application/json; charset=UTF-8' } });
  }

  /** GET with the token; the raw reply. */
  async get(path: string): Promise<CgiReply> {
    if (!this.token) await this.gettoken();
    return this.raw(this.withToken(path));
  }
}

/** One multipart/form-data field as a test sends it. */
export interface FormField {
  name: string;
  value: string | Buffer;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body with the fields in the order given, as the spec's senders build it. */
export function multipartBody(fields: readonly FormField[], boundary = `----youdu${randomBytes(8).toString('hex')}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"${f.filename !== undefined ? `; filename="${f.filename}"` : ''}\r\n`;
    if (f.contentType) head += `Content-Type: ${f.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), typeof f.value === 'string' ? Buffer.from(f.value, 'utf8') : f.value, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The upload's fields per spec §5: buin as a string, appId, encrypt=enc({type, name}), file=base64 ciphertext of the bytes. */
export function uploadFields(c: YouduClient, meta: Record<string, unknown>, bytes: Buffer, filename = 'file'): FormField[] {
  return [
    { name: 'buin', value: String(c.buin), contentType: 'text/plain; charset=ISO-8859-1' },
    { name: 'appId', value: c.appId, contentType: 'text/plain; charset=ISO-8859-1' },
    { name: 'encrypt', value: c.cipher.encrypt(JSON.stringify(meta)), contentType: 'text/plain; charset=ISO-8859-1' },
    { name: 'file', value: c.cipher.encrypt(bytes), filename, contentType: 'text/plain; charset=ISO-8859-1' },
  ];
}

/** Sends fields as multipart to a path with the client's token. */
export async function postForm(c: YouduClient, path: string, fields: readonly FormField[], opts: { contentType?: string | null } = {}): Promise<CgiReply> {
  if (!c.token) await c.gettoken();
  const { body, contentType } = multipartBody(fields);
  const ct = opts.contentType === undefined ? contentType : opts.contentType;
  return c.raw(`${path}${path.includes('?') ? '&' : '?'}accessToken=${encodeURIComponent(c.token ?? '')}`, { body, headers: ct === null ? {} : { 'content-type': ct } });
}

/**
 * Reads a download as the Java library does (spec §5): the `encrypt` header
 * decrypts to JSON, the body is the base64 ciphertext of the bytes. Throws
 * when there is no header (an error reply is JSON then).
 */
export function openDownload(c: YouduClient, r: CgiReply): { head: Record<string, unknown>; bytes: Buffer } {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  const h = r.headers.get('encrypt');
  if (!h) throw new Error(`no encrypt header; body ${r.text.slice(0, 200)}`);
  return { head: JSON.parse(c.cipher.decrypt(h).toString('utf8')) as Record<string, unknown>, bytes: c.cipher.decrypt(r.text) };
}

/** POST with the special envelope of set.ent.notice and popwindow: {app_id, msg_encrypt}, no token. */
export function postSpecial(c: YouduClient, path: string, payload: unknown, keys: { appId?: string; encrypt?: string } = {}): Promise<CgiReply> {
  return c.raw(path, { body: JSON.stringify({ [keys.appId ?? 'app_id']: c.appId, [keys.encrypt ?? 'msg_encrypt']: c.cipher.encrypt(JSON.stringify(payload)) }), headers: { 'content-type': 'application/json' } });
}
