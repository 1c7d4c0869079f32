import { parseArgs } from 'node:util';
import type { AppCliView } from '../apps/control.js';
import { EXIT_CODES } from '../errors/registry.js';

export const APP_USAGE = `Usage:
  huitong app list [--json]        the apps: system assistants and custom apps (keys masked)
  huitong app import --buin N --app-id ID --aes-key KEY [--token T] --name NAME
                                   an app with given values (moving from an existing installation):
                                   integrations keep their appId, EncodingAESKey and callback Token

Both act on the appliance (--data DIR, --config FILE as for every admin command):
through the running server's admin socket, or on the database when none runs.
`;

export interface AppCliContext {
  control(name: string, args: Record<string, unknown>): Promise<unknown>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

function line(a: AppCliView): string {
  return `${String(a.id).padStart(4)}  ${a.kind.padEnd(7)}  ${a.enabled ? 'on ' : 'off'}  ${a.buin ?? '-'}  ${a.appId ?? '-'}  ${a.aesKey ?? '-'}  ${a.name}\n`;
}

/** `huitong app …`: args are what follows `app`. Returns the exit code. */
export async function runApp(args: string[], ctx: AppCliContext): Promise<number> {
  const out = ctx.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = ctx.stderr ?? ((s: string) => void process.stderr.write(s));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        buin: { type: 'string' }, 'app-id': { type: 'string' }, 'aes-key': { type: 'string' }, token: { type: 'string' }, name: { type: 'string' },
        json: { type: 'boolean' }, config: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`huitong: ${(e as Error).message}\n\n${APP_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    out(APP_USAGE);
    return EXIT_CODES.OK;
  }
  const sub = positionals[0];
  if (sub === 'list' && positionals.length === 1) {
    const r = (await ctx.control('app.list', {})) as { apps: AppCliView[] };
    out(v.json ? `${JSON.stringify(r, null, 2)}\n` : r.apps.map(line).join(''));
    return EXIT_CODES.OK;
  }
  if (sub === 'import' && positionals.length === 1) {
    const missing = (['buin', 'app-id', 'aes-key', 'name'] as const).filter((k) => !v[k]);
    if (missing.length > 0) {
      err(`huitong: app import needs ${missing.map((m) => `--${m}`).join(', ')}\n\n${APP_USAGE}`);
      return EXIT_CODES.USAGE;
    }
    const r = (await ctx.control('app.import', { buin: v.buin, appId: v['app-id'], aesKey: v['aes-key'], token: v.token, name: v.name })) as AppCliView;
    out(`${JSON.stringify(r, null, 2)}\n`);
    err(`imported: ${r.name} (${r.appId}) under buin ${r.buin}; integrations can call the open API with their existing values\n`);
    return EXIT_CODES.OK;
  }
  err(`huitong: unknown command: app ${positionals.join(' ')}\n\n${APP_USAGE}`);
  return EXIT_CODES.USAGE;
}
