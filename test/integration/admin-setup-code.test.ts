import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';

const REMOTE = '10.20.30.40';

t.test('setup from another machine needs the one-time code from the appliance; from the appliance itself it does not', async (t) => {
  const gw = await startGateway(t);
  const app = gw.gw.http;
  const file = path.join(gw.dataDir, 'setup-code');
  t.ok(existsSync(file), 'the code is written to the data directory at start');
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the server user only');
  const code = readFileSync(file, 'utf8').trim();
  t.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

  let r = await app.inject({ method: 'GET', url: '/api/admin/setup', remoteAddress: REMOTE });
  t.same(r.json(), { needsSetup: true, setupCodeRequired: true }, 'a remote browser is told the code is needed');
  r = await app.inject({ method: 'GET', url: '/api/admin/setup' });
  t.same(r.json(), { needsSetup: true }, 'the appliance itself (loopback) is not asked');

  const body = { username: 'root', password: 'root-password-1' };
  r = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', remoteAddress: REMOTE, payload: body });
  t.equal(r.statusCode, 403, 'without the code: refused');
  t.match(r.json().error.message, /setup code is needed.*huitong admin setup-code/);
  r = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', remoteAddress: REMOTE, payload: { ...body, setupCode: 'AAAA-BBBB-CCCC' } });
  t.equal(r.statusCode, 403, 'a wrong code: refused');
  t.equal(await gw.gw.services.admin.needsSetup(), true, 'no administrator was created');

  const cli = await runCli(['admin', 'setup-code', '--data', gw.dataDir]);
  t.equal(cli.stdout.trim(), code, '`huitong admin setup-code` prints it on the appliance');

  r = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', remoteAddress: REMOTE, payload: { ...body, setupCode: code.toLowerCase().replace(/-/g, ' ') } });
  t.equal(r.statusCode, 201, 'the right code (any case, spaces for dashes) creates the administrator');
  t.notOk(existsSync(file), 'the code is gone once it has served');
  r = await app.inject({ method: 'GET', url: '/api/admin/setup', remoteAddress: REMOTE });
  t.same(r.json(), { needsSetup: false });
});

t.test('guessing the setup code is throttled per address', async (t) => {
  const gw = await startGateway(t, { config: { 'auth.loginsPerMinutePerAddress': 3 } });
  const app = gw.gw.http;
  let last = 0;
  for (let i = 0; i < 4 && last !== 429; i++) {
    const r = await app.inject({ method: 'POST', url: '/api/admin/setup/admin', remoteAddress: REMOTE, payload: { username: 'root', password: 'root-password-1', setupCode: `WRONG-${i}` } });
    last = r.statusCode;
  }
  t.equal(last, 429, 'after a few wrong codes the address must wait');
  const other = await app.inject({ method: 'GET', url: '/api/admin/setup', remoteAddress: '10.9.9.9' });
  t.equal(other.statusCode, 200, 'other addresses are not affected');
});
