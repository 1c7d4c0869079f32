import t from 'tap';
import type { ReplyRuleView } from '../../gateway/src/apps/callbacks-types.js';
import { checkPattern, testWithDeadline } from '../../gateway/src/apps/safe-regex.js';
import type { MessageView } from '../../gateway/src/protocol/client-v1.js';
import { online } from '../helpers/clients.js';
import { startGateway } from '../helpers/gateway.js';
import { consoleSession } from '../helpers/rtx.js';

/**
 * Keyword auto-reply (issue 6, F-4.6): an administrator sets rules in the
 * console; a person sends "请假" to the app and gets the configured reply
 * within 1 s, with no server of the app's own. Exact, contains and regular
 * expression rules by priority, a default reply, and the guard against
 * catastrophic regular expressions (refused on save; bounded when matching).
 */

const replyFrom = (key: string, after: number) => (ms: MessageView[]) => ms.some((m) => m.fromApp?.id === key && m.id > after);

t.test('a user sends 请假 and gets the configured reply within 1 s; priorities, regex and default replies', async (t) => {
  const gw = await startGateway(t);
  const app = await gw.gw.services.apps.create({ name: '人事助手' });
  const s = await consoleSession(gw);
  const R = `/api/admin/apps/${app.rowId}/rules`;
  const add = async (rule: unknown) => {
    const r = await s.send('POST', R, rule);
    t.equal(r.status, 201, `rule saved: ${JSON.stringify(rule).slice(0, 80)}`);
    return (await r.json()) as ReplyRuleView;
  };
  const leave = await add({ match: 'exact', pattern: '请假', priority: 10, reply: { kind: 'link', body: { title: '请假申请', url: 'https://oa.example.com/leave' } } });
  await add({ match: 'contains', pattern: '请', priority: 1, reply: { kind: 'text', body: { text: '请问有什么可以帮您？' } } });
  await add({ match: 'regex', pattern: '^报销\\d+元$', priority: 5, reply: { kind: 'rich', body: { title: '报销', segments: [{ text: '报销单已收到', bold: true }] } } });
  await add({ match: 'default', reply: { kind: 'text', body: { text: '回复"请假"或"报销100元"' } } });
  const list = (await (await s.get(R)).json()) as { rules: ReplyRuleView[] };
  t.same(list.rules.map((r) => r.match), ['exact', 'regex', 'contains', 'default'], 'listed by priority, higher first');

  await gw.addUser('lily');
  const { client, inbox } = await online(t, gw, 'lily');
  const ask = async (text: string) => {
    const started = performance.now();
    const ack = await client.sendText({ kind: 'app', id: app.key }, text);
    const got = await inbox.until(replyFrom(app.key, ack.id), `the reply to ${text}`, 1000);
    const reply = got.find((m) => m.fromApp?.id === app.key && m.id > ack.id) as MessageView;
    return { reply, ms: performance.now() - started };
  };

  const r1 = await ask('请假');
  t.ok(r1.ms < 1000, `replied within 1 s (${Math.round(r1.ms)} ms)`);
  t.match(r1.reply, { kind: 'link', body: { title: '请假申请', url: 'https://oa.example.com/leave' }, to: { kind: 'app', id: app.key }, fromApp: { id: app.key, name: '人事助手' } }, 'the exact rule (priority 10) wins over contains');
  t.match((await ask('请问食堂几点开门')).reply, { kind: 'text', body: { text: '请问有什么可以帮您？' } }, 'contains');
  t.match((await ask('报销100元')).reply, { kind: 'rich', body: { segments: [{ text: '报销单已收到' }] } }, 'regular expression');
  t.match((await ask('你好')).reply, { kind: 'text', body: { text: '回复"请假"或"报销100元"' } }, 'the default reply when nothing matched');

  // a change applies at once; a disabled rule is skipped
  const upd = await s.send('PUT', `${R}/${leave.id}`, { match: 'exact', pattern: '请假', priority: 10, enabled: false, reply: { kind: 'text', body: { text: 'x' } } });
  t.equal(upd.status, 200);
  t.match((await ask('请假')).reply, { body: { text: '请问有什么可以帮您？' } }, 'the disabled exact rule no longer answers');
  t.equal((await s.send('DELETE', `${R}/${leave.id}`)).status, 204);
  t.equal((await s.send('DELETE', `${R}/${leave.id}`)).status, 404, 'deleted once');

  const log = (await (await s.get('/api/admin/log?targetKind=app')).json()) as { entries: { action: string }[] };
  const actions = log.entries.map((e) => e.action);
  for (const a of ['app.rule.create', 'app.rule.update', 'app.rule.delete']) t.ok(actions.includes(a), `${a} is in the action log`);

  // the other device of the user sees both sides of the conversation
  const other = await online(t, gw, 'lily');
  await other.inbox.until((ms) => ms.some((m) => m.from > 0 && m.to.kind === 'app') && ms.some((m) => m.fromApp?.id === app.key), 'the conversation on another device');
});

t.test('the regular-expression guard: catastrophic patterns are refused on save; matching is bounded anyway', async (t) => {
  const gw = await startGateway(t);
  const app = await gw.gw.services.apps.create({ name: '审批' });
  const s = await consoleSession(gw);
  const R = `/api/admin/apps/${app.rowId}/rules`;
  const refused = async (pattern: string, why: RegExp) => {
    const r = await s.send('POST', R, { match: 'regex', pattern, reply: { kind: 'text', body: { text: 'x' } } });
    t.equal(r.status, 400, `${pattern.slice(0, 40)} is refused`);
    t.match(((await r.json()) as { error: { code: string; message: string } }).error, { code: 'GW_BAD_REQUEST', message: why });
  };
  await refused('^(a+)+$', /nested quantifiers/);
  await refused('(a|aa)*b', /nested quantifiers/);
  await refused('(.*a){12}', /nested quantifiers/);
  await refused('(x+x+)+y', /nested quantifiers/);
  await refused('((ab)*c)+', /nested quantifiers/);
  await refused('(a)\\1', /backreferences/);
  await refused('a'.repeat(201), /longer than 200/);
  await refused('(unclosed', /not valid/);
  for (const bad of [{ match: 'regex', reply: { kind: 'text', body: { text: 'x' } } }, { match: 'fuzzy', pattern: 'a', reply: { kind: 'text', body: { text: 'x' } } },
    { match: 'exact', pattern: 'a', reply: { kind: 'voice', body: {} } }, { match: 'exact', pattern: 'a', reply: { kind: 'text', body: {} } },
    { match: 'exact', pattern: 'a', reply: { kind: 'link', body: { title: 't', url: 'javascript:alert(1)' } } }, { match: 'exact', pattern: 'a', extra: 1, reply: { kind: 'text', body: { text: 'x' } } }]) {
    t.equal((await s.send('POST', R, bad)).status, 400, `refused: ${JSON.stringify(bad).slice(0, 70)}`);
  }
  t.equal(((await (await s.get(R)).json()) as { rules: unknown[] }).rules.length, 0, 'nothing was stored');
  for (const ok of ['^请假$', '(请假|休假)', '报销\\d+元', '(?:a|b)c', '[(+]+', '(ab){2}']) t.doesNotThrow(() => checkPattern(ok), `${ok} is accepted`);

  // a classic evil pattern that bypassed the save guard (written straight to the database) cannot stall the gateway
  const started = performance.now();
  t.equal(testWithDeadline(/^(a+)+$/, `${'a'.repeat(40)}!`), null, 'the evaluation is cut at its deadline');
  t.ok(performance.now() - started < 1000, 'bounded time');
  gw.gw.services.db.prepare("INSERT INTO app_reply_rules (app_row_id, match, pattern, priority, reply_kind, reply_body, enabled, created_at, updated_at) VALUES (?, 'regex', '^(a|a)*$', 5, 'text', '{\"text\":\"evil\"}', 1, 0, 0)").run(app.rowId);
  await s.send('POST', R, { match: 'default', reply: { kind: 'text', body: { text: '默认回复' } } });
  await gw.addUser('max');
  const { client, inbox } = await online(t, gw, 'max');
  const t0 = performance.now();
  const ack = await client.sendText({ kind: 'app', id: app.key }, `${'a'.repeat(40)}!`);
  const got = await inbox.until(replyFrom(app.key, ack.id), 'the default reply', 1000);
  t.match(got.find((m) => m.id > ack.id), { body: { text: '默认回复' } }, 'the evil rule is treated as no match; the default reply still comes');
  t.ok(performance.now() - t0 < 1000, 'within 1 s');
});
