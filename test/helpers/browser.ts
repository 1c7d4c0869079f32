/**
 * The console in a real browser: playwright-core driving Debian's chromium
 * (never a downloaded one). Under CI=true a missing chromium is an error;
 * elsewhere the e2e files skip with a visible reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { ROOT } from './process.js';
import type { TestGateway } from './gateway.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface Planner {
  plan(n: number, why?: string): void;
  teardown(fn: () => unknown): void;
}

let built = false;

/**
 * Builds the console into `dist` unless another test process is doing it
 * (`npm test` builds it first; this is for e2e files run on their own, maybe
 * in parallel): the first process takes a lock directory, the others wait
 * for index.html.
 */
function buildConsoleOnce(dist: string): void {
  const lock = `${dist}.building`;
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch {
    // someone else is building
  }
  if (mine) {
    try {
      const outDir = process.env.HUITONG_TEST_CONSOLE_DIR ? ['--', '--outDir', dist, '--emptyOutDir'] : [];
      execFileSync('npm', ['run', 'build:admin', '--silent', ...outDir], { cwd: ROOT, stdio: 'ignore' });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    return;
  }
  const deadline = Date.now() + 180_000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(path.join(dist, 'index.html')) || existsSync(lock)) {
    if (Date.now() > deadline) throw new Error(`the console build in ${dist} did not finish within 3 minutes`);
    Atomics.wait(pause, 0, 0, 200);
  }
}

/**
 * True when the browser is there (and the console is built); otherwise plans
 * the file as skipped, or throws under CI. Call once at the top of an e2e file.
 */
export function browserReady(t: Planner): boolean {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run must install the chromium package`);
    t.plan(0, `skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
    return false;
  }
  const dist = process.env.HUITONG_TEST_CONSOLE_DIR || path.join(ROOT, 'admin', 'dist');
  if (!built && !existsSync(path.join(dist, 'index.html'))) buildConsoleOnce(dist);
  built = true;
  mkdirSync(ARTIFACTS, { recursive: true });
  return true;
}

export async function launch(t: Planner): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  return browser;
}

export interface ConsolePage {
  page: Page;
  /** Script errors and console.error lines seen so far (a CSP violation shows here). */
  errors: string[];
  /** Saves test-artifacts/NAME.png. */
  shot(name: string): Promise<void>;
}

/** A fresh browser context (its own cookies) with a page that records errors. */
export async function newConsolePage(browser: Browser, opts: { lang?: 'zh' | 'en' } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: opts.lang === 'en' ? 'en-GB' : 'zh-CN' });
  if (opts.lang) await context.addInitScript({ content: `window.localStorage.setItem('huitong.lang', ${JSON.stringify(opts.lang)});` });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // a refused API call (403/409...) is logged by chromium as a failed resource load: that is the UI
    // showing a server refusal, not a script error
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return { page, errors, shot: (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).then(() => undefined) };
}

export const ROOT_ADMIN = { username: 'root', password: 'root-password-1' } as const;

/** Creates the first administrator on the server (no wizard) unless one exists. */
export async function ensureRootAdmin(gw: TestGateway): Promise<void> {
  if (await gw.gw.services.admin.needsSetup()) await gw.gw.services.admin.createFirstAdmin(ROOT_ADMIN.username, ROOT_ADMIN.password);
}

/** Logs in through the console's login form and waits for the shell. */
export async function loginInBrowser(cp: ConsolePage, gw: TestGateway, who: { username: string; password: string } = ROOT_ADMIN, landing = '/'): Promise<void> {
  const { page } = cp;
  await page.goto(`${gw.http}${landing}`);
  await page.locator('#login_username').fill(who.username);
  await page.locator('#login_password').fill(who.password);
  await page.locator('#login-submit').click();
  await page.locator('#console-shell').waitFor();
}

/**
 * Ticks or unticks a checkbox. Ant Design re-renders a controlled box while
 * a modal's content settles; a click that lands in that moment is lost and
 * playwright reports "did not change its state": then it is clicked again.
 */
export async function setBox(box: Locator, checked: boolean, attempts = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await box.setChecked(checked);
      return;
    } catch (err) {
      if (i >= attempts || !/did not change its state/.test(String(err))) throw err;
    }
  }
}

/**
 * Types a value into an Ant Design date (or date-time) picker and commits it.
 * The picker parses typed text asynchronously; an Enter pressed before the
 * panel has taken the text commits the old value. So the panel's cell for the
 * day is awaited as marked first (`selected` in a single picker, `range-start`
 * or `range-end` in a range picker), and after Enter the panel is awaited
 * closed — except after a range's start, where the panel stays open for the end.
 */
export async function fillDate(input: Locator, value: string, mark: 'selected' | 'range-start' | 'range-end' = 'selected'): Promise<void> {
  const page = input.page();
  await input.click();
  await input.fill(value);
  await page.locator(`.ant-picker-dropdown:not(.ant-picker-dropdown-hidden) td[title="${value.slice(0, 10)}"].ant-picker-cell-${mark}`).waitFor();
  await input.press('Enter');
  if (mark !== 'range-start') {
    // a function, not a string: the console's CSP forbids eval (and this file has no DOM types)
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.ant-picker-dropdown:not(.ant-picker-dropdown-hidden)').length === 0);
  }
}

/**
 * Waits until the open modal (a dialog or a confirmation) has finished its
 * opening animation: a click that lands while it still zooms in can miss.
 */
export async function modalSettled(page: Page): Promise<void> {
  // closed dialogs may stay in the page, hidden: wait for the open one
  await page.locator('.ant-modal:visible').first().waitFor();
  await page.locator('.ant-modal[class*="zoom"]').first().waitFor({ state: 'detached' });
}
