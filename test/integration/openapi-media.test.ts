import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { startGateway } from '../helpers/gateway.js';
import { multipartBody, openDownload, postForm, uploadFields, YouduClient, type FormField } from '../helpers/youdu-client.js';

/**
 * Media of the open API (issue 6, docs/open-api.md "Media"; spec §5): the
 * upload's multipart in the ways the libraries send it, the round trip
 * upload → get (header decrypts to name and size, bytes equal) → search,
 * avatars, and each malformed upload's errcode.
 */

async function setup(t: Test) {
  const gw = await startGateway(t);
  const created = await gw.gw.services.apps.create({ name: '网盘' });
  const app = new YouduClient(gw.http, created.buin as number, created.appId as string, created.encodingAesKey as string);
  const other = await gw.gw.services.apps.create({ name: '另一个' });
  const otherApp = new YouduClient(gw.http, other.buin as number, other.appId as string, other.encodingAesKey as string);
  return { gw, app, otherApp };
}

t.test('round trip: upload (fields in any order, buin a string, no Content-Type) → get → search; the name comes from encrypt', async (t) => {
  const { app, otherApp } = await setup(t);
  const bytes = randomBytes(251_071);
  const fields = uploadFields(app, { type: 'file', name: '季度报表.xlsx' }, bytes, 'youdu_tmp123');
  const up = await postForm(app, '/cgi/media/upload', fields);
  t.equal(up.status, 200);
  const { mediaId } = app.open(up) as { mediaId: string };
  t.match(mediaId, /^[0-9a-f]{32}-251071$/, 'mediaId: 32 hex digits, "-", the size');

  const got = await app.post('/cgi/media/get', { mediaId });
  const d = openDownload(app, got);
  t.same(d.head, { name: '季度报表.xlsx', size: bytes.length }, 'the header decrypts to name and size');
  t.ok(d.bytes.equals(bytes), 'the body decrypts to the uploaded bytes');
  t.equal(createHash('sha256').update(d.bytes).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
  t.same(app.open(await app.post('/cgi/media/search', { mediaId })), { name: '季度报表.xlsx', size: bytes.length }, 'search: name and size');

  // reversed field order, no Content-Type header at all (the boundary is read from the body), type image
  const small = Buffer.from('GIF89a tiny');
  const reversed = [...uploadFields(app, { type: 'image', name: 'a.gif' }, small)].reverse();
  const up2 = await postForm(app, '/cgi/media/upload', reversed, { contentType: null });
  const id2 = (app.open(up2) as { mediaId: string }).mediaId;
  t.ok(openDownload(app, await app.post('/cgi/media/get', { mediaId: id2 })).bytes.equals(small), 'reversed fields without a Content-Type work');
  // the newest Go library's struct says fileType
  const up3 = await postForm(app, '/cgi/media/upload', uploadFields(app, { fileType: 'voice', name: 'v.amr' }, small));
  t.equal(up3.json.errcode, 0, 'fileType is taken as type');

  const foreign = await otherApp.post('/cgi/media/get', { mediaId });
  t.equal(foreign.json.errcode, 200010, 'another app’s mediaId: 200010');
  t.equal(foreign.headers.get('encrypt'), null, 'an error has no encrypt header');
  const missing = await app.post('/cgi/media/get', { mediaId: '0123456789abcdef0123456789abcdef-5' });
  t.same({ errcode: missing.json.errcode, header: missing.headers.get('encrypt') }, { errcode: 200010, header: null }, 'unknown media: JSON 200010, no header');
  t.equal((await app.post('/cgi/media/search', { mediaId: 'nonsense' })).json.errcode, 200010);
  t.equal((await app.post('/cgi/media/get', {})).json.errcode, 100003, 'no mediaId: 100003');
  t.equal((await app.post('/cgi/media/get', { mediaId: 7 })).json.errcode, 100003, 'mediaId a number: 100003');
});

t.test('malformed uploads: each gets its errcode and nothing is stored', async (t) => {
  const { gw, app } = await setup(t);
  const bytes = Buffer.from('hello');
  const base = uploadFields(app, { type: 'file', name: 'a.txt' }, bytes);
  const without = (name: string) => base.filter((f) => f.name !== name);
  const replace = (name: string, value: string) => base.map((f): FormField => (f.name === name ? { ...f, value } : f));
  const code = async (fields: FormField[], opts: { contentType?: string | null } = {}) => (await postForm(app, '/cgi/media/upload', fields, opts)).json.errcode;
  const before = gw.gw.services.db.prepare('SELECT COUNT(*) AS n FROM openapi_media').get() as { n: number };

  t.equal(await code(without('file')), 200008, 'no file part: 200008');
  t.equal(await code(replace('file', '')), 200008, 'an empty file part: 200008');
  t.equal(await code(without('buin')), 100008, 'no buin: 100008');
  t.equal(await code(replace('buin', 'abc')), 100012, 'buin not an integer: 100012');
  t.equal(await code(replace('buin', '1')), 100009, 'another buin: 100009');
  t.equal(await code(without('appId')), 100010, 'no appId: 100010');
  t.equal(await code(replace('appId', 'ydOTHER')), 100005, 'another appId: 100005');
  t.equal(await code(without('encrypt')), 100011, 'no encrypt: 100011');
  t.equal(await code(replace('encrypt', '%%%')), 100006, 'encrypt not base64: 100006');
  t.equal(await code(replace('encrypt', app.cipher.encrypt('not json'))), 100004, 'encrypt not JSON: 100004');
  t.equal(await code(replace('encrypt', app.cipher.encrypt(JSON.stringify({ type: 'exe', name: 'x' })))), 200009, 'an unknown type: 200009');
  t.equal(await code(replace('encrypt', app.cipher.encrypt(JSON.stringify({ name: 'x' })))), 200009, 'no type: 200009');
  t.equal(await code(replace('file', bytes.toString('base64'))), 100006, 'the file not encrypted: 100006');
  t.equal(await code(replace('file', app.cipher.encrypt(bytes, { appId: 'ydSOMEONE' }))), 100006, 'the file made for another appId: 100006');
  t.equal(await code(replace('file', 'AAAA' + app.cipher.encrypt(bytes).slice(4, -8))), 100006, 'the file cut (bad padding / blocks): 100006');
  const { body } = multipartBody(base);
  t.equal((await app.raw(`/cgi/media/upload?accessToken=${app.token}`, { body: body.subarray(0, body.length - 40), headers: { 'content-type': 'multipart/form-data; boundary=x' } })).json.errcode, 200008, 'a boundary that is not in the body: 200008');
  t.equal((await app.raw(`/cgi/media/upload?accessToken=${app.token}`, { body: app.envelope({ type: 'file' }) })).json.errcode, 200008, 'JSON instead of multipart: 200008');
  t.equal((await app.raw('/cgi/media/upload', { body })).json.errcode, 100000, 'no token: 100000');

  await gw.gw.services.settings.set({ offlineFileMaxBytes: 1024 });
  const big = await postForm(app, '/cgi/media/upload', uploadFields(app, { type: 'file', name: 'big.bin' }, randomBytes(4096)));
  t.equal(big.json.errcode, 200008, 'over the offline file limit: 200008');
  t.match(big.json.errmsg, /1024/, 'errmsg names the limit');
  const after = gw.gw.services.db.prepare('SELECT COUNT(*) AS n FROM openapi_media').get() as { n: number };
  t.equal(after.n, before.n, 'no media row was made by a refused upload');
});

t.test('avatars: set by the org assistant (multipart like upload), get as a download; size 0 and 1; errcodes', async (t) => {
  const { gw, app } = await setup(t);
  await gw.addUser('alice');
  const buin = await gw.gw.services.apps.defaultBuin();
  const org = new YouduClient(gw.http, buin, 'sysOrgAssistant', gw.gw.services.apps.byAppId(buin, 'sysOrgAssistant')!.encodingAesKey as string);
  const face = randomBytes(3000);
  const set = await postForm(org, '/cgi/avatar/set?userId=alice', uploadFields(org, { name: 'alice.jpg' }, face));
  t.same({ errcode: set.json.errcode, errmsg: set.json.errmsg }, { errcode: 0, errmsg: 'ok' });
  for (const size of ['0', '1']) {
    const d = openDownload(org, await org.get(`/cgi/avatar/get?userId=alice&size=${size}`));
    t.same(d.head, { size: face.length, name: 'alice.jpg' }, `size=${size}: header`);
    t.ok(d.bytes.equals(face), `size=${size}: bytes`);
  }
  // the PHP library's way: userId in the form and in encrypt
  const face2 = randomBytes(100);
  const setPhp = await postForm(org, '/cgi/avatar/set', [...uploadFields(org, { userId: 'alice' }, face2), { name: 'userId', value: 'alice' }]);
  t.equal(setPhp.json.errcode, 0);
  t.ok(openDownload(org, await org.get('/cgi/avatar/get?userId=alice')).bytes.equals(face2), 'replaced');
  t.equal((await org.get('/cgi/avatar/get?userId=nobody')).json.errcode, 300001, 'unknown user: 300001');
  await gw.addUser('bob');
  t.equal((await org.get('/cgi/avatar/get?userId=bob')).json.errcode, 200010, 'no avatar: 200010');
  t.equal((await org.get('/cgi/avatar/get')).json.errcode, 100003, 'no userId: 100003');
  t.equal((await postForm(app, '/cgi/avatar/set?userId=alice', uploadFields(app, { name: 'x.jpg' }, face))).json.errcode, 100005, 'an app without org.write may not set avatars');
  t.equal(openDownload(app, await app.get('/cgi/avatar/get?userId=alice')).bytes.length, face2.length, 'an app with media may read them');
});
