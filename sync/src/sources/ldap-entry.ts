import type { Entry } from 'ldapts';

/**
 * Reading values out of ldapts entries. Entries keep attribute names as the
 * server sent them, so lookups are case-insensitive.
 */

type Raw = Entry[string];

function get(entry: Entry, name: string): Raw | undefined {
  if (name in entry) return entry[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(entry)) if (k.toLowerCase() === lower) return entry[k];
  return undefined;
}

const asString = (v: string | Buffer): string => (typeof v === 'string' ? v : v.toString('utf8'));

/** All values of an attribute as strings (empty array when absent). */
export function values(entry: Entry, name: string): string[] {
  const v = get(entry, name);
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => asString(x as string | Buffer));
}

/** The first non-blank value of the first attribute in `names` that has one, trimmed. */
export function first(entry: Entry, names: readonly string[]): string | undefined {
  for (const n of names) {
    for (const v of values(entry, n)) {
      const t = v.trim();
      if (t) return t;
    }
  }
  return undefined;
}

/** A binary attribute (objectGUID) as lowercase hex, or a string attribute as is. */
export function idValue(entry: Entry, name: string): string | undefined {
  const v = get(entry, name);
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  if (Buffer.isBuffer(one)) return one.length ? one.toString('hex') : undefined;
  const s = String(one).trim();
  return s || undefined;
}

/** Attributes that are binary in AD and must be requested as Buffers. */
export const BINARY_ATTRIBUTES = ['objectGUID', 'objectSid'];
