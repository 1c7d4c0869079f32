import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { PLUGIN_DEFAULT_PORT } from '../../gateway/src/protocol/plugin-v1.js';
import { PluginChannel, type ChannelLog } from './channel.js';
import { AdapterStore } from './outbox.js';

const USAGE = `huitong-rtx-adapter — the RTX side of the Huitong bridge (plugin channel only, for now)

Usage:
  node --import tsx rtx-adapter/src/main.ts --gateway HOST[:PORT] [--data DIR]
      [--ca FILE | --fingerprint SHA256 | --insecure | --plaintext] [--name NAME]

The connection code (console: Settings → RTX integration) is read from
$HUITONG_RTX_CODE, or from the file named by $HUITONG_RTX_CODE_FILE; it is
never taken from the command line (which other users can see) nor logged.
--data DIR (default ./adapter-data) holds adapter.db: the adapter id, the
outbox and the high-water, so a restarted adapter resumes where it was.
`;

const log = (level: string) => (obj: object, msg: string) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, ...obj, msg }) + '\n');
const logger: ChannelLog = { info: log('info'), warn: log('warn') };

/** Entry point: connects and logs the link's state; exits 0 on SIGTERM/SIGINT after a clean stop, 64 on bad usage. */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        gateway: { type: 'string' }, data: { type: 'string' }, ca: { type: 'string' }, fingerprint: { type: 'string' },
        insecure: { type: 'boolean' }, plaintext: { type: 'boolean' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 64;
  }
  if (values.help || !values.gateway) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 64;
  }
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(values.gateway);
  if (!m) {
    process.stderr.write(`--gateway: expected HOST[:PORT], got ${values.gateway}\n`);
    return 64;
  }
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = m[2] ? Number(m[2]) : PLUGIN_DEFAULT_PORT;
  const code = process.env.HUITONG_RTX_CODE_FILE ? readFileSync(process.env.HUITONG_RTX_CODE_FILE, 'utf8').trim() : (process.env.HUITONG_RTX_CODE ?? '');
  if (!code) {
    process.stderr.write('the connection code is missing: set HUITONG_RTX_CODE or HUITONG_RTX_CODE_FILE\n');
    return 64;
  }
  const store = AdapterStore.open(values.data ?? './adapter-data');
  const channel = new PluginChannel({
    host, port, code, store, log: logger,
    name: values.name ?? hostname(),
    software: 'huitong-rtx-adapter',
    tls: values.plaintext
      ? false
      : {
          ...(values.ca ? { ca: readFileSync(values.ca) } : {}),
          ...(values.fingerprint ? { fingerprint256: values.fingerprint } : {}),
          ...(values.insecure ? { insecure: true } : {}),
        },
  });
  channel.onState((state, detail) => logger.info({ state, detail, adapterId: channel.adapterId }, 'plugin channel state'));
  await channel.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await channel.stop();
  store.close();
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
