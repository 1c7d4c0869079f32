import t from 'tap';
import { online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { YouduClient, type CgiReply } from '../helpers/youdu-client.js';

/**
 * The open API's sessions (issue 6; wire spec §3.3, §4.2): a multi-person
 * session is a group the members' clients see; messages sent through the API
 * reach them through the one messaging path as the sending user.
 */

const code = (r: CgiReply) => r.json.errcode;

t.test('sessions: create, get by URL-encoded id, update with a version that moves, send text to the session and 1:1', async (t) => {
  const gw = await startGateway(t);
  for (const a of ['s1', 's2', 's3', 's4']) await gw.addUser(a, { name: `人${a}` });
  const app = await gw.gw.services.apps.create({ name: '会话助手', rights: ['session'] });
  const c = new YouduClient(gw.http, app.buin as number, app.appId as string, app.encodingAesKey as string);
  const open = async (r: Promise<CgiReply>) => c.open(await r) as Record<string, unknown>;

  const s = await open(c.post('/cgi/session/create', { title: '周会', creator: 's1', type: 'multi', member: ['s1', 's2', 's3'] }));
  t.match(s.sessionId, /^\{[0-9A-F-]{36}\}$/, 'a GUID-looking sessionId');
  t.same({ ...s, sessionId: 'x' }, { sessionId: 'x', title: '周会', owner: 's1', version: 1, type: 'multi', member: ['s1', 's2', 's3'] }, 'the session object');
  const id = s.sessionId as string;
  t.same(await open(c.get(`/cgi/session/get?sessionId=${encodeURIComponent(id)}`)), s, 'get by the URL-encoded id');

  const up = await open(c.post('/cgi/session/update', { sessionId: id, opUser: 's1', title: '周例会', addMember: ['s4'], delMember: ['s2'] }));
  t.same(up, { sessionId: id, title: '周例会', owner: 's1', version: 2, type: 'multi', member: ['s1', 's3', 's4'] }, 'update: title, members, version + 1');
  t.equal(code(await c.post('/cgi/session/update', { sessionId: id, opUser: 's2', title: 'x' })), 3, 'a non-member may not update: 3');

  const three = await online(t, gw, 's3');
  const two = await online(t, gw, 's2');
  t.equal(code(await c.post('/cgi/session/send', { sessionId: id, sender: 's1', msgType: 'text', text: { content: '大家好' } })), 0, 'send to the session');
  await three.inbox.until((ms) => ms.some((m) => m.kind === 'text' && (m.body as { text: string }).text === '大家好'), 's3 to get the session message');
  const msg = three.inbox.messages.find((m) => m.kind === 'text');
  t.match(msg, { to: { kind: 'group' }, fromAccount: 's1' }, 'as a group message from the sender');
  t.equal(code(await c.post('/cgi/session/send', { receiver: 's2', sender: 's1', msgType: 'text', text: { content: '单聊' } })), 0, 'send 1:1 with receiver');
  const got = await two.inbox.until((ms) => ms.some((m) => m.kind === 'text' && (m.body as { text: string }).text === '单聊'), 's2 to get the 1:1 message');
  t.match(got.find((m) => m.kind === 'text'), { to: { kind: 'user' }, fromAccount: 's1' }, 'a 1:1 message from the sender');

  const bad: [string, Promise<CgiReply>, number][] = [
    ['create with two members', c.post('/cgi/session/create', { title: 't', creator: 's1', member: ['s1', 's2'] }), 100003],
    ['create with an unknown member', c.post('/cgi/session/create', { title: 't', creator: 's1', member: ['s2', 's3', 'ghost'] }), 300001],
    ['create with an unknown creator', c.post('/cgi/session/create', { title: 't', creator: 'ghost', member: ['s2', 's3', 's4'] }), 300001],
    ['get an unknown session', c.get('/cgi/session/get?sessionId=%7B00000000-0000-0000-0000-000000000000%7D'), 100003],
    ['send from a non-member', c.post('/cgi/session/send', { sessionId: id, sender: 's2', msgType: 'text', text: { content: 'x' } }), 3],
    ['send an unknown msgType', c.post('/cgi/session/send', { sessionId: id, sender: 's1', msgType: 'gif', gif: {} }), 100003],
    ['send an image with an unknown media_id', c.post('/cgi/session/send', { sessionId: id, sender: 's1', msgType: 'image', image: { media_id: '0123456789abcdef0123456789abcdef-10' } }), 200010],
    ['send with neither sessionId nor receiver', c.post('/cgi/session/send', { sender: 's1', msgType: 'text', text: { content: 'x' } }), 100003],
    ['download.zip of an archive nobody was told of', c.post('/cgi/session/msg/download.zip', { file_id: 'abc' }), 200010],
  ];
  for (const [what, r, want] of bad) t.equal(code(await r), want, `${what}: ${want}`);

  const other = await gw.gw.services.apps.create({ name: '普通应用' });
  const o = new YouduClient(gw.http, other.buin as number, other.appId as string, other.encodingAesKey as string);
  t.equal(code(await o.post('/cgi/session/create', { title: 't', creator: 's1', member: ['s1', 's2', 's3'] })), 100005, 'an app without the session right: 100005');
});
