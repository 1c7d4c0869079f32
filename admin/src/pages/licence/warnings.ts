import type { LicenceStatus, SystemStatusView } from '../../../../gateway/src/admin/api-types-system';
import type { Translate } from '../../i18n';

export type LicenceBrief = NonNullable<SystemStatusView['licence']>;

export interface LicenceWarning {
  key: string;
  type: 'info' | 'warning' | 'error';
  text: string;
}

/**
 * The administrator's warnings, in the console's language, built from the
 * status fields rather than the server's English sentences: the trial and its
 * limit, expiry from 30 days before (the server's `expiring` state), expired,
 * and the seats being full or overrun. `storedInvalid` is the id of an active
 * stored licence that no longer verifies (history lists it without content).
 */
export function licenceWarnings(l: LicenceBrief, t: Translate, storedInvalid: string | null = null): LicenceWarning[] {
  const out: LicenceWarning[] = [];
  if (l.state === 'trial') {
    if (storedInvalid) out.push({ key: 'stored', type: 'error', text: t('licence.warn.storedInvalid', { id: storedInvalid }) });
    out.push({ key: 'trial', type: 'info', text: t('licence.warn.trial', { seats: l.seats }) });
    if (l.used >= l.seats) out.push({ key: 'seats', type: 'warning', text: l.used > l.seats ? t('licence.warn.over', { used: l.used, seats: l.seats }) : t('licence.warn.trialFull', { seats: l.seats }) });
    return out;
  }
  const date = l.expiresAt ?? '—';
  if (l.state === 'expired') {
    out.push({ key: 'expired', type: 'error', text: t('licence.warn.expired', { date }) });
    return out;
  }
  if (l.state === 'expiring') {
    out.push({ key: 'expiry', type: 'warning', text: l.daysLeft === 0 ? t('licence.warn.expiresToday', { date }) : t('licence.warn.expiring', { date, days: l.daysLeft ?? '—' }) });
  }
  if (l.used > l.seats) out.push({ key: 'seats', type: 'warning', text: t('licence.warn.over', { used: l.used, seats: l.seats }) });
  else if (l.used === l.seats) out.push({ key: 'seats', type: 'warning', text: t('licence.warn.full', { seats: l.seats }) });
  return out;
}

/** Today in the browser's time zone, YYYY-MM-DD (the server decides; this only guides the date pickers). */
export function todayLocal(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export type { LicenceStatus };
