import net from 'node:net';
import t, { type Test } from 'tap';
import { ClientFrame, SYSTEM_APP, type BodyByKind, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';
import { decodeGbk, decodeRetString, encodeGbk, encodeRtxForm, parseRtxResponse, percentEncode } from '../../gateway/src/protocol/rtx-http.js';
import { makeClient, Inbox, online, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway, TEST_PASSWORD, type TestGateway } from '../helpers/gateway.js';

const OK_BYTES = Buffer.from([0xb2, 0xd9, 0xd7, 0xf7, 0xb3, 0xc9, 0xb9, 0xa6, 0x21]);

interface Answer {
  status: number;
  /** Header lines after the status line, in order, as sent. */
  lines: string[];
  header(name: string): string | undefined;
  body: Buffer;
  text: string;
}

/** Sends raw bytes on a new connection and reads every answer until the server closes it. */
function exchange(port: number, raw: Buffer | string): Promise<{ answers: Answer[]; closed: boolean }> {
  return within(
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('error', reject);
      s.on('close', () => {
        let buf: Buffer = Buffer.concat(chunks);
        const answers: Answer[] = [];
        for (let r = parseRtxResponse(buf); r; r = parseRtxResponse(buf)) {
          const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString('latin1').split('\r\n').slice(1);
          const res = r.response;
          answers.push({
            status: res.status, lines: head, body: res.body, text: decodeGbk(res.body),
            header: (n) => res.headers.find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1],
          });
          buf = r.rest;
        }
        resolve({ answers, closed: true });
      });
      s.end(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
    }),
    WAIT_MS,
    'the 8012 answer',
  );
}

async function call(port: number, raw: Buffer | string): Promise<Answer> {
  const { answers } = await exchange(port, raw);
  const a = answers[0];
  if (!a) throw new Error('no answer');
  return a;
}

const get = (port: number, path: string, query: string) => call(port, `GET /${path}?${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
const post = (port: number, path: string, body: Buffer | string, ct = 'application/x-www-form-urlencoded') => {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return call(port, Buffer.concat([Buffer.from(`POST /${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n`, 'latin1'), b]));
};

const sdkPort = (g: TestGateway) => g.gw.ports().rtxSdk as number;
const messageCount = (g: TestGateway) => (g.gw.services.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;

function assertOk(t: Test, a: Answer, what: string): void {
  t.equal(a.status, 200, `${what}: HTTP 200`);
  t.same([...a.body], [...OK_BYTES], `${what}: the body is exactly GBK 操作成功! (${a.text})`);
  t.match(a.lines[2], /^Ret Code: 0$/, `${what}: header 3 is Ret Code`);
  t.match(a.lines[3], /^Ret String: %B2%D9%D7%F7%B3%C9%B9%A6$/, `${what}: header 4 is Ret String`);
}

function assertError(t: Test, a: Answer, re: RegExp, what: string): void {
  t.match(a.text, re, `${what}: ${a.text}`);
  t.match(a.text, /<br>$/, `${what}: ends with <br>`);
  t.match(a.lines[2], /^Ret Code: -\d+$/, `${what}: Ret Code is negative`);
  t.match(decodeRetString(a.header('Ret String') ?? ''), re, `${what}: Ret String names it`);
}

const TITLE = '审批提醒';
const MSG = '请查收:[报销单|http://oa.example.com/a?id=1 ]及附件㑇,详见[内网|file://x]';
const expected: BodyByKind['rich'] = {
  title: TITLE,
  segments: [{ text: '请查收:' }, { text: '报销单', href: 'http://oa.example.com/a?id=1' }, { text: '及附件㑇,详见[内网|file://x]' }],
};

t.test('SendNotify in every encoding reaches the mobile user as the same Chinese text, with links', async (t) => {
  const g = await startGateway(t);
  await g.addUser('zhangsan', { name: '张三' });
  await g.addUser('lisi', { name: '李四' });
  const port = sdkPort(g);
  const { inbox } = await online(t, g, 'lisi');
  const notices = (n: number) => inbox.until((ms) => ms.filter((m) => m.to.kind === 'app').length >= n, `${n} notification(s)`);

  // 1. raw GBK bytes in the request line (no space: a space would cut the target, as on a real server)
  const rawMsg = MSG.replace(' ]', ']');
  const rawLine = Buffer.concat([
    Buffer.from('GET /SendNotify.cgi?receiver=lisi&title=', 'latin1'), encodeGbk(TITLE),
    Buffer.from('&msg=', 'latin1'), encodeGbk(rawMsg), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1'),
  ]);
  assertOk(t, await call(port, rawLine), 'raw GBK');
  // 2. percent-encoded GBK, lower-case path
  assertOk(t, await get(port, 'sendnotify.cgi', encodeRtxForm({ receiver: 'lisi', title: TITLE, msg: MSG })), 'percent-encoded GBK');
  // 3. percent-encoded UTF-8, mixed-case path
  assertOk(t, await get(port, 'sendNotify.cgi', encodeRtxForm({ receiver: 'LiSi', title: TITLE, msg: MSG }, 'utf-8')), 'percent-encoded UTF-8');
  // 4. a POST body, GBK form
  assertOk(t, await post(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', title: TITLE, msg: MSG, delaytime: 0, okurl: 'http://x/ok' })), 'POST body');

  const got = (await notices(4)).filter((m) => m.to.kind === 'app');
  for (const [i, m] of got.entries()) {
    t.same(m.to, { kind: 'app', id: 'system' }, `#${i + 1} is in the system app's conversation`);
    t.same(m.fromApp, SYSTEM_APP, `#${i + 1} is from 系统通知`);
    t.equal(m.from, 0);
    t.equal(m.origin, 'rtx-sdk');
    t.equal(m.kind, 'rich');
    t.same(m.body, expected, `#${i + 1} body`);
  }
  t.equal(new Set(got.map((m) => m.id)).size, 4, 'four distinct messages');

  // the same origin id twice stores one message (msgid is the gateway's idempotency extension)
  const before = messageCount(g);
  for (let i = 0; i < 2; i++) assertOk(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: 'once', msgid: 'job-42' })), `msgid #${i + 1}`);
  t.equal(messageCount(g), before + 1, 'a retried msgid is stored once');
  const once = (await inbox.until((ms) => ms.some((m) => (m.body as BodyByKind['rich']).segments?.[0]?.text === 'once'), 'the msgid notice')).filter((m) => (m.body as BodyByKind['rich']).segments?.[0]?.text === 'once');
  t.equal(once.length, 1);
  t.equal((once[0]?.body as BodyByKind['rich']).title, '通知', 'title defaults to 通知');
});

t.test('offline users get notifications at their next sync; receiver=all reaches everyone', async (t) => {
  const g = await startGateway(t);
  for (const a of ['zhangsan', 'lisi', 'wangwu']) await g.addUser(a);
  const disabled = await g.addUser('gone');
  await g.gw.services.directory.setStatus(disabled.id, 'disabled');
  const port = sdkPort(g);
  const zs = await online(t, g, 'zhangsan');
  assertOk(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'wangwu', title: '离线', msg: '你不在线时的通知' })), 'to offline wangwu');
  assertOk(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'ALL', title: '全员', msg: '系统维护' })), 'receiver=ALL');
  await zs.inbox.until((ms) => ms.some((m) => m.fromApp && (m.body as BodyByKind['rich']).title === '全员'), 'the broadcast on zhangsan');
  // wangwu logs in later: both arrive through msg.sync
  const ww = makeClient(t, g, 'wangwu');
  const wwInbox = new Inbox(ww);
  await within(ww.connect(), WAIT_MS, 'wangwu logs in');
  const titles = (await wwInbox.until((ms) => ms.length >= 2, 'wangwu syncs')).map((m) => (m.body as BodyByKind['rich']).title);
  t.same(titles, ['离线', '全员'], 'in order');
  const lisiId = (await g.gw.services.directory.getUserByAccount('lisi'))?.id as UserId;
  const sync = await g.gw.services.messaging.sync(lisiId, 0, 10);
  t.same(sync.messages.map((m) => [m.to, (m.body as BodyByKind['rich']).title]), [[{ kind: 'app', id: 'system' }, '全员']], 'lisi (never online) has the broadcast waiting');
  t.same((await g.gw.services.messaging.sync(disabled.id, 0, 10)).messages, [], 'a disabled user gets no broadcast');
  t.equal(messageCount(g), 2, 'a broadcast is one message');
});

t.test('SendIM: a chat message from the named sender; pwd modes; group session keys', async (t) => {
  const g = await startGateway(t);
  const zs = await g.addUser('zhangsan');
  const ls = await g.addUser('lisi');
  await g.addUser('wangwu');
  const port = sdkPort(g);
  const { inbox } = await online(t, g, 'lisi');
  const before = messageCount(g);
  assertError(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', pwd: 'wrong', receivers: 'lisi', msg: '你好' })), /发送人或密码错误/, 'wrong pwd (mode user)');
  assertError(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', pwd: '', receivers: 'lisi', msg: '你好' })), /发送人或密码错误/, 'empty pwd (mode user)');
  t.equal(messageCount(g), before, 'nothing written');
  assertOk(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', pwd: TEST_PASSWORD, receivers: 'lisi', msg: '你好,李四', sessionid: '{00000000-0000-0000-0000-000000000001}' })), 'right pwd');
  const m = (await inbox.until((ms) => ms.some((x) => x.origin === 'rtx-sdk'), 'the IM'))[0] as MessageView;
  t.match(m, { from: zs.id, fromAccount: 'zhangsan', to: { kind: 'user', id: ls.id }, kind: 'text', body: { text: '你好,李四' }, origin: 'rtx-sdk' });

  await g.gw.services.settings.set({ rtxSdkImPassword: 'none' });
  assertOk(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', pwd: 'anything', receivers: 'lisi;wangwu', msg: '不查密码' })), 'mode none');
  await inbox.until((ms) => ms.some((x) => (x.body as BodyByKind['text']).text === '不查密码'), 'the second IM');
  const ww = (await g.gw.services.directory.getUserByAccount('wangwu'))?.id as UserId;
  t.match((await g.gw.services.messaging.sync(ww, 0, 10)).messages, [{ from: zs.id, body: { text: '不查密码' } }], 'each receiver gets a 1:1 message');

  const grp = await g.gw.services.directory.createGroup('项目组', zs.id, [zs.id, ls.id], 'rtx', '{GROUP-KEY-1}');
  assertOk(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', receivers: 'nobody', msg: '群消息', sessionid: '{GROUP-KEY-1}' })), 'group session key');
  const gm = (await inbox.until((ms) => ms.some((x) => x.to.kind === 'group'), 'the group message')).find((x) => x.to.kind === 'group');
  t.match(gm, { from: zs.id, to: { kind: 'group', id: grp.id }, body: { text: '群消息' } });
  assertError(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'wangwu', msg: '不是成员', sessionid: '{GROUP-KEY-1}' })), /不是该群成员/, 'non-member into the group');
  assertError(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'nobody', receivers: 'lisi', msg: 'x' })), /用户不存在:nobody/, 'unknown sender');
  const n = messageCount(g);
  assertError(t, await get(port, 'SendIM.cgi', encodeRtxForm({ sender: 'zhangsan', receivers: 'lisi,ghost1;ghost2', msg: 'x' })), /用户不存在:ghost1,ghost2/, 'unknown receivers');
  t.equal(messageCount(g), n, 'all-or-nothing: nothing written');
});

t.test('look-ups, Login.php, SignAuth.cgi, GetSession.cgi, SendSMS.cgi, userlist.php', async (t) => {
  const g = await startGateway(t);
  const zs = await g.addUser('zhangsan');
  await g.addUser('lisi');
  const lock = await g.addUser('locky');
  await g.gw.services.directory.editUser(zs.id, { mobile: '13800000000' });
  const port = sdkPort(g);
  const { client } = await online(t, g, 'zhangsan');

  let a = await get(port, 'getstatus.php', 'username=zhangsan');
  t.equal(a.text, '1', 'online');
  t.match(a.lines[2], /^Ret Code: 0$/);
  t.equal((await get(port, 'GETSTATUS.PHP', 'username=lisi')).text, '0', 'offline');
  a = await get(port, 'getstatus.php', 'username=nobody');
  assertError(t, a, /用户不存在:nobody/, 'getstatus unknown');
  t.match(a.lines[2], /^Ret Code: -984$/);
  t.equal((await get(port, 'GetMobile.cgi', 'receiver=zhangsan')).text, '13800000000');
  a = await get(port, 'GetImage.cgi', 'receiver=zhangsan');
  t.equal(a.header('content-type'), 'image/gif');
  t.equal(a.body.subarray(0, 6).toString('latin1'), 'GIF89a');

  t.equal((await get(port, 'Login.php', `user=lisi&pwd=${TEST_PASSWORD}`)).text, 'true');
  t.equal((await post(port, 'login.php', `user=lisi&pwd=nope`)).text, 'false');
  t.equal((await get(port, 'Login.php', 'user=lisi')).text, 'params is null');
  for (let i = 0; i < 5; i++) t.equal((await get(port, 'Login.php', `user=locky&pwd=bad${i}`)).text, 'false', `wrong #${i + 1}`);
  a = await get(port, 'Login.php', `user=locky&pwd=${TEST_PASSWORD}`);
  t.equal(a.text, 'false', 'locked after five failures, even with the right password');
  t.equal(decodeRetString(a.header('Ret String') ?? ''), '尝试次数过多,请稍后再试');
  const logged = g.gw.services.db.prepare("SELECT COUNT(*) AS n FROM login_log WHERE user_id = ? AND client = 'rtx-sdk'").get(lock.id) as { n: number };
  t.ok(logged.n >= 5, 'attempts are in the login log');
  t.notOk(JSON.stringify(g.gw.services.db.prepare('SELECT * FROM login_log').all()).includes(TEST_PASSWORD), 'no password in the log');

  // SignAuth with a signature minted for the logged-in client (sso.sign)
  const signed = await client.request(ClientFrame.SsoSign, {});
  t.equal(signed.account, 'zhangsan');
  t.ok(signed.expiresAt > Date.now());
  t.equal((await get(port, 'SignAuth.cgi', `user=zhangsan&sign=${percentEncode(Buffer.from(signed.sign))}`)).text, 'success!', 'valid');
  t.equal((await get(port, 'SignAuth.cgi', `user=ZhangSan&sign=${signed.sign}`)).text, 'success!', 'valid with unescaped + (a space after form decoding)');
  const tampered = signed.sign.replace(/.(=)$/, (_m, eq: string) => (signed.sign.at(-2) === 'A' ? 'B' : 'A') + eq);
  t.equal((await get(port, 'SignAuth.cgi', `user=zhangsan&sign=${percentEncode(Buffer.from(tampered))}`)).text, 'failed!', 'tampered');
  t.equal((await get(port, 'SignAuth.cgi', `user=lisi&sign=${percentEncode(Buffer.from(signed.sign))}`)).text, 'failed!', "another user's signature");
  const old = g.gw.services.sso.sign(zs, -1000);
  a = await get(port, 'SignAuth.cgi', `user=zhangsan&sign=${percentEncode(Buffer.from(old.sign))}`);
  t.equal(a.text, 'failed!', 'expired');
  t.equal(decodeRetString(a.header('Ret String') ?? ''), '签名已过期');

  a = await get(port, 'GetSession.cgi', 'receiver=zhangsan');
  t.match(a.text, /^[0-9A-F]{32}$/);
  t.same(a.lines.slice(2, 5), ['Ret Code: 0', 'Ret String: %B2%D9%D7%F7%B3%C9%B9%A6', `SessionKey: ${a.text}`]);
  t.equal((await get(port, 'SignAuth.cgi', `user=zhangsan&sign=${a.text}`)).text, 'success!', 'a session key verifies like a signature');
  a = await get(port, 'GetSession.cgi', 'receiver=nobody');
  t.same(a.lines.slice(2, 4), ['Ret Code: -1', `Ret String: ${percentEncode(encodeGbk('用户不存在:nobody'))}`]);
  t.match(a.lines[4], /^SessionKey: ?$/, 'an empty SessionKey');

  assertError(t, await get(port, 'SendSMS.cgi', encodeRtxForm({ sender: 'zhangsan', receiver: 'lisi', msg: 'x' })), /短信服务未配置/, 'SMS');
  for (const p of ['userlist.php', 'UserList.php', 'nothing.cgi']) t.equal((await get(port, p, '')).status, 404, `${p} is not served`);
});

t.test('bad input: clear errors, the server keeps serving, nothing written', async (t) => {
  const g = await startGateway(t);
  await g.addUser('lisi');
  const port = sdkPort(g);
  const before = messageCount(g);

  // bytes that are neither GBK nor UTF-8
  assertError(t, await get(port, 'SendNotify.cgi', 'receiver=lisi&msg=%81%20%FF%41'), /参数msg的编码无效/, 'invalid GBK');
  assertError(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi,nobody;ghost', msg: '你好' })), /用户不存在:nobody,ghost/, 'unknown receivers');
  assertError(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: '', msg: '你好' })), /接收人不能为空/, 'empty receiver');
  assertError(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: '' })), /消息内容不能为空/, 'empty msg');
  assertError(t, await post(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: '长'.repeat(10_001) })), /不能超过10000个字符/, 'too long (POST)');
  assertError(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: 'x', msgid: 'bad id!' })), /msgid无效/, 'bad msgid');

  let x = await exchange(port, `GET /SendNotify.cgi?receiver=lisi&msg=${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`);
  t.equal(x.answers[0]?.status, 414, 'an oversized request line is refused');
  x = await exchange(port, Buffer.from([0x00, 0x01, 0x02, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
  t.equal(x.answers[0]?.status, 400, 'garbage is refused');
  x = await exchange(port, `POST /SendNotify.cgi HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n`);
  t.equal(x.answers[0]?.status, 413, 'an oversized body is refused');
  t.equal((await call(port, 'PUT /SendNotify.cgi HTTP/1.1\r\nConnection: close\r\n\r\n')).status, 405);

  // keep-alive and pipelining: two answers in order on one connection
  x = await exchange(port, `GET /getstatus.php?username=lisi HTTP/1.1\r\n\r\nGET /getstatus.php?username=nobody HTTP/1.1\r\nConnection: close\r\n\r\n`);
  t.same(x.answers.map((a) => a.text), ['0', '用户不存在:nobody<br>']);

  // a caller outside the allow-list
  await t.rejects(g.gw.services.settings.set({ rtxSdkAllowIps: '10.0.0.0/33' }), /bad prefix/);
  await g.gw.services.settings.set({ rtxSdkAllowIps: '10.0.0.0/8, 192.168.1.7' });
  const denied = await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: '你好' }));
  assertError(t, denied, /IP受限制/, 'disallowed IP');
  t.equal((await get(port, 'getstatus.php', 'username=lisi')).text, 'IP受限制<br>', 'every endpoint');
  await g.gw.services.settings.set({ rtxSdkAllowIps: '127.0.0.1/8,::1' });

  t.equal(messageCount(g), before, 'nothing was written by any refused call');
  assertOk(t, await get(port, 'SendNotify.cgi', encodeRtxForm({ receiver: 'lisi', msg: '还在服务' })), 'the server still serves');
  t.equal(messageCount(g), before + 1);
  const health = (await (await fetch(`${g.http}/healthz`)).json()) as { listeners: { name: string; up: boolean }[] };
  t.match(health.listeners, [{}, {}, {}, {}, { name: 'rtx-sdk', up: true }], 'the listener is in the status list');
});
