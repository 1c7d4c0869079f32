import t from 'tap';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import type { BusEvent } from '../../gateway/src/bus/bus.js';
import type { MessageView, UserId } from '../../gateway/src/protocol/client-v1.js';
import { buildServices } from '../../gateway/src/services.js';
import { createLogger } from '../../gateway/src/log.js';
import { testConfig } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';
import type { UserRecord } from '../../gateway/src/directory/types.js';

type Trio = UserRecord[] & { 0: UserRecord; 1: UserRecord; 2: UserRecord };
async function people(s: ReturnType<typeof makeServices>, n: number): Promise<Trio> {
  const out: UserRecord[] = [];
  for (let i = 0; i < n; i++) out.push(await s.directory.createUser({ account: `p${i}`, name: `人${i}` }));
  return out as Trio;
}

const text = (from: { id: UserId; account: string }, to: { kind: 'user' | 'group'; id: number }, cmid: string, body = cmid) => ({
  senderId: from.id, senderAccount: from.account, cmid, to, kind: 'text', body: { text: body }, origin: 'client',
});

t.test('a retried send never duplicates, within one batch or across batches', async (t) => {
  const s = makeServices(t);
  const [a, b] = await people(s, 2);
  const [x, y] = await Promise.all([s.messaging.send(text(a, { kind: 'user', id: b.id }, 'm1')), s.messaging.send(text(a, { kind: 'user', id: b.id }, 'm1'))]);
  t.equal(x.id, y.id);
  t.equal([x.duplicate, y.duplicate].filter(Boolean).length, 1, 'one of the two is the duplicate');
  const z = await s.messaging.send(text(a, { kind: 'user', id: b.id }, 'm1'));
  t.ok(z.duplicate);
  t.equal(z.id, x.id);
  t.equal(z.seq, x.seq, 'the duplicate reports the original seq');
  const inbox = await s.messaging.sync(b.id, 0, 100);
  t.equal(inbox.messages.length, 1);
});

t.test('inbox seqs are gap-free per user and in send order', async (t) => {
  const s = makeServices(t);
  const [a, b, c] = await people(s, 3);
  const g = await s.directory.createGroup('g', a.id, [a.id, b.id, c.id]);
  const sends = [];
  for (let i = 0; i < 300; i++) {
    sends.push(s.messaging.send(text(i % 2 ? a : c, i % 3 ? { kind: 'group', id: g.id } : { kind: 'user', id: b.id }, `c${i}`, `#${i}`)));
  }
  await Promise.all(sends);
  const all: MessageView[] = [];
  for (let after = 0; ; ) {
    const page = await s.messaging.sync(b.id, after, 70);
    all.push(...page.messages);
    if (!page.more) break;
    after = page.messages[page.messages.length - 1]!.seq;
  }
  t.equal(all.length, 300);
  t.same(all.map((m) => m.seq), Array.from({ length: 300 }, (_, i) => i + 1), 'seq 1..300 without gaps');
  for (const sender of [a, c]) {
    const mine = all.filter((m) => m.from === sender.id).map((m) => Number((m.body as { text: string }).text.slice(1)));
    t.same(mine, [...mine].sort((x, y) => x - y), `${sender.account}'s messages arrive in the order sent`);
  }
});

t.test('acknowledged messages survive closing and reopening the database', async (t) => {
  const s = makeServices(t);
  const [a, b] = await people(s, 2);
  const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => s.messaging.send(text(a, { kind: 'user', id: b.id }, `k${i}`))));
  await s.close();
  const again = buildServices(testConfig(s.dataDir), createLogger('silent'));
  t.teardown(() => again.close());
  const got = await again.messaging.sync(b.id, 0, 100);
  t.same(got.messages.map((m) => m.id), acks.map((x) => x.id));
  const next = await again.messaging.send(text(a, { kind: 'user', id: b.id }, 'after-restart'));
  t.equal(next.seq, 51, 'seq continues after a restart');
});

t.test('bad sends are refused with clear codes and store nothing', async (t) => {
  const s = makeServices(t);
  const [a, b, c] = await people(s, 3);
  const g = await s.directory.createGroup('g', a.id, [a.id, b.id]);
  const cases: [Record<string, unknown>, string][] = [
    [{ cmid: '' }, 'GW_BAD_REQUEST'],
    [{ cmid: 'x'.repeat(65) }, 'GW_BAD_REQUEST'],
    [{ to: { kind: 'user', id: 'b' } }, 'GW_BAD_REQUEST'],
    [{ to: { kind: 'channel', id: 1 } }, 'GW_BAD_REQUEST'],
    [{ to: { kind: 'user', id: 9999 } }, 'GW_NOT_FOUND'],
    [{ kind: 'video' }, 'GW_BAD_REQUEST'],
    [{ body: { text: '' } }, 'GW_BAD_REQUEST'],
    [{ body: { text: 'x'.repeat(10_001) } }, 'GW_BAD_REQUEST'],
    [{ body: 'text' }, 'GW_BAD_REQUEST'],
    [{ kind: 'link', body: { url: 'javascript:alert(1)', title: 'x' } }, 'GW_BAD_REQUEST'],
    [{ kind: 'file', body: { fileId: 'a'.repeat(64), name: 'x', size: 1 } }, 'GW_NOT_FOUND'],
    [{ kind: 'file', body: { fileId: '../../etc/passwd', name: 'x', size: 1 } }, 'GW_BAD_REQUEST'],
    [{ mentions: [c.id], to: { kind: 'group', id: g.id } }, 'GW_BAD_REQUEST'],
  ];
  for (const [patch, expected] of cases) {
    const e = await s.messaging.send({ ...text(a, { kind: 'user', id: b.id }, 'bad1'), ...patch } as never).then(() => null, (x: unknown) => x);
    t.ok(e instanceof GatewayError && e.code === expected, `${JSON.stringify(patch).slice(0, 60)} → ${expected} (got ${(e as GatewayError | null)?.code})`);
  }
  const e = await s.messaging.send(text(c, { kind: 'group', id: g.id }, 'outsider')).then(() => null, (x: unknown) => x);
  t.ok(e instanceof GatewayError && e.code === 'GW_NOT_MEMBER', 'non-members cannot post to a group');
  await s.directory.setStatus(b.id, 'disabled');
  const d = await s.messaging.send(text(a, { kind: 'user', id: b.id }, 'to-disabled')).then(() => null, (x: unknown) => x);
  t.ok(d instanceof GatewayError && d.code === 'GW_RECIPIENT_UNAVAILABLE');
  t.equal((await s.messaging.sync(a.id, 0, 10)).messages.length, 0, 'nothing stored');
});

t.test('recall within the window, by the sender only; receipts reach the sender', async (t) => {
  const s = makeServices(t);
  const [a, b] = await people(s, 2);
  const events: BusEvent[] = [];
  s.bus.subscribe((e) => events.push(e));
  const m = await s.messaging.send(text(a, { kind: 'user', id: b.id }, 'oops'));
  const notMine = await s.messaging.recall(b.id, b.account, m.id).then(() => null, (x: unknown) => x);
  t.ok(notMine instanceof GatewayError && notMine.code === 'GW_FORBIDDEN');
  await s.messaging.recall(a.id, a.account, m.id);
  const inbox = await s.messaging.sync(b.id, 0, 10);
  t.same(inbox.messages.map((x) => x.kind), ['text', 'recall']);
  t.ok(inbox.messages[0]?.recalled, 'the original is marked recalled');
  t.same(inbox.messages[1]?.body, { messageId: m.id });
  s.db.prepare('UPDATE messages SET created_at = created_at - 121000 WHERE id = ?').run(m.id);
  const m2 = await s.messaging.send(text(a, { kind: 'user', id: b.id }, 'old'));
  s.db.prepare('UPDATE messages SET created_at = created_at - 121000 WHERE id = ?').run(m2.id);
  const late = await s.messaging.recall(a.id, a.account, m2.id).then(() => null, (x: unknown) => x);
  t.ok(late instanceof GatewayError && late.code === 'GW_RECALL_EXPIRED');
  await s.messaging.markRead(b.id, { kind: 'user', id: a.id }, m2.id);
  const receipts = events.filter((e) => e.type === 'receipt');
  t.ok(receipts.some((e) => e.type === 'receipt' && e.userId === a.id && e.upTo === m2.id), 'the sender hears of the read');
  t.same(await s.messaging.readCounts(a.id, [m2.id]), [{ id: m2.id, read: 1, members: 1 }]);
  await s.messaging.markRead(b.id, { kind: 'user', id: a.id }, m.id);
  t.equal(events.filter((e) => e.type === 'receipt').length, receipts.length, 'read pointers never move back');
});
