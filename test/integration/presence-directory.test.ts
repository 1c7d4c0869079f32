import t from 'tap';
import { nextEvent, online, within, WAIT_MS } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';

t.test('presence goes to the people who watch, in batches, and not to others', async (t) => {
  const gw = await startGateway(t);
  const alice = await gw.addUser('alice');
  await gw.addUser('bob');
  await gw.addUser('carol');
  const bob = await online(t, gw, 'bob');
  const carol = await online(t, gw, 'carol');
  const initial = await bob.client.subscribePresence([alice.id]);
  t.same(initial, [{ userId: alice.id, status: 'offline', clients: [] }], 'alice starts offline');
  let carolHeard = 0;
  carol.client.on('presence', (p) => (carolHeard += p.presence.filter((e) => e.userId === alice.id).length));

  const up = nextEvent(bob.client, 'presence', (p) => p.presence.some((e) => e.userId === alice.id && e.status === 'online'));
  const a = await online(t, gw, 'alice', { via: 'tcp' });
  const seen = await within(up, WAIT_MS, 'bob to see alice come online');
  t.same(seen.presence.find((e) => e.userId === alice.id)?.clients, ['desktop'], 'with the client type she uses');

  const down = nextEvent(bob.client, 'presence', (p) => p.presence.some((e) => e.userId === alice.id && e.status === 'offline'));
  await a.client.close();
  await within(down, WAIT_MS, 'bob to see alice go offline');
  t.equal(carolHeard, 0, 'carol, who watches nobody, heard nothing');
  const again = await bob.client.subscribePresence([alice.id]);
  t.equal(again[0]?.status, 'offline');
});

t.test('directory: a client pages the snapshot and follows deltas, including removals', async (t) => {
  const gw = await startGateway(t);
  const dir = gw.gw.services.directory;
  const team = await dir.deptByPath('研发部/平台组', true);
  for (let i = 0; i < 120; i++) await dir.createUser({ account: `staff${i}`, name: `员工${i}`, deptIds: [team.id] });
  await gw.addUser('viewer');
  const v = await online(t, gw, 'viewer');
  const snap = await v.client.dirSnapshot({ pageSize: 25 });
  t.equal(snap.users.length, 121, 'every user across pages');
  t.equal(new Set(snap.users.map((u) => u.id)).size, 121, 'no user twice');
  t.same(snap.depts.map((d) => d.name).sort(), ['平台组', '研发部']);
  t.match(snap.users.find((u) => u.account === 'staff7')?.pinyin, /^yu[a-z]*gong7$/, 'pinyin for search and sorting');

  const changed = nextEvent(v.client, 'dirChanged');
  const gone = await dir.getUserByAccount('staff3');
  await dir.deleteUser(gone!.id);
  await dir.editUser((await dir.getUserByAccount('staff4'))!.id, { title: '架构师' });
  const pushed = await within(changed, WAIT_MS, 'the dir.changed push');
  const delta = await v.client.dirDelta(snap.version);
  t.ok(pushed.version > snap.version, 'the push names a newer version');
  t.same(delta.removed.users, [gone!.id], 'the removal is in the delta');
  t.same(delta.users.map((u) => u.account), ['staff4'], 'only what changed');
  t.equal(delta.users[0]?.title, '架构师');
});
