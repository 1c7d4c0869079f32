import type { BodyByKind, MessageView } from '../../gateway/src/protocol/client-v1.js';

/** A one-line, human-readable rendering of a message body: the text itself for text messages. */
export function describeBody(m: Pick<MessageView, 'kind' | 'body' | 'recalled'>): string {
  if (m.recalled) return '[recalled]';
  switch (m.kind) {
    case 'text':
      return (m.body as BodyByKind['text']).text;
    case 'image': {
      const b = m.body as BodyByKind['image'];
      return `[image] ${b.name}${b.width && b.height ? ` (${b.width}x${b.height})` : ''}`;
    }
    case 'file': {
      const b = m.body as BodyByKind['file'];
      return `[file] ${b.name} (${b.size} bytes)`;
    }
    case 'link': {
      const b = m.body as BodyByKind['link'];
      return `[link] ${b.title} ${b.url}`;
    }
    case 'rich': {
      const b = m.body as BodyByKind['rich'];
      return [b.title, b.segments.map((s) => s.text).join('')].filter(Boolean).join(': ');
    }
    case 'recall':
      return `[recalled message ${(m.body as BodyByKind['recall']).messageId}]`;
    default:
      return `[${String(m.kind)}]`;
  }
}
