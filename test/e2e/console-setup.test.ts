import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { startGateway } from '../helpers/gateway.js';
import { ROOT } from '../helpers/process.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

if (!existsSync(CHROMIUM)) {
  // CI installs chromium (.ci/run); elsewhere the suite may run without a browser
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run must install the chromium package`);
  t.plan(0, `skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
} else {
  if (!existsSync(path.join(ROOT, 'admin', 'dist', 'index.html'))) execFileSync('npm', ['run', 'build:admin', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  mkdirSync(ARTIFACTS, { recursive: true });

  t.test('first start: the wizard shows every listener, creates the administrator, and opens the console', async (t) => {
    const gw = await startGateway(t);
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      // playwright gives every launch a fresh, empty profile
    });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const failed: string[] = [];
    page.on('pageerror', (e) => failed.push(e.message));
    page.on('console', (m) => m.type() === 'error' && failed.push(m.text()));

    await page.goto(`${gw.http}/`);
    await page.getByText('https+wss').waitFor();
    t.ok(await page.getByText('tcp', { exact: true }).isVisible(), 'every listener is listed');
    await page.screenshot({ path: path.join(ARTIFACTS, 'setup-status.png') });

    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByLabel('用户名').fill('root');
    await page.getByLabel('密码', { exact: true }).fill('root-password-1');
    await page.getByLabel('确认密码').fill('root-password-1');
    await page.screenshot({ path: path.join(ARTIFACTS, 'setup-admin.png') });
    await page.getByRole('button', { name: '创建管理员' }).click();
    await page.getByRole('button', { name: '进入控制台' }).click();
    await page.getByText('组织架构').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-org.png') });

    t.equal(await gw.gw.services.admin.needsSetup(), false, 'the administrator exists on the server');
    t.same(failed, [], 'no script errors (the strict CSP allowed everything the page needs)');
  });
}
