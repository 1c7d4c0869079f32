import t from 'tap';
import { FilterParser } from 'ldapts';
import { escapeDnValue, escapeFilterValue, isAtOrUnder, normalizeDn, parentDnKey, parseDn, rdnValue } from '../../sync/src/sources/ldap-escape.js';
import { LdapConfigError, parseLdapConfig } from '../../sync/src/sources/ldap-config.js';
import { LdapPasswordAuthority } from '../../sync/src/sources/ldap-auth.js';

const INJECTIONS = ['*', 'al*', '*)(uid=*', 'alice)(uid=*', 'admin)(|(uid=*', 'alice\u0000', 'x\u0000)(uid=*', '\\2a', '(', ')', '\\', 'a*b*c', 'alice)(|(objectClass=*'];

t.test('filter values are escaped per RFC 4515 so they only ever match themselves', async (t) => {
  t.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  t.equal(escapeFilterValue('admin)(|(uid=*'), 'admin\\29\\28|\\28uid=\\2a');
  t.equal(escapeFilterValue('a\u0000b'), 'a\\00b');
  t.equal(escapeFilterValue('back\\slash'), 'back\\5cslash');
  t.equal(escapeFilterValue('张三'), '张三', 'non-ASCII passes through');
  for (const inj of INJECTIONS) {
    const filter = `(&(objectClass=inetOrgPerson)(uid=${escapeFilterValue(inj)}))`;
    const parsed = FilterParser.parseString(filter);
    // one AND of exactly two equality filters, the second being uid=<the literal input>
    const f = parsed as unknown as { filters: { attribute: string; value: string | Buffer; type: number }[] };
    t.equal(f.filters.length, 2, `${JSON.stringify(inj)}: still two clauses`);
    const v = f.filters[1]!.value;
    t.equal(Buffer.isBuffer(v) ? v.toString('utf8') : v, inj, `${JSON.stringify(inj)}: the value is the literal input`);
    t.equal(f.filters[1]!.attribute, 'uid');
  }
});

t.test('DN values are escaped per RFC 4514 and parse back to themselves', async (t) => {
  t.equal(escapeDnValue('Sales, East'), 'Sales\\, East');
  t.equal(escapeDnValue(' lead'), '\\ lead');
  t.equal(escapeDnValue('trail '), 'trail\\ ');
  t.equal(escapeDnValue('#hash'), '\\#hash');
  t.equal(escapeDnValue('a+b=c<d>;"\\'), 'a\\+b\\=c\\<d\\>\\;\\"\\\\');
  t.equal(escapeDnValue('nul\u0000'), 'nul\\00');
  for (const v of ['Sales, East', ' x ', '#1', 'a+b', '研发中心', 'x\\y', 'q"uote', ...INJECTIONS.filter((x) => x.trim())]) {
    const dn = `uid=${escapeDnValue(v)},ou=corp,dc=huitong,dc=test`;
    const rdns = parseDn(dn);
    t.equal(rdns.length, 4, `${JSON.stringify(v)}: four RDNs`);
    t.equal(rdns[0]![0]!.value, v, `${JSON.stringify(v)}: round-trips`);
  }
});

t.test('DN parsing: hex escapes as UTF-8, normalisation, parents', async (t) => {
  t.equal(rdnValue('ou=Sales\\2C East,dc=x'), 'Sales, East');
  t.equal(rdnValue('ou=\\E7\\A0\\94\\E5\\8F\\91,dc=x'), '研发', 'hex-escaped UTF-8 bytes decode together');
  t.equal(normalizeDn('OU=Sales\\, East , DC=Huitong,DC=Test'), normalizeDn('ou=sales\\2c east,dc=huitong,dc=test'));
  t.equal(parentDnKey('uid=a,ou=B,dc=x'), 'ou=b,dc=x');
  t.equal(parentDnKey('dc=x'), null);
  t.ok(isAtOrUnder(normalizeDn('uid=a,ou=corp,dc=x'), normalizeDn('ou=Corp,dc=X')));
  t.notOk(isAtOrUnder(normalizeDn('uid=a,ou=xcorp,dc=x'), normalizeDn('ou=corp,dc=x')), 'a suffix match must be a whole RDN');
  t.same(parseDn('cn=a+sn=b,dc=x').map((r) => r.length), [2, 1], 'multi-valued RDN');
  for (const bad of ['uid', 'uid=a,', '=a', 'uid=a\\', 'u id=a', 'uid=a,,dc=x']) t.throws(() => parseDn(bad), `${JSON.stringify(bad)} is refused`);
});

t.test('config: presets, TLS rules and clear errors naming the key', async (t) => {
  const base = { url: 'ldap://dir.example:389', bindDn: 'cn=sync,dc=x', bindPassword: 's', baseDn: 'dc=x' };
  const o = parseLdapConfig(base);
  t.equal(o.flavour, 'openldap');
  t.equal(o.userFilter, '(objectClass=inetOrgPerson)');
  t.same(o.attributes.account, ['uid']);
  t.equal(o.cursorAttribute, 'entryCSN');
  t.ok(Object.isFrozen(o));
  const ad = parseLdapConfig({ ...base, url: 'ldaps://dc1.example', flavour: 'ad' });
  t.equal(ad.port, 636);
  t.same(ad.attributes.account, ['sAMAccountName']);
  t.equal(ad.attributes.id, 'objectGUID');
  t.equal(ad.cursorAttribute, 'uSNChanged');
  const err = (input: unknown) => {
    try {
      parseLdapConfig(input);
    } catch (e) {
      return e instanceof LdapConfigError ? e.key : 'other';
    }
    return null;
  };
  t.equal(err({ ...base, url: 'http://x' }), 'url');
  t.equal(err({ ...base, bindPassword: '' }), 'bindPassword', 'an empty service password is refused (no anonymous binds)');
  t.equal(err({ ...base, url: 'ldaps://x', startTls: true }), 'startTls');
  t.equal(err({ ...base, userFilter: 'uid=*' }), 'userFilter');
  t.equal(err({ ...base, userFilter: '(&(uid=*)' }), 'userFilter');
  t.equal(err({ ...base, baseDn: 'dc=x,' }), 'baseDn');
  t.equal(err({ ...base, caPem: 'not a pem' }), 'caPem');
  t.equal(err({ ...base, attributes: { account: 'u id' } }), 'attributes.account');
  t.equal(err({ ...base, flavour: 'ad', cursorAttribute: 'entryCSN' }), 'cursorAttribute');
  t.equal(err({ ...base, nope: 1 }), 'nope');
  t.notMatch(String((() => { try { parseLdapConfig({ ...base, url: 1 }); } catch (e) { return (e as Error).message; } return ''; })()), /s$/, 'never echoes the password');
});

t.test('directory login refuses empty passwords and hostile accounts before any network call', async (t) => {
  // port 9 on loopback: nothing listens, so any network attempt would throw LdapUnavailableError
  const a = new LdapPasswordAuthority(parseLdapConfig({ url: 'ldap://127.0.0.1:9', bindDn: 'cn=s,dc=x', bindPassword: 's', baseDn: 'dc=x', connectTimeoutMs: 500 }));
  t.equal(await a.verify({ account: 'alice', loginDn: 'uid=alice,dc=x' }, ''), false, 'empty password');
  t.equal(await a.verify({ account: 'alice' }, ''), false);
  t.equal(await a.verify({ account: 'alice' }, 'pw\u0000'), false, 'NUL in the password');
  t.equal(await a.verify({ account: 'alice\u0000' }, 'pw'), false, 'NUL in the account');
  t.equal(await a.verify({ account: '' }, 'pw'), false);
  t.equal(await a.verify({ account: 'x'.repeat(300) }, 'pw'), false);
  t.equal(a.bindAttempts, 0, 'nothing was sent');
  await t.rejects(a.verify({ account: 'alice' }, 'pw'), { name: 'LdapUnavailableError' }, 'an outage is not a wrong password');
});
