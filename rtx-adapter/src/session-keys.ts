import { createHash } from 'node:crypto';

/**
 * Session keys the adapter derives when RTX gave none: `{GUID}`-shaped, stable, so the same
 * conversation always gets the same key (across restarts and capture paths). A 1:1 pair's key
 * is the one the simulator uses too (SHA-1 of the two lower-cased accounts, sorted).
 */

export function stableGuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex').toUpperCase();
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}}`;
}

const norm = (a: string) => a.trim().toLowerCase();

/** The session key of the 1:1 conversation between two accounts (order does not matter). */
export function pairSessionKey(a: string, b: string): string {
  return stableGuid([norm(a), norm(b)].sort().join('\u0000'));
}

/** A key for a group known only by its members (IMWatch): the sorted member set, sender included. */
export function groupSessionKey(members: string[]): string {
  return stableGuid(`group\u0000${[...new Set(members.map(norm))].sort().join('\u0000')}`);
}
