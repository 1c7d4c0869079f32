import { Alert } from 'antd';
import { ApiError, errorMessage } from '../../api';
import type { Translate } from '../../i18n';

export type {
  AppDetailView, AppListView, AppPeopleView, AppSecretsView, AppSummaryView, AppWithSecretsView, NamedDept, NamedUser,
} from '../../../../gateway/src/apps/api-types';

/** A refusal as the console shows it: a 409 says the app was reloaded. */
export function describeError(err: unknown, t: Translate): string {
  if (err instanceof ApiError && err.status === 409 && err.code === 'GW_CONFLICT' && /changed by someone else/.test(err.message)) return t('apps.conflict');
  return errorMessage(err);
}

export function isStale(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && /changed by someone else/.test(err.message);
}

export function ErrorAlert({ error, id }: { error: string | null; id: string }) {
  return error ? <Alert id={id} type="error" showIcon message={error} style={{ marginTop: 12 }} /> : null;
}

/** An http(s) URL, as the server checks it (so the form says so before sending). */
export function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v.trim());
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
