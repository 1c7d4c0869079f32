import t, { type Test } from 'tap';
import { directoryPasswordsByOrigin, type OriginPasswordAuthority } from '../../gateway/src/auth/directory-password.js';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { AuthService, UNLIMITED_SEATS } from '../../gateway/src/auth/service.js';
import { SqliteDeviceRepo } from '../../gateway/src/devices/repo.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import { createLogger } from '../../gateway/src/log.js';
import { buildServices } from '../../gateway/src/services.js';
import { tempDir, testConfig } from '../helpers/gateway.js';

const device = { id: 'dev-1', type: 'desktop' as const };

/** A directory that knows one password per account and records what it was asked. */
function fakeDirectory(passwords: Record<string, string>, opts: { down?: boolean } = {}) {
  const asked: { account: string; loginDn?: string | null; password: string }[] = [];
  const authority: OriginPasswordAuthority = {
    async verify(user, password) {
      asked.push({ ...user, password });
      if (opts.down) throw new Error('ECONNREFUSED');
      return passwords[user.account] === password;
    },
  };
  return { authority, asked };
}

async function setup(t: Test, authority: OriginPasswordAuthority | null) {
  const config = testConfig(tempDir(t), { 'auth.maxFailedLogins': 3 });
  const s = buildServices(config, createLogger('silent'));
  t.teardown(() => s.close());
  const auth = new AuthService(s.directory, new SqliteDeviceRepo(s.db), s.settings, s.bus, config.auth, UNLIMITED_SEATS,
    directoryPasswordsByOrigin((origin) => (origin === 'ldap:7' ? authority : null), (u) => (u.account === 'alice' ? 'uid=alice,ou=corp,dc=x' : null)));
  // a local password exists too, to prove it is never used for a directory user
  const localHash = await hashPassword('local-password-1');
  const alice = await s.directory.createUser({ account: 'alice', name: 'Alice', origin: 'ldap:7', externalId: 'uuid-a', authorised: true, passwordHash: localHash });
  await s.directory.createUser({ account: 'orphan', name: 'Orphan', origin: 'ldap:99', externalId: 'uuid-o', authorised: true, passwordHash: localHash });
  await s.directory.createUser({ account: 'carol', name: 'Carol', authorised: true, passwordHash: localHash });
  return { auth, alice };
}

const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return e instanceof GatewayError ? e.code : String(e);
  }
};

t.test('an ldap: user logs in with the directory password, never a local one', async (t) => {
  const dir = fakeDirectory({ alice: 'directory-pass-1' });
  const { auth } = await setup(t, dir.authority);
  const ok = await auth.login('alice', 'directory-pass-1', device, '10.0.0.1');
  t.equal(ok.user.account, 'alice');
  t.same(dir.asked[0], { account: 'alice', loginDn: 'uid=alice,ou=corp,dc=x', password: 'directory-pass-1' }, 'the stored login DN is passed on');
  t.equal(await code(auth.login('alice', 'local-password-1', device, '10.0.0.1')), 'GW_AUTH_FAILED', 'the local hash is not a fallback');
  t.equal(await code(auth.login('alice', 'wrong', device, '10.0.0.1')), 'GW_AUTH_FAILED');
  t.equal(await code(auth.checkPassword('alice', '', '10.0.0.1')), 'GW_AUTH_FAILED', 'an empty password (RTX SDK path) is refused');
  t.equal(dir.asked.filter((a) => a.password === '').length, 0, 'an empty password never reaches the directory');
  t.equal(await code(auth.login('alice', 'directory-pass-1', device, '10.0.0.1')), 'GW_ACCOUNT_LOCKED', 'three failures lock the account as for local users');
  t.equal((await auth.checkPassword('carol', 'local-password-1', '10.0.0.2')).account, 'carol', 'local users are unchanged');
});

t.test('a user of a deleted source, or with no directory port, cannot log in', async (t) => {
  const { auth } = await setup(t, fakeDirectory({}).authority);
  t.equal(await code(auth.login('orphan', 'local-password-1', device, '10.0.0.1')), 'GW_AUTH_FAILED');
  const config = testConfig(tempDir(t));
  const s = buildServices(config, createLogger('silent'));
  t.teardown(() => s.close());
  await s.directory.createUser({ account: 'dave', name: 'Dave', origin: 'ldap:1', externalId: 'x', authorised: true, passwordHash: await hashPassword('local-password-1') });
  t.equal(await code(s.auth.login('dave', 'local-password-1', device, null)), 'GW_AUTH_FAILED', 'no port configured: refused, no local fallback');
});

t.test('a directory outage is reported as such and does not lock the account', async (t) => {
  const dir = fakeDirectory({ alice: 'directory-pass-1' }, { down: true });
  const { auth } = await setup(t, dir.authority);
  for (let i = 0; i < 4; i++) t.equal(await code(auth.login('alice', 'directory-pass-1', device, '10.0.0.1')), 'GW_DIRECTORY_UNAVAILABLE');
  t.equal(dir.asked.length, 4, 'still asking: no lockout was counted');
});
