import t from 'tap';
import { browserReady, launch, newConsolePage } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';

if (browserReady(t)) {
  t.test('first start: the wizard shows every listener, creates the administrator, and opens the console', async (t) => {
    const gw = await startGateway(t);
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await page.goto(`${gw.http}/`);
    await page.getByText('https+wss').waitFor();
    t.ok(await page.getByText('tcp', { exact: true }).isVisible(), 'every listener is listed');
    await cp.shot('setup-status');

    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByLabel('用户名').fill('root');
    await page.getByLabel('密码', { exact: true }).fill('root-password-1');
    await page.getByLabel('确认密码').fill('root-password-1');
    await cp.shot('setup-admin');
    await page.getByRole('button', { name: '创建管理员' }).click();
    await page.getByRole('button', { name: '进入控制台' }).click();
    await page.getByText('组织架构').first().waitFor();
    await cp.shot('console-org');

    t.equal(await gw.gw.services.admin.needsSetup(), false, 'the administrator exists on the server');
    t.same(cp.errors, [], 'no script errors (the strict CSP allowed everything the page needs)');
  });
}
