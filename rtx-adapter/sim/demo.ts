/**
 * `npm run demo` — the RTX bridge to try by hand, on loopback only, in one process:
 * a gateway (its own data dir, ./demo-data, fresh each run unless --keep), the RTX server
 * simulator with a seeded Chinese org, and the RTX adapter as it runs on an RTX host
 * (install A of docs/rtx-adapter.md: the org and captures through the COM helper — here the
 * simulator's helper process — and SendIM through the RTX HTTP SDK), connected to the
 * gateway's plugin channel over TLS with the connection code, exactly as a remote adapter is.
 * Prints how to use each part; Ctrl-C stops everything.
 *
 *   node --import tsx rtx-adapter/sim/demo.ts [--data ./demo-data] [--keep] [--users 300]
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../gateway/src/config/load.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import { startAdapter } from '../src/adapter.js';
import { startRtxSimulator } from './simulator.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PHONE_PASSWORD = 'huitong-demo';
const ADMIN = { username: 'admin', password: 'huitong-demo-admin' };

const { values } = parseArgs({
  options: { data: { type: 'string', default: './demo-data' }, keep: { type: 'boolean', default: false }, users: { type: 'string', default: '300' } },
});
const dataDir = path.resolve(String(values.data));
const users = Math.max(20, Number(values.users) || 300);
const say = (s = '') => process.stdout.write(`${s}\n`);
/** --data as the user would type it from here. */
const dataArg = path.relative(process.cwd(), dataDir).startsWith('..') ? dataDir : path.relative(process.cwd(), dataDir) || '.';

if (!values.keep) rmSync(dataDir, { recursive: true, force: true });

const sim = await startRtxSimulator({ org: { users, departments: Math.max(5, Math.round(users / 12)), groups: 12, seed: 2024 } });
const config = loadConfig({
  env: {},
  overrides: {
    dataDir, 'http.port': 0, 'https.port': 0, 'tcp.port': 0, 'plugin.port': 0, 'rtxSdk.port': 0,
    'http.host': '127.0.0.1', 'https.host': '127.0.0.1', 'tcp.host': '127.0.0.1', 'plugin.host': '127.0.0.1', 'rtxSdk.host': '127.0.0.1',
    'log.level': 'warn',
  },
});
const gw = await buildGateway(config, { log: createLogger('warn', { service: 'huitong-demo' }) });
await gw.start();
const ports = gw.ports();
const http = `http://127.0.0.1:${ports.http}`;

const adapter = await startAdapter({
  gateway: { host: '127.0.0.1', port: ports.plugin as number, tls: { ca: readFileSync(path.join(dataDir, 'tls', 'self-signed.crt')) }, code: gw.services.rtxCode.current().code, name: 'demo RTX adapter (COM helper + HTTP SDK)' },
  dataDir: path.join(dataDir, 'adapter'),
  rtx: {
    sdkUrl: sim.sdkUrl,
    helper: { command: [process.execPath, '--import', 'tsx', path.join(ROOT, 'rtx-adapter/sim/helper-main.ts'), '--control', sim.controlUrl], cwd: ROOT },
  },
  bridge: { presenceIntervalMs: 10_000 },
  log: { info: () => {}, warn: (o, m) => process.stderr.write(`[adapter] ${m} ${JSON.stringify(o)}\n`) },
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nstopping: adapter, gateway, RTX simulator…');
  await adapter.stop().catch(() => undefined);
  await gw.stop().catch(() => undefined);
  await sim.close().catch(() => undefined);
  say(values.keep ? `stopped; the data is kept in ${dataDir}` : `stopped (${dataDir} is removed at the next start; --keep keeps it)`);
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

// the first sync: the org arrives from RTX
const deadline = Date.now() + 60_000;
for (;;) {
  const run = gw.services.rtxSync.runs(5).find((r) => r.state !== 'staging' && r.finishedAt !== null);
  if (run) {
    if (run.state !== 'applied') process.stderr.write(`the RTX org sync ended ${run.state}: ${run.error}\n`);
    break;
  }
  if (Date.now() > deadline) {
    process.stderr.write('the RTX org did not arrive within 60 s; see the console (RTX 集成)\n');
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}

// two RTX users also use the phone app: they need a password and a seat
const dir = gw.services.directory;
for (const account of ['zhangsan', 'lisi']) {
  const u = await dir.getUserByAccount(account);
  if (!u) continue;
  await gw.services.auth.setPassword(u.id, PHONE_PASSWORD);
  if (!u.authorised) await dir.setAuthorised(u.id, true).catch(() => undefined);
}

// the console's first administrator (what the first-start wizard does)
let adminLine: string;
const r = await fetch(`${http}/api/admin/setup/admin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: http }, body: JSON.stringify(ADMIN) });
if (r.status === 201) adminLine = `administrator ${ADMIN.username} / ${ADMIN.password} (created by the demo; the wizard then asks for a licence: skip it, the trial has 50 seats)`;
else adminLine = 'log in with the administrator created in an earlier run (--keep)';

const group = [...sim.state.groups.values()][0];
const counts = { users: sim.state.userList().length, depts: sim.state.depts.size, groups: sim.state.groups.size };
const chat = `node bin/huitong.js chat --server wss://localhost:${ports.https}/ws --insecure`;
const ctl = sim.controlUrl;
say(`
Huitong RTX bridge demo — everything on 127.0.0.1; Ctrl-C stops it all.
  gateway data dir   ${dataDir}${values.keep ? ' (kept)' : ' (fresh)'}
  RTX simulator      ${counts.users} users, ${counts.depts} departments, ${counts.groups} groups (HTTP SDK ${sim.sdkUrl}, control API ${ctl})
  RTX adapter        separate adapter as on an RTX host: org + capture via the COM helper, SendIM via the HTTP SDK,
                     connected to the plugin channel 127.0.0.1:${ports.plugin} over TLS with the connection code

1. The console
   ${http}/
   ${adminLine}
   组织架构 shows the RTX org (read-only fields), 群组 the RTX groups (read-only), RTX 集成 the link and sync runs.

2. Chat as a mobile user (the RTX users zhangsan 张三 and lisi 李四 also use the phone app; password ${PHONE_PASSWORD})
   ${chat} --user zhangsan --password ${PHONE_PASSWORD} listen
   ${chat} --user lisi --password ${PHONE_PASSWORD} send wangwu '你好，王五（从手机发到 RTX）'
   ${chat} --user lisi --password ${PHONE_PASSWORD} send 'group:${group?.name ?? '项目组1'}' '大家好'

3. RTX users (the simulator's control API)
   wangwu (王五, on the RTX client) writes to zhangsan's phone:
     curl -s -X POST ${ctl}/rtx/send -H 'content-type: application/json' -d '{"sender":"wangwu","to":"zhangsan","text":"张三你好，我是王五（RTX）"}'
   a message into the RTX group ${group?.name ?? ''}:
     curl -s -X POST ${ctl}/rtx/send -H 'content-type: application/json' -d '{"sender":"${group?.members[0] ?? 'zhangsan'}","group_id":"${group?.id ?? ''}","text":"群里好"}'
   what wangwu received on RTX (messages from phones arrive through SendIM):
     curl -s ${ctl}/received/wangwu
   the RTX org, as RTX has it:  curl -s '${ctl}/org/users?limit=5'   curl -s ${ctl}/org/groups

4. The RTX-compatible SDK (port 8012 on a real appliance; here ${ports.rtxSdk}) for scripts written for RTX:
     curl -s 'http://127.0.0.1:${ports.rtxSdk}/SendNotify.cgi' --data-urlencode 'receiver=zhangsan,lisi' --data-urlencode 'title=审批提醒' --data-urlencode 'msg=请查收报销单'
   (answers 操作成功! in GBK; zhangsan's and lisi's phones get it from 系统通知)

Admin commands reach this gateway with --data ${dataArg}, e.g. node bin/huitong.js rtx code --data ${dataArg}
`);
