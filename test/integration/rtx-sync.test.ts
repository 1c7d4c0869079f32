import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateOrg, GB18030_ONLY_CHARS } from '../../rtx-adapter/sim/generate.js';
import { encodeRtxExportXml } from '../../rtx-adapter/sim/export-xml.js';
import type { SimOrg } from '../../rtx-adapter/sim/model.js';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import type { OrgSnapshot } from '../../gateway/src/rtx/types.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';
import { consoleSession, lastRunId, nextFinishedRun, ScriptedAdapter, simToSnapshot } from '../helpers/rtx.js';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Every RTX-origin entry of the directory, keyed by RTX ids, in the snapshot's terms. */
async function directoryAsSnapshot(g: TestGateway): Promise<OrgSnapshot> {
  const dir = g.gw.services.directory;
  const depts = (await dir.listDepts()).filter((d) => d.origin === 'rtx');
  const extOf = new Map<number, string>(depts.map((d) => [d.id, d.externalId as string]));
  const users = [];
  for (let after = 0; ; ) {
    const page = await dir.searchUsers({ limit: 1000, offset: after });
    for (const u of page.users) {
      if (u.origin !== 'rtx') continue;
      const main = u.depts.find((d) => d.main)?.deptId;
      const others = u.depts.filter((d) => !d.main).map((d) => extOf.get(d.deptId) as string).sort();
      users.push({
        account: u.externalId as string, name: u.name, gender: u.gender, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title,
        disabled: u.status === 'disabled', deptIds: [...(main !== undefined ? [extOf.get(main) as string] : []), ...others],
      });
    }
    after += page.users.length;
    if (page.users.length < 1000) break;
  }
  const groupIds = await dir.groupIdsMatching('');
  const groups = [];
  for (const id of groupIds) {
    const g2 = await dir.getGroup(id);
    if (!g2 || g2.origin !== 'rtx') continue;
    const members = (await dir.getUsers(g2.memberIds)).map((u) => u.account).sort();
    groups.push({ id: g2.externalId as string, name: g2.name, members });
  }
  return {
    depts: depts.map((d) => ({ id: d.externalId as string, parentId: d.parentId === null ? null : (extOf.get(d.parentId) as string), name: d.name, order: d.order })),
    users, groups,
  };
}

/** The snapshot normalised the same way (users' extra departments sorted, no uin, members sorted), for an exact comparison. */
function normalised(s: OrgSnapshot): OrgSnapshot {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    depts: [...s.depts].sort(byId),
    users: s.users
      .map((u) => ({ account: u.account, name: u.name, gender: u.gender, mobile: u.mobile, email: u.email, phone: u.phone, title: u.title, disabled: u.disabled, deptIds: [...u.deptIds.slice(0, 1), ...u.deptIds.slice(1).sort()] }))
      .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0)),
    groups: s.groups.map((g) => ({ id: g.id, name: g.name, members: [...g.members].sort() })).sort(byId),
  };
}

t.test('an RTX org of 5,000 users arrives exactly; changes, removals and an unchanged snapshot', async (t) => {
  const g = await startGateway(t);
  // a local user who has an RTX account: adopted by the first sync
  const local = await g.addUser('lisi', { name: '本地李四' });
  const localOnly = await g.addUser('local.only', { name: '本地用户' });
  const adapter = await ScriptedAdapter.connect(t, g);
  const org: SimOrg = generateOrg({ users: 5000, departments: 400, groups: 100, seed: 7 });
  const snap = simToSnapshot(org);
  t.ok(snap.users.some((u) => GB18030_ONLY_CHARS.some((c) => u.name.includes(c))), 'the org has GB18030-only characters in names');
  // one group over the RTX limit of 80
  snap.groups[0] = { ...(snap.groups[0] as OrgSnapshot['groups'][number]), members: snap.users.slice(0, 100).map((u) => u.account) };

  const t0 = performance.now();
  await adapter.sendSnapshot(snap);
  const run = await nextFinishedRun(g, 0);
  const firstMs = performance.now() - t0;
  t.comment(`first sync of 5,000 users / 400 depts / 100 groups: ${Math.round(firstMs)} ms end to end; run timings ${JSON.stringify(run.timings)}`);
  t.equal(run.state, 'applied', run.error ?? '');
  t.equal(run.source, 'adapter:com');
  t.match(run.counts, { depts: { created: 400, updated: 0, removed: 0 }, users: { created: 4999, updated: 1, removed: 0, adopted: 1 }, groups: { created: 100, updated: 0, removed: 0 } });
  // trial licence: 50 seats, two taken by the local users
  const authorised = await g.gw.services.directory.countUsers({ authorised: true });
  t.ok(authorised <= 50, `never more authorised users than seats (${authorised})`);
  t.equal(run.counts?.unauthorised, 4999 - 48, 'new users beyond the free seats are reported unauthorised');
  t.ok(run.warnings.some((w) => /could not be authorised/.test(w)), 'with a warning');
  t.ok(run.warnings.some((w) => /over the RTX group limit of 80/.test(w)), 'the group over 80 is reported');
  t.ok(run.warnings.some((w) => /adopted/.test(w) && w.includes('lisi')), 'the adopted local user is reported');

  const want = clone(snap);
  (want.groups[0] as { members: string[] }).members = (want.groups[0] as { members: string[] }).members.slice(0, 80);
  t.same(normalised(await directoryAsSnapshot(g)), normalised(want), 'every department, user and group arrived exactly');
  const adopted = await g.gw.services.directory.getUserByAccount('lisi');
  t.equal(adopted?.id, local.id, 'the local lisi keeps their id');
  t.equal(adopted?.origin, 'rtx');
  t.equal(adopted?.name, snap.users.find((u) => u.account === 'lisi')?.name);
  t.equal((await g.gw.services.directory.getUser(localOnly.id))?.origin, 'local', 'other local users are untouched');

  // ---- changes on the RTX side ----
  const next = clone(snap);
  const renamed = next.users[10] as OrgSnapshot['users'][number];
  renamed.name = '改名𠮷';
  const moved = next.users[11] as OrgSnapshot['users'][number];
  moved.deptIds = [(next.depts[5] as { id: string }).id];
  const removedUser = next.users.splice(12, 1)[0] as OrgSnapshot['users'][number];
  const removedGroup = next.groups.splice(3, 1)[0] as OrgSnapshot['groups'][number];
  const removedGroupId = (await g.gw.services.directory.groupByExternalId(removedGroup.id))?.id;
  for (const g2 of next.groups) g2.members = g2.members.filter((m) => m !== removedUser.account);
  const renamedDept = next.depts[7] as OrgSnapshot['depts'][number];
  renamedDept.name = `${renamedDept.name}（新）`;
  const dir = g.gw.services.directory;
  const before = await dir.version();
  const removedUserRec = await dir.getUserByAccount(removedUser.account);
  const groupsOfRemoved = new Set((await dir.groupsOfUser(removedUserRec?.id as UserId)).map((x) => x.id as number));
  const extOfGroup = new Map((await dir.groupsOfUser(removedUserRec?.id as UserId)).map((x) => [x.id as number, x.externalId as string]));
  await adapter.sendSnapshot(next);
  const run2 = await nextFinishedRun(g, run.id);
  t.equal(run2.state, 'applied', run2.error ?? '');
  const stillThere = new Set(next.groups.map((x) => x.id));
  const touched = [...groupsOfRemoved].filter((id) => stillThere.has(extOfGroup.get(id) ?? '')).length;
  t.match(run2.counts, { depts: { created: 0, updated: 1, removed: 0 }, users: { created: 0, updated: 2, removed: 1 }, groups: { created: 0, updated: touched, removed: 1 } });
  const ch = await g.gw.services.directory.delta(1 as UserId, before);
  t.same(ch.depts.map((d) => d.name), [renamedDept.name], 'only the renamed department changed');
  t.same(ch.users.map((u) => u.account).sort(), [renamed.account, moved.account].sort(), 'only the renamed and the moved user changed');
  t.same(ch.removed.users, [removedUserRec?.id], 'the removed user is gone');
  const db = g.gw.services.db;
  const changedGroups = db.prepare('SELECT id FROM groups WHERE version > ?').pluck().all(before) as number[];
  t.ok(changedGroups.length > 0 && changedGroups.every((x) => groupsOfRemoved.has(x)), 'groups changed only where the removed user was a member');
  t.same(db.prepare("SELECT object_id FROM dir_tombstones WHERE kind = 'group' AND version > ?").pluck().all(before), [removedGroupId], 'the removed group is gone');
  want.groups = next.groups.map((x, i) => (i === 0 ? { ...x, members: x.members.slice(0, 80) } : x));
  t.same(normalised(await directoryAsSnapshot(g)), normalised({ ...next, groups: want.groups }), 'the directory equals the new snapshot');

  // ---- an unchanged snapshot changes nothing, fast ----
  const v2 = await dir.version();
  const t1 = performance.now();
  await adapter.sendSnapshot(next);
  const run3 = await nextFinishedRun(g, run2.id);
  const unchangedMs = performance.now() - t1;
  t.comment(`unchanged re-sync of 5,000 users: ${Math.round(unchangedMs)} ms end to end; run timings ${JSON.stringify(run3.timings)}`);
  t.equal(run3.state, 'applied');
  t.match(run3.counts, { depts: { created: 0, updated: 0, removed: 0 }, users: { created: 0, updated: 0, removed: 0 }, groups: { created: 0, updated: 0, removed: 0 }, unauthorised: 0 });
  t.equal(await dir.version(), v2, 'no directory version bump');
  t.ok(unchangedMs < 2000, `under 2 s (${Math.round(unchangedMs)} ms)`);

  // ---- an incomplete snapshot (a page missing) is discarded ----
  await adapter.sendSnapshot(renameAll(next), { skip: { kind: 'users', page: 2 } });
  const run4 = await nextFinishedRun(g, run3.id);
  t.equal(run4.state, 'discarded');
  t.match(run4.error, /incomplete snapshot.*users: 5 pages announced, 4 received/);
  t.equal(await dir.version(), v2, 'nothing was applied');

  // ---- RTX-owned fields are read-only in the console ----
  const admin = await consoleSession(g);
  const u = (await dir.getUserByAccount(renamed.account)) as NonNullable<Awaited<ReturnType<typeof dir.getUserByAccount>>>;
  let r = await admin.send('PATCH', `/api/admin/members/${u.id}`, { rowVersion: u.rowVersion, name: '控制台改名', mobile: '13900000000' });
  t.equal(r.status, 409);
  const body = (await r.json()) as { error: { code: string; details: { fields: string[] } } };
  t.equal(body.error.code, 'GW_RTX_OWNED');
  t.same(body.error.details.fields, ['name', 'mobile']);
  r = await admin.send('PATCH', `/api/admin/members/${u.id}`, { rowVersion: u.rowVersion, name: u.name, order: 5 });
  t.equal(r.status, 200, 'the same value and local fields (order) are fine');
  const d = (await dir.listDepts()).find((x) => x.externalId === renamedDept.id);
  r = await admin.send('PATCH', `/api/admin/depts/${d?.id}`, { name: '控制台部门' });
  t.equal(r.status, 409);
  t.match(await r.json(), { error: { code: 'GW_RTX_OWNED', details: { fields: ['name'] } } });
  r = await admin.send('PATCH', `/api/admin/members/${localOnly.id}`, { rowVersion: (await dir.getUser(localOnly.id))?.rowVersion, name: '本地改名' });
  t.equal(r.status, 200, 'local members stay editable');

  // ---- the runs, in the console ----
  r = await admin.get('/api/admin/rtx/runs?limit=10');
  t.equal(r.status, 200);
  const runs = ((await r.json()) as { runs: { id: number; state: string }[] }).runs;
  t.same(runs.slice(0, 4).map((x) => x.state), ['discarded', 'applied', 'applied', 'applied']);
  r = await admin.send('POST', '/api/admin/rtx/sync', {});
  t.equal(r.status, 202);
  t.same(await r.json(), { requested: true });
  await adapter.next('gw.sync.request', (b) => /console/.test(String(b.reason)));
});

function renameAll(s: OrgSnapshot): OrgSnapshot {
  const c = clone(s);
  for (const u of c.users) u.name = `${u.name}X`;
  return c;
}

t.test('export XML import: dry run, apply, bad files; console and CLI', async (t) => {
  const g = await startGateway(t);
  const admin = await consoleSession(g);
  const org = generateOrg({ users: 300, departments: 30, groups: 10, seed: 3 });
  const xml = encodeRtxExportXml(org);
  const xmlHeaders = { 'content-type': 'application/xml' };

  let r = await admin.send('POST', '/api/admin/rtx/import-xml?dryRun=true', xml, xmlHeaders);
  t.equal(r.status, 200);
  const dry = (await r.json()) as { runId: number; plan: { users: { created: number } }; applied: boolean; warnings: string[] };
  t.match(dry, { applied: false, plan: { depts: { created: 30 }, users: { created: 300 }, groups: { created: 10 } } });
  t.equal((await g.gw.services.directory.countUsers()), 0, 'a dry run changes nothing');
  t.equal(g.gw.services.rtxSync.run(dry.runId)?.state, 'planned');

  r = await admin.send('POST', '/api/admin/rtx/import-xml?dryRun=false', xml, { 'content-type': 'application/octet-stream' });
  t.equal(r.status, 200);
  t.match(await r.json(), { applied: true, plan: { users: { created: 300 } } });
  t.same(normalised(await directoryAsSnapshot(g)), normalised(simToSnapshot(org)), 'the export arrived exactly (GB18030 names included)');
  t.equal(g.gw.services.rtxSync.runs(1)[0]?.source, 'xml');

  r = await admin.send('POST', '/api/admin/rtx/import-xml?dryRun=false', Buffer.from('<?xml version="1.0"?><NotRtx/>'), xmlHeaders);
  t.equal(r.status, 400);
  t.match(await r.json(), { error: { code: 'GW_BAD_REQUEST', message: /not a readable RTX export XML file: not an RTX export/ } });
  r = await admin.send('POST', '/api/admin/rtx/import-xml', xml.subarray(0, xml.length >> 1), xmlHeaders);
  t.equal(r.status, 400, 'a truncated file is refused');
  r = await admin.send('POST', '/api/admin/rtx/sync', {});
  t.equal(r.status, 409, 'no adapter connected');
  t.match(await r.json(), { error: { code: 'GW_RTX_NOT_CONNECTED', message: /no RTX adapter is connected/ } });

  // the CLI, without a running server, on another data dir
  const dataDir = tempDir(t);
  const file = path.join(tempDir(t), 'export.xml');
  writeFileSync(file, xml);
  let c = await runCli(['rtx', 'import-xml', file, '--dry-run', '--data', dataDir]);
  t.equal(c.code, 0, c.stderr);
  t.match(c.stdout, /dry run, nothing changed[\s\S]*users:\s+300 created/);
  c = await runCli(['rtx', 'import-xml', file, '--data', dataDir]);
  t.equal(c.code, 0, c.stderr);
  t.match(c.stdout, /applied[\s\S]*users:\s+300 created/);
  c = await runCli(['rtx', 'import-xml', file, '--data', dataDir]);
  t.match(c.stdout, /users:\s+0 created, 0 updated, 0 removed/, 'importing the same file again changes nothing');
  c = await runCli(['rtx', 'runs', '--data', dataDir]);
  t.equal(c.code, 0);
  t.match(c.stdout, /#3 .* xml applied[\s\S]*#2 .* xml applied[\s\S]*#1 .* xml planned/);
  c = await runCli(['rtx', 'sync', '--data', dataDir]);
  t.equal(c.code, 1);
  t.match(c.stderr, /GW_RTX_NOT_CONNECTED: the Huitong server is not running/);
  c = await runCli(['rtx', 'import-xml', path.join(dataDir, 'nope.xml'), '--data', dataDir]);
  t.equal(c.code, 1);
  t.match(c.stderr, /GW_BAD_REQUEST: cannot read .*ENOENT/);
});

t.test('the runs list before any sync; lastRunId helper', async (t) => {
  const g = await startGateway(t);
  t.equal(lastRunId(g), 0);
});
