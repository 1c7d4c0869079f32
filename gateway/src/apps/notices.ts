import type { Bus } from '../bus/bus.js';
import { ServerFrame, type AppEventView, type AppNoticeView, type AppPopWindowSpec, type PopWindowView, type UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';

interface BadgeRow { app_row: number; count: number; tip: string; updated_at: number; key: string | null; name: string | null }

/**
 * App badge counts (待办数), pop-up windows and app events for people's
 * clients (docs/protocol/client-v1.md "App pushes"). Badge counts are kept per
 * user and app (a count of 0 clears it) and told to a device again after each
 * login; pop-up windows and events reach online devices only.
 */
export class AppNoticeStore {
  private readonly s;

  constructor(
    db: Db,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
  ) {
    this.s = {
      upsert: db.prepare(`INSERT INTO app_badges (user_id, app_row, count, tip, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (user_id, app_row) DO UPDATE SET count = excluded.count, tip = excluded.tip, updated_at = excluded.updated_at`),
      clear: db.prepare('DELETE FROM app_badges WHERE user_id = ? AND app_row = ?'),
      pending: db.prepare(`SELECT b.app_row, b.count, b.tip, b.updated_at, a.key, a.name FROM app_badges b LEFT JOIN apps a ON a.id = b.app_row
        WHERE b.user_id = ? ORDER BY b.updated_at`),
    };
  }

  /** Sets the user's badge count of the app (0 clears it), durably, then tells the user's online devices. */
  setBadge(app: { rowId: number; key: string; name: string }, userId: UserId, count: number, tip: string, popWindow?: AppPopWindowSpec): AppNoticeView {
    const ts = this.now();
    if (count > 0) this.s.upsert.run(userId, app.rowId, count, tip, ts);
    else this.s.clear.run(userId, app.rowId);
    const view: AppNoticeView = { app: { id: app.key, name: app.name }, count, tip, ts, ...(popWindow ? { popWindow } : {}) };
    this.bus.publish({ type: 'app.push', userId, push: { t: ServerFrame.AppNotice, p: view } });
    return view;
  }

  /** The user's non-zero badge counts, oldest first (sent to a device after login). */
  pending(userId: UserId): AppNoticeView[] {
    return (this.s.pending.all(userId) as BadgeRow[])
      .filter((r) => r.key !== null)
      .map((r) => ({ app: { id: r.key as string, name: r.name ?? '' }, count: r.count, tip: r.tip, ts: r.updated_at }));
  }

  /** Shows a pop-up window on the online devices of each user. */
  popWindow(userIds: readonly UserId[], view: PopWindowView): void {
    for (const userId of userIds) this.bus.publish({ type: 'app.push', userId, push: { t: ServerFrame.PopWindow, p: view } });
  }

  /** Tells the online devices of each user of an app's event. */
  event(userIds: readonly UserId[], view: AppEventView): void {
    for (const userId of userIds) this.bus.publish({ type: 'app.push', userId, push: { t: ServerFrame.AppEvent, p: view } });
  }
}
