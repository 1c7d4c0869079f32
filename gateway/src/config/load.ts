import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TObject, TSchema } from '@sinclair/typebox';
import { ConfigSchema, isSecret, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface LeafKey {
  path: string[];
  env: string;
  schema: TSchema;
}

function isObjectSchema(s: TSchema): s is TObject {
  return (s as { type?: string }).type === 'object' && typeof (s as TObject).properties === 'object';
}

/** Every leaf key of the schema with its environment variable name: http.port -> HUITONG_HTTP_PORT. */
export function configKeys(schema: TObject = ConfigSchema, prefix: string[] = []): LeafKey[] {
  const out: LeafKey[] = [];
  for (const [k, s] of Object.entries(schema.properties)) {
    const p = [...prefix, k];
    if (isObjectSchema(s)) out.push(...configKeys(s, p));
    else out.push({ path: p, env: 'HUITONG_' + p.map((x) => x.replace(/[A-Z]/g, (c) => '_' + c)).join('_').toUpperCase(), schema: s });
  }
  return out;
}

function setPath(obj: Record<string, unknown>, p: string[], value: unknown): void {
  let cur = obj;
  for (const k of p.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[p[p.length - 1] as string] = value;
}

function coerce(raw: string, schema: TSchema): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') {
    if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) return raw; // left as a string so validation names the key
    return Number(raw);
  }
  if (type === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  return raw;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last: what the command line says (e.g. --data). */
  overrides?: Record<string, unknown>;
}

/**
 * Reads the config file (JSON) if any, applies HUITONG_* environment overrides
 * (and HUITONG_*_FILE for secrets), applies `overrides`, fills defaults,
 * validates, resolves relative paths against the working directory, and
 * returns a deeply frozen object. Throws ConfigError naming the key and problem.
 */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file = opts.file ?? env.HUITONG_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`config file ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      raw = parsed as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${file}: not a JSON object (${(e as Error).message})`);
    }
  }
  for (const key of configKeys()) {
    const direct = env[key.env];
    if (direct !== undefined) setPath(raw, key.path, coerce(direct, key.schema));
    if (isSecret(key.schema)) {
      const fileVar = env[`${key.env}_FILE`];
      if (fileVar !== undefined) {
        try {
          setPath(raw, key.path, readFileSync(fileVar, 'utf8').trim());
        } catch {
          throw new ConfigError(`${key.env}_FILE: cannot read ${fileVar}`);
        }
      }
    }
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (v !== undefined) setPath(raw, k.split('.'), v);
  }
  const withDefaults = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const first = errors.slice(0, 5).map((e) => {
      const key = e.path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
      const literals = ((e.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? []).map((s) => s.const).filter((c) => c !== undefined);
      return literals.length ? `${key}: must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}` : `${key}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration — ${first.join('; ')}`);
  }
  const cfg = withDefaults as Config;
  cfg.dataDir = path.resolve(cfg.dataDir);
  if (cfg.storage.sqliteFile) cfg.storage.sqliteFile = path.resolve(cfg.storage.sqliteFile);
  if (cfg.https.certFile) cfg.https.certFile = path.resolve(cfg.https.certFile);
  if (cfg.https.keyFile) cfg.https.keyFile = path.resolve(cfg.https.keyFile);
  if (Boolean(cfg.https.certFile) !== Boolean(cfg.https.keyFile)) {
    throw new ConfigError('https.certFile and https.keyFile: give both or neither');
  }
  return deepFreeze(cfg);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** The sample config file: every key with its default, generated from the schema. */
export function sampleConfig(): string {
  const defaults = Value.Default(ConfigSchema, {}) as Config;
  return JSON.stringify(defaults, null, 2) + '\n';
}
