import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import t from 'tap';
import { FromAdapter, ToAdapter, type Delivery, type ImCaptured, type OrgBegin, type OrgEnd, type OrgPage, type PresenceUpdate, type RtxDept, type RtxGroup, type RtxUser, type AdapterStatus } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import { startAdapter, type AdapterHandle, type AdapterOptions } from '../../rtx-adapter/src/adapter.js';
import { pairSessionKey } from '../../rtx-adapter/src/session-keys.js';
import { startRtxSimulator, type RtxSimulator } from '../../rtx-adapter/sim/simulator.js';
import type { SimOrg } from '../../rtx-adapter/sim/model.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

/**
 * The RTX adapter against the RTX simulator and a real gateway. The gateway's RTX service is
 * not used: the test registers its own handlers on the PluginHub and observes the payloads.
 */

const REPO = path.resolve(import.meta.dirname, '../..');

async function waitFor<T>(fn: () => T | undefined | false, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function control<T = unknown>(sim: RtxSimulator, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.controlUrl}${url}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  if (res.status === 204) return undefined as T;
  const data = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

interface Inbox {
  ims: Array<{ sender: string; text: string; session_key: string; group_id: string | null; via: string }>;
  notifications: Array<{ title: string; text: string }>;
}

/** What the gateway's hub received, by payload type. */
class Hub {
  readonly got = new Map<string, unknown[]>();
  constructor(readonly g: TestGateway) {
    for (const type of Object.values(FromAdapter)) {
      this.got.set(type, []);
      g.gw.plugin.on(type, (body) => void this.got.get(type)?.push(body));
    }
  }
  list<T>(type: string): T[] {
    return (this.got.get(type) ?? []) as T[];
  }
  get captured(): ImCaptured[] {
    return this.list<ImCaptured>(FromAdapter.ImCaptured);
  }
  get deliveries(): Delivery[] {
    return this.list<Delivery>(FromAdapter.Delivery);
  }
  delivery(ref: string, ms?: number): Promise<Delivery> {
    return waitFor(() => this.deliveries.find((d) => d.ref === ref), `rtx.delivery ${ref}`, ms);
  }
  /** The last complete snapshot (begin … end) as received. */
  snapshots(): Array<{ begin: OrgBegin; depts: RtxDept[]; users: RtxUser[]; groups: RtxGroup[]; end: OrgEnd }> {
    return this.list<OrgBegin>(FromAdapter.OrgBegin).flatMap((begin) => {
      const end = this.list<OrgEnd>(FromAdapter.OrgEnd).find((e) => e.snapshotId === begin.snapshotId);
      if (!end) return [];
      const pages = <T>(type: string) => this.list<OrgPage<T>>(type).filter((p) => p.snapshotId === begin.snapshotId).sort((a, b) => a.page - b.page);
      const d = pages<RtxDept>(FromAdapter.OrgDepts);
      const u = pages<RtxUser>(FromAdapter.OrgUsers);
      const gr = pages<RtxGroup>(FromAdapter.OrgGroups);
      if (d.length !== end.pages.depts || u.length !== end.pages.users || gr.length !== end.pages.groups) return [];
      return [{ begin, end, depts: d.flatMap((p) => p.items), users: u.flatMap((p) => p.items), groups: gr.flatMap((p) => p.items) }];
    });
  }
}

interface Env {
  sim: RtxSimulator;
  g: TestGateway;
  hub: Hub;
  dataDir: string;
  start(extra?: Partial<AdapterOptions>): Promise<AdapterHandle>;
}

const helperCommand = (sim: RtxSimulator) => ({ command: [process.execPath, '--import', 'tsx', path.join(REPO, 'rtx-adapter/sim/helper-main.ts'), '--control', sim.controlUrl], cwd: REPO, captureWaitMs: 500, restart: { minDelayMs: 100, maxDelayMs: 1000 } });

async function setup(t: { teardown(fn: () => unknown): void }, o: { org?: SimOrg | { users: number; departments: number; groups: number; seed?: number }; imwatchDir?: string; imwatchDelayMs?: number } = {}): Promise<Env> {
  const sim = await startRtxSimulator({ ...(o.org ? { org: o.org } : {}), ...(o.imwatchDir ? { imwatchDir: o.imwatchDir, imwatchDelayMs: o.imwatchDelayMs ?? 0 } : {}) });
  t.teardown(() => sim.close());
  const g = await startGateway(t);
  const hub = new Hub(g);
  const code = g.gw.services.rtxCode.current().code;
  const port = g.gw.ports().plugin as number;
  const dataDir = tempDir(t, 'rtx-adapter-');
  const env: Env = {
    sim, g, hub, dataDir,
    async start(extra = {}) {
      const a = await startAdapter({
        gateway: { host: '127.0.0.1', port, tls: { ca: g.ca }, code, name: 'test-rtx', reconnect: { minDelayMs: 10, maxDelayMs: 200 } },
        dataDir,
        rtx: { sdkUrl: sim.sdkUrl, sdkTimeoutMs: 1_000, helper: helperCommand(sim), ...(extra.rtx ?? {}) },
        presence: 'off',
        ...extra,
        bridge: { syncIntervalMs: 0, retryMinDelayMs: 50, retryMaxDelayMs: 300, statusCheckMs: 50, probeAfterMs: 200, ...(extra.bridge ?? {}) },
      });
      t.teardown(() => a.stop());
      await waitFor(() => a.channel.status().state === 'CONNECTED', 'the adapter to connect');
      return a;
    },
  };
  return env;
}

/** The snapshot the simulator's state should produce. */
function expectedOrg(sim: RtxSimulator, withSessionKeys: boolean) {
  const s = sim.state.snapshot();
  return {
    depts: s.depts.map((d) => ({ id: String(d.id), parentId: d.parentId === 0 ? null : String(d.parentId), name: d.name, order: d.sortId })),
    users: s.users.map((u) => ({ account: u.account, name: u.name, uin: u.id, gender: u.gender === 0 ? 'male' : 'female', mobile: u.mobile, email: u.email, phone: u.phone, title: u.position, disabled: u.accountState === 1, deptIds: u.deptIds.map(String) })),
    groups: s.groups.map((g) => ({ id: g.id, name: g.name, members: g.members, ...(withSessionKeys ? { sessionKey: g.sessionKey } : {}) })),
  };
}

const sortBy = <T>(xs: T[], k: (x: T) => string) => [...xs].sort((a, b) => (k(a) < k(b) ? -1 : 1));

t.test('org: 5,000 users / 400 departments / 100 groups with GB18030-only names, through the COM helper and the export XML', async (t) => {
  const env = await setup(t, { org: { users: 5000, departments: 400, groups: 100, seed: 7 } });
  const want = expectedOrg(env.sim, true);
  t.ok(want.users.some((u) => /[㑇𠀀䶮喆𠮷堃㐀玥䲜赟𪚥燚]/u.test(u.name)) && want.depts.some((d) => /[㑇𠀀䶮喆𠮷堃㐀玥䲜赟𪚥燚]/u.test(d.name)), 'names outside GB2312 are in the org');

  const a = await env.start({ directory: 'com', capture: [] });
  const snap = await waitFor(() => env.hub.snapshots()[0], 'the first snapshot', 60_000);
  t.equal(snap.begin.source, 'com');
  t.same(snap.begin.counts, { depts: 400, users: 5000, groups: 100 });
  t.equal(snap.end.pages.users, 5, 'pages of at most 1,000 users');
  t.same(sortBy(snap.depts, (d) => d.id), sortBy(want.depts, (d) => d.id), 'departments exactly');
  t.same(sortBy(snap.users, (u) => u.account), sortBy(want.users, (u) => u.account), 'users exactly');
  t.same(sortBy(snap.groups, (g) => g.id), sortBy(want.groups, (g) => g.id), 'groups exactly, with their session keys');

  // unchanged: no second snapshot on a scheduled/connect sync
  a.bridge.requestSync('test: unchanged', false);
  await a.bridge.syncIdle();
  await waitFor(() => a.bridge.status().lastSync?.skipped, 'the skipped sync');
  t.equal(env.hub.list(FromAdapter.OrgBegin).length, 1, 'an unchanged org is not sent again');

  // the gateway asks: one more snapshot
  await env.g.gw.plugin.send(ToAdapter.SyncRequest, { reason: 'console' });
  await waitFor(() => env.hub.snapshots().length === 2, 'the requested snapshot', 60_000);
  t.equal(env.hub.list<OrgBegin>(FromAdapter.OrgBegin)[1]?.reason, 'console');
  await a.bridge.syncIdle();
  t.equal(env.hub.list(FromAdapter.OrgBegin).length, 2, 'exactly one per request');

  // a change in RTX is sent on the next sync
  await control(env.sim, 'PATCH', '/org/users/zhangsan', { name: '张三丰㑇' });
  a.bridge.requestSync('test: changed', false);
  await waitFor(() => env.hub.snapshots().length === 3, 'the snapshot with the change', 60_000);
  t.equal(env.hub.snapshots()[2]?.users.find((u) => u.account === 'zhangsan')?.name, '张三丰㑇');
  await a.stop();

  // the same org through the export XML (GB2312-declared, GB18030 bytes)
  const xmlFile = path.join(tempDir(t), 'rtx-export.xml');
  writeFileSync(xmlFile, env.sim.exportXml());
  const before = env.hub.snapshots().length;
  const b = await startAdapter({
    gateway: { host: '127.0.0.1', port: env.g.gw.ports().plugin as number, tls: { ca: env.g.ca }, code: env.g.gw.services.rtxCode.current().code },
    dataDir: tempDir(t),
    rtx: { exportXml: xmlFile },
    presence: 'off',
    bridge: { syncIntervalMs: 0 },
  });
  t.teardown(() => b.stop());
  const x = await waitFor(() => env.hub.snapshots()[before], 'the XML snapshot', 60_000);
  const wantXml = expectedOrg(env.sim, false);
  t.equal(x.begin.source, 'xml');
  t.same(sortBy(x.depts, (d) => d.id), sortBy(wantXml.depts, (d) => d.id), 'departments from XML exactly');
  t.same(sortBy(x.users, (u) => u.account), sortBy(wantXml.users, (u) => u.account), 'users from XML exactly');
  t.same(sortBy(x.groups, (g) => g.id), sortBy(wantXml.groups, (g) => g.id), 'groups from XML exactly');

  // the file changes: re-read and sent without being asked
  await control(env.sim, 'PATCH', '/org/users/lisi', { name: '李四㑇' });
  writeFileSync(xmlFile, env.sim.exportXml());
  const y = await waitFor(() => env.hub.snapshots()[before + 1], 'the snapshot after the XML changed', 30_000);
  t.equal(y.users.find((u) => u.account === 'lisi')?.name, '李四㑇');
});

t.test('captures through the COM helper: 1:1 and group, once each, echo suppressed', async (t) => {
  const env = await setup(t);
  const a = await env.start({ directory: 'com', capture: ['com'] });
  await waitFor(() => a.helper?.status().capturing, 'capture to start');
  const group = env.sim.state.snapshot().groups[0] as { id: string; name: string; members: string[]; sessionKey: string };
  const one = await control<{ im_message_id: string; session_key: string }>(env.sim, 'POST', '/rtx/send', { sender: 'lisi', to: 'zhangsan', text: '你好㑇𠀀', copies: 2 });
  const grp = await control<{ im_message_id: string }>(env.sim, 'POST', '/rtx/send', { sender: 'zhangsan', group_id: group.id, text: '群消息', copies: 2 });
  await waitFor(() => env.hub.captured.length >= 2, 'two captures');
  const c1 = env.hub.captured.find((c) => c.imMessageId === one.im_message_id);
  t.match(c1, { kind: 'single', sender: 'lisi', receivers: ['zhangsan'], sessionKey: one.session_key, text: '你好㑇𠀀', via: 'com' });
  const c2 = env.hub.captured.find((c) => c.imMessageId === grp.im_message_id);
  t.match(c2, { kind: 'group', sender: 'zhangsan', sessionKey: group.sessionKey, group: { id: group.id, name: group.name }, text: '群消息' });
  t.same(new Set(c2?.receivers), new Set(group.members.filter((m) => m !== 'zhangsan')));

  // echo: what the adapter sent into RTX, captured back, is not sent to the gateway
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'm-echo', sender: 'zhangsan', receivers: ['lisi'], text: 'from the phone', sentAtMs: Date.now() });
  t.match(await env.hub.delivery('m-echo'), { ok: true });
  await control(env.sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'lisi', text: 'from the phone' });
  const marker = await control<{ im_message_id: string }>(env.sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'lisi', text: 'typed in RTX' });
  await waitFor(() => env.hub.captured.some((c) => c.imMessageId === marker.im_message_id), 'the marker');
  t.equal(env.hub.captured.length, 3, 'duplicates dropped, the echo suppressed');
  t.notOk(env.hub.captured.some((c) => c.text === 'from the phone'), 'no echo');
  t.equal(a.bridge.status().captured.echoes, 1);
});

t.test('captures through IMWatch, written late and partially; restart resumes from the saved offset', async (t) => {
  const dir = path.join(tempDir(t), 'IMWatch');
  mkdirSync(dir, { recursive: true });
  const env = await setup(t, { imwatchDir: dir, imwatchDelayMs: 300 });
  const xmlFile = path.join(tempDir(t), 'export.xml');
  writeFileSync(xmlFile, env.sim.exportXml());
  const opts: Partial<AdapterOptions> = { rtx: { helper: null, exportXml: xmlFile, imwatch: { dir, pollMs: 50 } }, directory: 'xml', capture: ['imwatch'] };
  let a = await env.start(opts);
  await waitFor(() => env.hub.snapshots().length === 1, 'the org (for group resolution)');
  const group = env.sim.state.snapshot().groups[0] as { id: string; name: string; members: string[] };
  const one = await control<{ im_message_id: string }>(env.sim, 'POST', '/rtx/send', { sender: 'lisi', to: '钱七', text: '第一行\n第二行' });
  const grp = await control<{ im_message_id: string }>(env.sim, 'POST', '/rtx/send', { sender: 'zhangsan', group_id: group.id, text: '群里说话' });
  await env.sim.waitImWatch(grp.im_message_id);
  await waitFor(() => env.hub.captured.length >= 2, 'two IMWatch captures');
  t.match(env.hub.captured[0], { kind: 'single', sender: 'lisi', receivers: ['钱七'], text: '第一行\n第二行', via: 'imwatch', sessionKey: pairSessionKey('lisi', '钱七') });
  t.match(env.hub.captured[1], { kind: 'group', sender: 'zhangsan', group: { id: group.id, name: group.name }, text: '群里说话', via: 'imwatch' });
  t.ok(one.im_message_id, 'sent');

  // a record written in two parts is read only once it is complete
  await control(env.sim, 'PUT', '/imwatch', { enabled: false });
  const file = path.join(dir, 'IM_' + new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10) + '.txt');
  const rec = iconv.encode('ThreadID=9001\r\nTime=2024-05-07 10:00:00\r\nSender=wangwu\r\nReceivers=lisi\r\nMsg=分两次写入䶮\r\n\r\n', 'gb18030');
  appendFileSync(file, rec.subarray(0, 50));
  await new Promise((r) => setTimeout(r, 300)); // several polls see the partial record
  t.equal(env.hub.captured.length, 2, 'a partial record is not read');
  appendFileSync(file, rec.subarray(50));
  await waitFor(() => env.hub.captured.length === 3, 'the completed record');
  t.match(env.hub.captured[2], { sender: 'wangwu', receivers: ['lisi'], text: '分两次写入䶮', timeMs: Date.UTC(2024, 4, 7, 2, 0, 0) });

  // adapter stopped; records appended meanwhile are read after the restart, nothing twice
  await a.stop();
  appendFileSync(file, iconv.encode('ThreadID=9002\r\nTime=2024-05-07 10:00:01\r\nSender=wangwu\r\nReceivers=lisi;zhangsan;\r\nMsg=while down\r\n\r\n', 'gb18030'));
  a = await env.start(opts);
  await waitFor(() => env.hub.captured.length === 4, 'the record written while the adapter was down');
  t.match(env.hub.captured[3], { kind: 'group', text: 'while down', receivers: ['lisi', 'zhangsan'] });
  await a.bridge.syncIdle();
  t.equal(env.hub.captured.length, 4, 'nothing captured twice after the restart');
});

t.test('COM and IMWatch together: each message once', async (t) => {
  const dir = path.join(tempDir(t), 'IMWatch');
  const env = await setup(t, { imwatchDir: dir, imwatchDelayMs: 100 });
  const a = await env.start({ rtx: { helper: helperCommand(env.sim), imwatch: { dir, pollMs: 50 } }, directory: 'com', capture: ['com', 'imwatch'] });
  await waitFor(() => a.helper?.status().capturing, 'capture to start');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await control<{ im_message_id: string }>(env.sim, 'POST', '/rtx/send', { sender: 'lisi', to: 'wangwu', text: `双路${i}` })).im_message_id);
  for (const id of ids) await env.sim.waitImWatch(id);
  await waitFor(() => a.bridge.status().captured.crossPath === 5, 'the IMWatch copies to be recognised');
  t.same(env.hub.captured.map((c) => c.text).sort(), ['双路0', '双路1', '双路2', '双路3', '双路4']);
  t.ok(env.hub.captured.every((c) => c.via === 'com'), 'the filter app path won');
});

t.test('messages into RTX: 1:1 and group with session keys, notifications, unknown users', async (t) => {
  const env = await setup(t);
  await env.start({ directory: 'com', capture: [] });
  await waitFor(() => env.hub.snapshots().length === 1, 'the org (group session keys)');
  const group = env.sim.state.snapshot().groups[0] as { id: string; name: string; members: string[]; sessionKey: string };
  const send = (body: object) => env.g.gw.plugin.send(ToAdapter.ImSend, { sentAtMs: Date.now(), ...body });
  await send({ ref: 'm1', sender: 'zhangsan', receivers: ['lisi'], text: '从手机发来㑇𠀀 [链接|http://x/?a=1&b=2]' });
  await send({ ref: 'm2', sender: 'lisi', receivers: ['zhangsan'], text: 'with key', sessionKey: '{ABCDEF00-0000-0000-0000-000000000001}' });
  await send({ ref: 'm3', sender: 'zhangsan', receivers: group.members.filter((m) => m !== 'zhangsan'), text: '群发', group: { id: group.id, name: group.name } });
  await env.g.gw.plugin.send(ToAdapter.NotifySend, { ref: 'n1', receivers: ['wangwu', '钱七'], title: '公告', text: '明天放假' });
  await send({ ref: 'm4', sender: 'zhangsan', receivers: ['ghost'], text: 'to nobody' });
  await send({ ref: 'm5', sender: 'nobody-here', receivers: ['lisi'], text: 'from nobody' });
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'm6', sender: 'zhangsan' });
  for (const ref of ['m1', 'm2', 'm3', 'n1']) t.match(await env.hub.delivery(ref), { ref, ok: true }, `${ref} delivered`);
  const lisi = await control<Inbox>(env.sim, 'GET', '/received/lisi?min_ims=2&wait_ms=5000');
  t.match(lisi.ims[0], { sender: 'zhangsan', text: '从手机发来㑇𠀀 [链接|http://x/?a=1&b=2]', session_key: pairSessionKey('zhangsan', 'lisi'), via: 'http' });
  t.match(lisi.ims[1], { sender: 'zhangsan', text: '群发', session_key: group.sessionKey, group_id: group.id });
  const zs = await control<Inbox>(env.sim, 'GET', '/received/zhangsan?min_ims=1&wait_ms=5000');
  t.match(zs.ims[0], { sender: 'lisi', text: 'with key', session_key: '{ABCDEF00-0000-0000-0000-000000000001}' });
  const qq = await control<Inbox>(env.sim, 'GET', `/received/${encodeURIComponent('钱七')}?min_notifications=1&wait_ms=5000`);
  t.match(qq.notifications[0], { title: '公告', text: '明天放假' });
  t.match(await env.hub.delivery('m4'), { ok: false, failed: ['ghost'], error: { code: 'RTX_UNKNOWN_USER', message: /ghost/ } });
  t.match(await env.hub.delivery('m5'), { ok: false, error: { code: 'RTX_UNKNOWN_USER', message: /nobody-here/ } });
  t.match(await env.hub.delivery('m6'), { ok: false, error: { code: 'RTX_BAD_REQUEST' } });
  t.equal(env.hub.deliveries.length, 7, 'one delivery result per payload');
});

t.test('RTX down: retried and delivered when it is back within the window; past it RTX_UNREACHABLE; bad answers are clear errors', async (t) => {
  const env = await setup(t);
  const a = await env.start({ directory: 'none', capture: [], rtx: { helper: null, sdkUrl: env.sim.sdkUrl, sdkTimeoutMs: 300 }, bridge: { retryWindowMs: 20_000 } });
  await waitFor(() => env.hub.list<AdapterStatus>(FromAdapter.Status).at(-1)?.rtx === 'up', 'rtx.status up');
  await control(env.sim, 'PUT', '/faults', { http: { down: true } });
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'd1', sender: 'zhangsan', receivers: ['lisi'], text: 'while down', sentAtMs: Date.now() });
  await waitFor(() => a.bridge.status().deliveries.retried >= 2, 'retries');
  await waitFor(() => env.hub.list<AdapterStatus>(FromAdapter.Status).at(-1)?.rtx === 'down', 'rtx.status down');
  t.equal(env.hub.deliveries.length, 0, 'no result while retrying');
  await control(env.sim, 'PUT', '/faults', { http: { down: false } });
  t.match(await env.hub.delivery('d1'), { ok: true });
  await waitFor(() => env.hub.list<AdapterStatus>(FromAdapter.Status).at(-1)?.rtx === 'up', 'rtx.status up again');
  const box = await control<Inbox>(env.sim, 'GET', '/received/lisi');
  t.equal(box.ims.filter((m) => m.text === 'while down').length, 1, 'delivered once');

  // slow answers (beyond the SDK timeout) and "server busy" texts are retried too
  await control(env.sim, 'PUT', '/faults', { http: { delayMs: 600 } });
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'd2', sender: 'zhangsan', receivers: ['wangwu'], text: 'slow', sentAtMs: Date.now() });
  await waitFor(() => a.bridge.status().deliveries.retried >= 4, 'retries of the slow one');
  await control(env.sim, 'PUT', '/faults', { http: { delayMs: 0, errorRate: 1, errorKind: 'text' } });
  const retried = a.bridge.status().deliveries.retried;
  await waitFor(() => a.bridge.status().deliveries.retried >= retried + 2, 'retries on busy answers');
  await control(env.sim, 'PUT', '/faults', { http: { errorRate: 0 } });
  t.match(await env.hub.delivery('d2'), { ok: true });
  t.ok((await control<Inbox>(env.sim, 'GET', '/received/wangwu')).ims.some((m) => m.text === 'slow'));

  // an error answer that retrying cannot fix: RTX_REFUSED at once
  await control(env.sim, 'PUT', '/allow-ips', { allow_ips: ['10.9.9.9'] });
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'd3', sender: 'zhangsan', receivers: ['lisi'], text: 'refused', sentAtMs: Date.now() });
  t.match(await env.hub.delivery('d3'), { ok: false, error: { code: 'RTX_REFUSED', message: /IP/ } });
  await control(env.sim, 'PUT', '/allow-ips', { allow_ips: ['127.0.0.1', '::1'] });
  await a.stop();

  // past the window
  const b = await env.start({ directory: 'none', capture: [], rtx: { helper: null, sdkUrl: env.sim.sdkUrl }, bridge: { retryWindowMs: 1_000 } });
  await control(env.sim, 'PUT', '/faults', { http: { down: true } });
  const t0 = Date.now();
  await env.g.gw.plugin.send(ToAdapter.ImSend, { ref: 'd4', sender: 'zhangsan', receivers: ['lisi'], text: 'never', sentAtMs: Date.now() });
  t.match(await env.hub.delivery('d4', 10_000), { ok: false, error: { code: 'RTX_UNREACHABLE' } });
  t.ok(Date.now() - t0 >= 900, 'only after the retry window');
  await control(env.sim, 'PUT', '/faults', { http: { down: false } });
  t.equal((await control<Inbox>(env.sim, 'GET', '/received/lisi')).ims.filter((m) => m.text === 'never').length, 0);
  t.ok(b.status().bridge.deliveries.failed >= 1);
});

t.test('adapter restart mid-stream: nothing lost or duplicated in either direction', async (t) => {
  const dir = path.join(tempDir(t), 'IMWatch');
  const env = await setup(t, { imwatchDir: dir });
  const opts: Partial<AdapterOptions> = { directory: 'none', capture: ['imwatch'], rtx: { helper: null, sdkUrl: env.sim.sdkUrl, imwatch: { dir, pollMs: 50 } } };
  let a = await env.start(opts);
  const N = 60;
  const sends: Array<Promise<number>> = [];
  for (let i = 0; i < N; i++) sends.push(env.g.gw.plugin.send(ToAdapter.ImSend, { ref: `r${i}`, sender: i % 2 ? 'zhangsan' : 'wangwu', receivers: ['lisi'], text: `out ${i}`, sentAtMs: Date.now() }));
  await Promise.all(sends);
  for (let i = 0; i < N / 2; i++) await control(env.sim, 'POST', '/rtx/send', { sender: 'lisi', to: 'zhangsan', text: `in ${i}` });
  await waitFor(() => env.hub.deliveries.length >= 10, 'some deliveries');
  await a.stop();
  for (let i = N / 2; i < N; i++) await control(env.sim, 'POST', '/rtx/send', { sender: 'lisi', to: 'zhangsan', text: `in ${i}` });
  a = await env.start(opts);
  await waitFor(() => new Set(env.hub.deliveries.map((d) => d.ref)).size === N, 'every delivery result', 60_000);
  await waitFor(() => new Set(env.hub.captured.map((c) => c.text)).size === N, 'every capture', 60_000);
  const box = await control<Inbox>(env.sim, 'GET', '/received/lisi');
  for (let i = 0; i < N; i++) t.equal(box.ims.filter((m) => m.text === `out ${i}`).length, 1, `out ${i} once in RTX`);
  t.ok(env.hub.deliveries.every((d) => d.ok), 'all ok');
  t.equal(env.hub.captured.length, N, 'each capture once at the gateway');
  const byConv = box.ims.filter((m) => m.sender === 'zhangsan').map((m) => Number(m.text.slice(4)));
  t.same(byConv, [...byConv].sort((x, y) => x - y), 'in order per conversation');
});

t.test('presence: full list first, then changes', async (t) => {
  const env = await setup(t);
  const a = await env.start({ directory: 'com', capture: [], presence: 'com', bridge: { presenceIntervalMs: 100 } });
  const first = await waitFor(() => env.hub.list<PresenceUpdate>(FromAdapter.Presence)[0], 'the full presence');
  t.equal(first.full, true);
  const s = env.sim.state;
  const online = s.userList().filter((u) => s.getPresence(u.account) !== 0);
  t.same(new Map(first.items.map((i) => [i.account, i.state])), new Map(online.map((u) => [u.account, s.getPresence(u.account) === 1 ? 'online' : 'away'])));
  const who = s.userList().find((u) => s.getPresence(u.account) === 0)?.account as string;
  // after the snapshot is queued the full list goes once more (it may have named accounts the gateway did not know yet)
  await waitFor(() => a.bridge.status().syncs >= 1, 'the snapshot');
  const polls = a.bridge.status().presencePolls;
  await waitFor(() => a.bridge.status().presencePolls >= polls + 2, 'two more polls');
  const mark = env.hub.list<PresenceUpdate>(FromAdapter.Presence).length;
  await control(env.sim, 'PUT', `/presence/${encodeURIComponent(who)}`, { state: 2 });
  const change = await waitFor(() => env.hub.list<PresenceUpdate>(FromAdapter.Presence).slice(mark).find((p) => !p.full), 'a change');
  t.same(change.items, [{ account: who, state: 'away' }]);
});
