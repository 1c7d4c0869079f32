import t from 'tap';
import type { ClosedEvent, ConnectionState, HuitongClient } from '../../client/src/index.js';
import { isClientError } from '../../client/src/index.js';
import { codeOf, issueToken, makeClient, nextEvent, online, uniqueDeviceId } from '../helpers/clients.js';
import { startGateway, TEST_PASSWORD } from '../helpers/gateway.js';

/** States a client goes through from now on. */
function recordStates(client: HuitongClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.on('state', (s) => states.push(s));
  return states;
}

/** The outcome codes the login log holds for an account, oldest first. */
function loginLog(gw: Awaited<ReturnType<typeof startGateway>>, account: string): (string | null)[] {
  const rows = gw.gw.services.db.prepare('SELECT ok, reason FROM login_log WHERE account = ? ORDER BY id').all(account) as { ok: number; reason: string | null }[];
  return rows.map((r) => (r.ok ? 'ok' : r.reason));
}

t.test('blocked, unauthorised and disabled users are refused at login, each with its own code', async (t) => {
  const gw = await startGateway(t, { settings: { autoAuthorise: false } });
  const dir = gw.gw.services.directory;
  const blocked = await gw.addUser('blocked');
  await dir.setBlocked(blocked.id, true);
  await gw.addUser('newcomer', { authorised: false });
  const gone = await gw.addUser('gone');
  await dir.setStatus(gone.id, 'disabled');
  await gw.addUser('fine');

  for (const [account, code] of [['blocked', 'GW_USER_BLOCKED'], ['newcomer', 'GW_USER_UNAUTHORISED'], ['gone', 'GW_USER_DISABLED']] as const) {
    for (const via of ['wss', 'tcp'] as const) {
      const client = makeClient(t, gw, account, { via });
      t.equal(await codeOf(client.connect()), code, `${account} over ${via}: ${code}`);
      t.equal(client.state, 'stopped', 'and the client does not keep trying');
    }
    t.same(loginLog(gw, account), [code, code], 'each refusal is in the login log with its code');
  }
  t.equal((await dir.getUserByAccount('newcomer'))?.authorised, false, 'a refused login authorises nobody');

  // a session token does not get around the checks either
  const token = await issueToken(gw, blocked.id, uniqueDeviceId('blocked'));
  t.equal(await codeOf(makeClient(t, gw, null, { token }).connect()), 'GW_USER_BLOCKED', 'resuming a blocked user’s token is refused too');

  const ok = await online(t, gw, 'fine');
  t.equal(ok.client.state, 'online', 'an ordinary user logs in');
});

t.test('auto-authorise admits a first login, but never someone an administrator de-authorised', async (t) => {
  const gw = await startGateway(t, { settings: { autoAuthorise: true } });
  const dir = gw.gw.services.directory;
  const u = await gw.addUser('newcomer', { authorised: false });
  await gw.addUser('colleague');
  const colleague = await online(t, gw, 'colleague');

  const first = await online(t, gw, 'newcomer');
  t.equal(first.client.state, 'online', 'the first login succeeds');
  t.equal((await dir.getUser(u.id))?.authorised, true, 'and authorises the user');

  const closed = nextEvent(first.client, 'closed');
  await dir.setAuthorised(u.id, false);
  const c = await closed;
  t.equal(c.code, 'GW_USER_UNAUTHORISED', 'de-authorising ends the live session');
  t.equal(c.willReconnect, false);

  t.equal(await codeOf(makeClient(t, gw, 'newcomer').connect()), 'GW_USER_UNAUTHORISED', 'the next login is refused');
  t.equal(await codeOf(makeClient(t, gw, 'newcomer', { via: 'tcp' }).connect()), 'GW_USER_UNAUTHORISED', 'over TCP too');
  t.equal((await dir.getUser(u.id))?.authorised, false, 'auto-authorise did not undo the administrator');
  t.equal(colleague.client.state, 'online', 'other users are not affected');

  await dir.setAuthorised(u.id, true);
  t.equal((await online(t, gw, 'newcomer')).client.state, 'online', 'authorised again, the user logs in');
});

t.test('a live session of a user who is blocked or disabled closes within a second and stays closed', async (t) => {
  const gw = await startGateway(t);
  const dir = gw.gw.services.directory;
  const [mallory, trent] = [await gw.addUser('mallory'), await gw.addUser('trent')];
  await gw.addUser('witness');
  const witness = await online(t, gw, 'witness');

  const wss = await online(t, gw, 'mallory', { via: 'wss' });
  const wss2 = await online(t, gw, 'mallory', { via: 'tcp', deviceType: 'desktop' });
  const wssStates = recordStates(wss.client);
  const closedWss = [nextEvent(wss.client, 'closed', undefined, 1_000), nextEvent(wss2.client, 'closed', undefined, 1_000)];
  const t0 = Date.now();
  await dir.setBlocked(mallory.id, true);
  const [c1, c2] = (await Promise.all(closedWss)) as [ClosedEvent, ClosedEvent];
  t.ok(Date.now() - t0 < 1_000, `closed within a second (${Date.now() - t0} ms)`);
  t.same([c1.code, c1.willReconnect], ['GW_USER_BLOCKED', false], 'the WSS session closes with GW_USER_BLOCKED and will not reconnect');
  t.same([c2.code, c2.willReconnect], ['GW_USER_BLOCKED', false], 'so does the same user’s other device');
  t.equal(wss.client.state, 'stopped');

  const tcp = await online(t, gw, 'trent', { via: 'tcp' });
  const tcpStates = recordStates(tcp.client);
  const closedTcp = nextEvent(tcp.client, 'closed', undefined, 1_000);
  const t1 = Date.now();
  await dir.setStatus(trent.id, 'disabled');
  const c3 = await closedTcp;
  t.ok(Date.now() - t1 < 1_000, `closed within a second (${Date.now() - t1} ms)`);
  t.same([c3.code, c3.willReconnect], ['GW_USER_DISABLED', false], 'the TCP session closes with GW_USER_DISABLED and will not reconnect');
  t.equal(tcp.client.state, 'stopped');

  // the server holds no session for them, and a message to them finds no connection
  t.equal(gw.gw.sessions.sessionsOf(mallory.id).size, 0);
  t.equal(gw.gw.sessions.sessionsOf(trent.id).size, 0);
  t.equal(await codeOf(witness.client.sendText({ kind: 'user', id: trent.id }, 'still there?')), 'GW_RECIPIENT_UNAVAILABLE', 'a disabled user cannot be messaged');
  const ping = await witness.client.sendText({ kind: 'user', id: mallory.id }, 'blocked users still receive into their inbox');
  t.ok(ping.id > 0);
  t.same(wssStates, ['stopped'], 'the blocked client never tried to reconnect');
  t.same(tcpStates, ['stopped'], 'nor did the disabled one');
  t.equal(await codeOf(makeClient(t, gw, 'mallory').connect()), 'GW_USER_BLOCKED', 'and a new login is refused');
});

t.test('wrong passwords fail, and enough of them lock the account even for the right password', async (t) => {
  const gw = await startGateway(t, { config: { 'auth.maxFailedLogins': 3 } });
  await gw.addUser('alice');
  await gw.addUser('bob');

  for (let i = 1; i <= 3; i++) {
    t.equal(await codeOf(makeClient(t, gw, 'alice', { password: `wrong-${i}` }).connect()), 'GW_AUTH_FAILED', `wrong password #${i}: GW_AUTH_FAILED`);
  }
  t.equal(await codeOf(makeClient(t, gw, 'nobody-here').connect()), 'GW_AUTH_FAILED', 'an unknown account looks the same');

  const locked = makeClient(t, gw, 'ALICE', { password: TEST_PASSWORD, via: 'tcp' });
  let err: unknown;
  await locked.connect().catch((e: unknown) => (err = e));
  t.ok(isClientError(err) && err.code === 'GW_ACCOUNT_LOCKED', 'after 3 failures the right password gets GW_ACCOUNT_LOCKED (account matched case-insensitively)');
  t.ok(isClientError(err) && (err.retryAfterMs ?? 0) > 60_000, 'with the time left to wait');
  t.equal(locked.state, 'stopped', 'and the client does not retry on its own');

  t.equal((await online(t, gw, 'bob')).client.state, 'online', 'other accounts are not locked');
  t.same(loginLog(gw, 'alice'), ['GW_AUTH_FAILED', 'GW_AUTH_FAILED', 'GW_AUTH_FAILED'], 'the failures are logged');
  t.same(loginLog(gw, 'ALICE'), ['GW_ACCOUNT_LOCKED'], 'and the locked attempt too');
});

t.test('logins from one address are rate-limited, whatever the account', async (t) => {
  const gw = await startGateway(t, { config: { 'auth.loginsPerMinutePerAddress': 3 } });
  for (const a of ['u1', 'u2', 'u3', 'u4']) await gw.addUser(a);
  for (const a of ['u1', 'u2', 'u3']) t.equal((await online(t, gw, a)).client.state, 'online', `${a} logs in`);
  const fourth = makeClient(t, gw, 'u4');
  let err: unknown;
  await fourth.connect().catch((e: unknown) => (err = e));
  t.ok(isClientError(err) && err.code === 'GW_RATE_LIMITED', 'the fourth login within a minute from 127.0.0.1 is refused with GW_RATE_LIMITED');
  t.ok(isClientError(err) && (err.retryAfterMs ?? 0) > 0, 'saying how long to wait');
  t.same(loginLog(gw, 'u4'), ['GW_RATE_LIMITED'], 'and it is in the login log');
  const token = await issueToken(gw, (await gw.gw.services.directory.getUserByAccount('u4'))!.id, uniqueDeviceId('u4'));
  t.equal(await makeClient(t, gw, null, { token }).connect().then((a) => a.user.account), 'u4', 'resuming with a token is not a login and is not limited');
});

t.test('a password reset signs the user out on every device', async (t) => {
  const gw = await startGateway(t);
  const u = await gw.addUser('dora');
  const a = await online(t, gw, 'dora');
  const b = await online(t, gw, 'dora', { via: 'tcp' });
  const oldToken = a.client.auth!.token;
  const stoppedA = nextEvent(a.client, 'state', (s) => s === 'stopped');
  const stoppedB = nextEvent(b.client, 'state', (s) => s === 'stopped');
  await gw.gw.services.auth.setPassword(u.id, 'brand-new-pass-1');
  await Promise.all([stoppedA, stoppedB]);
  t.pass('both live sessions ended (and the old password no longer logs them back in)');
  t.equal(await codeOf(makeClient(t, gw, null, { token: oldToken }).connect()), 'GW_TOKEN_INVALID', 'the old token is revoked');
  t.equal((await online(t, gw, 'dora', { password: 'brand-new-pass-1' })).client.state, 'online', 'the new password works');
});
