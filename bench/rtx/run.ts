/**
 * npm run bench:rtx — the RTX bridge end to end, every part real and in its own process:
 *
 *   RTX simulator (this process: 8012 HTTP SDK + control API; 20,000 users / 2,000
 *   departments / 500 groups with GB18030-only names)
 *     ⇅ simulated COM helper (helper-main.ts, a child of the adapter, JSON lines on stdio;
 *       reads the org and the capture stream through the simulator's control API)
 *     ⇅ RTX adapter (rtx-adapter/src/main.ts: directory com, capture com, send sdk, presence com)
 *     ⇅ plugin channel (TLS, port 7014's protocol)
 *     ⇅ gateway (huitong serve, own data dir)
 *     ⇅ mobile client (HuitongClient over WSS, this process)
 *
 * The path measured is install A of docs/rtx-adapter.md (adapter on the RTX host): the org is
 * read through the COM helper, not the export XML; messages go into RTX through the HTTP SDK
 * (SendIM) and come out through the COM filter app (capture.wait).
 *
 * Figures (one JSON object, the last line of stdout; progress on stderr):
 * - rtx_first_sync_20k_s: from spawning the adapter until the gateway's sync run is applied
 *   (adapter start, helper start, org read, 41 pages over the channel, stage, plan, apply);
 * - rtx_resync_nochange_s: POST /api/admin/rtx/sync (the console's "sync now") on the unchanged
 *   org until that run is applied (gw.sync.request → helper re-reads → snapshot → empty plan);
 *   the median of 3;
 * - relay_to_rtx_p99_ms: zhangsan on a phone sends at BENCH_RATE msg/s for BENCH_SECONDS to
 *   BENCH_PEERS (20) RTX users in turn; from the send call until the simulator's SendIM put it
 *   in the RTX user's inbox;
 * - relay_from_rtx_p99_ms: those RTX users send to zhangsan in turn at the same rate; from the
 *   RTX send until zhangsan's phone has it.
 *
 * BENCH_USERS / BENCH_DEPTS / BENCH_GROUPS / BENCH_RATE (200) / BENCH_SECONDS (15).
 * BENCH_PROFILE=DIR writes CPU profiles of the gateway and the adapter there.
 * The per-connection frame limit is raised (one phone sending 200 msg/s is load, not a person).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HuitongClient } from '../../client/src/index.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import type { RunView } from '../../gateway/src/rtx/types.js';
import { startRtxSimulator } from '../../rtx-adapter/sim/simulator.js';
import { consoleSession, type ConsoleSession } from '../lib/console.js';
import { ROOT, startGatewayProcess, stopProcess } from '../lib/gateway.js';
import { log, percentile, round } from '../lib/stats.js';

const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const DEPTS = Number(process.env.BENCH_DEPTS ?? 2_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PROFILE = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;
/** RTX users the phone talks with, round robin: 200 msg/s spread over conversations, as a company's traffic is. */
const PEERS = Number(process.env.BENCH_PEERS ?? 20);
const RESYNCS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the console's run list until a run newer than `afterId` has finished. */
async function finishedRun(admin: ConsoleSession, afterId: number, timeoutMs: number): Promise<RunView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { runs } = await admin.get<{ runs: RunView[] }>('/api/admin/rtx/runs?limit=5');
    const run = runs.find((r) => r.id > afterId && r.state !== 'staging' && r.finishedAt !== null);
    if (run) return run;
    if (Date.now() > end) throw new Error(`no sync run after ${afterId} finished within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * Sends `RATE` messages a second for `SECONDS` on a fixed schedule (not drifting with the
 * timer), returns the latencies once every one arrived (or throws after the drain timeout).
 */
async function paced(send: (i: number, text: string) => void, arrived: Map<string, number>, prefix: string): Promise<number[]> {
  const total = RATE * SECONDS;
  const sentAt = new Map<string, number>();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const text = `${prefix} ${i} 压测消息`;
    sentAt.set(text, performance.now());
    send(i, text);
  }
  const end = Date.now() + 60_000;
  while ([...sentAt.keys()].some((k) => !arrived.has(k))) {
    if (Date.now() > end) throw new Error(`${prefix}: ${[...sentAt.keys()].filter((k) => !arrived.has(k)).length} of ${total} messages did not arrive within 60 s`);
    await sleep(50);
  }
  return [...sentAt].map(([k, t]) => (arrived.get(k) as number) - t);
}

const stats = (xs: number[]) => ({ p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)), max: round(Math.max(...xs)) });

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-rtx-'));
  const cleanup: (() => Promise<unknown>)[] = [];
  const result: Record<string, unknown> = {};
  let adapterLog = '';
  try {
    log(`generating an RTX org of ${USERS} users / ${DEPTS} departments / ${GROUPS} groups`);
    const sim = await startRtxSimulator({ org: { users: USERS, departments: DEPTS, groups: GROUPS, seed: 11 } });
    cleanup.push(() => sim.close());

    const gwData = path.join(dir, 'gw');
    const gw = await startGatewayProcess(gwData, { env: { HUITONG_LIMITS_FRAMES_PER_SECOND: '100000' }, ...(PROFILE ? { profileDir: PROFILE } : {}) });
    cleanup.push(() => gw.stop());
    const admin = await consoleSession(gw.http);
    const { code } = await admin.get<{ code: string }>('/api/admin/rtx/code');

    // ---- first sync: spawn the adapter, wait for the run to be applied ----
    adapterLog = path.join(dir, 'adapter.log');
    const logFile = createWriteStream(adapterLog);
    const helper = `${process.execPath} --import tsx ${path.join(ROOT, 'rtx-adapter/sim/helper-main.ts')} --control ${sim.controlUrl}`;
    const t0 = performance.now();
    const t0Wall = Date.now();
    const adapter: ChildProcess = spawn(
      process.execPath,
      [
        ...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : []),
        '--import', 'tsx', path.join(ROOT, 'rtx-adapter/src/main.ts'),
        '--gateway', `127.0.0.1:${gw.pluginPort}`, '--data', path.join(dir, 'adapter'), '--ca', path.join(gwData, 'tls', 'self-signed.crt'),
        '--name', 'bench', '--sdk-url', sim.sdkUrl, '--helper', helper,
      ],
      { cwd: ROOT, env: { ...process.env, HUITONG_RTX_CODE: code }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    adapter.stderr?.pipe(logFile);
    cleanup.push(() => stopProcess(adapter));
    const first = await finishedRun(admin, 0, 300_000);
    const firstMs = performance.now() - t0;
    if (first.state !== 'applied') throw new Error(`first sync ${first.state}: ${first.error}`);
    if (first.counts?.users.created !== USERS) throw new Error(`first sync created ${first.counts?.users.created} users, expected ${USERS}`);
    result.rtx_first_sync_20k_s = round(firstMs / 1000, 2);
    result.first_sync_breakdown_ms = {
      adapter_start_and_org_read: first.startedAt - t0Wall,
      staging: first.timings?.stageMs ?? null,
      plan: first.timings?.planMs ?? null,
      apply: first.timings?.applyMs ?? null,
    };
    log(`first sync: ${result.rtx_first_sync_20k_s} s ${JSON.stringify(result.first_sync_breakdown_ms)}`);

    // ---- requested re-syncs of the unchanged org ----
    const resyncs: number[] = [];
    let last = first;
    for (let i = 0; i < RESYNCS; i++) {
      const t = performance.now();
      const tWall = Date.now();
      await admin.send('POST', '/api/admin/rtx/sync', {});
      const run = await finishedRun(admin, last.id, 120_000);
      resyncs.push(performance.now() - t);
      if (run.state !== 'applied') throw new Error(`re-sync ${run.state}: ${run.error}`);
      const c = run.counts;
      const changes = c ? c.depts.created + c.depts.updated + c.depts.removed + c.users.created + c.users.updated + c.users.removed + c.groups.created + c.groups.updated + c.groups.removed : -1;
      if (changes !== 0) throw new Error(`the unchanged re-sync changed ${changes} entries`);
      log(`unchanged re-sync ${i + 1}: ${Math.round(resyncs[i] as number)} ms (request → snapshot begins ${run.startedAt - tWall} ms, timings ${JSON.stringify(run.timings)})`);
      last = run;
      result.resync_breakdown_ms = { request_and_org_read: run.startedAt - tWall, staging: run.timings?.stageMs ?? null, plan: run.timings?.planMs ?? null, apply: run.timings?.applyMs ?? null };
    }
    result.rtx_resync_nochange_s = round(percentile(resyncs, 50) / 1000, 2);
    result.rtx_resync_nochange_all_s = resyncs.map((x) => round(x / 1000, 2));

    // ---- relay: zhangsan on a phone, PEERS RTX users on RTX ----
    const find = async (account: string) => {
      const r = await admin.get<{ members: { id: number; account: string }[] }>(`/api/admin/members?q=${encodeURIComponent(account)}&limit=50`);
      const m = r.members.find((x) => x.account === account);
      if (!m) throw new Error(`${account} is not in the gateway's directory`);
      return m.id;
    };
    const zhangsan = await find('zhangsan');
    // RTX users with a plain account (not the phone user), the peers of the conversations
    const peers = sim.state.userList().map((u) => u.account).filter((a) => a !== 'zhangsan' && /^[a-z]/.test(a)).slice(0, PEERS);
    const peerIds = await Promise.all(peers.map(async (a) => (await find(a)) as UserId));
    await admin.send('POST', `/api/admin/members/${zhangsan}/password`, { password: 'phone-password-1' });
    await admin.send('POST', `/api/admin/members/${zhangsan}/authorise`, {});
    const phone = new HuitongClient({ url: gw.wss, ca: readFileSync(path.join(gwData, 'tls', 'self-signed.crt')), device: { id: 'bench-phone', type: 'ios', name: 'bench' }, credentials: { account: 'zhangsan', password: 'phone-password-1' } });
    cleanup.push(() => phone.close());
    await phone.connect();

    const peerSet = new Set(peers);
    const inRtx = new Map<string, number>();
    sim.state.on('received', (e: { account: string; kind: string; item: { text: string } }) => {
      if (e.kind === 'im' && peerSet.has(e.account)) inRtx.set(e.item.text, performance.now());
    });
    const onPhone = new Map<string, number>();
    phone.on('message', (m) => {
      const text = (m.body as { text?: string }).text;
      if (typeof text === 'string') onPhone.set(text, performance.now());
    });
    const toRtx = (i: number, text: string) => void phone.sendText({ kind: 'user', id: peerIds[i % peerIds.length] as UserId }, text).catch((e: unknown) => log(`send failed: ${String(e)}`));
    const fromRtx = (i: number, text: string) => void sim.state.rtxUserSends({ sender: peers[i % peers.length] as string, to: 'zhangsan', text });

    // warm-up (JIT, connections, the helper's capture loop), not counted
    for (let i = 0; i < 50; i++) {
      toRtx(i, `warm-to ${i}`);
      fromRtx(i, `warm-from ${i}`);
      await sleep(10);
    }
    while (!(inRtx.has('warm-to 49') && onPhone.has('warm-from 49'))) await sleep(50);

    log(`relay to RTX: ${RATE} msg/s for ${SECONDS} s`);
    const to = await paced(toRtx, inRtx, 'to-rtx');
    log(`relay from RTX: ${RATE} msg/s for ${SECONDS} s`);
    const from = await paced(fromRtx, onPhone, 'from-rtx');
    const toS = stats(to);
    const fromS = stats(from);
    result.relay_to_rtx_p99_ms = toS.p99;
    result.relay_from_rtx_p99_ms = fromS.p99;
    result.relay_to_rtx_ms = toS;
    result.relay_from_rtx_ms = fromS;
    result.relay_rate_msgs_per_s = RATE;
    result.relay_seconds = SECONDS;
    result.relay_conversations = PEERS;
    result.path = 'org: COM helper (simulated, control API); send: HTTP SDK SendIM; capture: COM filter app';
    result.org = { users: USERS, departments: DEPTS, groups: GROUPS };
    log(`to RTX ${JSON.stringify(toS)}; from RTX ${JSON.stringify(fromS)}`);
  } catch (e) {
    if (adapterLog) {
      try {
        process.stderr.write(`[bench] adapter log (last lines):\n${readFileSync(adapterLog, 'utf8').split('\n').slice(-20).join('\n')}\n`);
      } catch {
        // no log yet
      }
    }
    throw e;
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  }
  const ordered = { rtx_first_sync_20k_s: result.rtx_first_sync_20k_s, rtx_resync_nochange_s: result.rtx_resync_nochange_s, relay_to_rtx_p99_ms: result.relay_to_rtx_p99_ms, relay_from_rtx_p99_ms: result.relay_from_rtx_p99_ms, ...result };
  process.stdout.write(JSON.stringify(ordered) + '\n');
}

await main();
