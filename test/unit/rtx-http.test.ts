import iconv from 'iconv-lite';
import t from 'tap';
import {
  MAX_BODY_BYTES,
  RTX_OK_BYTES,
  RTX_OK_TEXT,
  RtxHttpParseError,
  RtxHttpRequestParser,
  buildRtxResponse,
  decodeRetString,
  decodeRtxText,
  detectRtxCharset,
  encodeGbk,
  encodeRtxForm,
  extractRtxParams,
  matchRtxPath,
  parseRtxResponse,
  percentEncode,
  rtxError,
  rtxOk,
  rtxParseErrorResponse,
  type RtxHttpRequest,
} from '../../gateway/src/protocol/rtx-http.js';

const gbk = (s: string) => iconv.encode(s, 'gb18030');
const raw = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const parseOne = (bytes: Buffer): RtxHttpRequest => {
  const reqs = new RtxHttpRequestParser().push(bytes);
  if (reqs.length !== 1 || !reqs[0]) throw new Error(`expected one request, got ${reqs.length}`);
  return reqs[0];
};

// Characters outside GB2312 but inside GB18030 (㑇 U+3447 and 䶮 U+4DAE are GBK double bytes
// FE 56 / FE 9F; 𠀀 U+20000 is a GB18030 four-byte sequence 95 32 82 36).
const RARE = '㑇𠀀䶮';

t.test('GB18030-only characters really are what the tests assume', async (t) => {
  t.equal(gbk('㑇').toString('hex'), 'fe56');
  t.equal(gbk('䶮').toString('hex'), 'fe9f');
  t.equal(gbk('𠀀').toString('hex'), '95328236');
  t.equal(iconv.encode('㑇', 'gb2312').toString('hex'), '3f', 'not in GB2312');
  t.equal(RTX_OK_BYTES.toString('hex'), 'b2d9d7f7b3c9b9a621');
  t.same(encodeGbk(RTX_OK_TEXT), RTX_OK_BYTES);
});

t.test('raw GBK bytes in the request line are accepted and decoded', async (t) => {
  const req = parseOne(raw('GET /SendNotify.cgi?receiver=zhangsan&msg=', gbk('你好，世界'), '&title=', gbk('通知'), ' HTTP/1.1\r\nHost: x\r\n\r\n'));
  t.equal(req.method, 'GET');
  t.equal(req.path, '/SendNotify.cgi');
  t.equal(req.httpVersion, '1.1');
  t.ok(req.keepAlive);
  const p = extractRtxParams(req);
  t.equal(p.source, 'query');
  t.equal(p.get('receiver'), 'zhangsan');
  t.equal(p.get('MSG'), '你好，世界', 'keys are case-insensitive');
  t.equal(p.get('title'), '通知');
});

t.test('an unescaped space cuts the value like a real server; the version is still found', async (t) => {
  const req = parseOne(raw('GET /sendnotify.cgi?receiver=a&msg=', gbk('第一 第二'), ' HTTP/1.1\r\n\r\n'));
  t.equal(extractRtxParams(req).get('msg'), '第一');
  t.equal(req.httpVersion, '1.1');
  const req10 = parseOne(raw('GET /x?msg=a b\r\n\r\n'));
  t.equal(req10.httpVersion, '1.0', 'no version token: HTTP/1.0');
  t.notOk(req10.keepAlive);
});

t.test('percent-encoded GBK, GB18030 and UTF-8 all decode to the same Chinese text', async (t) => {
  const text = `张三的通知：会议改到3点${RARE}`;
  const viaGbk = extractRtxParams(parseOne(raw(`GET /SendNotify.cgi?${encodeRtxForm({ msg: text })} HTTP/1.1\r\n\r\n`)));
  const viaUtf8 = extractRtxParams(parseOne(raw(`GET /SendNotify.cgi?${encodeRtxForm({ msg: text }, 'utf-8')} HTTP/1.1\r\n\r\n`)));
  const viaRaw = extractRtxParams(parseOne(raw('GET /SendNotify.cgi?msg=', gbk(text), ' HTTP/1.1\r\n\r\n')));
  t.equal(viaGbk.get('msg'), text);
  t.equal(viaUtf8.get('msg'), text);
  t.equal(viaRaw.get('msg'), text);
  t.match(encodeRtxForm({ msg: '㑇' }), /^msg=%FEV$/, 'GBK percent-encoding of FE 56');
});

t.test('charset heuristic: both directions with real Chinese text', async (t) => {
  const samples = ['你好', '张三', '中', '王', '会议室', '欧阳娜娜', '约翰·史密斯', '温度25°C', '镕', RARE, '㑇', '䶮', '𠀀', '汇通IM测试 ok', '李四：收到！'];
  for (const s of samples) {
    t.equal(decodeRtxText(gbk(s)), s, `GBK/GB18030 ${s}`);
    t.equal(decodeRtxText(Buffer.from(s, 'utf8')), s, `UTF-8 ${s}`);
  }
  // GBK bytes that are also valid UTF-8 (2-byte sequences, GB2312 area): read as GBK.
  const ambiguous = gbk('茅');
  t.equal(ambiguous.toString('hex'), 'c3a9', '茅 in GBK is é in UTF-8');
  t.equal(detectRtxCharset(ambiguous), 'gb18030');
  t.equal(decodeRtxText(ambiguous), '茅');
  // UTF-8 Cyrillic / Latin with bytes outside the GB2312 area stays UTF-8.
  t.equal(decodeRtxText(Buffer.from('Привет', 'utf8')), 'Привет');
  t.equal(decodeRtxText(Buffer.from('naïve à la', 'utf8')), 'naïve à la');
  t.equal(detectRtxCharset(Buffer.from('plain')), 'ascii');
  // encoding= wins over the heuristic.
  t.equal(decodeRtxText(Buffer.from('café', 'utf8'), 'utf-8'), 'café');
  t.equal(decodeRtxText(Buffer.from('café', 'utf8')), 'caf茅', 'documented limitation without a hint');
  t.equal(decodeRtxText(gbk('你好'), 'GBK'), '你好');
  t.equal(decodeRtxText(gbk('你好'), 'no-such-charset'), '你好', 'unknown hint → heuristic');
});

t.test('encoding= parameter selects the charset for every value', async (t) => {
  const q = `${encodeRtxForm({ msg: 'café 茅' }, 'utf-8')}&encoding=utf-8`;
  const p = extractRtxParams(parseOne(raw(`GET /SendIM.cgi?${q} HTTP/1.1\r\n\r\n`)));
  t.equal(p.get('msg'), 'café 茅');
});

t.test('+ is a space; %2B is a plus; a lone % stays literal', async (t) => {
  const p = extractRtxParams(parseOne(raw('GET /SignAuth.cgi?user=a&sign=ab+cd%2Bef%3D%3D&msg=100%&x=%zz HTTP/1.1\r\n\r\n')));
  t.equal(p.get('sign'), 'ab cd+ef==');
  t.equal(p.get('msg'), '100%');
  t.equal(p.get('x'), '%zz');
  t.equal(percentEncode(Buffer.from('a b+c/=')), 'a+b%2Bc%2F%3D');
});

t.test('POST: query first, body only when every query parameter is empty', async (t) => {
  const body = Buffer.from(encodeRtxForm({ receiver: 'lisi', msg: '正文' }), 'latin1');
  const post = (target: string, ct = 'application/x-www-form-urlencoded') =>
    parseOne(raw(`POST ${target} HTTP/1.1\r\nContent-Type: ${ct}\r\nContent-Length: ${body.length}\r\n\r\n`, body));
  const fromBody = extractRtxParams(post('/SendNotify.cgi'));
  t.equal(fromBody.source, 'body');
  t.equal(fromBody.get('msg'), '正文');
  const emptyQuery = extractRtxParams(post('/SendNotify.cgi?receiver=&msg='));
  t.equal(emptyQuery.source, 'body');
  t.equal(emptyQuery.get('receiver'), 'lisi');
  const queryWins = extractRtxParams(post('/SendNotify.cgi?receiver=wangwu'));
  t.equal(queryWins.source, 'query');
  t.equal(queryWins.get('receiver'), 'wangwu');
  t.equal(queryWins.get('msg'), undefined, 'body ignored when the query has a value');
  const json = extractRtxParams(post('/SendNotify.cgi', 'application/json'));
  t.equal(json.source, 'none', 'a JSON body is not form data');
});

t.test('requests split across TCP chunks, one byte at a time, and pipelined', async (t) => {
  const body = Buffer.from('receiver=a&msg=b', 'latin1');
  const wire = raw(
    'GET /GetStatus.php?username=', gbk('张三'), ' HTTP/1.1\r\n\r\n',
    `POST /SendNotify.cgi HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n`, body,
    'GET /getsession.cgi?receiver=a HTTP/1.1\nConnection: close\n\n',
  );
  const parser = new RtxHttpRequestParser();
  const got: RtxHttpRequest[] = [];
  for (let i = 0; i < wire.length; i++) got.push(...parser.push(wire.subarray(i, i + 1)));
  t.equal(got.length, 3);
  t.equal(extractRtxParams(got[0] as RtxHttpRequest).get('username'), '张三');
  t.equal((got[1] as RtxHttpRequest).body.toString(), 'receiver=a&msg=b');
  t.notOk((got[2] as RtxHttpRequest).keepAlive, 'bare-LF head with Connection: close');
  t.equal(parser.bufferedBytes, 0);
  const all = new RtxHttpRequestParser().push(wire);
  t.equal(all.length, 3, 'coalesced in one chunk');
});

t.test('oversized and garbage input gets a clear error, and the parser stays failed', async (t) => {
  const tooLong = new RtxHttpRequestParser({ maxRequestLineBytes: 100 });
  t.throws(() => tooLong.push(Buffer.from(`GET /${'a'.repeat(200)}`)), { code: 'REQUEST_LINE_TOO_LONG' });
  t.throws(() => tooLong.push(Buffer.from(' HTTP/1.1\r\n\r\n')), { code: 'REQUEST_LINE_TOO_LONG' }, 'dead parser rethrows');
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from(`POST / HTTP/1.1\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`)), { code: 'BODY_TOO_LARGE' });
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n')), { code: 'BAD_CONTENT_LENGTH' });
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')), { code: 'BAD_CONTENT_LENGTH' });
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n')), { code: 'CHUNKED_NOT_SUPPORTED' });
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 x\r\n\r\n', 'latin1')), { code: 'BAD_REQUEST_LINE' }, 'a TLS hello');
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('GET nopath HTTP/1.1\r\n\r\n')), { code: 'BAD_REQUEST_LINE' });
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from('GET / HTTP/1.1\r\nno colon here\r\n\r\n')), { code: 'BAD_HEADER' });
  const many = `GET / HTTP/1.1\r\n${'X-A: 1\r\n'.repeat(101)}\r\n`;
  t.throws(() => new RtxHttpRequestParser().push(Buffer.from(many)), { code: 'TOO_MANY_HEADERS' });
  const huge = new RtxHttpRequestParser({ maxHeaderBytes: 1000 });
  t.throws(() => huge.push(Buffer.from(`GET / HTTP/1.1\r\nX-A: ${'a'.repeat(2000)}`)), { code: 'HEADERS_TOO_LARGE' }, 'refused before the head completes');
  const err = new RtxHttpParseError('BODY_TOO_LARGE', 'too big');
  const res = parseRtxResponse(rtxParseErrorResponse(err));
  t.equal(res?.response.status, 413);
  t.match(res?.response.headers.find(([k]) => k === 'Connection')?.[1], 'close');
});

t.test('case-insensitive path matching', async (t) => {
  for (const p of ['/sendnotify.cgi', '/SendNotify.cgi', '/sendNotify.cgi', '//SENDNOTIFY.CGI', '/SendNotify.cgi/']) t.ok(matchRtxPath(p, 'SendNotify.cgi'), p);
  t.notOk(matchRtxPath('/SendNotify.cgi.bak', 'SendNotify.cgi'));
  t.equal(parseOne(raw('GET /Send%4Eotify.cgi HTTP/1.1\r\n\r\n')).path, '/SendNotify.cgi', 'path is percent-decoded');
  t.equal(parseOne(raw('GET http://rtx:8012/getstatus.php?username=a HTTP/1.1\r\n\r\n')).path, '/getstatus.php', 'absolute-form');
});

t.test('responses: GBK body, Ret Code and Ret String are headers 3 and 4', async (t) => {
  const ok = rtxOk(true);
  const parsed = parseRtxResponse(ok);
  t.ok(parsed);
  const r = parsed?.response;
  t.equal(r?.status, 200);
  t.same(r?.body, RTX_OK_BYTES);
  t.same(r?.headers[2], ['Ret Code', '0']);
  t.equal(r?.headers[3]?.[0], 'Ret String');
  t.equal(r?.headers[3]?.[1], '%B2%D9%D7%F7%B3%C9%B9%A6', 'URL-encoded GBK 操作成功');
  t.equal(decodeRetString(r?.headers[3]?.[1] ?? ''), '操作成功');
  t.ok(ok.subarray(0, ok.indexOf('\r\n\r\n')).every((b) => b < 0x80), 'the head is pure ASCII');
  const err = parseRtxResponse(rtxError(`用户不存在:${RTX_OK_TEXT.slice(0, 0)}㑇`, false))?.response;
  t.equal(iconv.decode(err?.body ?? Buffer.alloc(0), 'gb18030'), '用户不存在:㑇<br>');
  t.same(err?.headers[2], ['Ret Code', '-1']);
  t.equal(decodeRetString(err?.headers[3]?.[1] ?? ''), '用户不存在:㑇');
  const session = parseRtxResponse(buildRtxResponse({ body: 'KEY', retCode: 0, extraHeaders: [['SessionKey', 'KEY']], keepAlive: true }))?.response;
  t.same(session?.headers[4], ['SessionKey', 'KEY']);
});
