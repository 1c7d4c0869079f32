import t from 'tap';
import { runCli, startServerProcess } from '../helpers/process.js';
import { startGateway, tempDir } from '../helpers/gateway.js';

const json = { 'content-type': 'application/json' };

t.test('wired gateway: /api/admin on the http listener', async (t) => {
  const g = await startGateway(t);
  let r = await fetch(`${g.http}/api/admin/setup`);
  t.same(await r.json(), { needsSetup: true });
  t.equal(r.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
  r = await fetch(`${g.http}/api/admin/setup/admin`, { method: 'POST', headers: { ...json, origin: g.http }, body: JSON.stringify({ username: 'root', password: 'root-password-1' }) });
  t.equal(r.status, 201);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  r = await fetch(`${g.http}/api/admin/me`, { headers: { cookie } });
  t.equal(r.status, 200);
  r = await fetch(`${g.http}/api/admin/logout`, { method: 'POST', headers: { cookie, ...json }, body: '{}' });
  t.equal(r.status, 403);
  t.equal(((await r.json()) as { error: { code: string } }).error.code, 'GW_CSRF');
  t.equal((await fetch(`${g.http}/healthz`)).status, 200);
});

t.test('wired gateway: the console routes answer on the http listener', async (t) => {
  const g = await startGateway(t);
  let r = await fetch(`${g.http}/api/admin/setup/admin`, { method: 'POST', headers: { ...json, origin: g.http }, body: JSON.stringify({ username: 'root', password: 'root-password-1' }) });
  t.equal(r.status, 201);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  const me = (await (await fetch(`${g.http}/api/admin/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  const write = { cookie, ...json, origin: g.http, 'x-csrf-token': me.csrfToken };
  r = await fetch(`${g.http}/api/admin/depts`, { method: 'POST', headers: write, body: JSON.stringify({ parentId: null, name: '研发部' }) });
  t.equal(r.status < 300, true, `create a department (${r.status})`);
  r = await fetch(`${g.http}/api/admin/depts?parentId=root`, { headers: { cookie } });
  t.match(await r.text(), /研发部/, 'the tree lists it');
  for (const path of ['/api/admin/members?limit=10', '/api/admin/groups', '/api/admin/licence', '/api/admin/status', '/api/admin/log']) {
    t.equal((await fetch(`${g.http}${path}`, { headers: { cookie } })).status, 200, `GET ${path}`);
  }
  const status = (await (await fetch(`${g.http}/api/admin/status`, { headers: { cookie } })).json()) as unknown;
  t.match(JSON.stringify(status), /https\+wss/, 'status lists the real listeners');
});

t.test('huitong admin reset-password, with and without a server', async (t) => {
  const dir = tempDir(t);
  const data = ['--data', dir];
  let r = await runCli(['admin', 'reset-password', 'root', ...data], { input: 'new-password-1\n' });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /GW_NOT_FOUND: no administrator named root/);
  const srv = await startServerProcess(dir);
  const base = srv.http.replace(/\/$/, '');
  const login = (password: string) => fetch(`${base}/api/admin/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'root', password }) });
  t.equal((await fetch(`${base}/api/admin/setup/admin`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'root', password: 'root-password-1' }) })).status, 201);
  for (let i = 0; i < 5; i++) await login('bad-password');
  t.equal((await login('root-password-1')).status, 423, 'locked');
  r = await runCli(['admin', 'reset-password', 'root', ...data], { input: 'short\n' });
  t.match(r.stderr, /GW_BAD_REQUEST: password must have at least 8/);
  r = await runCli(['admin', 'reset-password', 'root', ...data], { input: 'new-password-2\n' });
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { username: 'root' });
  t.equal((await login('new-password-2')).status, 200, 'the reset through the socket lifted the lockout');
  t.equal(await srv.stop(), 0);
  r = await runCli(['admin', 'reset-password', 'root', '--password', 'new-password-3', ...data]);
  t.equal(r.code, 0, 'without a server: on the database');
  r = await runCli(['admin', 'reset-password', ...data]);
  t.equal(r.code, 64, 'usage');
});
