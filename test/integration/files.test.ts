import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { BodyByKind, MessageView } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, httpsRequest, online } from '../helpers/clients.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tokenOf = (c: { auth: { token: string } | null }) => c.auth?.token as string;

async function upload(gw: TestGateway, token: string, bytes: Buffer, kind = 'offline') {
  return httpsRequest(gw, 'POST', `/files?kind=${kind}`, { token, body: bytes });
}

function download(gw: TestGateway, token: string | undefined, fileId: string, name?: string) {
  return httpsRequest(gw, 'GET', `/files/${fileId}${name !== undefined ? `?name=${encodeURIComponent(name)}` : ''}`, token ? { token } : {});
}

/** The assertions disposition() makes. */
type Tap = { ok(v: unknown, m: string): void; notMatch(v: string, re: RegExp, m: string): void };

/** The Content-Disposition parts, checked to be one well-formed attachment header. */
function disposition(t: Tap, header: unknown): { ascii: string; utf8: string } {
  const h = String(header);
  const m = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9%!'()*._~-]*)$/.exec(h);
  t.ok(m, `Content-Disposition is a single quoted attachment header: ${h}`);
  const ascii = m?.[1] ?? '';
  const utf8 = decodeURIComponent(m?.[2] ?? '');
  for (const [what, v] of [['filename', ascii], ['filename*', utf8]] as const) {
    // eslint-disable-next-line no-control-regex
    t.notMatch(v, /[/\\"\u0000-\u001f\u007f]/, `${what} has no slashes, quotes or control characters`);
  }
  t.notMatch(ascii, /[^\x20-\x7e]/, 'the plain filename is ASCII');
  return { ascii, utf8 };
}

t.test('an uploaded file sent in a message downloads byte for byte, only for the people in the conversation', async (t) => {
  const gw = await startGateway(t);
  const [a, b, c] = [await gw.addUser('alice'), await gw.addUser('bob'), await gw.addUser('carol')];
  await gw.addUser('dave');
  const g = await gw.gw.services.directory.createGroup('设计组', a.id, [a.id, c.id]);
  const alice = await online(t, gw, 'alice');
  const bob = await online(t, gw, 'bob', { via: 'tcp' });
  const carol = await online(t, gw, 'carol');
  const dave = await online(t, gw, 'dave');

  const bytes = randomBytes(300_000);
  const up = await upload(gw, tokenOf(alice.client), bytes);
  t.equal(up.status, 201, 'the upload is accepted');
  t.same(up.json, { fileId: sha256(bytes), size: bytes.length }, 'its id is the SHA-256 of the content');
  const fileId = sha256(bytes);
  t.equal((await download(gw, tokenOf(bob.client), fileId)).status, 404, 'nobody else can read it before a message carries it');
  t.equal((await download(gw, tokenOf(alice.client), fileId)).status, 200, 'the uploader can');

  const again = await upload(gw, tokenOf(bob.client), bytes);
  t.same(again.json, up.json, 'the same bytes uploaded again give the same id');

  const name = '季度报告 "final"/../../etc/passwd\r\nX-Injected: yes.pdf';
  const ack = await alice.client.send({ kind: 'user', id: b.id }, 'file', { fileId, name, size: bytes.length, mime: 'application/pdf' });
  const m = await bob.inbox.byId(ack.id, 'the file message at bob');
  const body = m.body as BodyByKind['file'];
  t.same(body, { fileId, name, size: bytes.length, mime: 'application/pdf' }, 'bob gets the file message as sent');

  const got = await download(gw, tokenOf(bob.client), body.fileId, body.name);
  t.equal(got.status, 200, 'bob can download it');
  t.equal(got.body.length, bytes.length);
  t.equal(sha256(got.body), fileId, 'and gets identical bytes');
  t.equal(got.headers['content-type'], 'application/octet-stream');
  t.equal(got.headers['x-content-type-options'], 'nosniff');
  t.equal(got.headers['x-injected'], undefined, 'the name cannot inject a header');
  const d = disposition(t, got.headers['content-disposition']);
  t.match(d.utf8, /^季度报告 /, 'the suggested name keeps its Chinese characters');
  t.ok(d.utf8.endsWith('.pdf'), 'and its extension');

  const plain = await download(gw, tokenOf(bob.client), fileId, '报告.pdf');
  t.same(disposition(t, plain.headers['content-disposition']), { ascii: '__.pdf', utf8: '报告.pdf' }, 'a Chinese name has an ASCII fallback and an exact UTF-8 form');

  for (const [who, client] of [['dave (not in the conversation)', dave.client], ['carol (not in the conversation)', carol.client]] as const) {
    const r = await download(gw, tokenOf(client), fileId, name);
    t.equal(r.status, 404, `${who} gets 404`);
    t.equal(r.json?.error?.code, 'GW_NOT_FOUND');
    t.notOk(r.body.includes(bytes.subarray(0, 64)), 'and none of the content');
  }
  const none = await download(gw, undefined, fileId);
  t.equal(none.status, 401, 'no token: 401');
  t.equal(none.json?.error?.code, 'GW_TOKEN_INVALID');
  const bad = await download(gw, 'x'.repeat(43), fileId);
  t.equal(bad.status, 401, 'an unknown token: 401');
  t.equal(bad.json?.error?.code, 'GW_TOKEN_INVALID');
  const noTokenUpload = await httpsRequest(gw, 'POST', '/files', { body: randomBytes(10) });
  t.equal(noTokenUpload.status, 401, 'uploading without a token: 401');
  t.equal(noTokenUpload.json?.error?.code, 'GW_TOKEN_INVALID');

  // a group file is readable by current members only
  const img = randomBytes(40_000);
  const imgId = (await upload(gw, tokenOf(alice.client), img)).json?.fileId as string;
  const gm = await alice.client.send({ kind: 'group', id: g.id }, 'image', { fileId: imgId, name: 'photo.jpg', size: img.length, width: 800, height: 600 });
  const seen = (await carol.inbox.byId(gm.id)).body as BodyByKind['image'];
  t.equal(sha256((await download(gw, tokenOf(carol.client), seen.fileId, seen.name)).body), imgId, 'a group member downloads the image');
  await gw.gw.services.directory.changeGroupMembers(g.id, [], [c.id]);
  t.equal((await download(gw, tokenOf(carol.client), imgId)).status, 404, 'after leaving the group she no longer can');
});

t.test('oversized uploads are refused with 413 and leave nothing behind', async (t) => {
  const gw = await startGateway(t, { settings: { offlineFileMaxBytes: 1024 } });
  await gw.addUser('alice');
  const alice = await online(t, gw, 'alice');
  t.equal(alice.client.auth?.limits.offlineFileMaxBytes, 1024, 'the client is told the limit at login');
  const token = tokenOf(alice.client);
  const db = gw.gw.services.db;
  const recorded = () => db.prepare('SELECT (SELECT COUNT(*) FROM files) + (SELECT COUNT(*) FROM file_uploads) AS n').get() as { n: number };
  const filesDir = path.join(gw.dataDir, 'files');
  const leftovers = () => [...readdirSync(path.join(filesDir, 'tmp')), ...readdirSync(filesDir).filter((f) => f !== 'tmp')];

  const declared = await upload(gw, token, randomBytes(2048));
  t.equal(declared.status, 413, 'a Content-Length over the limit: 413');
  t.equal(declared.json?.error?.code, 'GW_FILE_TOO_LARGE');
  t.equal(declared.json?.error?.details?.limit, 1024, 'naming the limit');

  let written = 0;
  const chunked = await httpsRequest(gw, 'POST', '/files?kind=offline', {
    token,
    body: async (write) => {
      // keep writing until the server answers, as a client streaming a large file would
      for (let i = 0; i < 4096; i++) {
        if (!(await write(randomBytes(512)))) return;
        written += 512;
      }
    },
  });
  t.equal(chunked.status, 413, 'a chunked body growing past the limit: 413');
  t.equal(chunked.json?.error?.code, 'GW_FILE_TOO_LARGE');
  t.ok(written > 1024, `the body did grow past the limit (${written} bytes written)`);
  t.ok(written < 4096 * 512, `and the server answered before all of it was sent (${written} bytes written)`);

  t.same(leftovers(), [], 'no partial file is left in files/tmp, and no blob was stored');
  t.equal(recorded().n, 0, 'nothing was recorded');

  t.equal((await upload(gw, token, randomBytes(10), 'bogus')).status, 400, 'an unknown kind is a bad request');
  const exact = await upload(gw, token, randomBytes(1024));
  t.equal(exact.status, 201, 'exactly the limit is accepted');
  t.equal((await upload(gw, token, randomBytes(2048), 'p2p')).status, 201, 'the online (p2p) limit is separate');
});

t.test('path traversal and malformed ids get 404 and never file contents', async (t) => {
  const gw = await startGateway(t);
  await gw.addUser('alice');
  const alice = await online(t, gw, 'alice');
  const token = tokenOf(alice.client);
  const bytes = Buffer.from('secret contents of an uploaded file');
  t.equal((await upload(gw, token, bytes)).status, 201);
  const id = sha256(bytes);
  const probes = [
    '/files/..%2f..%2fetc%2fpasswd',
    '/files/../huitong.db',
    '/files/..%2fhuitong.db',
    '/files/%2e%2e%2f%2e%2e%2fhuitong.db',
    '/files/..%5c..%5chuitong.db',
    '/files/tmp',
    `/files/${id.slice(0, 2)}%2f${id}`,
    `/files/${id.toUpperCase()}`,
    `/files/${id}%00.txt`,
    `/files/${'0'.repeat(64)}`,
  ];
  for (const p of probes) {
    const r = await httpsRequest(gw, 'GET', p, { token });
    t.equal(r.status, 404, `GET ${p}: 404`);
    t.notOk(r.body.includes('SQLite format 3') || r.body.includes('root:') || r.body.includes(bytes), `GET ${p} returns no file contents`);
  }
  t.equal((await download(gw, token, id)).body.toString(), bytes.toString(), 'the real id still works');
});

t.test('file messages must name a file the sender may send, with its true size', async (t) => {
  const gw = await startGateway(t);
  const [a, b] = [await gw.addUser('alice'), await gw.addUser('bob')];
  await gw.addUser('carol');
  const alice = await online(t, gw, 'alice');
  const bob = await online(t, gw, 'bob');
  const carol = await online(t, gw, 'carol');
  const bytes = randomBytes(5000);
  const fileId = (await upload(gw, tokenOf(alice.client), bytes)).json?.fileId as string;
  const to = { kind: 'user', id: b.id } as const;

  t.equal(await codeOf(alice.client.send(to, 'file', { fileId, name: 'a.bin', size: 1 })), 'GW_BAD_REQUEST', 'a size that lies is refused');
  t.equal(await codeOf(alice.client.send(to, 'image', { fileId, name: 'a.png', size: bytes.length * 10 })), 'GW_BAD_REQUEST', 'for images too');
  t.equal(await codeOf(alice.client.send(to, 'file', { fileId: sha256(randomBytes(8)), name: 'x', size: 8 })), 'GW_NOT_FOUND', 'a file never uploaded is refused');
  t.equal(await codeOf(carol.client.send({ kind: 'user', id: a.id }, 'file', { fileId, name: 'stolen.bin', size: bytes.length })), 'GW_NOT_FOUND', 'someone who never saw the file cannot send it by guessing its id');
  t.equal(await codeOf(alice.client.send(to, 'file', { fileId: '../../huitong.db', name: 'x', size: 1 })), 'GW_BAD_REQUEST', 'a malformed id is refused');

  const ok = await alice.client.send(to, 'file', { fileId, name: 'a.bin', size: bytes.length });
  await bob.inbox.byId(ok.id);
  const others = bob.inbox.messages.filter((m: MessageView) => m.id !== ok.id);
  t.same(others, [], 'bob received only the valid file message');
  const fwd = await bob.client.send({ kind: 'user', id: (await gw.gw.services.directory.getUserByAccount('carol'))?.id as typeof a.id }, 'file', { fileId, name: 'fwd.bin', size: bytes.length });
  const atCarol = await carol.inbox.byId(fwd.id);
  t.equal(sha256((await download(gw, tokenOf(carol.client), (atCarol.body as BodyByKind['file']).fileId)).body), fileId, 'a recipient may forward the file, and the next recipient can download it');
});
