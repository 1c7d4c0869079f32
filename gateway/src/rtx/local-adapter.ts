import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';

/** What mode A needs from the adapter library (rtx-adapter/src/adapter.ts). */
interface AdapterHandle {
  stop(): Promise<void>;
}

/**
 * Deployment mode A (issue 4): the RTX adapter runs inside the gateway
 * process (`rtxLocal.enabled`), built with the adapter library's
 * `startAdapter()` and connected to the gateway's own plugin channel on
 * loopback, exactly as a remote adapter would be (connection code, TLS with
 * the gateway's certificate, its own store under dataDir/rtx-adapter). The
 * RTX side is reached through the RTX server's HTTP SDK, an export XML file
 * and an IMWatch folder (no COM helper: it runs on the Windows RTX host).
 * When the connection code is regenerated, the adapter is restarted with the new one.
 */
export class LocalAdapter {
  private handle: AdapterHandle | null = null;
  private restarting: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: {
      config: Readonly<Config>;
      log: Logger;
      /** The plugin listener's port once it listens. */
      port: () => number | null;
      /** The SHA-256 fingerprint of the gateway's certificate when the plugin channel uses TLS, else null (pinned: any name works). */
      fingerprint256: string | null;
      code: () => string;
    },
  ) {}

  async start(): Promise<void> {
    const { config, log } = this.opts;
    const port = this.opts.port();
    if (port === null) throw new Error('rtxLocal: the plugin channel is not listening');
    const { startAdapter } = await import('../../../rtx-adapter/src/adapter.js');
    const r = config.rtxLocal;
    const alog = { info: (o: object, m: string) => log.info(o, `rtx adapter: ${m}`), warn: (o: object, m: string) => log.warn(o, `rtx adapter: ${m}`) };
    this.handle = await startAdapter({
      gateway: { host: '127.0.0.1', port, tls: this.opts.fingerprint256 ? { fingerprint256: this.opts.fingerprint256 } : false, code: this.opts.code(), name: 'in-process (mode A)' },
      dataDir: path.join(config.dataDir, 'rtx-adapter'),
      rtx: {
        sdkUrl: r.sdkUrl || null,
        exportXml: r.exportXml || null,
        imwatch: r.imwatchDir ? { dir: r.imwatchDir } : null,
      },
      log: alog,
    });
    log.info({ sdkUrl: r.sdkUrl || null, exportXml: r.exportXml || null, imwatchDir: r.imwatchDir || null }, 'RTX adapter started in-process (mode A)');
  }

  /** The connection code changed: start again with the new one. */
  restart(): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      if (!this.handle) return;
      await this.stop();
      await this.start().catch((e: unknown) => this.opts.log.error({ err: e }, 'the in-process RTX adapter could not restart'));
    });
    return this.restarting;
  }

  async stop(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.stop();
  }
}
