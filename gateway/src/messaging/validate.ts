import { GatewayError } from '../errors/gateway-error.js';
import { APP_ONLY_KINDS, MAX_TEXT_CHARS, type AppOnlyKind, type AppSendableKind, type BodyByKind, type SendableKind, type UserId } from '../protocol/client-v1.js';

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

/** The sender of a broadcast (docs/broadcast.md): a member or an administrator. */
function broadcastSender(v: unknown): NonNullable<BodyByKind['sysmsg']['from']> {
  const f = v as Record<string, unknown>;
  if (!f || typeof f !== 'object') throw new GatewayError('GW_BAD_REQUEST', 'from must be an object');
  if (f.kind === 'admin') return { kind: 'admin', name: str(f.name, 'from name', 128) };
  if (f.kind !== 'member' || !Number.isSafeInteger(f.userId) || (f.userId as number) < 1) throw new GatewayError('GW_BAD_REQUEST', 'from must be a member or an administrator');
  return { kind: 'member', userId: f.userId as UserId, account: str(f.account, 'from account', 128), name: str(f.name, 'from name', 128) };
}

/** Most articles of an mpnews message and cards of an exlink message. */
export const MAX_APP_ITEMS = 5;
/** Most parts of a system message. */
export const MAX_SYSMSG_ITEMS = 20;

/** Checks a message body for its kind and returns a clean copy holding only known fields. */
export function validateBody(kind: SendableKind, body: unknown): BodyByKind[SendableKind] {
  if ((APP_ONLY_KINDS as readonly string[]).includes(kind)) throw new GatewayError('GW_BAD_REQUEST', 'kind must be text, image, file, link or rich');
  return validateAny(kind, body, false) as BodyByKind[SendableKind];
}

/** Checks an app's message body: the kinds people send plus mpnews, exlink, sysmsg and mail. */
export function validateAppBody(kind: AppSendableKind, body: unknown): BodyByKind[AppSendableKind] {
  return validateAny(kind, body, true);
}

/** `fromApp`: only an app's link may ask the client to append the reader's identity (`sso`); a person's never does. */
function validateAny(kind: AppSendableKind, body: unknown, fromApp: boolean): BodyByKind[AppSendableKind] {
  const clean = (APP_ONLY_KINDS as readonly string[]).includes(kind) ? validateAppOnly(kind as AppOnlyKind, body) : validateFields(kind as SendableKind, body, fromApp);
  if (Buffer.byteLength(JSON.stringify(clean)) > MAX_BODY_JSON_BYTES) throw new GatewayError('GW_BAD_REQUEST', `the message is larger than ${MAX_BODY_JSON_BYTES} bytes`);
  return clean;
}

function validateFields(kind: SendableKind, body: unknown, fromApp: boolean): BodyByKind[SendableKind] {
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
      if (fromApp && b.sso === true) out.sso = true;
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

function fileFields(v: unknown, what: string): BodyByKind['image'] {
  const f = v as Record<string, unknown> | null;
  if (!f || typeof f !== 'object' || typeof f.fileId !== 'string' || !FILE_ID_RE.test(f.fileId)) throw new GatewayError('GW_BAD_REQUEST', `${what} must name a stored file`);
  if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) throw new GatewayError('GW_BAD_REQUEST', `${what} size must be a non-negative integer`);
  const out: BodyByKind['image'] = { fileId: f.fileId, name: str(f.name, `${what} name`, 255), size: f.size as number };
  const mime = optional(f.mime, (m) => str(m, `${what} mime`, 127));
  if (mime) out.mime = mime;
  return out;
}

function items(v: unknown, what: string, max: number): Record<string, unknown>[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) throw new GatewayError('GW_BAD_REQUEST', `${what} must be 1–${max} items`);
  return v.map((x: unknown) => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) throw new GatewayError('GW_BAD_REQUEST', `each of ${what} must be an object`);
    return x as Record<string, unknown>;
  });
}

function validateAppOnly(kind: AppOnlyKind, body: unknown): BodyByKind[AppOnlyKind] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError('GW_BAD_REQUEST', 'body must be an object');
  const b = body as Record<string, unknown>;
  switch (kind) {
    case 'mpnews':
      return {
        items: items(b.items, 'mpnews items', MAX_APP_ITEMS).map((it) => {
          const out: BodyByKind['mpnews']['items'][number] = { title: str(it.title, 'title', 64), content: str(it.content, 'content', MAX_TEXT_CHARS, 0) };
          const digest = optional(it.digest, (v) => str(v, 'digest', 120, 0));
          if (digest) out.digest = digest;
          if (it.showFront === true) out.showFront = true;
          const u = optional(it.url, (v) => url(v, 'url'));
          if (u) out.url = u;
          if (it.cover !== undefined && it.cover !== null) out.cover = fileFields(it.cover, 'cover');
          return out;
        }),
      };
    case 'exlink':
      return {
        items: items(b.items, 'exlink items', MAX_APP_ITEMS).map((it) => {
          const out: BodyByKind['exlink']['items'][number] = { title: str(it.title, 'title', 256), url: url(it.url, 'url') };
          const digest = optional(it.digest, (v) => str(v, 'digest', 1024, 0));
          if (digest) out.digest = digest;
          if (it.cover !== undefined && it.cover !== null) out.cover = fileFields(it.cover, 'cover');
          return out;
        }),
      };
    case 'sysmsg': {
      const out: BodyByKind['sysmsg'] = {
        title: str(b.title, 'title', 64, 0),
        items: items(b.items, 'sysmsg items', MAX_SYSMSG_ITEMS).map((it) => {
          if (it.text !== undefined) return { text: str(it.text, 'text', MAX_TEXT_CHARS) };
          const l = it.link as Record<string, unknown> | undefined;
          if (!l || typeof l !== 'object') throw new GatewayError('GW_BAD_REQUEST', 'each sysmsg item is {text} or {link}');
          const link: { title: string; url: string; sso?: boolean } = { title: str(l.title, 'link title', 256, 0), url: url(l.url, 'link url') };
          if (l.sso === true) link.sso = true;
          return { link };
        }),
      };
      if (b.popDurationS !== undefined && b.popDurationS !== null) {
        if (!Number.isSafeInteger(b.popDurationS)) throw new GatewayError('GW_BAD_REQUEST', 'popDurationS must be an integer');
        out.popDurationS = b.popDurationS as number;
      }
      if (b.from !== undefined && b.from !== null) out.from = broadcastSender(b.from);
      return out;
    }
    case 'mail': {
      if (b.action !== 'new' && b.action !== 'unread') throw new GatewayError('GW_BAD_REQUEST', 'action must be new or unread');
      if (!Number.isSafeInteger(b.unreadCount) || (b.unreadCount as number) < 0) throw new GatewayError('GW_BAD_REQUEST', 'unreadCount must be a non-negative integer');
      const out: BodyByKind['mail'] = { action: b.action, unreadCount: b.unreadCount as number };
      for (const k of ['subject', 'fromUser', 'fromEmail'] as const) {
        const v = optional(b[k], (x) => str(x, k, 1024, 0));
        if (v) out[k] = v;
      }
      if (b.time !== undefined && b.time !== null) {
        if (!Number.isSafeInteger(b.time) || (b.time as number) < 0) throw new GatewayError('GW_BAD_REQUEST', 'time must be Unix seconds');
        out.time = b.time as number;
      }
      const link = optional(b.link, (v) => url(v, 'link'));
      if (link) out.link = link;
      return out;
    }
  }
}
