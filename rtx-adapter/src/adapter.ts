import { PluginChannel, type ChannelOptions, type ChannelStatus, type ChannelTlsOptions } from './channel.js';
import { Bridge, type BridgeOptions, type BridgeStatus } from './bridge.js';
import { BridgeStore } from './bridge-store.js';
import { ComHelper, type ComHelperOptions, type HelperStatus } from './com-helper.js';
import { ComCapture, ComDirectory, ComPresence, ComSender } from './com-ports.js';
import { ImWatchTailer } from './imwatch-tailer.js';
import { AdapterStore } from './outbox.js';
import { RtxPortError, type CapturePort, type DirectoryPort, type PresencePort, type SenderPort } from './ports.js';
import { SdkClient } from './sdk-client.js';
import { XmlDirectory } from './xml-directory.js';

/**
 * The RTX adapter as a library: `startAdapter(opts)` wires the plugin channel, the adapter
 * store, the RTX ports and the bridge, starts them and returns a handle. The CLI (main.ts)
 * uses it; the gateway runs it in-process for deployment mode A; tests and the demo use it.
 */

export const ADAPTER_SOFTWARE = 'huitong-rtx-adapter 0.1.0';

export interface AdapterLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AdapterOptions {
  gateway: {
    host: string;
    port: number;
    /** TLS trust options, or false for plaintext (loopback test gateways only). */
    tls: ChannelTlsOptions | false;
    /** The connection code (console: Settings → RTX integration). Never logged. */
    code: string;
    /** Shown in the console (default: none). */
    name?: string;
    reconnect?: ChannelOptions['reconnect'];
  };
  /** Holds adapter.db (outbox, high-water, de-duplication, delivery queue, offsets). */
  dataDir: string;
  rtx: {
    /** `http://rtx-host:8012`, or null/absent without the HTTP SDK. */
    sdkUrl?: string | null;
    sdkTimeoutMs?: number;
    /** SendIM `pwd` (unchecked by stock servers). */
    imPassword?: string;
    /** The COM helper to run, or null/absent without one. */
    helper?: Omit<ComHelperOptions, 'log'> | null;
    /** The RTX Manager export XML, or null/absent. */
    exportXml?: string | null;
    /** The IMWatch log folder, or null/absent. */
    imwatch?: { dir: string; utcOffsetMinutes?: number; pollMs?: number; startAt?: 'end' | 'beginning' } | null;
  };
  /** Where the org is read (default: com with a helper, else xml with an export file, else none). */
  directory?: 'com' | 'xml' | 'none';
  /** Where RTX users' messages are captured (default: com with a helper, plus imwatch with a folder). */
  capture?: Array<'com' | 'imwatch'>;
  /** How messages go into RTX (default: sdk with an SDK URL, else com with a helper). */
  send?: 'sdk' | 'com' | 'none';
  /** Where presence is read (default: com with a helper, else sdk with an SDK URL). */
  presence?: 'sdk' | 'com' | 'off';
  bridge?: Partial<BridgeOptions>;
  log?: AdapterLog;
}

export class AdapterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterConfigError';
  }
}

export interface AdapterRunStatus {
  adapterId: string;
  channel: ChannelStatus;
  bridge: BridgeStatus;
  helper: HelperStatus | null;
  ports: { directory: string; capture: string[]; send: string; presence: string };
}

export interface AdapterHandle {
  readonly adapterId: string;
  readonly channel: PluginChannel;
  readonly bridge: Bridge;
  readonly store: AdapterStore;
  readonly helper: ComHelper | null;
  status(): AdapterRunStatus;
  /** Reads the org and sends a snapshot even if unchanged. */
  syncNow(reason?: string): void;
  /** Stops everything (capture, deliveries, helper, channel) and closes the store. */
  stop(): Promise<void>;
}

const quiet: AdapterLog = { info: () => {}, warn: () => {} };

/** Resolves the port choices and checks that each names something configured. Throws AdapterConfigError. */
export function resolvePorts(o: AdapterOptions): { directory: 'com' | 'xml' | 'none'; capture: Array<'com' | 'imwatch'>; send: 'sdk' | 'com' | 'none'; presence: 'sdk' | 'com' | 'off' } {
  const hasHelper = !!o.rtx.helper && o.rtx.helper.command.length > 0;
  const hasSdk = !!o.rtx.sdkUrl;
  const hasXml = !!o.rtx.exportXml;
  const hasImwatch = !!o.rtx.imwatch?.dir;
  const directory = o.directory ?? (hasHelper ? 'com' : hasXml ? 'xml' : 'none');
  const capture = o.capture ?? [...(hasHelper ? (['com'] as const) : []), ...(hasImwatch ? (['imwatch'] as const) : [])];
  const send = o.send ?? (hasSdk ? 'sdk' : hasHelper ? 'com' : 'none');
  const presence = o.presence ?? (hasHelper ? 'com' : hasSdk ? 'sdk' : 'off');
  const need = (ok: boolean, key: string, what: string) => {
    if (!ok) throw new AdapterConfigError(`${key}: ${what}`);
  };
  need(directory !== 'com' || hasHelper, 'directory', '"com" needs the COM helper command (rtx.helperCommand)');
  need(directory !== 'xml' || hasXml, 'directory', '"xml" needs the export XML path (rtx.exportXml)');
  need(!capture.includes('com') || hasHelper, 'capture', '"com" needs the COM helper command (rtx.helperCommand)');
  need(!capture.includes('imwatch') || hasImwatch, 'capture', '"imwatch" needs the IMWatch folder (rtx.imwatchDir)');
  need(send !== 'sdk' || hasSdk, 'send', '"sdk" needs the RTX SDK URL (rtx.sdkUrl)');
  need(send !== 'com' || hasHelper, 'send', '"com" needs the COM helper command (rtx.helperCommand)');
  need(presence !== 'sdk' || hasSdk, 'presence', '"sdk" needs the RTX SDK URL (rtx.sdkUrl)');
  need(presence !== 'com' || hasHelper, 'presence', '"com" needs the COM helper command (rtx.helperCommand)');
  need(!!o.gateway.code, 'code', 'the connection code is missing');
  return { directory, capture: [...new Set(capture)], send, presence };
}

/** Builds and starts the adapter. Throws AdapterConfigError for an unusable configuration. */
export async function startAdapter(o: AdapterOptions): Promise<AdapterHandle> {
  const log = o.log ?? quiet;
  const choice = resolvePorts(o);
  const sdk = o.rtx.sdkUrl ? new SdkClient({ url: o.rtx.sdkUrl, ...(o.rtx.sdkTimeoutMs ? { timeoutMs: o.rtx.sdkTimeoutMs } : {}), ...(o.rtx.imPassword ? { imPassword: o.rtx.imPassword } : {}) }) : null;
  const helper = o.rtx.helper && o.rtx.helper.command.length > 0 ? new ComHelper({ ...o.rtx.helper, log }) : null;
  const xml = o.rtx.exportXml ? new XmlDirectory(o.rtx.exportXml) : null;

  const store = AdapterStore.open(o.dataDir);
  const bstore = new BridgeStore(store.db);
  const channel = new PluginChannel({
    host: o.gateway.host,
    port: o.gateway.port,
    tls: o.gateway.tls,
    code: o.gateway.code,
    store,
    software: ADAPTER_SOFTWARE,
    log,
    ...(o.gateway.name ? { name: o.gateway.name } : {}),
    ...(o.gateway.reconnect ? { reconnect: o.gateway.reconnect } : {}),
  });

  const directory: DirectoryPort | null = choice.directory === 'com' ? new ComDirectory(helper as ComHelper) : choice.directory === 'xml' ? (xml as XmlDirectory) : null;
  const sender: SenderPort | null = choice.send === 'sdk' ? (sdk as SdkClient) : choice.send === 'com' ? new ComSender(helper as ComHelper, o.rtx.imPassword ?? '') : null;
  const presence: PresencePort | null = choice.presence === 'sdk' ? (sdk as SdkClient) : choice.presence === 'com' ? new ComPresence(helper as ComHelper) : null;
  let bridgeRef: Bridge | null = null;
  let tailer: ImWatchTailer | null = null;
  const captures: CapturePort[] = choice.capture.map((c) => {
    if (c === 'com') {
      // with IMWatch alongside, it reads what was sent while COM capture was off before COM forwards anything newer
      const catchUp = choice.capture.includes('imwatch') ? () => tailer?.pollNow() ?? Promise.resolve() : undefined;
      return new ComCapture(helper as ComHelper, (e) => log.warn({ err: e instanceof Error ? e.message : 'unusable message event' }, 'COM capture: message skipped'), catchUp);
    }
    const iw = o.rtx.imwatch as NonNullable<AdapterOptions['rtx']['imwatch']>;
    tailer = new ImWatchTailer({
      dir: iw.dir,
      ...(iw.utcOffsetMinutes !== undefined ? { utcOffsetMinutes: iw.utcOffsetMinutes } : {}),
      ...(iw.pollMs !== undefined ? { pollMs: iw.pollMs } : {}),
      ...(iw.startAt ? { startAt: iw.startAt } : {}),
      offsets: {
        load: () => {
          const v = bstore.getMeta('imwatch_offsets');
          return v ? (JSON.parse(v) as Record<string, number>) : null;
        },
        save: (offsets) => bstore.setMeta('imwatch_offsets', JSON.stringify(offsets)),
      },
      resolveGroup: (sender, members) => bridgeRef?.resolveGroup(sender, members) ?? null,
      log,
    });
    return tailer;
  });

  const bridge = new Bridge({
    channel,
    store: bstore,
    directory,
    captures,
    sender,
    presence,
    portStates: (reach) => ({
      sdk: sdk ? (reach.get('sdk') ?? 'down') : 'off',
      com: helper ? (helper.status().state === 'READY' ? 'up' : 'down') : 'off',
      xml: xml ? (reach.get('xml') ?? 'down') : 'off',
      imwatch: tailer ? tailer.state() : 'off',
    }),
    ...(sdk
      ? {
          probe: async () => {
            try {
              await sdk.getStatus('huitong-probe');
            } catch (e) {
              // any answer from the server (even "no such user") means it is reachable
              if (e instanceof RtxPortError && e.transient) throw e;
            }
          },
        }
      : {}),
    log,
    ...(o.bridge ? { opts: o.bridge } : {}),
  });
  bridgeRef = bridge;
  channel.onState((state) => {
    if (state === 'CONNECTED') bridge.onConnected();
  });
  helper?.start();
  xml?.watch(() => bridge.requestSync('the export XML changed', false));
  try {
    await bridge.start();
    await channel.start();
  } catch (e) {
    await Promise.allSettled([bridge.stop(), channel.stop(), helper?.stop()]);
    xml?.unwatch();
    store.close();
    throw e;
  }
  let stopped: Promise<void> | null = null;
  return {
    adapterId: store.adapterId,
    channel,
    bridge,
    store,
    helper,
    status: () => ({
      adapterId: store.adapterId,
      channel: channel.status(),
      bridge: bridge.status(),
      helper: helper?.status() ?? null,
      ports: { directory: choice.directory, capture: choice.capture, send: choice.send, presence: choice.presence },
    }),
    syncNow: (reason = 'requested locally') => bridge.requestSync(reason, true),
    stop: () =>
      (stopped ??= (async () => {
        xml?.unwatch();
        await bridge.stop();
        await channel.stop();
        await helper?.stop();
        store.close();
      })()),
  };
}
