import t, { type Test } from 'tap';
import { openTransport, type TransportFactory } from '../../client/src/index.js';
import { ClientFrame, type AppEventView, type AppNoticeView, type MessageView, type PopWindowView } from '../../gateway/src/protocol/client-v1.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { online, within, WAIT_MS } from '../helpers/clients.js';
import { postSpecial, YouduClient } from '../helpers/youdu-client.js';

/**
 * Badge counts, pop-up windows and events of apps (issue 6, docs/open-api.md
 * "Notices and pop-ups"; docs/protocol/client-v1.md "App pushes"): the
 * special envelope (app_id / app_Id, msg_encrypt), the pushes real clients
 * receive, badge counts kept for a client that logs in later; and identify
 * (SSO) with the token a client makes from sso.sign, and link action 1.
 */

interface Frame { t: string; p: unknown }

/** Every frame a client's connections received, with a wait on a condition. */
class FrameLog {
  readonly frames: Frame[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  factory: TransportFactory = async (url, opts) => {
    const tr = await openTransport(url, opts);
    tr.on('frame', (f) => {
      this.frames.push(f as Frame);
      this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
    });
    return tr;
  };

  of<T>(type: string): T[] {
    return this.frames.filter((f) => f.t === type).map((f) => f.p as T);
  }

  until<T>(type: string, n: number): Promise<T[]> {
    const check = () => this.of(type).length >= n;
    if (check()) return Promise.resolve(this.of<T>(type));
    return within(new Promise<T[]>((resolve) => this.waiters.push({ check, resolve: () => resolve(this.of<T>(type)) })), WAIT_MS, `${n} ${type} frame(s)`);
  }
}

async function setup(t: Test): Promise<{ gw: TestGateway; app: YouduClient; key: string }> {
  const gw = await startGateway(t);
  await gw.addUser('alice', { name: '爱丽丝' });
  await gw.addUser('bob');
  const created = await gw.gw.services.apps.create({ name: '审批' });
  return { gw, app: new YouduClient(gw.http, created.buin as number, created.appId as string, created.encodingAesKey as string), key: created.key };
}

t.test('set.ent.notice: the badge count reaches online devices, count 0 clears it, and a device that logs in later is told the counts', async (t) => {
  const { gw, app, key } = await setup(t);
  const log = new FrameLog();
  await online(t, gw, 'alice', { transportFactory: log.factory });
  const r = await postSpecial(app, '/cgi/set.ent.notice', { account: 'alice', tip: '3 条待审批', count: 3 });
  t.same({ errcode: r.json.errcode, errmsg: r.json.errmsg }, { errcode: 0, errmsg: 'ok' }, 'no token needed with the special envelope');
  const [n1] = await log.until<AppNoticeView>('app.notice', 1);
  t.match(n1, { app: { id: key, name: '审批' }, count: 3, tip: '3 条待审批' });
  t.notOk('popWindow' in (n1 as object), 'no pop-up asked for');

  // the Go library spells the key app_Id; a pop-up window comes with the count
  const pop = { title: '待办', width: 300, height: 200, content: '<b>3</b>', popMode: 2, position: 3, contentType: 'html', stayDuration: 10, popSessionId: 'p1', junk: 'x' };
  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'alice', tip: '4', count: '4', pop_wind: pop }, { appId: 'app_Id' })).json.errcode, 0);
  const [, n2] = await log.until<AppNoticeView>('app.notice', 2);
  t.match(n2, { count: 4, popWindow: { title: '待办', width: 300, height: 200, content: '<b>3</b>', popMode: 2, position: 3, contentType: 'html', stayDuration: 10, popSessionId: 'p1' } });
  t.notOk('junk' in ((n2 as AppNoticeView).popWindow as object), 'unknown pop_wind fields dropped');

  const later = new FrameLog();
  await online(t, gw, 'alice', { transportFactory: later.factory });
  const [kept] = await later.until<AppNoticeView>('app.notice', 1);
  t.match(kept, { app: { id: key }, count: 4, tip: '4' }, 'a device logging in later is told the count');

  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'alice', tip: '', count: 0 })).json.errcode, 0);
  const [, , cleared] = await log.until<AppNoticeView>('app.notice', 3);
  t.equal(cleared?.count, 0, 'count 0: cleared');
  const third = new FrameLog();
  const { client } = await online(t, gw, 'alice', { transportFactory: third.factory });
  await client.request(ClientFrame.Ping, {});
  t.same(third.of('app.notice'), [], 'after clearing, a new login is told nothing');

  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'nobody', tip: '', count: 1 })).json.errcode, 300001, 'unknown account: 300001');
  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { tip: '', count: 1 })).json.errcode, 100003, 'no account: 100003');
  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'alice', count: -1 })).json.errcode, 100003, 'negative count: 100003');
  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'alice', count: 'many' })).json.errcode, 100003, 'count not a number: 100003');
  t.equal((await app.raw('/cgi/set.ent.notice', { body: JSON.stringify({ app_id: app.appId }) })).json.errcode, 100011, 'no msg_encrypt: 100011');
  t.equal((await app.raw('/cgi/set.ent.notice', { body: JSON.stringify({ app_id: 'ydNOPE', msg_encrypt: app.cipher.encrypt('{}') }) })).json.errcode, 100005, 'unknown app_id: 100005');
  t.equal((await app.raw('/cgi/set.ent.notice', { body: JSON.stringify({ app_id: app.appId, msg_encrypt: 'abc$' }) })).json.errcode, 100006, 'bad base64: 100006');
  const row = gw.gw.services.apps.byAppId(app.buin, app.appId)!;
  const alice = (await gw.gw.services.directory.getUserByAccount('alice'))!;
  await gw.gw.services.apps.update(row.rowId, { visibility: { depts: [], users: [alice.id] } });
  t.equal((await postSpecial(app, '/cgi/set.ent.notice', { account: 'bob', tip: '', count: 1 })).json.errcode, 3, 'outside the app’s visibility: 3');
});

t.test('popwindow and event/publish reach online devices; their malformed inputs get errcodes', async (t) => {
  const { gw, app, key } = await setup(t);
  const alice = new FrameLog();
  const bob = new FrameLog();
  await online(t, gw, 'alice', { transportFactory: alice.factory });
  await online(t, gw, 'bob', { transportFactory: bob.factory });
  const r = await postSpecial(app, '/cgi/popwindow', { toUser: 'alice|bob', toDept: '', popWindow: { url: 'https://oa.example.com/x', tip: '', title: '提醒', width: 400, height: 300, duration: 0, position: 2, notice_id: 'n-1', pop_mode: 1 } });
  t.equal(r.json.errcode, 0, String(r.json.errmsg));
  for (const log of [alice, bob]) {
    const [p] = await log.until<PopWindowView>('app.popwindow', 1);
    t.same(p, { app: { id: key, name: '审批' }, url: 'https://oa.example.com/x', tip: '', title: '提醒', width: 400, height: 300, durationS: 5, position: 2, noticeId: 'n-1', popMode: 1 }, 'duration 0 is 5 s');
  }
  t.equal((await postSpecial(app, '/cgi/popwindow', { toUser: 'alice', popWindow: { tip: 'forever', duration: -1 } })).json.errcode, 0);
  t.equal((await alice.until<PopWindowView>('app.popwindow', 2))[1]?.durationS, -1, 'duration -1 stays');
  t.equal((await postSpecial(app, '/cgi/popwindow', { toUser: '', toDept: '', popWindow: { tip: 'x' } })).json.errcode, 200007, 'no recipient: 200007');
  t.equal((await postSpecial(app, '/cgi/popwindow', { toUser: 'alice', popWindow: { url: '', tip: '' } })).json.errcode, 100003, 'url and tip both empty: 100003');
  t.equal((await postSpecial(app, '/cgi/popwindow', { toUser: 'alice' })).json.errcode, 100003, 'no popWindow: 100003');

  const ev = {
    eventId: 'call-1', eventType: 'popWindow', toGid: '', toUser: 'bob', toDept: '',
    popWindow: { tips: '来电', action: 1, timestamp: 1700000000000, windowType: 'url', windowInfo: { title: '来电', width: 320, height: 240, content: 'https://pbx.example.com/c/1', popMode: 1, position: 0, contentType: 'url', stayDuration: 0, popSessionId: 's1' } },
  };
  t.equal((await app.post('/cgi/event/publish', ev)).json.errcode, 0);
  const [e] = await bob.until<AppEventView>('app.event', 1);
  t.same(e, { app: { id: key, name: '审批' }, eventId: 'call-1', eventType: 'popWindow', popWindow: { tips: '来电', action: 1, timestamp: 1700000000000, windowType: 'url', windowInfo: ev.popWindow.windowInfo } });
  t.equal((await app.post('/cgi/event/publish', { ...ev, popWindow: { ...ev.popWindow, action: 3 } })).json.errcode, 100003, 'action 3: 100003');
  t.equal((await app.post('/cgi/event/publish', { eventId: 'x', toUser: 'bob' })).json.errcode, 100003, 'no popWindow: 100003');
  t.equal((await app.post('/cgi/event/publish', { ...ev, toUser: 'nobody' })).json.errcode, 200007, 'nobody valid: 200007');
  t.same(alice.of('app.event'), [], 'alice was not named in the event');
});

t.test('identify: a token made from sso.sign names the user with every userInfo key; bad, missing and expired tokens get their codes; link action 1', async (t) => {
  const { gw, app, key } = await setup(t);
  const dir = gw.gw.services.directory;
  const dept = await dir.createDept(null, '财务');
  const alice = (await dir.getUserByAccount('alice'))!;
  await dir.editUser(alice.id, { deptIds: [dept.id], email: 'alice@example.com', mobile: '13800000000' });
  const { client, inbox } = await online(t, gw, 'alice');
  t.equal((await app.post('/cgi/msg/send', { toUser: 'alice', msgType: 'link', link: { title: '报销', url: 'https://oa.example.com/r?x=1', action: 1 } })).json.errcode, 0);
  const link = (await inbox.until((ms) => ms.some((m) => m.to.kind === 'app' && m.to.id === key), 'the link')).find((m) => m.to.id === key) as MessageView;
  t.same(link.body, { url: 'https://oa.example.com/r?x=1', title: '报销', sso: true });

  // what the client does on opening it (docs/open-api.md "Identify"): sign, make the token, append it
  const signed = await client.request(ClientFrame.SsoSign, {});
  const token = Buffer.from(`${signed.account}\n${signed.sign}`, 'utf8').toString('base64');
  const opened = new URL(`https://oa.example.com/r?x=1&userName=${encodeURIComponent(signed.account)}&token=${encodeURIComponent(token)}`);
  t.equal(opened.searchParams.get('token'), token);

  const ask = async (query: string) => {
    const res = await fetch(`${gw.http}/cgi/identify${query}`);
    t.equal(res.status, 200);
    return (await res.json()) as { status: { code: number; message: string; createdAt: string }; userInfo?: Record<string, unknown> };
  };
  const good = await ask(`?token=${token}`);
  t.equal(good.status.code, 0, 'the raw base64 token (+, / and = unescaped) is accepted');
  t.match(good.status.createdAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'createdAt YYYY-MM-DD hh:mm:ss');
  t.same(good.userInfo, { gid: alice.id, account: 'alice', chsName: '爱丽丝', engName: '', gender: 0, mobile: '13800000000', phone: '', email: 'alice@example.com', buin: app.buin, orgId: dept.id, customAttr: '' }, 'every userInfo key');
  t.equal((await ask(`?token=${encodeURIComponent(token)}`)).status.code, 0, 'a percent-encoded token too');
  t.equal((await ask('')).status.code, 2, 'no token: 2');
  t.equal((await ask('?token=')).status.code, 2, 'an empty token: 2');
  t.equal((await ask('?token=bm9ib2R5CjEuMS5hYmM=')).status.code, 10, 'a forged token: 10');
  t.equal((await ask('?token=***')).status.code, 10, 'not base64: 10');
  const old = gw.gw.services.sso.sign(alice, -60_000);
  t.equal((await ask(`?token=${Buffer.from(`alice\n${old.sign}`).toString('base64')}`)).status.code, 10, 'an expired token: 10');
  const other = gw.gw.services.sso.sign({ account: 'bob' });
  t.equal((await ask(`?token=${Buffer.from(`alice\n${other.sign}`).toString('base64')}`)).status.code, 10, 'bob’s signature under alice’s name: 10');
  t.notOk('userInfo' in (await ask('?token=***')), 'no userInfo on failure');
});
