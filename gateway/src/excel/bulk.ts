import { nameToPinyin } from '../directory/pinyin.js';
import type { Gender } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { DeptId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';

/**
 * Bulk writes for the Excel import, straight on the SQLite tables of
 * 001-initial.sql. They follow the directory repository's rules: one bump of
 * meta.dir_version, every new row stamped with it, pinyin computed as the
 * directory does.
 */

export interface PreparedMember {
  row: number;
  account: string;
  name: string;
  /** Department paths, the first is the main department. */
  deptPaths: string[][];
  mobile: string;
  email: string;
  title: string;
  gender: Gender;
  authorised: boolean;
  passwordHash: string | null;
}

export interface BulkContext {
  hasAccount(lowercaseAccount: string): boolean;
  deptProblem(path: string[]): string | null;
}

interface DeptRow {
  id: number;
  parent_id: number | null;
  name: string;
}

const key = (parentId: number | null, name: string) => `${parentId ?? 0}\u0000${name}`;

function childIndex(db: Db): Map<string, number> {
  const rows = db.prepare('SELECT id, parent_id, name FROM departments').all() as DeptRow[];
  return new Map(rows.map((d) => [key(d.parent_id, d.name), d.id]));
}

/** Reads the directory once for validation: taken accounts and, for a scoped administrator, where new members may go. */
export function bulkContext(db: Db, scope: ReadonlySet<DeptId> | null): BulkContext {
  const accounts = new Set((db.prepare('SELECT account FROM users').pluck().all() as string[]).map((a) => a.toLowerCase()));
  const children = scope === null ? null : childIndex(db);
  return {
    hasAccount: (a) => accounts.has(a),
    deptProblem(path) {
      if (scope === null || children === null) return null;
      // the deepest level that exists decides: new levels below it are inside the same scope
      let parent: number | null = null;
      for (const name of path) {
        const id = children.get(key(parent, name));
        if (id === undefined) break;
        parent = id;
      }
      if (parent !== null && scope.has(parent as DeptId)) return null;
      return `department ${path.join('/').slice(0, 80)} is outside the departments you manage`;
    },
  };
}

/** Rows written between progress callbacks. */
const PROGRESS_EVERY = 1000;

/**
 * Creates the missing departments and every member in one transaction; on any
 * failure nothing is written. A member whose account was taken since
 * validation makes the whole write fail with GW_CONFLICT.
 */
export function writeMembers(db: Db, members: readonly PreparedMember[], onProgress?: (done: number) => void): { version: number; deptsCreated: number } {
  const pinyins = members.map((m) => nameToPinyin(m.name));
  const bump = db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'dir_version' RETURNING CAST(value AS INTEGER) AS v").pluck();
  const insDept = db.prepare('INSERT INTO departments (parent_id, name, sort_order, origin, external_id, version, created_at, updated_at) VALUES (?, ?, 0, ?, NULL, ?, ?, ?)');
  const insUser = db.prepare(`INSERT INTO users (account, name, pinyin, pinyin_initials, mobile, email, phone, title, gender, status, authorised, auth_decided,
    password_hash, sort_order, origin, external_id, version, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, 'active', ?, 1, ?, 0, 'local', NULL, ?, ?, ?)`);
  const insUserDept = db.prepare('INSERT INTO user_departments (user_id, dept_id, is_main) VALUES (?, ?, ?)');
  const run = db.transaction(() => {
    const version = bump.get() as number;
    const now = Date.now();
    const children = childIndex(db);
    let deptsCreated = 0;
    const resolve = (path: string[]): number => {
      let parent: number | null = null;
      for (const name of path) {
        let id = children.get(key(parent, name));
        if (id === undefined) {
          id = Number(insDept.run(parent, name, 'local', version, now, now).lastInsertRowid);
          children.set(key(parent, name), id);
          deptsCreated++;
        }
        parent = id;
      }
      return parent as number;
    };
    members.forEach((m, i) => {
      const py = pinyins[i]!;
      let userId: number;
      try {
        userId = Number(insUser.run(m.account, m.name, py.full, py.initials, m.mobile, m.email, m.title, m.gender, m.authorised ? 1 : 0, m.passwordHash, version, now, now).lastInsertRowid);
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
          throw new GatewayError('GW_CONFLICT', `row ${m.row}: account ${m.account} was taken while the file was being imported; nothing was imported, try again`);
        }
        throw e;
      }
      const seen = new Set<number>();
      for (const p of m.deptPaths) {
        const d = resolve(p);
        if (seen.has(d)) continue;
        insUserDept.run(userId, d, seen.size === 0 ? 1 : 0);
        seen.add(d);
      }
      if ((i + 1) % PROGRESS_EVERY === 0) onProgress?.(i + 1);
    });
    return { version, deptsCreated };
  });
  const out = run();
  onProgress?.(members.length);
  return out;
}
