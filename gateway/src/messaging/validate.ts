import { GatewayError } from '../errors/gateway-error.js';
import { MAX_TEXT_CHARS, type BodyByKind, type SendableKind } from '../protocol/client-v1.js';

const FILE_ID_RE = /^[a-f0-9]{64}$/;
const MAX_URL_CHARS = 2048;
const MAX_SEGMENTS = 200;
/** Largest body as stored JSON, so any message fits a frame with room to spare. */
export const MAX_BODY_JSON_BYTES = 64 * 1024;

function str(v: unknown, what: string, max: number, min = 1): string {
  if (typeof v !== 'string' || v.length < min) throw new GatewayError('GW_BAD_REQUEST', `${what} is required`);
  if (v.length > max) throw new GatewayError('GW_BAD_REQUEST', `${what} is longer than ${max} characters`);
  return v;
}

function url(v: unknown, what: string): string {
  const s = str(v, what, MAX_URL_CHARS);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new GatewayError('GW_BAD_REQUEST', `${what} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GatewayError('GW_BAD_REQUEST', `${what} must be an http or https URL`);
  return s;
}

function optional<T>(v: unknown, f: (v: unknown) => T): T | undefined {
  return v === undefined || v === null ? undefined : f(v);
}

/** Checks a message body for its kind and returns a clean copy holding only known fields. */
export function validateBody(kind: SendableKind, body: unknown): BodyByKind[SendableKind] {
  const clean = validateFields(kind, body);
  if (Buffer.byteLength(JSON.stringify(clean)) > MAX_BODY_JSON_BYTES) throw new GatewayError('GW_BAD_REQUEST', `the message is larger than ${MAX_BODY_JSON_BYTES} bytes`);
  return clean;
}

function validateFields(kind: SendableKind, body: unknown): BodyByKind[SendableKind] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError('GW_BAD_REQUEST', 'body must be an object');
  const b = body as Record<string, unknown>;
  switch (kind) {
    case 'text':
      return { text: str(b.text, 'text', MAX_TEXT_CHARS) };
    case 'image':
    case 'file': {
      if (typeof b.fileId !== 'string' || !FILE_ID_RE.test(b.fileId)) throw new GatewayError('GW_BAD_REQUEST', 'fileId must be the id returned by the upload');
      if (!Number.isSafeInteger(b.size) || (b.size as number) < 0) throw new GatewayError('GW_BAD_REQUEST', 'size must be a non-negative integer');
      const out: BodyByKind['image'] = { fileId: b.fileId, name: str(b.name, 'name', 255), size: b.size as number };
      const mime = optional(b.mime, (v) => str(v, 'mime', 127));
      if (mime) out.mime = mime;
      if (kind === 'image') {
        const w = optional(b.width, (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined));
        const h = optional(b.height, (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined));
        if (w) out.width = w;
        if (h) out.height = h;
      }
      return out;
    }
    case 'link': {
      const out: BodyByKind['link'] = { url: url(b.url, 'url'), title: str(b.title, 'title', 256) };
      const d = optional(b.description, (v) => str(v, 'description', 1024, 0));
      if (d) out.description = d;
      return out;
    }
    case 'rich': {
      if (!Array.isArray(b.segments) || b.segments.length === 0 || b.segments.length > MAX_SEGMENTS) {
        throw new GatewayError('GW_BAD_REQUEST', `segments must be 1–${MAX_SEGMENTS} items`);
      }
      let total = 0;
      const segments = b.segments.map((s: unknown) => {
        if (!s || typeof s !== 'object') throw new GatewayError('GW_BAD_REQUEST', 'each segment must be an object');
        const seg = s as Record<string, unknown>;
        const text = str(seg.text, 'segment text', MAX_TEXT_CHARS, 0);
        total += text.length;
        const out: BodyByKind['rich']['segments'][number] = { text };
        if (seg.bold === true) out.bold = true;
        if (seg.italic === true) out.italic = true;
        const href = optional(seg.href, (v) => url(v, 'segment href'));
        if (href) out.href = href;
        if (seg.mention !== undefined) {
          if (!Number.isSafeInteger(seg.mention)) throw new GatewayError('GW_BAD_REQUEST', 'segment mention must be a user id');
          out.mention = seg.mention as never;
        }
        return out;
      });
      if (total > MAX_TEXT_CHARS) throw new GatewayError('GW_BAD_REQUEST', `rich text is longer than ${MAX_TEXT_CHARS} characters`);
      const title = optional(b.title, (v) => str(v, 'title', 256));
      return title ? { title, segments } : { segments };
    }
    default:
      throw new GatewayError('GW_BAD_REQUEST', 'kind must be text, image, file, link or rich');
  }
}
