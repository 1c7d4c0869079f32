import t from 'tap';
import { ClientFrame, type BodyByKind, type Conversation, type MessageId, type MessageView } from '../../gateway/src/protocol/client-v1.js';
import type { HuitongClient } from '../../client/src/index.js';
import { codeOf, Inbox, makeClient, nextEvent, online, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

/** The user's whole inbox as msg.sync returns it now. */
async function syncAll(client: HuitongClient): Promise<MessageView[]> {
  const out: MessageView[] = [];
  for (let after = 0; ; ) {
    const page = await client.request(ClientFrame.Sync, { after, limit: 500 });
    out.push(...page.messages);
    if (!page.more || page.messages.length === 0) return out;
    after = (page.messages[page.messages.length - 1] as MessageView).seq;
  }
}

const recallOf = (m: MessageView) => (m.kind === 'recall' ? (m.body as BodyByKind['recall']).messageId : null);

t.test('a recall within the window reaches every device, the offline one included, and marks the original', async (t) => {
  const gw = await startGateway(t);
  const [a, b, c] = [await gw.addUser('alice'), await gw.addUser('bob'), await gw.addUser('carol')];
  const g = await gw.gw.services.directory.createGroup('评审群', a.id, [a.id, b.id, c.id]);
  const group: Conversation = { kind: 'group', id: g.id };
  const alice = await online(t, gw, 'alice');
  const aliceDesk = await online(t, gw, 'alice', { via: 'tcp', deviceType: 'desktop' });
  const bob = await online(t, gw, 'bob', { via: 'tcp' });
  const carol = await online(t, gw, 'carol');

  const hello = await alice.client.sendText(group, 'before carol leaves');
  await carol.inbox.byId(hello.id);
  const token = carol.client.auth?.token as string;
  const carolSeq = carol.client.lastSeq;
  await carol.client.close();

  const wrongText = await alice.client.sendText(group, '会议改到 4 点（发错了）');
  await bob.inbox.byId(wrongText.id);
  // a client may pick any cmid, even one that looks like the server's name for a recall
  const lookalike = await alice.client.sendText(group, 'not a recall', { cmid: `recall:${wrongText.id}` });
  await bob.inbox.byId(lookalike.id);
  const recall = await alice.client.recall(wrongText.id);
  t.ok(recall.id > lookalike.id, 'the recall is a new message, not a client message with a lookalike cmid');
  for (const dev of [bob.inbox, alice.inbox, aliceDesk.inbox]) {
    const m = await dev.byId(recall.id, `the recall on ${dev.client.auth?.deviceId}`);
    t.equal(m.kind, 'recall', `${dev.client.auth?.deviceId} gets a recall message`);
    t.equal(recallOf(m), wrongText.id, 'whose body names the original');
    t.equal(m.from, a.id);
    t.same(m.to, group, 'in the same conversation');
  }

  const again = await alice.client.recall(wrongText.id);
  t.equal(again.id, recall.id, 'recalling again answers with the same recall message');

  // carol comes back and catches up: the original is marked recalled, the recall follows it
  const back = makeClient(t, gw, null, { token, lastSeq: carolSeq });
  const backInbox = new Inbox(back);
  await within(back.connect(), WAIT_MS, 'carol to resume');
  await backInbox.byId(recall.id, 'the recall at carol after she syncs');
  const original = backInbox.messages.find((m) => m.id === wrongText.id);
  t.equal(original?.recalled, true, 'carol’s sync shows the original as recalled');
  t.equal(backInbox.messages.filter((m) => recallOf(m) === wrongText.id).length, 1, 'and one recall message');
  for (const who of [bob.client, alice.client]) {
    const inbox = await syncAll(who);
    t.equal(inbox.find((m) => m.id === wrongText.id)?.recalled, true, `a later sync by ${who.user?.account} shows it recalled`);
    t.notOk(inbox.find((m) => m.id === hello.id)?.recalled, 'other messages are not');
  }

  // 1:1 as well
  const oops = await bob.client.sendText({ kind: 'user', id: a.id }, 'wrong chat');
  await alice.inbox.byId(oops.id);
  const r11 = await bob.client.recall(oops.id);
  for (const dev of [alice.inbox, aliceDesk.inbox, bob.inbox]) t.equal(recallOf(await dev.byId(r11.id)), oops.id, `1:1 recall on ${dev.client.auth?.deviceId}`);
  t.notOk(backInbox.messages.some((m) => m.id === r11.id), 'a 1:1 recall does not reach people outside the conversation');
});

t.test('recall is refused to others than the sender and after two minutes', async (t) => {
  const gw = await startGateway(t);
  const [a, b] = [await gw.addUser('alice'), await gw.addUser('bob')];
  const g = await gw.gw.services.directory.createGroup('g', a.id, [a.id, b.id]);
  const alice = await online(t, gw, 'alice');
  const bob = await online(t, gw, 'bob');
  const msg = await alice.client.sendText({ kind: 'group', id: g.id }, 'mine to recall');
  await bob.inbox.byId(msg.id);

  t.equal(await codeOf(bob.client.recall(msg.id)), 'GW_FORBIDDEN', 'bob may not recall alice’s message');
  t.equal(await codeOf(alice.client.recall(999_999 as MessageId)), 'GW_NOT_FOUND', 'an unknown id is not found');

  const old = await alice.client.sendText({ kind: 'user', id: b.id }, 'sent long ago');
  await bob.inbox.byId(old.id);
  gw.gw.services.db.prepare('UPDATE messages SET created_at = ? WHERE id = ?').run(Date.now() - 2 * 60_000 - 1_000, old.id);
  t.equal(await codeOf(alice.client.recall(old.id)), 'GW_RECALL_EXPIRED', 'a message older than two minutes cannot be recalled');

  // nothing was recalled by the refused attempts: a later message arrives with no recall before it
  const after = await alice.client.sendText({ kind: 'group', id: g.id }, 'after the refusals');
  await bob.inbox.byId(after.id);
  t.equal(bob.inbox.messages.filter((m) => m.kind === 'recall').length, 0, 'no recall message was delivered');
  const inbox = await syncAll(bob.client);
  t.notOk(inbox.find((m) => m.id === msg.id)?.recalled, 'the message bob tried to recall is intact');
  t.notOk(inbox.find((m) => m.id === old.id)?.recalled, 'the old message is intact');

  const ok = await alice.client.recall(msg.id);
  const rm = await bob.inbox.byId(ok.id);
  t.equal(await codeOf(alice.client.recall(rm.id)), 'GW_NOT_FOUND', 'a recall message itself cannot be recalled');
});

t.test('1:1 read receipts reach the sender and the reader’s other devices', async (t) => {
  const gw = await startGateway(t);
  const [a, b] = [await gw.addUser('alice'), await gw.addUser('bob')];
  const alice = await online(t, gw, 'alice');
  const bob = await online(t, gw, 'bob', { via: 'tcp' });
  const bobPhone = await online(t, gw, 'bob', { deviceType: 'ios' });
  const ids = [];
  for (const text of ['one', 'two', 'three']) ids.push((await alice.client.sendText({ kind: 'user', id: b.id }, text)).id);
  const last = ids[2] as MessageId;
  await bob.inbox.byId(last);
  t.same(await alice.client.readCounts(ids), ids.map((id) => ({ id, read: 0, members: 1 })), 'unread at first');

  const toAlice = nextEvent(alice.client, 'receipt', (r) => r.reader === b.id);
  const toPhone = nextEvent(bobPhone.client, 'receipt', (r) => r.reader === b.id);
  await bob.client.markRead({ kind: 'user', id: a.id }, last);
  const r = await toAlice;
  t.equal(r.upTo, last, 'alice learns how far bob read');
  t.same(r.conv, { kind: 'user', id: a.id }, 'named as bob named it: his conversation with alice');
  const p = await toPhone;
  t.equal(p.upTo, last, 'bob’s phone learns it too, to clear its unread count');
  t.same(await alice.client.readCounts(ids), ids.map((id) => ({ id, read: 1, members: 1 })), 'every message up to upTo now counts as read');

  const reply = await bob.client.sendText({ kind: 'user', id: a.id }, 'got it');
  await alice.inbox.byId(reply.id);
  const toBob = nextEvent(bob.client, 'receipt', (x) => x.reader === a.id);
  await alice.client.markRead({ kind: 'user', id: b.id }, reply.id);
  t.same(await toBob, { conv: { kind: 'user', id: b.id }, reader: a.id, upTo: reply.id }, 'and the other way round');
});

t.test('group read counts rise as members read', async (t) => {
  const gw = await startGateway(t);
  const users = [await gw.addUser('alice'), await gw.addUser('bob'), await gw.addUser('carol'), await gw.addUser('dave'), await gw.addUser('erin')];
  const [a, b, c, d] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
  const g = await gw.gw.services.directory.createGroup('读回执', a.id, [a.id, b.id, c.id, d.id]);
  const group: Conversation = { kind: 'group', id: g.id };
  const alice = await online(t, gw, 'alice');
  const readers = { bob: await online(t, gw, 'bob'), carol: await online(t, gw, 'carol', { via: 'tcp' }), dave: await online(t, gw, 'dave') };
  const m1 = (await alice.client.sendText(group, 'first')).id;
  const m2 = (await alice.client.sendText(group, 'second')).id;
  for (const r of Object.values(readers)) await r.inbox.byId(m2);

  const counts = async () => Object.fromEntries((await alice.client.readCounts([m1, m2])).map((x) => [x.id, [x.read, x.members]]));
  t.same(await counts(), { [m1]: [0, 3], [m2]: [0, 3] }, 'nobody has read yet; three members other than alice');

  const steps: [keyof typeof readers, MessageId, number, Record<number, number[]>][] = [
    ['bob', m2, b.id, { [m1]: [1, 3], [m2]: [1, 3] }],
    ['carol', m1, c.id, { [m1]: [2, 3], [m2]: [1, 3] }],
    ['dave', m2, d.id, { [m1]: [3, 3], [m2]: [2, 3] }],
    ['carol', m2, c.id, { [m1]: [3, 3], [m2]: [3, 3] }],
  ];
  for (const [who, upTo, readerId, expected] of steps) {
    const receipt = nextEvent(alice.client, 'receipt', (r) => r.reader === readerId && r.upTo === upTo);
    await readers[who].client.markRead(group, upTo);
    t.same((await receipt).conv, group, `alice gets ${who}'s receipt up to ${upTo === m1 ? 'the first' : 'the second'} message`);
    t.same(await counts(), expected, `counts after ${who} read`);
  }
  await readers.bob.client.markRead(group, m1);
  t.same(await counts(), { [m1]: [3, 3], [m2]: [3, 3] }, 'reading an older message never moves a pointer back');

  const erin = await online(t, gw, 'erin');
  t.same(await erin.client.readCounts([m1, m2]), [], 'someone outside the group sees no counts');
  t.equal(await codeOf(erin.client.markRead(group, m1)), 'GW_NOT_MEMBER', 'and cannot mark the group read');
});
