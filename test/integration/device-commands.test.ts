import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FileStore, MemoryStore, isClientError, type ClientStore, type HuitongClient } from '../../client/src/index.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { codeOf, httpsRequest, Inbox, makeClient, nextEvent, online, within, WAIT_MS, type ConnectOptions, type Teardown } from '../helpers/clients.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

/** The server's numeric id of the device a client is signed in on. */
async function serverDeviceId(gw: TestGateway, userId: UserId, deviceKey: string): Promise<number> {
  const d = (await gw.gw.services.auth.listDevices(userId)).find((x) => x.key === deviceKey);
  if (!d) throw new Error(`user ${userId} has no device ${deviceKey}`);
  return d.id;
}

/** Logs in with a store that outlives the client, so the test can look into it afterwards. */
async function withStore(t: Teardown, gw: TestGateway, account: string, store: ClientStore, opts: ConnectOptions = {}) {
  const client = makeClient(t, gw, account, { store, ...opts });
  const inbox = new Inbox(client);
  await within(client.connect(), WAIT_MS, `${account} to log in`);
  return { client, inbox };
}

/** Waits for the command and the close it leads to, both registered before anything can happen. */
function expectCommand(client: HuitongClient) {
  return { command: nextEvent(client, 'command'), closed: nextEvent(client, 'closed') };
}

t.test('force-offline reaches an online device: it acknowledges, is signed out, and its token stops working', async (t) => {
  const gw = await startGateway(t);
  const [a] = [await gw.addUser('alice'), await gw.addUser('bob')];
  const bob = await online(t, gw, 'bob');
  const store = new FileStore(path.join(tempDir(t), 'state.json'));
  const laptop = await withStore(t, gw, 'alice', store, { via: 'tcp', deviceType: 'desktop' });
  const phone = await online(t, gw, 'alice', { deviceType: 'ios' });
  const hello = await bob.client.sendText({ kind: 'user', id: a.id }, 'hello');
  await laptop.inbox.byId(hello.id);
  const token = laptop.client.auth?.token as string;
  const deviceId = await serverDeviceId(gw, a.id, laptop.client.auth?.deviceId as string);

  const seen = expectCommand(laptop.client);
  const issued = await gw.gw.services.auth.issueCommand(a.id, deviceId, 'force_offline', 'test');
  const cmd = await seen.command;
  t.same(cmd, { id: issued.id, kind: 'force_offline', issuedAt: issued.issuedAt }, 'the device gets the command at once');
  const closed = await seen.closed;
  t.equal(closed.code, 'GW_FORCED_OFFLINE', 'then the connection closes with GW_FORCED_OFFLINE');
  t.equal(closed.willReconnect, false, 'and the client does not reconnect');
  t.equal(laptop.client.state, 'stopped');

  const [rec] = await gw.gw.services.auth.listCommands(deviceId);
  t.ok(rec?.deliveredAt, 'the command is recorded as delivered');
  t.ok(rec?.ackedAt, 'and as acknowledged');
  t.equal(await store.getSession(), null, 'the device forgot its session token');
  t.equal(await store.getLastSeq(), 1, 'but kept its messages: signing out is not a wipe');

  t.equal(await codeOf(makeClient(t, gw, null, { token }).connect()), 'GW_TOKEN_INVALID', 'the old token no longer resumes');
  const file = await httpsRequest(gw, 'POST', '/files', { token, body: Buffer.from('x') });
  t.same([file.status, file.json?.error?.code], [401, 'GW_TOKEN_INVALID'], 'nor opens the file endpoints');
  t.equal(phone.client.state, 'online', 'the user’s other device stays signed in');
  const still = await bob.client.sendText({ kind: 'user', id: a.id }, 'still there on the phone?');
  await phone.inbox.byId(still.id);

  const again = await withStore(t, gw, 'alice', store, { via: 'tcp', deviceType: 'desktop', device: { id: laptop.client.auth?.deviceId as string, type: 'desktop' } });
  t.equal(again.client.state, 'online', 'a new password login on that device works');
  await again.inbox.byId(still.id, 'what arrived meanwhile, and nothing twice');
  t.equal(again.inbox.count(hello.id), 0, 'messages it already had are not delivered again');
});

t.test('wipe reaches an online device: its local data is erased before it acknowledges', async (t) => {
  const gw = await startGateway(t);
  const [a] = [await gw.addUser('alice'), await gw.addUser('bob')];
  const bob = await online(t, gw, 'bob');
  const file = path.join(tempDir(t), 'state.json');
  const fileStore = new FileStore(file);
  const memStore = new MemoryStore();
  const wssDevice = await withStore(t, gw, 'alice', fileStore, { via: 'wss' });
  const tcpDevice = await withStore(t, gw, 'alice', memStore, { via: 'tcp', deviceType: 'desktop' });
  const msg = await bob.client.sendText({ kind: 'user', id: a.id }, 'confidential');
  await Promise.all([wssDevice.inbox.byId(msg.id), tcpDevice.inbox.byId(msg.id)]);
  t.ok(existsSync(file), 'the device has local state');
  t.equal(await fileStore.getLastSeq(), 1);

  for (const [dev, store, what] of [[wssDevice, fileStore, 'WSS device with a file store'], [tcpDevice, memStore, 'TCP device with a memory store']] as const) {
    const deviceId = await serverDeviceId(gw, a.id, dev.client.auth?.deviceId as string);
    const token = dev.client.auth?.token as string;
    const seen = expectCommand(dev.client);
    const issued = await gw.gw.services.auth.issueCommand(a.id, deviceId, 'wipe', 'test');
    t.equal((await seen.command).kind, 'wipe', `${what}: the command arrives`);
    const closed = await seen.closed;
    t.same([closed.code, closed.willReconnect], ['GW_DEVICE_WIPED', false], `${what}: closed with GW_DEVICE_WIPED, no reconnect`);
    t.equal(await store.getSession(), null, `${what}: no session token left`);
    t.equal(await store.getLastSeq(), 0, `${what}: no message position left`);
    t.same(await store.getOutbox(), [], `${what}: no unsent messages left`);
    t.equal(await store.getDeviceId(), null, `${what}: not even its device id`);
    const rec = (await gw.gw.services.auth.listCommands(deviceId)).find((c) => c.id === issued.id);
    t.ok(rec?.deliveredAt && rec.ackedAt, `${what}: the server recorded delivery and acknowledgement`);
    t.equal(await codeOf(makeClient(t, gw, null, { token }).connect()), 'GW_TOKEN_INVALID', `${what}: the old token no longer works`);
  }
  t.notOk(existsSync(file), 'the state file is gone from disk');
});

t.test('a command issued while the device is offline is delivered at its next contact', async (t) => {
  const gw = await startGateway(t);
  const [a, b] = [await gw.addUser('alice'), await gw.addUser('bob')];
  const bob = await online(t, gw, 'bob');

  // force-offline, delivered when the device resumes with its token
  const first = await online(t, gw, 'alice', { deviceType: 'android' });
  const key = first.client.auth?.deviceId as string;
  const token = first.client.auth?.token as string;
  const deviceId = await serverDeviceId(gw, a.id, key);
  await bob.client.subscribePresence([a.id]);
  const gone = nextEvent(bob.client, 'presence', (p) => p.presence.some((e) => e.userId === a.id && e.status === 'offline'));
  await first.client.close();
  await gone; // the server, too, knows the device is offline
  const issued = await gw.gw.services.auth.issueCommand(a.id, deviceId, 'force_offline', 'test');
  let [rec] = await gw.gw.services.auth.listCommands(deviceId);
  t.same([rec?.deliveredAt, rec?.ackedAt], [null, null], 'while the device is away the command waits');
  const unsent = await bob.client.sendText({ kind: 'user', id: a.id }, 'sent while alice was away');

  const back = makeClient(t, gw, null, { token, device: { id: key, type: 'android' } });
  const seen = expectCommand(back);
  const auth = await within(back.connect(), WAIT_MS, 'the device to resume');
  t.equal(auth.deviceId, key, 'the device resumes');
  t.same(await seen.command, { id: issued.id, kind: 'force_offline', issuedAt: issued.issuedAt }, 'and gets the waiting command right away');
  t.equal((await seen.closed).code, 'GW_FORCED_OFFLINE', 'then it is signed out');
  [rec] = await gw.gw.services.auth.listCommands(deviceId);
  t.ok(rec?.deliveredAt, 'delivered_at is set');
  t.ok(rec?.ackedAt, 'acked_at is set');
  t.equal(await codeOf(makeClient(t, gw, null, { token }).connect()), 'GW_TOKEN_INVALID', 'the old token no longer works');

  // wipe, delivered when the device next logs in with a password
  const store = new MemoryStore();
  const tablet = await withStore(t, gw, 'alice', store, { deviceType: 'ios' });
  await tablet.inbox.byId(unsent.id);
  const tabletKey = tablet.client.auth?.deviceId as string;
  const tabletId = await serverDeviceId(gw, a.id, tabletKey);
  const tabletGone = nextEvent(bob.client, 'presence', (p) => p.presence.some((e) => e.userId === a.id && e.status === 'offline'));
  await tablet.client.close();
  await tabletGone;
  const wipe = await gw.gw.services.auth.issueCommand(a.id, tabletId, 'wipe', 'test');
  const again = makeClient(t, gw, 'alice', { store, device: { id: tabletKey, type: 'ios' } });
  const seenWipe = expectCommand(again);
  await within(again.connect(), WAIT_MS, 'the tablet to log in again');
  t.equal((await seenWipe.command).id, wipe.id, 'the wipe waiting for the tablet arrives at its next login');
  t.equal((await seenWipe.closed).code, 'GW_DEVICE_WIPED');
  t.equal(await store.getLastSeq(), 0, 'its local data is erased');
  const wrec = (await gw.gw.services.auth.listCommands(tabletId)).find((c) => c.id === wipe.id);
  t.ok(wrec?.deliveredAt && wrec.ackedAt, 'and the server recorded delivery and acknowledgement');

  await t.rejects(gw.gw.services.auth.issueCommand(b.id, tabletId, 'wipe', 'test'), { code: 'GW_NOT_FOUND' }, 'a command for another user’s device is refused');
});

t.test('a command issued just after the device disconnected still waits for its next contact', async (t) => {
  const gw = await startGateway(t);
  const a = await gw.addUser('alice');
  for (const via of ['wss', 'tcp'] as const) {
    const dev = await online(t, gw, 'alice', { via });
    const key = dev.client.auth?.deviceId as string;
    const token = dev.client.auth?.token as string;
    const deviceId = await serverDeviceId(gw, a.id, key);
    // the device has closed its connection; the server may not have noticed yet
    await dev.client.close();
    const issued = await gw.gw.services.auth.issueCommand(a.id, deviceId, 'force_offline', 'test');
    const [rec] = await gw.gw.services.auth.listCommands(deviceId);
    t.equal(rec?.deliveredAt, null, `${via}: not recorded as delivered, since nothing reached the device`);

    const back = makeClient(t, gw, null, { token, via, device: { id: key, type: 'web' } });
    const commands: number[] = [];
    const closes: (string | null)[] = [];
    back.on('command', (c) => commands.push(c.id));
    back.on('closed', (c) => closes.push(c.code));
    const outcome = await back.connect().then(
      () => 'resumed',
      (e: unknown) => (isClientError(e) ? e.code : String(e)),
    );
    t.equal(outcome, 'resumed', `${via}: the device resumes with its token at its next contact`);
    if (outcome !== 'resumed') continue;
    if (commands.length === 0) await nextEvent(back, 'command');
    t.same(commands, [issued.id], `${via}: and gets the command then`);
    if (closes.length === 0) await nextEvent(back, 'closed');
    t.same(closes, ['GW_FORCED_OFFLINE'], `${via}: and is signed out`);
  }
});
