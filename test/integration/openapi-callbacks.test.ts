import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { hashPassword } from '../../gateway/src/auth/password.js';
import type { CallbackClock } from '../../gateway/src/apps/callback-queue.js';
import type { DeliveryDetailView, DeliveryPageView, DeliveryView, TestSendView } from '../../gateway/src/apps/callbacks-types.js';
import { refusalOf, systemResolver, type HostResolver } from '../../gateway/src/apps/ssrf.js';
import type { OpenApp } from '../../gateway/src/apps/types.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, online, within, WAIT_MS, type Teardown } from '../helpers/clients.js';
import { TEST_PASSWORD, tempDir, testConfig, type TestGateway } from '../helpers/gateway.js';
import { consoleSession } from '../helpers/rtx.js';
import { SpecCipher, specSignature } from '../helpers/youdu-client.js';

/**
 * Callbacks to an app's server (issue 6, F-4.8, wire spec §6), against a
 * local receiver that checks the signature and decrypts with the spec
 * client's own crypto: user messages and events arrive signed and encrypted;
 * failures (HTTP 500, no answer) are retried with exponential backoff on an
 * injected clock, then succeed; an app's deliveries stay in order; retries
 * end after 24 h; the queue survives a restart; the console lists the log and
 * replays; the outbound guard refuses metadata and link-local addresses
 * (literal or resolved) and does not follow a redirect to another host.
 */

const TOKEN = 'cb-token-1';

/** Time that passes only when the queue waits: retries happen at once, with their real schedule. */
class VirtualClock implements CallbackClock {
  t = Date.now();
  readonly waits: number[] = [];
  now(): number {
    return this.t;
  }
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!Number.isFinite(ms)) {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        return;
      }
      setImmediate(() => {
        if (signal.aborted) return reject(signal.reason as Error);
        this.waits.push(ms);
        this.t += ms;
        resolve();
      });
    });
  }
}

interface Received {
  path: string;
  query: URLSearchParams;
  body: { toBuin?: unknown; toApp?: unknown; encrypt?: unknown };
  signatureOk: boolean;
  payload: Record<string, unknown> & { packageId: string; msgType: string; fromUser: string };
}

type Answer = 'ack' | 'ok' | 'json0' | 500 | 'hang' | { redirect: string };

/** An app's server: verifies and decrypts every callback, answers from a script (then `fallback`). */
class Receiver extends EventEmitter {
  readonly got: Received[] = [];
  script: Answer[] = [];
  fallback: Answer = 'ack';
  private readonly hung: http.ServerResponse[] = [];
  server!: http.Server;
  port = 0;

  constructor(private readonly cipher: () => SpecCipher) {
    super();
  }

  async listen(t: Teardown): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    t.teardown(() => {
      for (const r of this.hung) r.destroy();
      this.server.closeAllConnections();
      return new Promise<void>((r) => this.server.close(() => r()));
    });
    return this;
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const body = JSON.parse(text) as Received['body'];
    const q = u.searchParams;
    const signatureOk = specSignature(TOKEN, q.get('timestamp') ?? '', q.get('nonce') ?? '', String(body.encrypt)) === q.get('msg_signature');
    const payload = JSON.parse(this.cipher().decrypt(String(body.encrypt)).toString('utf8')) as Received['payload'];
    const r: Received = { path: u.pathname, query: q, body, signatureOk, payload };
    this.got.push(r);
    const answer = this.script.shift() ?? this.fallback;
    if (answer === 'hang') this.hung.push(res);
    else if (answer === 500) res.writeHead(500).end('boom');
    else if (typeof answer === 'object') res.writeHead(302, { location: answer.redirect }).end();
    else if (answer === 'ok') res.end('OK');
    else if (answer === 'json0') res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }));
    else res.end(payload.packageId);
    this.emit('request', r);
  }

  /** Waits until `n` callbacks arrived in all. */
  until(n: number, ms = WAIT_MS): Promise<Received[]> {
    if (this.got.length >= n) return Promise.resolve(this.got);
    return within(new Promise<Received[]>((resolve) => {
      const on = () => {
        if (this.got.length >= n) {
          this.off('request', on);
          resolve(this.got);
        }
      };
      this.on('request', on);
    }), ms, `${n} callback(s) at the receiver (have ${this.got.length})`);
  }
}

/** Names the tests resolve: the receiver by name (an intranet host), and names that point at refused addresses. */
function resolverFor(names: Record<string, string>): HostResolver {
  return async (host) => {
    const a = names[host];
    if (a) return [{ address: a, family: a.includes(':') ? 6 : 4 }];
    return systemResolver(host);
  };
}

const RESOLVE = resolverFor({ 'receiver.test': '127.0.0.1', 'metadata.test': '169.254.169.254', 'linklocal.test': '169.254.7.7', 'ec2v6.test': 'fd00:ec2::254', 'fe80.test': 'fe80::1' });

/** A real gateway with the callback queue's clock, resolver and timeout injected. */
async function start(t: Teardown, clock: CallbackClock, dataDir = tempDir(t)): Promise<TestGateway> {
  const gw = await buildGateway(testConfig(dataDir), { log: createLogger('silent'), adminSocket: false, callbacks: { clock, resolve: RESOLVE, timeoutMs: 400 } });
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

/** Resolves with the delivery once `check` holds for it (waits on the queue's change events). */
function deliveryWhen(gw: TestGateway, check: (d: DeliveryView) => boolean, what: string): Promise<DeliveryView> {
  return within(new Promise<DeliveryView>((resolve) => {
    const off = gw.gw.services.appCallbacks.onChange((d) => {
      if (check(d)) {
        off();
        resolve(d);
      }
    });
  }), WAIT_MS * 3, what);
}

async function appWithCallback(gw: TestGateway, url: string | null): Promise<OpenApp> {
  return gw.gw.services.apps.create({ name: '请假审批', callbackUrl: url, callbackToken: TOKEN });
}

t.test('a user message and an enter event reach the app signed and encrypted, per the spec; other devices see the message', async (t) => {
  const clock = new VirtualClock();
  const gw = await start(t, clock);
  let app: OpenApp | null = null;
  const rx = await new Receiver(() => new SpecCipher((app as OpenApp).encodingAesKey as string, (app as OpenApp).appId as string)).listen(t);
  app = await appWithCallback(gw, `http://receiver.test:${rx.port}/youdu/cb?tenant=7`);
  const alice = await gw.addUser('alice');
  const a1 = await online(t, gw, 'alice');
  const a2 = await online(t, gw, 'alice');

  const ack = await a1.client.sendText({ kind: 'app', id: app.key }, '你好，应用');
  const [r] = await rx.until(1);
  const got = r as Received;
  t.equal(got.path, '/youdu/cb', 'posted to the configured path');
  t.equal(got.query.get('tenant'), '7', 'the URL’s own query is kept');
  t.ok(got.signatureOk, 'msg_signature = sha1(sort(token, timestamp, nonce, encrypt))');
  t.match(got.query.get('timestamp'), /^\d{10}$/, 'timestamp in seconds');
  t.equal(got.body.toBuin, app.buin, 'toBuin is the int buin');
  t.equal(got.body.toApp, app.appId, 'toApp is the appId');
  t.equal(Buffer.from(String(got.body.encrypt), 'base64').length % 32, 0, 'padded to 32-byte blocks');
  t.match(got.payload, { fromUser: 'alice', msgType: 'text', text: { content: '你好，应用' } }, 'the decrypted payload (the spec client checks the appId suffix)');
  t.equal(typeof got.payload.packageId, 'string', 'packageId is a JSON string');
  t.match(got.payload.createTime, Number, 'createTime is a number');

  const seen = await a2.inbox.until((ms) => ms.some((m) => m.id === ack.id), 'the message on alice’s other device');
  t.match(seen.find((m) => m.id === ack.id), { from: alice.id, to: { kind: 'app', id: app.key }, kind: 'text', body: { text: '你好，应用' } }, 'stored in alice’s app conversation, from her');
  t.notOk(seen.find((m) => m.id === ack.id)?.fromApp, 'not shown as from the app');

  await a1.client.enterApp(app.key);
  const [, ev] = await rx.until(2);
  t.match(ev?.payload, { fromUser: 'alice', msgType: 'event', event: { appId: app.appId, operation: 'enter' } }, 'opening the conversation is an event{appId, operation}');

  // every answer the spec lists acknowledges
  rx.script = ['ok', 'json0'];
  const delivered = deliveryWhen(gw, () => gw.gw.services.appCallbacks.list(app.rowId, { state: 'delivered' }).total === 4, 'all four delivered');
  await a1.client.sendText({ kind: 'app', id: app.key }, 'second');
  await a1.client.sendText({ kind: 'app', id: app.key }, 'third');
  await rx.until(4);
  await delivered;
  const log = gw.gw.services.appCallbacks.list(app.rowId);
  t.equal(log.total, 4);
  t.ok(log.items.every((d) => d.state === 'delivered' && d.attempts === 1), '"OK" and {errcode:0} acknowledge too');
});

t.test('failures are retried with backoff, in order per app, and then succeed; 24 h without an ack gives up; replay from the console', async (t) => {
  const clock = new VirtualClock();
  const gw = await start(t, clock);
  let app: OpenApp | null = null;
  const rx = await new Receiver(() => new SpecCipher((app as OpenApp).encodingAesKey as string, (app as OpenApp).appId as string)).listen(t);
  app = await appWithCallback(gw, `http://receiver.test:${rx.port}/cb`);
  await gw.addUser('bob');
  const bob = await online(t, gw, 'bob');

  rx.script = [500, 'hang'];
  const firstDone = deliveryWhen(gw, (d) => d.state === 'delivered', 'the first delivery');
  await bob.client.sendText({ kind: 'app', id: app.key }, 'one');
  await bob.client.sendText({ kind: 'app', id: app.key }, 'two');
  const first = await firstDone;
  await rx.until(4);
  t.same(rx.got.map((r) => (r.payload.text as { content: string }).content), ['one', 'one', 'one', 'two'], 'the second waits behind the first: an app’s callbacks stay in order');
  t.equal(new Set(rx.got.slice(0, 3).map((r) => r.payload.packageId)).size, 1, 'a retry carries the same packageId');
  t.not(rx.got[0]?.query.get('nonce'), rx.got[1]?.query.get('nonce'), 'each attempt is signed afresh');

  const s = await consoleSession(gw);
  const detail = (await (await s.get(`/api/admin/apps/${app.rowId}/callback/deliveries/${first.id}`)).json()) as DeliveryDetailView;
  t.same(detail.attemptLog.map((a) => a.outcome), ['http_error', 'timeout', 'acked'], 'every attempt is logged: HTTP 500, no answer within the timeout, acknowledged');
  t.equal(detail.attemptLog[0]?.httpStatus, 500);
  const at = detail.attemptLog.map((a) => a.at);
  t.equal((at[1] as number) - (at[0] as number), 10_000, 'first retry after 10 s');
  t.equal((at[2] as number) - (at[1] as number), 20_000, 'then 20 s: exponential backoff');

  // a delivery log filtered by state
  const page = (await (await s.get(`/api/admin/apps/${app.rowId}/callback/deliveries?state=delivered&limit=10`)).json()) as DeliveryPageView;
  t.equal(page.total, 2, 'two delivered');
  t.equal((await s.get(`/api/admin/apps/${app.rowId}/callback/deliveries?state=bogus`)).status, 400, 'an unknown state is refused');

  // replay: the same payload again, logged
  const rep = await s.send('POST', `/api/admin/apps/${app.rowId}/callback/deliveries/${first.id}/replay`, {});
  t.equal(rep.status, 201);
  const replayed = (await rep.json()) as DeliveryView;
  t.equal(replayed.replayOf, first.id);
  await rx.until(5);
  t.equal(rx.got[4]?.payload.packageId, rx.got[0]?.payload.packageId, 'the replay carries the original packageId');
  t.same(rx.got[4]?.payload.text, { content: 'one' });

  // an app that never acknowledges: retries stop 24 h after the message was queued
  rx.fallback = 500;
  const gaveUp = deliveryWhen(gw, (d) => d.state === 'failed', 'the delivery to give up');
  await bob.client.sendText({ kind: 'app', id: app.key }, 'never acked');
  const failed = await gaveUp;
  t.match(failed.lastError, /gave up after 24 h/, 'failed with the reason');
  t.ok(failed.attempts > 20 && failed.attempts < 40, `retried hourly at most (${failed.attempts} attempts)`);
  t.ok(Math.max(...clock.waits) <= 3_600_000, 'the backoff is capped at 1 h');
  const all = (await (await s.get(`/api/admin/apps/${app.rowId}/callback/deliveries?state=failed`)).json()) as DeliveryPageView;
  t.equal(all.total, 1, 'listed as failed');
  t.equal((await s.send('POST', `/api/admin/apps/${app.rowId}/callback/deliveries/999999/replay`, {})).status, 404, 'replaying an unknown delivery: 404');
});

t.test('pending deliveries survive a restart', async (t) => {
  const dataDir = tempDir(t);
  let app: OpenApp | null = null;
  const rx = await new Receiver(() => new SpecCipher((app as OpenApp).encodingAesKey as string, (app as OpenApp).appId as string)).listen(t);
  rx.fallback = 500;
  const gw1 = await start(t, new VirtualClock(), dataDir);
  app = await appWithCallback(gw1, `http://receiver.test:${rx.port}/cb`);
  await gw1.addUser('carol');
  const c = await online(t, gw1, 'carol');
  // real time for the first gateway would retry only after 10 s: its clock stops after the first attempt
  const firstAttempt = deliveryWhen(gw1, (d) => d.attempts === 1, 'the first attempt');
  await c.client.sendText({ kind: 'app', id: app.key }, 'kept');
  await firstAttempt;
  await c.client.close();
  await gw1.gw.stop();

  rx.fallback = 'ack';
  const gw2 = await start(t, new VirtualClock(), dataDir);
  const done = await deliveryWhen(gw2, (d) => d.state === 'delivered', 'the delivery after the restart');
  t.ok(done.attempts >= 2, 'retried by the restarted gateway');
  t.same(rx.got.at(-1)?.payload.text, { content: 'kept' });
});

t.test('console: callback settings, a test send, and the outbound guard', async (t) => {
  const clock = new VirtualClock();
  const gw = await start(t, clock);
  let app: OpenApp | null = null;
  const rx = await new Receiver(() => new SpecCipher((app as OpenApp).encodingAesKey as string, (app as OpenApp).appId as string)).listen(t);
  const other = await new Receiver(() => new SpecCipher((app as OpenApp).encodingAesKey as string, (app as OpenApp).appId as string)).listen(t);
  app = await appWithCallback(gw, null);
  const s = await consoleSession(gw);
  const P = `/api/admin/apps/${app.rowId}/callback`;

  for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[fe80::1]:8080/', 'http://224.0.0.1/']) {
    const r = await s.send('PUT', P, { url, token: TOKEN });
    t.equal(r.status, 400, `${url} is refused on save`);
  }
  t.equal((await s.send('PUT', P, { url: 'ftp://x/', token: TOKEN })).status, 400, 'only http and https');
  const put = await s.send('PUT', P, { url: `http://receiver.test:${rx.port}/cb`, token: TOKEN });
  t.equal(put.status, 200);
  t.match(await put.json(), { url: `http://receiver.test:${rx.port}/cb`, hasToken: true, ready: true, timeoutMs: 400 }, 'the settings, never the Token');
  const got = (await s.get(P)).json() as Promise<{ hasToken: boolean }>;
  t.equal((await got).hasToken, true);
  app = gw.gw.services.apps.get(app.rowId) as OpenApp;

  const test = (await (await s.send('POST', `${P}/test`, {})).json()) as TestSendView;
  t.match(test, { ok: true, outcome: 'acked', httpStatus: 200 }, 'a test send reaches the receiver');
  t.match(rx.got[0]?.payload, { msgType: 'event', event: { operation: 'test' } });
  t.ok(rx.got[0]?.signatureOk);

  // a redirect to another host is not followed
  rx.script = [{ redirect: `http://127.0.0.1:${other.port}/stolen` }];
  const redirected = (await (await s.send('POST', `${P}/test`, {})).json()) as TestSendView;
  t.match(redirected, { ok: false, outcome: 'redirect', httpStatus: 302 }, 'answered as a failed attempt');
  t.match(redirected.detail, /another host/);
  t.equal(other.got.length, 0, 'the other host got nothing');

  // names resolving to refused addresses: refused at send time, never contacted
  await gw.addUser('dave');
  const dave = await online(t, gw, 'dave');
  for (const host of ['metadata.test', 'linklocal.test', 'ec2v6.test', 'fe80.test']) {
    await gw.gw.services.apps.update(app.rowId, { callbackUrl: `http://${host}:${rx.port}/cb` });
    const refused = deliveryWhen(gw, (d) => d.state === 'failed', `the refusal for ${host}`);
    await dave.client.sendText({ kind: 'app', id: app.key }, `to ${host}`);
    const d = await refused;
    t.match(d.lastError, /refused: .*resolves to/, `${host}: refused (${d.lastError ?? ''})`);
    t.equal(d.attempts, 1, 'not retried');
  }
  // a literal metadata address set behind the console's back is refused too
  await gw.gw.services.apps.update(app.rowId, { callbackUrl: `http://169.254.169.254:${rx.port}/cb` });
  const lit = deliveryWhen(gw, (d) => d.state === 'failed', 'the refusal of the literal address');
  await dave.client.sendText({ kind: 'app', id: app.key }, 'to the metadata address');
  t.match((await lit).lastError, /refused: 169\.254\.169\.254 is a link-local/);
  t.equal(rx.got.length, 2, 'the receiver got only the two test sends');
  const detail = gw.gw.services.appCallbacks.detail(app.rowId, (await lit).id);
  t.equal(detail.attemptLog[0]?.outcome, 'refused', 'the attempt is logged as refused');
});

t.test('people reach only apps they can see, with what the messaging layer takes', async (t) => {
  const gw = await start(t, new VirtualClock());
  const erin = await gw.addUser('erin');
  const frank = await gw.addUser('frank');
  const app = await gw.gw.services.apps.create({ name: '只给 frank', visibility: { users: [frank.id as UserId], depts: [] } });
  const e = await online(t, gw, 'erin');
  const f = await online(t, gw, 'frank');
  t.equal(await codeOf(e.client.sendText({ kind: 'app', id: app.key }, 'hi')), 'GW_FORBIDDEN', 'outside the app’s visibility');
  t.equal(await codeOf(e.client.enterApp(app.key)), 'GW_FORBIDDEN', 'no enter event either');
  t.equal(await codeOf(f.client.sendText({ kind: 'app', id: 'no-such-app' }, 'hi')), 'GW_NOT_FOUND', 'an unknown app');
  t.equal(await codeOf(f.client.sendText({ kind: 'app', id: 'system' }, 'hi')), 'GW_BAD_REQUEST', 'the notification app takes no messages');
  const ack = await f.client.sendText({ kind: 'app', id: app.key }, 'visible');
  t.ok(ack.id > 0, 'a visible app takes it (no callback configured: only stored)');
  t.equal(gw.gw.services.appCallbacks.list(app.rowId).total, 0, 'nothing queued for an app without a callback');
  t.ok(erin.id > 0);
});

t.test('the outbound guard’s address rules', async (t) => {
  for (const a of ['169.254.169.254', '169.254.0.1', '100.100.100.200', 'fd00:ec2::254', 'fe80::1', 'fe80::abcd:1', '::ffff:169.254.169.254', '0.0.0.0', '::', '224.0.0.251', 'ff02::1', '255.255.255.255']) {
    t.ok(refusalOf(a), `${a} is refused`);
  }
  for (const a of ['127.0.0.1', '::1', '10.1.2.3', '172.16.0.9', '192.168.1.10', 'fd12:3456::1', '203.0.113.7', '2001:db8::1']) {
    t.equal(refusalOf(a), null, `${a} is allowed (intranet and public addresses)`);
  }
  for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '::1', 'fd12:3456::1', '::ffff:10.0.0.1']) t.ok(refusalOf(a, { refusePrivate: true }), `${a} is refused with refusePrivate`);
  t.equal(refusalOf('203.0.113.7', { refusePrivate: true }), null, 'a public address stays allowed with refusePrivate');
});

