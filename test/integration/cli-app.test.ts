import t from 'tap';
import { tempDir } from '../helpers/gateway.js';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { YouduClient } from '../helpers/youdu-client.js';

/*
 * `huitong app import` and `huitong app list` as an operator moving from an
 * existing installation uses them: with the server stopped (straight on the
 * database) and running (through the admin socket); the imported values then
 * work unchanged for a spec client.
 */

const dir = tempDir(t, 'huitong-cli-app-');
const data = ['--data', dir];
const KEY = 'A0aWSqDL5SV4fafQl3OavoVPUn6sx7xNnD+1hOoTeWk=';
const APP_ID = 'yd06AB76EC519B4130A802224B4C60F689';
const KEY2 = Buffer.alloc(32, 7).toString('base64');

type Run = Awaited<ReturnType<typeof runCli>>;
const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 800)}\nstderr: ${r.stderr.slice(0, 800)}`;

let server: ServerProcess | null = null;
t.teardown(async () => {
  if (server) await server.kill9();
});

t.test('with no server: import prints the app with its key masked; bad input gets its exit code and message', async (t) => {
  let r = await runCli(['app', 'import', '--buin', '707168', '--app-id', APP_ID, '--aes-key', KEY, '--token', 'mytoken', '--name', '旧考勤', ...data]);
  t.equal(r.code, 0, show(r));
  const view = JSON.parse(r.stdout) as Record<string, unknown>;
  t.match(view, { name: '旧考勤', buin: 707168, appId: APP_ID, kind: 'custom', token: 'set', aesKey: `A0aW${'*'.repeat(36)}eWk=` });
  t.notOk(r.stdout.includes(KEY) || r.stdout.includes('mytoken'), 'no secret is printed');

  r = await runCli(['app', 'import', '--buin', '707168', '--app-id', APP_ID, '--aes-key', KEY, '--name', '重复', ...data]);
  t.equal(r.code, 1, 'a duplicate appId under the buin');
  t.match(r.stderr, /GW_CONFLICT/);
  r = await runCli(['app', 'import', '--buin', '707168', '--app-id', 'ydOTHER', '--aes-key', 'short', '--name', '坏钥匙', ...data]);
  t.equal(r.code, 1, 'a bad key');
  t.match(r.stderr, /GW_BAD_REQUEST/);
  r = await runCli(['app', 'import', '--buin', 'abc', '--app-id', 'ydOTHER', '--aes-key', KEY, '--name', 'x', ...data]);
  t.equal(r.code, 1, 'a buin that is not a number');
  r = await runCli(['app', 'import', '--app-id', 'ydOTHER', '--aes-key', KEY, ...data]);
  t.equal(r.code, 64, 'missing options are a usage error');
  t.match(r.stderr, /--buin, --name/);

  r = await runCli(['app', 'list', '--json', ...data]);
  t.equal(r.code, 0, show(r));
  const list = (JSON.parse(r.stdout) as { apps: { appId: string | null; name: string }[] }).apps;
  t.ok(list.some((a) => a.appId === 'sysOrgAssistant'), 'the system apps are there');
  t.equal(list.filter((a) => a.name === '旧考勤').length, 1, 'the import once; the refused ones left nothing');
  t.notOk(r.stdout.includes(KEY), 'list masks keys');
});

t.test('a running server: import goes through the admin socket and a spec client gets a token with the imported values', async (t) => {
  server = await startServerProcess(dir);
  const yd = new YouduClient(server.http, 707168, APP_ID, KEY);
  t.match(await yd.gettoken(), /^[0-9a-f]{64}$/, 'the app imported while the server was stopped works');

  const r = await runCli(['app', 'import', '--buin', '16106057', '--app-id', 'sysOrgAssistant', '--aes-key', KEY2, '--name', '组织同步(旧)', ...data]);
  t.equal(r.code, 0, show(r));
  t.match(JSON.parse(r.stdout), { kind: 'system', buin: 16106057, appId: 'sysOrgAssistant' }, 'a system assistant from another installation keeps being one');
  const org = new YouduClient(server.http, 16106057, 'sysOrgAssistant', KEY2);
  t.match(await org.gettoken(), /^[0-9a-f]{64}$/, 'the running server knows it at once');
  const depts = await org.get('/cgi/dept/list?id=0');
  t.equal(depts.json.errcode, 0, 'and it may read the org');

  const text = await runCli(['app', 'list', ...data]);
  t.equal(text.code, 0);
  t.match(text.stdout, /sysOrgAssistant/);
  t.match(text.stdout, /旧考勤/);
  t.equal(await server.stop(), 0, 'the server stops cleanly');
  server = null;
});
