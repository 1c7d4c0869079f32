import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { registerAdminAuthRoutes } from '../../gateway/src/admin/http.js';
import { installErrorHandler } from '../../gateway/src/edges/http/errors.js';
import { registerExcelRoutes, XLSX_MIME } from '../../gateway/src/excel/routes.js';
import { createLogger } from '../../gateway/src/log.js';
import { MEMBER_COLUMNS, MEMBER_SHEET } from '../../gateway/src/excel/columns.js';
import { errorReport, exportOrg } from '../../gateway/src/excel/export.js';
import { importMembers, parseMemberWorkbook, type ImportProgress } from '../../gateway/src/excel/import.js';
import { buildTemplate } from '../../gateway/src/excel/template.js';
import { GatewayError } from '../../gateway/src/errors/gateway-error.js';
import type { Db } from '../../gateway/src/storage/sqlite.js';
import { makeServices } from '../helpers/services.js';

type Row = (string | number)[];
const HEADERS = MEMBER_COLUMNS.map((c) => c.header);

async function workbook(rows: Row[], edit?: (ws: ExcelJS.Worksheet) => void, headers: string[] = HEADERS): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(MEMBER_SHEET);
  ws.addRow(headers);
  for (const r of rows) ws.addRow(r);
  edit?.(ws);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** n good rows: accounts u0001…, departments under 总部 in 10 teams, the first `authorised` rows authorised. */
function goodRows(n: number, authorised = 10): Row[] {
  return Array.from({ length: n }, (_, i) => [
    `u${String(i + 1).padStart(5, '0')}`, `成员${i + 1}`, `总部/团队${i % 10}${i % 7 === 0 ? '；总部/项目组' : ''}`, `138${String(i).padStart(8, '0')}`,
    `u${i}@example.com`, '工程师', i % 2 ? '男' : '女', '', i < authorised ? '是' : '否',
  ]);
}

const countUsers = (s: { db: Db }) => s.db.prepare('SELECT COUNT(*) FROM users').pluck().get() as number;
const countDepts = (s: { db: Db }) => s.db.prepare('SELECT COUNT(*) FROM departments').pluck().get() as number;

async function refused(t: Test, s: ReturnType<typeof makeServices>, buf: Buffer, problem: string, pattern: RegExp): Promise<void> {
  const before = [countUsers(s), countDepts(s)];
  const e: unknown = await importMembers(s, buf).then(() => null, (x: unknown) => x);
  t.ok(e instanceof GatewayError, 'refused with a GatewayError');
  if (e instanceof GatewayError) {
    t.equal(e.details?.problem, problem);
    t.match(e.message, pattern);
  }
  t.same([countUsers(s), countDepts(s)], before, 'nothing written');
}

t.test('template round-trips: headers, help sheet, example rows parse and validate', async (t) => {
  const buf = await buildTemplate();
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ExcelJS.Buffer);
  t.same(wb.worksheets.map((w) => w.name), ['成员', '说明']);
  t.same((wb.getWorksheet('成员')!.getRow(1).values as unknown[]).slice(1), HEADERS);
  const parsed = await parseMemberWorkbook(buf);
  t.ok(parsed.ok);
  if (parsed.ok) t.equal(parsed.rows.length, 2);
  const s = makeServices(t);
  const r = await importMembers(s, buf);
  t.ok(r.ok, 'the template imports as is');
  const lisi = await s.directory.getUserByAccount('lisi');
  t.equal(lisi?.authorised, false);
  t.equal(lisi?.depts.length, 2);
  t.ok(lisi?.passwordHash?.startsWith('scrypt$'), 'password hashed');
});

t.test('500 rows with 5 bad ones: exactly those reported, nothing written; the fixed file imports', async (t) => {
  const s = makeServices(t);
  await s.directory.createUser({ account: 'taken', name: '已有', deptIds: [] });
  const rows = goodRows(500);
  rows[10]![1] = '';
  rows[50]![0] = '-bad account';
  rows[100]![0] = rows[20]![0]!;
  rows[200]![0] = 'TAKEN';
  rows[300]![1] = '名'.repeat(65);
  const before = [countUsers(s), countDepts(s), await s.directory.version()];
  const progress: ImportProgress[] = [];
  const r = await importMembers(s, await workbook(rows), { onProgress: (p) => progress.push(p) });
  t.notOk(r.ok);
  if (!r.ok) {
    t.same(r.errors.map((e) => [e.row, e.column]), [[12, '姓名'], [52, '帐号'], [102, '帐号'], [202, '帐号'], [302, '姓名']]);
    t.match(r.errors[2]!.message, /already used on row 22/);
    t.match(r.errors[3]!.message, /existing member/);
    t.match(r.errors[4]!.message, /longer than 64/);
    t.same(r.errors.map((e) => e.value), ['', '-bad account', rows[20]![0], 'TAKEN', '名'.repeat(65)], 'each error carries the cell as read');
    const report = new ExcelJS.Workbook();
    await report.xlsx.load((await errorReport(r.errors)) as unknown as ExcelJS.Buffer);
    t.equal(report.worksheets[0]!.rowCount, 6, 'report: header + 5 rows');
  }
  t.same([countUsers(s), countDepts(s), await s.directory.version()], before, 'nothing written, version unchanged');
  t.same(progress.map((p) => p.phase), ['parsed', 'validated']);

  let events = 0;
  s.bus.subscribe((e) => { if (e.type === 'dir.changed') events++; });
  const ok = await importMembers(s, await workbook(goodRows(500)), { onProgress: (p) => progress.push(p) });
  t.ok(ok.ok);
  if (ok.ok) {
    t.equal(ok.created, 500);
    t.equal(ok.authorised, 10);
    t.equal(ok.deptsCreated, 12, '总部, 10 teams, 项目组');
  }
  t.equal(countUsers(s), 501);
  t.equal(events, 1, 'one dir.changed');
  t.equal(progress.at(-1)?.phase, 'written');
  const u = await s.directory.getUserByAccount('u00001');
  t.equal(u?.depts.length, 2);
  t.equal(u?.depts.find((d) => d.main)?.deptId, (await s.directory.deptByPath('总部/团队0', false)).id, 'first department is the main one');
  t.equal(u?.pinyin, 'chengyuan1');
  t.equal(u?.version, await s.directory.version(), 'stamped with the new version');
  t.equal(await s.directory.countUsers({ authorised: true }), 10);
});

t.test('too few seats: refused, nothing written', async (t) => {
  const s = makeServices(t);
  await t.rejects(importMembers(s, await workbook(goodRows(60, 60))), { code: 'GW_LICENCE_SEATS_FULL' });
  t.equal(countUsers(s), 0);
  t.equal(countDepts(s), 0);
});

t.test('an account taken between validation and write: GW_CONFLICT, nothing of the file written', async (t) => {
  const s = makeServices(t);
  const rows = goodRows(20, 0);
  const e: unknown = await importMembers(s, await workbook(rows), {
    onProgress: (p) => {
      if (p.phase === 'validated') s.db.prepare("INSERT INTO users (account, name, pinyin, pinyin_initials, version, created_at, updated_at) VALUES ('U00007', 'x', 'x', 'x', 0, 0, 0)").run();
    },
  }).then(() => null, (x: unknown) => x);
  t.match(e, { code: 'GW_CONFLICT', message: /row 8: account u00007 was taken/ });
  t.equal(countUsers(s), 1, 'only the racing user');
  t.equal(countDepts(s), 0);
  t.equal(await s.directory.version(), 0);
});

t.test('other row rules', async (t) => {
  const s = makeServices(t);
  const r = await importMembers(s, await workbook([
    ['a1', '甲', '研发部', 'abc', 'not-mail', '', '未知', 'short', '也许'],
    ['a2', '乙', `${Array.from({ length: 40 }, (_, i) => `L${i}`).join('/')}`, '', '', '', '', '', ''],
    ['a3', '丙', '', '', '', '', '', '', ''],
  ]));
  t.notOk(r.ok);
  if (!r.ok) {
    t.same(r.errors.map((e) => `${e.row}:${e.column}`), ['2:手机', '2:邮箱', '2:性别', '2:密码', '2:授权', '3:部门', '4:部门']);
    t.equal(r.errors[3]!.value, '', 'a refused password is never echoed');
    t.equal(r.errors[0]!.value, 'abc');
  }
  t.equal(countUsers(s), 0);
});

t.test('malformed workbooks are refused with a clear message and nothing written', async (t) => {
  const s = makeServices(t);
  await s.directory.createUser({ account: 'keep', name: '保留', deptIds: [] });
  const one = goodRows(3, 0);
  await t.test('wrong columns', async (t) => {
    const h = [...HEADERS];
    [h[2], h[3]] = [h[3]!, h[2]!];
    await refused(t, s, await workbook(one, undefined, h), 'bad_columns', /C1 should be the header 「部门\*」 but is 「手机」/);
    await refused(t, s, await workbook(one, undefined, [...HEADERS, '备注']), 'bad_columns', /J1 has an unexpected column 「备注」/);
  });
  await t.test('merged cells', async (t) => {
    await refused(t, s, await workbook(one, (ws) => ws.mergeCells('B3:C3')), 'merged_cells', /merged cells at B3:C3/);
  });
  await t.test('formula', async (t) => {
    await refused(t, s, await workbook(one, (ws) => { ws.getCell('E4').value = { formula: 'A4&"@x.cn"', result: 'u3@x.cn' }; }), 'formula', /cell E4 .* formula/);
  });
  await t.test('10 MB of random bytes', async (t) => {
    await refused(t, s, randomBytes(10 * 1024 * 1024), 'not_xlsx', /not an \.xlsx workbook/);
  });
  await t.test('a zip that is no workbook', async (t) => {
    const good = await workbook(one);
    const cut = good.subarray(0, good.length - 200);
    await refused(t, s, cut, 'not_xlsx', /not a complete/);
    // a valid zip whose contents are garbage
    const junk = Buffer.from(good);
    junk.fill(0x41, 60, Math.min(junk.length - 400, 2000));
    await refused(t, s, junk, 'not_xlsx', /could not be read|damaged/);
  });
  await t.test('zip bomb: the central directory declares ~4 GB', async (t) => {
    const bomb = Buffer.from(await workbook(one));
    for (let p = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); p >= 0; p = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), p + 4)) {
      bomb.writeUInt32LE(0xf0000000, p + 24);
      break;
    }
    await refused(t, s, bomb, 'zip_bomb', /zip bomb/);
  });
  await t.test('zip bomb: a real entry of 300 MB of zeros', async (t) => {
    const zeros = Buffer.alloc(300 * 1024 * 1024);
    const data = deflateRawSync(zeros, { level: 9 });
    await refused(t, s, zipOf('xl/worksheets/sheet1.xml', data, zeros.length, 0), 'zip_bomb', /zip bomb/);
  });
  await t.test('zip bomb: the central directory understates the size', async (t) => {
    const data = deflateRawSync(Buffer.alloc(50 * 1024 * 1024));
    await refused(t, s, zipOf('xl/worksheets/sheet1.xml', data, 1024, 0), 'zip_bomb', /unpacks to more than it declares/);
  });
  await t.test('over 20 MB', async (t) => {
    const big = Buffer.alloc(21 * 1024 * 1024);
    await t.rejects(importMembers(s, big), { code: 'GW_FILE_TOO_LARGE' });
  });
  await t.test('too many rows', async (t) => {
    const parsed = await parseMemberWorkbook(await workbook(goodRows(30, 0)), { maxBytes: 1e8, maxRows: 20, maxUncompressedBytes: 1e9, maxRatio: 1000, maxEntries: 100 });
    t.match(parsed, { ok: false, problem: 'too_many_rows' });
  });
  t.equal(countUsers(s), 1);
});

/** A one-entry zip (deflate), enough for the guard. */
function zipOf(name: string, data: Buffer, size: number, crc: number): Buffer {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc >>> 0, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(size, 22); local.writeUInt16LE(n.length, 26);
  const cd = Buffer.alloc(46);
  cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt16LE(8, 10);
  cd.writeUInt32LE(crc >>> 0, 16); cd.writeUInt32LE(data.length, 20); cd.writeUInt32LE(size, 24); cd.writeUInt16LE(n.length, 28);
  const cdOffset = local.length + n.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(cd.length + n.length, 12); eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, n, data, cd, n, eocd]);
}

t.test('export holds departments and members; a scoped export only its part', async (t) => {
  const s = makeServices(t);
  const r = await importMembers(s, await workbook(goodRows(30, 5)));
  t.ok(r.ok);
  await s.directory.createUser({ account: 'nodept', name: '无部门', deptIds: [] });
  const read = async (buf: Buffer) => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ExcelJS.Buffer);
    const rows = (name: string) => {
      const out: string[][] = [];
      wb.getWorksheet(name)!.eachRow((row) => out.push((row.values as unknown[]).slice(1).map((v) => String(v ?? ''))));
      return out;
    };
    return { depts: rows('部门'), members: rows('成员') };
  };
  const all = await read(await exportOrg(s));
  t.same(all.depts[0], ['部门', '排序']);
  t.equal(all.depts.length, 1 + 12);
  t.same(all.members[0], ['帐号', '姓名', '部门', '手机', '邮箱', '职务', '性别', '授权', '状态', '已禁用']);
  t.equal(all.members.length, 1 + 31);
  t.same(all.members[1], ['u00001', '成员1', '总部/团队0；总部/项目组', '13800000000', 'u0@example.com', '工程师', '女', '是', '正常', '否']);
  const team1 = await s.directory.deptByPath('总部/团队1', false);
  const scoped = await read(await exportOrg(s, { scopeDeptIds: new Set([team1.id]) }));
  t.same(scoped.depts.slice(1).map((d) => d[0]), ['总部/团队1']);
  t.equal(scoped.members.length, 1 + 3, 'the three members of 团队1');
  t.ok(scoped.members.slice(1).every((m) => m[2] === '总部/团队1'), 'only departments in scope are named');
});

t.test('scoped import: new departments must lie inside the scope', async (t) => {
  const s = makeServices(t);
  const mine = await s.directory.deptByPath('研发部', true);
  const r = await importMembers(s, await workbook([
    ['x1', '甲', '研发部/新组', '', '', '', '', '', '否'],
    ['x2', '乙', '市场部', '', '', '', '', '', '否'],
  ]), { scopeDeptIds: new Set([mine.id]) });
  t.notOk(r.ok);
  if (!r.ok) t.same(r.errors.map((e) => e.row), [3]);
  t.equal(countUsers(s), 0);
});

t.test('HTTP routes: template, import with report, export, action log', async (t) => {
  const s = makeServices(t);
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  installErrorHandler(app, createLogger('silent'));
  registerAdminAuthRoutes(app, { admin: s.admin });
  registerExcelRoutes(app, { services: s });
  await app.ready();
  t.teardown(() => app.close());
  const setup = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', payload: { username: 'root', password: 'console-secret-1' } });
  t.equal(setup.statusCode, 201);
  const cookie = String(setup.headers['set-cookie']).split(';')[0]!;
  const csrf = String((setup.json() as { csrfToken: string }).csrfToken);
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });
  const post = (payload: Buffer, type = XLSX_MIME) => app.inject({ method: 'POST', url: '/api/admin/excel/import', payload, headers: { cookie, 'x-csrf-token': csrf, 'content-type': type } });

  t.equal((await app.inject({ method: 'GET', url: '/api/admin/excel/template' })).statusCode, 401, 'needs a session');
  const tpl = await get('/api/admin/excel/template');
  t.equal(tpl.statusCode, 200);
  t.equal(tpl.headers['content-type'], XLSX_MIME);
  t.match(String(tpl.headers['content-disposition']), /filename\*=UTF-8''/);
  t.ok((await parseMemberWorkbook(tpl.rawPayload)).ok);

  const noCsrf = await app.inject({ method: 'POST', url: '/api/admin/excel/import', payload: await workbook(goodRows(1, 0)), headers: { cookie, 'content-type': XLSX_MIME } });
  t.equal(noCsrf.statusCode, 403, 'CSRF token required');
  const junk = await post(randomBytes(4096));
  t.equal(junk.statusCode, 400);
  t.match(junk.json(), { error: { code: 'GW_BAD_REQUEST', details: { problem: 'not_xlsx' } } });
  const huge = await post(Buffer.alloc(21 * 1024 * 1024));
  t.equal(huge.statusCode, 413);
  t.equal((await post(Buffer.from('{}'), 'application/json')).statusCode, 400, 'JSON is not a workbook');

  const rows = goodRows(20, 2);
  rows[3]![0] = '';
  const bad = await post(await workbook(rows));
  t.equal(bad.statusCode, 200);
  const b = bad.json() as { ok: boolean; errorCount: number; errors: { row: number }[]; reportId: string };
  t.match(b, { ok: false, errorCount: 1, errors: [{ row: 5, column: '帐号' }] });
  const rep = await get(`/api/admin/excel/import/${b.reportId}/report`);
  t.equal(rep.statusCode, 200);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(rep.rawPayload as unknown as ExcelJS.Buffer);
  t.same((wb.worksheets[0]!.getRow(2).values as unknown[]).slice(1, 3), [5, '帐号']);
  t.same((wb.worksheets[0]!.getRow(1).values as unknown[]).slice(1), ['行号', '列', '值', '错误']);
  t.equal((await get('/api/admin/excel/import/nope/report')).statusCode, 404);
  t.equal(countUsers(s), 0);

  const good = await post(await workbook(goodRows(20, 2)));
  t.same(good.json(), { ok: true, created: 20, authorised: 2, deptsCreated: 12 });
  t.same((await get('/api/admin/excel/import/progress')).json(), { running: false });
  const exp = await get('/api/admin/excel/export');
  t.equal(exp.statusCode, 200);
  t.equal(exp.headers['x-content-type-options'], 'nosniff', 'admin security headers apply');
  const ewb = new ExcelJS.Workbook();
  await ewb.xlsx.load(exp.rawPayload as unknown as ExcelJS.Buffer);
  t.equal(ewb.getWorksheet('成员')!.rowCount, 21);
  const log = await s.admin.queryLog({});
  t.same(log.entries.map((e) => e.action).filter((a) => a.startsWith('member.import') || a === 'org.export').sort(), ['member.import', 'member.import_refused', 'org.export']);
});
