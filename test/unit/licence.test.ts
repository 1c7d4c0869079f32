import t, { type Test } from 'tap';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../../gateway/src/auth/password.js';
import { createLogger } from '../../gateway/src/log.js';
import { ERRORS } from '../../gateway/src/errors/registry.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import { LICENCE_ERRORS, licenceRefusal } from '../../gateway/src/licence/errors.js';
import { runLicence } from '../../gateway/src/licence/cli.js';
import { LICENCE_CONTROL_COMMANDS } from '../../gateway/src/licence/control.js';
import { canonicalJson, LicenceError, signLicence, verifyLicence, type Licence } from '../../gateway/src/licence/format.js';
import { generateVendorKeyPair, keyFingerprint, PRIVATE_KEY_FILE_NAME, PUBLIC_KEY_FILE_NAME, readVendorPublicKey } from '../../gateway/src/licence/keys.js';
import { LicenceService, TRIAL_SEATS } from '../../gateway/src/licence/service.js';
import { SqliteLicenceRepo } from '../../gateway/src/licence/sqlite-repo.js';
import { buildServices, type Services } from '../../gateway/src/services.js';
import { tempDir, testConfig } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';

const vendor = generateVendorKeyPair();
const stranger = generateVendorKeyPair();

/** Local noon on a day, so the tests hold in every time zone. */
const at = (y: number, m: number, d: number, h = 12, min = 0, s = 0) => new Date(y, m - 1, d, h, min, s);
const TODAY = at(2025, 6, 1);

function licence(over: Partial<Licence> = {}): Licence {
  return { id: 'HT-TEST-0001', company: '汇通测试有限公司', seats: 200, issuedAt: '2025-05-01', expiresAt: '2026-04-30', product: 'huitong', ...over };
}
const issue = (over: Partial<Licence> = {}, key = vendor.privateKeyPem) => signLicence(licence(over), key);

interface Fixture {
  services: Services;
  licence: LicenceService;
  clock: { now: Date };
  authorise(n: number): Promise<void>;
  /** Every licence row and the installation id: what a refusal must leave alone. */
  snapshot(): unknown;
}

function fixture(t: { teardown(fn: () => unknown): void }, s: Services = makeServices(t)): Fixture {
  const clock = { now: TODAY };
  const lic = new LicenceService(new SqliteLicenceRepo(s.db), {
    publicKeyPem: vendor.publicKeyPem,
    countAuthorised: () => s.directory.countUsers({ authorised: true }),
    now: () => clock.now,
  });
  let next = 0;
  return {
    services: s, licence: lic, clock,
    async authorise(n) {
      for (let i = 0; i < n; i++) await s.directory.createUser({ account: `user${++next}`, name: `User ${next}`, authorised: true });
    },
    snapshot: () => ({
      licences: s.db.prepare('SELECT * FROM licences ORDER BY id').all(),
      meta: s.db.prepare("SELECT * FROM meta WHERE key = 'installation_id'").all(),
    }),
  };
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
}

t.test('canonical JSON: keys sorted at every level, no whitespace', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, { z: 'x', y: null }], c: '汇' }, u: undefined }), '{"a":{"c":"汇","d":[1,{"y":null,"z":"x"}]},"b":1}');
  t.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
});

t.test('sign and verify round trip; what a verified licence says', async (t) => {
  const text = issue();
  const file = JSON.parse(text) as { format: string; licence: Licence; signature: string };
  t.equal(file.format, 'huitong-licence/1');
  t.same(file.licence, licence());
  t.match(file.signature, /^[A-Za-z0-9+/]{86}==$/);
  const v = verifyLicence(text, vendor.publicKeyPem, TODAY);
  t.same(v.licence, licence());
  t.equal(v.daysLeft, 333);
  t.same(verifyLicence(JSON.stringify(file), vendor.publicKeyPem, TODAY).licence, licence(), 'whitespace in the file does not matter');
  t.same(verifyLicence(Buffer.from('\uFEFF' + text), vendor.publicKeyPem, TODAY).licence, licence(), 'bytes with a UTF-8 BOM');
  t.throws(() => signLicence(licence({ seats: 0 }), vendor.privateKeyPem), new LicenceError('malformed', 'licence.seats must be an integer from 1 to 1000000'), 'a malformed licence is not signed');
  t.throws(() => signLicence(licence(), vendor.publicKeyPem), /not a PEM private key|not an Ed25519 private key/);
});

t.test('verification refuses with a stable reason', async (t) => {
  const reason = (text: string | Uint8Array, now = TODAY) => {
    try {
      verifyLicence(text, vendor.publicKeyPem, now);
      return 'accepted';
    } catch (e) {
      if (e instanceof LicenceError) return e.reason;
      throw e;
    }
  };
  const file = () => JSON.parse(issue()) as Record<string, Record<string, unknown>>;
  const tampered = file();
  tampered.licence!.seats = 100000;
  t.equal(reason(JSON.stringify(tampered)), 'bad_signature', 'seats changed, signature kept');
  t.equal(reason(issue({}, stranger.privateKeyPem)), 'bad_signature', 'signed by another key');
  t.equal(reason(issue({ expiresAt: '2025-05-31' })), 'expired', 'expired yesterday');
  t.equal(reason(issue({ expiresAt: '2025-06-01' })), 'accepted', 'valid through its last day');
  t.equal(reason(issue({ expiresAt: '2025-06-01' }), at(2025, 6, 1, 23, 59, 59)), 'accepted', 'until the end of that day, local time');
  t.equal(reason(issue({ expiresAt: '2025-06-01' }), at(2025, 6, 2, 0, 0, 1)), 'expired', 'and not a second longer');
  t.equal(reason(issue({ issuedAt: '2025-06-02' })), 'accepted', 'one day of clock slack');
  t.equal(reason(issue({ issuedAt: '2025-06-03' })), 'not_yet_valid');
  t.equal(reason(issue({ product: 'other-product' })), 'wrong_product');

  const malformed: [string, string | Uint8Array][] = [
    ['10 MB of garbage', Buffer.alloc(10 * 1024 * 1024, 0x41)],
    ['just over 64 KiB of JSON', JSON.stringify({ ...file(), pad: 'x'.repeat(64 * 1024) })],
    ['not JSON', 'this is not a licence'],
    ['empty', ''],
    ['JSON but an array', '[]'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['no signature', JSON.stringify({ ...file(), signature: undefined })],
    ['signature not base64 of 64 bytes', JSON.stringify({ ...file(), signature: 'AAAA' })],
    ['unknown format', JSON.stringify({ ...file(), format: 'huitong-licence/2' })],
    ['unknown top-level field', JSON.stringify({ ...file(), extra: 1 })],
  ];
  for (const [field, bad] of [
    ['id', undefined], ['id', 'has space'], ['company', undefined], ['company', '   '], ['company', 'x'.repeat(129)], ['company', 'A\u202eB'],
    ['seats', undefined], ['seats', 0], ['seats', 1.5], ['seats', 1_000_001], ['seats', '200'], ['issuedAt', '2025-02-30'],
    ['expiresAt', '30/04/2026'], ['expiresAt', '2025-04-30'], ['product', undefined], ['bonus', true],
  ] as const) {
    const f = file();
    f.licence![field] = bad;
    malformed.push([`licence.${field} = ${String(bad).slice(0, 12)}`, JSON.stringify(f)]);
  }
  for (const [what, text] of malformed) t.equal(reason(text), 'malformed', what);
  t.equal(reason(issue({ company: 'x'.repeat(128) })), 'accepted', '128 characters of company are fine');
  t.equal(reason(issue({ company: '汇'.repeat(128) })), 'accepted', 'counted in characters, not bytes');
});

t.test('a valid licence imports; status shows company, seats and expiry', async (t) => {
  const f = fixture(t);
  await f.authorise(3);
  const r = await f.licence.importLicence(issue());
  t.equal(r.changed, true);
  t.equal(r.replaced, null);
  t.same(r.status, {
    state: 'valid', company: '汇通测试有限公司', seats: 200, used: 3, issuedAt: '2025-05-01', expiresAt: '2026-04-30', daysLeft: 333, licenceId: 'HT-TEST-0001', warnings: [],
  });
  t.same(await f.licence.status(), r.status, 'and it stays');
  const reopened = fixture(t, f.services);
  t.equal((await reopened.licence.status()).licenceId, 'HT-TEST-0001', 'stored: a new service instance reads it back');
});

t.test('refused licences change nothing, with or without an active licence', async (t) => {
  const f = fixture(t);
  const tampered = JSON.parse(issue({ id: 'HT-TEST-0002' })) as { licence: Licence };
  tampered.licence.seats = 5000;
  const refused: [string, unknown, string][] = [
    ['tampered seats', JSON.stringify(tampered), 'bad_signature'],
    ['another key', issue({ id: 'HT-TEST-0003' }, stranger.privateKeyPem), 'bad_signature'],
    ['expired', issue({ id: 'HT-TEST-0004', issuedAt: '2024-01-01', expiresAt: '2025-01-31' }), 'expired'],
    ['future', issue({ id: 'HT-TEST-0005', issuedAt: '2025-07-01' }), 'not_yet_valid'],
    ['other product', issue({ id: 'HT-TEST-0006', product: 'rtx' }), 'wrong_product'],
    ['10 MB of garbage', Buffer.alloc(10 * 1024 * 1024, 0x5a).toString('latin1'), 'malformed'],
    ['not JSON', '{"format": "huitong-licence/1", ', 'malformed'],
    ['missing fields', JSON.stringify({ format: 'huitong-licence/1', licence: { id: 'x' }, signature: 'AA==' }), 'malformed'],
    ['no text at all', undefined, 'malformed'],
    ['a number', 42, 'malformed'],
  ];
  for (const withActive of [false, true]) {
    if (withActive) await f.licence.importLicence(issue());
    const before = f.snapshot();
    const statusBefore = await f.licence.status();
    for (const [what, text, reason] of refused) {
      const e = await refusal(f.licence.importLicence(text));
      t.equal(e.code, 'GW_LICENCE_INVALID', what);
      t.equal(e.details?.reason, reason, `${what}: ${e.message}`);
    }
    t.same(f.snapshot(), before, `nothing changed in the database (${withActive ? 'licensed' : 'trial'})`);
    t.same(await f.licence.status(), statusBefore);
  }
});

t.test('seat limit: authorised users may not exceed seats', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue({ seats: 3 }));
  await f.authorise(2);
  t.equal(await f.licence.seatAvailable(), true);
  await f.licence.checkCanAuthorise(1);
  const two = await refusal(f.licence.checkCanAuthorise(2));
  t.equal(two.code, 'GW_LICENCE_SEATS_FULL');
  t.equal(two.message, 'licence allows 3 authorised users; 2 are authorised, so 2 more do not fit');
  await f.authorise(1);
  t.equal(await f.licence.seatAvailable(), false);
  const e = await refusal(f.licence.checkCanAuthorise());
  t.equal(e.code, 'GW_LICENCE_SEATS_FULL');
  t.equal(e.message, 'licence allows 3 authorised users; 3 are authorised');
  t.same(e.details, { seats: 3, used: 3, requested: 1 });
  t.equal((e as unknown as { httpStatus: number }).httpStatus, 409);
  t.match((await f.licence.status()).warnings, [/all 3 seats of the licence are taken/]);
  await f.licence.checkCanAuthorise(0);
  await t.rejects(f.licence.checkCanAuthorise(-1), RangeError);
});

t.test('two administrators cannot both take the last seat', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue({ seats: 3 }));
  await f.authorise(2);
  const results = await Promise.allSettled([1, 2].map(() => f.licence.withSeats(1, () => f.authorise(1))));
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  t.equal(await f.services.directory.countUsers({ authorised: true }), 3);
});

/** Services whose logins take seats from a licence of `seats` seats, as the appliance wires them. */
async function gatedServices(t: Test, seats: number) {
  const dataDir = tempDir(t);
  let licence: LicenceService | null = null;
  const s = buildServices(testConfig(dataDir), createLogger('silent'), { seats: { seatAvailable: async () => licence!.seatAvailable(), withSeats: (n, fn) => licence!.withSeats(n, fn) } });
  t.teardown(() => s.close());
  const f = fixture(t, s);
  licence = f.licence;
  await f.licence.importLicence(issue({ seats }));
  return { s, f, passwordHash: await hashPassword('correct-horse-9') };
}

t.test('auto-authorise at first login stops at the seat limit; authorised users keep working', async (t) => {
  const { s, f, passwordHash } = await gatedServices(t, 2);
  for (const account of ['alice', 'bob', 'carol']) await s.directory.createUser({ account, name: account, passwordHash });
  const login = (account: string) => s.auth.login(account, 'correct-horse-9', { id: `dev-${account}`, type: 'cli' }, '127.0.0.1');
  await login('alice');
  await login('bob');
  await t.rejects(login('carol'), { code: 'GW_USER_UNAUTHORISED' }, 'the third user finds no free seat');
  f.clock.now = at(2026, 5, 1);
  t.equal((await f.licence.status()).state, 'expired');
  t.ok(await login('alice'), 'an authorised user still logs in after the licence expired');
  t.equal(await f.licence.seatAvailable(), false);
});

t.test('simultaneous first logins cannot both take the last seat', async (t) => {
  const { s, passwordHash } = await gatedServices(t, 1);
  const accounts = ['p1', 'p2', 'p3', 'p4'];
  for (const account of accounts) await s.directory.createUser({ account, name: account, passwordHash });
  const results = await Promise.allSettled(accounts.map((a) => s.auth.login(a, 'correct-horse-9', { id: `dev-${a}`, type: 'cli' }, null)));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one got the seat');
  t.equal(await s.directory.countUsers({ authorised: true }), 1, 'and only one is authorised');
});

t.test('an expired licence allows no new authorisations', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue({ seats: 10 }));
  await f.authorise(4);
  f.clock.now = at(2026, 5, 1);
  const s = await f.licence.status();
  t.equal(s.state, 'expired');
  t.equal(s.daysLeft, -1);
  t.match(s.warnings, [/expired on 2026-04-30: users already authorised keep working/]);
  t.equal(await f.licence.seatAvailable(), false, 'seats are free but the licence has expired');
  const e = await refusal(f.licence.checkCanAuthorise(1));
  t.equal(e.code, 'GW_LICENCE_EXPIRED');
  t.match(e.message, /HT-TEST-0001 expired on 2026-04-30/);
  t.equal(await f.services.directory.countUsers({ authorised: true }), 4, 'nobody lost their authorisation');
});

t.test('trial: no licence allows 50 authorised users, with no end date', async (t) => {
  const f = fixture(t);
  const s = await f.licence.status();
  t.same({ ...s, warnings: undefined }, { state: 'trial', company: null, seats: TRIAL_SEATS, used: 0, issuedAt: null, expiresAt: null, daysLeft: null, licenceId: null, warnings: undefined });
  t.equal(TRIAL_SEATS, 50);
  t.match(s.warnings, [/no licence is imported: the appliance runs as a trial limited to 50 authorised users/]);
  await f.authorise(49);
  t.equal(await f.licence.seatAvailable(), true);
  await f.authorise(1);
  t.equal(await f.licence.seatAvailable(), false);
  const e = await refusal(f.licence.checkCanAuthorise());
  t.equal(e.code, 'GW_LICENCE_SEATS_FULL');
  t.equal(e.message, 'the trial allows 50 authorised users; 50 are authorised; import a licence to authorise more');
  f.clock.now = at(2035, 1, 1);
  t.equal((await f.licence.status()).state, 'trial', 'the trial does not expire');
});

t.test('more authorised users than seats: they keep working, nobody new', async (t) => {
  const f = fixture(t);
  await f.authorise(5);
  await f.licence.importLicence(issue({ seats: 3 }));
  const s = await f.licence.status();
  t.equal(s.used, 5);
  t.match(s.warnings, [/5 users are authorised, more than the 3 the licence allows/]);
  t.equal(await f.licence.seatAvailable(), false);
});

t.test('expiry warnings from 30 days before the last day', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue({ expiresAt: '2025-12-31' }));
  const on = async (d: Date) => ((f.clock.now = d), f.licence.status());
  let s = await on(at(2025, 11, 30));
  t.equal(s.daysLeft, 31);
  t.equal(s.state, 'valid');
  t.same(s.warnings, [], 'no warning at 31 days');
  s = await on(at(2025, 12, 1));
  t.equal(s.state, 'expiring', 'expiring at 30 days');
  s = await on(at(2025, 12, 2));
  t.equal(s.daysLeft, 29);
  t.equal(s.state, 'expiring');
  t.same(s.warnings, ['the licence expires on 2025-12-31, in 29 days; request a renewal']);
  t.equal(await f.licence.seatAvailable(), true, 'an expiring licence still authorises');
  s = await on(at(2025, 12, 31, 23, 59));
  t.equal(s.daysLeft, 0);
  t.same(s.warnings, ['the licence expires at the end of today (2025-12-31); request a renewal']);
  s = await on(at(2026, 1, 1, 0, 1));
  t.equal(s.state, 'expired');
});

t.test('importing the same licence twice is idempotent', async (t) => {
  const f = fixture(t);
  const text = issue();
  await f.licence.importLicence(text);
  const before = f.snapshot();
  f.clock.now = at(2025, 6, 2);
  const again = await f.licence.importLicence(text);
  t.equal(again.changed, false);
  t.equal(again.licenceId, 'HT-TEST-0001');
  t.same(f.snapshot(), before, 'nothing written');
  const reformatted = JSON.stringify(JSON.parse(text));
  t.equal((await f.licence.importLicence(reformatted)).changed, false, 'the same licence with other whitespace is the same licence');
  t.same(f.snapshot(), before);
});

t.test('a second licence replaces the first, atomically', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue());
  const r = await f.licence.importLicence(issue({ id: 'HT-TEST-0002', seats: 500, expiresAt: '2027-04-30' }));
  t.equal(r.replaced, 'HT-TEST-0001');
  t.equal(r.status.seats, 500);
  t.equal(r.status.licenceId, 'HT-TEST-0002');
  const rows = f.services.db.prepare('SELECT id, active FROM licences ORDER BY id').all();
  t.same(rows, [{ id: 'HT-TEST-0001', active: 0 }, { id: 'HT-TEST-0002', active: 1 }], 'both kept, one active');
  t.same((await f.licence.history()).map((h) => [h.id, h.seats, h.active]).sort(), [['HT-TEST-0001', 200, false], ['HT-TEST-0002', 500, true]]);
  t.throws(() => f.services.db.prepare('UPDATE licences SET active = 1').run(), /UNIQUE/, 'the schema allows one active licence only');

  const reimport = await f.licence.importLicence(issue());
  t.equal(reimport.changed, true, 'an earlier licence imported again becomes the active one');
  t.equal(reimport.replaced, 'HT-TEST-0002');

  const before = f.snapshot();
  const e = await refusal(f.licence.importLicence(issue({ seats: 999 })));
  t.equal(e.code, 'GW_CONFLICT', 'a different licence under a known id is refused');
  t.same(f.snapshot(), before);
});

t.test('a stored licence changed in the database is not trusted', async (t) => {
  const f = fixture(t);
  await f.licence.importLicence(issue({ seats: 10 }));
  f.services.db.prepare("UPDATE licences SET body = replace(body, '\"seats\": 10', '\"seats\": 10000')").run();
  const s = fixture(t, f.services).licence;
  const st = await s.status();
  t.equal(st.state, 'trial');
  t.equal(st.seats, TRIAL_SEATS);
  t.match(st.warnings, [/stored licence HT-TEST-0001 cannot be verified \(bad_signature\)/]);
  t.equal((await s.importLicence(issue({ seats: 10 }))).changed, true, 'importing the real one again repairs it');
  t.equal((await s.status()).seats, 10);
});

t.test('expansion and renewal requests', async (t) => {
  const f = fixture(t);
  const contact = { name: '王经理', phone: '+86 10 8888 6666', email: 'it@example.cn' };

  let e = await refusal(f.licence.renewalRequest({ kind: 'renew', expiresAt: '2026-06-30', contact }));
  t.match(e, { code: 'GW_BAD_REQUEST', message: /no licence to renew/ }, 'a trial has nothing to renew');
  e = await refusal(f.licence.renewalRequest({ kind: 'expand', seats: 100, contact }));
  t.match(e, { code: 'GW_BAD_REQUEST', message: /company is required/ }, 'a trial names its company');
  const first = await f.licence.renewalRequest({ kind: 'expand', seats: 100, company: '汇通测试有限公司', contact });
  t.match(first, { kind: 'expand', company: '汇通测试有限公司', licenceId: null, current: { state: 'trial', seats: 50 }, requested: { seats: 100, expiresAt: null } });

  await f.licence.importLicence(issue());
  await f.authorise(7);
  const before = f.snapshot();
  f.clock.now = at(2025, 6, 1, 9, 30);
  const req = await f.licence.renewalRequest({ kind: 'expand', seats: 300, contact, note: '新增分公司\n共 100 人' });
  t.same(req, {
    format: 'huitong-licence-request/1',
    kind: 'expand',
    createdAt: at(2025, 6, 1, 9, 30).toISOString(),
    installationId: first.installationId,
    company: '汇通测试有限公司',
    licenceId: 'HT-TEST-0001',
    current: { state: 'valid', seats: 200, used: 7, issuedAt: '2025-05-01', expiresAt: '2026-04-30' },
    requested: { seats: 300, expiresAt: null },
    contact,
    note: '新增分公司\n共 100 人',
  });
  t.match(req.installationId, /^[0-9a-f-]{36}$/);
  t.same(f.snapshot(), before, 'the installation id is stored once and a request writes nothing else');
  t.equal((await fixture(t, f.services).licence.renewalRequest({ kind: 'renew', expiresAt: '2027-04-30', contact })).installationId, req.installationId, 'the same installation id later');

  const renew = await f.licence.renewalRequest({ kind: 'renew', expiresAt: '2027-04-30', contact: { name: '王经理', email: 'it@example.cn' } });
  t.same(renew.requested, { seats: 200, expiresAt: '2027-04-30' }, 'a renewal keeps the seats unless told');
  t.same(renew.contact, { name: '王经理', phone: null, email: 'it@example.cn' });

  const bad: [string, unknown][] = [
    ['no input', undefined],
    ['unknown kind', { kind: 'upgrade', seats: 300, contact }],
    ['expand without seats', { kind: 'expand', contact }],
    ['expand to fewer seats', { kind: 'expand', seats: 200, contact }],
    ['seats not an integer', { kind: 'expand', seats: 300.5, contact }],
    ['seats too many', { kind: 'expand', seats: 1_000_001, contact }],
    ['renew without a date', { kind: 'renew', contact }],
    ['renew to an earlier date', { kind: 'renew', expiresAt: '2026-04-30', contact }],
    ['a date in the past', { kind: 'expand', seats: 300, expiresAt: '2025-05-01', contact }],
    ['not a date', { kind: 'renew', expiresAt: '2027-02-29', contact }],
    ['no contact', { kind: 'expand', seats: 300 }],
    ['contact without name', { kind: 'expand', seats: 300, contact: { phone: '010 8888 6666' } }],
    ['contact without phone or email', { kind: 'expand', seats: 300, contact: { name: '王经理' } }],
    ['bad email', { kind: 'expand', seats: 300, contact: { name: '王经理', email: 'not-an-address' } }],
    ['bad phone', { kind: 'expand', seats: 300, contact: { name: '王经理', phone: 'call me' } }],
    ['name too long', { kind: 'expand', seats: 300, contact: { ...contact, name: 'x'.repeat(65) } }],
    ['name with control characters', { kind: 'expand', seats: 300, contact: { ...contact, name: 'a\u0007b' } }],
    ['note too long', { kind: 'expand', seats: 300, contact, note: 'x'.repeat(2001) }],
    ['note with a bidi override', { kind: 'expand', seats: 300, contact, note: 'a\u202eb' }],
    ['note not text', { kind: 'expand', seats: 300, contact, note: { x: 1 } }],
  ];
  for (const [what, input] of bad) {
    const err = await refusal(f.licence.renewalRequest(input as never));
    t.equal(err.code, 'GW_BAD_REQUEST', `${what}: ${err.message}`);
  }
});

t.test('CLI: keygen, issue, then verify; import, show and request through control commands', async (t) => {
  const dir = tempDir(t);
  const io = () => {
    const o = { out: '', err: '' };
    return { o, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) };
  };
  const f = fixture(t);
  const control = async (name: string, args: Record<string, unknown>) => LICENCE_CONTROL_COMMANDS[name]!(f.licence, args);

  const keys = path.join(dir, 'vendor-keys');
  let c = io();
  t.equal(await runLicence(['keygen', '--out', keys], { control, ...c }), 0);
  const priv = path.join(keys, PRIVATE_KEY_FILE_NAME);
  const pub = path.join(keys, PUBLIC_KEY_FILE_NAME);
  t.ok(existsSync(priv) && existsSync(pub));
  t.equal(statSync(priv).mode & 0o777, 0o600, 'the private key is readable by its owner only');
  t.notMatch(c.o.out + c.o.err, /PRIVATE KEY|BEGIN/, 'nothing secret is printed');
  t.match(c.o.out, keyFingerprint(readFileSync(pub, 'utf8')));
  const privBefore = readFileSync(priv, 'utf8');
  c = io();
  t.equal(await runLicence(['keygen', '--out', keys], { control, ...c }), 1, 'a vendor key is never overwritten');
  t.match(c.o.err, /already exists/);
  t.equal(readFileSync(priv, 'utf8'), privBefore);

  const out = path.join(dir, 'acme.licence.json');
  c = io();
  const code = await runLicence(['issue', '--private-key', priv, '--company', 'ACME 有限公司', '--seats', '250', '--expires', '2099-12-31', '--id', 'HT-ACME-1', '--out', out], { control, ...c });
  t.equal(code, 0, c.o.err);
  t.match(c.o.err, /warning: this key .* is not the one in .*vendor-licence-public-key\.pem/, 'the vendor is told when the key is not the shipped one');
  const v = verifyLicence(readFileSync(out), readFileSync(pub, 'utf8'), new Date());
  t.same(v.licence, { id: 'HT-ACME-1', company: 'ACME 有限公司', seats: 250, issuedAt: v.licence.issuedAt, expiresAt: '2099-12-31', product: 'huitong' });
  t.throws(() => verifyLicence(readFileSync(out), vendor.publicKeyPem, new Date()), LicenceError, 'another appliance key refuses it');

  c = io();
  t.equal(await runLicence(['issue', '--private-key', priv, '--company', 'ACME', '--seats', '0', '--expires', '2099-12-31'], { control, ...c }), 64, 'bad seats: usage');
  c = io();
  t.equal(await runLicence(['issue', '--private-key', priv, '--company', 'ACME', '--seats', '5', '--expires', '2001-01-01'], { control, ...c }), 64, 'already expired: usage');
  c = io();
  t.equal(await runLicence(['issue', '--private-key', pub, '--company', 'ACME', '--seats', '5', '--expires', '2099-01-01'], { control, ...c }), 1, 'a public key cannot sign');
  c = io();
  t.equal(await runLicence(['bogus'], { control, ...c }), 64);
  c = io();
  t.equal(await runLicence(['issue', '--nope'], { control, ...c }), 64);

  // the appliance side, with a licence of the test vendor key
  const lic = path.join(dir, 'test.licence.json');
  writeFileSync(lic, issue({ seats: 20 }));
  c = io();
  t.equal(await runLicence(['import', lic], { control, ...c }), 0, c.o.err);
  t.match(JSON.parse(c.o.out), { licenceId: 'HT-TEST-0001', changed: true, status: { seats: 20 } });
  c = io();
  t.equal(await runLicence(['import', out], { control, ...c }), 1, 'a licence of another key is refused');
  t.match(c.o.err, /^huitong: GW_LICENCE_INVALID: the licence signature does not match/);
  const huge = path.join(dir, 'huge.json');
  writeFileSync(huge, Buffer.alloc(10 * 1024 * 1024, 0x20));
  c = io();
  t.equal(await runLicence(['import', huge], { control, ...c }), 1);
  t.match(c.o.err, /larger than 64 KiB/);
  c = io();
  t.equal(await runLicence(['import', path.join(dir, 'missing.json')], { control, ...c }), 1);
  t.match(c.o.err, /cannot read .*ENOENT/);
  c = io();
  t.equal(await runLicence(['show'], { control, ...c }), 0);
  t.match(JSON.parse(c.o.out), { state: 'valid', seats: 20, company: '汇通测试有限公司' });

  const reqFile = path.join(dir, 'request.json');
  c = io();
  t.equal(await runLicence(['request', 'expand', '--seats', '40', '--name', '王经理', '--email', 'it@example.cn', '--out', reqFile], { control, ...c }), 0, c.o.err);
  t.match(JSON.parse(readFileSync(reqFile, 'utf8')), { format: 'huitong-licence-request/1', kind: 'expand', licenceId: 'HT-TEST-0001', requested: { seats: 40 } });
  c = io();
  t.equal(await runLicence(['request', 'expand', '--seats', '10', '--name', '王经理', '--email', 'it@example.cn'], { control, ...c }), 1);
  t.match(c.o.err, /GW_BAD_REQUEST: seats must be more than the 20/);
});

t.test('the shipped vendor public key is an Ed25519 key; the error specs are complete', async (t) => {
  const pem = readVendorPublicKey();
  t.match(pem, /^-----BEGIN PUBLIC KEY-----/);
  t.notMatch(pem, /PRIVATE/);
  t.match(keyFingerprint(pem), /^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
  t.throws(() => new LicenceService(new SqliteLicenceRepo(makeServices(t).db), { publicKeyPem: vendor.privateKeyPem, countAuthorised: async () => 0 }), /is a private key; only the public key may ship/);
});

t.test('licence error codes: the same specs as the registry once registered, and then GatewayErrors', async (t) => {
  for (const [code, spec] of Object.entries(LICENCE_ERRORS)) {
    const e = licenceRefusal(code as keyof typeof LICENCE_ERRORS, 'refused', { x: 1 }) as GatewayError;
    t.match(e, { code, message: 'refused', details: { x: 1 }, httpStatus: spec.http, closeCode: null }, code);
    if (Object.hasOwn(ERRORS, code)) {
      t.same(ERRORS[code as keyof typeof ERRORS], spec, `${code} in the registry`);
      t.ok(e instanceof GatewayError, `${code} is reported as a GatewayError`);
    }
  }
});
