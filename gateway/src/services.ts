import { readFileSync } from 'node:fs';
import path from 'node:path';
import { directoryDeptTree } from './admin/dept-tree.js';
import { assertNoImportRunning } from './backup/lock.js';
import { AdminService } from './admin/service.js';
import { AppService } from './apps/service.js';
import { AppMediaStore } from './apps/media.js';
import { AppNoticeStore } from './apps/notices.js';
import { AppRecipients } from './apps/send.js';
import { AutoReplyService } from './apps/auto-reply.js';
import { CallbackQueue, type CallbackClock } from './apps/callback-queue.js';
import { SessionAudit } from './apps/callbacks-audit.js';
import { thirdPartyPasswords } from './apps/callbacks-auth.js';
import { AppInbound } from './apps/inbound.js';
import { MenuService } from './apps/menus.js';
import type { HostResolver } from './apps/ssrf.js';
import { SqliteAdminRepo } from './admin/sqlite-repo.js';
import { AuthService, type SeatGate } from './auth/service.js';
import { SsoService } from './auth/sso.js';
import { InProcessBus, type Bus } from './bus/bus.js';
import type { Config } from './config/schema.js';
import { SqliteDeviceRepo } from './devices/repo.js';
import { DirectoryService } from './directory/service.js';
import { SqliteDirectoryRepo } from './directory/sqlite-repo.js';
import { FileService, SqliteFileRepo } from './files/service.js';
import type { Logger } from './log.js';
import { readVendorPublicKey } from './licence/keys.js';
import { LicenceService } from './licence/service.js';
import { SqliteLicenceRepo } from './licence/sqlite-repo.js';
import { MessagingService } from './messaging/service.js';
import { SqliteMessageRepo } from './messaging/sqlite-repo.js';
import { SecretBox } from './settings/secret-box.js';
import { SqliteSettingsStore, type SettingsStore } from './settings/settings.js';
import { ConnectionCodeService } from './settings/connection-code.js';
import { SqliteSyncStore } from './rtx/sqlite-sync.js';
import { RtxSyncService, type SeatPort } from './rtx/sync-service.js';
import { syncDirectoryPasswords } from './sync/login.js';
import { SyncService, type SyncClock } from './sync/service.js';
import { SOURCE_KINDS } from './sync/kinds.js';
import { openDatabase, packageRoot, type Db } from './storage/sqlite.js';

export const VERSION: string = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** The domain services of one process, built on one storage backend. */
export interface Services {
  db: Db;
  bus: Bus;
  settings: SettingsStore;
  directory: DirectoryService;
  auth: AuthService;
  messaging: MessagingService;
  files: FileService;
  licence: LicenceService;
  /** Console administrators, roles and scopes, sessions, the action log (F-2.2, F-3.9). */
  admin: AdminService;
  /** The RTX integration's connection code (Settings → RTX integration; the plugin channel checks it). */
  rtxCode: ConnectionCodeService;
  /** SSO signatures and session keys (sso.sign, SignAuth.cgi, GetSession.cgi). */
  sso: SsoService;
  /** The RTX org sync: snapshots from the adapter and export XML imports (issue 4, F-3.7). */
  rtxSync: RtxSyncService;
  /** Directory sync from LDAP/AD, spreadsheets… (issue 5, docs/sync.md); the gateway's scheduler starts its scheduled runs. */
  sync: SyncService;
  /** Apps: built-in, the open API's system assistants, custom apps (issue 6, docs/open-api.md). Call init() once before use. */
  apps: AppService;
  /** Apps' media and avatars, badge counts and pop-ups, the people a send names (docs/open-api.md "Media", "Notices", "msg/send"). */
  appMedia: AppMediaStore;
  appNotices: AppNoticeStore;
  appRecipients: AppRecipients;
  /** People talking to apps (docs/apps-callbacks.md): auto-reply rules, menus, the callback queue (started by the gateway), the user→app path. */
  appRules: AutoReplyService;
  appMenus: MenuService;
  appCallbacks: CallbackQueue;
  /** The session audit to sysMsgMonitor (docs/apps-callbacks.md "Session audit"); started by the gateway. */
  sessionAudit: SessionAudit;
  appInbound: AppInbound;
  /** Stores everything queued and closes the database. */
  close(): Promise<void>;
}

export function databaseFile(config: Readonly<Config>): string {
  return config.storage.sqliteFile || path.join(config.dataDir, 'huitong.db');
}

/**
 * Builds the services on the embedded SQLite backend. The CLI uses this too
 * when no server is running, so every path goes through the same services.
 */
export function buildServices(config: Readonly<Config>, log: Logger, opts: { seats?: SeatGate; bus?: Bus; vendorPublicKeyPem?: string; syncClock?: SyncClock; callbacks?: { clock?: CallbackClock; resolve?: HostResolver; timeoutMs?: number } } = {}): Services {
  // a backup import may be replacing the database file (docs/backup.md#import)
  assertNoImportRunning(config.dataDir);
  const db = openDatabase(databaseFile(config), { synchronous: config.storage.synchronous });
  const bus = opts.bus ?? new InProcessBus();
  const settings = new SqliteSettingsStore(db);
  const directory = new DirectoryService(new SqliteDirectoryRepo(db), settings, bus);
  const devices = new SqliteDeviceRepo(db);
  const licence = new LicenceService(new SqliteLicenceRepo(db), {
    publicKeyPem: opts.vendorPublicKeyPem ?? readVendorPublicKey(),
    countAuthorised: () => directory.countUsers({ authorised: true }),
  });
  const admin = new AdminService(new SqliteAdminRepo(db), directoryDeptTree(directory), config.auth);
  const files = new FileService(config.dataDir, new SqliteFileRepo(db), settings);
  const messaging = new MessagingService(new SqliteMessageRepo(db), directory, bus, files, config.storage.groupCommitMaxBatch);
  const seats: SeatPort = {
    async free() {
      const s = await licence.status();
      return s.state === 'expired' ? 0 : Math.max(0, s.seats - s.used);
    },
    withSeats: (extra, fn) => licence.withSeats(extra, fn),
  };
  const rtxSync = new RtxSyncService({
    store: new SqliteSyncStore(db), settings, bus, log: log.child({ service: 'rtx-sync' }),
    seats,
    actionLog: (action, target, before, after) => admin.logAction({ id: null, username: 'rtx-sync' }, action, target, before, after, null),
  });
  const sync = new SyncService({
    db, kinds: SOURCE_KINDS, dataDir: config.dataDir, bus, seats, settings, log: log.child({ service: 'sync' }),
    actionLog: (actor, action, target, before, after) => admin.logAction({ id: null, username: actor }, action, target, before, after, null),
    ...(opts.syncClock ? { clock: opts.syncClock } : {}),
    // the `rtx` source kind triggers the RTX sync (gateway/src/sync/rtx-source.ts)
    host: { rtxSync },
  });
  let box: SecretBox | null = null;
  const secrets = () => (box ??= SecretBox.open(config.dataDir));
  const apps = new AppService(db, settings, secrets, bus);
  const appRules = new AutoReplyService(db);
  const appMenus = new MenuService(db);
  const appCallbacks = new CallbackQueue({
    db, apps, log: log.child({ service: 'app-callbacks' }), ...opts.callbacks,
    secrets: { seal: (plain) => secrets().seal(plain), open: (sealed) => secrets().open(sealed) },
  });
  // directory-owned users (origin ldap:<id>) log in with their directory password (docs/sync-ldap.md "Login"),
  // third-party users (open API authType 2) with their app's auth callback (docs/apps-callbacks.md)
  const auth = new AuthService(
    directory, devices, settings, bus, config.auth, opts.seats ?? licence, syncDirectoryPasswords(sync, db, log.child({ service: 'auth' })),
    thirdPartyPasswords({ db, apps, callbacks: appCallbacks, settings }),
  );
  const appInbound = new AppInbound({ apps, messaging, rules: appRules, menus: appMenus, callbacks: appCallbacks, log: log.child({ service: 'app-inbound' }) });
  const appMedia = new AppMediaStore(db, files);
  const sessionAudit = new SessionAudit({ bus, db, apps, callbacks: appCallbacks, directory, media: appMedia, log: log.child({ service: 'session-audit' }) });
  log.debug({ file: databaseFile(config) }, 'database open');
  return {
    db, bus, settings, directory, auth, messaging, files, licence, admin,
    rtxCode: new ConnectionCodeService(db),
    sso: new SsoService(db, directory),
    rtxSync,
    sync,
    apps,
    appMedia, appNotices: new AppNoticeStore(db, bus), appRecipients: new AppRecipients(db),
    appRules, appMenus, appCallbacks, appInbound, sessionAudit,
    async close() {
      await sessionAudit.stop();
      await appCallbacks.stop();
      await sync.close();
      await rtxSync.idle();
      await messaging.close();
      await devices.flush();
      db.close();
    },
  };
}
