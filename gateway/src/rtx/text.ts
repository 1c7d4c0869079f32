import { MAX_TEXT_CHARS } from '../protocol/rtx-bridge-v1.js';

/**
 * A stored message body as the plain text RTX shows (SendIM takes text only).
 * Text as is; an image `[图片] name`; a file `[文件] name (size)`; a link
 * `[链接] title url` (the URL is the message's content); rich text its
 * segments' text, with the title on the first line. File ids and download
 * URLs never leave the gateway. At most MAX_TEXT_CHARS characters ("…" marks a cut).
 */
export function rtxText(kind: string, bodyJson: string): string {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(bodyJson) as Record<string, unknown>;
  } catch {
    return '[消息]';
  }
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  let text: string;
  switch (kind) {
    case 'text':
      text = s(b.text);
      break;
    case 'image':
      text = `[图片] ${s(b.name)}`.trim();
      break;
    case 'file':
      text = `[文件] ${s(b.name)} (${humanSize(typeof b.size === 'number' ? b.size : 0)})`;
      break;
    case 'link':
      text = [`[链接] ${s(b.title)}`, s(b.url)].filter(Boolean).join(' ');
      break;
    case 'rich': {
      const segs = Array.isArray(b.segments) ? (b.segments as { text?: unknown }[]).map((x) => s(x?.text)).join('') : '';
      text = [s(b.title), segs].filter(Boolean).join('\n');
      break;
    }
    default:
      text = '[消息]';
  }
  if (text === '') text = '[消息]';
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS - 1)}…` : text;
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
