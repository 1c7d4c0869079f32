import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { AdapterConfigError, resolvePorts, startAdapter, type AdapterLog } from './adapter.js';
import { AdapterDatabaseTooNewError } from './outbox.js';
import { adapterOptionsFromConfig, loadAdapterConfig, splitCommand } from './config.js';

const USAGE = `huitong-rtx-adapter — the RTX side of the Huitong bridge (docs/rtx-adapter.md)

Usage:
  node --import tsx rtx-adapter/src/main.ts [--config adapter.json] [--gateway HOST[:PORT]]
      [--data DIR] [--ca FILE | --fingerprint SHA256 | --insecure | --plaintext] [--name NAME]
      [--sdk-url http://rtx-host:8012] [--helper "cscript //nologo //U rtx-helper.js"]
      [--export-xml FILE] [--imwatch-dir DIR]
      [--directory com|xml|none] [--capture com,imwatch] [--send sdk|com|none] [--presence sdk|com|off]
      [--sync-interval-ms N] [--presence-interval-ms N] [--retry-window-ms N]

Settings come from the config file, then HUITONG_ADAPTER_* variables, then flags.
The connection code (console: Settings → RTX integration) is read from
$HUITONG_RTX_CODE, or from the file named by $HUITONG_RTX_CODE_FILE; it is
never taken from the command line (which other users can see) nor logged.
--data DIR (default ./adapter-data) holds adapter.db: the adapter id, the
outbox, the high-water, the delivery queue and the capture offsets, so a
restarted adapter resumes where it was.

Exit codes: 0 stopped by SIGTERM/SIGINT, 64 bad usage, 78 bad configuration,
75 adapter.db newer than this adapter.
`;

export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;
export const EXIT_DB_TOO_NEW = 75;

const log = (level: string) => (obj: object, msg: string) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, ...obj, msg }) + '\n');
const logger: AdapterLog = { info: log('info'), warn: log('warn') };

/** Entry point: runs the adapter until SIGTERM/SIGINT. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' }, gateway: { type: 'string' }, data: { type: 'string' }, ca: { type: 'string' }, fingerprint: { type: 'string' },
        insecure: { type: 'boolean' }, plaintext: { type: 'boolean' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        'sdk-url': { type: 'string' }, helper: { type: 'string' }, 'export-xml': { type: 'string' }, 'imwatch-dir': { type: 'string' },
        directory: { type: 'string' }, capture: { type: 'string' }, send: { type: 'string' }, presence: { type: 'string' },
        'sync-interval-ms': { type: 'string' }, 'presence-interval-ms': { type: 'string' }, 'retry-window-ms': { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const int = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new AdapterConfigError(`--${flag}: expected a whole number of milliseconds, got ${v}`);
    return Number(v);
  };
  let handle;
  try {
    const cfg = loadAdapterConfig({
      ...(values.config ? { file: values.config } : {}),
      env,
      overrides: {
        gateway: values.gateway, dataDir: values.data, name: values.name,
        'tls.ca': values.ca, 'tls.fingerprint': values.fingerprint, 'tls.insecure': values.insecure, 'tls.plaintext': values.plaintext,
        'rtx.sdkUrl': values['sdk-url'], 'rtx.helperCommand': values.helper !== undefined ? splitCommand(values.helper) : undefined,
        'rtx.exportXml': values['export-xml'], 'rtx.imwatchDir': values['imwatch-dir'],
        directory: values.directory, send: values.send, presence: values.presence,
        capture: values.capture === undefined ? undefined : values.capture === 'auto' ? 'auto' : values.capture.split(',').map((s) => s.trim()).filter(Boolean),
        syncIntervalMs: int('sync-interval-ms', values['sync-interval-ms']), presenceIntervalMs: int('presence-interval-ms', values['presence-interval-ms']), retryWindowMs: int('retry-window-ms', values['retry-window-ms']),
      },
    });
    const code = env.HUITONG_RTX_CODE_FILE ? readFileSync(env.HUITONG_RTX_CODE_FILE, 'utf8').trim() : (env.HUITONG_RTX_CODE ?? '');
    const opts = adapterOptionsFromConfig(cfg, code);
    opts.gateway.name ??= hostname();
    opts.log = logger;
    resolvePorts(opts);
    handle = await startAdapter(opts);
  } catch (e) {
    if (e instanceof AdapterConfigError) {
      process.stderr.write(`bad configuration: ${e.message}\n(see --help and docs/rtx-adapter.md)\n`);
      return EXIT_CONFIG;
    }
    if (e instanceof AdapterDatabaseTooNewError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT_DB_TOO_NEW;
    }
    throw e;
  }
  const h = handle;
  h.channel.onState((state, detail) => logger.info({ state, detail, adapterId: h.adapterId }, 'plugin channel state'));
  logger.info({ adapterId: h.adapterId, ports: h.status().ports }, 'RTX adapter started');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await h.stop();
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
