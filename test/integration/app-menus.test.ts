import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { MenuView } from '../../gateway/src/apps/callbacks-types.js';
import type { MessageView } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, online, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { consoleSession } from '../helpers/rtx.js';
import { SpecCipher, specSignature } from '../helpers/youdu-client.js';

/**
 * Custom menus (issue 6, F-4.7): set in the console (3 items × 5 sub-items,
 * validated), fetched by clients without the configured replies; a click
 * sends an event to the app's callback and answers with the configured
 * reply; a view item carries only its URL.
 */

const TOKEN = 'menu-token';

t.test('menu: console validation, clients get it, a click is a callback event and a configured reply', async (t) => {
  const gw = await startGateway(t);
  // the app's server, on the intranet (loopback is allowed)
  const events: Record<string, unknown>[] = [];
  let cipher: SpecCipher | null = null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { encrypt: string };
      if (specSignature(TOKEN, q.get('timestamp') ?? '', q.get('nonce') ?? '', body.encrypt) !== q.get('msg_signature')) return res.writeHead(403).end();
      const p = JSON.parse((cipher as SpecCipher).decrypt(body.encrypt).toString()) as Record<string, unknown>;
      events.push(p);
      res.end(String(p.packageId));
      server.emit('callback', p);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((r) => server.close(r)));
  const app = await gw.gw.services.apps.create({ name: '食堂', callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, callbackToken: TOKEN });
  cipher = new SpecCipher(app.encodingAesKey as string, app.appId as string);

  const s = await consoleSession(gw);
  const M = `/api/admin/apps/${app.rowId}/menu`;
  const sub = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `子项${i}`, type: 'click', key: `k${n}-${i}` }));
  const refusals: [unknown, RegExp][] = [
    [[{ name: 'a', type: 'view', url: 'https://a' }, { name: 'b', type: 'view', url: 'https://b' }, { name: 'c', type: 'view', url: 'https://c' }, { name: 'd', type: 'view', url: 'https://d' }], /at most 3 items/],
    [[{ name: '更多', type: 'parent', sub: sub(6) }], /at most 5/],
    [[{ name: '更多', type: 'parent', sub: [] }], /1–5 sub-items/],
    [[{ name: '打开', type: 'view', url: 'javascript:alert(1)' }], /http or https/],
    [[{ name: '打开', type: 'view', url: 'file:///etc/passwd' }], /http or https/],
    [[{ name: '点', type: 'click' }], /key must be/],
    [[{ name: '点', type: 'click', key: 'dup' }, { name: '点2', type: 'click', key: 'dup' }], /used twice/],
    [[{ name: 'x'.repeat(17), type: 'click', key: 'k' }], /longer than 16/],
    [[{ name: '深', type: 'parent', sub: [{ name: '更深', type: 'parent', sub: sub(1) }] }], /sub-items cannot have sub-items/],
    [[{ name: '点', type: 'click', key: 'k', reply: { kind: 'voice', body: {} } }], /reply.kind/],
    [[{ name: '怪', type: 'menu' }], /type must be/],
  ];
  for (const [items, why] of refusals) {
    const r = await s.send('PUT', M, { items });
    t.equal(r.status, 400, `refused: ${String(why)}`);
    t.match(((await r.json()) as { error: { message: string } }).error.message, why);
  }
  t.equal(((await (await s.get(M)).json()) as MenuView).version, 0, 'no menu was stored');

  const items = [
    { name: '今日菜单', type: 'click', key: 'today', reply: { kind: 'text', body: { text: '今天：红烧肉、清炒时蔬' } } },
    { name: '订餐', type: 'view', url: 'https://canteen.example.com/order' },
    { name: '更多', type: 'parent', sub: [...sub(4), { name: '意见反馈', type: 'click', key: 'feedback' }] },
  ];
  const put = await s.send('PUT', M, { items, version: 0 });
  t.equal(put.status, 200);
  t.equal(((await put.json()) as MenuView).version, 1);
  t.equal((await s.send('PUT', M, { items, version: 0 })).status, 409, 'a stale version is refused');

  await gw.addUser('nina');
  const { client, inbox } = await online(t, gw, 'nina');
  const menu = await client.appMenu(app.key);
  t.equal(menu.version, 1);
  t.same(menu.items[0], { name: '今日菜单', type: 'click', key: 'today' }, 'clients get the key, not the configured reply');
  t.same(menu.items[1], { name: '订餐', type: 'view', url: 'https://canteen.example.com/order' }, 'a view item carries its URL');
  t.equal(menu.items[2]?.sub?.length, 5);

  const cb = within(once(server, 'callback'), WAIT_MS, 'the click event at the app');
  await client.clickAppMenu(app.key, 'today');
  const [ev] = (await cb) as [Record<string, unknown>];
  t.match(ev, { fromUser: 'nina', msgType: 'event', event: { appId: app.appId, operation: 'menu.click', key: 'today', name: '今日菜单' } }, 'the click reaches the callback as an event');
  t.equal(typeof ev.packageId, 'string');
  const got = await inbox.until((ms) => ms.some((m) => m.fromApp?.id === app.key), 'the configured reply', 1000);
  t.match(got.find((m) => m.fromApp?.id === app.key) as MessageView, { kind: 'text', body: { text: '今天：红烧肉、清炒时蔬' } }, 'and the configured reply arrives within 1 s');

  const cb2 = within(once(server, 'callback'), WAIT_MS, 'the sub-item click');
  await client.clickAppMenu(app.key, 'feedback');
  t.match(((await cb2) as [Record<string, unknown>])[0], { event: { key: 'feedback' } }, 'a sub-item without a reply: only the event');
  t.equal(await codeOf(client.clickAppMenu(app.key, 'nope')), 'GW_NOT_FOUND', 'an unknown key');
  t.equal(await codeOf(client.appMenu('no-such-app')), 'GW_NOT_FOUND', 'an unknown app');

  // an empty list removes the menu
  t.equal((await s.send('PUT', M, { items: [] })).status, 200);
  t.same((await client.appMenu(app.key)).items, [], 'the menu is gone');
  const log = (await (await s.get('/api/admin/log?action=app.menu.update')).json()) as { total: number };
  t.equal(log.total, 2, 'each change is in the action log');
  t.equal(events.length, 2);
});
