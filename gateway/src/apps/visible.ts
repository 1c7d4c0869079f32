import type { AppEntry, UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';
import { FILE_TRANSFER_KEY, isPeopleFacing, SYSTEM_NOTICE_KEY } from './profile.js';
import type { OpenApp } from './types.js';

/** Where each kind of app sits in a client's list: the assistants first, then the organisation's apps. */
const ORDER: Record<AppEntry['kind'], number> = { fileTransfer: 0, notice: 1, sysMsg: 2, mail: 3, custom: 4 };

/**
 * The enabled, people-facing apps `userId` sees: an app visible to everyone,
 * to the user by name, or to one of the user's departments or any department
 * above one of them (a department counts with its subdepartments).
 */
export function visibleApps(db: Db, apps: readonly OpenApp[], userId: UserId): OpenApp[] {
  const rows = db
    .prepare(
      `WITH RECURSIVE up(id) AS (SELECT dept_id FROM user_departments WHERE user_id = ?
         UNION SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.parent_id IS NOT NULL)
       SELECT id FROM up`,
    )
    .all(userId) as { id: number }[];
  const mine = new Set(rows.map((r) => r.id));
  return apps.filter((a) => {
    if (!a.enabled || !isPeopleFacing(a)) return false;
    const v = a.visibility;
    return v.all || v.users.includes(userId) || v.depts.some((d) => mine.has(d));
  });
}

export function entryKind(a: OpenApp): AppEntry['kind'] {
  if (a.key === FILE_TRANSFER_KEY && a.appId === null) return 'fileTransfer';
  if (a.key === SYSTEM_NOTICE_KEY && a.kind === 'builtin') return 'notice';
  if (a.appId === 'sysMsgAssistant' && a.kind === 'system') return 'sysMsg';
  if (a.appId === 'sysExmailAssistant' && a.kind === 'system') return 'mail';
  return 'custom';
}

/** The app list a client shows (docs/protocol/client-v1.md "apps.list"). */
export function appEntries(apps: readonly OpenApp[], userId: UserId, logoPath: string): AppEntry[] {
  return apps
    .map((a): AppEntry => {
      const kind = entryKind(a);
      return {
        key: a.key, name: a.name, kind, description: a.profile.description,
        logoUrl: a.profile.logo ? `${logoPath}/${a.profile.logo}` : null,
        homeUrl: a.profile.homeUrl, mobileUrl: a.profile.mobileUrl,
        conversation: kind === 'fileTransfer' ? { kind: 'user', id: userId } : { kind: 'app', id: a.key },
      };
    })
    .sort((x, y) => ORDER[x.kind] - ORDER[y.kind]);
}
