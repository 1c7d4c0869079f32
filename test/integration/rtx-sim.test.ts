import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import t from 'tap';
import { decodeRetString, encodeRtxForm, parseRtxResponse, type ParsedRtxResponse } from '../../gateway/src/protocol/rtx-http.js';
import { startRtxSimulator, type RtxSimulator } from '../../rtx-adapter/sim/simulator.js';

const gbk = (s: string) => iconv.encode(s, 'gb18030');
const text = (r: ParsedRtxResponse | undefined) => iconv.decode(r?.body ?? Buffer.alloc(0), 'gb18030');
const header = (r: ParsedRtxResponse | undefined, name: string) => r?.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

/** Writes raw bytes on one connection, collects `count` responses (or until the server closes). */
function exchange(port: number, bytes: Buffer, count = 1): Promise<{ responses: ParsedRtxResponse[]; reset: boolean; closed: boolean }> {
  return new Promise((resolve) => {
    const responses: ParsedRtxResponse[] = [];
    let buf: Buffer = Buffer.alloc(0);
    let reset = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    const finish = (closed: boolean) => {
      s.destroy();
      resolve({ responses, reset, closed });
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let p = parseRtxResponse(buf); p; p = parseRtxResponse(buf)) {
        responses.push(p.response);
        buf = p.rest;
      }
      if (responses.length >= count) finish(false);
    });
    s.on('error', () => (reset = true));
    s.on('close', () => finish(true));
  });
}

const get = async (sim: RtxSimulator, target: string | Buffer) => (await exchange(sim.sdkPort, Buffer.concat([Buffer.from('GET ', 'latin1'), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(' HTTP/1.1\r\nHost: rtx\r\n\r\n', 'latin1')]))).responses[0];

async function control<T = unknown>(sim: RtxSimulator, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.controlUrl}${url}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

interface Inbox {
  ims: Array<{ sender: string; text: string; session_key: string; group_id: string | null; im_message_id: string }>;
  notifications: Array<{ title: string; text: string; broadcast: boolean }>;
  sms: Array<{ text: string }>;
}

t.test('HTTP SDK', async (t) => {
  const sim = await startRtxSimulator({ signKey: Buffer.from('fixed test key') });
  t.teardown(() => sim.close());

  t.test('a notification as raw GBK, percent-encoded GBK and percent-encoded UTF-8 arrives as the same Chinese text', async (t) => {
    const msg = '会议改到三点，请准时参加㑇𠀀䶮';
    const rawLine = Buffer.concat([Buffer.from('/SendNotify.cgi?receiver=lisi&title=', 'latin1'), gbk('紧急'), Buffer.from('&msg=', 'latin1'), gbk(msg)]);
    const answers = [await get(sim, rawLine), await get(sim, `/sendnotify.cgi?${encodeRtxForm({ receiver: 'lisi', msg })}`), await get(sim, `/sendNotify.cgi?${encodeRtxForm({ receiver: 'lisi', msg }, 'utf-8')}`)];
    for (const r of answers) {
      t.equal(r?.status, 200);
      t.equal(r?.body.toString('hex'), 'b2d9d7f7b3c9b9a621', 'body is GBK 操作成功!');
      t.same(r?.headers[2], ['Ret Code', '0'], 'header 3');
      t.equal(r?.headers[3]?.[0], 'Ret String', 'header 4');
      t.equal(decodeRetString(r?.headers[3]?.[1] ?? ''), '操作成功');
    }
    const box = await control<Inbox>(sim, 'GET', '/received/lisi');
    t.same(box.notifications.map((n) => n.text), [msg, msg, msg]);
    t.same(box.notifications.map((n) => n.title), ['紧急', '通知', '通知'], 'title defaults to 通知');
  });

  t.test('receivers split on , and ;, receiver=all broadcasts, unknown users and empty receivers fail with <br>', async (t) => {
    t.equal(text(await get(sim, `/SendNotify.cgi?${encodeRtxForm({ receiver: 'zhangsan;wangwu,10086', msg: '多人' })}`)), '操作成功!');
    for (const a of ['zhangsan', 'wangwu', '10086']) t.equal((await control<Inbox>(sim, 'GET', `/received/${a}`)).notifications.at(-1)?.text, '多人');
    t.equal(text(await get(sim, `/SendNotify.cgi?${encodeRtxForm({ receiver: 'ALL', msg: '全员通知' })}`)), '操作成功!');
    const rare = await control<Inbox>(sim, 'GET', `/received/${encodeURIComponent('钱七')}`);
    t.same(rare.notifications.at(-1), { ...rare.notifications.at(-1), text: '全员通知', broadcast: true });
    const unknown = await get(sim, `/SendNotify.cgi?${encodeRtxForm({ receiver: 'lisi,ghost', msg: 'x' })}`);
    t.equal(text(unknown), '用户不存在:ghost<br>');
    t.same(unknown?.headers[2], ['Ret Code', '-1']);
    t.equal((await control<Inbox>(sim, 'GET', '/received/lisi')).notifications.at(-1)?.text, '全员通知', 'nothing delivered on failure');
    t.match(text(await get(sim, `/SendNotify.cgi?receiver=&msg=x`)), /<br>$/, 'empty receiver is an error by default');
  });

  t.test('POST bodies, keep-alive pipelining, HTTP/1.0', async (t) => {
    const body = Buffer.from(encodeRtxForm({ receiver: 'wangwu', msg: '表单正文' }), 'latin1');
    const post = Buffer.concat([Buffer.from(`POST /SENDNOTIFY.CGI?receiver=&msg= HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
    const status = Buffer.from('GET /getstatus.php?username=zhangsan HTTP/1.1\r\n\r\n', 'latin1');
    const last = Buffer.from('GET /GetMobile.cgi?receiver=rare HTTP/1.0\r\n\r\n', 'latin1');
    const r = await exchange(sim.sdkPort, Buffer.concat([post, status, last]), 3);
    t.equal(r.responses.length, 3);
    t.equal(text(r.responses[0]), '操作成功!');
    t.match(text(r.responses[1]), /^[012]$/);
    t.equal(text(r.responses[2]), '13800000006');
    t.equal(header(r.responses[2], 'Connection'), 'close');
    t.equal((await control<Inbox>(sim, 'GET', '/received/wangwu')).notifications.at(-1)?.text, '表单正文');
  });

  t.test('SendIM 1:1 and into a group by its session key', async (t) => {
    const groups = await control<{ items: Array<{ id: string; session_key: string; members: string[] }> }>(sim, 'GET', '/org/groups');
    const g = groups.items.find((x) => x.members.includes('zhangsan'));
    t.ok(g, 'the first generated group holds zhangsan');
    if (!g) return;
    t.equal(text(await get(sim, `/SendIM.cgi?${encodeRtxForm({ sender: 'zhangsan', pwd: '', receivers: 'lisi;wangwu', msg: '你好', sessionid: '{ABC}' })}`)), '操作成功!');
    const lisi = await control<Inbox>(sim, 'GET', '/received/lisi');
    t.same(lisi.ims.at(-1), { ...lisi.ims.at(-1), sender: 'zhangsan', text: '你好', session_key: '{ABC}', group_id: null });
    t.equal(text(await get(sim, `/sendim.cgi?${encodeRtxForm({ sender: 'zhangsan', receivers: 'nobody', msg: '群里说', sessionid: g.session_key })}`)), '操作成功!');
    for (const m of g.members.filter((x) => x !== 'zhangsan')) {
      const box = await control<Inbox>(sim, 'GET', `/received/${encodeURIComponent(m)}`);
      t.same(box.ims.at(-1), { ...box.ims.at(-1), text: '群里说', group_id: g.id, session_key: g.session_key }, `group member ${m}`);
    }
    t.equal(text(await get(sim, `/SendIM.cgi?${encodeRtxForm({ sender: 'ghost', receivers: 'lisi', msg: 'x' })}`)), '用户不存在:ghost<br>');
  });

  t.test('GetSession, GetMobile, GetImage, Login.php, SignAuth, getstatus, SendSMS', async (t) => {
    const s = await get(sim, '/GetSession.cgi?receiver=zhangsan');
    t.match(text(s), /^[0-9A-F]{32}$/);
    t.same(s?.headers.slice(2, 5).map(([k]) => k), ['Ret Code', 'Ret String', 'SessionKey']);
    t.equal(header(s, 'SessionKey'), text(s));
    const bad = await get(sim, '/GetSession.cgi?receiver=ghost');
    t.same(bad?.headers[2], ['Ret Code', '-1']);
    t.equal(decodeRetString(bad?.headers[3]?.[1] ?? ''), '用户不存在:ghost');
    t.equal(text(await get(sim, `/GetMobile.cgi?${encodeRtxForm({ receiver: '钱七' })}`)), '13800000005', 'a Chinese account');
    const img = await get(sim, '/GetImage.cgi?receiver=lisi');
    t.equal(header(img, 'Content-Type'), 'image/gif');
    t.equal(img?.body.subarray(0, 6).toString('latin1'), 'GIF89a');
    await control(sim, 'PATCH', '/org/users/lisi', { password: 'p@ss 1' });
    t.equal(text(await get(sim, `/Login.php?${encodeRtxForm({ user: 'lisi', pwd: 'p@ss 1' })}`)), 'true');
    t.equal(text(await get(sim, `/login.php?${encodeRtxForm({ user: 'lisi', pwd: 'nope' })}`)), 'false');
    t.equal(text(await get(sim, '/Login.php?user=lisi')), 'params is null');
    let plusUser = '';
    let sign = '';
    for (const u of sim.state.userList()) {
      sign = (await control<{ sign: string }>(sim, 'POST', `/org/users/${encodeURIComponent(u.account)}/sign`)).sign;
      if (sign.includes('+')) {
        plusUser = encodeURIComponent(u.account);
        break;
      }
    }
    t.ok(sign.includes('+'), 'a signature holding +');
    t.equal(text(await get(sim, `/SignAuth.cgi?user=${plusUser}&sign=${encodeURIComponent(sign)}`)), 'success!', 'sign percent-encoded');
    t.equal(text(await get(sim, `/SignAuth.cgi?user=${plusUser}&sign=${sign.replace(/\//g, '%2F').replace(/=/g, '%3D')}`)), 'success!', 'sign with a raw +');
    t.equal(text(await get(sim, '/SignAuth.cgi?user=lisi&sign=AAAA')), 'failed!');
    await control(sim, 'PUT', '/presence/zhangsan', { state: 2 });
    t.equal(text(await get(sim, '/getstatus.php?username=ZhangSan')), '2');
    t.equal(text(await get(sim, '/SendSMS.cgi?sender=zhangsan&receiveruin=10002&msg=sms')), '操作成功!');
    t.equal((await control<Inbox>(sim, 'GET', '/received/lisi')).sms.at(-1)?.text, 'sms', 'UIN 10002 is lisi');
    const many = Array.from({ length: 129 }, () => 'lisi').join(',');
    t.match(text(await get(sim, `/SendSMS.cgi?sender=a&receiver=${many}x&msg=x`)), /<br>$/);
    t.equal((await get(sim, '/userlist.php'))?.status, 404, 'the directory is not exposed');
  });

  t.test('garbage and oversized requests get a clear answer and a closed connection', async (t) => {
    const r = await exchange(sim.sdkPort, Buffer.from('BLAH\r\n\r\n', 'latin1'));
    t.equal(r.responses[0]?.status, 400);
    t.ok(r.closed || r.responses.length === 1);
    const big = await exchange(sim.sdkPort, Buffer.from(`POST /SendNotify.cgi HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n`, 'latin1'));
    t.equal(big.responses[0]?.status, 413);
  });

  t.test('IP allow-list answers IP受限制', async (t) => {
    await control(sim, 'PUT', '/allow-ips', { allow_ips: ['10.1.2.3'] });
    const r = await get(sim, '/SendNotify.cgi?receiver=lisi&msg=x');
    t.match(text(r), /IP受限制/);
    t.ok(r?.body.includes(Buffer.from('4950cadccfded6c6', 'hex')), 'GBK bytes');
    await control(sim, 'PUT', '/allow-ips', { allow_ips: ['127.0.0.1', '::1'] });
    t.equal(text(await get(sim, '/SendNotify.cgi?receiver=lisi&msg=x')), '操作成功!');
  });

  t.test('fault injection: slow, failing, down', async (t) => {
    await control(sim, 'PUT', '/faults', { http: { delayMs: 150 } });
    const t0 = Date.now();
    t.equal(text(await get(sim, '/getstatus.php?username=lisi')).length, 1);
    t.ok(Date.now() - t0 >= 140, 'answer delayed');
    await control(sim, 'PUT', '/faults', { http: { delayMs: 0, errorRate: 1, errorKind: 'text' } });
    const err = await get(sim, '/SendNotify.cgi?receiver=lisi&msg=x');
    t.match(text(err), /<br>$/);
    t.notMatch(text(err), /操作成功/);
    await control(sim, 'PUT', '/faults', { http: { errorKind: 'status500' } });
    t.equal((await get(sim, '/SendNotify.cgi?receiver=lisi&msg=x'))?.status, 500);
    await control(sim, 'PUT', '/faults', { http: { errorRate: 0, down: true } });
    const down = await exchange(sim.sdkPort, Buffer.from('GET /getstatus.php?username=lisi HTTP/1.1\r\n\r\n', 'latin1'));
    t.equal(down.responses.length, 0);
    t.ok(down.closed);
    await control(sim, 'POST', '/reset');
    t.equal(text(await get(sim, '/SendNotify.cgi?receiver=lisi&msg=x')), '操作成功!', 'reset clears faults');
  });
});

/** Line reader over the helper's stdout. */
class HelperProc {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly rawLines: string[] = [];
  private waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  private nextId = 1;
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        this.rawLines.push(line);
        const obj = JSON.parse(line) as Record<string, unknown>;
        this.lines.push(obj);
        this.waiters = this.waiters.filter((w) => (w.pred(obj) ? (w.resolve(obj), false) : true));
      }
    });
    this.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  }
  waitLine(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const found = this.lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
  send(line: string): void {
    this.proc.stdin.write(`${line}\r\n`);
  }
  async request<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<{ ok: boolean; result: T; error: { code: string; message: string; com_code?: number } }> {
    const id = this.nextId++;
    this.send(JSON.stringify({ type: 'request', id, method, params }));
    return (await this.waitLine((l) => l.type === 'response' && l.id === id)) as never;
  }
}

t.test('the simulated COM helper answers org reads and streams captured messages', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtx-imwatch-'));
  const sim = await startRtxSimulator({ org: { users: 2500, departments: 120, groups: 12, seed: 3 }, imwatchDir: dir, imwatchDelayMs: 30 });
  const proc = spawn(process.execPath, ['--import', 'tsx', 'rtx-adapter/sim/helper-main.ts', '--control', sim.controlUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
  const h = new HelperProc(proc);
  t.teardown(async () => {
    proc.kill();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ready = await h.waitLine((l) => l.type === 'ready');
  t.equal(ready.protocol, 1);
  t.ok((ready.capabilities as string[]).includes('capture'));

  const snap = await h.request<{ snapshot_id: string; users: number; departments: number; groups: number }>('org.snapshot');
  t.ok(snap.ok);
  t.same([snap.result.users, snap.result.departments, snap.result.groups], [2500, 120, 12]);
  const users: Array<{ account: string; name: string; dept_paths: string[]; dept_ids: number[] }> = [];
  for (let offset: number | null = 0; offset !== null; ) {
    const p: { result: { items: typeof users; next_offset: number | null } } = await h.request<{ items: typeof users; next_offset: number | null }>('org.users', { snapshot_id: snap.result.snapshot_id, offset, limit: 1000 });
    users.push(...p.result.items);
    offset = p.result.next_offset;
  }
  t.equal(users.length, 2500);
  t.same(users.map((u) => u.name), sim.state.userList().map((u) => u.name), 'names exact, GB18030-only characters included');
  t.ok(h.rawLines.every((l) => /^[\x20-\x7e]*$/.test(l)), 'every line is pure ASCII');
  t.same(users.slice(0, 50).map((u) => u.dept_paths), users.slice(0, 50).map((u) => u.dept_ids.map((d) => sim.state.deptPath(d))), 'department paths');
  t.ok(users.some((u) => (u.dept_paths[0] ?? '').includes('\\')), 'nested paths joined with a backslash');
  const depts = await h.request<{ items: Array<{ id: number; path: string; parent_path: string | null }> }>('org.departments', { snapshot_id: snap.result.snapshot_id, limit: 5000 });
  t.equal(depts.result.items.length, 120, 'limit clamped to the max page, 120 fit');
  const groups = await h.request<{ items: Array<{ id: string; members: string[] }> }>('org.groups', { snapshot_id: snap.result.snapshot_id });
  t.equal(groups.result.items.length, 12);
  t.equal((await h.request('org.users', { snapshot_id: '{nope}' })).error.code, 'SNAPSHOT_EXPIRED');
  const missing = await h.request('org.user', { account: 'ghost' });
  t.same([missing.error.code, missing.error.com_code], ['NO_SUCH_USER', -984]);

  await control(sim, 'PUT', '/presence/lisi', { state: 1 });
  const pres = await h.request<{ states: Record<string, number | null> }>('presence.query', { accounts: ['lisi', 'ghost'] });
  t.same(pres.result.states, { lisi: 1, ghost: null });

  t.equal((await h.request('capture.wait', { timeout_ms: 10 })).error.code, 'NOT_CAPTURING');
  t.ok((await h.request('capture.start', { app_guid: '{A1B2}', app_name: 'Huitong', action: 'copy' })).ok);

  // A 1:1 message sent while a capture.wait is in flight arrives as an event before its response.
  const waiting = h.request<{ events: number }>('capture.wait', { timeout_ms: 20_000 });
  const sent = await control<{ im_message_id: string; session_key: string }>(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'lisi', text: '从RTX发来 㑇𠀀' });
  const ev = await h.waitLine((l) => l.type === 'event' && (l.data as { im_message_id?: string }).im_message_id === sent.im_message_id);
  t.same(ev.data, { im_message_id: sent.im_message_id, kind: 'single', sender: 'zhangsan', receivers: ['lisi'], session_key: sent.session_key, group: null, text: '从RTX发来 㑇𠀀', time_ms: (ev.data as { time_ms: number }).time_ms });
  t.equal((await waiting).result.events, 1);
  t.ok(h.lines.indexOf(ev) < h.lines.findIndex((l) => l.type === 'response' && l.result && (l.result as { events?: number }).events === 1), 'event before the response');

  // A group message, captured twice (same im_message_id), and its IMWatch record.
  const g = sim.state.addGroup({ name: '攻关群䶮', members: ['zhangsan', 'lisi', '钱七'] });
  const gm = await control<{ im_message_id: string }>(sim, 'POST', '/rtx/send', { sender: 'lisi', group_id: g.id, text: '群消息\n第二行', copies: 2 });
  const imw = sim.waitImWatch(gm.im_message_id);
  const w2 = await h.request<{ events: number }>('capture.wait', { timeout_ms: 5_000 });
  t.equal(w2.result.events, 2, 'the duplicate is delivered too: the adapter de-duplicates');
  const gev = h.lines.filter((l) => l.type === 'event' && (l.data as { im_message_id?: string }).im_message_id === gm.im_message_id);
  t.equal(gev.length, 2);
  t.same(gev[0]?.data, { ...(gev[0]?.data as object), kind: 'group', sender: 'lisi', receivers: ['zhangsan', '钱七'], session_key: g.sessionKey, group: { id: g.id, name: '攻关群䶮' } });
  const rec = await imw;
  const files = await readdir(dir);
  t.same(files, [path.basename(rec.file)]);
  t.match(files[0], /^IM_\d{4}-\d{2}-\d{2}\.txt$/);
  const content = iconv.decode(await readFile(rec.file), 'gb18030');
  t.match(content, /ThreadID=\d+\r\nTime=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\nSender=zhangsan\r\nReceivers=lisi\r\nMsg=从RTX发来 㑇𠀀\r\n\r\n/);
  t.match(content, /Sender=lisi\r\nReceivers=zhangsan;钱七;\r\nMsg=群消息\r\n第二行\r\n\r\n/);
  t.ok((await readFile(rec.file)).includes(gbk('钱七')), 'GB18030 bytes on disk');

  // Sending through COM, helper faults, bad lines, shutdown.
  t.ok((await h.request('send.notify', { receivers: ['wangwu'], title: '标题', msg: '经由COM' })).ok);
  t.equal((await control<Inbox>(sim, 'GET', '/received/wangwu')).notifications.at(-1)?.text, '经由COM');
  await control(sim, 'PUT', '/faults', { helper: { down: true } });
  t.equal((await h.request('org.summary')).error.code, 'RTX_UNAVAILABLE');
  await control(sim, 'PUT', '/faults', { helper: { down: false } });
  t.equal((await h.request<{ users: number }>('org.summary')).result.users, 2500);
  t.equal((await h.request('no.such')).error.code, 'UNKNOWN_METHOD');
  h.send('{not json');
  const badLine = await h.waitLine((l) => l.type === 'response' && l.id === null);
  t.equal((badLine.error as { code: string }).code, 'BAD_REQUEST');
  t.ok((await h.request('shutdown')).ok);
  t.equal(await h.exited, 0);
});

t.test('control API: mutate the org, wait for what RTX users receive', async (t) => {
  const sim = await startRtxSimulator();
  t.teardown(() => sim.close());
  const added = await control<{ account: string; uin: number }>(sim, 'POST', '/org/users', { account: '新人', name: '新人㑇', dept_ids: [1] });
  t.equal(added.account, '新人');
  t.equal((await control<{ name: string }>(sim, 'PATCH', `/org/users/${encodeURIComponent('新人')}`, { name: '改名了' })).name, '改名了');
  t.equal((await control<{ error: string }>(sim, 'DELETE', '/org/users/ghost')).error, 'NO_SUCH_USER');
  const pending = control<Inbox>(sim, 'GET', `/received/${encodeURIComponent('新人')}?min_notifications=1&wait_ms=10000`);
  t.equal(text(await get(sim, `/SendNotify.cgi?${encodeRtxForm({ receiver: '新人', msg: '欢迎' })}`)), '操作成功!');
  t.equal((await pending).notifications[0]?.text, '欢迎');
  const xml = await fetch(`${sim.controlUrl}/export.xml`);
  t.match(xml.headers.get('content-type') ?? '', /gb2312/);
  t.ok(Buffer.from(await xml.arrayBuffer()).includes(gbk('改名了')));
});
