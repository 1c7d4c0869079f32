/**
 * The console's API from integration tests, through fastify's inject(): a
 * session (cookie and CSRF token from the login answer), calls with it, the
 * error code of an answer, and a PNG the test owns byte for byte.
 */
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { CSRF_HEADER } from '../../gateway/src/admin/http.js';

export interface Session {
  cookie: string;
  csrf: string;
}

export interface Res {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
  rawPayload: Buffer;
  json(): unknown;
}

export type ErrBody = { error?: { code: string; message: string } };

/** The session a login answer opens. */
export function sessionOf(r: Res): Session {
  const h = r.headers['set-cookie'];
  const c = String(Array.isArray(h) ? h[0] : (h ?? ''));
  return { cookie: c.split(';')[0] as string, csrf: String((r.json() as { csrfToken: string }).csrfToken) };
}

/** One call, with the session's cookie and CSRF header when given. */
export async function call(app: FastifyInstance, s: Session | null, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const h: Record<string, string> = { ...headers };
  if (s) {
    h.cookie = s.cookie;
    h[CSRF_HEADER] = s.csrf;
  }
  return (await app.inject({ method, url, headers: h, ...(payload !== undefined ? { payload: payload as string } : {}) })) as unknown as Res;
}

/** The GW_* code of a refusal. */
export const code = (r: Res): string | undefined => (r.json() as ErrBody).error?.code;

/** A valid 1×1 PNG; `extra` pads it with a text chunk of that many bytes. */
export function png(extra = 0): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = (crcTable[(c ^ x) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0])),
    ...(extra > 0 ? [chunk('tEXt', Buffer.alloc(extra, 0x41))] : []),
    chunk('IDAT', deflateSync(Buffer.from([0, 0, 128, 255]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
