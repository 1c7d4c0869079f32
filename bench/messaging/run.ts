/**
 * npm run bench:messaging — starts a gateway process and, beside it, a load
 * generator (this process plus helper processes) on this machine, measures the
 * figures of the messaging issue, and prints one JSON object as its last line.
 *
 * Environment: BENCH_USERS (1000), BENCH_IDLE (20000), BENCH_SECONDS (8) per phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Connection, openTransport, performHandshake, type Transport } from '../../client/src/index.js';
import { ClientFrame, ServerFrame, type Conversation, type GroupId, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';
import { cpuMs, log, percentile, round, rssKb } from '../lib/stats.js';
import { prepare, type BenchData, type BenchUser } from './setup.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const IDLE = Number(process.env.BENCH_IDLE ?? 20000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RESUMES = 3000;
/** BENCH_ONLY=relay,one,lat,group,resume,idle runs a subset (for profiling). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'relay,one,lat,group,resume,idle').split(','));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rnd = (n: number) => Math.floor(Math.random() * n);

interface Server {
  proc: ChildProcess;
  wss: string;
  tcp: string;
  http: string;
}

/** huitong_messages_stored_total from the gateway's /metrics. */
async function storedMessages(server: Server): Promise<number> {
  const text = await (await fetch(`${server.http}metrics`)).text();
  return Number(/^huitong_messages_stored_total (\d+)/m.exec(text)?.[1] ?? 0);
}

async function startGateway(dataDir: string): Promise<Server> {
  // BENCH_PROFILE=DIR writes a CPU profile of the gateway there (open it in Chrome DevTools)
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'gateway/src/cli/run.ts'), 'serve', '--data', dataDir], {
    cwd: ROOT,
    env: {
      ...process.env, HUITONG_HTTP_PORT: '0', HUITONG_HTTPS_PORT: '0', HUITONG_TCP_PORT: '0', HUITONG_HTTP_HOST: '127.0.0.1',
      HUITONG_HTTPS_HOST: '127.0.0.1', HUITONG_TCP_HOST: '127.0.0.1', HUITONG_PLUGIN_PORT: '0', HUITONG_PLUGIN_HOST: '127.0.0.1', HUITONG_RTX_SDK_PORT: '0', HUITONG_RTX_SDK_HOST: '127.0.0.1', HUITONG_LOG_LEVEL: 'warn',
      // closed-loop load sends far faster per connection than a person does
      HUITONG_LIMITS_FRAMES_PER_SECOND: '1000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/health\s+http/.test(out)) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`gateway exited ${c}: ${out}`)));
  });
  const wss = (/\(WSS\)\s+(\S+)/.exec(out)?.[1] ?? '').replace('localhost', '127.0.0.1');
  const http = (/server-info\s+(\S+)/.exec(out)?.[1] ?? '').replace('localhost', '127.0.0.1');
  const tcp = (/\(TLS\)\s+(\S+)/.exec(out)?.[1] ?? '').replace('localhost', '127.0.0.1');
  return { proc, wss, tcp, http };
}

async function startRelay(dataDir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/messaging/relay.ts'), dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(proc.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { proc, port: Number(/relay (\d+)/.exec(line.toString())?.[1]) };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

/** Counts deliveries while `on`. */
interface Counter {
  on: boolean;
  n: number;
}

/**
 * Starts closed loops, warms up for 1.5 s, counts deliveries for SECONDS,
 * stops the loops (waiting at most drainMs for them) and returns deliveries per second.
 */
async function closedLoopRate(start: (running: () => boolean) => Promise<void>[], counter: Counter, drainMs: number): Promise<number> {
  let running = true;
  const loops = start(() => running);
  await sleep(1500);
  counter.on = true;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const rate = counter.n / ((performance.now() - t0) / 1000);
  counter.on = false;
  running = false;
  await Promise.race([Promise.all(loops), sleep(drainMs)]);
  return rate;
}

// ---------------------------------------------------------------- relay baseline

async function relayBaseline(port: number, users: number): Promise<number> {
  const sockets: WebSocket[] = [];
  const acks = new Map<string, () => void>();
  const counter: Counter = { on: false, n: 0 };
  for (let i = 0; i < users; i++) {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/?id=${i}`, { rejectUnauthorized: false, perMessageDeflate: false });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { ack?: string; to?: number };
      if (m.ack !== undefined) acks.get(m.ack)?.();
      else if (counter.on) counter.n++;
    });
    await once(ws, 'open');
    sockets.push(ws);
  }
  let k = 0;
  const loop = async (i: number, running: () => boolean) => {
    while (running()) {
      const key = String(k++);
      const to = rnd(users);
      await new Promise<void>((resolve) => {
        acks.set(key, resolve);
        (sockets[i] as WebSocket).send(JSON.stringify({ to: to === i ? (to + 1) % users : to, k: key, kind: 'text', body: { text: `relay ${key}` } }));
      });
      acks.delete(key);
    }
  };
  const rate = await closedLoopRate((running) => sockets.flatMap((_, i) => [loop(i, running), loop(i, running)]), counter, 2000);
  for (const s of sockets) s.terminate();
  return rate;
}

// ---------------------------------------------------------------- gateway phases

/**
 * One load-generating connection: the client library's transport, request
 * bookkeeping and handshake, without the ordering and outbox layers, so the
 * generator costs per message about what the relay's clients cost.
 */
interface Lean {
  conn: Connection;
  transport: Transport;
  userId: UserId;
  handlers: Set<(m: MessageView) => void>;
}

let cmidCounter = 0;
function sendText(c: Lean, to: Conversation, text: string, cmid = `b${cmidCounter++}`): Promise<unknown> {
  return c.conn.request(ClientFrame.Send, { cmid, to, kind: 'text', body: { text } });
}

async function connectLean(url: string, token: string): Promise<Lean> {
  const transport = await openTransport(url, { insecure: true, connectTimeoutMs: 30_000 });
  const handlers = new Set<(m: MessageView) => void>();
  const conn = new Connection(transport, { requestTimeoutMs: 60_000 }, {
    push: (f) => {
      if (f.t === ServerFrame.Message) for (const h of handlers) h(f.p as MessageView);
    },
    closed: () => undefined,
  });
  const { auth } = await performHandshake(conn, { clientName: 'bench', token, credentials: null, device: { id: 'x', type: 'cli' } });
  return { conn, transport, userId: auth.user.id, handlers };
}

async function connectClients(server: Server, users: BenchUser[]): Promise<Lean[]> {
  const clients: Lean[] = [];
  for (let i = 0; i < users.length; i += 50) clients.push(...(await Promise.all(users.slice(i, i + 50).map((u) => connectLean(server.wss, u.token)))));
  return clients;
}

/** Listens on every client; calls fn for each message delivered to someone other than its sender. */
function onDeliveries(clients: Lean[], fn: (m: MessageView, at: number) => void): () => void {
  const offs = clients.map((c) => {
    const h = (m: MessageView) => {
      if (m.from !== c.userId) fn(m, performance.now());
    };
    c.handlers.add(h);
    return () => c.handlers.delete(h);
  });
  return () => offs.forEach((off) => off());
}

const peerOf = (clients: Lean[], i: number): Conversation => {
  let to = rnd(clients.length);
  if (to === i) to = (to + 1) % clients.length;
  return { kind: 'user', id: (clients[to] as Lean).userId };
};

async function oneToOneThroughput(clients: Lean[]): Promise<number> {
  const counter: Counter = { on: false, n: 0 };
  const off = onDeliveries(clients, () => {
    if (counter.on) counter.n++;
  });
  const loop = async (i: number, running: () => boolean) => {
    while (running()) await sendText(clients[i] as Lean, peerOf(clients, i), `吞吐 ${i}`).catch(() => undefined);
  };
  const rate = await closedLoopRate((running) => clients.flatMap((_, i) => [loop(i, running), loop(i, running)]), counter, 5000);
  off();
  return rate;
}

async function oneToOneLatency(clients: Lean[], perSecond: number): Promise<{ p99: number; p50: number; achieved: number }> {
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  const off = onDeliveries(clients, (m, at) => {
    const t = sentAt.get(m.cmid);
    if (t !== undefined) lat.push(at - t);
  });
  const tickMs = 10;
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      if (elapsed > SECONDS * 1000) {
        clearInterval(timer);
        return resolve();
      }
      // keep the offered rate whatever the timer's jitter
      const owed = (elapsed / 1000) * perSecond - sent;
      for (let k = 0; k < owed; k++) {
        const i = rnd(clients.length);
        const cmid = `lat-${sent}`;
        sentAt.set(cmid, performance.now());
        sent++;
        void sendText(clients[i] as Lean, peerOf(clients, i), `延迟 ${sent}`, cmid).catch(() => undefined);
      }
    }, tickMs);
  });
  const deadline = performance.now() + 10_000;
  while (lat.length < sent && performance.now() < deadline) await sleep(50);
  off();
  return { p99: percentile(lat, 99), p50: percentile(lat, 50), achieved: sent / SECONDS };
}

async function groupLatency(clients: Lean[], groupId: number, perSecond: number): Promise<number> {
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  const off = onDeliveries(clients, (m, at) => {
    const t = sentAt.get(m.cmid);
    if (t !== undefined) lat.push(at - t);
  });
  const total = perSecond * Math.min(SECONDS, 5);
  let expected = 0;
  for (let k = 0; k < total; k++) {
    const cmid = `g-lat-${k}`;
    sentAt.set(cmid, performance.now());
    expected += clients.length - 1;
    void sendText(clients[k % clients.length] as Lean, { kind: 'group', id: groupId as GroupId }, `群延迟 ${k}`, cmid).catch(() => undefined);
    await sleep(1000 / perSecond);
  }
  const deadline = performance.now() + 15_000;
  while (lat.length < expected && performance.now() < deadline) await sleep(50);
  off();
  if (lat.length < expected) log(`group latency: only ${lat.length} of ${expected} deliveries arrived`);
  return percentile(lat, 99);
}

async function groupThroughput(clients: Lean[], groupId: number, senders: number): Promise<number> {
  const counter: Counter = { on: false, n: 0 };
  const off = onDeliveries(clients, () => {
    if (counter.on) counter.n++;
  });
  const loop = async (i: number, running: () => boolean) => {
    while (running()) await sendText(clients[i] as Lean, { kind: 'group', id: groupId as GroupId }, `群吞吐 ${i}`).catch(() => undefined);
  };
  const rate = await closedLoopRate((running) => Array.from({ length: senders }, (_, i) => loop(i * 7, running)), counter, 10_000);
  // let the last deliveries drain before the next phase
  await sleep(2000);
  off();
  return rate;
}

/** Reconnects with a token per second, from two generator processes so one generator core is not the limit. */
async function resumeRate(url: string, tokens: string[]): Promise<number> {
  const workers = 2;
  const per = Math.ceil(tokens.length / workers);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/messaging/resume-worker.ts'), url, '16'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
      p.stdin?.end(tokens.slice(w * per, (w + 1) * per).join('\n'));
      const [line] = (await once(p.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
      return JSON.parse(line.toString()) as { ok: number; failed: number; ms: number };
    }),
  );
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) log(`resume: ${failed} failed`);
  // both workers start together; the rate is over the slower one's time (module loading excluded)
  const ms = Math.max(...results.map((r) => r.ms));
  void t0;
  return results.reduce((n, r) => n + r.ok, 0) / (ms / 1000);
}

async function idleConnections(server: Server, tokens: string[]): Promise<{ held: number; rssKbPerConnection: number }> {
  await sleep(1000);
  const before = rssKb(server.proc.pid as number);
  const holders = 4;
  const per = Math.ceil(tokens.length / holders);
  const procs = Array.from({ length: holders }, (_, h) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/messaging/idle-holder.ts'), server.wss, '48'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    p.stdin?.end(tokens.slice(h * per, (h + 1) * per).join('\n'));
    return p;
  });
  const results = await Promise.all(
    procs.map(async (p) => {
      const [line] = (await once(p.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
      return JSON.parse(line.toString()) as { held: number; failed: number; firstError: string };
    }),
  );
  const held = results.reduce((n, r) => n + r.held, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) log(`idle: ${failed} connections failed (${results.find((r) => r.firstError)?.firstError})`);
  await sleep(3000);
  const after = rssKb(server.proc.pid as number);
  await Promise.all(procs.map((p) => stop(p)));
  return { held, rssKbPerConnection: held > 0 ? (after - before) / held : 0 };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-'));
  const result: Record<string, number> = {};
  let server: Server | null = null;
  try {
    log(`preparing ${USERS} users, ${IDLE + 2 * RESUMES} spare device tokens`);
    const data: BenchData = await prepare(dataDir, USERS, IDLE + 2 * RESUMES);

    if (ONLY.has('relay')) {
      log('relay baseline');
      const relay = await startRelay(dataDir);
      result.relay_baseline_msgs_per_s = round(await relayBaseline(relay.port, USERS), 0);
      await stop(relay.proc);
      log(`relay: ${result.relay_baseline_msgs_per_s} msg/s`);
    }

    server = await startGateway(dataDir);
    log(`gateway at ${server.wss}; connecting ${USERS} clients`);
    const clients = await connectClients(server, data.users);

    if (ONLY.has('one')) {
      const cpu0 = cpuMs(server.proc.pid as number);
      const stored0 = await storedMessages(server);
      result.one_to_one_msgs_per_s = round(await oneToOneThroughput(clients), 0);
      result.server_cpu_us_per_message = round(((cpuMs(server.proc.pid as number) - cpu0) * 1000) / Math.max(1, (await storedMessages(server)) - stored0), 1);
      log(`1:1 throughput: ${result.one_to_one_msgs_per_s} msg/s`);
      if (result.relay_baseline_msgs_per_s) result.ratio_to_relay = round(result.one_to_one_msgs_per_s / result.relay_baseline_msgs_per_s, 3);
    }
    if (ONLY.has('lat')) {
      const lat = await oneToOneLatency(clients, 2000);
      result.one_to_one_p99_ms = round(lat.p99, 1);
      result.one_to_one_p50_ms = round(lat.p50, 1);
      result.one_to_one_offered_msgs_per_s = round(lat.achieved, 0);
      log(`1:1 latency at 2000/s: p50 ${result.one_to_one_p50_ms} ms, p99 ${result.one_to_one_p99_ms} ms`);
    }
    if (ONLY.has('group')) {
      result.group_p99_ms = round(await groupLatency(clients, data.groupId, 10), 1);
      log(`group latency (${USERS} members): p99 ${result.group_p99_ms} ms`);
      result.group_deliveries_per_s = round(await groupThroughput(clients, data.groupId, 8), 0);
      log(`group deliveries: ${result.group_deliveries_per_s}/s`);
    }
    for (const c of clients) c.transport.close();
    if (ONLY.has('resume')) {
      // native clients reconnect on the TLS TCP long connection (7006); the web client on WSS: both are measured
      let cpu0 = cpuMs(server.proc.pid as number);
      result.resumes_per_s = round(await resumeRate(server.tcp, data.spareTokens.slice(0, RESUMES)), 0);
      result.server_cpu_ms_per_resume = round((cpuMs(server.proc.pid as number) - cpu0) / RESUMES, 3);
      cpu0 = cpuMs(server.proc.pid as number);
      result.resumes_per_s_wss = round(await resumeRate(server.wss, data.spareTokens.slice(RESUMES, 2 * RESUMES)), 0);
      result.server_cpu_ms_per_resume_wss = round((cpuMs(server.proc.pid as number) - cpu0) / RESUMES, 3);
      log(`resumes: ${result.resumes_per_s}/s over TLS TCP, ${result.resumes_per_s_wss}/s over WSS`);
    }
    if (ONLY.has('idle')) {
      const idle = await idleConnections(server, data.spareTokens.slice(2 * RESUMES, 2 * RESUMES + IDLE));
      result.idle_connections = idle.held;
      result.rss_kb_per_connection = round(idle.rssKbPerConnection, 1);
      log(`idle: ${idle.held} held, ${result.rss_kb_per_connection} KiB each`);
    }
  } finally {
    if (server) await stop(server.proc);
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

await main();
