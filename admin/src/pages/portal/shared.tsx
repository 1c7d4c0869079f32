import { ApiError, errorMessage, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import type { Translate } from '../../i18n';

export type {
  BannerImageView, BannerView, PortalPreviewView, TemplateDetailView, TemplateListView, TemplateSummaryView, WorkbenchSettingsView,
} from '../../../../gateway/src/apps/portal-types';
export type { AppListView, AppPeopleView, NamedUser } from '../../../../gateway/src/apps/api-types';

export const MAX_BANNER_BYTES = 1024 * 1024;
export const MAX_BANNERS = 10;
export const MAX_TITLE_CHARS = 18;

export function isStale(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && /changed by someone else/.test(err.message);
}

/** A refusal as the page shows it: a 409 says the data was reloaded. */
export function describeError(err: unknown, t: Translate): string {
  return isStale(err) ? t('portal.conflict') : errorMessage(err);
}

/** An http(s) URL, as the server checks it. */
export function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v.trim());
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** POST /api/admin/workbench/images with the file as the body. */
export async function uploadBanner<T>(file: File): Promise<T> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  const res = await fetch('/api/admin/workbench/images', {
    method: 'POST', credentials: 'same-origin', body: file,
    headers: { 'content-type': file.type === 'image/jpeg' ? 'image/jpeg' : 'image/png', 'x-csrf-token': token, accept: 'application/json' },
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401) sessionEnded();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText);
  }
  return data as T;
}
