import type { AdminId, RoleId } from './types.js';

/** Keys whose values never reach the action log: passwords, hashes, tokens, keys. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|hash|credential|private.?key|api.?key|cookie|authori[sz]ation/i;
export const REDACTED = '[redacted]';
/** Larger before/after documents are cut, so one entry cannot bloat the log. */
export const MAX_LOG_JSON_BYTES = 64 * 1024;
const MAX_DEPTH = 8;

/**
 * A copy of `value` fit for the action log: the value of every key that names
 * a secret becomes "[redacted]" (so the log still shows that it changed),
 * at any depth; functions and deeper nesting are dropped.
 */
export function stripSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    if (typeof value === 'bigint') return value.toString();
    return value;
  }
  if (depth >= MAX_DEPTH) return '[…]';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Set) return [...value].map((x) => stripSecrets(x, depth + 1));
  if (Array.isArray(value)) return value.map((x) => stripSecrets(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] = SECRET_KEY.test(k) ? REDACTED : stripSecrets(v, depth + 1);
  }
  return out;
}

/** JSON for a before/after column: secrets stripped, size bounded, null for nothing. */
export function logJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const json = JSON.stringify(stripSecrets(value));
  if (json === undefined) return null;
  if (Buffer.byteLength(json) <= MAX_LOG_JSON_BYTES) return json;
  return JSON.stringify({ truncated: true, bytes: Buffer.byteLength(json), head: json.slice(0, 4096) });
}

/** What an action-log entry is about. */
export interface LogTarget {
  kind: string;
  id: string | number | null;
  label: string | null;
}

export function adminTarget(a: { id: AdminId; username: string }): LogTarget {
  return { kind: 'admin', id: a.id, label: a.username };
}

export function roleTarget(r: { id: RoleId; name: string }): LogTarget {
  return { kind: 'role', id: r.id, label: r.name };
}
