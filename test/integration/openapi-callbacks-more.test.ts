import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { systemResolver } from '../../gateway/src/apps/ssrf.js';
import type { OpenApp } from '../../gateway/src/apps/types.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import { jobDone } from '../../gateway/src/openapi/endpoints/org-sync.js';
import { orgStore } from '../../gateway/src/openapi/org/store.js';
import type { GroupId, UserId } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, makeClient, online, uniqueDeviceId, within, WAIT_MS, type Teardown } from '../helpers/clients.js';
import { TEST_PASSWORD, tempDir, testConfig, type TestGateway } from '../helpers/gateway.js';
import { openDownload, postForm, SpecCipher, specSignature, uploadFields, YouduClient } from '../helpers/youdu-client.js';

/**
 * The callbacks the gateway asks for itself (issue 6, wire spec §3.6, §6):
 * the org/replaceall completion event (done and failed; to the app's callback
 * or the request's own `callback: {url, token}`), the session audit to
 * sysMsgMonitor (session_create, session_update, text, file with a media id
 * the monitor can download, messages sent from clients into a session; other
 * groups not audited), and third-party login (authType 2: the app's answer
 * decides; an unreachable app is an outage, not a wrong password). A local
 * receiver checks every signature and decrypts with the spec client's crypto.
 */

interface Received {
  path: string;
  toBuin: unknown;
  toApp: unknown;
  signatureOk: boolean;
  payload: Record<string, unknown> & { packageId: string; msgType: string; fromUser: string };
}

/** What a path of the receiver checks with, and how it answers (default: the packageId). */
interface Route {
  token: string;
  cipher: () => SpecCipher;
  answer?: (p: Received['payload']) => string;
}

class Receiver extends EventEmitter {
  readonly got: Received[] = [];
  readonly routes = new Map<string, Route>();
  server!: http.Server;
  port = 0;

  async listen(t: Teardown): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const route = this.routes.get(u.pathname);
        if (!route) return res.writeHead(404).end();
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { toBuin?: unknown; toApp?: unknown; encrypt?: unknown };
        const q = u.searchParams;
        const signatureOk = specSignature(route.token, q.get('timestamp') ?? '', q.get('nonce') ?? '', String(body.encrypt)) === q.get('msg_signature');
        const payload = JSON.parse(route.cipher().decrypt(String(body.encrypt)).toString('utf8')) as Received['payload'];
        const r: Received = { path: u.pathname, toBuin: body.toBuin, toApp: body.toApp, signatureOk, payload };
        this.got.push(r);
        res.end(route.answer ? route.answer(payload) : payload.packageId);
        this.emit('request', r);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    t.teardown(() => {
      this.server.closeAllConnections();
      return new Promise<void>((r) => this.server.close(() => r()));
    });
    return this;
  }

  url(p: string): string {
    return `http://receiver.test:${this.port}${p}`;
  }

  /** Waits for the first callback (after those already seen) that satisfies `match`. */
  next(match: (r: Received) => boolean, what: string, ms = WAIT_MS): Promise<Received> {
    const seen = this.got.find(match);
    if (seen) return Promise.resolve(seen);
    return within(new Promise<Received>((resolve) => {
      const on = (r: Received) => {
        if (match(r)) {
          this.off('request', on);
          resolve(r);
        }
      };
      this.on('request', on);
    }), ms, what);
  }
}

const cipherOf = (app: OpenApp) => new SpecCipher(app.encodingAesKey as string, app.appId as string);

async function start(t: Teardown): Promise<TestGateway> {
  const dataDir = tempDir(t);
  const resolve = async (host: string) => (host === 'receiver.test' ? [{ address: '127.0.0.1', family: 4 as const }] : systemResolver(host));
  const gw = await buildGateway(testConfig(dataDir), { log: createLogger('silent'), adminSocket: false, callbacks: { resolve, timeoutMs: 2000 } });
  await gw.start();
  t.teardown(() => gw.stop());
  const p = gw.ports();
  return {
    gw, dataDir,
    wss: `wss://127.0.0.1:${p.https}/ws`, tcp: `tls://127.0.0.1:${p.tcp}`, http: `http://127.0.0.1:${p.http}`, https: `https://127.0.0.1:${p.https}`,
    ca: readFileSync(path.join(dataDir, 'tls', 'self-signed.crt'), 'utf8'),
    async addUser(account, o = {}) {
      return gw.services.directory.createUser({ account, name: o.name ?? account, passwordHash: await hashPassword(o.password ?? TEST_PASSWORD), authorised: o.authorised ?? true });
    },
  };
}

function systemApp(gw: TestGateway, appId: string): OpenApp {
  return gw.gw.services.apps.byAppIdAnyBuin(appId)[0] as OpenApp;
}

function clientOf(gw: TestGateway, app: OpenApp): YouduClient {
  return new YouduClient(gw.http, app.buin as number, app.appId as string, app.encodingAesKey as string);
}

t.test('org/replaceall: the completion event reaches the callback of the app that started it, done and failed', async (t) => {
  const gw = await start(t);
  const rx = await new Receiver().listen(t);
  let org = systemApp(gw, 'sysOrgAssistant');
  org = await gw.gw.services.apps.update(org.rowId, { callbackUrl: rx.url('/org'), callbackToken: 'org-token' });
  rx.routes.set('/org', { token: 'org-token', cipher: () => cipherOf(org) });
  rx.routes.set('/own', { token: 'own-token', cipher: () => cipherOf(org) });
  const c = clientOf(gw, org);
  const user = { userId: 'zhang.san', name: '张三', gender: 0, dept: [1] };

  const started = c.open(await c.post('/cgi/org/replaceall', { deptList: [{ id: 1, name: '研发部', parentId: 0 }], userList: [user] })) as { jobId: string };
  const done = await rx.next((r) => r.path === '/org', 'the completion event');
  t.ok(done.signatureOk, 'signed with the app’s Token');
  t.same({ toBuin: done.toBuin, toApp: done.toApp }, { toBuin: org.buin, toApp: 'sysOrgAssistant' });
  t.match(done.payload, {
    fromUser: 'sysOrgAssistant', msgType: 'event', packageId: String, createTime: Number,
    event: { type: 'org_replace_all', jobId: started.jobId, errcode: 0, errmsg: /users: 1 created/ },
  }, 'errcode 0 and the summary of what changed');
  const result = c.open(await c.get(`/cgi/getjobresult?jobId=${started.jobId}`)) as { result: number; desc: string };
  t.same(result, { type: 'org_replace_all', result: 3, desc: (done.payload.event as { errmsg: string }).errmsg }, 'errmsg is what getjobresult says');

  // two departments with one alias: the job stops midway; its own callback URL and Token are used
  const failing = c.open(await c.post('/cgi/org/replaceall', {
    deptList: [{ id: 1, name: '研发部', parentId: 0, alias: 'rd' }, { id: 2, name: '市场部', parentId: 0, alias: 'rd' }],
    userList: [user], callback: { url: rx.url('/own'), token: 'own-token' },
  })) as { jobId: string };
  const failed = await rx.next((r) => r.path === '/own', 'the failure event at the request’s own callback');
  t.ok(failed.signatureOk, 'signed with the request’s Token');
  t.equal(failed.toApp, 'sysOrgAssistant', 'encrypted with the app’s key');
  t.match(failed.payload, { fromUser: 'sysOrgAssistant', msgType: 'event', event: { type: 'org_replace_all', jobId: failing.jobId, errcode: -1, errmsg: /^the sync stopped/ } });
  t.equal((c.open(await c.get(`/cgi/getjobresult?jobId=${failing.jobId}`)) as { result: number }).result, 4);
  t.equal(rx.got.filter((r) => r.path === '/org').length, 1, 'the app’s own callback got nothing for that job');
  const log = gw.gw.services.appCallbacks.list(org.rowId);
  t.same(log.items.map((d) => d.state), ['delivered', 'delivered'], 'both are in the app’s delivery log');

  // a bad callback is refused before anything is written
  for (const callback of [{ url: 'http://169.254.169.254/latest', token: 'x' }, { url: 'ftp://receiver.test/', token: 'x' }, { url: rx.url('/own') }, 'http://x/']) {
    const r = await c.post('/cgi/org/replaceall', { userList: [user], callback });
    t.equal(r.json.errcode, 100003, `callback ${JSON.stringify(callback)}: 100003`);
  }
  const none = c.open(await c.post('/cgi/org/replaceall', { userList: [user], callback: { url: '', token: '' } })) as { jobId: string };
  await jobDone(gw.gw.services.db, none.jobId);
  await rx.next((r) => (r.payload.event as { jobId?: string } | undefined)?.jobId === none.jobId, 'an empty callback url counts as none: the app’s callback');
});

t.test('the session audit: sysMsgMonitor gets session_create, session_update and the messages of open-API sessions', async (t) => {
  const gw = await start(t);
  const rx = await new Receiver().listen(t);
  let monitor = systemApp(gw, 'sysMsgMonitor');
  monitor = await gw.gw.services.apps.update(monitor.rowId, { callbackUrl: rx.url('/audit'), callbackToken: 'audit-token' });
  rx.routes.set('/audit', { token: 'audit-token', cipher: () => cipherOf(monitor) });
  const [a, b] = [await gw.addUser('alice'), await gw.addUser('bob'), await gw.addUser('carol'), await gw.addUser('dave')];
  const app = await gw.gw.services.apps.create({ name: '会话机器人', rights: ['session', 'media'] });
  const c = clientOf(gw, app);

  const s = c.open(await c.post('/cgi/session/create', { title: '项目组', creator: 'alice', type: 'multi', member: ['bob', 'carol'] })) as { sessionId: string; version: number };
  const created = await rx.next((r) => r.payload.msgType === 'session_create', 'session_create');
  t.ok(created.signatureOk);
  t.equal(created.toApp, 'sysMsgMonitor');
  t.match(created.payload, {
    fromUser: 'alice', sessionId: s.sessionId, version: s.version, receiver: '', msgId: 0,
    session_create: { type: 'multi', title: '项目组', member: ['alice', 'bob', 'carol'] },
  });

  const u = c.open(await c.post('/cgi/session/update', { sessionId: s.sessionId, opUser: 'bob', title: '项目组二期', addMember: ['dave'], delMember: ['carol'] })) as { version: number };
  const updated = await rx.next((r) => r.payload.msgType === 'session_update', 'session_update');
  t.match(updated.payload, { fromUser: 'bob', sessionId: s.sessionId, version: u.version, session_update: { owner: 'alice', title: '项目组二期', addMember: ['dave'], delMember: ['carol'] } });

  t.equal((await c.post('/cgi/session/send', { sessionId: s.sessionId, sender: 'alice', msgType: 'text', text: { content: '周会改到三点' } })).json.errcode, 0);
  const text = await rx.next((r) => r.payload.msgType === 'text', 'the text message');
  t.match(text.payload, { fromUser: 'alice', sessionId: s.sessionId, version: u.version, receiver: '', msgType: 'text', text: { content: '周会改到三点' } });
  t.ok(Number.isSafeInteger(text.payload.msgId) && (text.payload.msgId as number) > 0, 'msgId is the message’s id (an integer)');

  // a file: the monitor gets a media id it can download with media/get
  const bytes = randomBytes(2048);
  const up = c.open(await postForm(c, '/cgi/media/upload', uploadFields(c, { type: 'file', name: '纪要.docx' }, bytes))) as { mediaId: string };
  t.equal((await c.post('/cgi/session/send', { sessionId: s.sessionId, sender: 'bob', msgType: 'file', file: { media_id: up.mediaId } })).json.errcode, 0);
  const file = await rx.next((r) => r.payload.msgType === 'file', 'the file message');
  const f = file.payload.file as { name: string; media_id: string; size: number };
  t.match(file.payload, { fromUser: 'bob', sessionId: s.sessionId, file: { name: '纪要.docx', size: 2048 } });
  t.not(f.media_id, up.mediaId, 'the monitor’s own media id');
  const m = clientOf(gw, monitor);
  const dl = openDownload(m, await m.post('/cgi/media/get', { mediaId: f.media_id }));
  t.ok(dl.bytes.equals(bytes), 'media/get serves the file to the monitor');
  t.equal((await c.post('/cgi/media/get', { mediaId: f.media_id })).json.errcode, 200010, 'to the monitor only');

  // a client message in the session is audited; one in an ordinary group is not
  const plain = await gw.gw.services.directory.createGroup('普通群', a.id as UserId, [a.id, b.id] as UserId[]);
  const alice = await online(t, gw, 'alice');
  await alice.client.sendText({ kind: 'group', id: plain.id as GroupId }, '不审计');
  const groupId = orgStore(gw.gw.services.db).byGuid(s.sessionId)?.groupId as number;
  const ack = await alice.client.sendText({ kind: 'group', id: groupId as GroupId }, '客户端发的');
  const fromClient = await rx.next((r) => r.payload.msgType === 'text' && r.payload.msgId === ack.id, 'the client’s message');
  t.match(fromClient.payload, { fromUser: 'alice', sessionId: s.sessionId, text: { content: '客户端发的' } });
  await gw.gw.services.sessionAudit.idle();
  t.notOk(rx.got.some((r) => (r.payload.text as { content?: string } | undefined)?.content === '不审计'), 'the ordinary group’s message was not audited');

  // a 1:1 message through session/send names the receiver
  t.equal((await c.post('/cgi/session/send', { receiver: 'bob', sender: 'alice', msgType: 'text', text: { content: '单聊' } })).json.errcode, 0);
  const one = await rx.next((r) => (r.payload.text as { content?: string } | undefined)?.content === '单聊', 'the 1:1 message');
  t.match(one.payload, { fromUser: 'alice', sessionId: '', version: 0, receiver: 'bob' });
  t.ok(rx.got.every((r) => r.signatureOk), 'every audit callback is signed');
});

t.test('third-party login: the app checks the password of an authType 2 user', async (t) => {
  const gw = await start(t);
  const rx = await new Receiver().listen(t);
  const app = await gw.gw.services.apps.create({ name: '统一认证', rights: ['org.read', 'org.write'], callbackUrl: rx.url('/auth'), callbackToken: 'auth-token' });
  let answers: string[] = [];
  rx.routes.set('/auth', {
    token: 'auth-token', cipher: () => cipherOf(app),
    answer: (p) => answers.shift() ?? JSON.stringify({ errcode: p.passwd === 'sso-secret-1' ? 0 : 300002, errmsg: '' }),
  });
  await gw.addUser('wang');
  const c = clientOf(gw, app);
  t.equal((await c.post('/cgi/user/setauth', { userId: 'wang', authType: 2 })).json.errcode, 0);
  const login = (password: string) => makeClient(t, gw, 'wang', { password, reconnect: false, device: { id: uniqueDeviceId('tp'), type: 'web' } }).connect();

  const ok = await within(login('sso-secret-1'), WAIT_MS, 'wang to log in');
  t.equal(ok.user.account, 'wang', 'errcode 0: logged in');
  const asked = rx.got[0] as Received;
  t.ok(asked.signatureOk);
  t.equal(asked.toApp, app.appId, 'the app that set authType 2 checks');
  t.match(asked.payload, { fromUser: 'wang', msgType: 'auth', passwd: 'sso-secret-1', packageId: String, createTime: Number });

  t.equal(await codeOf(login('wrong-one')), 'GW_AUTH_FAILED', 'errcode 300002: a wrong password');
  t.equal(await codeOf(login(TEST_PASSWORD)), 'GW_AUTH_FAILED', 'the local password no longer logs in');
  answers = [JSON.stringify({ errcode: 300001, errmsg: 'no such account' })];
  t.equal(await codeOf(login('sso-secret-1')), 'GW_AUTH_FAILED', 'errcode 300001: refused');

  // an outage is not a wrong password: more attempts than the lockout allows, then a login works
  answers = [JSON.stringify({ errcode: -1, errmsg: 'ldap down' }), 'not json', JSON.stringify({ errcode: 12345 })];
  for (let i = 0; i < 3; i++) t.equal(await codeOf(login('sso-secret-1')), 'GW_DIRECTORY_UNAVAILABLE', `answer ${i}: the password could not be checked`);
  await gw.gw.services.apps.update(app.rowId, { callbackUrl: `http://127.0.0.1:${await closedPort()}/auth` });
  for (let i = 0; i < 4; i++) t.equal(await codeOf(login('sso-secret-1')), 'GW_DIRECTORY_UNAVAILABLE', 'the app is down: fails closed');
  await gw.gw.services.apps.update(app.rowId, { callbackUrl: rx.url('/auth') });
  t.match(await within(login('sso-secret-1'), WAIT_MS, 'wang to log in again'), { user: { account: 'wang' } }, 'no lockout was counted during the outage');
  t.notOk(JSON.stringify(gw.gw.services.db.prepare('SELECT * FROM app_callback_deliveries').all()).includes('sso-secret-1'), 'the password is not stored');

  // back to local: the password is checked locally again, nothing is asked
  const before = rx.got.length;
  t.equal((await c.post('/cgi/user/setauth', { userId: 'wang', authType: 0 })).json.errcode, 0);
  t.match(await within(login(TEST_PASSWORD), WAIT_MS, 'wang with the local password'), { user: { account: 'wang' } });
  t.equal(rx.got.length, before, 'the app was not asked');
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
