/**
 * node --import tsx bench/rtx/relay.ts — relay latency both ways on a real
 * gateway with a scripted adapter (a real PluginChannel over TLS):
 * - to RTX: a client sends 1:1 messages to an RTX user at BENCH_RATE msg/s
 *   (default 200) for BENCH_SECONDS (default 10); latency = from the send
 *   call until the gw.im.send reaches the adapter;
 * - from RTX: the adapter sends rtx.im.captured at the same rate to a user
 *   online on a client; latency = from the adapter's send until the client
 *   receives the message.
 * Prints one JSON object (p50/p99/max in ms per direction) as its last line.
 * The gateway side alone; `npm run bench:rtx` (run.ts) measures the whole path with the
 * real adapter and the simulator.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { HuitongClient } from '../../client/src/index.js';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { benchConfig } from '../lib/gateway.js';
import { nextFinishedRun, ScriptedAdapter } from '../lib/rtx.js';
import { percentile, round } from '../lib/stats.js';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const dir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-relay-'));
const teardowns: (() => unknown)[] = [];
try {
  const dataDir = path.join(dir, 'gw');
  const gw = await buildGateway(benchConfig(dataDir), { log: createLogger('silent'), adminSocket: false });
  await gw.start();
  teardowns.push(() => gw.stop());
  const ca = readFileSync(path.join(dataDir, 'tls', 'self-signed.crt'), 'utf8');
  const adapter = await ScriptedAdapter.connect(gw, ca, path.join(dir, 'adapter'));
  teardowns.push(() => adapter.close());
  const user = (account: string) => ({ account, name: account, gender: 'male' as const, mobile: '', email: '', phone: '', title: '', disabled: false, deptIds: ['1'] });
  await adapter.sendSnapshot({ depts: [{ id: '1', parentId: null, name: '总公司', order: 0 }], users: [user('rtxuser'), user('rtxsender')], groups: [] });
  await nextFinishedRun(gw, 0);
  const password = 'bench-password-1';
  await gw.services.directory.createUser({ account: 'phone1', name: 'phone1', passwordHash: await hashPassword(password), authorised: true });
  const rtxUser = (await gw.services.directory.getUserByAccount('rtxuser'))?.id as UserId;
  const client = new HuitongClient({ url: `wss://127.0.0.1:${gw.ports().https}/ws`, ca, device: { id: 'bench-relay', type: 'web' }, credentials: { account: 'phone1', password } });
  teardowns.push(() => client.close());
  await client.connect();
  const phone = { client };
  const total = RATE * SECONDS;

  // to RTX
  const sentAt = new Map<string, number>();
  const toRtx: number[] = [];
  adapter.channel.on('gw.im.send', (body) => {
    const b = body as { text: string };
    const t0 = sentAt.get(b.text);
    if (t0 !== undefined) toRtx.push(performance.now() - t0);
  });
  for (let i = 0; i < total; i++) {
    const text = `to-rtx ${i}`;
    sentAt.set(text, performance.now());
    void phone.client.sendText({ kind: 'user', id: rtxUser }, text);
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  while (toRtx.length < total) await new Promise((r) => setTimeout(r, 20));

  // from RTX
  const capturedAt = new Map<string, number>();
  const fromRtx: number[] = [];
  phone.client.on('message', (m) => {
    const t0 = capturedAt.get((m.body as { text?: string }).text ?? '');
    if (t0 !== undefined) fromRtx.push(performance.now() - t0);
  });
  for (let i = 0; i < total; i++) {
    const text = `from-rtx ${i}`;
    capturedAt.set(text, performance.now());
    void adapter.send('rtx.im.captured', { imMessageId: `bench-${i}`, kind: 'single', sender: 'rtxsender', receivers: ['phone1'], sessionKey: '', text, timeMs: Date.now(), via: 'com' });
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  while (fromRtx.length < total) await new Promise((r) => setTimeout(r, 20));

  const stats = (xs: number[]) => ({ p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)), max: round(Math.max(...xs)) });
  console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, messages: total, to_rtx_ms: stats(toRtx), from_rtx_ms: stats(fromRtx) }));
} finally {
  for (const fn of teardowns.reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
}
