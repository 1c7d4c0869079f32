import { randomBytes } from 'node:crypto';
import type { RowError } from './import.js';

/** How long the error report of a refused import can be downloaded. */
export const REPORT_TTL_MS = 10 * 60 * 1000;
/** Reports kept at once; the oldest goes first. */
export const MAX_REPORTS = 50;

interface Entry {
  ownerId: number;
  errors: readonly RowError[];
  expiresAt: number;
}

/**
 * Error reports of refused imports, in memory, each readable only by the
 * administrator who imported, for REPORT_TTL_MS. Expired entries are dropped
 * on every call, so no timer is needed. Never throws.
 */
export class ImportReports {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  private prune(): void {
    const t = this.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= t) this.entries.delete(id);
    while (this.entries.size >= MAX_REPORTS) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  put(ownerId: number, errors: readonly RowError[]): { id: string; expiresAt: number } {
    this.prune();
    const id = randomBytes(12).toString('base64url');
    const expiresAt = this.now() + REPORT_TTL_MS;
    this.entries.set(id, { ownerId, errors, expiresAt });
    return { id, expiresAt };
  }

  /** The errors, or null when unknown, expired or another administrator's. */
  get(ownerId: number, id: string): readonly RowError[] | null {
    const e = this.entries.get(id);
    if (!e || e.expiresAt <= this.now() || e.ownerId !== ownerId) return null;
    return e.errors;
  }
}
