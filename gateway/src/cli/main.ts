import { parseArgs } from 'node:util';
import path from 'node:path';
import { SETUP_CODE_FILE, SetupCode } from '../admin/setup-code.js';
import { ConfigError, loadConfig, sampleConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CONTROL_COMMANDS } from '../control/commands.js';
import { adminSocketPath, callAdminSocket, DataDirInUseError, socketAlive } from '../control/socket.js';
import { EXIT_CODES } from '../errors/registry.js';
import { GatewayError } from '../errors/gateway-error.js';
import { buildGateway, StartupError } from '../gateway.js';
import { createLogger, type LogLevel } from '../log.js';
import { buildServices, VERSION } from '../services.js';
import { DatabaseTooNewError } from '../storage/sqlite.js';

const USAGE = `huitong ${VERSION} — on-premise enterprise IM gateway

Usage:
  huitong serve [--config FILE] [--data DIR]
  huitong dept add <path>                      e.g. 研发部/平台组
  huitong dept list
  huitong user add <account> --name NAME [--dept PATH[,PATH]] [--password P] [--mobile M] [--email E] [--title T]
  huitong user passwd <account> [--password P]  (reads the password from stdin when not given)
  huitong user show|block|unblock|authorise|deauthorise|disable|enable|delete <account>
  huitong user list [--query Q] [--limit N]
  huitong user sign <account>                  an SSO signature for SignAuth.cgi (testing single sign-on)
  huitong user devices <account>
  huitong device offline|wipe <account> <device-id>
  huitong group create <name> --members a,b,c [--owner ACCOUNT]
  huitong group exempt <account> [--off]       (may create groups beyond the member limit)
  huitong settings get | settings set KEY=VALUE...
  huitong admin setup-code                               (the one-time code the setup wizard asks for from another machine)
  huitong admin reset-password <username> [--password P]  (console administrator; reads stdin when not given)
  huitong demo seed [--users N] [--password P]
  huitong license keygen --out DIR             (vendor) makes the licence key pair
  huitong license issue --private-key FILE --company C --seats N --expires YYYY-MM-DD [--issued YYYY-MM-DD] [--id ID] [--out FILE]
  huitong rtx code [--regenerate]              the RTX integration's connection code
  huitong rtx sync | rtx runs [--limit N]      ask the RTX adapter for the org now; the latest sync runs
  huitong rtx import-xml FILE [--dry-run]      import an RTX export XML file (departments, users, groups)
  huitong app list | app import --buin N --app-id ID --aes-key KEY [--token T] --name NAME
                                               open-API apps (docs/cli.md); keys are masked in what is printed
  huitong sync status | sync run <source> [--dry-run] [--yes] | sync runs | sync confirm|cancel <run-id>
                                               directory sync (LDAP/AD, spreadsheets), docs/sync.md
  huitong license import FILE | license show | license history
  huitong license request expand|renew [--seats N] [--expires YYYY-MM-DD] --name NAME (--phone P | --email E) [--note T] [--out FILE]
  huitong chat --server wss://HOST:7443 [--insecure] --user U --password P send <account | group:NAME> <text>
  huitong chat --server wss://HOST:7443 [--insecure] --user U --password P listen [--json]
  huitong backup export [FILE] | backup verify FILE | backup import FILE [--yes]   full backup (docs/backup.md)
  huitong config sample                        prints the sample configuration with every default

Every admin command accepts --data DIR (default ./data, or $HUITONG_DATA_DIR) and --config FILE.
With a server running on that data dir the command goes through its admin socket
(DIR/run/admin.sock); otherwise it opens the database directly.
`;

function fail(message: string, code: number): number {
  process.stderr.write(`huitong: ${message}\n`);
  return code;
}

function config(values: { config?: string; data?: string }): Readonly<Config> {
  return loadConfig({ ...(values.config ? { file: values.config } : {}), overrides: { dataDir: values.data } });
}

async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('New password: ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (process.stdin.isTTY && Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Runs one control command against the running server, or in-process when none runs on the data dir. */
async function control(cfg: Readonly<Config>, name: string, args: Record<string, unknown>): Promise<unknown> {
  const sock = adminSocketPath(cfg.dataDir);
  if (await socketAlive(sock)) return callAdminSocket(sock, name, args);
  const log = createLogger('warn');
  const services = buildServices(cfg, log);
  try {
    const cmd = CONTROL_COMMANDS[name];
    if (!cmd) throw new Error(`unknown command ${name}`);
    return await cmd(services, args);
  } finally {
    await services.close();
  }
}

function print(result: unknown): void {
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

async function serve(cfg: Readonly<Config>): Promise<number> {
  const log = createLogger(cfg.log.level as LogLevel, { service: 'huitong' });
  let gw;
  try {
    gw = await buildGateway(cfg, { log });
    await gw.start();
  } catch (e) {
    if (e instanceof StartupError && e.kind === 'port_in_use') return fail(`a port is already in use (${e.message}); change it in the config or stop the other program`, EXIT_CODES.PORT_IN_USE);
    if (e instanceof StartupError && e.kind === 'data_dir') return fail(e.message, EXIT_CODES.DATA_DIR_NOT_WRITABLE);
    if (e instanceof DataDirInUseError) return fail(e.message, EXIT_CODES.DATA_DIR_IN_USE);
    if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
    if (e instanceof DatabaseTooNewError) return fail(e.message, EXIT_CODES.DATABASE_TOO_NEW);
    throw e;
  }
  const u = gw.urls();
  process.stdout.write(
    `Huitong ${VERSION} ready (data: ${cfg.dataDir})\n` +
      `  console, open API, server-info  ${u.http}\n` +
      `  console over HTTPS              ${u.https}\n` +
      `  client WebSocket (WSS)          ${u.wss}\n` +
      `  client TCP (TLS)                ${u.tcp}\n` +
      (u.plugin ? `  RTX plugin channel              ${u.plugin}\n` : '') +
      (u.rtxSdk ? `  RTX-compatible SDK              ${u.rtxSdk}\n` : '') +
      `  health                          ${u.http}healthz\n`,
  );
  log.info({ urls: u }, 'ready');
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  await gw.stop();
  log.info('stopped');
  return EXIT_CODES.OK;
}

const ADMIN_OPTIONS = {
  config: { type: 'string' },
  data: { type: 'string' },
  name: { type: 'string' },
  dept: { type: 'string' },
  password: { type: 'string' },
  mobile: { type: 'string' },
  email: { type: 'string' },
  title: { type: 'string' },
  members: { type: 'string' },
  owner: { type: 'string' },
  users: { type: 'string' },
  query: { type: 'string' },
  limit: { type: 'string' },
  off: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd ? EXIT_CODES.OK : EXIT_CODES.USAGE;
  }
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT_CODES.OK;
  }
  if (cmd === 'config' && rest[0] === 'sample') {
    process.stdout.write(sampleConfig());
    return EXIT_CODES.OK;
  }
  if (cmd === 'license' || cmd === 'licence') {
    // its own options (--private-key, --seats…); --data and --config are read here only to find the appliance
    const { runLicence } = await import('../licence/cli.js');
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, data: { type: 'string' } }, allowPositionals: true, strict: false });
    const where = { config: typeof values.config === 'string' ? values.config : undefined, data: typeof values.data === 'string' ? values.data : undefined };
    return runLicence(rest, { control: (name, args) => control(config(where), name, args) });
  }
  if (cmd === 'rtx') {
    const { runRtx } = await import('./rtx.js');
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, data: { type: 'string' } }, allowPositionals: true, strict: false });
    const where = { config: typeof values.config === 'string' ? values.config : undefined, data: typeof values.data === 'string' ? values.data : undefined };
    try {
      return await runRtx(rest, { control: (name, args) => control(config(where), name, args) });
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
      const code = (e as { code?: string }).code;
      if (typeof code === 'string' && code.startsWith('GW_')) return fail(`${code}: ${(e as Error).message}`, EXIT_CODES.FAILURE);
      throw e;
    }
  }
  if (cmd === 'app') {
    const { runApp } = await import('./app.js');
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, data: { type: 'string' } }, allowPositionals: true, strict: false });
    const where = { config: typeof values.config === 'string' ? values.config : undefined, data: typeof values.data === 'string' ? values.data : undefined };
    try {
      return await runApp(rest, { control: (name, args) => control(config(where), name, args) });
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
      if (e instanceof DatabaseTooNewError) return fail(e.message, EXIT_CODES.DATABASE_TOO_NEW);
      const code = (e as { code?: string }).code;
      if (typeof code === 'string' && code.startsWith('GW_')) return fail(`${code}: ${(e as Error).message}`, EXIT_CODES.FAILURE);
      throw e;
    }
  }
  if (cmd === 'backup') {
    const { runBackup } = await import('../backup/cli.js');
    return runBackup(rest);
  }
  if (cmd === 'sync') {
    const { runSync } = await import('./sync.js');
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, data: { type: 'string' } }, allowPositionals: true, strict: false });
    const where = { config: typeof values.config === 'string' ? values.config : undefined, data: typeof values.data === 'string' ? values.data : undefined };
    try {
      return await runSync(rest, { control: (name, args) => control(config(where), name, args), serverRunning: () => socketAlive(adminSocketPath(config(where).dataDir)) });
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
      const code = (e as { code?: string }).code;
      if (typeof code === 'string' && code.startsWith('GW_')) return fail(`${code}: ${(e as Error).message}`, EXIT_CODES.FAILURE);
      throw e;
    }
  }
  if (cmd === 'chat') {
    const { runChat } = await import('./chat.js');
    return runChat(rest);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: ADMIN_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${USAGE}`, EXIT_CODES.USAGE);
  }
  const { values: v, positionals: pos } = parsed;
  let cfg: Readonly<Config>;
  try {
    cfg = config(v);
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
    throw e;
  }
  const sub = pos[0];
  const arg = pos[1];
  try {
    switch (cmd) {
      case 'serve':
        return await serve(cfg);
      case 'dept':
        if (sub === 'add' && arg) return print(await control(cfg, 'dept.add', { path: arg })), 0;
        if (sub === 'list') return print(await control(cfg, 'dept.list', {})), 0;
        break;
      case 'user': {
        if (sub === 'add' && arg) {
          return print(await control(cfg, 'user.add', { account: arg, name: v.name, dept: v.dept, password: v.password, mobile: v.mobile, email: v.email, title: v.title })), 0;
        }
        if (sub === 'passwd' && arg) {
          const password = v.password ?? (await readPasswordFromStdin());
          return print(await control(cfg, 'user.passwd', { account: arg, password })), 0;
        }
        if (sub === 'list') return print(await control(cfg, 'user.list', { query: v.query, limit: v.limit })), 0;
        if (sub === 'devices' && arg) return print(await control(cfg, 'device.list', { account: arg })), 0;
        const simple = ['show', 'block', 'unblock', 'authorise', 'deauthorise', 'disable', 'enable', 'delete', 'sign'];
        if (sub && simple.includes(sub) && arg) return print(await control(cfg, `user.${sub}`, { account: arg })), 0;
        break;
      }
      case 'device':
        if ((sub === 'offline' || sub === 'wipe') && arg && pos[2]) {
          return print(await control(cfg, 'device.command', { account: arg, deviceId: Number(pos[2]), kind: sub === 'wipe' ? 'wipe' : 'force_offline' })), 0;
        }
        break;
      case 'group':
        if (sub === 'create' && arg) return print(await control(cfg, 'group.create', { name: arg, members: v.members ?? '', owner: v.owner })), 0;
        if (sub === 'exempt' && arg) return print(await control(cfg, 'group.exempt', { account: arg, exempt: !v.off })), 0;
        break;
      case 'settings':
        if (sub === 'get') return print(await control(cfg, 'settings.get', {})), 0;
        if (sub === 'set' && pos.length > 1) {
          const patch: Record<string, unknown> = {};
          for (const kv of pos.slice(1)) {
            const i = kv.indexOf('=');
            if (i < 1) return fail(`settings set takes KEY=VALUE, got ${kv}`, EXIT_CODES.USAGE);
            const raw = kv.slice(i + 1);
            patch[kv.slice(0, i)] = raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : raw;
          }
          return print(await control(cfg, 'settings.set', patch)), 0;
        }
        break;
      case 'admin':
        if (sub === 'setup-code') {
          // read on the appliance itself: whoever can read the data directory may set it up
          const code = new SetupCode(path.join(cfg.dataDir, SETUP_CODE_FILE)).read();
          if (!code) return fail('no setup code: the administrator exists already (or the server has not started yet)', EXIT_CODES.FAILURE);
          return process.stdout.write(`${code}\n`), 0;
        }
        if (sub === 'reset-password' && arg) {
          const password = v.password ?? (await readPasswordFromStdin());
          return print(await control(cfg, 'admin.reset-password', { username: arg, password })), 0;
        }
        break;
      case 'demo':
        if (sub === 'seed') return print(await control(cfg, 'demo.seed', { users: v.users ? Number(v.users) : 200, password: v.password })), 0;
        break;
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof GatewayError || (typeof code === 'string' && code.startsWith('GW_'))) return fail(`${code}: ${(e as Error).message}`, EXIT_CODES.FAILURE);
    if (e instanceof DatabaseTooNewError) return fail(e.message, EXIT_CODES.DATABASE_TOO_NEW);
    throw e;
  }
  return fail(`unknown command: ${argv.join(' ')}\n\n${USAGE}`, EXIT_CODES.USAGE);
}
