import type { RtxSyncService } from '../rtx/sync-service.js';
import type { RunView as RtxRunView } from '../rtx/types.js';
import { registerSourceKind, type SourceFactoryDeps } from '../../../sync/src/engine/registry.js';
import { SourceDataError, type ConnectionCheck, type Delta, type DirectorySource, type ReadOptions } from '../../../sync/src/source.js';

/**
 * The `rtx` source kind (docs/sync.md "RTX adapter"): a schedule for the RTX
 * org sync. A run asks the connected rtx-adapter for a snapshot
 * (gw.sync.request), waits for the RTX sync run it produces
 * (gateway/src/rtx/sync-service.ts plans and applies it, as for any snapshot
 * of the adapter) and records that run's outcome and counts in its warnings.
 * The engine itself plans nothing for it: read() answers an empty delta, so
 * the engine's run is only the record. It lives in the gateway because it
 * drives the gateway's RTX sync service (lent as SourceFactoryDeps.host.rtxSync).
 */

export interface RtxSourceConfig {
  /** How long a run waits for the adapter's snapshot to be applied. */
  timeoutSeconds: number;
}

export const RTX_DEFAULT_TIMEOUT_SECONDS = 900;
const MAX_TIMEOUT_SECONDS = 86_400;
/** How often a run looks whether the RTX sync run finished. */
export const RTX_POLL_MS = 200;
const FINAL = new Set(['applied', 'failed', 'discarded']);

export function normalizeRtxConfig(c: Record<string, unknown>): RtxSourceConfig {
  for (const k of Object.keys(c)) if (k !== 'timeoutSeconds') throw new Error(`unknown key ${k.slice(0, 40)}; an rtx source has only timeoutSeconds`);
  const t = c.timeoutSeconds === undefined ? RTX_DEFAULT_TIMEOUT_SECONDS : c.timeoutSeconds;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 10 || t > MAX_TIMEOUT_SECONDS) throw new Error(`timeoutSeconds must be an integer from 10 to ${MAX_TIMEOUT_SECONDS}`);
  return { timeoutSeconds: t };
}

type RtxPort = Pick<RtxSyncService, 'requestSync' | 'runs' | 'run' | 'adapterConnected'>;

function rtxOf(deps: SourceFactoryDeps): RtxPort | null {
  const x = deps.host?.rtxSync as Partial<RtxPort> | undefined;
  return x && typeof x.requestSync === 'function' && typeof x.runs === 'function' ? (x as RtxPort) : null;
}

const NO_RTX = 'this gateway has no RTX sync service';
/** The origin of entries the RTX org sync owns (gateway/src/rtx). */
const RTX_ORIGIN = 'rtx';

/** "departments +1 ~0 -0, users +5 ~2 -0 (1 adopted), groups +0 ~0 -0". */
export function rtxCountsText(r: RtxRunView): string {
  const c = r.counts;
  if (!c) return 'no counts';
  const k = (x: { created: number; updated: number; removed: number }) => `+${x.created} ~${x.updated} -${x.removed}`;
  return `departments ${k(c.depts)}, users ${k(c.users)}${c.users.adopted ? ` (${c.users.adopted} adopted)` : ''}, groups ${k(c.groups)}${c.unauthorised ? `, ${c.unauthorised} new users unauthorised` : ''}`;
}

export class RtxSource implements DirectorySource {
  readonly origin: string;
  private readonly cfg: RtxSourceConfig;

  constructor(config: Record<string, unknown>, private readonly deps: SourceFactoryDeps) {
    this.origin = deps.origin;
    this.cfg = normalizeRtxConfig(config);
  }

  async read(opts: ReadOptions): Promise<Delta> {
    const rtx = rtxOf(this.deps);
    if (!rtx) throw new SourceDataError(NO_RTX, []);
    if (opts.dryRun) {
      throw new SourceDataError('an rtx source cannot be dry-run: the RTX sync it starts plans and applies on its own; to preview, import an RTX export XML as a dry run (RTX page of the console)', []);
    }
    // the snapshot this request produces is the first adapter run after the newest run now
    const baseline = rtx.runs(1)[0]?.id ?? 0;
    opts.onProgress?.({ phase: 'asking the RTX adapter for a snapshot', done: 0 });
    // throws GW_RTX_NOT_CONNECTED (its message is the run's error) when no adapter is connected
    await rtx.requestSync(`scheduled sync (source ${this.deps.sourceId})`);
    opts.onProgress?.({ phase: 'waiting for the RTX snapshot', done: 0 });
    const deadline = Date.now() + this.cfg.timeoutSeconds * 1000;
    for (;;) {
      if (opts.signal?.aborted) throw new Error('aborted');
      const mine = rtx.runs(20).filter((r) => r.id > baseline && r.source.startsWith('adapter:')).sort((a, b) => a.id - b.id)[0];
      if (mine && FINAL.has(mine.state)) return this.outcome(mine, opts);
      if (Date.now() >= deadline) {
        throw new SourceDataError(
          mine
            ? `RTX sync run ${mine.id} did not finish within ${this.cfg.timeoutSeconds} s (it is ${mine.state}); see the RTX page`
            : `the RTX adapter sent no snapshot within ${this.cfg.timeoutSeconds} s of the request; check the adapter (rtx-adapter status) and its link`,
          [],
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, RTX_POLL_MS);
        opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  }

  private outcome(r: RtxRunView, opts: ReadOptions): Delta {
    if (r.state !== 'applied') throw new SourceDataError(`RTX sync run ${r.id} ${r.state}: ${r.error ?? 'no reason given'}`.slice(0, 500), []);
    opts.onProgress?.({ phase: 'RTX snapshot applied', done: 1, total: 1 });
    const notes = [`RTX sync run ${r.id} (${r.source}) applied: ${rtxCountsText(r)}`, ...r.warnings.slice(0, 10).map((w) => `RTX: ${w}`)];
    return { kind: 'delta', sinceCursor: opts.sinceCursor ?? '', depts: [], users: [], cursor: `rtx-run:${r.id}`, notes };
  }

  /**
   * Step `adapter`: the adapter's link (connected, not connected, or no
   * server running). Step `directory`, shown either way: what Huitong holds
   * from RTX (users, disabled, departments) and the last RTX sync run.
   */
  async testConnection(): Promise<ConnectionCheck> {
    const t0 = Date.now();
    const rtx = rtxOf(this.deps);
    const connected = rtx ? rtx.adapterConnected() : null;
    const [message, messageZh, code] = !rtx
      ? [NO_RTX, '这个汇通服务没有 RTX 同步服务', 'RTX_NONE']
      : connected === null
        ? ['the Huitong server is not running, so no RTX adapter is connected', '汇通服务没有运行，因此没有 RTX 适配器连接', 'ADAPTER_NO_SERVER']
        : connected
          ? ['the RTX adapter is connected', 'RTX 适配器已连接', 'ADAPTER_CONNECTED']
          : ['no RTX adapter is connected: start the adapter (or check its connection code)', '没有 RTX 适配器连接：请启动适配器（或检查连接码）', 'ADAPTER_NOT_CONNECTED'];
    const steps: ConnectionCheck['steps'] = [{ step: 'adapter', ok: connected === true, message, messageZh, code, ms: Date.now() - t0 }];
    if (rtx) steps.push({ step: 'directory', ok: true, ...this.directoryText(rtx), ms: Date.now() - t0 });
    return { ok: connected === true, steps };
  }

  private directoryText(rtx: RtxPort): { message: string; messageZh: string; code: string } {
    const c = this.deps.directoryCounts?.(RTX_ORIGIN);
    const held = c ? `Huitong holds ${c.users} RTX users (${c.disabledUsers} disabled) in ${c.depts} departments` : 'Huitong cannot count its RTX entries here';
    const heldZh = c ? `汇通中有来自 RTX 的成员 ${c.users} 名（其中停用 ${c.disabledUsers} 名），部门 ${c.depts} 个` : '无法统计来自 RTX 的条目';
    const last = rtx.runs(1)[0];
    if (!last) return { message: `${held}; no RTX sync has run yet`, messageZh: `${heldZh}；还没有进行过 RTX 同步`, code: 'DIRECTORY_NEVER_SYNCED' };
    const when = new Date(last.finishedAt ?? last.startedAt).toISOString().replace('T', ' ').slice(0, 19);
    const state = last.state === 'applied' ? `applied: ${rtxCountsText(last)}` : `${last.state}${last.error ? `: ${last.error.slice(0, 200)}` : ''}`;
    const stateZh = { applied: '已完成', failed: '失败', discarded: '已放弃', planned: '已生成计划', staging: '接收中' }[last.state] ?? last.state;
    return {
      message: `${held}; the last RTX sync run ${last.id} (${last.source}, ${when} UTC) ${state}`,
      messageZh: `${heldZh}；最近一次 RTX 同步 #${last.id}（${last.source}，${when} UTC）${stateZh}${last.state === 'applied' ? `：${rtxCountsText(last)}` : last.error ? `：${last.error.slice(0, 200)}` : ''}`,
      code: last.state === 'applied' ? 'DIRECTORY_SYNCED' : 'DIRECTORY_LAST_RUN_NOT_APPLIED',
    };
  }
}

registerSourceKind('rtx', (config, deps) => new RtxSource(config, deps), {
  label: { zh: 'RTX 适配器', en: 'RTX adapter' },
  validateConfig: (config) => normalizeRtxConfig(config) as unknown as Record<string, unknown>,
});
