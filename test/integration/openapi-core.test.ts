import { createHmac, randomBytes } from 'node:crypto';
import t from 'tap';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { SpecCipher, specSignature, YouduClient } from '../helpers/youdu-client.js';

/**
 * The open API's core (issue 6): the spec's test vectors through the spec
 * client's own crypto; gettoken; the envelope's errcodes; tokens — many valid
 * at once, surviving a restart, ended by a new key, refused when expired or
 * forged; and the transport tolerances of spec §8 that every endpoint shares.
 */

const VEC_KEY = 'A0aWSqDL5SV4fafQl3OavoVPUn6sx7xNnD+1hOoTeWk=';
const VEC_APP = 'yd06AB76EC519B4130A802224B4C60F689';
const PREFIX = Buffer.from('0123456789abcdef');

t.test('spec §2.1 test vectors: the spec client reproduces them, so its crypto is the spec’s', async (t) => {
  const c = new SpecCipher(VEC_KEY, VEC_APP);
  t.equal(c.key.toString('hex'), '0346964aa0cbe525787da7d097739abe854f527eacc7bc4d9c3fb584ea137969', 'decoded key');
  t.equal(c.encrypt('1700000000', { prefix: PREFIX }), 'zQKGpIMY33u0JUOtvvjkRYI2dZggYfqUwg95KoecK9G9V9ffMOuo+RvKn/EcQlnAu35FcLO+XKAVQ0HuCjHEzL0zsJRcWBCTuDvKS5Hj4febw9epNpWDKS7OaaH/cBcL', 'V1 (a full 32-byte pad block)');
  t.equal(c.encrypt('{"accessToken":"tok123","expireIn":7200}', { prefix: PREFIX }), 'zQKGpIMY33u0JUOtvvjkRejZgKOEFW6d61dut8fCEuD3FZsCkbDJfqu09zvDOg3741KtmfGVO1xL/n8ydGPuTh7W27mOEQP5kpGQ1HTMoLswHlub2/VeSdqAWbk9/lcw', 'V2');
  t.equal(c.encrypt('{"toUser":"user1","msgType":"text","text":{"content":"你好"}}', { prefix: PREFIX }), 'zQKGpIMY33u0JUOtvvjkRX6oReYf+azFOFfa8b/X4i5xAgTQXcpLL/dspET/RiJmNO/mndzMFTEq83b0Q2Yz2TJU0kXbNtctAhbndtxUMKBpHqPLz7SaTtXeOCRFciPTc5W4JFsxt3sO8B+4T8lHXJl7hQvxuQiTb/+yPT/FZPo=', 'V3 (UTF-8)');
  const s1 = c.encrypt('{"a":1}', { prefix: PREFIX });
  t.equal(s1, 'zQKGpIMY33u0JUOtvvjkRepJlr6qCwEKctQR5g9QKLyntR/2GilI0o6QAl7fgurwDmw1UYPEd7y1HV6WRjrybg==', 'S1 encrypt');
  t.equal(specSignature('mytoken', '1700000000', 'nonce123', s1), '88afd8ef16a0d3289d3b94eb9ef994ac21e04798', 'S1 signature');
});

t.test('an app imported with the vector key speaks the vectors: gettoken with V1, the reply decrypts with the spec client', async (t) => {
  const gw = await startGateway(t);
  await gw.gw.services.apps.create({ name: '迁移应用', buin: 707168, appId: VEC_APP, encodingAesKey: VEC_KEY });
  const raw = await fetch(`${gw.http}/cgi/gettoken`, {
    method: 'POST',
    body: JSON.stringify({ buin: 707168, appId: VEC_APP, encrypt: 'zQKGpIMY33u0JUOtvvjkRYI2dZggYfqUwg95KoecK9G9V9ffMOuo+RvKn/EcQlnAu35FcLO+XKAVQ0HuCjHEzL0zsJRcWBCTuDvKS5Hj4febw9epNpWDKS7OaaH/cBcL' }),
  });
  t.equal(raw.status, 200);
  const body = (await raw.json()) as { errcode: number; errmsg: string; encrypt: string };
  t.equal(body.errcode, 0, 'errcode is the int 0');
  t.equal(typeof body.errmsg, 'string', 'errmsg is always a string');
  t.equal(Buffer.from(body.encrypt, 'base64').length % 32, 0, 'the reply is padded to 32-byte blocks (strict Go clients reject anything else)');
  const tok = JSON.parse(new SpecCipher(VEC_KEY, VEC_APP).decrypt(body.encrypt).toString()) as { accessToken: string; expireIn: number };
  t.equal(tok.expireIn, 7200, 'expireIn 7200');
  t.match(tok.accessToken, /^[0-9a-f]{64}$/, 'a token');
});

t.test('tokens: a new one per call, all valid at once; they survive a restart; a new key ends them; expired and forged ones get their errcodes', async (t) => {
  const dataDir = tempDir(t);
  const gw1 = await startGateway(t, { dataDir });
  const app = await gw1.gw.services.apps.create({ name: '考勤' });
  const client = (base: string) => new YouduClient(base, app.buin as number, app.appId as string, app.encodingAesKey as string);
  // ten client objects, each fetching its own token, as the Java library's classes do
  const clients = Array.from({ length: 10 }, () => client(gw1.http));
  const tokens = await Promise.all(clients.map((c) => c.gettoken()));
  t.equal(new Set(tokens).size, 10, 'each call hands out a new token');
  // a call every token may make: gettoken needs none, so check through the token guard with an unknown-path-free read
  const probe = async (c: YouduClient) => (await c.get('/cgi/gettoken')).json;
  t.match(await probe(clients[0] as YouduClient), { errcode: 100003 }, 'gettoken is POST only, answered with errcode, not an HTTP error');

  // the token check, through an endpoint any app may call
  const guard = async (token: string | null) => (await fetch(`${gw1.http}/cgi/face/conf.get${token === null ? '' : `?accessToken=${token}`}`)).json() as Promise<{ errcode: number }>;
  t.equal((await guard(null)).errcode, 100000, 'no token: 100000');
  t.equal((await guard('')).errcode, 100000, 'an empty token: 100000');
  t.equal((await guard('nonsense')).errcode, 100001, 'a malformed token: 100001');
  const forged = Buffer.from(tokens[0] as string, 'hex');
  forged[20] = (forged[20] as number) ^ 1;
  t.equal((await guard(forged.toString('hex'))).errcode, 100001, 'a token with a wrong MAC: 100001');

  // an expired token, made the way the documented format says, with the stored key
  const secret = (gw1.gw.services.db.prepare('SELECT secret FROM openapi_secret WHERE id = 1').get() as { secret: Buffer }).secret;
  const body = Buffer.alloc(16);
  body.writeUInt32BE(app.rowId, 0);
  body.writeUInt32BE(Math.floor(Date.now() / 1000) - 1, 4);
  body.writeUInt32BE(app.tokenGen, 8);
  randomBytes(4).copy(body, 12);
  const expired = Buffer.concat([body, createHmac('sha256', secret).update(body).digest().subarray(0, 16)]).toString('hex');
  t.equal((await guard(expired)).errcode, 100002, 'an expired token: 100002');

  for (const tok of tokens) t.equal((await guard(tok)).errcode, 0, 'every token handed out is accepted');
  const conf = await (clients[1] as YouduClient).get('/cgi/face/conf.get');
  t.same((clients[1] as YouduClient).open(conf), { key: '', secret: '' }, 'face/conf.get answers an empty configuration, encrypted');

  await gw1.gw.stop();
  const gw2 = await startGateway(t, { dataDir });
  const after = async (token: string) => ((await (await fetch(`${gw2.http}/cgi/face/conf.get?accessToken=${token}`)).json()) as { errcode: number }).errcode;
  t.equal(await after(tokens[3] as string), 0, 'a token from before the restart still works');
  await gw2.gw.services.apps.regenerateKey(app.rowId);
  t.equal(await after(tokens[3] as string), 100001, 'a new key ends the tokens handed out before');
});

t.test('the envelope: each malformed part gets its errcode, with HTTP 200 and errmsg a string', async (t) => {
  const gw = await startGateway(t);
  const app = await gw.gw.services.apps.create({ name: '报销' });
  const c = new YouduClient(gw.http, app.buin as number, app.appId as string, app.encodingAesKey as string);
  const ts = String(Math.floor(Date.now() / 1000));
  const send = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const r = await c.raw('/cgi/gettoken', { body, headers });
    t.equal(r.status, 200, 'HTTP 200');
    t.equal(typeof r.json.errmsg, 'string', 'errmsg is a string');
    return r.json.errcode;
  };
  const enc = c.cipher.encrypt(ts);
  t.equal(await send(''), 100008, 'empty body: buin missing');
  t.equal(await send('{not json'), 100004, 'not JSON: 100004');
  t.equal(await send('[1,2]'), 100003, 'not an object: 100003');
  t.equal(await send(JSON.stringify({ appId: app.appId, encrypt: enc })), 100008, 'no buin: 100008');
  t.equal(await send(JSON.stringify({ buin: String(app.buin), appId: app.appId, encrypt: enc })), 100012, 'buin as a string in JSON: 100012');
  t.equal(await send(JSON.stringify({ buin: 1.5, appId: app.appId, encrypt: enc })), 100012, 'buin not an integer: 100012');
  t.equal(await send(JSON.stringify({ buin: app.buin, encrypt: enc })), 100010, 'no appId: 100010');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: 42, encrypt: enc })), 100013, 'appId a number: 100013');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId })), 100011, 'no encrypt: 100011');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: 7 })), 100014, 'encrypt a number: 100014');
  t.equal(await send(JSON.stringify({ buin: 999, appId: app.appId, encrypt: enc })), 100009, 'an unknown buin: 100009');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: 'ydNOSUCHAPP', encrypt: enc })), 100005, 'an unknown appId: 100005');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: '***not base64***' })), 100006, 'bad base64: 100006');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: Buffer.alloc(20).toString('base64') })), 100006, 'not whole AES blocks: 100006');
  const wrongKey = new SpecCipher(randomBytes(32).toString('base64'), app.appId as string);
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: wrongKey.encrypt(ts) })), 100006, 'another key (garbage padding): 100006');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: c.cipher.encrypt(ts, { appId: 'ydSOMEONEELSE' }) })), 100006, 'another appId inside the ciphertext: 100006');

  // tolerances: no Content-Type at all (a Go library), keys in another case, null fields ignored
  t.equal(await send(c.envelope(ts)), 0, 'no Content-Type: parsed by content');
  t.equal(await send(JSON.stringify({ BUIN: app.buin, AppID: app.appId, Encrypt: c.cipher.encrypt(ts), extra: null })), 0, 'keys matched case-insensitively');
  t.equal(await send(c.envelope(ts), { 'content-type': 'text/plain; charset=ISO-8859-1' }), 0, 'a wrong Content-Type does not matter');
  t.equal(await send(JSON.stringify({ buin: app.buin, appId: app.appId, encrypt: c.cipher.encrypt(ts, { iv: randomBytes(16) }) })), 0, 'a random IV (the Python and Go libraries) only spoils the ignored prefix');
  t.equal(await send(c.envelope(ts), { 'content-type': 'application/json' }), 0);

  const unknown = await c.raw('/cgi/no/such/thing', { body: c.envelope('x') });
  t.equal(unknown.status, 404, 'an unknown path: HTTP 404 (a decision, docs/open-api.md)');
  t.equal(unknown.json.errcode, 100003, '…with an errcode body');
  const upper = await c.raw('/cgi/GetToken', { body: c.envelope(ts) });
  t.equal(upper.json.errcode, 0, 'paths match case-insensitively');
  const disabled = await gw.gw.services.apps.update(app.rowId, { enabled: false });
  t.equal(disabled.enabled, false);
  t.equal(await send(c.envelope(ts)), 100005, 'a disabled app: 100005');
});
