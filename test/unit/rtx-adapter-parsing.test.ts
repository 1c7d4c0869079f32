import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import t from 'tap';
import type tap from 'tap';
import { buildRtxResponse, decodeGbk, parseFormBytes, rtxError, rtxOk } from '../../gateway/src/protocol/rtx-http.js';
import { ImWatchTailer, capturedFromRecord, imwatchTimeMs, parseImWatchChunk } from '../../rtx-adapter/src/imwatch-tailer.js';
import type { RtxPortError, CapturedMessage } from '../../rtx-adapter/src/ports.js';
import { SdkClient, checkSdkAction, parseSdkResponse } from '../../rtx-adapter/src/sdk-client.js';

const gbk = (s: string) => iconv.encode(s, 'gb18030');

/** Asserts an RtxPortError of this kind (and message). */
async function failsWith(t: Pick<typeof tap, 'equal' | 'match' | 'fail'>, p: Promise<unknown> | (() => unknown), kind: string, message: RegExp = /.*/): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
    t.fail(`expected ${kind}`);
  } catch (e) {
    t.equal((e as RtxPortError).kind, kind, `${kind}: ${(e as Error).message}`);
    t.match((e as Error).message, message);
  }
}

t.test('SDK answers: success, error texts, Ret Code, bad encodings', async (t) => {
  const ok = parseSdkResponse(rtxOk(false));
  t.equal(ok.retCode, 0);
  t.equal(ok.retString, '操作成功');
  t.doesNotThrow(() => checkSdkAction(ok, 'SendIM'));
  // an old server without Ret Code headers
  t.doesNotThrow(() => checkSdkAction(parseSdkResponse(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n'), gbk('操作成功!')])), 'SendIM'));
  const kinds: Array<[Buffer, string, RegExp]> = [
    [rtxError('用户不存在:ghost,钱八', false), 'UNKNOWN_USER', /ghost, 钱八/],
    [rtxError('IP受限制', false), 'REFUSED', /IP/],
    [rtxError('服务器忙,请稍后再试', false), 'UNREACHABLE', /busy/],
    [rtxError('接收人不能为空', false), 'BAD_REQUEST', /接收人不能为空/],
    [rtxError('密码错误', false), 'REFUSED', /密码错误/],
    [rtxError('服务器内部错误', false, { status: 500 }), 'UNREACHABLE', /HTTP 500/],
    [rtxError('Not Found', false, { status: 404 }), 'REFUSED', /404/],
    [buildRtxResponse({ body: Buffer.from([0xff, 0xff, 0x81, 0x20, 0x3c]), retCode: -1, retString: '', keepAlive: false }), 'BAD_ANSWER', /not GBK/],
    [buildRtxResponse({ body: '', retCode: -1, retString: '', keepAlive: false }), 'BAD_ANSWER', /empty/],
    [buildRtxResponse({ body: '操作成功!', retCode: -1, retString: 'x', keepAlive: false }), 'REFUSED', /操作成功/],
  ];
  for (const [raw, kind, msg] of kinds) {
    const err = t.throws(() => checkSdkAction(parseSdkResponse(raw), 'SendIM')) as unknown as RtxPortError;
    t.equal(err.kind === 'BAD_ANSWER' && kind === 'BAD_ANSWER' ? kind : err.kind, kind, `${kind}: ${err.message}`);
    t.match(err.message, msg);
  }
  t.same((t.throws(() => checkSdkAction(parseSdkResponse(rtxError('用户不存在:ghost', false)), 'x')) as unknown as RtxPortError).accounts, ['ghost']);
  // malformed heads
  await failsWith(t, () => parseSdkResponse(Buffer.from('garbage')), 'BAD_ANSWER');
  await failsWith(t, () => parseSdkResponse(Buffer.from('SMTP ready\r\n\r\n')), 'BAD_ANSWER');
  await failsWith(t, () => parseSdkResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')), 'BAD_ANSWER', /cut short/);
});

/** A raw TCP server answering each request with `answer(requestBytes)` (or nothing). */
async function fakeServer(t: { teardown(fn: () => unknown): void }, answer: (req: Buffer, socket: net.Socket) => void): Promise<string> {
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buf.length >= end + 4 + len) answer(buf, s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

t.test('SDK client: GBK form encoding, timeouts, refused connections, garbage answers', async (t) => {
  let seen: Buffer = Buffer.alloc(0);
  const url = await fakeServer(t, (req, s) => {
    seen = req;
    s.end(rtxOk(false));
  });
  const c = new SdkClient({ url, timeoutMs: 500 });
  await c.sendIm({ sender: 'zhangsan', receivers: ['lisi', '钱七'], text: '你好㑇𠀀 & = +', sessionKey: '{K}' });
  const text = seen.toString('latin1');
  t.match(text, /^POST \/SendIM\.cgi HTTP\/1\.1\r\n/);
  const body = seen.subarray(seen.indexOf('\r\n\r\n') + 4);
  t.notOk([...body].some((b) => b >= 0x80), 'the body is ASCII (percent-encoded)');
  const params = new Map(parseFormBytes(body).map(([k, v]) => [k, decodeGbk(v)]));
  t.equal(params.get('msg'), '你好㑇𠀀 & = +', 'GBK (GB18030) percent-encoding round-trips');
  t.equal(params.get('receivers'), 'lisi;钱七');
  t.equal(params.get('sessionid'), '{K}');

  const slow = new SdkClient({ url: await fakeServer(t, () => undefined), timeoutMs: 200 });
  await failsWith(t, slow.sendIm({ sender: 'a', receivers: ['b'], text: 'x', sessionKey: '' }), 'UNREACHABLE', /within 200 ms/);

  const garbage = new SdkClient({ url: await fakeServer(t, (_r, s) => s.end(Buffer.from([0x00, 0xff, 0x13, 0x37]))), timeoutMs: 500 });
  await failsWith(t, garbage.sendNotify({ receivers: ['b'], title: '', text: 'x' }), 'BAD_ANSWER');
  const closes = new SdkClient({ url: await fakeServer(t, (_r, s) => s.destroy()), timeoutMs: 500 });
  await failsWith(t, closes.sendNotify({ receivers: ['b'], title: '', text: 'x' }), 'UNREACHABLE');

  const port = await new Promise<number>((r) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => r(p));
    });
  });
  await failsWith(t, new SdkClient({ url: `http://127.0.0.1:${port}` }).getStatus('x'), 'UNREACHABLE', /ECONNREFUSED/);

  const status = new SdkClient({ url: await fakeServer(t, (req, s) => s.end(req.includes('username=ghost') ? rtxError('用户不存在:ghost', false, { retCode: -984 }) : buildRtxResponse({ body: '2', retCode: 0, keepAlive: false }))) });
  t.equal(await status.getStatus('lisi'), 'away');
  await failsWith(t, status.getStatus('ghost'), 'UNKNOWN_USER');
  const mobile = new SdkClient({ url: await fakeServer(t, (_r, s) => s.end(buildRtxResponse({ body: '13800000001', retCode: 0, keepAlive: false }))) });
  t.equal(await mobile.getMobile('zhangsan'), '13800000001');
  t.throws(() => new SdkClient({ url: 'https://rtx:8012' }), /plain HTTP/);
});

const rec = (id: number, time: string, sender: string, receivers: string, msg: string) => gbk(`ThreadID=${id}\r\nTime=${time}\r\nSender=${sender}\r\nReceivers=${receivers}\r\nMsg=${msg.replace(/\n/g, '\r\n')}\r\n\r\n`);

t.test('IMWatch records: complete, partial, multi-line, group vs 1:1, junk', async (t) => {
  const a = rec(1, '2024-05-07 08:00:00', 'zhangsan', 'lisi', '你好\n第二行\n\n空行之后');
  const b = rec(2, '2024-05-07 08:00:01', 'lisi', 'zhangsan;钱七;', '群消息𠀀');
  const all = Buffer.concat([a, b]);
  let r = parseImWatchChunk(all);
  t.equal(r.records.length, 2);
  t.equal(r.consumed, all.length);
  t.equal(r.records[0]?.text, '你好\n第二行\n\n空行之后', 'an empty line inside a message is kept (not followed by ThreadID=)');
  t.equal(r.records[1]?.offset, a.length);
  // partial last record: not taken
  r = parseImWatchChunk(Buffer.concat([a, b.subarray(0, b.length - 3)]));
  t.equal(r.records.length, 1);
  t.equal(r.consumed, a.length);
  // cut in the middle of a four-byte GB18030 character
  r = parseImWatchChunk(Buffer.concat([a, b.subarray(0, b.length - 6)]));
  t.equal(r.consumed, a.length);
  // LF-only line ends
  r = parseImWatchChunk(Buffer.from('ThreadID=3\nTime=2024-05-07 08:00:02\nSender=a\nReceivers=b\nMsg=x\n\nThreadID=4\nTime=2024-05-07 08:00:03\nSender=b\nReceivers=a\nMsg=y\n\n'));
  t.same(r.records.map((x) => x.text), ['x', 'y']);
  // junk before the first record is skipped
  r = parseImWatchChunk(Buffer.concat([Buffer.from('garbage\r\n\r\n'), a]));
  t.equal(r.records.length, 1);
  t.equal(r.skipped, 'garbage\r\n\r\n'.length);
  // a record missing fields is skipped, not fatal
  r = parseImWatchChunk(Buffer.concat([gbk('ThreadID=5\r\nTime=x\r\n\r\n'), a]));
  t.equal(r.records.length, 1);

  const [one, grp] = parseImWatchChunk(all).records;
  const c1 = capturedFromRecord('IM_2024-05-07.txt', one!, 480);
  t.match(c1, { kind: 'single', sender: 'zhangsan', receivers: ['lisi'], via: 'imwatch', timeMs: Date.UTC(2024, 4, 7, 0, 0, 0) });
  const c2 = capturedFromRecord('IM_2024-05-07.txt', grp!, 480, (s, m) => (s === 'lisi' && m.join() === 'zhangsan,钱七' ? { id: '{G}', name: '攻关群', sessionKey: '{GK}' } : null));
  t.match(c2, { kind: 'group', receivers: ['zhangsan', '钱七'], group: { id: '{G}', name: '攻关群' }, sessionKey: '{GK}', text: '群消息𠀀' });
  t.equal(capturedFromRecord('IM_2024-05-07.txt', one!, 480).imMessageId, c1.imMessageId, 'stable id');
  t.not(capturedFromRecord('IM_2024-05-08.txt', one!, 480).imMessageId, c1.imMessageId, 'per file and offset');
  const unresolved = capturedFromRecord('IM_2024-05-07.txt', grp!, 480);
  t.match(unresolved.group?.id, /^imwatch:/);
  t.ok(Number.isNaN(imwatchTimeMs('yesterday', 480)));
});

t.test('IMWatch tailer: day rollover with late records, restart from the saved offset, shrink', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'imwatch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let saved: Record<string, number> | null = null;
  const offsets = { load: () => saved, save: (o: Record<string, number>) => void (saved = { ...o }) };
  const got: CapturedMessage[] = [];
  const sink = async (m: CapturedMessage[]) => void got.push(...m);
  const day1 = path.join(dir, 'IM_2024-05-07.txt');
  const day2 = path.join(dir, 'IM_2024-05-08.txt');
  writeFileSync(day1, rec(1, '2024-05-07 08:00:00', 'a', 'b', 'before the adapter'));
  let tailer = new ImWatchTailer({ dir, offsets, pollMs: 60_000 });
  await tailer.start(sink);
  await tailer.pollNow();
  t.equal(got.length, 0, 'existing records are skipped on the very first start');
  appendFileSync(day1, rec(2, '2024-05-07 23:59:59', 'a', 'b', 'late evening'));
  writeFileSync(day2, rec(3, '2024-05-08 00:00:01', 'b', 'a', 'new day'));
  await tailer.pollNow();
  t.same(got.map((m) => m.text), ['late evening', 'new day']);
  appendFileSync(day1, rec(4, '2024-05-07 23:59:59', 'c', 'b', 'written late into yesterday'));
  await tailer.pollNow();
  t.same(got.map((m) => m.text).at(-1), 'written late into yesterday', 'yesterday is still watched after the rollover');
  await tailer.stop();

  appendFileSync(day2, Buffer.concat([rec(5, '2024-05-08 00:00:02', 'b', 'a', 'while stopped'), rec(6, '2024-05-08 00:00:03', 'b', 'a', 'half').subarray(0, 20)]));
  tailer = new ImWatchTailer({ dir, offsets, pollMs: 60_000 });
  await tailer.start(sink);
  await tailer.pollNow();
  t.same(got.map((m) => m.text), ['late evening', 'new day', 'written late into yesterday', 'while stopped'], 'resumed from the saved offset, nothing twice, partial record waits');
  appendFileSync(day2, rec(6, '2024-05-08 00:00:03', 'b', 'a', 'half').subarray(20));
  await tailer.pollNow();
  t.equal(got.at(-1)?.text, 'half');
  writeFileSync(day2, rec(7, '2024-05-08 00:00:04', 'b', 'a', 'file replaced'));
  await tailer.pollNow();
  t.equal(got.at(-1)?.text, 'file replaced', 'a shrunk file is read again from the start');
  await tailer.stop();
});
