/**
 * npm run bench:admin — the console's server-side figures on a 50,000-member
 * organisation in 2,000 departments: Excel import and export through the admin
 * API, and member search latency. Prints one JSON object as its last line.
 * members_page_load_ms: headless Chromium (Debian's /usr/bin/chromium) opens
 * the console's organisation page with a logged-in session and a cold cache;
 * the figure is the median time from navigation start until the first page
 * of members is on screen (null, with a reason on stderr, without chromium).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { loadConfig } from '../../gateway/src/config/load.js';
import { MEMBER_COLUMNS, MEMBER_SHEET } from '../../gateway/src/excel/columns.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import { nameToPinyin } from '../../gateway/src/directory/pinyin.js';
import { log, percentile, round } from '../lib/stats.js';

const CHROMIUM = '/usr/bin/chromium';
const PAGE_LOADS = 7;

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 50_000);
const DEPTS = 2000;
const SEARCHES = 300;
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红娥玲芬建国晓东海燕志鹏宇婷浩然思远子涵欣怡梓萱一鸣佳怡雨桐俊杰文博嘉琪诗雨天宇晨曦';

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function buildWorkbook(): Promise<{ buf: Buffer; names: string[]; mobiles: string[] }> {
  const rand = rng(50_000);
  const pick = (s: string) => s[Math.floor(rand() * s.length)] as string;
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(MEMBER_SHEET);
  ws.addRow(MEMBER_COLUMNS.map((c) => c.header));
  const names: string[] = [];
  const mobiles: string[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const d = i % DEPTS;
    const name = pick(SURNAMES) + pick(GIVEN) + pick(GIVEN);
    const mobile = `139${String(i).padStart(8, '0')}`;
    names.push(name);
    mobiles.push(mobile);
    // 20 business units × 100 teams; not authorised, so the 50-seat trial is no limit here
    ws.addRow([`m${String(i).padStart(6, '0')}`, name, `事业部${Math.floor(d / 100)}/团队${d % 100}`, mobile, '', '职员', i % 2 ? '男' : '女', '', '否']);
  }
  return { buf: Buffer.from(await wb.xlsx.writeBuffer()), names, mobiles };
}

/**
 * Median of PAGE_LOADS cold loads of /org (fresh browser context each time,
 * so nothing is cached): navigation start → first member row visible.
 */
async function membersPageLoad(base: string, cookie: string): Promise<number | null> {
  if (!existsSync(CHROMIUM)) {
    log(`members_page_load_ms: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);
    return null;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const [name, ...rest] = cookie.split('=');
  const times: number[] = [];
  try {
    for (let i = 0; i < PAGE_LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
      await context.addCookies([{ name: name as string, value: rest.join('='), url: base }]);
      const page = await context.newPage();
      await page.goto(`${base}/org`);
      await page.locator('[data-testid="member-row"], .ant-table-tbody .ant-table-row').first().waitFor({ timeout: 30_000 });
      times.push(await page.evaluate(() => performance.now()));
      if (i === PAGE_LOADS - 1) {
        // where the time went, for profiling: when each request started and ended, and when scripts ran
        const entries = await page.evaluate(() =>
          (performance.getEntriesByType('resource') as unknown as { name: string; startTime: number; responseEnd: number }[]).map((e) => `${Math.round(e.startTime)}→${Math.round(e.responseEnd)} ${e.name.replace(/^https?:\/\/[^/]+/, '')}`),
        );
        const nav = await page.evaluate(() => {
          const n = (performance.getEntriesByType as (type: string) => unknown[])('navigation')[0] as { responseEnd: number; domContentLoadedEventEnd: number };
          return `html ${Math.round(n.responseEnd)} ms, DOMContentLoaded ${Math.round(n.domContentLoadedEventEnd)} ms`;
        });
        log(`last load: ${nav}; ${entries.join('; ')}`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const median = round(percentile(times, 50), 0);
  log(`members page: ${times.map((x) => Math.round(x)).join(', ')} ms; median ${median} ms`);
  return median;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'huitong-bench-admin-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, 'http.port': 0, 'https.port': 0, 'tcp.port': 0, 'http.host': '127.0.0.1', 'https.host': '127.0.0.1', 'tcp.host': '127.0.0.1', 'plugin.port': 0, 'plugin.host': '127.0.0.1', 'rtxSdk.port': 0, 'rtxSdk.host': '127.0.0.1', 'log.level': 'silent' } });
  const gw = await buildGateway(config, { log: createLogger('silent'), adminSocket: false });
  await gw.start();
  const base = `http://127.0.0.1:${gw.ports().http}`;
  const result: Record<string, number | null> = {};
  try {
    let r = await fetch(`${base}/api/admin/setup/admin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username: 'bench', password: 'bench-password-1' }) });
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const me = (await (await fetch(`${base}/api/admin/me`, { headers: { cookie } })).json()) as { csrfToken: string };
    const write = { cookie, origin: base, 'x-csrf-token': me.csrfToken };

    log(`building a ${MEMBERS}-row workbook`);
    const wb = await buildWorkbook();
    log(`workbook: ${(wb.buf.length / 1048576).toFixed(1)} MB; importing`);
    let t0 = performance.now();
    r = await fetch(`${base}/api/admin/excel/import`, { method: 'POST', headers: { ...write, 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }, body: wb.buf });
    const imported = (await r.json()) as { ok?: boolean; created?: number; errorCount?: number };
    result.excel_import_50k_s = round((performance.now() - t0) / 1000, 2);
    if (r.status !== 200 || imported.ok !== true) throw new Error(`import failed: ${r.status} ${JSON.stringify(imported).slice(0, 300)}`);
    log(`import: ${result.excel_import_50k_s} s`);

    t0 = performance.now();
    r = await fetch(`${base}/api/admin/excel/export`, { headers: { cookie } });
    const exported = Buffer.from(await r.arrayBuffer());
    result.excel_export_50k_s = round((performance.now() - t0) / 1000, 2);
    if (r.status !== 200) throw new Error(`export failed: ${r.status}`);
    log(`export: ${result.excel_export_50k_s} s, ${(exported.length / 1048576).toFixed(1)} MB`);

    // searches a console user would type: a name, pinyin, initials, an account, a mobile fragment
    const rand = rng(7);
    const queries: string[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const k = Math.floor(rand() * wb.names.length);
      const name = wb.names[k] as string;
      const py = nameToPinyin(name);
      queries.push([name.slice(0, 2), py.full.slice(0, 6), py.initials, `m${String(k).padStart(6, '0')}`, (wb.mobiles[k] as string).slice(3, 9)][i % 5] as string);
    }
    const times: number[] = [];
    for (const q of queries) {
      const t = performance.now();
      r = await fetch(`${base}/api/admin/members?limit=50&q=${encodeURIComponent(q)}`, { headers: { cookie } });
      await r.arrayBuffer();
      times.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`search failed: ${r.status}`);
    }
    // loopback round trips here are well under a millisecond, so this is server time
    result.member_search_p95_ms = round(percentile(times, 95), 1);
    result.member_search_p50_ms = round(percentile(times, 50), 1);
    log(`member search: p50 ${result.member_search_p50_ms} ms, p95 ${result.member_search_p95_ms} ms`);
    result.members_page_load_ms = await membersPageLoad(base, cookie);
  } finally {
    await gw.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
