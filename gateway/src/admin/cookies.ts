/** The console session cookie. */
export const ADMIN_COOKIE = 'huitong_admin';
/** Longest Cookie header looked at; browsers cap a cookie at 4 KiB. */
const MAX_COOKIE_HEADER_CHARS = 16 * 1024;
const NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `a=1; b=2`),
 * or null. Quoted values are unquoted and %-escapes decoded; a malformed pair
 * is skipped rather than failing the request. The first occurrence wins.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (text.length > MAX_COOKIE_HEADER_CHARS) return null;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  return null;
}

export interface CookieOptions {
  path: string;
  httpOnly: boolean;
  sameSite: 'Strict' | 'Lax';
  secure: boolean;
  /** Seconds; omitted = a browser-session cookie; 0 = delete. */
  maxAgeSeconds?: number;
}

/** A Set-Cookie header value. */
export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  if (!NAME_RE.test(name)) throw new Error(`invalid cookie name ${name}`);
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path}`];
  if (o.maxAgeSeconds !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAgeSeconds))}`);
    if (o.maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push(`SameSite=${o.sameSite}`);
  return parts.join('; ');
}
