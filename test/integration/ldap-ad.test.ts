/**
 * The LDAP source against a real Samba Active Directory domain controller
 * (test/helpers/samba-ad.ts): userAccountControl, uSNChanged deltas and
 * sAMAccountName login. Needs Debian samba (.ci/run installs it) and root.
 */
import t from 'tap';
import { Attribute, Change } from 'ldapts';
import type { SourceUser } from '../../sync/src/source.js';
import { LdapSource } from '../../sync/src/sources/ldap.js';
import { AD_ADMIN, AD_ADMIN_PASSWORD, AD_BASE_DN, startSambaAd } from '../helpers/samba-ad.js';
import { requireTools } from '../helpers/slapd.js';

const ALICE_PW = 'Alice-Pass-123';
const BOB_PW = 'Bob-Pass-456';
const CAROL_PW = 'Carol-Pass-789';

if (requireTools(t, 'samba', ['samba', 'samba-tool'])) {
  if (process.getuid?.() !== 0) t.plan(0, 'Samba AD needs root to run a domain controller (run the suite as root, as CI does)');
  else await suite().catch((e: unknown) => t.fail(`Samba AD harness: ${(e as Error).stack ?? String(e)}`));
}

async function suite(): Promise<void> {
  const ad = await startSambaAd(t);
  await ad.tool('ou', 'add', 'OU=Sales');
  await ad.tool('ou', 'add', 'OU=East,OU=Sales');
  await ad.tool('user', 'add', 'alice', ALICE_PW, '--given-name=Alice', '--surname=Wang', '--userou=OU=East,OU=Sales', '--department=Sales', '--job-title=Engineer', '--mail-address=alice@huitong.test', '--telephone-number=010-1234');
  await ad.tool('user', 'add', 'bob', BOB_PW, '--given-name=Bob', '--surname=Li', '--userou=OU=Sales');
  await ad.tool('user', 'add', 'carol', CAROL_PW, '--given-name=Carol', '--surname=Zhao');
  await ad.tool('user', 'disable', 'bob');
  const cfg = { url: ad.url, flavour: 'ad', bindDn: AD_ADMIN, bindPassword: AD_ADMIN_PASSWORD, baseDn: AD_BASE_DN, pageSize: 2, connectTimeoutMs: 3000 };
  const src = new LdapSource('ad', cfg);
  const byAccount = (users: SourceUser[]) => new Map(users.map((u) => [u.account, u]));

  t.test('test connection against the domain controller', async (t) => {
    const c = await src.testConnection();
    t.ok(c.ok, c.steps.map((s) => `${s.step}:${s.message}`).join('; '));
  });

  let cursor: string | null = null;
  t.test('full read: OUs, sAMAccountName, objectGUID, userAccountControl disabled bit', async (t) => {
    const r = await src.read({});
    t.equal(r.kind, 'snapshot');
    t.ok((src.lastReadStats?.pages ?? 0) > 3, 'paged (page size 2) through AD paged results');
    const users = byAccount(r.users);
    const alice = users.get('alice');
    t.ok(alice, 'alice by sAMAccountName');
    t.match(alice?.externalId, /^[0-9a-f]{32}$/, 'objectGUID as hex');
    t.match(alice, { name: 'Alice Wang', email: 'alice@huitong.test', phone: '010-1234', title: 'Engineer', disabled: false });
    const depts = new Map(r.depts.map((d) => [d.externalId, d]));
    const east = depts.get(alice?.deptExternalIds[0] ?? '');
    t.equal(east?.name, 'East');
    t.equal(depts.get(east?.parentExternalId ?? '')?.name, 'Sales', 'nested OU');
    t.equal(users.get('bob')?.disabled, true, 'userAccountControl bit 2 (samba-tool user disable)');
    t.equal(users.get('carol')?.disabled, false);
    t.same(users.get('carol')?.deptExternalIds, [], 'CN=Users is a container, not an OU: no department');
    t.equal(users.get('krbtgt')?.disabled, true, 'krbtgt is disabled in every domain');
    t.notOk(users.has('VM$') || [...users.keys()].some((a) => a.endsWith('$')), 'computer accounts are not people');
    t.match(r.cursor, /^uSNChanged:\d+$/);
    cursor = r.cursor;
  });

  t.test('uSNChanged delta: a change and a disable since the cursor', async (t) => {
    const admin = await ad.admin();
    const aliceDn = `CN=Alice Wang,OU=East,OU=Sales,${AD_BASE_DN}`;
    await admin.modify(aliceDn, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Manager'] }) }));
    await ad.tool('user', 'disable', 'carol');
    const d = await src.read({ sinceCursor: cursor });
    t.equal(d.kind, 'delta');
    const users = byAccount(d.users);
    t.equal(users.get('alice')?.title, 'Manager');
    t.equal(users.get('carol')?.disabled, true);
    t.notOk(users.has('bob'), 'unchanged users are not in the delta');
    const again = await src.read({ sinceCursor: d.cursor });
    t.notOk(byAccount(again.users).has('alice'), 'nothing is read twice');
  });

  t.test('sAMAccountName login binds as the user', async (t) => {
    const auth = src.passwordAuthority();
    t.equal(await auth.verify({ account: 'alice' }, ALICE_PW), true);
    t.equal(await auth.verify({ account: 'ALICE' }, ALICE_PW), true, 'sAMAccountName is case-insensitive');
    t.equal(await auth.verify({ account: 'alice', loginDn: `CN=Alice Wang,OU=East,OU=Sales,${AD_BASE_DN}` }, ALICE_PW), true, 'with the stored DN');
    t.equal(await auth.verify({ account: 'alice' }, 'Wrong-Pass-1'), false, 'a wrong password');
    t.equal(await auth.verify({ account: 'alice' }, ''), false, 'an empty password');
    t.equal(await auth.verify({ account: 'bob' }, BOB_PW), false, 'a disabled account cannot bind');
    for (const inj of ['ali*', '*', 'alice)(sAMAccountName=*', '*)(|(sAMAccountName=*']) t.equal(await auth.verify({ account: inj }, ALICE_PW), false, `${JSON.stringify(inj)} refused`);
  });
}
