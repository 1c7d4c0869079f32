import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { signLicence, type Licence } from '../../gateway/src/licence/format.js';
import { generateVendorKeyPair } from '../../gateway/src/licence/keys.js';
import { browserReady, ensureRootAdmin, fillDate, launch, loginInBrowser, newConsolePage } from '../helpers/browser.js';
import { startGateway, tempDir } from '../helpers/gateway.js';

/** A local day `offsetDays` from today, YYYY-MM-DD (the server takes days in its local time zone too). */
function day(offsetDays: number): string {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const COMPANY = '汇通测试有限公司';

if (browserReady(t)) {
  const vendor = generateVendorKeyPair();
  const licence = (over: Partial<Licence> = {}): Licence => ({ id: 'HT-E2E-0001', company: COMPANY, seats: 120, issuedAt: day(-10), expiresAt: day(200), product: 'huitong', ...over });

  t.test('licence import: a valid licence is accepted; expired and tampered ones are refused and change nothing; 10 days before expiry it warns', async (t) => {
    const gw = await startGateway(t, { vendorPublicKeyPem: vendor.publicKeyPem });
    await ensureRootAdmin(gw);
    for (const a of ['zhangsan', 'lisi', 'wangwu']) await gw.addUser(a);
    const dir = tempDir(t, 'huitong-licence-files-');
    const write = (name: string, text: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const valid = signLicence(licence(), vendor.privateKeyPem);
    const validFile = write('valid.json', valid);
    const expiredFile = write('expired.json', signLicence(licence({ id: 'HT-E2E-OLD', issuedAt: day(-400), expiresAt: day(-1) }), vendor.privateKeyPem));
    const tampered = JSON.parse(signLicence(licence({ id: 'HT-E2E-0003' }), vendor.privateKeyPem)) as { licence: Licence };
    tampered.licence.seats = 9999;
    const tamperedFile = write('tampered.json', JSON.stringify(tampered, null, 2));
    const expiringFile = write('expiring.json', signLicence(licence({ id: 'HT-E2E-0002', seats: 150, expiresAt: day(10) }), vendor.privateKeyPem));
    const smallFile = write('small.json', signLicence(licence({ id: 'HT-E2E-0004', seats: 2 }), vendor.privateKeyPem));
    const status = () => gw.gw.services.licence.status();

    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, undefined, '/licence');
    await page.locator('#licence-page').waitFor();
    t.equal(await page.getByTestId('licence-state').getAttribute('data-state'), 'trial', 'a fresh appliance is a trial');
    t.match(await page.locator('[data-warning="trial"]').innerText(), /试用.*50/, 'the trial and its limit are explained');
    t.equal(await page.getByTestId('licence-used').innerText(), '3', 'the authorised users are counted');

    const input = page.locator('#licence-import input[type=file]');
    const result = page.getByTestId('licence-import-result');

    await input.setInputFiles(expiredFile);
    await page.locator('[data-testid="licence-import-result"][data-reason="expired"]').waitFor();
    t.match(await result.innerText(), /过期/, 'the refusal says the licence expired');
    t.match(await result.innerText(), new RegExp(day(-1)), 'and names the day');
    t.equal((await status()).state, 'trial', 'an expired licence changes nothing on the server');
    t.equal(await page.getByTestId('licence-state').getAttribute('data-state'), 'trial', 'nor on the page');

    await input.setInputFiles(tamperedFile);
    await page.locator('[data-testid="licence-import-result"][data-reason="bad_signature"]').waitFor();
    t.match(await result.innerText(), /签名/, 'the refusal says the signature does not match');
    t.match(await status(), { state: 'trial', seats: 50, licenceId: null }, 'a tampered licence changes nothing on the server');
    t.equal(await page.getByTestId('licence-seats').innerText(), '50', 'nor on the page');
    await cp.shot('licence-refused');

    await input.setInputFiles(validFile);
    await page.locator('[data-testid="licence-import-result"][data-outcome="accepted"]').waitFor();
    const accepted = await result.innerText();
    t.match(accepted, COMPANY, 'the answer names the company');
    t.match(accepted, /120/, 'the seats');
    t.match(accepted, day(200), 'and the expiry');
    await page.locator('[data-testid="licence-state"][data-state="valid"]').waitFor();
    t.equal(await page.getByTestId('licence-company').innerText(), COMPANY, 'the page shows the new company');
    t.equal(await page.getByTestId('licence-seats').innerText(), '120', 'the new seats');
    t.equal(await page.getByTestId('licence-expires').innerText(), day(200), 'the new expiry');
    t.match(await status(), { state: 'valid', company: COMPANY, seats: 120, expiresAt: day(200), licenceId: 'HT-E2E-0001' }, 'the server agrees');
    await page.locator('#licence-history [data-licence-id="HT-E2E-0001"]').waitFor();
    t.equal(await page.locator('[data-testid="licence-warning"]').count(), 0, 'no warning with 200 days left');
    await cp.shot('licence');

    await input.setInputFiles(validFile);
    await page.locator('[data-testid="licence-import-result"][data-outcome="unchanged"]').waitFor();
    t.pass('importing the active licence again says nothing changed');

    await input.setInputFiles(expiringFile);
    await page.locator('[data-testid="licence-import-result"][data-outcome="accepted"]').waitFor();
    await page.locator('[data-testid="licence-state"][data-state="expiring"]').waitFor();
    const warning = await page.locator('[data-warning="expiry"]').innerText();
    t.match(warning, day(10), 'the warning names the last day');
    t.match(warning, /10 天/, 'and the days left');
    t.match(await status(), { state: 'expiring', daysLeft: 10, seats: 150 }, 'the server agrees');
    await page.locator('#licence-history [data-licence-id="HT-E2E-0002"]').waitFor();
    t.equal(await page.locator('#licence-history tr[data-licence-id]').count(), 2, 'the history lists both imported licences');

    // fewer seats than users already authorised: accepted (nobody loses access), with a warning
    await input.setInputFiles(smallFile);
    await page.locator('[data-testid="licence-import-result"][data-outcome="accepted"]').waitFor();
    await page.locator('[data-testid="licence-seats"]', { hasText: /^2$/ }).waitFor();
    t.match(await page.locator('[data-warning="seats"]').innerText(), /已授权 3 名用户，超过许可的 2 名/, 'the page warns that more users are authorised than the seats');
    t.match(await status(), { seats: 2, used: 3 }, 'the server agrees');

    await page.getByRole('button', { name: 'English' }).click();
    t.match(await page.locator('[data-warning="seats"]').innerText(), /3 users are authorised, more than the 2/, 'the warning speaks English after the switch');
    t.same(cp.errors, [], 'no script errors');
  });

  t.test('licence request: the form makes a request file the browser downloads with the values entered', async (t) => {
    const gw = await startGateway(t, { vendorPublicKeyPem: vendor.publicKeyPem });
    await ensureRootAdmin(gw);
    await gw.gw.services.licence.importLicence(signLicence(licence(), vendor.privateKeyPem));
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, undefined, '/licence');
    await page.locator('#licence-request').waitFor();
    t.equal(await page.locator('#licenceRequest_company').inputValue(), COMPANY, 'the company is filled in from the licence');

    // fewer seats than now is refused in the form, before any request
    await page.locator('#licenceRequest_seats').fill('100');
    await page.locator('#licenceRequest_contactName').fill('王经理');
    await page.locator('#licence-request-submit').click();
    await page.getByText('期望人数须大于当前的 120 人').waitFor();
    await page.getByText('请至少填写电话或电子邮箱').waitFor();

    await page.locator('#licenceRequest_seats').fill('300');
    await page.locator('#licenceRequest_phone').fill('+86 10 8888 6666');
    await page.locator('#licenceRequest_email').fill('it@example.cn');
    await fillDate(page.locator('#licenceRequest_expiresAt'), day(400));
    await page.locator('#licenceRequest_note').fill('新分公司上线，需要增加 180 人');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#licence-request-submit').click()]);
    t.match(download.suggestedFilename(), /^huitong-licence-request-expand-\d{4}-\d{2}-\d{2}\.json$/, 'the file has the server’s name');
    const file = JSON.parse(readFileSync(await download.path(), 'utf8')) as Record<string, unknown>;
    t.match(file, {
      format: 'huitong-licence-request/1',
      kind: 'expand',
      company: COMPANY,
      licenceId: 'HT-E2E-0001',
      current: { seats: 120 },
      requested: { seats: 300, expiresAt: day(400) },
      contact: { name: '王经理', phone: '+86 10 8888 6666', email: 'it@example.cn' },
      note: '新分公司上线，需要增加 180 人',
    }, 'the downloaded request carries the values entered');
    await page.getByTestId('licence-request-result').waitFor();
    t.match(await page.getByTestId('licence-request-result').innerText(), download.suggestedFilename(), 'the page names the file');
    await cp.shot('licence-request');
    t.match(await gw.gw.services.licence.status(), { seats: 120, licenceId: 'HT-E2E-0001' }, 'a request changes nothing');
    t.same(cp.errors, [], 'no script errors');
  });
}
