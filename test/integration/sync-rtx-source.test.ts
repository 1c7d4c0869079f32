import t from 'tap';
import type { OrgSnapshot } from '../../gateway/src/rtx/types.js';
import { startGateway } from '../helpers/gateway.js';
import { makeServices } from '../helpers/services.js';
import { ScriptedAdapter, waitFor } from '../helpers/rtx.js';

const SNAP: OrgSnapshot = {
  depts: [{ id: 'd1', parentId: null, name: '总部', order: 0 }],
  users: [
    { account: 'rtx.a', name: '甲', gender: 'male', mobile: '', email: '', phone: '', title: '', disabled: false, deptIds: ['d1'] },
    { account: 'rtx.b', name: '乙', gender: 'female', mobile: '', email: '', phone: '', title: '', disabled: false, deptIds: ['d1'] },
  ],
  groups: [],
};

t.test('rtx source without a running server: the run fails with GW_RTX_NOT_CONNECTED’s message', async (t) => {
  const s = makeServices(t);
  s.sync.createSource({ id: 'rtx', kind: 'rtx', config: {} });
  t.match(s.sync.source('rtx').config, { timeoutSeconds: 900 });
  t.throws(() => s.sync.createSource({ id: 'rtx2', kind: 'rtx', config: { timeoutSeconds: 1 } }), /timeoutSeconds/);
  const run = await s.sync.waitFor(s.sync.startRun('rtx', { trigger: 'manual', dryRun: false, requestedBy: 'test' }));
  t.equal(run.state, 'failed');
  t.match(run.error, /no RTX adapter is connected/);
  t.match(await s.sync.testConnection('rtx'), {
    ok: false,
    steps: [
      { step: 'adapter', ok: false, code: 'ADAPTER_NO_SERVER', message: /not running/, messageZh: /汇通服务没有运行/ },
      { step: 'directory', ok: true, code: 'DIRECTORY_NEVER_SYNCED', message: 'Huitong holds 0 RTX users (0 disabled) in 0 departments; no RTX sync has run yet' },
    ],
  });
});

t.test('rtx source: a run asks the adapter for a snapshot and records the RTX run it produced', async (t) => {
  const g = await startGateway(t);
  const sync = g.gw.services.sync;
  sync.createSource({ id: 'rtx', kind: 'rtx', config: { timeoutSeconds: 60 }, schedule: '0 * * * *' });

  const none = await sync.waitFor(sync.startRun('rtx', { trigger: 'manual', dryRun: false, requestedBy: 'test' }));
  t.equal(none.state, 'failed', 'no adapter connected yet');
  t.match(none.error, /no RTX adapter is connected: start the adapter/);
  t.match(await sync.testConnection('rtx'), { ok: false, steps: [{ step: 'adapter', ok: false }] });

  const adapter = await ScriptedAdapter.connect(t, g);
  t.match(await sync.testConnection('rtx'), { ok: true, steps: [{ step: 'adapter', ok: true, message: /connected/ }] });
  const dry = await sync.waitFor(sync.startRun('rtx', { trigger: 'manual', dryRun: true, requestedBy: 'test' }));
  t.equal(dry.state, 'failed');
  t.match(dry.error, /cannot be dry-run/);
  t.equal(adapter.received.filter((p) => p.type === 'gw.sync.request').length, 0, 'a dry run asks the adapter nothing');

  const runId = sync.startRun('rtx', { trigger: 'manual', dryRun: false, requestedBy: 'test' });
  const req = await adapter.next('gw.sync.request');
  t.match(req.reason, /scheduled sync \(source rtx\)/);
  await adapter.sendSnapshot(SNAP);
  const run = await sync.waitFor(runId);
  t.equal(run.state, 'applied', run.error ?? '');
  t.match(run.warnings, [/RTX sync run \d+ \(adapter:com\) applied: departments \+1 ~0 -0, users \+2 ~0 -0/]);
  t.equal(run.counts?.users.create, 0, 'the engine itself wrote nothing: RTX applied it');
  const rtxRun = g.gw.services.rtxSync.runs(1)[0];
  t.match(rtxRun, { state: 'applied', counts: { users: { created: 2 } } });
  t.match(sync.sourceRow('rtx').cursor, `rtx-run:${rtxRun?.id}`);
  t.equal(g.gw.services.db.prepare("SELECT origin FROM users WHERE account = 'rtx.a'").pluck().get(), 'rtx', 'the users belong to RTX, as for any adapter snapshot');

  // the connection test: the link, and what Huitong holds from RTX with the last RTX run
  const check = await sync.testConnection('rtx');
  t.match(check, { ok: true, steps: [{ step: 'adapter', ok: true, code: 'ADAPTER_CONNECTED' }, { step: 'directory', ok: true, code: 'DIRECTORY_SYNCED' }] });
  t.match(check.steps[1]?.message, new RegExp(`^Huitong holds 2 RTX users \\(0 disabled\\) in 1 departments; the last RTX sync run ${rtxRun?.id} \\(adapter:com, [0-9-]+ [0-9:]+ UTC\\) applied: departments \\+1 ~0 -0, users \\+2 ~0 -0`));
  t.match(check.steps[1]?.messageZh, /汇通中有来自 RTX 的成员 2 名（其中停用 0 名），部门 1 个；最近一次 RTX 同步 #\d+（adapter:com，.*）已完成/);
  await adapter.channel.stop();
  await waitFor(() => g.gw.services.rtxSync.adapterConnected() === false, 'the adapter link to drop');
  t.match(await sync.testConnection('rtx'), { ok: false, steps: [{ step: 'adapter', ok: false, code: 'ADAPTER_NOT_CONNECTED' }, { step: 'directory', ok: true }] }, 'a dropped link fails the test, the counts stay');
});
