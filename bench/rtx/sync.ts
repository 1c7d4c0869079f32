/**
 * node --import tsx bench/rtx/sync.ts — the RTX org sync on a generated org
 * (default 20,000 users / 2,000 departments / 500 groups, Chinese names with
 * GB18030-only characters): a scripted adapter (a real PluginChannel over
 * TLS) sends the snapshot to a real gateway; figures are end to end, from
 * the first page sent until the run is applied. Then an unchanged re-sync,
 * and a re-sync with 1% of users renamed. Prints one JSON object as its last line.
 * BENCH_USERS / BENCH_DEPTS / BENCH_GROUPS override the sizes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import { generateOrg } from '../../rtx-adapter/sim/generate.js';
import { benchConfig } from '../lib/gateway.js';
import { nextFinishedRun, ScriptedAdapter, simToSnapshot } from '../lib/rtx.js';

const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const DEPTS = Number(process.env.BENCH_DEPTS ?? 2_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 500);

const dir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-rtx-'));
const teardowns: (() => unknown)[] = [];
try {
  const gw = await buildGateway(benchConfig(path.join(dir, 'gw')), { log: createLogger('silent'), adminSocket: false });
  await gw.start();
  teardowns.push(() => gw.stop());
  const adapter = await ScriptedAdapter.connect(gw, readFileSync(path.join(dir, 'gw', 'tls', 'self-signed.crt'), 'utf8'), path.join(dir, 'adapter'));
  teardowns.push(() => adapter.close());
  const snap = simToSnapshot(generateOrg({ users: USERS, departments: DEPTS, groups: GROUPS, seed: 11 }));
  const measure = async (s: typeof snap) => {
    const before = gw.services.rtxSync.runs(1)[0]?.id ?? 0;
    const t0 = performance.now();
    await adapter.sendSnapshot(s);
    const run = await nextFinishedRun(gw, before, 600_000);
    if (run.state !== 'applied') throw new Error(`run ${run.id} ${run.state}: ${run.error}`);
    return { ms: Math.round(performance.now() - t0), timings: run.timings, counts: run.counts };
  };
  const first = await measure(snap);
  const unchanged = await measure(snap);
  const changed = structuredClone(snap);
  for (let i = 0; i < changed.users.length; i += 100) (changed.users[i] as { name: string }).name += '改';
  const onePercent = await measure(changed);
  process.stderr.write(`first ${first.ms} ms, unchanged ${unchanged.ms} ms, 1% renamed ${onePercent.ms} ms\n`);
  console.log(JSON.stringify({
    users: USERS, depts: DEPTS, groups: GROUPS,
    first_sync_ms: first.ms, first_sync_timings: first.timings,
    unchanged_resync_ms: unchanged.ms, unchanged_timings: unchanged.timings,
    one_percent_renamed_ms: onePercent.ms, one_percent_counts: onePercent.counts?.users,
  }));
} finally {
  for (const fn of teardowns.reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
}
