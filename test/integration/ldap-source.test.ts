/**
 * The LDAP directory source against a real OpenLDAP slapd (test/helpers/slapd.ts):
 * 10,000 users in nested OUs, a server size limit of 1,000, ldaps and StartTLS
 * with a per-run CA. Needs Debian slapd + ldap-utils (.ci/run installs them).
 */
import t from 'tap';
import { Attribute, Change, Client, SizeLimitExceededError } from 'ldapts';
import { directoryPasswordsByOrigin } from '../../gateway/src/auth/directory-password.js';
import { AuthService, UNLIMITED_SEATS } from '../../gateway/src/auth/service.js';
import { SqliteDeviceRepo } from '../../gateway/src/devices/repo.js';
import { createLogger } from '../../gateway/src/log.js';
import { buildServices } from '../../gateway/src/services.js';
import type { Delta, Snapshot, SourceDept, SourceUser } from '../../sync/src/source.js';
import { LdapSource, type LdapConfigInput } from '../../sync/src/sources/ldap.js';
import { tempDir, testConfig } from '../helpers/gateway.js';
import {
  ALICE, BASE_DN, freePort, inactiveByType, lockedByAttr, passwordOf, requireTools, SERVICE_DN, SERVICE_PASSWORD, startSlapd, uidOf, userDn, userOuPath, type Slapd,
} from '../helpers/slapd.js';

const USERS = 10_000;

if (requireTools(t, 'slapd openssl', ['slapd', 'slapadd', 'openssl'])) await suite().catch((e: unknown) => t.fail(`slapd harness: ${(e as Error).stack ?? String(e)}`));

async function suite(): Promise<void> {
  const s = await startSlapd(t, { users: USERS, sizeLimit: 1000 });
  t.comment(`slapd: seed ${USERS} users (LDIF + slapadd) ${s.timings.seedMs} ms, start ${s.timings.startMs} ms`);
  const base = (over: Partial<LdapConfigInput> = {}): LdapConfigInput =>
    ({ url: s.url, bindDn: SERVICE_DN, bindPassword: SERVICE_PASSWORD, baseDn: BASE_DN, pageSize: 1000, connectTimeoutMs: 2000, timeoutMs: 20_000, ...over }) as LdapConfigInput;
  const source = (over: Partial<LdapConfigInput> = {}) => new LdapSource('1', base(over));

  /** Department path (top first) of a user, from the snapshot's depts. */
  const pathOf = (depts: Map<string, SourceDept>, id: string | undefined): string[] => {
    const out: string[] = [];
    for (let d = id ? depts.get(id) : undefined; d; d = d.parentExternalId ? depts.get(d.parentExternalId) : undefined) out.unshift(d.name);
    return out;
  };
  const byAccount = (r: Snapshot | Delta) => new Map(r.users.map((u) => [u.account, u]));

  let full: Snapshot;
  t.test('full read: 10,000 users in nested OUs with departments, attributes and disabled flags', async (t) => {
    const src = source();
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const r = await src.read({});
    const ms = Date.now() - t0;
    t.equal(r.kind, 'snapshot');
    full = r as Snapshot;
    t.comment(`full read: ${r.users.length} users, ${r.depts.length} depts, ${src.lastReadStats?.pages} pages in ${ms} ms; RSS +${Math.round((process.memoryUsage().rss - rss0) / 1e6)} MB`);
    t.equal(r.users.length, USERS + 1, 'every user (10,000 generated + alice)');
    t.equal(r.depts.length, 10 + 40 + 120, 'every OU below the base, not the base itself');
    t.equal(new Set(r.users.map((u) => u.externalId)).size, r.users.length, 'external ids are unique');
    t.match(r.cursor, /^entryCSN:\d{14}\.\d{6}Z#/);
    const depts = new Map(r.depts.map((d) => [d.externalId, d]));
    t.equal(r.depts.filter((d) => d.parentExternalId === null).length, 10, 'ten top-level departments');
    t.ok(r.depts.every((d) => d.parentExternalId === null || depts.has(d.parentExternalId)), 'every parent is a department of the snapshot');
    const users = byAccount(r);
    let wrong = 0;
    for (let n = 1; n <= USERS; n++) {
      const u = users.get(uidOf(n));
      if (!u || pathOf(depts, u.deptExternalIds[0]).join('/') !== userOuPath(n).join('/') || u.disabled !== lockedByAttr(n)) wrong++;
    }
    t.equal(wrong, 0, 'each user is in its own OU (main department) and disabled exactly when nsAccountLock is TRUE');
    t.equal(r.users.filter((u) => u.disabled).length, USERS / 100);
    const u42 = users.get('u00042') as SourceUser;
    t.same(
      { account: u42.account, name: u42.name, email: u42.email, mobile: u42.mobile, phone: u42.phone, title: u42.title, loginDn: u42.loginDn },
      { account: 'u00042', name: '测试用户42', email: 'u00042@huitong.test', mobile: '13800000042', phone: '010-000042', title: 'Engineer 0', loginDn: userDn(42) },
      'attributes mapped (displayName over cn; mail, mobile, telephoneNumber, title)',
    );
    t.same(pathOf(depts, users.get('u00001')?.deptExternalIds[0]), ['Sales, East', 'Sales, East-D0', 'Sales, East-D0-T0'], 'an OU name with an escaped comma');
    t.same(pathOf(depts, users.get('alice')?.deptExternalIds[0]), ['研发中心'], 'a user directly in a top-level OU');
  });

  t.test('departments from an attribute, and a configurable disabled filter', async (t) => {
    const r = await source({ deptMode: 'attribute', disabledFilter: '(employeeType=inactive)' }).read({});
    const users = byAccount(r);
    const depts = new Map(r.depts.map((d) => [d.externalId, d]));
    t.equal(r.depts.length, 10 + 40, 'departmentNumber "Top/Top-Dn" paths give two levels');
    t.same(pathOf(depts, users.get('u00007')?.deptExternalIds[0]), userOuPath(7).slice(0, 2));
    t.same(users.get('alice')?.deptExternalIds, [], 'no attribute, no department');
    let expected = 0;
    for (let n = 1; n <= USERS; n++) if (lockedByAttr(n) || inactiveByType(n)) expected++;
    t.equal(r.users.filter((u) => u.disabled).length, expected, 'nsAccountLock or the filter');
    t.equal(users.get(uidOf(125))?.disabled, true);
  });

  t.test("paging goes past the server's size limit", async (t) => {
    const c = new Client({ url: s.url });
    t.teardown(() => c.unbind());
    await c.bind(SERVICE_DN, SERVICE_PASSWORD);
    await t.rejects(c.search(BASE_DN, { filter: '(objectClass=inetOrgPerson)', attributes: ['1.1'] }), SizeLimitExceededError, `an unpaged search stops at the limit (${s.sizeLimit})`);
    const src = source({ pageSize: 300 });
    const r = await src.read({});
    t.equal(r.users.length, USERS + 1, 'a paged read returns all of them');
    t.ok((src.lastReadStats?.pages ?? 0) >= Math.ceil(USERS / 300), `${src.lastReadStats?.pages} pages`);
  });

  t.test('deltas: change, move, disable, OU move; deletions found by the full read', async (t) => {
    const admin = await s.admin();
    const src = source();
    const before = await src.read({});
    t.equal((await src.read({ sinceCursor: before.cursor })).users.length, 0, 'nothing changed: an empty delta');
    const depts = new Map(before.depts.map((d) => [d.externalId, d]));
    const idOfPath = (p: string[]) => before.depts.find((d) => pathOf(depts, d.externalId).join('/') === p.join('/'))?.externalId;

    await admin.modify(userDn(11), new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Chief Tester'] }) }));
    const target = ['Finance', 'Finance-D2'];
    await admin.modifyDN(userDn(12), `uid=${uidOf(12)},ou=Finance-D2,ou=Finance,${BASE_DN}`);
    await admin.modify(userDn(13), [
      new Change({ operation: 'add', modification: new Attribute({ type: 'objectClass', values: ['huitongTestLock'] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'nsAccountLock', values: ['TRUE'] }) }),
    ]);
    await admin.del(userDn(14));
    await admin.modifyDN(`ou=HR-D3,ou=HR,${BASE_DN}`, `ou=HR-D3,ou=Finance,${BASE_DN}`);
    const t0 = Date.now();
    const d = await src.read({ sinceCursor: before.cursor });
    t.comment(`delta with 3 user changes read in ${Date.now() - t0} ms`);
    t.equal(d.kind, 'delta');
    const got = byAccount(d);
    t.same([...got.keys()].sort(), [uidOf(11), uidOf(12), uidOf(13)], 'exactly the changed, moved and disabled users');
    t.equal(got.get(uidOf(11))?.title, 'Chief Tester');
    t.same(got.get(uidOf(12))?.deptExternalIds, [idOfPath(target)], 'a move shows as a changed department');
    t.equal(got.get(uidOf(12))?.loginDn, `uid=${uidOf(12)},ou=Finance-D2,ou=Finance,${BASE_DN}`);
    t.equal(got.get(uidOf(13))?.disabled, true);
    t.same(d.depts.map((x) => [x.name, x.parentExternalId]), [['HR-D3', idOfPath(['Finance'])]], 'the moved OU keeps its id under its new parent');
    t.notOk(got.has(uidOf(14)), 'a deletion is not visible in a delta');
    t.not(d.cursor, before.cursor, 'the cursor moved on');
    t.equal((await src.read({ sinceCursor: d.cursor })).users.length, 0, 'and nothing is read twice');

    const after = await src.read({});
    const all = byAccount(after);
    t.equal(after.users.length, USERS, 'the next full read no longer has the deleted user');
    t.notOk(all.has(uidOf(14)));
    const hr3 = after.depts.find((x) => x.name === 'HR-D3');
    t.equal(after.users.filter((u) => u.deptExternalIds[0] === hr3?.externalId).length, before.users.filter((u) => u.deptExternalIds[0] === hr3?.externalId).length, "users under the moved OU keep their department");

    // a foreign or malformed cursor means "start over": a snapshot
    t.equal((await src.read({ sinceCursor: 'uSNChanged:5' })).kind, 'snapshot');
    t.equal((await src.read({ sinceCursor: 'garbage' })).kind, 'snapshot');
    // the modifyTimestamp cursor (for servers without entryCSN) re-reads its boundary second, never less
    const ts = source({ cursorAttribute: 'modifyTimestamp' });
    const r0 = await ts.read({});
    t.match(r0.cursor, /^modifyTimestamp:\d{14}Z$/);
    await admin.modify(userDn(15), new Change({ operation: 'replace', modification: new Attribute({ type: 'mobile', values: ['13900000015'] }) }));
    const r1 = await ts.read({ sinceCursor: r0.cursor });
    t.equal(byAccount(r1).get(uidOf(15))?.mobile, '13900000015');
    t.ok(r1.users.length < 10, 'only recent changes');
  });

  t.test('TLS: ldaps and StartTLS with the configured CA; a wrong CA is refused in plain words', async (t) => {
    const ldaps = source({ url: s.ldapsUrl, caPem: s.ca.caPem });
    const c1 = await ldaps.testConnection();
    t.ok(c1.ok, 'ldaps with the CA');
    t.match(c1.steps.find((x) => x.step === 'tls')?.message, /TLS \(TLSv1\.[23]\) established/);
    t.ok((await ldaps.read({})).users.length >= USERS, 'a full read over ldaps');
    const st = source({ startTls: true, caPem: s.ca.caPem });
    t.ok((await st.testConnection()).ok, 'StartTLS with the CA');
    t.ok((await st.read({})).users.length >= USERS, 'a full read over StartTLS');

    for (const [label, over] of [['ldaps', { url: s.ldapsUrl, caPem: s.ca.otherCaPem }], ['StartTLS', { startTls: true, caPem: s.ca.otherCaPem }]] as const) {
      const bad = source(over);
      const c = await bad.testConnection();
      t.notOk(c.ok, `${label} with a wrong CA fails`);
      const last = c.steps[c.steps.length - 1];
      t.equal(last?.step, 'tls', 'at the TLS step');
      t.match(last?.message, /not signed by the configured CA/);
      await t.rejects(bad.read({}), { name: 'LdapReadError', kind: 'tls' }, `${label}: a read fails as a TLS problem`);
    }
    const noCa = await source({ url: s.ldapsUrl }).testConnection();
    t.notOk(noCa.ok, 'the system store does not trust the test CA');
    const wrongPort = await source({ url: `ldaps://127.0.0.1:${s.port}`, caPem: s.ca.caPem }).testConnection();
    t.match(wrongPort.steps.at(-1), { step: 'tls', ok: false, code: 'TLS_FAILED' }, 'ldaps:// to the plain port');
  });

  t.test('test connection says which step failed', async (t) => {
    const closed = await freePort();
    const cases: [string, Partial<LdapConfigInput>, string, string, RegExp][] = [
      ['unknown host', { url: 'ldap://no-such-host.invalid:389' }, 'dns', 'DNS_FAILED', /could not be resolved/],
      ['closed port', { url: `ldap://127.0.0.1:${closed}` }, 'tcp', 'TCP_REFUSED', /connection refused/],
      ['wrong password', { bindPassword: 'wrong' }, 'bind', 'BIND_REFUSED', /refused the bind DN or password/],
      ['unknown bind DN', { bindDn: `cn=nobody,${BASE_DN}` }, 'bind', 'BIND_REFUSED', /refused/],
      ['missing base DN', { baseDn: `ou=nowhere,${BASE_DN}` }, 'base', 'BASE_MISSING', /does not exist/],
      ['filter matching nothing', { userFilter: '(uid=nobody-at-all)' }, 'filter', 'FILTER_EMPTY', /matches no entries/],
    ];
    for (const [label, over, step, code, msg] of cases) {
      const c = await source(over).testConnection();
      t.notOk(c.ok, label);
      const last = c.steps.at(-1);
      t.match(last, { step, ok: false, code, message: msg }, `${label}: stops at ${step}`);
      t.ok(c.steps.slice(0, -1).every((x) => x.ok), `${label}: earlier steps passed`);
      t.ok(typeof (last as { messageZh?: string }).messageZh === 'string' && c.steps.every((x) => typeof x.ms === 'number'), 'Chinese text and timings');
    }
    const good = await source().testConnection();
    t.same(good.steps.map((x) => x.step), ['dns', 'tcp', 'tls', 'bind', 'base', 'filter']);
    t.equal(good.steps.find((x) => x.step === 'tls')?.code, 'TLS_NONE', 'plain ldap:// is allowed but flagged');
    await t.rejects(source({ bindPassword: 'wrong' }).read({}), { name: 'LdapReadError', kind: 'credentials' });
  });

  t.test('directory-password login: bind as the user; wrong, empty and injected input refused', async (t) => {
    const auth = source().passwordAuthority();
    t.equal(await auth.verify({ account: 'alice', loginDn: ALICE.dn }, ALICE.password), true, 'with the stored login DN');
    t.equal(await auth.verify({ account: 'alice' }, ALICE.password), true, 'found by account with the service bind');
    t.equal(await auth.verify({ account: 'ALICE' }, ALICE.password), true, 'account match is case-insensitive like uid');
    t.equal(await auth.verify({ account: uidOf(4242) }, passwordOf(4242)), true, 'a generated user');
    t.equal(await auth.verify({ account: 'alice', loginDn: ALICE.dn }, 'wrong-password'), false, 'a wrong password');
    t.equal(await auth.verify({ account: uidOf(12), loginDn: userDn(12) }, passwordOf(12)), true, 'a stale login DN (the user moved): found again by account');
    t.equal(await auth.verify({ account: 'alice', loginDn: `uid=alice,ou=elsewhere,dc=other` }, ALICE.password), true, 'a login DN outside the base is ignored');

    const binds0 = await s.binds();
    const attempts0 = auth.bindAttempts;
    t.equal(await auth.verify({ account: 'alice', loginDn: ALICE.dn }, ''), false, 'an empty password');
    t.equal(await auth.verify({ account: 'alice' }, ''), false);
    t.equal(auth.bindAttempts, attempts0, 'no bind attempted');
    t.equal(await s.binds(), binds0, 'the server saw no bind at all');
    // and the server would in fact have accepted it as an unauthenticated bind: that is why it is refused first
    const raw = new Client({ url: s.url });
    await raw.bind(ALICE.dn, '');
    await raw.unbind();
    t.pass('slapd (allow bind_anon_dn) accepts a DN with an empty password: only the client-side refusal stops it');

    const injections = ['*', 'al*', 'a*e', '*)(uid=*', 'alice)(uid=*', 'admin)(|(uid=*', 'alice)(|(objectClass=*', 'alice\u0000', 'alice\\', '\\2a', 'u0000*', `${uidOf(1)})(uid=${uidOf(2)}`];
    for (const inj of injections) {
      t.equal(await auth.verify({ account: inj }, ALICE.password), false, `${JSON.stringify(inj)} with alice's password`);
      t.equal(await auth.verify({ account: inj }, passwordOf(1)), false, `${JSON.stringify(inj)} with ${uidOf(1)}'s password`);
    }
  });

  t.test('login through AuthService for an ldap: user', async (t) => {
    const config = testConfig(tempDir(t));
    const svc = buildServices(config, createLogger('silent'));
    t.teardown(() => svc.close());
    const ldap = source();
    const auth = new AuthService(svc.directory, new SqliteDeviceRepo(svc.db), svc.settings, svc.bus, config.auth, UNLIMITED_SEATS,
      directoryPasswordsByOrigin((origin) => (origin === ldap.origin ? ldap.passwordAuthority() : null)));
    const alice = full.users.find((u) => u.account === 'alice') as SourceUser;
    await svc.directory.createUser({ account: 'alice', name: alice.name, origin: ldap.origin, externalId: alice.externalId, authorised: true });
    const device = { id: 'pc-1', type: 'desktop' as const };
    t.equal((await auth.login('alice', ALICE.password, device, '127.0.0.1')).user.account, 'alice');
    await t.rejects(auth.login('alice', 'nope', device, '127.0.0.1'), { code: 'GW_AUTH_FAILED' });
    await t.rejects(auth.login('alice', '', device, '127.0.0.1'), { code: 'GW_BAD_REQUEST' });
  });
}

export type { Slapd };
