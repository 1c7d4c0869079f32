import t from 'tap';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';

if (browserReady(t)) {
  t.test('login: a wrong password is refused with a message, the right one opens the console, English is one click away', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await page.goto(`${gw.http}/`);
    await page.locator('#login_username').fill('root');
    await page.locator('#login_password').fill('not-the-password');
    await page.locator('#login-submit').click();
    await page.getByRole('alert').waitFor();
    t.match(await page.getByRole('alert').innerText(), /密码|password/i, 'the refusal says what was wrong');
    await cp.shot('login-refused');

    await loginInBrowser(cp, gw);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('menuitem', { name: 'Organisation' }).waitFor();
    t.ok(await page.getByRole('menuitem', { name: 'Groups' }).isVisible(), 'the menu speaks English');
    t.same(cp.errors, [], 'no script errors');
  });
}
