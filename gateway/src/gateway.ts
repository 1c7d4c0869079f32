import { X509Certificate } from 'node:crypto';
import { accessSync, constants, mkdirSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { Config } from './config/schema.js';
import { startAdminSocket } from './control/socket.js';
import { ClientEdge } from './edges/client/edge.js';
import { createTcpServer } from './edges/client/tcp.js';
import { installErrorHandler } from './edges/http/errors.js';
import { registerFileRoutes } from './edges/http/files.js';
import { registerConsole } from './edges/http/console.js';
import { registerAdminAuthRoutes } from './admin/http.js';
import { SETUP_CODE_FILE, SetupCode } from './admin/setup-code.js';
import { registerExcelRoutes } from './excel/routes.js';
import { registerGroupRoutes } from './admin/routes-groups.js';
import { registerAppCallbackRoutes } from './admin/routes-app-callbacks.js';
import { registerAppRuleRoutes } from './admin/routes-app-rules.js';
import { registerAppSendRoutes } from './admin/routes-apps-send.js';
import type { CallbackClock } from './apps/callback-queue.js';
import type { HostResolver } from './apps/ssrf.js';
import { LOGO_PATH, registerAppRoutes } from './admin/routes-apps.js';
import { AppsChangedPush } from './apps/client-push.js';
import { appEntries } from './apps/visible.js';
import { registerPortalRoutes } from './admin/routes-portal.js';
import { registerBroadcastRoutes } from './admin/routes-broadcast.js';
import { BroadcastService } from './apps/broadcast.js';
import { PortalService } from './apps/portal.js';
import { workbenchView } from './apps/portal-view.js';
import { WorkbenchService } from './apps/workbench.js';
import { WorkbenchChangedPush } from './apps/workbench-push.js';
import { registerMemberRoutes } from './admin/routes-members.js';
import { registerOrgRoutes } from './admin/routes-org.js';
import { registerSystemRoutes } from './admin/routes-system.js';
import { registerRtxRoutes } from './admin/routes-rtx.js';
import { registerRtxSyncRoutes } from './admin/routes-rtx-sync.js';
import { registerSyncRoutes } from './admin/routes-sync.js';
import { BackupJobs } from './backup/jobs.js';
import { registerBackupRoutes } from './backup/routes.js';
import { SyncScheduler, type SchedulerClock } from './sync/scheduler.js';
import type { SyncClock } from './sync/service.js';
import { RtxBridge } from './rtx/bridge.js';
import { LocalAdapter } from './rtx/local-adapter.js';
import { ConfigError } from './config/load.js';
import { PluginHub } from './edges/plugin/hub.js';
import { PluginServer } from './edges/plugin/server.js';
import { RtxCompatServer } from './edges/rtx-compat/server.js';
import { registerOpenApi } from './openapi/server.js';
import { OPEN_API_ENDPOINTS } from './openapi/routes.js';
import { TokenService } from './openapi/tokens.js';
import { promText, registerPublicRoutes, type ListenerStatus } from './edges/http/public.js';
import type { Logger } from './log.js';
import { MAX_FRAME_BYTES } from './protocol/client-v1.js';
import { buildServices, VERSION, type Services } from './services.js';
import { packageRoot } from './storage/sqlite.js';
import { SessionRegistry } from './sessions/registry.js';
import { ensureTls } from './tls.js';

export interface GatewayOptions {
  log: Logger;
  /** Tests: serve WSS and TCP without TLS (never in production). */
  plaintext?: boolean;
  /** Tests: skip the admin socket. */
  adminSocket?: boolean;
  /** Tests: verify licences with this key instead of the shipped vendor key. */
  vendorPublicKeyPem?: string;
  /** Tests: the directory sync's clocks (run timestamps, deletion policy; the scheduler's timers). */
  syncClock?: SyncClock;
  /** The app callback queue's clock, host resolver and per-attempt timeout (tests inject them; docs/apps-callbacks.md). */
  callbacks?: { clock?: CallbackClock; resolve?: HostResolver; timeoutMs?: number };
  schedulerClock?: SchedulerClock;
}

export interface Gateway {
  readonly config: Readonly<Config>;
  readonly services: Services;
  readonly sessions: SessionRegistry;
  readonly clientEdge: ClientEdge;
  readonly http: FastifyInstance;
  readonly https: FastifyInstance;
  /** The RTX plugin channel as services use it (docs/protocol/plugin-v1.md). */
  readonly plugin: PluginHub;
  /** The gateway's RTX service on the plugin channel (docs/protocol/rtx-bridge-v1.md). */
  readonly rtx: RtxBridge;
  /** Actual bound ports (after start), useful when the config says 0. */
  ports(): { http: number | null; https: number | null; tcp: number | null; plugin: number | null; rtxSdk: number | null };
  urls(): { http: string; https: string; wss: string; tcp: string; plugin: string | null; rtxSdk: string | null };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(readonly kind: 'port_in_use' | 'data_dir' | 'other', message: string) {
    super(message);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function portOf(server: { address(): string | net.AddressInfo | null } | null): number | null {
  const a = server?.address();
  return a && typeof a === 'object' ? a.port : null;
}

/**
 * The composition root: builds services, the session registry and every
 * listener, un-started. Tests build one, start it on ephemeral ports, and
 * stop it; `huitong serve` does the same with the configured ports.
 */
export async function buildGateway(config: Readonly<Config>, opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log;
  try {
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
  } catch {
    throw new StartupError('data_dir', `data directory ${config.dataDir} is not writable`);
  }
  if (config.plugin.enabled && !config.plugin.tls && !isLoopback(config.plugin.host)) {
    throw new ConfigError('plugin.tls: false is allowed only with plugin.host on a loopback address (127.0.0.1, ::1, localhost)');
  }
  const services = buildServices(config, log, {
    ...(opts.vendorPublicKeyPem ? { vendorPublicKeyPem: opts.vendorPublicKeyPem } : {}),
    ...(opts.syncClock ? { syncClock: opts.syncClock } : {}),
    ...(opts.callbacks ? { callbacks: opts.callbacks } : {}),
  });
  await services.apps.init();
  const syncScheduler = new SyncScheduler({ service: services.sync, log: log.child({ service: 'sync' }), ...(opts.schedulerClock ? { clock: opts.schedulerClock } : {}) });
  const backups = new BackupJobs({ db: services.db, dataDir: config.dataDir, productVersion: VERSION, log: log.child({ service: 'backup' }) });
  const setupCode = new SetupCode(path.join(config.dataDir, SETUP_CODE_FILE));
  await services.admin.useSetupCode(setupCode);
  if (await services.admin.needsSetup()) {
    // the path, never the code: logs travel further than the data directory
    log.info({ file: setupCode.file }, 'no administrator yet: open the console; from another machine the setup wizard asks for the code in this file ("huitong admin setup-code")');
  }
  const tlsMaterial = opts.plaintext ? null : await ensureTls(config.dataDir, config.https.certFile, config.https.keyFile, config.publicHost);
  const sessions = new SessionRegistry(services.bus);
  const plugin = new PluginHub({ db: services.db, log: log.child({ edge: 'plugin' }), version: VERSION, enabled: config.plugin.enabled });
  const pluginTls = config.plugin.tls ? tlsMaterial : null;
  const pluginServer = config.plugin.enabled ? new PluginServer({ hub: plugin, codes: services.rtxCode, log: log.child({ edge: 'plugin' }), tls: pluginTls }) : null;
  // registers its payload handlers now, before the hub starts
  const rtx = new RtxBridge({
    hub: plugin, db: services.db, bus: services.bus, sync: services.rtxSync, messaging: services.messaging, directory: services.directory,
    presence: sessions, log: log.child({ service: 'rtx' }),
  });
  if (config.rtxLocal.enabled && !config.plugin.enabled) throw new ConfigError('rtxLocal.enabled needs plugin.enabled: the in-process adapter connects to the plugin channel');
  const localAdapter = config.rtxLocal.enabled
    ? new LocalAdapter({
      config, log: log.child({ service: 'rtx-adapter' }), port: () => pluginServer?.port() ?? null, code: () => services.rtxCode.current().code,
      fingerprint256: pluginTls ? new X509Certificate(pluginTls.cert).fingerprint256 : null,
    })
    : null;
  const stopCodeWatch = services.rtxCode.onRegenerate(() => {
    plugin.disconnect('GW_PLUGIN_CODE_CHANGED', 'the connection code was regenerated; enter the new code in the adapter');
    void localAdapter?.restart();
  });
  const rtxSdk = config.rtxSdk.enabled
    ? new RtxCompatServer({
      messaging: services.messaging, directory: services.directory, auth: services.auth, sso: services.sso, sessions, settings: services.settings,
      log: log.child({ edge: 'rtx-sdk' }),
    })
    : null;
  const appsPush = new AppsChangedPush(services.bus, sessions);
  // the workbench and portal templates (F-4.1, F-5.1; docs/admin-api-portal.md)
  const workbench = new WorkbenchService(services.db, services.bus);
  const portal = new PortalService(services.db, services.apps, services.bus);
  const workbenchPush = new WorkbenchChangedPush(services.bus, sessions);
  // system broadcast (F-4.10, F-6.2; docs/broadcast.md)
  const broadcast = new BroadcastService({
    db: services.db, apps: services.apps, recipients: services.appRecipients, messaging: services.messaging, isOnline: (id) => sessions.sessionsOf(id).size > 0,
  });
  const clientEdge = new ClientEdge({
    broadcast,
    appList: (userId) => appEntries(services.apps.visibleTo(userId), userId, LOGO_PATH),
    workbench: (userId) => workbenchView(workbench.get(), portal.resolve(userId), userId, LOGO_PATH),
    appInbound: services.appInbound,
    auth: services.auth, sso: services.sso, directory: services.directory, messaging: services.messaging, sessions, settings: services.settings,
    appNotices: services.appNotices,
    log: log.child({ edge: 'client' }), version: VERSION, limits: config.limits,
  });

  const http = Fastify({ logger: false, bodyLimit: 1024 * 1024, trustProxy: false });
  const https = Fastify({
    logger: false,
    ...(tlsMaterial ? { https: { cert: tlsMaterial.cert, key: tlsMaterial.key, minVersion: 'TLSv1.2' as const } } : {}),
    bodyLimit: 1024 * 1024,
  });
  installErrorHandler(http, log);
  installErrorHandler(https, log);
  const tcp = createTcpServer(tlsMaterial, clientEdge.acceptTcp);
  let adminApp: FastifyInstance | null = null;
  let stopped = false;

  const ports = () => ({ http: portOf(http.server), https: portOf(https.server), tcp: portOf(tcp), plugin: pluginServer?.port() ?? null, rtxSdk: rtxSdk?.port() ?? null });
  const pluginUrl = (p: number | null) => (p ? `${pluginTls ? 'tls' : 'tcp'}://localhost:${p}` : null);
  const listeners = (): ListenerStatus[] => {
    const p = ports();
    return [
      { name: 'http', port: p.http, up: p.http !== null, url: p.http ? `http://localhost:${p.http}/` : null },
      { name: 'https+wss', port: p.https, up: p.https !== null, url: p.https ? `${tlsMaterial ? 'wss' : 'ws'}://localhost:${p.https}/ws` : null },
      { name: 'tcp', port: p.tcp, up: p.tcp !== null, url: p.tcp ? `${tlsMaterial ? 'tls' : 'tcp'}://localhost:${p.tcp}` : null },
      ...(pluginServer ? [{ name: 'plugin', port: p.plugin, up: p.plugin !== null, url: pluginUrl(p.plugin) }] : []),
      ...(rtxSdk ? [{ name: 'rtx-sdk', port: p.rtxSdk, up: p.rtxSdk !== null, url: p.rtxSdk ? `http://localhost:${p.rtxSdk}/` : null }] : []),
    ];
  };

  // the open API (/cgi, docs/open-api.md): plain HTTP on 7080, as its client libraries expect
  registerOpenApi(http, { services, apps: services.apps, tokens: new TokenService(services.db), sessions, log: log.child({ edge: 'openapi' }) }, OPEN_API_ENDPOINTS);

  // the console and its API on the HTTP listener (7080) and on HTTPS (7443), where the session cookie is Secure
  for (const app of [http, https]) {
    // before any other route: its hooks guard every /api/admin route (headers, Origin check)
    registerAdminAuthRoutes(app, { admin: services.admin });
    registerOrgRoutes(app, { services });
    registerMemberRoutes(app, { services });
    registerExcelRoutes(app, { services });
    registerGroupRoutes(app, { services });
    registerSystemRoutes(app, { services, listeners });
    registerRtxRoutes(app, { services, plugin });
    registerRtxSyncRoutes(app, { services });
    registerSyncRoutes(app, { services });
    registerBackupRoutes(app, { services, backups });
    registerAppRoutes(app, { services });
    registerAppRuleRoutes(app, { services });
    registerAppCallbackRoutes(app, { services });
    registerAppSendRoutes(app, { services });
    registerPortalRoutes(app, { services, portal, workbench });
    registerBroadcastRoutes(app, { services, broadcast });
  }

  await https.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false } });
  https.register(async (scope) => {
    scope.get('/ws', { websocket: true }, (socket, req) => clientEdge.acceptWebSocket(socket, req.socket.remoteAddress ?? null));
  });
  registerFileRoutes(https, { auth: services.auth, files: services.files, messaging: services.messaging });

  registerPublicRoutes(http, {
    version: VERSION,
    publicHost: config.publicHost,
    listeners,
    ports,
    async pingDatabase() {
      const t = performance.now();
      services.db.prepare('SELECT 1').get();
      return performance.now() - t;
    },
    async metricsText() {
      const m = services.messaging.metrics;
      const e = clientEdge.metrics;
      const t = performance.now();
      services.db.prepare('SELECT 1').get();
      const dbMs = performance.now() - t;
      return promText([
        { name: 'huitong_connections', help: 'Client connections open', type: 'gauge', value: clientEdge.connections.size },
        { name: 'huitong_online_users', help: 'Users with at least one authenticated connection', type: 'gauge', value: sessions.onlineUsers },
        { name: 'huitong_messages_stored_total', help: 'Messages stored', type: 'counter', value: m.stored },
        { name: 'huitong_deliveries_total', help: 'Inbox entries created (one per recipient)', type: 'counter', value: m.deliveries },
        { name: 'huitong_frames_pushed_total', help: 'Message frames written to connections', type: 'counter', value: sessions.deliveredFrames },
        { name: 'huitong_store_batches_total', help: 'Group-commit transactions', type: 'counter', value: m.batches },
        { name: 'huitong_store_last_batch_ms', help: 'Duration of the last group-commit transaction', type: 'gauge', value: m.lastBatchMs },
        { name: 'huitong_send_queue_depth', help: 'Messages waiting for the next group commit', type: 'gauge', value: m.queueDepth },
        { name: 'huitong_db_ping_ms', help: 'Latency of a trivial database query', type: 'gauge', value: dbMs },
        { name: 'huitong_slow_consumers_total', help: 'Connections closed because their send queue overflowed', type: 'counter', value: e.slowConsumers },
        { name: 'huitong_rate_limited_total', help: 'Frames refused by the per-connection rate limit', type: 'counter', value: e.rateLimited },
        { name: 'huitong_bad_frames_total', help: 'Malformed frames received', type: 'counter', value: e.badFrames },
        { name: 'huitong_heartbeat_timeouts_total', help: 'Connections closed for silence', type: 'counter', value: e.heartbeatTimeouts },
        { name: 'huitong_plugin_connected', help: 'RTX adapter connected on the plugin channel (1) or not (0)', type: 'gauge', value: plugin.status().state === 'CONNECTED' ? 1 : 0 },
        { name: 'huitong_plugin_backlog', help: 'Frames for the RTX adapter not yet acknowledged', type: 'gauge', value: plugin.status().outbound.backlog },
        { name: 'huitong_process_rss_bytes', help: 'Resident memory of the process', type: 'gauge', value: process.memoryUsage.rss() },
      ]);
    },
  });
  // last: the console's pages answer any GET the API routes did not take
  for (const app of [http, https]) registerConsole(app, { distDir: config.http.consoleDir || path.join(packageRoot(), 'admin', 'dist') });

  const listenTcp = () =>
    new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(config.tcp.port, config.tcp.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });

  const gw: Gateway = {
    config, services, sessions, clientEdge, http, https, plugin, rtx,
    ports,
    urls() {
      const p = ports();
      return {
        http: `http://localhost:${p.http}/`, https: `${tlsMaterial ? 'https' : 'http'}://localhost:${p.https}/`,
        wss: `${tlsMaterial ? 'wss' : 'ws'}://localhost:${p.https}/ws`, tcp: `${tlsMaterial ? 'tls' : 'tcp'}://localhost:${p.tcp}`,
        plugin: pluginUrl(p.plugin), rtxSdk: p.rtxSdk ? `http://localhost:${p.rtxSdk}/` : null,
      };
    },
    async start() {
      try {
        if (opts.adminSocket !== false) adminApp = await startAdminSocket(config.dataDir, services, log);
        sessions.start();
        appsPush.start();
        workbenchPush.start();
        services.appCallbacks.start();
        services.sessionAudit.start();
        clientEdge.start();
        await http.listen({ port: config.http.port, host: config.http.host });
        await https.listen({ port: config.https.port, host: config.https.host });
        await listenTcp();
        services.rtxCode.current(); // generated on first start, so the console can show it
        await plugin.start();
        rtx.start();
        await pluginServer?.listen(config.plugin.port, config.plugin.host);
        await rtxSdk?.listen(config.rtxSdk.port, config.rtxSdk.host);
        await localAdapter?.start();
        syncScheduler.start();
      } catch (e) {
        await gw.stop();
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new StartupError('port_in_use', (e as Error).message);
        throw e;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clientEdge.stop();
      sessions.stop();
      appsPush.stop();
      workbenchPush.stop();
      await services.sessionAudit.stop();
      await services.appCallbacks.stop();
      stopCodeWatch();
      syncScheduler.stop();
      await backups.stop().catch((e: unknown) => log.warn({ err: e }, 'stopping the backup jobs failed'));
      rtx.stop();
      await localAdapter?.stop().catch((e: unknown) => log.warn({ err: e }, 'stopping the in-process RTX adapter failed'));
      await plugin.close();
      await Promise.allSettled([
        pluginServer?.close(),
        rtxSdk?.close(),
        http.close(),
        https.close(),
        new Promise<void>((r) => (tcp.listening ? tcp.close(() => r()) : r())),
        adminApp?.close(),
      ]);
      await services.close();
    },
  };
  return gw;
}
