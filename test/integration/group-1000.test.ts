import t from 'tap';
import type { GroupId, MessageId, UserId } from '../../gateway/src/protocol/client-v1.js';
import type { HuitongClient } from '../../client/src/index.js';
import { issueToken, makeClient, uniqueDeviceId, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

const MEMBERS = 1000;
/** Clients connecting at once: enough to be quick, few enough not to trip the handshake timeout on a slow machine. */
const CONNECT_CONCURRENCY = 50;

interface Member {
  userId: UserId;
  client: HuitongClient;
  /** How many times each message id arrived through 'message'. */
  got: Map<number, number>;
}

/** Resolves once every member has received message `id` at least once. */
function everyoneHas(members: Member[], id: MessageId, what: string, ms: number): Promise<void> {
  const missing = new Set(members.filter((m) => !m.got.has(id)));
  if (missing.size === 0) return Promise.resolve();
  const done = new Promise<void>((resolve) => {
    for (const m of missing) {
      const listener = (msg: { id: number }) => {
        if (msg.id !== id) return;
        m.client.off('message', listener);
        missing.delete(m);
        if (missing.size === 0) resolve();
      };
      m.client.on('message', listener);
    }
  });
  return within(done, ms, `${what}; ${missing.size} of ${members.length} connections still without it`).catch((e: Error) => {
    throw new Error(`${e.message}; e.g. users ${[...missing].slice(0, 5).map((m) => m.userId).join(', ')}`);
  });
}

t.test('one message to a 1,000-member group reaches every online member exactly once', async (t) => {
  const started = Date.now();
  const gw = await startGateway(t, { config: { 'limits.maxConnections': 5000 } });
  const dir = gw.gw.services.directory;

  const users = [];
  for (let i = 0; i < MEMBERS; i++) users.push(await gw.addUser(`member${String(i).padStart(4, '0')}`, { name: `成员${i}` }));
  const sender = users[0] as (typeof users)[number];
  const g = await dir.createGroup('全员群', sender.id, users.map((u) => u.id));
  t.equal(g.memberIds.length, MEMBERS, 'the group has 1,000 members');
  t.comment(`users and group created in ${Date.now() - started} ms`);

  // Every member online on one device, via resume with a token issued in the
  // database (a password login per member would spend the test on scrypt);
  // the sender also on a second device. A quarter use TLS TCP, the rest WSS.
  const members: Member[] = [];
  const plan: { userId: UserId; via: 'wss' | 'tcp' }[] = users.map((u, i) => ({ userId: u.id, via: i % 4 === 3 ? 'tcp' : 'wss' }));
  plan.push({ userId: sender.id, via: 'tcp' });
  const connectStarted = Date.now();
  for (let i = 0; i < plan.length; i += CONNECT_CONCURRENCY) {
    await Promise.all(
      plan.slice(i, i + CONNECT_CONCURRENCY).map(async (p) => {
        const deviceKey = uniqueDeviceId(`m${p.userId}`);
        const token = await issueToken(gw, p.userId, deviceKey);
        const client = makeClient(t, gw, null, { via: p.via, token, device: { id: deviceKey, type: p.via === 'tcp' ? 'desktop' : 'web' } });
        const m: Member = { userId: p.userId, client, got: new Map() };
        client.on('message', (msg) => m.got.set(msg.id, (m.got.get(msg.id) ?? 0) + 1));
        await within(client.connect(), WAIT_MS, `member ${p.userId} to resume`);
        members.push(m);
      }),
    );
  }
  t.comment(`${members.length} connections online in ${Date.now() - connectStarted} ms`);
  t.equal(gw.gw.sessions.onlineUsers, MEMBERS, 'all 1,000 members are online');
  t.equal(gw.gw.sessions.connectionCount, MEMBERS + 1, "and the sender's second device");

  const senderDevice = members.find((m) => m.userId === sender.id) as Member;
  const framesBefore = gw.gw.sessions.deliveredFrames;
  const sendStarted = Date.now();
  const ack = await senderDevice.client.sendText({ kind: 'group', id: g.id as GroupId }, '全体成员：明天上午九点开会');
  await everyoneHas(members, ack.id, 'the group message at every connection', 30_000);
  t.comment(`delivered to ${members.length} connections in ${Date.now() - sendStarted} ms`);

  // Pushes to one connection come in seq order: once a second message has
  // arrived everywhere, any duplicate of the first would have arrived too.
  const barrier = await senderDevice.client.sendText({ kind: 'group', id: g.id as GroupId }, 'barrier');
  await everyoneHas(members, barrier.id, 'the second group message at every connection', 30_000);

  const counts = new Map<number, number>();
  for (const m of members) {
    const n = m.got.get(ack.id) ?? 0;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  t.same(Object.fromEntries(counts), { 1: MEMBERS + 1 }, 'each of the 1,001 connections got the message exactly once');
  const senderDevices = members.filter((m) => m.userId === sender.id);
  t.equal(senderDevices.length, 2);
  for (const d of senderDevices) t.equal(d.got.get(ack.id), 1, "the sender's devices each got it once");
  // the sending device may learn of its own message from the ack instead of a push
  const frames = gw.gw.sessions.deliveredFrames - framesBefore;
  t.ok(frames >= 2 * MEMBERS && frames <= 2 * (MEMBERS + 1), `the server wrote each message at most once per connection (${frames} frames for 2 messages)`);
  const wrong = members.filter((m) => {
    const seen = [...m.got.keys()];
    return seen.length !== 2 || !seen.includes(ack.id) || !seen.includes(barrier.id);
  });
  t.equal(wrong.length, 0, 'no connection got anything else');
  t.comment(`whole test ${Date.now() - started} ms`);
});
