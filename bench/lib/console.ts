/**
 * A console (admin API) session for benchmarks and the demo, through the real
 * HTTP API: the first-start wizard's administrator (loopback callers need no
 * setup code), then the session cookie and CSRF token.
 */
export interface ConsoleSession {
  get<T = unknown>(path: string): Promise<T>;
  /** POST/PUT/PATCH/DELETE with the CSRF token; rejects on a non-2xx answer, naming it. */
  send<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export async function consoleSession(base: string, username = 'bench', password = 'bench-password-1'): Promise<ConsoleSession> {
  const json = { 'content-type': 'application/json' };
  const r = await fetch(`${base}/api/admin/setup/admin`, { method: 'POST', headers: { ...json, origin: base }, body: JSON.stringify({ username, password }) });
  if (r.status !== 201) throw new Error(`console setup failed: ${r.status} ${await r.text()}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const me = (await (await fetch(`${base}/api/admin/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  const answer = async <T>(what: string, res: Response): Promise<T> => {
    if (!res.ok) throw new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  };
  return {
    get: async (path) => answer(`GET ${path}`, await fetch(`${base}${path}`, { headers: { cookie } })),
    send: async (method, path, body) =>
      answer(`${method} ${path}`, await fetch(`${base}${path}`, {
        method,
        headers: { cookie, origin: base, 'x-csrf-token': me.csrfToken, ...(body === undefined ? {} : json) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })),
  };
}
