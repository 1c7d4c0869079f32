import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { HuitongClient, MemoryStore, type ClientStore, type SendAck } from '../../client/src/index.js';
import { ClientFrame, type Conversation, type GroupId, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';
import { tempDir } from '../helpers/gateway.js';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/process.js';

/*
 * Durability acceptance: 20 users on a real server process send 10 000
 * messages (1:1 and into a group) as fast as acknowledgements allow; the
 * server is killed with SIGKILL halfway and restarted on the same data
 * directory (on new ports). Clients come back with their stores and re-send
 * what was not acknowledged with the original cmid. Every device must then
 * hold every message addressed to its user exactly once, in gap-free seq
 * order, and nothing that was never sent.
 */

const USERS = 20;
const PER_USER = 500; // 10 000 messages in all
const GROUP_EVERY = 5; // every 5th message goes to the group: 2 000 group messages
const WINDOW = 50; // sends in flight per client
const PASSWORD = 'durable-pass-1';
const TOTAL = USERS * PER_USER;

interface Planned {
  cmid: string;
  from: UserId;
  to: Conversation;
  text: string;
  attempted: boolean;
  ack: SendAck | null;
  /** Acks seen for this cmid (the first run's and the re-send's). */
  acks: SendAck[];
  resent: boolean;
}

interface Device {
  label: string;
  userId: UserId;
  deviceId: string;
  url: (s: ServerProcess) => string;
  store: ClientStore;
  client: HuitongClient | null;
  received: MessageView[];
  warnings: string[];
}

const dir = tempDir(t, 'huitong-durability-');
let server: ServerProcess | null = null;
t.teardown(async () => {
  for (const d of devices) await d.client?.close();
  if (server) await server.kill9();
});
const devices: Device[] = [];

function failAfter(ms: number, what: string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  const f = failAfter(ms, what);
  try {
    return await Promise.race([p, f.promise]);
  } finally {
    f.cancel();
  }
}

// ---- the directory: 20 users and one group of all of them, set up with the CLI before the server starts ----

const seeded = await runCli(['demo', 'seed', '--users', String(USERS), '--password', PASSWORD, '--data', dir]);
if (seeded.code !== 0) throw new Error(`demo seed failed: ${seeded.stderr}`);
const listed = await runCli(['user', 'list', '--limit', '1000', '--data', dir]);
const users = (JSON.parse(listed.stdout) as { users: { id: UserId; account: string }[] }).users;
if (users.length !== USERS) throw new Error(`expected ${USERS} users, got ${users.length}`);
const created = await runCli(['group', 'create', '耐久测试群', '--members', users.map((u) => u.account).join(','), '--data', dir]);
if (created.code !== 0) throw new Error(`group create failed: ${created.stderr}`);
const group = JSON.parse(created.stdout) as { id: GroupId; memberIds: UserId[] };

// ---- the plan and the ledger ----

const ledger = new Map<string, Planned>();
const plans = new Map<UserId, Planned[]>();
for (const [i, u] of users.entries()) {
  const plan: Planned[] = [];
  for (let k = 0; k < PER_USER; k++) {
    const toGroup = k % GROUP_EVERY === 0;
    const peer = users[(i + 1 + (k % (USERS - 1))) % USERS] as { id: UserId };
    const cmid = `d-${u.id}-${k}`;
    const p: Planned = {
      cmid, from: u.id,
      to: toGroup ? { kind: 'group', id: group.id } : { kind: 'user', id: peer.id },
      text: `${toGroup ? '群' : '私'}消息 ${u.account} #${k}`,
      attempted: false, ack: null, acks: [], resent: false,
    };
    plan.push(p);
    ledger.set(`${u.id}/${cmid}`, p);
  }
  plans.set(u.id, plan);
}
let acked = 0;
let onAck: () => void = () => undefined;

function addDevice(label: string, userId: UserId, deviceId: string, url: (s: ServerProcess) => string): Device {
  const d: Device = { label, userId, deviceId, url, store: new MemoryStore(), client: null, received: [], warnings: [] };
  devices.push(d);
  return d;
}

for (const u of users) addDevice(`${u.account}/desk`, u.id, `desk-${u.id}`, (s) => s.wss);
// second devices of two users, on TLS TCP, that only read
for (const u of [0, 1].map((i) => users[i] as { id: UserId; account: string })) addDevice(`${u.account}/phone`, u.id, `phone-${u.id}`, (s) => s.tcp);

/** A client for the device on the current server: the same store, device id, position and token as before. */
function clientFor(d: Device, s: ServerProcess, ca: string): HuitongClient {
  const u = users.find((x) => x.id === d.userId) as { account: string };
  const old = d.client;
  const c = new HuitongClient({
    url: d.url(s),
    ca,
    device: { id: d.deviceId, type: d.deviceId.startsWith('phone') ? 'ios' : 'desktop' },
    credentials: { account: u.account, password: PASSWORD },
    store: d.store,
    ...(old ? { lastSeq: old.lastSeq, ...(old.auth ? { token: old.auth.token } : {}) } : {}),
    requestTimeoutMs: 30_000,
    clientName: 'durability-test',
  });
  c.on('message', (m) => d.received.push(m));
  c.on('warning', (w) => d.warnings.push(`${w.code}: ${w.message}`));
  d.client = c;
  return c;
}

/** Sends the entries in order with at most WINDOW in flight; stops early when `stop()` says so. */
async function pump(c: HuitongClient, entries: Planned[], stop: () => boolean): Promise<void> {
  const inflight = new Set<Promise<void>>();
  for (const p of entries) {
    while (inflight.size >= WINDOW && !stop()) await Promise.race(inflight);
    if (stop()) break;
    p.attempted = true;
    const sending: Promise<void> = c
      .sendText(p.to, p.text, { cmid: p.cmid })
      .then(
        (ack) => {
          p.acks.push(ack);
          if (!p.ack) {
            p.ack = ack;
            acked++;
            onAck();
          }
        },
        () => undefined, // the first run's clients are closed under pending sends; the ledger decides what is re-sent
      )
      .finally(() => inflight.delete(sending));
    inflight.add(sending);
  }
  await Promise.all(inflight);
}

const started = Date.now();

t.test('first run: half the messages are acknowledged, then the server is killed with SIGKILL', async (t) => {
  server = await startServerProcess(dir);
  const s = server;
  const ca = readFileSync(path.join(dir, 'tls', 'self-signed.crt'), 'utf8');
  await Promise.all(devices.map((d) => clientFor(d, s, ca).connect()));
  t.pass(`${devices.length} devices online in ${Date.now() - started} ms`);

  let killed = false;
  const kill = new Promise<void>((resolve) => {
    onAck = () => {
      if (killed || acked < TOTAL / 2) return;
      killed = true;
      resolve(s.kill9());
    };
  });
  const pumps = users.map((u) => pump((devices.find((d) => d.deviceId === `desk-${u.id}`) as Device).client as HuitongClient, plans.get(u.id) ?? [], () => killed));
  await within(120_000, `half of ${TOTAL} messages acknowledged (${acked} so far)`, kill);
  const atKill = acked;
  t.ok(s.proc.signalCode === 'SIGKILL', 'the server died of SIGKILL');
  // the clients notice and try to reconnect to the dead ports; stop them, keeping their stores
  for (const d of devices) await d.client?.close();
  await within(30_000, 'the senders to stop', Promise.all(pumps));
  const attempted = [...ledger.values()].filter((p) => p.attempted).length;
  t.ok(atKill >= TOTAL / 2 && acked < TOTAL, `${acked} of ${TOTAL} acknowledged, ${attempted - acked} sent without an acknowledgement when the server died`);
  t.comment(`first run: ${Date.now() - started} ms`);
});

t.test('second run: restart on the same data directory, re-send what was not acknowledged with the original cmid', async (t) => {
  server = await startServerProcess(dir);
  const s = server;
  t.ok(s.wss.length > 0, `restarted; WSS now at ${s.wss}`);
  const ca = readFileSync(path.join(dir, 'tls', 'self-signed.crt'), 'utf8');
  await Promise.all(devices.map((d) => clientFor(d, s, ca).connect()));
  const unacked = [...ledger.values()].filter((p) => p.attempted && !p.ack);
  for (const p of unacked) p.resent = true;
  onAck = () => undefined;
  await within(
    120_000,
    `every message acknowledged (${acked} of ${TOTAL} so far)`,
    Promise.all(
      users.map((u) => {
        const plan = plans.get(u.id) ?? [];
        // first what the server may or may not have, with the same cmid; then what was never sent
        const order = [...plan.filter((p) => p.attempted && !p.ack), ...plan.filter((p) => !p.attempted)];
        return pump((devices.find((d) => d.deviceId === `desk-${u.id}`) as Device).client as HuitongClient, order, () => false);
      }),
    ),
  );
  t.equal(acked, TOTAL, 'every message is acknowledged');
  const duplicates = unacked.filter((p) => p.ack?.duplicate).length;
  t.comment(`re-sent ${unacked.length} unacknowledged messages; the server already had ${duplicates} of them`);
  t.ok([...ledger.values()].every((p) => p.acks.length === 1), 'each message was acknowledged once (the first run lost the others)');
});

t.test('every device holds every message addressed to its user exactly once, in gap-free seq order', async (t) => {
  if (!server) return t.fail('no server');
  const s = server;
  const ca = readFileSync(path.join(dir, 'tls', 'self-signed.crt'), 'utf8');
  // a third device of one user, first seen now, catches up from nothing
  const late = addDevice(`${users[2]?.account}/late`, (users[2] as { id: UserId }).id, `late-${users[2]?.id}`, (x) => x.wss);
  await clientFor(late, s, ca).connect();

  // completeness: poll msg.sync until the device has reached the inbox's lastSeq and it stops growing
  for (const d of devices) {
    const c = d.client as HuitongClient;
    for (let previous = -1; ; ) {
      const { lastSeq } = await c.request(ClientFrame.Sync, { after: c.lastSeq, limit: 1 });
      if (lastSeq === previous && c.lastSeq >= lastSeq) break;
      previous = lastSeq;
      await within(60_000, `${d.label} to reach seq ${lastSeq} (at ${c.lastSeq}; warnings: ${[...new Set(d.warnings)].join(' | ')})`, new Promise<void>((resolve) => {
        if (c.lastSeq >= lastSeq) return resolve();
        const check = () => {
          if (c.lastSeq < lastSeq) return;
          c.off('message', check);
          resolve();
        };
        c.on('message', check);
      }));
    }
  }

  const memberOf = new Set(group.memberIds);
  for (const d of devices) {
    const expected = [...ledger.values()].filter((p) => p.from === d.userId || (p.to.kind === 'user' ? p.to.id === d.userId : memberOf.has(d.userId)));
    const got = d.received;
    const seqs = got.map((m) => m.seq);
    const ids = new Set(got.map((m) => m.id));
    const keys = new Set(got.map((m) => `${m.from}/${m.cmid}`));
    const problems: string[] = [];
    if (ids.size !== got.length) problems.push(`${got.length - ids.size} duplicate message ids`);
    if (keys.size !== got.length) problems.push(`${got.length - keys.size} duplicates by (from, cmid)`);
    const gap = seqs.findIndex((x, i) => x !== i + 1);
    if (gap !== -1) problems.push(`seqs not 1..${got.length} without gaps: at index ${gap} came ${seqs[gap]}`);
    let missing = 0;
    let wrongId = 0;
    for (const p of expected) {
      if (!keys.has(`${p.from}/${p.cmid}`)) missing++;
    }
    let neverSent = 0;
    let altered = 0;
    for (const m of got) {
      const p = ledger.get(`${m.from}/${m.cmid}`);
      if (!p || !p.attempted) {
        neverSent++;
        continue;
      }
      if ((m.body as { text?: string }).text !== p.text || JSON.stringify(m.to) !== JSON.stringify(p.to)) altered++;
      if (m.id !== p.ack?.id) wrongId++;
      if (m.from === d.userId && m.seq !== p.ack?.seq && d.deviceId.startsWith('desk')) problems.push(`own message ${m.cmid} has seq ${m.seq}, acknowledged with ${p.ack?.seq}`);
    }
    if (missing) problems.push(`${missing} of ${expected.length} messages missing`);
    if (neverSent) problems.push(`${neverSent} messages that were never sent`);
    if (altered) problems.push(`${altered} messages with another text or addressee than sent`);
    if (wrongId) problems.push(`${wrongId} messages whose id differs from the acknowledged one`);
    t.same(problems.slice(0, 8), [], `${d.label}: ${got.length} messages, exactly the ${expected.length} addressed to the user (re-sent: ${expected.filter((p) => p.resent).length})`);
  }
  t.comment(`total ${Date.now() - started} ms`);
});

t.test('the restarted server stops cleanly', async (t) => {
  for (const d of devices) await d.client?.close();
  const s = server;
  if (!s) return t.fail('no server');
  server = null;
  t.equal(await s.stop(), 0, 'SIGTERM: exit 0');
});
