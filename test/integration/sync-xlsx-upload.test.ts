/**
 * The spreadsheet source's file over the admin API (docs/admin-api-sync.md
 * "Spreadsheet file"): uploads checked in full before anything is stored,
 * hostile input refused with nothing written, and a bad file that fails every
 * run until it is replaced, with scheduled runs skipping the same file quickly.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { XlsxFileView } from '../../gateway/src/admin/routes-sync-files.js';
import type { RunView } from '../../gateway/src/sync/types.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { consoleSession } from '../helpers/rtx.js';
import { directoryState, memberWorkbook, zipBombOf, type MemberCells } from '../helpers/xlsx.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const API = '/api/admin/sync/sources';

const ROWS: MemberCells[] = [
  ['zhangsan', '张三', '研发部/平台组', '13800138000', 'zhangsan@example.com', '工程师', '男'],
  ['lisi', '李四', '市场部；研发部/产品组', '', 'lisi@example.com', '产品经理', '女'],
  ['wangwu', '王五', '研发部'],
];
const BAD_ROWS: MemberCells[] = [
  ['zhangsan', '张三改', '研发部', '', 'not-an-email'],
  ['newbie', '', '研发部'],
  ['ZhangSan', '重复', '研发部', '', '', '', '不详'],
];

type Session = Awaited<ReturnType<typeof consoleSession>>;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const dirState = (g: TestGateway): string => directoryState(g.gw.services.db);

/** Every file under `dir`, as paths relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

async function put(c: Session, id: string, name: string | null, body: Buffer, type = XLSX): Promise<Response> {
  const q = name === null ? '' : `?name=${encodeURIComponent(name)}`;
  return c.send('PUT', `${API}/${id}/file${q}`, body, { 'content-type': type });
}

async function fileView(c: Session, id: string): Promise<XlsxFileView> {
  const r = await c.get(`${API}/${id}/file`);
  if (r.status !== 200) throw new Error(`GET file: ${r.status} ${await r.text()}`);
  return (await r.json()) as XlsxFileView;
}

async function run(g: TestGateway, id: string, trigger: 'manual' | 'schedule' = 'manual'): Promise<RunView> {
  const sync = g.gw.services.sync;
  return sync.waitFor(sync.startRun(id, { trigger, dryRun: false, requestedBy: trigger === 'schedule' ? 'schedule (test)' : 'test' }));
}

t.test('uploaded in the console: checked before it is stored, read by runs, replaced by the next upload', async (t) => {
  const g = await startGateway(t);
  const c = await consoleSession(g);
  const sync = g.gw.services.sync;
  const created = await c.send('POST', API, { id: 'hr', kind: 'xlsx', name: 'HR 表格', config: {} });
  t.equal(created.status, 201, await created.clone().text());
  t.same(((await created.json()) as { config: unknown }).config, { pattern: '*.xlsx', after: 'keep', settleSeconds: 5 }, 'no folder: uploads, kept (never archived)');
  const folder = path.join(g.dataDir, 'imports', 'hr');

  let view = await fileView(c, 'hr');
  t.match(view, { mode: 'upload', folder, pattern: '*.xlsx', current: null, older: 0, folderProblem: null, maxBytes: 20 * 1024 * 1024 });
  t.match(await sync.testConnection('hr'), { ok: false, steps: [{ step: 'folder', ok: true, code: 'FOLDER_UPLOADS' }, { step: 'file', ok: false, code: 'FILE_NONE', messageZh: /还没有上传表格/ }] });
  const none = await run(g, 'hr');
  t.equal(none.state, 'applied', none.error ?? '');
  t.match(none.warnings, [/no spreadsheet has been uploaded yet/]);

  // ---- a good workbook ----
  const good = await memberWorkbook(ROWS);
  const up = await put(c, 'hr', '成员名单.xlsx', good);
  t.equal(up.status, 201, await up.clone().text());
  view = (await up.json()) as XlsxFileView;
  t.match(view.current, { name: '成员名单.xlsx', size: good.length, sha256: sha(good), rows: 3, depts: 4, status: 'new', uploadedBy: 'root', check: { ok: true } });
  t.ok(Math.abs((view.current?.uploadedAt ?? 0) - Date.now()) < 60_000, 'with the upload time');
  t.same(tree(folder), ['.huitong-upload.json', '成员名单.xlsx'], 'stored under <dataDir>/imports/hr with its manifest, no temporary file left');
  t.equal(sha(readFileSync(path.join(folder, '成员名单.xlsx'))), sha(good), 'byte for byte');
  t.match(await sync.testConnection('hr'), {
    ok: true,
    steps: [
      { step: 'folder', ok: true },
      { step: 'file', ok: true, message: /the current file is 成员名单\.xlsx/ },
      { step: 'workbook', ok: true, message: /3 rows in 4 departments/, messageZh: /3 行，4 个部门/ },
      { step: 'rows', ok: true },
    ],
  });
  const log = g.gw.services.db.prepare("SELECT admin_username, target_label, after_json FROM admin_action_log WHERE action = 'sync.source.file_upload'").get() as { admin_username: string; target_label: string; after_json: string };
  t.match(log, { admin_username: 'root', target_label: '成员名单.xlsx' }, 'the upload is in the action log');
  t.match(JSON.parse(log.after_json), { rows: 3, sha256: sha(good) });

  // uploaded just now, yet read at once: the upload stored it whole (settleSeconds is for files copied in)
  const r1 = await run(g, 'hr');
  t.equal(r1.state, 'applied', r1.error ?? '');
  t.match(r1.counts, { users: { create: 3 }, depts: { create: 4 } });
  t.match((await fileView(c, 'hr')).current, { status: 'applied', failedRunId: null });

  // ---- refused uploads: nothing stored, the previous file stays, the directory is untouched ----
  const before = dirState(g);
  const files = tree(g.dataDir).filter((f) => !f.startsWith('huitong.db'));
  const manifest = readFileSync(path.join(folder, '.huitong-upload.json'), 'utf8');
  const refused = async (what: string, res: Response, status: number, code: string, details?: Record<string, unknown>) => {
    const text = await res.text();
    t.equal(res.status, status, `${what}: ${text.slice(0, 300)}`);
    const err = (JSON.parse(text) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
    t.equal(err.code, code, `${what}: ${code}`);
    if (details) t.match(err.details, details, `${what}: details`);
    return err;
  };

  const rowsErr = await refused('bad rows', await put(c, 'hr', 'bad.xlsx', await memberWorkbook(BAD_ROWS)), 422, 'GW_SYNC_FILE_INVALID', {
    problem: 'rows', rows: 3, badRows: 3, problemCount: 4,
    problems: [
      { label: 'row 2, 邮箱', message: /email not-an-email is not valid/ },
      { label: 'row 3, 姓名', message: /required/ },
      { label: 'row 4, 帐号', message: /already used on row 2/ },
      { label: 'row 4, 性别', message: /男 or 女/ },
    ],
  });
  t.match(rowsErr.message, /bad\.xlsx has problems on 3 of 3 rows; it was not stored \(the source keeps its previous file\)/);
  await refused('not a workbook', await put(c, 'hr', 'notes.xlsx', Buffer.from('these are not the members you are looking for')), 422, 'GW_SYNC_FILE_INVALID', { problem: 'not_xlsx' });
  await refused('zip bomb', await put(c, 'hr', 'bomb.xlsx', zipBombOf(good)), 422, 'GW_SYNC_FILE_INVALID', { problem: 'zip_bomb' });
  await refused('wrong columns', await put(c, 'hr', 'cols.xlsx', await memberWorkbook(ROWS, { headers: ['account', 'name', 'dept'] })), 422, 'GW_SYNC_FILE_INVALID', { problem: 'bad_columns' });
  const asText = await refused('sent as text', await put(c, 'hr', 'members.xlsx', good, 'text/plain'), 400, 'GW_BAD_REQUEST');
  t.match(asText.message, /send the \.xlsx workbook as the request body, with content-type application\/vnd\.openxmlformats/);
  await refused('another type', await put(c, 'hr', 'members.xlsx', good, 'application/pdf'), 415, 'GW_BAD_REQUEST');
  await refused('a JSON body', await c.send('PUT', `${API}/hr/file?name=x.xlsx`, { rows: [] }), 400, 'GW_BAD_REQUEST');
  await refused('oversized', await put(c, 'hr', 'big.xlsx', Buffer.alloc(21 * 1024 * 1024, 1)), 413, 'GW_FILE_TOO_LARGE');
  await refused('empty', await put(c, 'hr', 'empty.xlsx', Buffer.alloc(0)), 400, 'GW_BAD_REQUEST');
  await refused('no name', await put(c, 'hr', null, good), 400, 'GW_BAD_REQUEST');
  for (const name of ['../evil.xlsx', '../../../evil.xlsx', 'sub/evil.xlsx', '..\\evil.xlsx', '/tmp/evil.xlsx', '.hidden.xlsx', '~$lock.xlsx', 'evil.xls', 'evil.xlsx.sh', 'evil\u0001.xlsx', 'evil\0.xlsx', '..', `${'长'.repeat(130)}.xlsx`]) {
    await refused(`name ${JSON.stringify(name)}`, await put(c, 'hr', name, good), 400, 'GW_BAD_REQUEST');
  }
  t.same(tree(g.dataDir).filter((f) => !f.startsWith('huitong.db')), files, 'nothing was written anywhere in the data directory');
  t.notOk(existsSync(path.join(g.dataDir, '..', 'evil.xlsx')) || existsSync('/tmp/evil.xlsx'), 'nor outside it');
  t.equal(readFileSync(path.join(folder, '.huitong-upload.json'), 'utf8'), manifest, 'the manifest still describes the previous file');
  t.match((await fileView(c, 'hr')).current, { name: '成员名单.xlsx', sha256: sha(good), status: 'applied' }, 'the source keeps its previous file');
  t.equal(dirState(g), before, 'the directory is untouched');

  // ---- a replacement: the previous upload goes to processed/ ----
  const next = await memberWorkbook([...ROWS.map((r) => (r[0] === 'wangwu' ? ['wangwu', '王五', '研发部/平台组'] : r)), ['zhaoliu', '赵六', '市场部']]);
  const up2 = await put(c, 'hr', 'members-2.xlsx', next);
  t.equal(up2.status, 201, await up2.clone().text());
  t.match(((await up2.json()) as XlsxFileView).current, { name: 'members-2.xlsx', rows: 4, status: 'new' });
  t.same(tree(folder).filter((f) => !f.startsWith('processed/')), ['.huitong-upload.json', 'members-2.xlsx'], 'one current file');
  t.match(tree(folder).filter((f) => f.startsWith('processed/')), [/^processed\/\d{8}-\d{6}Z-superseded-成员名单\.xlsx$/], 'the previous one kept in processed/');
  const r2 = await run(g, 'hr');
  t.equal(r2.state, 'applied', r2.error ?? '');
  t.match(r2.counts, { users: { create: 1, move: 1 } });
  // the same name again replaces the file in place (a copy of the replaced one is kept)
  const up3 = await put(c, 'hr', 'members-2.xlsx', good);
  t.equal(up3.status, 201);
  t.equal(tree(folder).filter((f) => f.startsWith('processed/')).length, 2);

  // only spreadsheet sources have a file
  await c.send('POST', API, { id: 'mem', kind: 'memory', config: { directory: 'x' } });
  t.equal((await c.get(`${API}/mem/file`)).status, 404);
  t.equal((await put(c, 'mem', 'a.xlsx', good)).status, 404);
  t.equal((await c.get(`${API}/nope/file`)).status, 404);
});

t.test('a watched folder: a bad file fails every run until replaced, scheduled runs skip the same file, a manual run reads it again', async (t) => {
  const g = await startGateway(t);
  const c = await consoleSession(g);
  const sync = g.gw.services.sync;
  const folder = tempDir(t, 'huitong-drop-');
  const created = await c.send('POST', API, { id: 'drop', kind: 'xlsx', config: { folder, pattern: 'hr-*.xlsx', settleSeconds: 600 } });
  t.equal(created.status, 201, await created.clone().text());
  const drop = async (name: string, rows: MemberCells[]) => {
    const file = path.join(folder, name);
    writeFileSync(file, await memberWorkbook(rows));
    const at = new Date(Date.now() - 3_600_000);
    utimesSync(file, at, at);
  };

  await drop('hr-1.xlsx', ROWS);
  t.equal((await run(g, 'drop')).state, 'applied');
  t.same(readdirSync(folder).sort(), ['processed'], 'applied and archived');

  // ---- a bad file: the run fails with its rows, nothing changes, the file stays ----
  const before = dirState(g);
  await drop('hr-2.xlsx', BAD_ROWS);
  const check = await sync.testConnection('drop');
  t.match(check, { ok: false, steps: [{ step: 'folder', ok: true }, { step: 'file', ok: true }, { step: 'workbook', ok: true }, { step: 'rows', ok: false, code: 'ROWS_BAD' }] });
  t.match(check.steps[3]?.message, /3 of 3 rows have problems \(4 in all\); a run with this file fails and changes nothing\. First: row 2, 邮箱: email not-an-email is not valid/);
  t.match(check.steps[3]?.messageZh, /3 行中有 3 行有问题（共 4 处）.*第 2 行，邮箱/);

  const f1 = await run(g, 'drop', 'schedule');
  t.equal(f1.state, 'failed');
  t.match(f1.error, /^file hr-2\.xlsx has problems on 3 of 3 rows; nothing was applied \(drop a corrected file in /);
  t.equal(f1.errorCount, 4);
  t.match(f1.errors, [{ label: 'row 2, 邮箱' }, { label: 'row 3, 姓名' }, { label: 'row 4, 帐号' }, { label: 'row 4, 性别' }]);
  t.equal(dirState(g), before, 'a run with a bad file changes nothing');
  t.same(readdirSync(folder).sort(), ['hr-2.xlsx', 'processed'], 'the bad file stays');

  // the same file at the next scheduled slot: not parsed again, the same reason and rows
  const f2 = await run(g, 'drop', 'schedule');
  t.equal(f2.state, 'failed');
  t.match(f2.error, new RegExp(`^same file as the failed run ${f1.id}, not read again \\(a manual sync reads it again\\): file hr-2\\.xlsx has problems`));
  t.same([f2.errors, f2.errorCount], [f1.errors, f1.errorCount], 'the rows at fault are on this run too');
  t.equal(f2.timings?.readMs, undefined, 'nothing was read');
  t.match(sync.source('drop').lastError, /same file as the failed run/);
  const f3 = await run(g, 'drop', 'schedule');
  t.match(f3.error, new RegExp(`^same file as the failed run ${f1.id}, not read again \\(a manual sync reads it again\\): file hr-2\\.xlsx has problems`), 'and at every slot after, naming the run that read it');

  // "sync now" reads it again
  const m = await run(g, 'drop', 'manual');
  t.equal(m.state, 'failed');
  t.match(m.error, /^file hr-2\.xlsx has problems on 3 of 3 rows/);
  t.equal(m.errorCount, 4);
  t.equal(dirState(g), before, 'still nothing changed');
  const again = await run(g, 'drop', 'schedule');
  t.match(again.error, new RegExp(`^same file as the failed run ${m.id},`), 'the next slot refers to the manual run, which read it last');

  const bad = await fileView(c, 'drop');
  t.match(bad, { mode: 'folder', folder, pattern: 'hr-*.xlsx', older: 0 });
  t.match(bad.current, { name: 'hr-2.xlsx', status: 'failed', failedRunId: again.id, rows: 3, depts: null, uploadedAt: null, check: { ok: false, problem: 'rows', badRows: 3, problemCount: 4 } });

  // ---- replaced through the console: the upload lands in the watched folder ----
  const named = await put(c, 'drop', 'members.xlsx', await memberWorkbook(ROWS));
  t.equal(named.status, 400, 'a name the pattern does not match is refused');
  t.match(await named.text(), /reads files matching hr-\*\.xlsx/);
  const fixed = await memberWorkbook([...ROWS, ['zhaoliu', '赵六', '市场部']]);
  const up = await put(c, 'drop', 'hr-3.xlsx', fixed);
  t.equal(up.status, 201, await up.clone().text());
  t.match(((await up.json()) as XlsxFileView).current, { name: 'hr-3.xlsx', status: 'new', rows: 4, uploadedBy: 'root' });
  t.ok(Date.now() - statSync(path.join(folder, 'hr-3.xlsx')).mtimeMs < 600_000, 'modified just now, within settleSeconds');
  const ok = await run(g, 'drop', 'schedule');
  t.equal(ok.state, 'applied', `${ok.error ?? ''} ${ok.warnings.join('; ')}`);
  t.equal(ok.counts?.users.create, 1, 'the uploaded file is read at once');
  t.same(readdirSync(folder).filter((f) => f.endsWith('.xlsx')), [], 'archived');
  t.same(readdirSync(path.join(folder, 'processed')).map((f) => f.replace(/^\d{8}-\d{6}Z-/, '')).sort(), ['hr-1.xlsx', 'hr-3.xlsx', 'superseded-hr-2.xlsx'], 'with the bad file it superseded');
  t.equal(sync.source('drop').lastError, null);
});
