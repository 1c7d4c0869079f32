import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { ClientFrame, type BodyByKind, type Conversation, type GroupId, type MessageView, type SendableKind, type UserId } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, httpsRequest, online, type Inbox, type Teardown } from '../helpers/clients.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const user = (id: UserId): Conversation => ({ kind: 'user', id });
const group = (id: GroupId): Conversation => ({ kind: 'group', id });
const textOf = (m: MessageView) => (m.body as BodyByKind['text']).text;

/** alice and bob on WSS, carol on TLS TCP, all in one group. */
async function trio(t: Teardown, gw: TestGateway) {
  const [a, b, c] = [await gw.addUser('alice', { name: '王芳' }), await gw.addUser('bob', { name: '李娜' }), await gw.addUser('carol', { name: '张伟' })];
  const g = await gw.gw.services.directory.createGroup('项目组', a.id, [a.id, b.id, c.id]);
  const alice = await online(t, gw, 'alice', { via: 'wss' });
  const bob = await online(t, gw, 'bob', { via: 'wss' });
  const carol = await online(t, gw, 'carol', { via: 'tcp' });
  return { a, b, c, g, alice, bob, carol };
}

/**
 * Sends one more group message and waits until every inbox has it. Pushes to a
 * connection come in seq order, so after this anything sent earlier (a
 * duplicate included) has arrived.
 */
async function barrier(from: Inbox, groupId: GroupId, inboxes: Inbox[]): Promise<void> {
  const ack = await from.client.sendText(group(groupId), `barrier ${randomBytes(4).toString('hex')}`);
  await Promise.all(inboxes.map((i) => i.byId(ack.id, `the barrier message at ${i.client.user?.account}`)));
}

t.test('1:1 both ways and a group chat, across WSS and TLS TCP, each message once', async (t) => {
  const gw = await startGateway(t);
  const { a, b, c, g, alice, bob, carol } = await trio(t, gw);
  const everyone = [alice.inbox, bob.inbox, carol.inbox];

  const sent: { ack: { id: number }; from: UserId; to: Conversation; text: string; readers: Inbox[] }[] = [];
  const say = async (who: Inbox, from: UserId, to: Conversation, text: string, readers: Inbox[]) => {
    sent.push({ ack: await who.client.sendText(to, text), from, to, text, readers });
  };
  await say(alice.inbox, a.id, user(b.id), '你好 bob, from alice (WSS→WSS)', [alice.inbox, bob.inbox]);
  await say(bob.inbox, b.id, user(a.id), 'hello alice, from bob (WSS→WSS)', [alice.inbox, bob.inbox]);
  await say(carol.inbox, c.id, user(a.id), 'carol on TCP to alice on WSS', [alice.inbox, carol.inbox]);
  await say(alice.inbox, a.id, user(c.id), 'alice on WSS to carol on TCP', [alice.inbox, carol.inbox]);
  await say(alice.inbox, a.id, group(g.id), '群消息 from alice', everyone);
  await say(bob.inbox, b.id, group(g.id), 'group message from bob', everyone);
  await say(carol.inbox, c.id, group(g.id), 'group message from carol (TCP)', everyone);

  for (const s of sent) {
    for (const r of s.readers) {
      const m = await r.byId(s.ack.id, `"${s.text}" at ${r.client.user?.account}`);
      t.equal(m.from, s.from, `${r.client.user?.account} sees the right sender of "${s.text}"`);
      t.same(m.to, s.to, `and the right addressee`);
      t.equal(textOf(m), s.text, 'and the text as sent');
      t.equal(m.kind, 'text');
      t.equal(m.origin, 'client');
    }
  }
  await barrier(alice.inbox, g.id, everyone);
  for (const s of sent) {
    for (const r of everyone) {
      const expected = s.readers.includes(r) ? 1 : 0;
      t.equal(r.count(s.ack.id), expected, `${r.client.user?.account} got "${s.text}" ${expected} time(s)`);
    }
  }
  for (const r of everyone) {
    const seqs = r.messages.map((m) => m.seq);
    t.same(seqs, seqs.map((_, i) => i + 1), `${r.client.user?.account} got seq 1..${seqs.length} in order, no gaps`);
  }
});

t.test('a resend with the same cmid is acknowledged with the same id and not delivered twice', async (t) => {
  const gw = await startGateway(t);
  const { b, g, alice, bob, carol } = await trio(t, gw);
  const first = await alice.client.sendText(user(b.id), 'only once', { cmid: 'alice-cmid-1' });
  t.equal(first.duplicate, false);
  await bob.inbox.byId(first.id);
  const again = await alice.client.sendText(user(b.id), 'only once', { cmid: 'alice-cmid-1' });
  t.equal(again.id, first.id, 'the same message id');
  t.equal(again.seq, first.seq, "the same seq in the sender's inbox");
  t.equal(again.duplicate, true, 'marked as a duplicate');
  const groupFirst = await carol.client.sendText(group(g.id), 'group once', { cmid: 'carol-cmid-1' });
  const groupAgain = await carol.client.sendText(group(g.id), 'group once', { cmid: 'carol-cmid-1' });
  t.equal(groupAgain.id, groupFirst.id);
  t.equal(groupAgain.duplicate, true);

  await barrier(alice.inbox, g.id, [alice.inbox, bob.inbox, carol.inbox]);
  t.equal(bob.inbox.count(first.id), 1, 'bob got the 1:1 message once');
  t.equal(alice.inbox.count(first.id), 1, "alice's own copy arrived once");
  for (const r of [alice.inbox, bob.inbox, carol.inbox]) t.equal(r.count(groupFirst.id), 1, `${r.client.user?.account} got the group message once`);
  const synced = await bob.client.request(ClientFrame.Sync, { after: 0, limit: 500 });
  t.equal(synced.messages.filter((m) => m.id === first.id).length, 1, "bob's inbox holds it once");
});

t.test('@mentions arrive with the message', async (t) => {
  const gw = await startGateway(t);
  const { b, c, g, alice, bob, carol } = await trio(t, gw);
  const ack = await alice.client.sendText(group(g.id), '@李娜 @张伟 下午三点评审', { mentions: [b.id, c.id] });
  for (const r of [bob.inbox, carol.inbox, alice.inbox]) {
    const m = await r.byId(ack.id);
    t.same([...(m.mentions ?? [])].sort(), [b.id, c.id].sort(), `${r.client.user?.account} sees who was mentioned`);
  }
  const rich = await bob.client.send(group(g.id), 'rich', { segments: [{ text: '请 ' }, { text: '@张伟', mention: c.id }, { text: ' 看一下' }] }, { mentions: [c.id] });
  const m = await carol.inbox.byId(rich.id);
  t.same(m.mentions, [c.id]);
  t.equal((m.body as BodyByKind['rich']).segments[1]?.mention, c.id, 'the mention segment names carol');
  const plain = await alice.client.sendText(group(g.id), 'no mentions here');
  t.notOk((await bob.inbox.byId(plain.id)).mentions, 'a message without mentions carries none');

  const outsider = await gw.addUser('dave');
  t.equal(await codeOf(alice.client.sendText(group(g.id), '@dave', { mentions: [outsider.id] })), 'GW_BAD_REQUEST', 'mentioning a non-member of the group is refused');
});

t.test('every message kind round-trips: text, link, rich, image and file after upload', async (t) => {
  const gw = await startGateway(t);
  const { g, alice, bob, carol } = await trio(t, gw);
  const token = alice.client.auth?.token as string;
  const upload = async (bytes: Buffer) => {
    const r = await httpsRequest(gw, 'POST', '/files?kind=offline', { token, body: bytes });
    t.equal(r.status, 201, 'the upload is accepted');
    return r.json as { fileId: string; size: number };
  };
  const png = randomBytes(5000);
  const pdf = randomBytes(20_000);
  const img = await upload(png);
  const doc = await upload(pdf);
  t.equal(img.fileId, createHash('sha256').update(png).digest('hex'), 'the file id is the SHA-256 of the content');

  const cases: { kind: SendableKind; body: BodyByKind[SendableKind] }[] = [
    { kind: 'text', body: { text: '纯文本 with emoji 🎉 and "quotes" <b>not html</b>' } },
    { kind: 'link', body: { url: 'https://example.com/报告?x=1&y=2', title: '季度报告', description: '第三季度' } },
    { kind: 'rich', body: { title: '公告', segments: [{ text: '加粗', bold: true }, { text: ' 斜体', italic: true }, { text: ' 链接', href: 'https://example.com/' }] } },
    { kind: 'image', body: { fileId: img.fileId, name: '截图.png', size: img.size, mime: 'image/png', width: 640, height: 480 } },
    { kind: 'file', body: { fileId: doc.fileId, name: '报告 2024.pdf', size: doc.size, mime: 'application/pdf' } },
  ];
  for (const k of cases) {
    const ack = await alice.client.send(group(g.id), k.kind, k.body);
    for (const r of [bob.inbox, carol.inbox, alice.inbox]) {
      const m = await r.byId(ack.id, `the ${k.kind} message at ${r.client.user?.account}`);
      t.equal(m.kind, k.kind, `${r.client.user?.account} gets a ${k.kind} message`);
      t.same(m.body, k.body, `with the ${k.kind} body as sent`);
    }
  }
  // what the server does not keep is gone for everyone, the sender's own device included
  const extra = await alice.client.send(group(g.id), 'link', { url: 'http://intranet/wiki', title: 'wiki', secret: 'dropped' } as BodyByKind['link']);
  const odd = await alice.client.send(group(g.id), 'image', { fileId: img.fileId, name: 'odd.png', size: img.size, width: 1.5, height: 0 });
  for (const r of [carol.inbox, alice.inbox]) {
    t.same((await r.byId(extra.id)).body, { url: 'http://intranet/wiki', title: 'wiki' }, `${r.client.user?.account}: unknown body fields are dropped`);
    t.same((await r.byId(odd.id)).body, { fileId: img.fileId, name: 'odd.png', size: img.size }, `${r.client.user?.account}: invalid image dimensions are dropped`);
  }
  t.equal(await codeOf(alice.client.send(group(g.id), 'link', { url: 'javascript:alert(1)', title: 'x' })), 'GW_BAD_REQUEST', 'a javascript: link is refused');
});
