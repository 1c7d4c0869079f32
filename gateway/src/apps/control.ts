import { GatewayError } from '../errors/gateway-error.js';
import type { Services } from '../services.js';
import { SYSTEM_APPS, type OpenApp } from './types.js';

type Args = Record<string, unknown>;

/** What `huitong app …` prints of an app: never a secret, the key masked. */
export interface AppCliView {
  id: number;
  key: string;
  name: string;
  kind: OpenApp['kind'];
  buin: number | null;
  appId: string | null;
  aesKey: string | null;
  token: 'set' | null;
  enabled: boolean;
}

export function cliView(a: OpenApp): AppCliView {
  const k = a.encodingAesKey;
  return {
    id: a.rowId, key: a.key, name: a.name, kind: a.kind, buin: a.buin, appId: a.appId,
    aesKey: k ? `${k.slice(0, 4)}${'*'.repeat(Math.max(0, k.length - 8))}${k.slice(-4)}` : null,
    token: a.callbackToken ? 'set' : null, enabled: a.enabled,
  };
}

function text(a: Args, key: string, required: boolean): string | undefined {
  const v = a[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new GatewayError('GW_BAD_REQUEST', `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new GatewayError('GW_BAD_REQUEST', `${key} must be a string`);
  return v;
}

/**
 * The admin socket's `app.*` commands (`huitong app …`, docs/cli.md): the
 * same AppService the console uses, so an import is checked the same way and
 * goes to the action log.
 */
export const APP_CONTROL_COMMANDS: Record<string, (s: Services, a: Args) => Promise<unknown>> = {
  'app.list': async (s) => {
    await s.apps.init();
    return { apps: s.apps.list().filter((a) => a.origin !== 'deleted').map(cliView) };
  },

  'app.import': async (s, a) => {
    await s.apps.init();
    const buinText = text(a, 'buin', true) as string;
    if (!/^\d{1,10}$/.test(buinText)) throw new GatewayError('GW_BAD_REQUEST', '--buin must be the enterprise number (an integer)');
    const appId = text(a, 'appId', true) as string;
    const sys = SYSTEM_APPS.find((x) => x.appId === appId);
    const app = await s.apps.create({
      name: text(a, 'name', true) as string, buin: Number(buinText), appId, encodingAesKey: text(a, 'aesKey', true) as string,
      callbackToken: text(a, 'token', false) ?? null,
      ...(sys ? { kind: 'system' as const, rights: [...sys.rights] } : {}),
    }, 'import');
    await s.admin.logAction(null, 'app.import', { kind: 'app', id: app.rowId, label: `${app.name} (${appId})` }, null, { ...cliView(app), via: 'huitong app import' }, null);
    return cliView(app);
  },
};
