import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { tempDir } from '../helpers/gateway.js';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/process.js';

/*
 * The `huitong` command as an operator uses it: real processes, a real server
 * on ephemeral ports, admin commands through the admin socket (and directly on
 * the database when no server runs), and `huitong chat` as a client.
 */

const dir = tempDir(t, 'huitong-cli-');
const data = ['--data', dir];
const EPHEMERAL = { HUITONG_HTTP_PORT: '0', HUITONG_HTTPS_PORT: '0', HUITONG_TCP_PORT: '0', HUITONG_HTTP_HOST: '127.0.0.1', HUITONG_HTTPS_HOST: '127.0.0.1', HUITONG_TCP_HOST: '127.0.0.1', HUITONG_PLUGIN_PORT: '0', HUITONG_PLUGIN_HOST: '127.0.0.1', HUITONG_RTX_SDK_PORT: '0', HUITONG_RTX_SDK_HOST: '127.0.0.1' };
const ALICE_PW = 'alice-secret-1';
const BOB_OLD_PW = 'bob-secret-old';
const BOB_PW = 'bob-secret-new-2';
const certFile = path.join(dir, 'tls', 'self-signed.crt');

type Run = Awaited<ReturnType<typeof runCli>>;
const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 800)}\nstderr: ${r.stderr.slice(0, 800)}`;

/** Runs an admin command and parses its JSON output; fails the test with the output otherwise. */
async function admin(t: Test, args: string[], input?: string): Promise<Record<string, unknown>> {
  const r = await runCli([...args, ...data], input === undefined ? {} : { input });
  t.equal(r.code, 0, `huitong ${args.join(' ')} succeeds`, { output: show(r) });
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    t.fail(`huitong ${args.join(' ')} prints JSON`, { output: show(r) });
    return {};
  }
}

let server: ServerProcess | null = null;
t.teardown(async () => {
  if (server) await server.kill9();
});

t.test('serve refuses an invalid configuration value with exit 78, naming the key', async (t) => {
  const r = await runCli(['serve', ...data], { env: { ...EPHEMERAL, HUITONG_HTTP_PORT: 'abc' } });
  t.equal(r.code, 78, 'BAD_CONFIG', { output: show(r) });
  t.match(r.stderr, /http\.port/, 'the message names http.port');
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace');
  t.notOk(existsSync(path.join(dir, 'run', 'admin.sock')), 'nothing was started');
});

t.test('admin commands work with no server running (directly on the database)', async (t) => {
  const dept = await admin(t, ['dept', 'add', '运维部']);
  t.equal(dept.name, '运维部');
  const dave = await admin(t, ['user', 'add', 'dave', '--name', '戴夫', '--dept', '运维部', '--password', 'dave-secret-1']);
  t.equal(dave.account, 'dave');
  t.equal(dave.mainDeptId, dept.id, 'in the department just created');
  const list = await admin(t, ['user', 'list', '--query', 'dave']);
  t.equal(list.total, 1);
});

t.test('a running server: admin commands go through the admin socket', async (t) => {
  server = await startServerProcess(dir, { HUITONG_LOG_LEVEL: 'info' });
  t.match(server.wss, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/, `the server printed its WSS URL (${server.wss})`);
  const sock = path.join(dir, 'run', 'admin.sock');
  t.ok(existsSync(sock), 'run/admin.sock exists');
  const st = statSync(sock);
  t.ok(st.isSocket(), 'it is a Unix socket');
  t.equal((st.mode & 0o777).toString(8), '600', 'mode 0600');
  t.equal((statSync(path.dirname(sock)).mode & 0o777).toString(8), '700', 'in a 0700 directory');

  const dept = await admin(t, ['dept', 'add', '研发部/平台组']);
  t.equal(dept.name, '平台组', 'prints the last level');
  const depts = (await runCli(['dept', 'list', ...data])).stdout;
  t.match(depts, /研发部/, 'the parent was created too');

  const alice = await admin(t, ['user', 'add', 'alice', '--name', '爱丽丝', '--dept', '研发部/平台组', '--password', ALICE_PW]);
  t.match(alice, { account: 'alice', name: '爱丽丝', mainDeptId: dept.id, status: 'active' });
  const bob = await admin(t, ['user', 'add', 'bob', '--name', '鲍勃', '--dept', '研发部/平台组', '--password', BOB_OLD_PW]);
  t.equal(bob.account, 'bob');
  const group = await admin(t, ['group', 'create', '项目组', '--members', 'alice,bob']);
  t.equal(group.name, '项目组');
  t.same([...(group.memberIds as number[])].sort(), [alice.id, bob.id].sort(), 'alice and bob are the members');
  t.equal(group.ownerId, alice.id, 'the first member owns it');

  const passwd = await admin(t, ['user', 'passwd', 'bob'], `${BOB_PW}\n`);
  t.same(passwd, { account: 'bob', passwordChanged: true }, 'the password was read from stdin');

  const seed = await admin(t, ['demo', 'seed', '--users', '50']);
  t.equal(seed.users, 50);
  const all = await admin(t, ['user', 'list', '--limit', '1000']);
  t.equal(all.total, 53, '50 demo users + alice, bob and dave (added without a server)');
  const found = await admin(t, ['user', 'list', '--query', '爱丽丝']);
  t.equal(found.total, 1);
  t.equal((found.users as { account: string }[])[0]?.account, 'alice', 'search by name');
  const byPinyin = await admin(t, ['user', 'list', '--query', 'bao']);
  t.ok((byPinyin.users as { account: string }[]).some((u) => u.account === 'bob'), 'search by pinyin (鲍勃 → bao bo)');

  const dup = await runCli(['user', 'add', 'ALICE', '--name', 'x', ...data]);
  t.equal(dup.code, 1, 'a refused admin command exits 1', { output: show(dup) });
  t.match(dup.stderr, /^huitong: GW_CONFLICT: /m, 'with the GW code on stderr');
  const short = await runCli(['user', 'passwd', 'alice', '--password', 'short', ...data]);
  t.equal(short.code, 1);
  t.match(short.stderr, /GW_BAD_REQUEST/);

  // the server logged each command it ran for the CLI: they went through its socket
  const logged: string[] = server.output().match(/"command":"[a-z.]+"/g) ?? [];
  for (const c of ['dept.add', 'user.add', 'group.create', 'user.passwd', 'demo.seed', 'user.list']) {
    t.ok(logged.includes(`"command":"${c}"`), `the server ran ${c} for the CLI`);
  }
  t.notOk(logged.includes('"command":"user.show"'), 'and nothing it was not asked');
});

t.test('chat: listen prints what send sends, over WSS and TLS TCP', async (t) => {
  if (!server) return t.fail('no server');
  // the listener runs in the background (TLS TCP, verifying the self-signed certificate)
  const listening = runCli(['chat', '--server', server.tcp, '--ca', certFile, '--user', 'bob', '--password', BOB_PW, '--timeout-ms', '60000', 'listen', '--json', '--count', '2']);
  const s1 = await runCli(['chat', '--server', server.wss, '--ca', certFile, '--user', 'alice', '--password', ALICE_PW, 'send', 'bob', '你好']);
  t.equal(s1.code, 0, 'send to an account', { output: show(s1) });
  t.match(s1.stdout, /^sent: message \d+, seq \d+$/m);
  const s2 = await runCli(['chat', '--server', server.wss, '--insecure', '--user', 'alice', '--password', ALICE_PW, 'send', 'group:项目组', '大家好']);
  t.equal(s2.code, 0, 'send to a group by name (with --insecure)', { output: show(s2) });

  const l = await listening;
  t.equal(l.code, 0, 'listen --count 2 exits 0 after two messages', { output: show(l) });
  const lines = l.stdout.trim().split('\n');
  t.equal(lines.length, 2, 'two lines');
  const msgs = lines.map((x) => JSON.parse(x) as { seq: number; id: number; from: string; to: string; kind: string; text: string });
  t.match(msgs[0], { from: 'alice', to: 'bob', kind: 'text', text: '你好' });
  t.match(msgs[1], { from: 'alice', to: 'group:项目组', kind: 'text', text: '大家好' });
  t.ok((msgs[0]?.seq ?? 0) >= 1 && (msgs[1]?.seq ?? 0) === (msgs[0]?.seq ?? 0) + 1, `bob's inbox seqs follow each other (${msgs.map((m) => m.seq).join(', ')})`);
  t.ok((msgs[1]?.id ?? 0) > (msgs[0]?.id ?? 0), 'message ids increase');
});

t.test('chat: bad usage exits 64, a wrong password exits 1 with GW_AUTH_FAILED, an untrusted certificate 75', async (t) => {
  if (!server) return t.fail('no server');
  const wss = server.wss;
  const [noPassword, unknownOption, noCommand, badUrl, badCount, wrongPassword, untrusted] = await Promise.all([
    runCli(['chat', '--server', wss, '--user', 'alice', 'send', 'bob', 'hi']),
    runCli(['chat', '--server', wss, '--user', 'alice', '--password', ALICE_PW, '--frobnicate', 'send', 'bob', 'hi']),
    runCli(['chat', '--server', wss, '--user', 'alice', '--password', ALICE_PW]),
    runCli(['chat', '--server', 'http://127.0.0.1:1/', '--user', 'alice', '--password', ALICE_PW, 'send', 'bob', 'hi']),
    runCli(['chat', '--server', wss, '--user', 'bob', '--password', BOB_PW, 'listen', '--count', '0']),
    runCli(['chat', '--server', wss, '--insecure', '--user', 'alice', '--password', 'not-her-password', 'send', 'bob', 'hi']),
    runCli(['chat', '--server', wss, '--user', 'alice', '--password', ALICE_PW, 'send', 'bob', 'hi']),
  ]);
  for (const [what, r] of [['no --password', noPassword], ['an unknown option', unknownOption], ['no command', noCommand], ['an http:// server URL', badUrl], ['--count 0', badCount]] as const) {
    t.equal(r.code, 64, `${what}: exit 64`, { output: show(r) });
    t.match(r.stderr, /^huitong chat: .+/m, `${what}: says what is wrong`);
  }
  t.equal(wrongPassword.code, 1, 'wrong password: exit 1', { output: show(wrongPassword) });
  t.match(wrongPassword.stderr, /GW_AUTH_FAILED/, 'wrong password: GW_AUTH_FAILED on stderr');
  t.equal(untrusted.code, 75, 'no --ca and no --insecure against a self-signed certificate: exit 75', { output: show(untrusted) });
  t.match(untrusted.stderr, /--ca/, 'and a hint to give --ca');

  const unknownCommand = await runCli(['frobnicate', ...data]);
  t.equal(unknownCommand.code, 64, 'an unknown huitong command exits 64');
  const unknownAdminOption = await runCli(['user', 'list', '--frobnicate', ...data]);
  t.equal(unknownAdminOption.code, 64, 'an unknown admin option exits 64');
  const none = await runCli([]);
  t.equal(none.code, 64, 'huitong with no arguments exits 64');
});

t.test('a second server on the same data directory exits 74 and leaves the first one alone', async (t) => {
  if (!server) return t.fail('no server');
  const second = await runCli(['serve', ...data], { env: EPHEMERAL });
  t.equal(second.code, 74, 'DATA_DIR_IN_USE', { output: show(second) });
  t.match(second.stderr, /another Huitong server/i);
  t.ok(existsSync(path.join(dir, 'run', 'admin.sock')), 'the first server keeps its admin socket');
  const still = await admin(t, ['user', 'list', '--query', 'alice']);
  t.equal(still.total, 1, 'and still answers through it');
  const res = await fetch(`${server.http}/healthz`);
  t.equal(res.status, 200, 'and is healthy');
});

t.test('SIGTERM stops the server cleanly with exit 0', async (t) => {
  if (!server) return t.fail('no server');
  const s = server;
  const code = await s.stop();
  server = null;
  t.equal(code, 0, 'exit code 0');
  const out = s.output();
  const alarming = out.split('\n').filter((l) => /"level":"(warn|error|fatal)"|unexpected|uncaught|unhandled|^\s+at |Error:/i.test(l));
  t.same(alarming, [], 'nothing alarming printed');
  t.match(out, /"msg":"stopped"/, 'it says it stopped');
  t.notOk(existsSync(path.join(dir, 'run', 'admin.sock')), 'the admin socket is gone');

  const after = await admin(t, ['user', 'list', '--limit', '1000']);
  t.equal(after.total, 53, 'with the server stopped, admin commands open the database directly and see everything');
  const bobShow = await admin(t, ['user', 'show', 'bob']);
  t.ok(Array.isArray(bobShow.devices) && (bobShow.devices as unknown[]).length >= 1, "bob's chat device was recorded");
});
