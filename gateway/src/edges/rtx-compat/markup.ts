import { MAX_TEXT_CHARS, type RichBody, type RichSegment } from '../../protocol/client-v1.js';

/** Most segments of a rich body (messaging/validate.ts checks the same limit). */
export const MAX_RICH_SEGMENTS = 200;
const MAX_URL_CHARS = 2048;

/**
 * Turns RTX notification text into rich segments: `[shown text|URL]` (a trailing space before `]`
 * is allowed, docs/rtx-sdk.md §2) becomes a link segment when URL is an http or https URL;
 * anything else — other schemes, malformed markup, brackets without `|` — stays text as written.
 * Past the segment limit the remaining text, markup included, stays in one text segment.
 */
export function parseRtxMarkup(msg: string): RichSegment[] {
  const out: RichSegment[] = [];
  const re = /\[([^[\]|]*)\|([^[\]|]*?) ?\]/g;
  let last = 0;
  let text = '';
  for (let m = re.exec(msg); m; m = re.exec(msg)) {
    // room for this link and the text after it
    if (out.length >= MAX_RICH_SEGMENTS - 2) break;
    const href = linkHref((m[2] as string).trim());
    if (!href) continue;
    text += msg.slice(last, m.index);
    if (text) out.push({ text });
    text = '';
    const shown = (m[1] as string).trim();
    out.push({ text: shown || href, href });
    last = m.index + m[0].length;
  }
  text += msg.slice(last);
  if (text || out.length === 0) out.push({ text });
  return out;
}

function linkHref(s: string): string | null {
  if (!/^https?:\/\//i.test(s) || s.length > MAX_URL_CHARS) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? s : null;
  } catch {
    return null;
  }
}

/** The rich body of a notification: title and segments; null when the text is too long. */
export function notificationBody(title: string, msg: string): RichBody | null {
  if (msg.length > MAX_TEXT_CHARS) return null;
  return { title, segments: parseRtxMarkup(msg) };
}
