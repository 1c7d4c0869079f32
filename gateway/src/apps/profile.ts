import { createHash } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import type { UserId } from '../protocol/client-v1.js';
import type { AppProfile, OpenApp } from './types.js';

/** Largest logo image accepted (PNG or JPEG). */
export const MAX_LOGO_BYTES = 512 * 1024;
export const MAX_DESCRIPTION_CHARS = 500;
export const MAX_URL_CHARS = 2048;
export const MAX_MANAGERS = 50;
/** A logo's public name: the sha256 of its bytes and its type. Nothing else is ever looked up. */
export const LOGO_NAME_RE = /^[0-9a-f]{64}\.(png|jpg)$/;

/** The key of the file-transfer assistant's row (migration 012): a 1:1 conversation with oneself. */
export const FILE_TRANSFER_KEY = 'fileTransfer';
/** The key of the built-in app of notifications (SendNotify.cgi, broadcasts). */
export const SYSTEM_NOTICE_KEY = 'system';

/**
 * The spec's system apps people meet in their app list. The others
 * (sysOrgAssistant, sysSmsAssistant, sysMsgMonitor) are endpoints for
 * integrations that nobody opens, so clients never list them.
 */
export const PEOPLE_FACING_SYSTEM_APP_IDS: ReadonlySet<string> = new Set(['sysMsgAssistant', 'sysExmailAssistant']);

export function emptyProfile(): AppProfile {
  return { description: '', logo: null, homeUrl: null, mobileUrl: null, managers: [] };
}

/** True for apps people see in their app list (when visible to them and enabled). */
export function isPeopleFacing(app: OpenApp): boolean {
  if (app.origin === 'deleted') return false;
  if (app.kind === 'custom') return true;
  if (app.key === FILE_TRANSFER_KEY || app.key === SYSTEM_NOTICE_KEY) return true;
  return app.kind === 'system' && app.appId !== null && PEOPLE_FACING_SYSTEM_APP_IDS.has(app.appId);
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function checkDescription(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'description must be a string');
  const t = v.trim();
  if ([...t].length > MAX_DESCRIPTION_CHARS) throw new GatewayError('GW_BAD_REQUEST', `description is longer than ${MAX_DESCRIPTION_CHARS} characters`);
  if (CONTROL_RE.test(t)) throw new GatewayError('GW_BAD_REQUEST', 'description contains control characters');
  return t;
}

/** The home page: an http(s) URL without credentials, or null. */
export function checkHomeUrl(v: unknown, what = 'homeUrl'): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_URL_CHARS) throw new GatewayError('GW_BAD_REQUEST', `${what} must be a URL of at most ${MAX_URL_CHARS} characters`);
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    throw new GatewayError('GW_BAD_REQUEST', `${what} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GatewayError('GW_BAD_REQUEST', `${what} must be an http or https URL`);
  if (u.username || u.password) throw new GatewayError('GW_BAD_REQUEST', `${what} must not carry a user or password`);
  return v.trim();
}

/**
 * The mobile jump: an http(s) URL or a third-party app scheme
 * (`weixin://…`, `myapp://open?x=1`). Schemes that run code in the client or
 * read local files are refused.
 */
export function checkMobileUrl(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_URL_CHARS) throw new GatewayError('GW_BAD_REQUEST', `mobileUrl must be at most ${MAX_URL_CHARS} characters`);
  const t = v.trim();
  const m = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):/.exec(t);
  if (!m || /\s/.test(t) || CONTROL_RE.test(t)) throw new GatewayError('GW_BAD_REQUEST', 'mobileUrl must be a URL or an app scheme such as myapp://open');
  const scheme = (m[1] as string).toLowerCase();
  if (['javascript', 'data', 'file', 'vbscript', 'blob', 'about'].includes(scheme)) throw new GatewayError('GW_BAD_REQUEST', `mobileUrl may not use the ${scheme}: scheme`);
  if (scheme === 'http' || scheme === 'https') return checkHomeUrl(t, 'mobileUrl');
  return t;
}

export function checkManagers(v: unknown): UserId[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_MANAGERS || !v.every((i) => Number.isSafeInteger(i) && (i as number) > 0)) {
    throw new GatewayError('GW_BAD_REQUEST', `managers must be at most ${MAX_MANAGERS} user ids`);
  }
  return [...new Set(v as UserId[])];
}

/**
 * The logo's type from its first bytes (never from a file name or a header),
 * or GW_BAD_REQUEST. PNG: the 8-byte signature and an IHDR chunk; JPEG: SOI
 * and a marker.
 */
export function sniffLogo(bytes: Buffer): { mime: 'image/png' | 'image/jpeg'; ext: 'png' | 'jpg' } {
  if (bytes.length === 0) throw new GatewayError('GW_BAD_REQUEST', 'the logo is empty');
  if (bytes.length > MAX_LOGO_BYTES) throw new GatewayError('GW_FILE_TOO_LARGE', `the logo is larger than ${MAX_LOGO_BYTES / 1024} KB`);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(png) && bytes.subarray(12, 16).toString('latin1') === 'IHDR') return { mime: 'image/png', ext: 'png' };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { mime: 'image/jpeg', ext: 'jpg' };
  throw new GatewayError('GW_BAD_REQUEST', 'the logo must be a PNG or JPEG image');
}

export function logoName(bytes: Buffer, ext: string): string {
  return `${createHash('sha256').update(bytes).digest('hex')}.${ext}`;
}
