import type { AppService } from '../apps/service.js';
import type { AppRight, OpenApp } from '../apps/types.js';
import type { Logger } from '../log.js';
import type { Services } from '../services.js';
import type { SessionRegistry } from '../sessions/registry.js';
import type { AppCipher } from './crypto.js';
import { ERR, OpenApiError } from './errors.js';
import type { TokenService } from './tokens.js';

/** What endpoints use: services, never a socket or a request object. */
export interface OpenApiDeps {
  services: Services;
  apps: AppService;
  tokens: TokenService;
  sessions: SessionRegistry;
  log: Logger;
}

/** One call as an endpoint sees it. */
export interface OpenApiCall {
  method: 'GET' | 'POST';
  /** The path as sent, lower-cased, without the query. */
  path: string;
  /** Query values, percent-decoded only (`+` stays `+`, raw `=` inside values is kept); keys as sent. */
  query: Readonly<Record<string, string>>;
  /** A query value by case-insensitive name; '' and absent are both undefined. */
  q(name: string): string | undefined;
  /** The raw body (empty for GET). */
  body: Buffer;
  /** Request headers, lower-cased names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The caller's address. */
  address: string;
}

/** A call of an app (token or special envelope): the app, its cipher, and the decrypted payload for envelope bodies. */
export interface AppCall extends OpenApiCall {
  app: OpenApp;
  cipher: AppCipher;
  /** The decrypted `encrypt` of an envelope body (bytes), or null for GET / non-envelope bodies. */
  plain: Buffer | null;
  /** The decrypted payload parsed as JSON with keys as sent; errcode 100004 when it is not JSON, 100003 when absent. */
  json(): unknown;
}

/**
 * What an endpoint answers. `data` is encrypted into `encrypt`; `status` is
 * errcode 0 only; `raw` is a download (headers and body as given); `plain`
 * is JSON without the envelope (identify).
 */
export type OpenApiResult =
  | { kind: 'data'; value: unknown; errmsg?: string }
  | { kind: 'status'; errmsg?: string }
  | { kind: 'raw'; headers: Record<string, string>; body: Buffer | string }
  | { kind: 'plain'; value: unknown };

export const ok = (errmsg?: string): OpenApiResult => ({ kind: 'status', ...(errmsg ? { errmsg } : {}) });
export const data = (value: unknown, errmsg?: string): OpenApiResult => ({ kind: 'data', value, ...(errmsg ? { errmsg } : {}) });

interface EndpointBase {
  /** Lower-case path under /cgi/, e.g. '/cgi/msg/send'. */
  path: string;
  /** Other spellings of the same endpoint (`/cgi/user.quit`). */
  aliases?: string[];
  /** Accepted methods; a read or delete route takes both (wire spec §8.6). */
  methods: ReadonlyArray<'GET' | 'POST'>;
  /** Largest body in bytes; DEFAULT_BODY_LIMIT_BYTES when absent. */
  bodyLimitBytes?: number;
}

/**
 * - `token`: `?accessToken=` names the app; a POST carries the normal
 *   envelope (`buin`, `appId`, `encrypt`) of the same app, decrypted into
 *   `plain`; `body: 'raw'` skips the envelope (multipart uploads, xmlsync).
 * - `envelope`: the normal envelope names the app without a token (gettoken).
 * - `special`: `{app_id, msg_encrypt}` without buin or token (set.ent.notice, popwindow).
 */
export interface AppEndpoint extends EndpointBase {
  auth: 'token' | 'envelope' | 'special';
  body?: 'envelope' | 'raw';
  /** The call is allowed when the app holds any of these rights; empty = any app. */
  rights: readonly AppRight[];
  handle(call: AppCall, deps: OpenApiDeps): Promise<OpenApiResult>;
}

/** No app: identify (SSO), which is answered in plain JSON. */
export interface OpenEndpoint extends EndpointBase {
  auth: 'none';
  handle(call: OpenApiCall, deps: OpenApiDeps): Promise<OpenApiResult>;
}

export type Endpoint = AppEndpoint | OpenEndpoint;

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** Reads a JSON object's field by case-insensitive name (Go's encoding/json does, and some senders rely on it). */
export function field(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

/** A field with null and '' treated as absent (wire spec §8.1). */
export function present(obj: unknown, name: string): unknown {
  const v = field(obj, name);
  return v === null || v === '' ? undefined : v;
}

/** The payload as a JSON object, or errcode 100003. */
export function object(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new OpenApiError(ERR.BAD_REQUEST, 'the request must be a JSON object');
  return v as Record<string, unknown>;
}
