/**
 * The first page's GETs, started while the console's code is still being
 * evaluated, so the answers arrive while React renders the shell instead of
 * after it. api() takes a prefetched answer (once, if fresh) instead of
 * asking again. Only GETs that carry no secret in the URL are prefetched.
 */
interface Prefetched {
  at: number;
  answer: Promise<{ status: number; statusText: string; text: string } | null>;
}

const MAX_AGE_MS = 10_000;
const store = new Map<string, Prefetched>();

export function prefetch(url: string): void {
  if (store.has(url)) return;
  const answer = fetch(url, { method: 'GET', headers: { accept: 'application/json' }, credentials: 'same-origin' })
    .then(async (res) => ({ status: res.status, statusText: res.statusText, text: await res.text() }))
    .catch(() => null);
  store.set(url, { at: Date.now(), answer });
}

/**
 * The prefetched answer for `url`, at most once and only while fresh and
 * successful; null otherwise (then the caller asks again: a refusal such as
 * 401 before login must not be replayed after it).
 */
export async function takePrefetched(url: string): Promise<{ status: number; statusText: string; text: string } | null> {
  const p = store.get(url);
  if (!p) return null;
  store.delete(url);
  if (Date.now() - p.at > MAX_AGE_MS) return null;
  const answer = await p.answer;
  return answer && answer.status >= 200 && answer.status < 300 ? answer : null;
}

/** Forgets every prefetched answer (a login or logout changes what they would say). */
export function clearPrefetched(): void {
  store.clear();
}

/** What the page at the current address will ask for first (see App's boot and the organisation page). */
export function prefetchFirstPage(): void {
  prefetch('/api/admin/setup');
  prefetch('/api/admin/me');
  const first = window.location.pathname.split('/')[1] ?? '';
  if (first === '' || first === 'org') {
    prefetch('/api/admin/members?offset=0&limit=20');
    prefetch('/api/admin/depts?parentId=root');
  }
}

prefetchFirstPage();
