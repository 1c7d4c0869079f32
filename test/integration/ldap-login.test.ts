/**
 * Login with the directory password, end to end: a real OpenLDAP slapd
 * (sync/sim/slapd.ts), an `ldap` sync source created over the admin API, a
 * sync run, then real clients log in over WSS. The gateway binds as the user
 * (docs/sync-ldap.md "Login"); a local user keeps their local password.
 */
import t from 'tap';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { codeOf, makeClient, uniqueDeviceId, WAIT_MS, within } from '../helpers/clients.js';
import { startGateway, TEST_PASSWORD } from '../helpers/gateway.js';
import { consoleSession } from '../helpers/rtx.js';
import { ALICE, BASE_DN, passwordOf, requireTools, SERVICE_DN, SERVICE_PASSWORD, startSlapd, uidOf, userDn } from '../helpers/slapd.js';

const USERS = 20;
const MAX_FAILED = 3;

if (requireTools(t, 'slapd openssl', ['slapd', 'slapadd', 'openssl'])) await suite().catch((e: unknown) => t.fail(`ldap login: ${(e as Error).stack ?? String(e)}`));

async function suite(): Promise<void> {
  const s = await startSlapd(t, { users: USERS, sizeLimit: 1000 });
  const g = await startGateway(t, { config: { 'auth.maxFailedLogins': MAX_FAILED } });
  const c = await consoleSession(g);
  const db = g.gw.services.db;
  // the bind password is write-only: a PATCH without it keeps the stored one
  const ldapConfig = { url: s.url, bindDn: SERVICE_DN, baseDn: BASE_DN, connectTimeoutMs: 2000, timeoutMs: 10_000 };

  t.test('a source created over the admin API syncs the directory, with login DNs', async (t) => {
    const created = await c.send('POST', '/api/admin/sync/sources', {
      id: 'corp', kind: 'ldap', name: '总部目录',
      config: { ...ldapConfig, bindPassword: SERVICE_PASSWORD },
    });
    t.equal(created.status, 201, await created.clone().text());
    const start = await c.send('POST', '/api/admin/sync/sources/corp/run');
    t.equal(start.status, 202, await start.clone().text());
    const runId = ((await start.json()) as { runId: number }).runId;
    const run = await g.gw.services.sync.waitFor(runId);
    t.equal(run.state, 'applied', run.error ?? '');
    t.equal(run.counts?.users.create, USERS + 1, 'every directory user was created');
    const row = (account: string) => db.prepare('SELECT origin, login_dn AS loginDn, password_hash AS hash FROM users WHERE account = ?').get(account) as { origin: string; loginDn: string | null; hash: string | null };
    t.match(row('alice'), { origin: 'ldap:corp', loginDn: ALICE.dn, hash: null }, 'the sync stored the login DN; no local password');
    t.equal(row(uidOf(5)).loginDn, userDn(5));

    // a DN that changed with nothing else to sync is refreshed by the next full read, without a directory version
    db.prepare("UPDATE users SET login_dn = NULL WHERE account = 'alice'").run();
    db.prepare("UPDATE sync_sources SET cursor = NULL WHERE id = 'corp'").run();
    const version = () => Number(db.prepare("SELECT value FROM meta WHERE key = 'dir_version'").pluck().get());
    const v0 = version();
    const again = await g.gw.services.sync.waitFor(g.gw.services.sync.startRun('corp', { trigger: 'manual', dryRun: false, requestedBy: 'test' }));
    t.equal(again.readKind, 'snapshot');
    t.equal(again.counts?.unchanged, USERS + 1, 'nothing clients see changed');
    t.equal(version(), v0, 'no directory version for a login DN');
    t.equal(row('alice').loginDn, ALICE.dn, 'the login DN is back');
  });

  const login = (account: string, password: string) => makeClient(t, g, account, { password, reconnect: false, device: { id: uniqueDeviceId('ldap'), type: 'web' } }).connect();

  t.test('the directory password logs in over WSS', async (t) => {
    const binds = await s.binds();
    const ok = await within(login('alice', ALICE.password), WAIT_MS, 'alice to log in');
    t.equal(ok.user.account, 'alice');
    t.ok((await s.binds()) > binds, 'the gateway bound to the directory');
    t.match(await within(login(uidOf(7), passwordOf(7)), WAIT_MS, 'u00007 to log in'), { user: { account: uidOf(7) } });
  });

  t.test('a wrong password is refused and counts towards the lockout', async (t) => {
    const who = uidOf(3);
    for (let i = 0; i < MAX_FAILED; i++) t.equal(await codeOf(login(who, 'not-the-password')), 'GW_AUTH_FAILED', `wrong password ${i + 1}`);
    t.equal(await codeOf(login(who, passwordOf(3))), 'GW_ACCOUNT_LOCKED', 'then even the right password waits for the lockout');
  });

  t.test('an empty password is refused without a bind', async (t) => {
    const binds = await s.binds();
    t.match(await codeOf(login('alice', '')), /^GW_(BAD_REQUEST|AUTH_FAILED)$/);
    t.equal(await s.binds(), binds, 'nothing reached the directory');
  });

  t.test('filter injection never matches anyone', async (t) => {
    const binds = await s.binds();
    for (const account of ['*', 'alic*', '*)(uid=*', 'alice)(|(uid=*', 'al\\2a']) {
      t.equal(await codeOf(login(account, ALICE.password)), 'GW_AUTH_FAILED', `account ${JSON.stringify(account)}`);
    }
    t.equal(await s.binds(), binds, 'an account the directory sync did not create never reaches the directory');
    t.equal(await codeOf(login('alice', `${ALICE.password})(uid=*`)), 'GW_AUTH_FAILED', 'nor does filter syntax in the password help');
    t.equal(await codeOf(login('alice', '*')), 'GW_AUTH_FAILED', 'a wildcard password is just a wrong password');
  });

  t.test('a local user still logs in with the local password', async (t) => {
    await g.gw.services.directory.createUser({ account: 'local-bob', name: 'Bob', authorised: true, passwordHash: await hashPassword(TEST_PASSWORD) });
    const ok = await within(login('local-bob', TEST_PASSWORD), WAIT_MS, 'local-bob to log in');
    t.equal(ok.user.account, 'local-bob');
    t.equal(await codeOf(login('local-bob', 'wrong-password')), 'GW_AUTH_FAILED');
  });

  t.test('a changed source config is used at the next login; an unreachable directory is an outage, not a wrong password', async (t) => {
    const patched = await c.send('PATCH', '/api/admin/sync/sources/corp', { config: { ...ldapConfig, url: 'ldap://127.0.0.1:1', connectTimeoutMs: 500 } });
    t.equal(patched.status, 200, await patched.clone().text());
    for (let i = 0; i < MAX_FAILED + 1; i++) t.equal(await codeOf(login(uidOf(9), passwordOf(9))), 'GW_DIRECTORY_UNAVAILABLE');
    const back = await c.send('PATCH', '/api/admin/sync/sources/corp', { config: ldapConfig });
    t.equal(back.status, 200);
    t.match(await within(login(uidOf(9), passwordOf(9)), WAIT_MS, 'u00009 to log in'), { user: { account: uidOf(9) } }, 'no lockout was counted during the outage');
  });

  t.test('turning a source off stops its runs, not its users’ directory logins', async (t) => {
    const off = await c.send('PATCH', '/api/admin/sync/sources/corp', { schedule: '*/5 * * * *', enabled: false });
    t.equal(off.status, 200, await off.clone().text());
    t.match(await off.json(), { enabled: false, schedule: '*/5 * * * *', nextRunAt: null }, 'no scheduled run is due');
    const run = await c.send('POST', '/api/admin/sync/sources/corp/run');
    t.equal(run.status, 409, 'a real run of a disabled source is refused');
    t.match(await run.json(), { error: { code: 'GW_CONFLICT', message: /disabled/ } });
    const binds = await s.binds();
    t.match(await within(login(uidOf(12), passwordOf(12)), WAIT_MS, 'u00012 to log in'), { user: { account: uidOf(12) } }, 'the directory password still logs in');
    t.ok((await s.binds()) > binds, 'checked against the directory');
    t.equal(await codeOf(login(uidOf(13), 'not-the-password')), 'GW_AUTH_FAILED', 'and a wrong one is still refused');
    const on = await c.send('PATCH', '/api/admin/sync/sources/corp', { enabled: true, schedule: null });
    t.equal(on.status, 200);
  });

  t.test('users of a deleted source cannot log in', async (t) => {
    const del = await c.send('DELETE', '/api/admin/sync/sources/corp');
    t.equal(del.status, 204, await del.clone().text());
    t.equal(await codeOf(login(uidOf(11), passwordOf(11))), 'GW_AUTH_FAILED');
  });

}
