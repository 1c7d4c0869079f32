import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, configKeys, loadConfig, sampleConfig } from '../../gateway/src/config/load.js';
import { tempDir } from '../helpers/gateway.js';
import { readFileSync } from 'node:fs';

t.test('defaults: the documented ports and ./data', async (t) => {
  const c = loadConfig({ env: {} });
  t.equal(c.http.port, 7080);
  t.equal(c.https.port, 7443);
  t.equal(c.tcp.port, 7006);
  t.equal(c.storage.synchronous, 'FULL');
  t.ok(path.isAbsolute(c.dataDir));
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.http), 'frozen');
});

t.test('file, then environment, then command line', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ http: { port: 9000 }, https: { port: 9443 } }));
  const c = loadConfig({ file, env: { HUITONG_HTTPS_PORT: '9444', HUITONG_TCP_PORT: '0' }, overrides: { dataDir: dir } });
  t.equal(c.http.port, 9000);
  t.equal(c.https.port, 9444);
  t.equal(c.tcp.port, 0, '0 = ephemeral');
  t.equal(c.dataDir, dir);
});

t.test('bad values name the key', async (t) => {
  t.throws(() => loadConfig({ env: { HUITONG_HTTP_PORT: 'eighty' } }), ConfigError);
  t.throws(() => loadConfig({ env: { HUITONG_HTTP_PORT: 'eighty' } }), /http\.port/);
  t.throws(() => loadConfig({ env: { HUITONG_HTTP_PORT: '70000' } }), /http\.port/);
  const dir = tempDir(t);
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ htp: { port: 1 } }));
  t.throws(() => loadConfig({ file, env: {} }), ConfigError, 'unknown key refused');
  writeFileSync(file, '{not json');
  t.throws(() => loadConfig({ file, env: {} }), /not a JSON object/);
  t.throws(() => loadConfig({ env: { HUITONG_HTTPS_CERT_FILE: '/x.crt' } }), /give both or neither/);
});

t.test('every key has an environment variable', async (t) => {
  const keys = configKeys();
  t.ok(keys.some((k) => k.env === 'HUITONG_STORAGE_SQLITE_FILE'));
  t.ok(keys.every((k) => /^HUITONG_[A-Z0-9_]+$/.test(k.env)));
});

t.test('the committed sample config is generated from the schema', async (t) => {
  const committed = readFileSync(new URL('../../appliance/huitong.sample.json', import.meta.url), 'utf8');
  t.equal(committed, sampleConfig(), 'run `npm run config:sample` after changing the schema');
});
