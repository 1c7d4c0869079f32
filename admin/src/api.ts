/**
 * The console's only way to the server: fetch under /api/admin with the
 * session cookie, the CSRF token kept in memory (never in storage), and the
 * gateway's error envelope turned into ApiError.
 */
import type { LoginView, MeView, SessionView } from '../../gateway/src/admin/api-types';
import { clearPrefetched, takePrefetched } from './prefetch';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let onSessionEnded: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The CSRF token of the current session, for requests made without api() (uploads, downloads). */
export function getCsrfToken(): string | null {
  return csrfToken;
}

/** Tells the console the session is gone (a 401 seen outside api()): it returns to the login page. */
export function sessionEnded(): void {
  onSessionEnded?.();
}

/** Called when the server says the session is gone (401 GW_TOKEN_INVALID). */
export function setSessionEndedHandler(fn: (() => void) | null): void {
  onSessionEnded = fn;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Query = Record<string, string | number | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T>(method: Method, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
  }
  const url = withQuery(`/api/admin${path}`, opts.query);
  let res: { status: number; statusText: string; ok: boolean; text(): Promise<string> } | null = null;
  if (method === 'GET') {
    const early = await takePrefetched(url);
    if (early) res = { status: early.status, statusText: early.statusText, ok: early.status >= 200 && early.status < 300, text: async () => early.text };
  }
  if (!res) {
    try {
      res = await fetch(url, {
        method,
        headers,
        credentials: 'same-origin',
        body: opts.body === undefined ? null : JSON.stringify(opts.body),
      });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
    }
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const envelope = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    const err = new ApiError(res.status, envelope?.code ?? `HTTP_${res.status}`, envelope?.message ?? `${res.status} ${res.statusText}`, envelope?.details);
    if (res.status === 401 && err.code === 'GW_TOKEN_INVALID' && path !== '/me') onSessionEnded?.();
    throw err;
  }
  return data as T;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** The session facts of a login/setup answer or GET /me; keeps the CSRF token. */
export function rememberSession(view: MeView & Partial<SessionView>): void {
  if (view.csrfToken) setCsrfToken(view.csrfToken);
}

export async function login(username: string, password: string): Promise<LoginView> {
  const view = await api<LoginView>('POST', '/login', { body: { username, password } });
  // a new session: nothing fetched before it may be replayed
  clearPrefetched();
  rememberSession(view);
  return view;
}

export async function fetchMe(): Promise<MeView & SessionView> {
  const view = await api<MeView & SessionView>('GET', '/me');
  rememberSession(view);
  return view;
}

export async function logout(): Promise<void> {
  try {
    await api<void>('POST', '/logout');
  } finally {
    clearPrefetched();
    setCsrfToken(null);
  }
}
