import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildControlApi, type HelperFaults } from './control-api.js';
import { encodeRtxExportXml } from './export-xml.js';
import { generateOrg, type GenerateOrgOptions } from './generate.js';
import { RtxHttpSdk, type HttpSdkOptions } from './http-sdk.js';
import { ImWatchWriter } from './imwatch.js';
import { RtxSimState, type CapturedMessage, type SimOrg } from './model.js';

/**
 * Composition root of the RTX server simulator: state + 8012 HTTP SDK + control API +
 * IMWatch writer. `startRtxSimulator()` binds everything (port 0 = ephemeral) and returns
 * handles; `close()` stops it all.
 */

export interface RtxSimulatorOptions extends HttpSdkOptions {
  host?: string;
  /** HTTP SDK port (default 0: ephemeral; a real server uses 8012). */
  sdkPort?: number;
  /** Control API port (default 0). */
  controlPort?: number;
  /** The org: explicit, generated from options, or a small default (20 users / 5 depts / 3 groups). */
  org?: SimOrg | GenerateOrgOptions;
  /** Write IMWatch logs into this folder (IM_YYYY-MM-DD.txt inside it). */
  imwatchDir?: string;
  imwatchDelayMs?: number;
  /** RTX host UTC offset for IMWatch file names and Time= (default +480). */
  utcOffsetMinutes?: number;
}

export interface RtxSimulator {
  readonly state: RtxSimState;
  readonly sdk: RtxHttpSdk;
  readonly control: FastifyInstance;
  readonly host: string;
  readonly sdkPort: number;
  readonly controlPort: number;
  /** `http://host:sdkPort` */
  readonly sdkUrl: string;
  /** `http://host:controlPort` — give it to helper-main.ts (`--control`). */
  readonly controlUrl: string;
  readonly helperFaults: HelperFaults;
  imwatch: ImWatchWriter | null;
  /** The export XML bytes of the current org. */
  exportXml(): Buffer;
  /** Resolves with the IMWatch record of this im_message_id (already written or the next one). */
  waitImWatch(imMessageId: string, timeoutMs?: number): Promise<{ file: string; record: string }>;
  close(): Promise<void>;
}

export const DEFAULT_SIM_ORG: GenerateOrgOptions = { users: 20, departments: 5, groups: 3, seed: 1 };

function materialise(org: SimOrg | GenerateOrgOptions | undefined): SimOrg {
  if (!org) return generateOrg(DEFAULT_SIM_ORG);
  return 'depts' in org ? org : generateOrg(org);
}

export async function startRtxSimulator(opts: RtxSimulatorOptions = {}): Promise<RtxSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const initial = materialise(opts.org);
  const state = new RtxSimState(initial);
  const sdk = new RtxHttpSdk(state, opts);
  const helperFaults: HelperFaults = { delayMs: 0, down: false };
  const offset = opts.utcOffsetMinutes ?? 480;
  let imwatch: ImWatchWriter | null = null;
  const makeImWatch = (dir: string, delayMs: number) => new ImWatchWriter({ dir: path.resolve(dir), delayMs, utcOffsetMinutes: offset });
  if (opts.imwatchDir) imwatch = makeImWatch(opts.imwatchDir, opts.imwatchDelayMs ?? 0);
  const onCaptured = (m: CapturedMessage) => imwatch?.write(m);
  state.on('captured', onCaptured);

  const sim: RtxSimulator = {
    state,
    sdk,
    control: undefined as unknown as FastifyInstance,
    host,
    sdkPort: 0,
    controlPort: 0,
    sdkUrl: '',
    controlUrl: '',
    helperFaults,
    get imwatch() {
      return imwatch;
    },
    set imwatch(w) {
      imwatch = w;
    },
    exportXml: () => encodeRtxExportXml(state.snapshot()),
    waitImWatch(imMessageId, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const w = imwatch;
        if (!w) return reject(new Error('IMWatch is not enabled'));
        const done = w.written.get(imMessageId);
        if (done) return resolve(done);
        const timer = setTimeout(() => {
          w.off('written', onWritten);
          reject(new Error(`no IMWatch record for ${imMessageId} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onWritten = (e: { file: string; record: string; message: CapturedMessage }) => {
          if (e.message.im_message_id !== imMessageId) return;
          clearTimeout(timer);
          w.off('written', onWritten);
          resolve({ file: e.file, record: e.record });
        };
        w.on('written', onWritten);
      });
    },
    async close() {
      state.off('captured', onCaptured);
      await Promise.allSettled([sdk.close(), control.close(), imwatch?.close()]);
    },
  };

  const control = buildControlApi({
    state,
    sdk,
    helperFaults,
    imwatch: {
      configure(o) {
        const enabled = o.enabled ?? imwatch !== null;
        const dir = o.dir ?? imwatch?.dir ?? null;
        const delay = o.delay_ms ?? imwatch?.opts.delayMs ?? 0;
        const old = imwatch;
        imwatch = enabled && dir ? makeImWatch(dir, delay) : null;
        void old?.close();
        return { enabled: imwatch !== null, dir: imwatch?.dir ?? null, delay_ms: delay };
      },
    },
    reset(org) {
      state.load(org ? generateOrg(org) : materialise(opts.org));
      Object.assign(sdk.faults, { delayMs: 0, errorRate: 0, errorKind: 'text', down: false });
      Object.assign(helperFaults, { delayMs: 0, down: false });
    },
    info: () => ({
      sdk_port: sim.sdkPort,
      control_port: sim.controlPort,
      users: state.userList().length,
      departments: state.depts.size,
      groups: state.groups.size,
      capture_seq: state.captureSeq,
      filter_app: state.filterApp,
      faults: { http: sdk.faults, helper: helperFaults },
      imwatch: imwatch ? { dir: imwatch.dir, delay_ms: imwatch.opts.delayMs ?? 0 } : null,
      allow_ips: [...sdk.allowIps],
    }),
  });
  try {
    const sdkPort = await sdk.listen(opts.sdkPort ?? 0, host);
    await control.listen({ port: opts.controlPort ?? 0, host });
    const addr = control.server.address();
    const controlPort = typeof addr === 'object' && addr ? addr.port : 0;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    Object.assign(sim, { control, sdkPort, controlPort, sdkUrl: `http://${urlHost}:${sdkPort}`, controlUrl: `http://${urlHost}:${controlPort}` });
  } catch (err) {
    await Promise.allSettled([sdk.close(), control.close()]);
    throw err;
  }
  return sim;
}
