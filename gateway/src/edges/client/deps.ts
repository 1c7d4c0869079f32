import type { AuthService } from '../../auth/service.js';
import type { SsoService } from '../../auth/sso.js';
import type { DirectoryService } from '../../directory/service.js';
import type { Logger } from '../../log.js';
import type { AppInbound } from '../../apps/inbound.js';
import type { AppEntry, AppNoticeView, BroadcastRightView, UserId, WorkbenchView } from '../../protocol/client-v1.js';
import type { UserRecord } from '../../directory/types.js';
import type { MessagingService } from '../../messaging/service.js';
import type { SessionRegistry } from '../../sessions/registry.js';
import type { SettingsStore } from '../../settings/settings.js';
import type { ClientConnection } from './connection.js';

export interface EdgeMetrics {
  slowConsumers: number;
  rateLimited: number;
  badFrames: number;
  heartbeatTimeouts: number;
  refusedConnections: number;
}

/** What the client edge needs: the services it calls and its limits. */
export interface ClientEdgeDeps {
  auth: AuthService;
  sso: SsoService;
  directory: DirectoryService;
  messaging: MessagingService;
  sessions: SessionRegistry;
  settings: SettingsStore;
  /** App badge counts a device is told right after login (docs/protocol/client-v1.md "app.notice"). */
  appNotices?: { pending(userId: UserId): AppNoticeView[] };
  /** The app list of `apps.list` (docs/protocol/client-v1.md). */
  appList?: (userId: UserId) => AppEntry[];
  /** The user's workbench of `workbench.get` (docs/protocol/client-v1.md). */
  workbench?: (userId: UserId) => WorkbenchView;
  /** Members' broadcasts: `broadcast.send` and `broadcast.rights` (docs/broadcast.md). */
  broadcast?: {
    rightView(userId: UserId): BroadcastRightView;
    sendAsMember(user: UserRecord, p: Record<string, unknown>): Promise<{ id: number; messageId: number; reached: number }>;
  };
  /** People talking to apps: messages to an app, app.enter, menus (docs/apps-callbacks.md). */
  appInbound?: AppInbound;
  log: Logger;
  version: string;
  limits: { sendQueueBytes: number; framesPerSecond: number; maxConnections: number };
  metrics: EdgeMetrics;
  onClosed(c: ClientConnection): void;
}
