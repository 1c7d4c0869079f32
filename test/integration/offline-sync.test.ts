import t from 'tap';
import { MAX_SYNC_PAGE, type BodyByKind, type Conversation, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';
import type { HuitongClient } from '../../client/src/index.js';
import { countingTransport, Inbox, makeClient, online, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

interface Sent {
  id: number;
  from: UserId;
  to: Conversation;
  text: string;
}

/** Sends `n` texts in chunks (each chunk pipelined, within the per-connection frame rate) and returns what was sent. */
async function sendMany(client: HuitongClient, to: Conversation, n: number, label: string): Promise<Sent[]> {
  const out: Sent[] = [];
  const from = client.user?.id as UserId;
  for (let i = 0; i < n; i += 100) {
    const texts = Array.from({ length: Math.min(100, n - i) }, (_, k) => `${label} #${i + k}`);
    const acks = await Promise.all(texts.map((text) => client.sendText(to, text)));
    acks.forEach((ack, k) => out.push({ id: ack.id, from, to, text: texts[k] as string }));
  }
  return out;
}

const textOf = (m: MessageView) => (m.body as BodyByKind['text']).text;
const isAscending = (seqs: number[]) => seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1);

t.test('a user who was away gets everything sent meanwhile, once each, in seq order, over several sync pages', async (t) => {
  const gw = await startGateway(t);
  const accounts = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'];
  const users = [];
  for (const account of accounts) users.push(await gw.addUser(account));
  const [a, c] = [users[0], users[2]] as [(typeof users)[0], (typeof users)[0]];
  const g = await gw.gw.services.directory.createGroup('研发群', a.id, users.map((u) => u.id));
  const group: Conversation = { kind: 'group', id: g.id };
  // five senders, some on WSS and some on TLS TCP
  const senders = [
    await online(t, gw, 'alice'),
    await online(t, gw, 'bob'),
    await online(t, gw, 'dave', { via: 'tcp' }),
    await online(t, gw, 'frank'),
    await online(t, gw, 'gina', { via: 'tcp' }),
  ];
  const alice = senders[0] as (typeof senders)[0];

  // carol is online for a while on her phone, receives and sends a little, then goes away
  const phone = await online(t, gw, 'carol', { deviceType: 'ios' });
  const early = await sendMany(alice.client, { kind: 'user', id: c.id }, 5, 'early from alice');
  await phone.inbox.until((ms) => ms.length === 5, 'the early messages on carol’s phone');
  await phone.client.sendText({ kind: 'user', id: a.id }, 'carol before leaving');
  await phone.client.sendText(group, 'carol to the group before leaving');
  await phone.inbox.until((ms) => ms.length === 7, 'carol’s own messages on her phone');
  const token = phone.client.auth?.token as string;
  const seenBefore = phone.client.lastSeq;
  t.equal(seenBefore, 7);
  await phone.client.close();

  // while she is away: 1:1 and group messages from five senders, WSS and TCP
  const away: Sent[] = [];
  const results = await Promise.all(
    senders.flatMap((s) => [
      sendMany(s.client, { kind: 'user', id: c.id }, 150, `${s.client.user?.account}→carol`),
      sendMany(s.client, group, 70, `${s.client.user?.account}→group`),
    ]),
  );
  for (const r of results) away.push(...r);
  t.equal(away.length, 1100, 'hundreds of messages were sent while she was away');
  t.ok(away.length > 2 * MAX_SYNC_PAGE, 'more than two sync pages’ worth');

  // she comes back on the same phone: resume with the token and the seq she had
  const frames: string[] = [];
  const back = makeClient(t, gw, null, { token, lastSeq: seenBefore, device: { id: phone.client.auth?.deviceId as string, type: 'ios' }, transportFactory: countingTransport(frames) });
  const inbox = new Inbox(back);
  const auth = await within(back.connect(), WAIT_MS, 'carol to resume');
  t.equal(auth.user.id, c.id, 'the token resumes carol’s session');
  t.equal(auth.lastSeq, seenBefore + away.length, 'her inbox holds everything sent while she was away');
  await inbox.until((ms) => ms.length >= away.length, 'everything sent while carol was away', 20_000);
  // a live message after the catch-up: anything delivered twice would have come before it
  const welcome = await alice.client.sendText({ kind: 'user', id: c.id }, 'welcome back');
  await inbox.byId(welcome.id, 'a live message after the catch-up');
  t.equal(inbox.messages.at(-1)?.id, welcome.id, 'live messages follow the catch-up');

  const got = inbox.messages.filter((m) => m.id !== welcome.id);
  t.equal(got.length, away.length, 'each message once');
  t.equal(got[0]?.seq, seenBefore + 1, 'starting right after the last seq she had');
  t.ok(isAscending(got.map((m) => m.seq)), 'in seq order with no gaps');
  t.equal(new Set(got.map((m) => m.id)).size, got.length, 'no message twice');
  const byId = new Map(got.map((m) => [m.id as number, m]));
  const wrong = away.filter((s) => {
    const m = byId.get(s.id);
    return !m || m.from !== s.from || textOf(m) !== s.text || JSON.stringify(m.to) !== JSON.stringify(s.to.kind === 'user' ? { kind: 'user', id: c.id } : s.to);
  });
  t.same(wrong, [], 'every message arrived with its sender, addressee and text');
  for (const sender of senders.map((s) => s.client.user?.id as UserId)) {
    const ids = got.filter((m) => m.from === sender).map((m) => m.id);
    t.same(ids, [...ids].sort((x, y) => x - y), `messages from user ${sender} arrive in the order sent`);
  }
  const syncs = frames.filter((f) => f === 'msg.sync').length;
  t.ok(syncs >= Math.ceil(away.length / MAX_SYNC_PAGE), `the catch-up took several msg.sync pages (${syncs} for ${away.length} messages)`);
  t.notOk(early.some((s) => byId.has(s.id)), 'nothing she already had is delivered again');

  // erin never connected before: her first login brings the whole group history
  const erin = await online(t, gw, 'erin');
  const groupSent = [...away.filter((s) => s.to.kind === 'group')];
  await erin.inbox.until((ms) => ms.length >= groupSent.length + 1, 'the group history at erin’s first login', 20_000);
  t.equal(erin.inbox.messages.length, groupSent.length + 1, 'erin gets every group message once (carol’s included)');
  t.ok(isAscending(erin.inbox.messages.map((m) => m.seq)) && erin.inbox.messages[0]?.seq === 1, 'from seq 1, in order');
});

t.test('a second device sees what the user sent from the first and what they received', async (t) => {
  const gw = await startGateway(t);
  const [a, c] = [await gw.addUser('alice'), await gw.addUser('carol')];
  const g = await gw.gw.services.directory.createGroup('二人群', a.id, [a.id, c.id]);
  const alice = await online(t, gw, 'alice');
  const laptop = await online(t, gw, 'carol', { deviceType: 'desktop', via: 'tcp' });

  const sent = [
    ...(await sendMany(laptop.client, { kind: 'user', id: a.id }, 30, 'carol laptop→alice')),
    ...(await sendMany(alice.client, { kind: 'user', id: c.id }, 30, 'alice→carol')),
    ...(await sendMany(laptop.client, { kind: 'group', id: g.id }, 20, 'carol laptop→group')),
    ...(await sendMany(alice.client, { kind: 'group', id: g.id }, 20, 'alice→group')),
  ];
  await laptop.inbox.until((ms) => ms.length === sent.length, 'everything on carol’s laptop');

  // a phone that never connected before catches up on the whole inbox
  const phone = await online(t, gw, 'carol', { deviceType: 'android' });
  await phone.inbox.until((ms) => ms.length === sent.length, 'carol’s whole inbox on her new phone');
  t.same(
    phone.inbox.messages.map((m) => [m.seq, m.id]),
    laptop.inbox.messages.map((m) => [m.seq, m.id]),
    'the phone holds the same inbox, seq for seq, as the laptop',
  );
  t.equal(phone.inbox.messages.filter((m) => m.from === c.id).length, 50, 'including what she sent from the laptop');
  t.equal(phone.inbox.messages.filter((m) => m.from === a.id).length, 50, 'and what she received');

  // from now on each of her devices gets the other's sends and her incoming messages live
  const fromLaptop = await laptop.client.sendText({ kind: 'user', id: a.id }, 'sent from the laptop while the phone is online');
  const m = await phone.inbox.byId(fromLaptop.id, 'the laptop’s send on the phone');
  t.equal(m.from, c.id);
  t.same(m.to, { kind: 'user', id: a.id }, 'shown in her conversation with alice');
  const fromPhone = await phone.client.sendText({ kind: 'group', id: g.id }, 'sent from the phone');
  await laptop.inbox.byId(fromPhone.id, 'the phone’s send on the laptop');
  await alice.inbox.byId(fromPhone.id);
  const reply = await alice.client.sendText({ kind: 'user', id: c.id }, 'reply to both devices');
  await Promise.all([phone.inbox.byId(reply.id), laptop.inbox.byId(reply.id)]);
  for (const dev of [phone.inbox, laptop.inbox]) {
    for (const id of [fromLaptop.id, fromPhone.id, reply.id]) t.equal(dev.count(id), 1, `message ${id} arrived once on ${dev.client.auth?.deviceId}`);
  }
});
