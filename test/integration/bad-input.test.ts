import v8 from 'node:v8';
import vm from 'node:vm';
import t, { type Test } from 'tap';
import { HuitongClient, type ClosedEvent } from '../../client/src/index.js';
import { ClientFrame, MAX_FRAME_BYTES, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';
import { TEST_PASSWORD, startGateway } from '../helpers/gateway.js';
import { endCode, openRaw, type Ended, type Frame, type RawClient, type RawTcp, type RawWs, type TransportKind } from '../helpers/raw.js';

/*
 * Hostile and broken input against a real gateway (TLS on loopback), on both
 * transports, with raw sockets. After each abuse a well-behaved pair of users
 * (alice on WSS, bob on TCP, connected all along) must still chat normally.
 */

const g = await startGateway(t);
const urls = { wss: g.wss, tcp: g.tcp };
const KINDS: TransportKind[] = ['wss', 'tcp'];

// ---- the well-behaved pair ----

const aliceUser = await g.addUser('alice', { name: '爱丽丝' });
const bobUser = await g.addUser('bob', { name: '鲍勃' });

function wellBehaved(account: string, url: string): { client: HuitongClient; closes: ClosedEvent[] } {
  const client = new HuitongClient({
    url,
    ca: g.ca,
    credentials: { account, password: TEST_PASSWORD },
    device: { id: `${account}-desk`, type: 'desktop' },
    clientName: 'bad-input-test',
  });
  const closes: ClosedEvent[] = [];
  client.on('closed', (e) => closes.push(e));
  return { client, closes };
}

const alice = wellBehaved('alice', g.wss);
const bob = wellBehaved('bob', g.tcp);
t.teardown(async () => {
  await alice.client.close();
  await bob.client.close();
});
await alice.client.connect();
await bob.client.connect();

function nextMessage(c: HuitongClient, pred: (m: MessageView) => boolean, what: string, timeoutMs = 10_000): Promise<MessageView> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: MessageView) => {
      if (!pred(m)) return;
      c.off('message', onMessage);
      clearTimeout(timer);
      resolve(m);
    };
    const timer = setTimeout(() => {
      c.off('message', onMessage);
      reject(new Error(`no message within ${timeoutMs} ms: ${what}`));
    }, timeoutMs);
    c.on('message', onMessage);
  });
}

let chats = 0;
/** alice (WSS) and bob (TCP) exchange one message each way, as a user would. */
async function chatStillWorks(t: Test, after: string): Promise<void> {
  const n = ++chats;
  const there = `after ${after}: 你好 #${n}`;
  const back = `after ${after}: 收到 #${n}`;
  const atBob = nextMessage(bob.client, (m) => (m.body as { text?: string }).text === there, `bob receiving "${there}"`);
  const ackA = await alice.client.sendText({ kind: 'user', id: bobUser.id }, there);
  const m1 = await atBob;
  t.equal(m1.id, ackA.id, `after ${after}: bob got alice's message`);
  t.equal(m1.from, aliceUser.id);
  const atAlice = nextMessage(alice.client, (m) => (m.body as { text?: string }).text === back, `alice receiving "${back}"`);
  const ackB = await bob.client.sendText({ kind: 'user', id: aliceUser.id }, back);
  const m2 = await atAlice;
  t.equal(m2.id, ackB.id, `after ${after}: alice got bob's reply`);
  t.equal(alice.closes.length + bob.closes.length, 0, `after ${after}: neither well-behaved connection was dropped`);
}

// ---- helpers for the raw side ----

let accountCounter = 0;
/** A fresh user for a raw connection (each account has its own login rate limit). */
async function freshUser(): Promise<{ account: string; id: UserId }> {
  const account = `mallory${++accountCounter}`;
  const u = await g.addUser(account);
  return { account, id: u.id };
}

async function raw(t: Test, kind: TransportKind): Promise<RawClient> {
  const c = await openRaw(kind, urls, g.ca);
  t.teardown(() => c.destroy());
  return c;
}

async function loggedIn(t: Test, kind: TransportKind): Promise<RawClient & { userId: UserId }> {
  const c = await raw(t, kind);
  const u = await freshUser();
  await c.logIn(u.account, TEST_PASSWORD, `${u.account}-${kind}`);
  return Object.assign(c, { userId: u.id });
}

/** Asserts how the server ended the connection: WS close code + reason, or TCP `bye` code. */
function assertEnded(t: Test, c: RawClient, e: Ended, code: string, wsClose: number): void {
  if (c.kind === 'wss') {
    t.equal(e.code, wsClose, `WS close code ${wsClose}`);
    t.equal(e.reason, code, `WS close reason ${code}`);
  } else {
    t.equal(e.bye?.code, code, `TCP bye ${code}`);
  }
}

const errors = (c: RawClient): Frame[] => c.frames.filter((f) => f.t === 'error');

async function metric(name: string): Promise<number> {
  const res = await fetch(`${g.http}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} missing from /metrics`);
  return Number(m[1]);
}

t.test('the well-behaved pair chats before any abuse', async (t) => {
  await chatStillWorks(t, 'nothing');
});

// ---- malformed frames ----

for (const kind of KINDS) {
  t.test(`${kind}: malformed frames get GW_BAD_FRAME; the 20th closes the connection`, async (t) => {
    const c = await loggedIn(t, kind);
    const badBefore = await metric('huitong_bad_frames_total');
    const malformed: [string, number | null][] = [
      ['{"t":"ping","rid":', null],
      ['not json at all', null],
      ['', null],
      ['[{"t":"ping","rid":1}]', null],
      ['42', null],
      ['"ping"', null],
      ['null', null],
      ['true', null],
      ['{"rid":101}', 101],
      ['{"t":null,"rid":102}', 102],
      ['{"t":42,"rid":103}', 103],
      ['{"t":"ping"}', null],
      ['{"t":"ping","rid":"104"}', null],
      ['{"t":"ping","rid":1.5}', null],
      ['{"t":"ping","rid":9007199254740993}', null],
      ['{"t":"ping","rid":105,"p":[1]}', 105],
      ['{"t":"ping","rid":106,"p":"x"}', 106],
      ['{"t":"ping","rid":107,"p":null}', 107],
      ['{"t":"msg.send","rid":108,"p":5}', 108],
    ];
    t.equal(malformed.length, 19);
    c.sendTexts(malformed.map(([text]) => text));
    const pong = await c.request('ping');
    t.equal(pong.t, 'result', 'after 19 malformed frames the connection still answers');
    const errs = errors(c);
    t.same(
      errs.map((f) => [f.p?.code, f.rid]),
      malformed.map(([, rid]) => ['GW_BAD_FRAME', rid]),
      'each malformed frame got its own GW_BAD_FRAME error, with its rid when the rid was readable',
    );
    t.ok(errs.every((f) => typeof f.p?.message === 'string' && f.p.message.length > 0), 'every error explains itself');
    t.notOk(c.closed);

    c.sendText('{"t":"ping","rid":"twentieth"}');
    const e = await c.endedWithin(5000, 'the 20th malformed frame to close the connection');
    t.equal(errors(c).length, 20, 'the 20th malformed frame was answered too');
    assertEnded(t, c, e, 'GW_BAD_FRAME', 4400);
    t.equal(await metric('huitong_bad_frames_total'), badBefore + 20, 'every malformed frame is counted in /metrics');
    await chatStillWorks(t, `${kind} malformed frames`);
  });

  t.test(`${kind}: unknown frame types get GW_UNKNOWN_FRAME and the connection stays`, async (t) => {
    const c = await loggedIn(t, kind);
    const types = ['msg.delete', 'result', 'pong', 'bye', 'MSG.SEND', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ' ping', 'x'.repeat(5000)];
    const frames: { t: string; rid: number }[] = [];
    // more than the 20 malformed frames that would close the connection
    for (let i = 0; frames.length < 25; i++) frames.push({ t: types[i % types.length] as string, rid: 500 + i });
    c.sendTexts(frames.map((f) => JSON.stringify(f)));
    const pong = await c.request('ping');
    t.equal(pong.t, 'result', 'still answering after 25 unknown frames');
    const errs = errors(c);
    t.same(errs.map((f) => [f.p?.code, f.rid]), frames.map((f) => ['GW_UNKNOWN_FRAME', f.rid]));
    t.ok(errs.every((f) => (f.p?.message?.length ?? 0) < 200), 'the echoed type is cut short');
    t.notOk(c.closed);
    c.close();
    await chatStillWorks(t, `${kind} unknown frames`);
  });
}

// ---- handshake ----

for (const kind of KINDS) {
  t.test(`${kind}: requests before hello are refused with GW_HANDSHAKE_REQUIRED, then 4401`, async (t) => {
    const c = await raw(t, kind);
    const pong = await c.request('ping');
    t.equal(pong.t, 'result', 'ping is accepted before hello');
    const r = await c.request('msg.sync', { after: 0 });
    t.equal(r.t, 'error');
    t.equal(r.p?.code, 'GW_HANDSHAKE_REQUIRED');
    assertEnded(t, c, await c.endedWithin(5000), 'GW_HANDSHAKE_REQUIRED', 4401);
  });

  t.test(`${kind}: login without hello is refused with GW_HANDSHAKE_REQUIRED, then 4401`, async (t) => {
    const c = await raw(t, kind);
    const r = await c.request('login', { account: 'alice', password: TEST_PASSWORD, device: { id: 'skipped-hello', type: 'web' } });
    t.equal(r.p?.code, 'GW_HANDSHAKE_REQUIRED');
    assertEnded(t, c, await c.endedWithin(5000), 'GW_HANDSHAKE_REQUIRED', 4401);
  });

  t.test(`${kind}: requests after hello but before login are refused with GW_HANDSHAKE_REQUIRED, then 4401`, async (t) => {
    const c = await raw(t, kind);
    t.equal((await c.request('hello', { v: 1 })).t, 'result');
    const r = await c.request('msg.send', { cmid: 'sneaky-1', to: { kind: 'user', id: bobUser.id }, kind: 'text', body: { text: '未登录' } });
    t.equal(r.t, 'error');
    t.equal(r.p?.code, 'GW_HANDSHAKE_REQUIRED');
    assertEnded(t, c, await c.endedWithin(5000), 'GW_HANDSHAKE_REQUIRED', 4401);
    await chatStillWorks(t, `${kind} handshake skipped`);
    // nothing of the refused send reached bob: his next message is the one chatStillWorks sent
    const inbox = await bob.client.request(ClientFrame.Sync, { after: 0, limit: 500 });
    t.notOk(inbox.messages.some((m) => m.cmid === 'sneaky-1'), 'the send refused before login was not stored');
  });

  t.test(`${kind}: hello with another protocol version gets GW_VERSION_UNSUPPORTED, then 4426`, async (t) => {
    for (const p of [{ v: 2, client: 'from-the-future' }, { v: '1' }, {}]) {
      const c = await raw(t, kind);
      const r = await c.request('hello', p);
      t.equal(r.t, 'error', `hello ${JSON.stringify(p)} refused`);
      t.equal(r.p?.code, 'GW_VERSION_UNSUPPORTED');
      assertEnded(t, c, await c.endedWithin(5000), 'GW_VERSION_UNSUPPORTED', 4426);
    }
    await chatStillWorks(t, `${kind} wrong protocol version`);
  });

  t.test(`${kind}: login with missing or mistyped fields gets GW_BAD_REQUEST and the connection stays`, async (t) => {
    const c = await raw(t, kind);
    const u = await freshUser();
    t.equal((await c.request('hello', { v: 1 })).t, 'result');
    const device = { id: `${u.account}-ok`, type: 'desktop' };
    const bad: [string, unknown][] = [
      ['no fields at all', {}],
      ['no password', { account: u.account, device }],
      ['no account', { password: TEST_PASSWORD, device }],
      ['a numeric password', { account: u.account, password: 12345678, device }],
      ['an object password', { account: u.account, password: { $ne: '' }, device }],
      ['an empty password', { account: u.account, password: '', device }],
      ['a numeric account', { account: 42, password: TEST_PASSWORD, device }],
      ['an account longer than 128 characters', { account: 'a'.repeat(129), password: TEST_PASSWORD, device }],
      ['no device', { account: u.account, password: TEST_PASSWORD }],
      ['a device that is a string', { account: u.account, password: TEST_PASSWORD, device: 'iphone' }],
      ['a bogus device type', { account: u.account, password: TEST_PASSWORD, device: { id: 'dev-1', type: 'toaster' } }],
      ['a device id with spaces', { account: u.account, password: TEST_PASSWORD, device: { id: 'my phone', type: 'ios' } }],
      ['a device id of 65 characters', { account: u.account, password: TEST_PASSWORD, device: { id: 'd'.repeat(65), type: 'ios' } }],
      ['a numeric device name', { account: u.account, password: TEST_PASSWORD, device: { id: 'dev-2', type: 'ios', name: 7 } }],
      ['a push token over 512 characters', { account: u.account, password: TEST_PASSWORD, device: { id: 'dev-3', type: 'ios', pushToken: 'p'.repeat(513) } }],
    ];
    for (const [what, p] of bad) {
      const r = await c.request('login', p);
      t.equal(r.t, 'error', `login with ${what} is refused`);
      t.equal(r.p?.code, 'GW_BAD_REQUEST', `login with ${what}: GW_BAD_REQUEST (${r.p?.message})`);
    }
    t.notOk(c.closed, 'the connection stays open after bad logins');
    const ok = await c.request('login', { account: u.account, password: TEST_PASSWORD, device });
    t.equal(ok.t, 'result', 'a correct login on the same connection then succeeds');
    t.equal((ok.p as { user?: { account?: string } } | undefined)?.user?.account, u.account);
    const r = await c.request('resume', { token: 'x' });
    t.equal(r.p?.code, 'GW_BAD_REQUEST', 'resume once logged in: already logged in');
    c.close();
    await chatStillWorks(t, `${kind} bad logins`);
  });
}

// ---- oversized frames ----

/** A ping whose JSON is exactly `bytes` long. */
function paddedPing(rid: number, bytes: number): string {
  const empty = JSON.stringify({ t: 'ping', rid, p: { pad: '' } });
  return JSON.stringify({ t: 'ping', rid, p: { pad: 'x'.repeat(bytes - empty.length) } });
}

t.test('wss: a message of exactly MAX_FRAME_BYTES is accepted; one byte more closes with 1009', async (t) => {
  const c = await loggedIn(t, 'wss');
  const exact = paddedPing(c.nextRid(), MAX_FRAME_BYTES);
  t.equal(Buffer.byteLength(exact), MAX_FRAME_BYTES);
  c.sendText(exact);
  const r = await c.answer(JSON.parse(exact).rid as number);
  t.equal(r.t, 'result', `${MAX_FRAME_BYTES} bytes is within the limit`);
  c.sendText(paddedPing(c.nextRid(), MAX_FRAME_BYTES + 1));
  const e = await c.endedWithin(5000);
  // the server answers 1009 at once; a client still writing its oversized message may hit the
  // closed socket first and see 1006 (connection reset) — either way the connection is refused
  t.ok(e.code === 1009 || e.code === 1006, `closed with 1009 (message too big), or reset while still sending (got ${e.code})`);
  await chatStillWorks(t, 'wss oversized message');
});

t.test('wss: a 1 MiB message is refused with 1009 as well', async (t) => {
  const c = await raw(t, 'wss');
  c.sendText(paddedPing(1, 1024 * 1024));
  const code = (await c.endedWithin(5000)).code;
  t.ok(code === 1009 || code === 1006, `closed with 1009, or reset while still sending (got ${code})`);
  await chatStillWorks(t, 'wss 1 MiB message');
});

t.test('tcp: a frame of exactly MAX_FRAME_BYTES is accepted; a larger length header gets bye GW_FRAME_TOO_LARGE before any body', async (t) => {
  const c = (await loggedIn(t, 'tcp')) as RawTcp & { userId: UserId };
  const exact = paddedPing(c.nextRid(), MAX_FRAME_BYTES);
  c.sendText(exact);
  t.equal((await c.answer(JSON.parse(exact).rid as number)).t, 'result', `${MAX_FRAME_BYTES} bytes is within the limit`);

  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  // only the header: the server must refuse without waiting for (or buffering) the body
  c.writeRaw(header);
  const e = await c.endedWithin(5000, 'bye after an oversized length header');
  t.equal(e.bye?.code, 'GW_FRAME_TOO_LARGE');
  t.match(e.bye?.message, /262144/, 'the bye names the limit');
  await chatStillWorks(t, 'tcp oversized length header');
});

t.test('tcp: a 4 GiB length header is refused the same way', async (t) => {
  const c = (await raw(t, 'tcp')) as RawTcp;
  c.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  t.equal((await c.endedWithin(5000)).bye?.code, 'GW_FRAME_TOO_LARGE');
  await chatStillWorks(t, 'tcp 4 GiB length header');
});

// ---- invalid UTF-8 and binary ----

const INVALID_UTF8: [string, Buffer][] = [
  ['a stray 0xFF byte', Buffer.from([...Buffer.from('{"t":"ping","rid":1,"p":{"x":"'), 0xff, ...Buffer.from('"}}')])],
  ['a UTF-16 surrogate encoded as UTF-8 (CESU-8)', Buffer.from([...Buffer.from('{"t":"ping","rid":1,"p":{"x":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}}')])],
  ['an overlong encoding of "/"', Buffer.from([...Buffer.from('{"t":"ping","rid":1,"p":{"x":"'), 0xc0, 0xaf, ...Buffer.from('"}}')])],
  ['a truncated 3-byte sequence', Buffer.from([...Buffer.from('{"t":"ping","rid":1,"p":{"x":"'), 0xe6, 0xb1, ...Buffer.from('"}}')])],
];

for (const [what, bytes] of INVALID_UTF8) {
  t.test(`wss: a text message with ${what} is closed with 1007`, async (t) => {
    const c = (await raw(t, 'wss')) as RawWs;
    c.sendRawTextFrame(bytes);
    const e = await c.endedWithin(5000);
    t.equal(e.code, 1007, 'closed by the WebSocket library with 1007 (invalid payload)');
    t.equal(errors(c).length, 0, 'no frame was handled');
    await chatStillWorks(t, `wss ${what}`);
  });

  t.test(`tcp: a frame with ${what} gets bye GW_BAD_FRAME`, async (t) => {
    const c = (await raw(t, 'tcp')) as RawTcp;
    c.sendFrameBytes(bytes);
    const e = await c.endedWithin(5000);
    t.equal(e.bye?.code, 'GW_BAD_FRAME');
    t.match(e.bye?.message, /UTF-8/, 'the bye says why');
    t.notOk(c.frames.some((f) => f.t === 'result'), 'the frame was not handled');
    await chatStillWorks(t, `tcp ${what}`);
  });
}

t.test('wss: the raw frame writer itself is sound (a valid frame written the same way is answered)', async (t) => {
  const c = (await raw(t, 'wss')) as RawWs;
  c.sendRawTextFrame(Buffer.from('{"t":"ping","rid":77,"p":{"x":"汇通"}}'));
  t.equal((await c.answer(77)).t, 'result');
  c.close();
});

t.test('wss: a binary message closes the connection with 4400 GW_BAD_FRAME', async (t) => {
  const c = (await loggedIn(t, 'wss')) as RawWs & { userId: UserId };
  c.sendBinary(Buffer.from('{"t":"ping","rid":9999}'));
  assertEnded(t, c, await c.endedWithin(5000), 'GW_BAD_FRAME', 4400);
  t.notOk(c.frames.some((f) => f.rid === 9999), 'the binary frame was not handled');
  await chatStillWorks(t, 'wss binary message');
});

// ---- floods ----

for (const kind of KINDS) {
  t.test(`${kind}: a burst over the rate limit gets GW_RATE_LIMITED for the dropped frames only; the connection stays`, async (t) => {
    const c = await loggedIn(t, kind);
    const rids = Array.from({ length: 450 }, () => c.nextRid());
    c.sendTexts(rids.map((rid) => JSON.stringify({ t: 'ping', rid })));
    const last = rids[rids.length - 1] as number;
    await c.waitFor((f) => f.rid === last, 'the answer to the last ping of the burst');
    // answers come in any order (errors at once, results in request order): wait for all of them
    await Promise.all(rids.map((rid) => c.answer(rid)));
    const answers = c.frames.filter((f) => typeof f.rid === 'number' && rids.includes(f.rid));
    const limited = answers.filter((f) => f.t === 'error');
    t.equal(answers.length, rids.length, 'every frame of the burst was answered exactly once');
    t.ok(limited.length > 0, `some frames were refused (${limited.length})`);
    t.ok(limited.length <= 100, 'the burst allowance (twice the per-second rate) was honoured');
    t.ok(limited.every((f) => f.p?.code === 'GW_RATE_LIMITED' && f.p.retryAfterMs === 1000), 'refusals are GW_RATE_LIMITED with retryAfterMs');
    t.notOk(c.closed, 'a short burst does not close the connection');
    const retryAfter = limited[0]?.p?.retryAfterMs ?? 1000;
    // a well-behaved client waits as told, then carries on
    await new Promise((r) => setTimeout(r, retryAfter));
    t.equal((await c.request('ping')).t, 'result', `after waiting retryAfterMs (${retryAfter} ms) the connection answers again`);
    c.close();
    await chatStillWorks(t, `${kind} burst`);
  });

  t.test(`${kind}: a sustained flood of 5000 pings is refused and the connection closed with 4429`, async (t) => {
    const before = await metric('huitong_rate_limited_total');
    const c = await loggedIn(t, kind);
    const rids = Array.from({ length: 5000 }, () => c.nextRid());
    const sent = new Set(rids);
    c.sendTexts(rids.map((rid) => JSON.stringify({ t: 'ping', rid })));
    const e = await c.endedWithin(10_000, 'the flood to close the connection');
    assertEnded(t, c, e, 'GW_RATE_LIMITED', 4429);
    const limited = errors(c);
    t.ok(limited.length > 0, `the dropped frames were answered (${limited.length} GW_RATE_LIMITED errors)`);
    t.ok(limited.every((f) => f.p?.code === 'GW_RATE_LIMITED'), 'all errors are GW_RATE_LIMITED');
    t.ok(limited.every((f) => typeof f.rid === 'number' && sent.has(f.rid)), 'each refusal carries the rid of the dropped frame');
    t.ok(c.frames.length < 5000, `the server did not answer the whole flood (${c.frames.length} frames)`);
    t.ok((await metric('huitong_rate_limited_total')) > before, 'refused frames are counted in /metrics');
    await chatStillWorks(t, `${kind} sustained flood`);
  });
}

t.test('floods on both transports at once leave the well-behaved pair responsive', async (t) => {
  const floods = await Promise.all(KINDS.flatMap((k) => [loggedIn(t, k), loggedIn(t, k)]));
  for (const c of floods) c.sendTexts(Array.from({ length: 5000 }, () => JSON.stringify({ t: 'ping', rid: c.nextRid() })));
  const chat = chatStillWorks(t, 'four simultaneous floods');
  const ended = await Promise.all(floods.map((c) => c.endedWithin(10_000)));
  await chat;
  t.ok(ended.every((e) => endCode(e) === 'GW_RATE_LIMITED'), 'every flooding connection was closed for GW_RATE_LIMITED');
});

// ---- slow consumers ----

// Memory of this process (the gateway runs in it) after a full garbage collection,
// so that garbage left by the test's own clients does not count.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function retainedRss(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}
const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Polls /metrics until the counter reaches `target`; fails with `what` after timeoutMs. */
async function metricReaches(name: string, target: number, what: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await metric(name);
    if (v >= target) return v;
    if (Date.now() > deadline) throw new Error(`${name} stayed at ${v} (wanted ${target}) for ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stalledPair(t: Test): Promise<{ wss: RawClient & { userId: UserId; account: string }; tcp: RawClient & { userId: UserId; account: string } }> {
  const open = async (kind: TransportKind) => {
    const c = await raw(t, kind);
    const u = await freshUser();
    await c.logIn(u.account, TEST_PASSWORD, `${u.account}-${kind}`);
    const r = await c.request('presence.sub', { userIds: [aliceUser.id, bobUser.id] });
    t.equal(r.t, 'result', `${kind}: the soon-stalled client logged in and subscribed`);
    return Object.assign(c, { userId: u.id, account: u.account });
  };
  return { wss: await open('wss'), tcp: await open('tcp') };
}

async function sender(t: Test, url: string): Promise<HuitongClient> {
  const u = await freshUser();
  const client = new HuitongClient({ url, ca: g.ca, credentials: { account: u.account, password: TEST_PASSWORD }, device: { id: `${u.account}-sender`, type: 'desktop' } });
  t.teardown(() => client.close());
  await client.connect();
  return client;
}

/** Resumes reading and checks the server had ended the connection (dropped, or closed with GW_SLOW_CONSUMER). */
async function seesItsConnectionGone(t: Test, c: RawClient): Promise<void> {
  c.resumeReading();
  const e = await c.endedWithin(15_000, `the ${c.kind} stalled client to find its connection closed`);
  if (c.kind === 'wss') t.ok(e.code === 1006 || e.code === 4503, `wss: abnormal closure or 4503 (got ${e.code} ${e.reason})`);
  else t.ok(e.bye === null || e.bye.code === 'GW_SLOW_CONSUMER', `tcp: end of stream (bye: ${JSON.stringify(e.bye)})`);
}

t.test('clients that stop reading while others send them 30 KB messages are dropped; nothing is lost; others carry on', async (t) => {
  const slowBefore = await metric('huitong_slow_consumers_total');
  const stalled = await stalledPair(t);
  // two senders, each with its own frame-rate allowance
  const senders = [await sender(t, g.wss), await sender(t, g.tcp)];
  const rss0 = retainedRss();
  for (const c of Object.values(stalled)) c.pauseReading();

  const acked = new Map<UserId, Set<string>>([[stalled.wss.userId, new Set()], [stalled.tcp.userId, new Set()]]);
  const big = '汇'.repeat(9_980); // with its prefix under 10 000 characters: about 30 KB of UTF-8
  let sent = 0;
  /** One window of 40 sends per sender, alternating between the stalled users; resolves when all are acknowledged. */
  const wave = async () => {
    const acks: Promise<unknown>[] = [];
    for (const [i, s] of senders.entries()) {
      for (let k = 0; k < 40; k++) {
        const to = k % 2 === 0 ? stalled.wss.userId : stalled.tcp.userId;
        const cmid = `big-${i}-${++sent}`;
        acks.push(s.sendText({ kind: 'user', id: to }, `${cmid} ${big}`, { cmid }).then(() => acked.get(to)?.add(cmid)));
      }
    }
    await Promise.all(acks);
  };
  const MAX_WAVES = 50; // 4000 messages, 60 MB per stalled user: far beyond what sockets buffer
  let waves = 0;
  let slow = slowBefore;
  while (slow < slowBefore + 2 && waves < MAX_WAVES) {
    await wave();
    waves++;
    slow = await metric('huitong_slow_consumers_total');
  }
  t.equal(slow, slowBefore + 2, `both stalled clients were dropped as slow consumers (after ${sent} messages, ${MB(sent * 30_000)})`);
  const rss1 = retainedRss();
  // What this process retains includes SQLite's page cache (64 MB) filling with the stored messages;
  // the tight bound on buffering is in the next test, which stores nothing.
  t.comment(`30 KB messages: ${sent} until both were dropped; retained rss +${MB(rss1 - rss0)}`);
  t.ok(rss1 - rss0 < 256e6, `memory stays bounded (+${MB(rss1 - rss0)})`);
  t.equal(await metric('huitong_slow_consumers_total'), slowBefore + 2, 'each stalled client was dropped once');

  for (const c of Object.values(stalled)) await seesItsConnectionGone(t, c);
  await chatStillWorks(t, 'slow consumers dropped');

  // "Nothing is lost: the messages are in the inbox; msg.sync after reconnecting."
  for (const [kind, c] of Object.entries(stalled)) {
    const expected = acked.get(c.userId) ?? new Set<string>();
    const r = await raw(t, kind as TransportKind);
    const auth = await r.logIn(c.account, TEST_PASSWORD, `${c.account}-raw`);
    t.equal((auth.p as { lastSeq?: number } | undefined)?.lastSeq, expected.size, `${kind}: the inbox holds every acknowledged message`);
    const page = await r.request('msg.sync', { after: 0 });
    t.equal(page.t, 'result', `${kind}: msg.sync from 0 answers with a page (got ${page.p?.code ?? 'a result'}: ${page.p?.message ?? ''})`);
    r.close();
    const again = new HuitongClient({ url: kind === 'wss' ? g.wss : g.tcp, ca: g.ca, credentials: { account: c.account, password: TEST_PASSWORD }, device: { id: `${c.account}-again`, type: 'desktop' } });
    t.teardown(() => again.close());
    const got = new Set<string>();
    const warnings: string[] = [];
    again.on('warning', (w) => warnings.push(`${w.code}: ${w.message}`));
    const all = new Promise<void>((resolve) => {
      again.on('message', (m) => {
        got.add(m.cmid);
        if (got.size >= expected.size) resolve();
      });
    });
    await again.connect();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      all.then(() => 'complete'),
      new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 15_000))),
    ]);
    clearTimeout(timer);
    t.equal(outcome, 'complete', `${kind}: reconnecting with msg.sync delivers all ${expected.size} messages (got ${got.size}; warnings: ${[...new Set(warnings)].join(' | ') || 'none'})`);
    t.same([...got].sort(), [...expected].sort(), `${kind}: exactly the acknowledged messages`);
    await again.close();
  }
});

t.test('clients that ask for large answers and never read them are dropped; memory stays bounded', async (t) => {
  const slowBefore = await metric('huitong_slow_consumers_total');
  const stalled = await stalledPair(t);
  // fill each inbox with 20 messages of 10 KB, so one msg.sync page is about 190 KB
  const s = await sender(t, g.wss);
  const filler = 'y'.repeat(9_990);
  await Promise.all(
    Object.values(stalled).flatMap((c) => Array.from({ length: 20 }, (_, i) => s.sendText({ kind: 'user', id: c.userId }, `${i} ${filler}`))),
  );
  for (const c of Object.values(stalled)) {
    const r = await c.request('msg.sync', { after: 0, limit: 500 });
    t.equal(r.t, 'result', `${c.kind}: one msg.sync page answers`);
    t.ok(JSON.stringify(r).length > 150_000, `${c.kind}: a page is large (${MB(JSON.stringify(r).length)})`);
  }
  const rss0 = retainedRss();
  // 400 requests (the burst allowance) ask for ~76 MB of answers per connection
  for (const c of Object.values(stalled)) {
    c.pauseReading();
    c.sendTexts(Array.from({ length: 400 }, () => JSON.stringify({ t: 'msg.sync', rid: c.nextRid(), p: { after: 0, limit: 500 } })));
  }
  await metricReaches('huitong_slow_consumers_total', slowBefore + 2, 'both stalled clients should be dropped as slow consumers');
  const rss1 = retainedRss();
  t.comment(`sync amplification: ~${MB(2 * 400 * 190_000)} requested; retained +${MB(rss1 - rss0)}`);
  t.ok(rss1 - rss0 < 48e6, `the server did not keep the answers nobody reads (retained +${MB(rss1 - rss0)} of ~${MB(2 * 400 * 190_000)} requested)`);
  for (const c of Object.values(stalled)) await seesItsConnectionGone(t, c);
  await chatStillWorks(t, 'sync amplification');
});

// ---- handshake timeout ----

t.test('connections that never complete the handshake are closed with GW_HANDSHAKE_TIMEOUT', async (t) => {
  const silent = { wss: await raw(t, 'wss'), tcp: await raw(t, 'tcp') };
  const helloOnly = { wss: await raw(t, 'wss'), tcp: await raw(t, 'tcp') };
  for (const c of Object.values(helloOnly)) t.equal((await c.request('hello', { v: 1 })).t, 'result');
  const logged = await loggedIn(t, 'tcp');

  // not yet: five seconds in, every connection is still up
  g.gw.clientEdge.sweep(Date.now() + 5_000);
  for (const c of [...Object.values(silent), ...Object.values(helloOnly)]) t.equal((await c.request('ping')).t, 'result', `${c.kind}: still open before the timeout`);

  // eleven seconds in (the sweep runs every 5 s; calling it directly keeps the test fast)
  g.gw.clientEdge.sweep(Date.now() + 11_000);
  for (const c of [...Object.values(silent), ...Object.values(helloOnly)]) {
    assertEnded(t, c, await c.endedWithin(5000), 'GW_HANDSHAKE_TIMEOUT', 4408);
  }
  t.equal((await logged.request('ping')).t, 'result', 'a logged-in raw connection is not touched');
  await chatStillWorks(t, 'handshake timeouts');
});

t.test('the well-behaved pair was never disconnected', async (t) => {
  t.equal(alice.closes.length, 0, 'alice (WSS) kept her connection');
  t.equal(bob.closes.length, 0, 'bob (TCP) kept his connection');
  t.equal(alice.client.state, 'online');
  t.equal(bob.client.state, 'online');
});
