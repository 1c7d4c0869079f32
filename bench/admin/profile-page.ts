/**
 * Where the members page's load time goes: a CPU profile of one cold load of
 * /org in headless Chromium, summarised by self time per function and per
 * script (node --import tsx bench/admin/profile-page.ts; 2,000 members).
 * CONSOLE_DIR=... profiles another build, e.g. one made with --minify false.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../gateway/src/config/load.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const dataDir = mkdtempSync(path.join(tmpdir(), 'huitong-prof-'));
const config = loadConfig({ env: {}, overrides: { dataDir, 'http.port': 0, 'https.port': 0, 'tcp.port': 0, 'plugin.port': 0, 'rtxSdk.port': 0, 'http.host': '127.0.0.1', 'https.host': '127.0.0.1', 'tcp.host': '127.0.0.1', 'plugin.host': '127.0.0.1', 'rtxSdk.host': '127.0.0.1', 'log.level': 'silent', ...(process.env.CONSOLE_DIR ? { 'http.consoleDir': process.env.CONSOLE_DIR } : {}) } });
const gw = await buildGateway(config, { log: createLogger('silent'), adminSocket: false });
await gw.start();
const base = `http://127.0.0.1:${gw.ports().http}`;
try {
  const s = gw.services;
  for (let d = 0; d < 20; d++) {
    const dept = await s.directory.createDept(null, `事业部${d}`);
    for (let i = 0; i < 100; i++) await s.directory.createUser({ account: `u${d}x${i}`, name: `张${d}三${i}`, deptIds: [dept.id] });
  }
  const r = await fetch(`${base}/api/admin/setup/admin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username: 'bench', password: 'bench-password-1' }) });
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  const [name, ...rest] = cookie.split('=');
  await context.addCookies([{ name: name as string, value: rest.join('='), url: base }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  await page.goto(`${base}/org`);
  await page.locator('.ant-table-tbody .ant-table-row').first().waitFor();
  const ms = await page.evaluate(() => performance.now());
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile };
  await browser.close();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byScript = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\//, '')}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const sc = n.callFrame.url.replace(/^.*\//, '') || n.callFrame.functionName;
    byScript.set(sc, (byScript.get(sc) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, t]) => `${t.toFixed(1).padStart(7)} ms  ${f}`).join('\n');
  process.stdout.write(`first rows at ${Math.round(ms)} ms\n\nby script:\n${top(byScript, 12)}\n\nby function (self):\n${top(self, 30)}\n`);
} finally {
  await gw.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
