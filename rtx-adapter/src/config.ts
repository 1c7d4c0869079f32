import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PLUGIN_DEFAULT_PORT } from '../../gateway/src/protocol/plugin-v1.js';
import { AdapterConfigError, type AdapterOptions } from './adapter.js';

/**
 * The adapter's configuration: `adapter.json` (optional), then HUITONG_ADAPTER_* environment
 * variables, then command-line flags, validated once against this schema. The connection code
 * comes only from HUITONG_RTX_CODE or the file named by HUITONG_RTX_CODE_FILE.
 */

const Ms = (def: number, description: string) => Type.Integer({ minimum: 0, default: def, description });

export const AdapterConfigSchema = Type.Object(
  {
    gateway: Type.String({ default: '', description: 'The gateway: HOST[:PORT] (default port 7014)' }),
    dataDir: Type.String({ default: './adapter-data', minLength: 1, description: 'Holds adapter.db' }),
    name: Type.String({ default: '', description: 'Shown in the console (default: this host name)' }),
    tls: Type.Object(
      {
        ca: Type.String({ default: '', description: "PEM file of the gateway's certificate (verifies chain and name)" }),
        fingerprint: Type.String({ default: '', description: "SHA-256 fingerprint of the gateway's certificate (pins it)" }),
        servername: Type.String({ default: '', description: 'Name to verify when it differs from the gateway host' }),
        insecure: Type.Boolean({ default: false, description: 'No certificate check (tests only)' }),
        plaintext: Type.Boolean({ default: false, description: 'No TLS (only against a loopback test gateway)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    rtx: Type.Object(
      {
        sdkUrl: Type.String({ default: '', description: 'RTX HTTP SDK, e.g. http://rtx-host:8012 (empty = none)' }),
        sdkTimeoutMs: Ms(5_000, 'Timeout of one SDK request'),
        imPassword: Type.String({ default: '', description: 'SendIM pwd (unchecked by stock servers)' }),
        helperCommand: Type.Array(Type.String(), { default: [], description: 'The COM helper command, e.g. ["cscript","//nologo","//U","C:/huitong/rtx-adapter/helper/rtx-helper.js"] (empty = none)' }),
        helperEncoding: Type.Union([Type.Literal('auto'), Type.Literal('ascii'), Type.Literal('utf16le')], { default: 'auto' }),
        captureWaitMs: Ms(1_000, 'capture.wait timeout of the COM helper'),
        exportXml: Type.String({ default: '', description: 'RTX Manager export XML file (empty = none)' }),
        imwatchDir: Type.String({ default: '', description: 'IMWatch log folder (empty = none)' }),
        utcOffsetMinutes: Type.Integer({ default: 480, minimum: -720, maximum: 840, description: "The RTX host's UTC offset (IMWatch times)" }),
      },
      { default: {}, additionalProperties: false },
    ),
    directory: Type.Union([Type.Literal('auto'), Type.Literal('com'), Type.Literal('xml'), Type.Literal('none')], { default: 'auto', description: 'Where the org is read' }),
    capture: Type.Union([Type.Literal('auto'), Type.Array(Type.Union([Type.Literal('com'), Type.Literal('imwatch')]))], { default: 'auto', description: 'Where RTX users\' messages are captured' }),
    send: Type.Union([Type.Literal('auto'), Type.Literal('sdk'), Type.Literal('com'), Type.Literal('none')], { default: 'auto', description: 'How messages go into RTX' }),
    presence: Type.Union([Type.Literal('auto'), Type.Literal('sdk'), Type.Literal('com'), Type.Literal('off')], { default: 'auto', description: 'Where presence is read' }),
    syncIntervalMs: Ms(3_600_000, 'Read the org this often (0 = only on connect / request / XML change)'),
    presenceIntervalMs: Ms(30_000, 'Poll presence this often (0 = never)'),
    retryWindowMs: Ms(600_000, 'Keep retrying a delivery while RTX is unreachable for this long'),
    echoWindowMs: Ms(120_000, 'How long a message sent into RTX is recognised when it is captured back'),
  },
  { additionalProperties: false },
);

export type AdapterConfig = Static<typeof AdapterConfigSchema>;

const ENV: Array<[string, string, 'string' | 'int' | 'list']> = [
  ['HUITONG_ADAPTER_GATEWAY', 'gateway', 'string'],
  ['HUITONG_ADAPTER_DATA', 'dataDir', 'string'],
  ['HUITONG_ADAPTER_NAME', 'name', 'string'],
  ['HUITONG_ADAPTER_SDK_URL', 'rtx.sdkUrl', 'string'],
  ['HUITONG_ADAPTER_EXPORT_XML', 'rtx.exportXml', 'string'],
  ['HUITONG_ADAPTER_IMWATCH_DIR', 'rtx.imwatchDir', 'string'],
  ['HUITONG_ADAPTER_DIRECTORY', 'directory', 'string'],
  ['HUITONG_ADAPTER_SEND', 'send', 'string'],
  ['HUITONG_ADAPTER_PRESENCE', 'presence', 'string'],
  ['HUITONG_ADAPTER_CAPTURE', 'capture', 'list'],
  ['HUITONG_ADAPTER_SYNC_INTERVAL_MS', 'syncIntervalMs', 'int'],
  ['HUITONG_ADAPTER_PRESENCE_INTERVAL_MS', 'presenceIntervalMs', 'int'],
  ['HUITONG_ADAPTER_RETRY_WINDOW_MS', 'retryWindowMs', 'int'],
];

function setPath(o: Record<string, unknown>, key: string, v: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = v;
}

/** Parses a command line the way a shell would for simple cases: spaces split, quotes group. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/**
 * Merges file, environment and flags (`overrides`, dotted keys) and validates. Throws
 * AdapterConfigError naming the key and the problem.
 */
export function loadAdapterConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> }): AdapterConfig {
  let raw: Record<string, unknown> = {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new AdapterConfigError(`config file ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new AdapterConfigError(`config file ${opts.file}: not JSON (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AdapterConfigError(`config file ${opts.file}: expected a JSON object`);
  }
  const env = opts.env ?? {};
  for (const [name, key, kind] of ENV) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (kind === 'int') {
      if (!/^\d+$/.test(v)) throw new AdapterConfigError(`${name}: expected a whole number of milliseconds, got ${JSON.stringify(v)}`);
      setPath(raw, key, Number(v));
    } else if (kind === 'list') setPath(raw, key, v === 'auto' ? 'auto' : v.split(',').map((s) => s.trim()).filter(Boolean));
    else setPath(raw, key, v);
  }
  if (env.HUITONG_ADAPTER_HELPER) setPath(raw, 'rtx.helperCommand', splitCommand(env.HUITONG_ADAPTER_HELPER));
  for (const [k, v] of Object.entries(opts.overrides ?? {})) if (v !== undefined) setPath(raw, k, v);
  const withDefaults = Value.Default(AdapterConfigSchema, Value.Clone(raw));
  const first = [...Value.Errors(AdapterConfigSchema, withDefaults)][0];
  if (first) {
    const key = first.path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
    throw new AdapterConfigError(`${key}: ${first.message}${first.value !== undefined ? ` (got ${JSON.stringify(first.value)?.slice(0, 80)})` : ''}`);
  }
  return Object.freeze(withDefaults as AdapterConfig);
}

/** Turns a validated config plus the connection code into startAdapter() options. Throws AdapterConfigError. */
export function adapterOptionsFromConfig(c: AdapterConfig, code: string, baseDir = process.cwd()): AdapterOptions {
  if (!c.gateway) throw new AdapterConfigError('gateway: required (HOST[:PORT] of the gateway, e.g. gw.example.cn:7014)');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(c.gateway);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) throw new AdapterConfigError(`gateway: expected HOST[:PORT], got ${c.gateway}`);
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = m[2] ? Number(m[2]) : PLUGIN_DEFAULT_PORT;
  if (!code) throw new AdapterConfigError('code: the connection code is missing: set HUITONG_RTX_CODE or HUITONG_RTX_CODE_FILE');
  const t = c.tls;
  if ([t.ca !== '', t.fingerprint !== '', t.insecure, t.plaintext].filter(Boolean).length > 1) throw new AdapterConfigError('tls: give at most one of ca, fingerprint, insecure, plaintext');
  let ca: Buffer | undefined;
  if (t.ca) {
    try {
      ca = readFileSync(path.resolve(baseDir, t.ca));
    } catch (e) {
      throw new AdapterConfigError(`tls.ca: cannot read ${t.ca} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const r = c.rtx;
  if (r.sdkUrl && !/^http:\/\/[^/]+/i.test(r.sdkUrl)) throw new AdapterConfigError(`rtx.sdkUrl: expected http://host:8012, got ${r.sdkUrl}`);
  return {
    gateway: {
      host,
      port,
      code,
      ...(c.name ? { name: c.name } : {}),
      tls: t.plaintext ? false : { ...(ca ? { ca } : {}), ...(t.fingerprint ? { fingerprint256: t.fingerprint } : {}), ...(t.insecure ? { insecure: true } : {}), ...(t.servername ? { servername: t.servername } : {}) },
    },
    dataDir: path.resolve(baseDir, c.dataDir),
    rtx: {
      sdkUrl: r.sdkUrl || null,
      sdkTimeoutMs: r.sdkTimeoutMs,
      ...(r.imPassword ? { imPassword: r.imPassword } : {}),
      helper: r.helperCommand.length > 0 ? { command: r.helperCommand, encoding: r.helperEncoding, captureWaitMs: r.captureWaitMs } : null,
      exportXml: r.exportXml ? path.resolve(baseDir, r.exportXml) : null,
      imwatch: r.imwatchDir ? { dir: path.resolve(baseDir, r.imwatchDir), utcOffsetMinutes: r.utcOffsetMinutes } : null,
    },
    ...(c.directory !== 'auto' ? { directory: c.directory } : {}),
    ...(c.capture !== 'auto' ? { capture: c.capture } : {}),
    ...(c.send !== 'auto' ? { send: c.send } : {}),
    ...(c.presence !== 'auto' ? { presence: c.presence } : {}),
    bridge: { syncIntervalMs: c.syncIntervalMs, presenceIntervalMs: c.presenceIntervalMs, retryWindowMs: c.retryWindowMs, echoWindowMs: c.echoWindowMs },
  };
}
