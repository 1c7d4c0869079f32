import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { MessageView, UserId } from '../../gateway/src/protocol/client-v1.js';
import { GB18030_ONLY_CHARS } from '../../rtx-adapter/sim/generate.js';
import type { ReceivedIm } from '../../rtx-adapter/sim/model.js';
import { pairSessionKey } from '../../rtx-adapter/src/session-keys.js';
import { startRtxSimulator, type RtxSimulator } from '../../rtx-adapter/sim/simulator.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { nextEvent, online, type Inbox } from '../helpers/clients.js';
import { consoleSession, lastRunId, nextFinishedRun, waitFor } from '../helpers/rtx.js';
import { control, directoryAsSnapshot, enablePhone, expectedFromSim, idOf, normalised, startRealAdapter } from '../helpers/rtx-e2e.js';

/**
 * Issue 4 acceptance, end to end: RTX simulator ⇄ real adapter (COM helper child process,
 * HTTP SDK, export XML) ⇄ plugin channel (TLS) ⇄ gateway ⇄ HuitongClients over WSS.
 * Nothing here is scripted at the payload level: what RTX users see is read from the
 * simulator, what phone users see from their clients. Chaos: rtx-chaos.test.ts.
 */

const textOf = (m: MessageView) => (m.body as { text?: string }).text ?? '';
const rtxIms = (sim: RtxSimulator, account: string): ReceivedIm[] => sim.state.inbox(account).ims;

async function startSim(t: { teardown(fn: () => unknown): void }, org?: { users: number; departments: number; groups: number; seed: number }): Promise<RtxSimulator> {
  const sim = await startRtxSimulator(org ? { org } : {});
  t.teardown(() => sim.close());
  return sim;
}

t.test('org: 5,000 users / 400 departments / 100 groups arrive exactly through the COM helper and through the export XML; RTX-side changes after the next sync', async (t) => {
  const sim = await startSim(t, { users: 5000, departments: 400, groups: 100, seed: 11 });
  const want = expectedFromSim(sim);
  const rare = (s: string) => GB18030_ONLY_CHARS.some((c) => s.includes(c));
  t.ok(want.users.some((u) => rare(u.name)) && want.depts.some((d) => rare(d.name)) && want.groups.some((g) => rare(g.name)), 'names outside GB2312 (inside GB18030) in users, departments and groups');
  t.ok(want.users.some((u) => /^[\u4e00-\u9fff]+$/.test(u.account)) && want.users.some((u) => u.disabled) && want.users.some((u) => u.deptIds.length > 1), 'Chinese accounts, disabled users, users in two departments');

  // (a) through the COM helper (helper-main.ts, a child process speaking rtx-helper.md)
  const g = await startGateway(t);
  const t0 = performance.now();
  const a = await startRealAdapter(t, g, sim, tempDir(t, 'rtx-adapter-'), { directory: 'com', capture: [] });
  const run = await nextFinishedRun(g, 0);
  t.comment(`COM: 5,000 users from adapter start to applied in ${Math.round(performance.now() - t0)} ms; gateway timings ${JSON.stringify(run.timings)}`);
  t.equal(run.state, 'applied', run.error ?? '');
  t.equal(run.source, 'adapter:com');
  t.match(run.counts, { depts: { created: 400, updated: 0, removed: 0 }, users: { created: 5000, updated: 0, removed: 0 }, groups: { created: 100, updated: 0, removed: 0 } });
  t.same(normalised(await directoryAsSnapshot(g)), want, 'every department, user and group field equals the simulator state');

  // ---- changes on the RTX side (control API) ----
  const s0 = sim.state.snapshot();
  const renamed = s0.users[100] as (typeof s0.users)[number];
  const moved = s0.users.find((u, i) => i > 100 && u.deptIds.length === 1) as (typeof s0.users)[number];
  const target = s0.depts.find((d) => !moved.deptIds.includes(d.id)) as (typeof s0.depts)[number];
  const removedUser = s0.users.find((u, i) => i > 200 && s0.groups.filter((gr) => gr.members.includes(u.account)).length >= 1) as (typeof s0.users)[number];
  const removedGroup = s0.groups.find((gr) => !gr.members.includes(removedUser.account)) as (typeof s0.groups)[number];
  await control(sim, 'PATCH', `/org/users/${encodeURIComponent(renamed.account)}`, { name: '改名𠮷㑇' });
  await control(sim, 'PATCH', `/org/users/${encodeURIComponent(moved.account)}`, { dept_ids: [target.id] });
  await control(sim, 'DELETE', `/org/users/${encodeURIComponent(removedUser.account)}`);
  await control(sim, 'DELETE', `/org/groups/${encodeURIComponent(removedGroup.id)}`);
  const groupsLosingMember = s0.groups.filter((gr) => gr.id !== removedGroup.id && gr.members.includes(removedUser.account)).length;

  const dir = g.gw.services.directory;
  const before = await dir.version();
  const removedUserId = await idOf(g, removedUser.account);
  const removedGroupId = (await dir.groupByExternalId(removedGroup.id))?.id;
  const admin = await consoleSession(g);
  const r = await admin.send('POST', '/api/admin/rtx/sync', {});
  t.equal(r.status, 202, 'the console asks for a sync');
  const run2 = await nextFinishedRun(g, run.id);
  t.equal(run2.state, 'applied', run2.error ?? '');
  t.match(run2.reason, /console/);
  t.match(run2.counts, { depts: { created: 0, updated: 0, removed: 0 }, users: { created: 0, updated: 2, removed: 1 }, groups: { created: 0, updated: groupsLosingMember, removed: 1 } });
  const delta = await dir.delta(removedUserId === 1 ? (2 as UserId) : (1 as UserId), before);
  t.same(delta.users.map((u) => u.account).sort(), [renamed.account, moved.account].sort(), 'only the renamed and the moved user changed');
  t.equal(delta.users.find((u) => u.account === renamed.account)?.name, '改名𠮷㑇', 'renamed');
  t.same(delta.depts, [], 'no department changed');
  t.same(delta.removed.users, [removedUserId], 'the removed user is gone');
  t.same(g.gw.services.db.prepare("SELECT object_id FROM dir_tombstones WHERE kind = 'group' AND version > ?").pluck().all(before), [removedGroupId], 'the removed group is gone, no other');
  t.same(normalised(await directoryAsSnapshot(g)), expectedFromSim(sim), 'the directory equals the changed simulator state');
  await a.stop();

  // (b) the same org through the export XML (GB2312-declared, GB18030 bytes), into a fresh gateway
  const g2 = await startGateway(t);
  const xmlFile = path.join(tempDir(t), 'rtx-export.xml');
  writeFileSync(xmlFile, sim.exportXml());
  const t1 = performance.now();
  const b = await startRealAdapter(t, g2, sim, tempDir(t, 'rtx-adapter-'), { directory: 'xml', capture: [], rtx: { helper: null, exportXml: xmlFile } });
  const x = await nextFinishedRun(g2, 0);
  t.comment(`XML: from adapter start to applied in ${Math.round(performance.now() - t1)} ms`);
  t.equal(x.state, 'applied', x.error ?? '');
  t.equal(x.source, 'adapter:xml');
  t.same(normalised(await directoryAsSnapshot(g2)), expectedFromSim(sim), 'through XML: every field equals the simulator state');

  // RTX changes again, the administrator exports again: the adapter re-reads the file
  const s1 = sim.state.snapshot();
  const renamed2 = s1.users[300] as (typeof s1.users)[number];
  await control(sim, 'PATCH', `/org/users/${encodeURIComponent(renamed2.account)}`, { name: '再改名䶮' });
  await control(sim, 'DELETE', `/org/users/${encodeURIComponent((s1.users[301] as (typeof s1.users)[number]).account)}`);
  await control(sim, 'DELETE', `/org/groups/${encodeURIComponent((s1.groups[5] as (typeof s1.groups)[number]).id)}`);
  writeFileSync(xmlFile, sim.exportXml());
  const x2 = await nextFinishedRun(g2, x.id);
  t.equal(x2.state, 'applied', x2.error ?? '');
  t.match(x2.counts, { users: { created: 0, updated: 1, removed: 1 }, groups: { created: 0, removed: 1 }, depts: { created: 0, updated: 0, removed: 0 } });
  t.same(normalised(await directoryAsSnapshot(g2)), expectedFromSim(sim), 'through XML after the change: equal again');
  t.ok(b.status().bridge.syncs >= 2);
});


/** The default simulator org (20 users), synced through the COM helper; wangwu and lisi are RTX users who also use the phone app. */
async function messagingEnv(t: Test, adapterOpts: Parameters<typeof startRealAdapter>[4] = {}) {
  const sim = await startSim(t);
  const g = await startGateway(t);
  const a = await startRealAdapter(t, g, sim, tempDir(t, 'rtx-adapter-'), { directory: 'com', capture: ['com'], ...adapterOpts });
  const run = await nextFinishedRun(g, lastRunId(g));
  t.equal(run.state, 'applied', run.error ?? '');
  await waitFor(() => a.helper?.status().capturing === true, 'COM capture to start', 30_000);
  const ids: Record<string, UserId> = {};
  for (const acc of ['zhangsan', 'lisi', 'wangwu', '10086', '钱七']) ids[acc] = await idOf(g, acc);
  await enablePhone(g, 'wangwu');
  await enablePhone(g, 'lisi');
  const group = sim.state.snapshot().groups[0] as { id: string; name: string; sessionKey: string; members: string[] };
  const gw = await g.gw.services.directory.groupByExternalId(group.id);
  return { sim, g, a, ids, group, groupConv: { kind: 'group' as const, id: gw?.id as never } };
}

const notices = (inbox: Inbox) => inbox.messages.filter((m) => m.fromApp?.id === 'system');

t.test('messages both ways, 1:1 and group; presence; unknown RTX user; RTX down past and within the retry window', async (t) => {
  const RETRY_WINDOW_MS = 2_500;
  const env = await messagingEnv(t, { presence: 'com', bridge: { presenceIntervalMs: 100, retryWindowMs: RETRY_WINDOW_MS } });
  const { sim, ids, group, groupConv } = env;
  t.ok(group.members.includes('wangwu') && group.members.includes('lisi') && group.members.includes('zhangsan'), 'group 0 holds zhangsan, lisi and wangwu');
  const wangwu = await online(t, env.g, 'wangwu', { deviceType: 'android' });
  const lisi = await online(t, env.g, 'lisi', { deviceType: 'ios' });

  // phone → RTX, 1:1: zhangsan's RTX client shows it, from wangwu, in their conversation
  const a1 = await wangwu.client.sendText({ kind: 'user', id: ids.zhangsan as UserId }, '手机发给张三 㑇𠀀');
  await waitFor(() => rtxIms(sim, 'zhangsan').some((m) => m.text === '手机发给张三 㑇𠀀'), 'the message in zhangsan\'s RTX inbox');
  t.match(rtxIms(sim, 'zhangsan').find((m) => m.text === '手机发给张三 㑇𠀀'), { sender: 'wangwu', session_key: pairSessionKey('wangwu', 'zhangsan'), group_id: null, via: 'http' });
  t.ok(a1.id > 0);

  // RTX → phone, 1:1: zhangsan types in RTX; wangwu's phone gets it once, from zhangsan
  const sent = await control<{ im_message_id: string; session_key: string }>(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'wangwu', text: 'RTX 回复王五 䶮' });
  const got = await wangwu.inbox.until((ms) => ms.some((m) => textOf(m) === 'RTX 回复王五 䶮'), 'the RTX message on the phone');
  t.match(got.find((m) => textOf(m) === 'RTX 回复王五 䶮'), { from: ids.zhangsan, to: { kind: 'user', id: ids.wangwu }, origin: 'rtx', kind: 'text' });
  t.equal(sent.session_key, pairSessionKey('wangwu', 'zhangsan'), 'the simulator and the adapter derive the same 1:1 session key');
  // the reply goes back into the same RTX conversation
  await wangwu.client.sendText({ kind: 'user', id: ids.zhangsan as UserId }, '收到 RTX');
  await waitFor(() => rtxIms(sim, 'zhangsan').some((m) => m.text === '收到 RTX'), 'the reply in RTX');
  t.equal(rtxIms(sim, 'zhangsan').find((m) => m.text === '收到 RTX')?.session_key, sent.session_key, 'the reply carries the RTX session key');

  // group: an RTX user posts → the phones get it in the RTX-origin group (the RTX members got it from RTX itself)
  await control(sim, 'POST', '/rtx/send', { sender: 'zhangsan', group_id: group.id, text: '群里 RTX 说话' });
  for (const p of [wangwu, lisi]) {
    const ms = await p.inbox.until((xs) => xs.some((m) => textOf(m) === '群里 RTX 说话'), 'the RTX group message on a phone');
    t.match(ms.find((m) => textOf(m) === '群里 RTX 说话'), { from: ids.zhangsan, to: groupConv, origin: 'rtx' });
  }
  t.ok(rtxIms(sim, 'lisi').some((m) => m.text === '群里 RTX 说话' && m.group_id === group.id), 'RTX members have it in RTX');
  // a phone posts → every other RTX member gets it in RTX, in the group conversation; the other phone too
  await wangwu.client.sendText(groupConv, '手机在群里说话');
  const others = group.members.filter((m) => m !== 'wangwu');
  await waitFor(() => others.every((m) => rtxIms(sim, m).some((x) => x.text === '手机在群里说话')), 'the group message at every RTX member');
  for (const m of others) t.match(rtxIms(sim, m).filter((x) => x.text === '手机在群里说话'), [{ sender: 'wangwu', group_id: group.id, session_key: group.sessionKey }], `${m} once, in the group`);
  t.equal(rtxIms(sim, 'wangwu').filter((x) => x.text === '手机在群里说话').length, 0, 'not back to the sender');
  await lisi.inbox.until((xs) => xs.some((m) => textOf(m) === '手机在群里说话'), 'the group message on the other phone');

  // once: a later marker proves nothing else is on its way
  await control(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'wangwu', text: 'marker-1' });
  await wangwu.inbox.until((ms) => ms.some((m) => textOf(m) === 'marker-1'), 'the marker');
  for (const text of ['RTX 回复王五 䶮', '群里 RTX 说话']) t.equal(wangwu.inbox.messages.filter((m) => textOf(m) === text).length, 1, `"${text}" once on the phone`);
  t.equal(rtxIms(sim, 'zhangsan').filter((m) => m.text === '手机发给张三 㑇𠀀').length, 1, 'once in RTX');
  t.notOk(rtxIms(sim, 'wangwu').some((m) => m.via !== 'rtx'), 'nothing the phones received was echoed back into RTX');

  // presence of RTX users, on the phone
  const initial = sim.state.getPresence('zhangsan');
  const watched = await wangwu.client.subscribePresence([ids.zhangsan as UserId, ids['钱七'] as UserId]);
  t.equal(watched.find((e) => e.userId === ids.zhangsan)?.status ?? 'offline', (['offline', 'online', 'away'] as const)[initial], 'the state RTX had before the org was synced is known (full presence after the snapshot)');
  if (initial !== 0) {
    const gone = nextEvent(wangwu.client, 'presence', (p) => p.presence.some((e) => e.userId === ids.zhangsan && e.status === 'offline'));
    await control(sim, 'PUT', '/presence/zhangsan', { state: 0 });
    await gone;
  }
  const on = nextEvent(wangwu.client, 'presence', (p) => p.presence.some((e) => e.userId === ids.zhangsan && e.status === 'online'));
  await control(sim, 'PUT', '/presence/zhangsan', { state: 1 });
  t.match((await on).presence.find((e) => e.userId === ids.zhangsan), { status: 'online', clients: ['rtx'] });
  const away = nextEvent(wangwu.client, 'presence', (p) => p.presence.some((e) => e.userId === ids.zhangsan && e.status === 'away'));
  await control(sim, 'PUT', '/presence/zhangsan', { state: 2 });
  await away;
  const off = nextEvent(wangwu.client, 'presence', (p) => p.presence.some((e) => e.userId === ids.zhangsan && e.status === 'offline'));
  await control(sim, 'PUT', '/presence/zhangsan', { state: 0 });
  await off;

  // an RTX user removed in RTX after the last sync: the phone user sees why
  await control(sim, 'DELETE', `/org/users/10086`);
  const ghost = await wangwu.client.sendText({ kind: 'user', id: ids['10086'] as UserId }, '发给已删除的用户');
  const n1 = await wangwu.inbox.until((ms) => notices({ messages: ms } as Inbox).length >= 1, 'a failure notice');
  const notice1 = n1.filter((m) => m.fromApp?.id === 'system')[0] as MessageView;
  t.match(textOf(notice1), /10086.*发给已删除的用户.*没有送达 RTX.*RTX_UNKNOWN_USER/, 'names the recipient, the message and the reason');
  t.match(notice1, { to: { kind: 'app', id: 'system' }, fromApp: { id: 'system' } });
  t.ok(ghost.id > 0);

  // RTX down past the retry window: a visible failure, nothing delivered later
  await control(sim, 'PUT', '/faults', { http: { down: true } });
  const t0 = Date.now();
  await wangwu.client.sendText({ kind: 'user', id: ids['钱七'] as UserId }, 'RTX 宕机时发送');
  await wangwu.inbox.until((ms) => notices({ messages: ms } as Inbox).length >= 2, 'the unreachable notice', 20_000);
  t.ok(Date.now() - t0 >= RETRY_WINDOW_MS - 100, `only after the retry window (${Date.now() - t0} ms)`);
  t.match(textOf(notices(wangwu.inbox)[1] as MessageView), /钱七.*RTX 宕机时发送.*RTX_UNREACHABLE/);
  await control(sim, 'PUT', '/faults', { http: { down: false } });

  // RTX down, back within the window: delivered once, no notice
  await control(sim, 'PUT', '/faults', { http: { down: true } });
  const retried = env.a.bridge.status().deliveries.retried;
  await wangwu.client.sendText({ kind: 'user', id: ids['钱七'] as UserId }, 'RTX 恢复后送达');
  await waitFor(() => env.a.bridge.status().deliveries.retried >= retried + 2, 'retries while RTX is down');
  await control(sim, 'PUT', '/faults', { http: { down: false } });
  await waitFor(() => rtxIms(sim, '钱七').some((m) => m.text === 'RTX 恢复后送达'), 'delivery once RTX is back');
  t.equal(rtxIms(sim, '钱七').filter((m) => m.text === 'RTX 恢复后送达').length, 1, 'once');
  t.equal(rtxIms(sim, '钱七').filter((m) => m.text === 'RTX 宕机时发送').length, 0, 'the failed one was not delivered after all');
  await control(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'wangwu', text: 'marker-2' });
  await wangwu.inbox.until((ms) => ms.some((m) => textOf(m) === 'marker-2'), 'the second marker');
  t.equal(notices(wangwu.inbox).length, 2, 'no notice for the message delivered within the window');
});

t.test('bad RTX through the whole stack: slow answers, error answers, the COM API down — clear errors, no crash, nothing lost', async (t) => {
  const env = await messagingEnv(t, { bridge: { retryWindowMs: 60_000, syncRetryMs: 300 } });
  const { sim, ids, g, a } = env;
  const wangwu = await online(t, g, 'wangwu', { deviceType: 'android' });
  const texts = ['慢回答 1', '慢回答 2 㑇', '慢回答 3'];
  const delivered = () => rtxIms(sim, 'zhangsan').filter((m) => texts.includes(m.text));

  // answers slower than the SDK timeout (1 s): retried; the console sees RTX down, with the reason
  await control(sim, 'PUT', '/faults', { http: { delayMs: 1_500 } });
  for (const x of texts) await wangwu.client.sendText({ kind: 'user', id: ids.zhangsan as UserId }, x);
  await waitFor(() => a.bridge.status().deliveries.retried >= 2, 'retries of the slow answers', 30_000);
  await waitFor(() => g.gw.rtx.adapterStatus?.rtx === 'down', 'the gateway to learn that RTX is down', 30_000);
  t.match(g.gw.rtx.adapterStatus, { rtx: 'down', ports: { sdk: 'down' }, detail: /not working: .*sdk/ }, 'rtx.status names the port');
  // error answers of every kind: retried, never a crash
  for (const kind of ['status500', 'reset', 'text']) {
    await control(sim, 'PUT', '/faults', { http: { delayMs: 0, errorRate: 1, errorKind: kind } });
    const before = a.bridge.status().deliveries.retried;
    await waitFor(() => a.bridge.status().deliveries.retried >= before + 2, `retries on ${kind} answers`, 30_000);
  }
  t.same(delivered(), [], 'nothing reached RTX while it misbehaved');

  // the COM API goes down too: RTX users keep typing; an org sync asked for in the console fails on the RTX side
  await control(sim, 'PUT', '/faults', { helper: { down: true } });
  await control(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'wangwu', text: 'COM 故障期间发送' });
  const admin = await consoleSession(g);
  const lastRun = lastRunId(g);
  t.equal((await admin.send('POST', '/api/admin/rtx/sync', {})).status, 202);
  await waitFor(() => (a.bridge.status().lastSync?.error ?? null) !== null, 'the failed org read', 30_000);
  t.match(a.bridge.status().lastSync, { error: /RTX|COM|unreachable|unavailable/i }, 'the adapter says why the org read failed');
  t.equal(lastRunId(g), lastRun, 'no partial snapshot reached the gateway');

  // RTX recovers: everything goes through, once, in order; the requested sync happens
  await control(sim, 'PUT', '/faults', { http: { errorRate: 0 }, helper: { down: false } });
  await waitFor(() => delivered().length >= texts.length, 'the held messages in RTX', 30_000);
  t.same(delivered().map((m) => m.text), texts, 'each held message once, in order');
  await wangwu.inbox.until((ms) => ms.some((m) => textOf(m) === 'COM 故障期间发送'), 'the message typed while the COM API was down', 30_000);
  const run = await nextFinishedRun(g, lastRun, 30_000);
  t.equal(run.state, 'applied', run.error ?? '');
  t.match(run.reason, /console/, 'the console\'s request was kept through the failure');
  await waitFor(() => g.gw.rtx.adapterStatus?.rtx === 'up', 'RTX up again in the console', 30_000);
  await control(sim, 'POST', '/rtx/send', { sender: 'zhangsan', to: 'wangwu', text: 'marker-3' });
  await wangwu.inbox.until((ms) => ms.some((m) => textOf(m) === 'marker-3'), 'the marker');
  t.equal(wangwu.inbox.messages.filter((m) => textOf(m) === 'COM 故障期间发送').length, 1, 'captured once');
  t.equal(notices(wangwu.inbox).length, 0, 'no failure notice: nothing failed for good');
  t.equal(g.gw.plugin.status().state, 'CONNECTED', 'the link stayed up');
});
