/**
 * npm run bench:openapi — the open API's figures (issue 6), against a gateway
 * in its own process on this machine; prints one JSON object as its last line.
 *
 * - msg_send_rps: POST /cgi/msg/send through the spec client (its own crypto,
 *   test/helpers/youdu-client.ts), one token fetched once and reused, a text
 *   to ONE recipient per call (rotating over the department's members),
 *   BENCH_CONCURRENCY calls in flight, sustained for BENCH_SECONDS (10). Only
 *   calls answered errcode 0 count.
 * - dept_10k_delivery_s: one msg/send to a department of BENCH_DEPT_USERS
 *   (10,000) members, every one of them online as a real client-protocol
 *   session: BENCH_HOLDERS helper processes (holder.ts) each hold a share of
 *   the 10,000 TLS WebSocket connections (resumed with device tokens) and
 *   count the `msg` pushes they receive. The figure is from just before the
 *   HTTP call to the moment the LAST connection received the message, read
 *   from the holders' clocks (same machine). Nothing is simulated: every
 *   push is a frame written by the gateway to a socket and parsed by a client.
 *
 * Environment: BENCH_DEPT_USERS (10000), BENCH_SECONDS (10), BENCH_CONCURRENCY (64),
 * BENCH_HOLDERS (4), BENCH_PROFILE=DIR (CPU profile of the gateway).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { hashToken } from '../../gateway/src/auth/service.js';
import { SqliteDeviceRepo } from '../../gateway/src/devices/repo.js';
import { createLogger } from '../../gateway/src/log.js';
import { buildServices } from '../../gateway/src/services.js';
import { YouduClient } from '../../test/helpers/youdu-client.js';
import { benchConfig, ROOT, startGatewayProcess, stopProcess, type GatewayProcess } from '../lib/gateway.js';
import { log, percentile, round } from '../lib/stats.js';

const DEPT_USERS = Number(process.env.BENCH_DEPT_USERS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const HOLDERS = Number(process.env.BENCH_HOLDERS ?? 4);

interface Data {
  accounts: string[];
  tokens: string[];
  deptId: number;
  app: { buin: number; appId: string; key: string };
}

/** A data dir with the department, its members (one device token each) and an app that sees everyone. */
async function prepare(dataDir: string): Promise<Data> {
  const s = buildServices(benchConfig(dataDir), createLogger('silent'));
  await s.apps.init();
  const devices = new SqliteDeviceRepo(s.db);
  const hash = await hashPassword('bench-password-1');
  const dept = await s.directory.createDept(null, '压测部');
  const expires = Date.now() + 30 * 86_400_000;
  const accounts: string[] = [];
  const tokens: string[] = [];
  s.db.exec('BEGIN');
  for (let i = 0; i < DEPT_USERS; i++) {
    const account = `oa${String(i).padStart(5, '0')}`;
    const u = await s.directory.createUser({ account, name: `压测${i}`, passwordHash: hash, authorised: true, deptIds: [dept.id] });
    const dev = await devices.upsertDevice(u.id, `bench-${i}`, 'cli', 'bench', null, '127.0.0.1');
    const token = randomBytes(32).toString('base64url');
    await devices.issueToken(dev.id, hashToken(token), expires);
    accounts.push(account);
    tokens.push(token);
  }
  s.db.exec('COMMIT');
  const app = await s.apps.create({ name: '压测应用' });
  await s.close();
  return { accounts, tokens, deptId: dept.id, app: { buin: app.buin as number, appId: app.appId as string, key: app.encodingAesKey as string } };
}

/** huitong_store_batches_total and huitong_messages_stored_total from /metrics. */
async function storeMetrics(gw: GatewayProcess): Promise<{ batches: number; stored: number }> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { batches: num('huitong_store_batches_total'), stored: num('huitong_messages_stored_total') };
}

/** One POST over a kept-alive connection (lighter than fetch, so the load generator leaves more CPU to the gateway). */
function post(agent: http.Agent, url: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function sendRps(gw: GatewayProcess, data: Data): Promise<{ rps: number; ok: number; errors: number; p50: number; p99: number; firstError: string; perCommit: number }> {
  const client = new YouduClient(gw.http, data.app.buin, data.app.appId, data.app.key);
  await client.gettoken();
  const url = new URL(`${gw.http}/cgi/msg/send?accessToken=${client.token}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const before = await storeMetrics(gw);
  let ok = 0;
  let errors = 0;
  let firstError = '';
  let n = 0;
  const lat: number[] = [];
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const to = data.accounts[n++ % data.accounts.length] as string;
      const t0 = performance.now();
      const j = JSON.parse(await post(agent, url, client.envelope({ toUser: to, msgType: 'text', text: { content: `压测消息 ${n}` } }))) as { errcode: number; errmsg: string };
      lat.push(performance.now() - t0);
      if (j.errcode === 0) ok += 1;
      else {
        errors += 1;
        firstError ||= `${j.errcode} ${j.errmsg}`;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  const after = await storeMetrics(gw);
  const perCommit = (after.stored - before.stored) / Math.max(1, after.batches - before.batches);
  return { rps: ok / elapsed, ok, errors, p50: percentile(lat, 50), p99: percentile(lat, 99), firstError, perCommit };
}

interface Holder { proc: ChildProcess; lines: AsyncIterator<string> }

async function nextJson(h: Holder): Promise<Record<string, unknown>> {
  const r = await h.lines.next();
  if (r.done) throw new Error('a holder process ended early');
  return JSON.parse(r.value) as Record<string, unknown>;
}

/** Waits for a holder's next line, at most `ms`. */
function nextJsonWithin(h: Holder, ms: number): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([nextJson(h), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer from a holder within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function deptDelivery(gw: GatewayProcess, data: Data): Promise<{ seconds: number; online: number; delivered: number; callMs: number }> {
  const holders: Holder[] = [];
  const share = Math.ceil(data.tokens.length / HOLDERS);
  for (let i = 0; i < HOLDERS; i++) {
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/openapi/holder.ts'), gw.wss, '32', '1'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    proc.stdin?.end(data.tokens.slice(i * share, (i + 1) * share).join('\n'));
    holders.push({ proc, lines: createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]() });
  }
  try {
    const t0 = performance.now();
    let online = 0;
    for (const h of holders) {
      const r = await nextJson(h);
      online += Number(r.held);
      if (Number(r.failed) > 0) log(`holder: ${String(r.failed)} connections failed: ${String(r.firstError)}`);
    }
    log(`${online} clients online in ${round((performance.now() - t0) / 1000, 1)} s`);
    const client = new YouduClient(gw.http, data.app.buin, data.app.appId, data.app.key);
    await client.gettoken();
    const sentAt = Date.now();
    const c0 = performance.now();
    const r = await client.post('/cgi/msg/send', { toDept: String(data.deptId), msgType: 'text', text: { content: '全部门通知' } });
    const callMs = performance.now() - c0;
    if (r.json.errcode !== 0) throw new Error(`dept send: ${String(r.json.errcode)} ${String(r.json.errmsg)}`);
    let last = 0;
    let delivered = 0;
    for (const h of holders) {
      const d = await nextJsonWithin(h, 120_000);
      last = Math.max(last, Number(d.done));
      delivered += Number(d.got);
      if (Number(d.closed) > 0) log(`holder: ${String(d.closed)} connections closed before the message arrived`);
    }
    return { seconds: (last - sentAt) / 1000, online, delivered, callMs };
  } finally {
    await Promise.all(holders.map((h) => stopProcess(h.proc)));
  }
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-openapi-'));
try {
  log(`preparing a department of ${DEPT_USERS} members and an app`);
  const data = await prepare(dataDir);
  const gw = await startGatewayProcess(dataDir, {
    env: { HUITONG_LIMITS_FRAMES_PER_SECOND: '1000000' },
    ...(process.env.BENCH_PROFILE ? { profileDir: process.env.BENCH_PROFILE } : {}),
  });
  try {
    log(`msg/send: ${CONCURRENCY} in flight for ${SECONDS} s, one recipient each`);
    const rps = await sendRps(gw, data);
    log(`  ${round(rps.rps, 0)} calls/s (${rps.ok} ok, ${rps.errors} errors${rps.firstError ? `: ${rps.firstError}` : ''}), p50 ${round(rps.p50, 1)} ms, p99 ${round(rps.p99, 1)} ms, ${round(rps.perCommit, 1)} messages per commit`);
    log(`department of ${DEPT_USERS}: connecting every member, then one msg/send`);
    const dept = await deptDelivery(gw, data);
    log(`  ${dept.delivered} of ${dept.online} online members had it after ${round(dept.seconds, 3)} s (the call answered in ${round(dept.callMs, 0)} ms)`);
    process.stdout.write(`${JSON.stringify({
      msg_send_rps: round(rps.rps, 0), msg_send_p50_ms: round(rps.p50, 2), msg_send_p99_ms: round(rps.p99, 2), msg_send_errors: rps.errors, msg_send_per_commit: round(rps.perCommit, 1),
      msg_send_concurrency: CONCURRENCY, msg_send_seconds: SECONDS,
      dept_10k_delivery_s: round(dept.seconds, 3), dept_members: DEPT_USERS, dept_online: dept.online, dept_delivered: dept.delivered, dept_send_call_ms: round(dept.callMs, 1),
      targets: { msg_send_rps: '>= 2000', dept_10k_delivery_s: '<= 2' },
    })}\n`);
  } finally {
    await gw.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
