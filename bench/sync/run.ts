/**
 * npm run bench:sync — LDAP directory sync end to end through the engine: a
 * private OpenLDAP slapd (sync/sim/slapd.ts, its own process) seeded with
 * 50,000 users in nested OUs; an in-process gateway (buildGateway, ephemeral
 * loopback ports) with an `ldap` source created through the sync service;
 * each figure is a real run (read + plan + stored plan + apply into the
 * directory) from start until the run is applied. Targets: full ≤ 60 s with
 * peak RSS ≤ 500 MB (this process: the gateway; slapd is another process),
 * 100 changed users ≤ 3 s, no change ≤ 2 s. Progress on stderr, one JSON
 * object as the last line. BENCH_USERS changes the size; BENCH_PROFILE=DIR
 * writes a heap-sampling profile of the full sync there.
 */
import { execFile } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import type { RunView } from '../../gateway/src/sync/types.js';
import { BASE_DN, findTool, SERVICE_DN, SERVICE_PASSWORD, ROOT_DN, ROOT_PASSWORD, startSlapd, userDn } from '../../sync/sim/slapd.js';
import { benchConfig } from '../lib/gateway.js';
import { log, round } from '../lib/stats.js';

const USERS = Number(process.env.BENCH_USERS ?? 50_000);
const CHANGED = 100;
const SOURCE = 'corp-ldap';

const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };

/** Peak RSS since the last reset: the kernel's high-water mark (reset through clear_refs) and a 10 ms sampler, whichever is higher. */
class PeakRss {
  private peak = 0;
  private readonly timer = setInterval(() => this.sample(), 10);
  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  reset(): void {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // not Linux, or not allowed: the sampler alone
    }
    this.peak = process.memoryUsage.rss();
  }
  mb(): number {
    this.sample();
    let hwm = 0;
    if (existsSync('/proc/self/status')) {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      hwm = m ? Number(m[1]) * 1024 : 0;
    }
    return Math.round(Math.max(this.peak, hwm) / 1e6);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

function ldapmodify(url: string, ldif: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = execFile('ldapmodify', ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PASSWORD], (e, _out, err) => (e ? reject(new Error(`ldapmodify: ${err || e.message}`)) : resolve()));
    p.stdin?.end(ldif);
  });
}

const secs = (ms: number) => round(ms / 1000, 2);

const rss = new PeakRss();
try {
  if (!findTool('slapd') || !findTool('slapadd') || !findTool('ldapmodify')) throw new Error('slapd, slapadd and ldapmodify are needed (Debian: apt-get install -y slapd ldap-utils)');
  log(`seeding slapd with ${USERS} users in nested OUs…`);
  const s = await startSlapd(t, { users: USERS, sizeLimit: 1000 });
  log(`slapd up: seed ${s.timings.seedMs} ms, start ${s.timings.startMs} ms`);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-sync-'));
  teardowns.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const gw = await buildGateway(benchConfig(dataDir), { log: createLogger('silent'), adminSocket: false });
  await gw.start();
  teardowns.push(() => gw.stop());
  const sync = gw.services.sync;
  sync.createSource({
    id: SOURCE, kind: 'ldap', name: '总部 LDAP',
    config: { url: s.url, bindDn: SERVICE_DN, bindPassword: SERVICE_PASSWORD, baseDn: BASE_DN, pageSize: 1000 },
    schedule: null,
  });

  /** One run from start to applied; `rssByPhase`: the highest RSS sampled (MB) while the run was in each phase. */
  const runOnce = async (what: string): Promise<{ ms: number; run: RunView; rssByPhase: Record<string, number> }> => {
    const t0 = performance.now();
    const id = sync.startRun(SOURCE, { trigger: 'manual', dryRun: false, requestedBy: 'bench' });
    let last = '';
    let lastLog = 0;
    const rssByPhase: Record<string, number> = {};
    const ticker = setInterval(() => {
      const r = sync.run(id);
      const p = r?.progress;
      const phase = p?.phase ?? r?.state ?? '?';
      rssByPhase[phase] = Math.max(rssByPhase[phase] ?? 0, Math.round(process.memoryUsage.rss() / 1e6));
      const line = p ? `${p.phase} ${p.done}${p.total ? `/${p.total}` : ''}` : '';
      if (line && line !== last && performance.now() - lastLog > 1000) {
        lastLog = performance.now();
        log(`  ${what}: ${(last = line)}, RSS ${Math.round(process.memoryUsage.rss() / 1e6)} MB`);
      }
    }, 25);
    const run = await sync.waitFor(id).finally(() => clearInterval(ticker));
    const ms = performance.now() - t0;
    if (run.state !== 'applied') throw new Error(`${what}: run ${id} ended ${run.state}: ${run.error ?? ''}`);
    log(`${what}: ${secs(ms)} s (${run.readKind}; users ${JSON.stringify(run.counts?.users)}; timings ${JSON.stringify(run.timings)}; peak RSS by phase ${JSON.stringify(rssByPhase)})`);
    return { ms, run, rssByPhase };
  };

  const profileDir = process.env.BENCH_PROFILE;
  const session = profileDir ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32_768 });
  }
  global.gc?.();
  const rssBeforeMb = Math.round(process.memoryUsage.rss() / 1e6);
  rss.reset();
  const full = await runOnce('full sync');
  const peakMb = rss.mb();
  if (session && profileDir) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(path.join(profileDir, 'sync-full.heapprofile'), JSON.stringify(profile));
    session.disconnect();
    log(`heap profile written to ${profileDir}/sync-full.heapprofile`);
  }
  const directoryUsers = Number(gw.services.db.prepare(`SELECT COUNT(*) FROM users WHERE origin = ?`).pluck().get(`ldap:${SOURCE}`));
  if (directoryUsers !== USERS + 1) throw new Error(`the directory has ${directoryUsers} users of the source, expected ${USERS + 1}`);

  let ldif = '';
  for (let n = 1; n <= CHANGED; n++) ldif += `dn: ${userDn(n * Math.floor(USERS / CHANGED))}\nchangetype: modify\nreplace: title\ntitle: Bench ${n}\n\n`;
  await ldapmodify(s.url, ldif);
  log(`modified ${CHANGED} users with ldapmodify`);
  const inc = await runOnce('incremental, 100 changed');
  const incUpdated = (inc.run.counts?.users.update ?? 0) + (inc.run.counts?.users.move ?? 0);
  if (inc.run.readKind !== 'delta' || incUpdated !== CHANGED) throw new Error(`incremental run: ${inc.run.readKind}, ${incUpdated} users updated (expected a delta with ${CHANGED})`);
  const none = await runOnce('incremental, no change');

  const changedTotal = (r: RunView) => Object.values(r.counts?.users ?? {}).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({
    ldap_full_sync_50k_s: secs(full.ms),
    ldap_full_sync_peak_rss_mb: peakMb,
    ldap_incremental_100_s: secs(inc.ms),
    ldap_incremental_nochange_s: secs(none.ms),
    users: USERS + 1,
    full_sync_breakdown_ms: full.run.timings,
    incremental_100_breakdown_ms: inc.run.timings,
    incremental_nochange_breakdown_ms: none.run.timings,
    rss_before_full_sync_mb: rssBeforeMb,
    full_sync_peak_rss_by_phase_mb: full.rssByPhase,
    plan_items: { full: changedTotal(full.run), incremental_100: changedTotal(inc.run), nochange: changedTotal(none.run) },
    slapd_seed_ms: s.timings.seedMs,
  }));
} finally {
  rss.stop();
  for (const fn of teardowns.reverse()) await fn();
}
