import { GatewayError } from '../errors/gateway-error.js';
import { isDay, MAX_COMPANY_CHARS, MAX_SEATS } from './format.js';
import type { LicenceState, LicenceStatus } from './service.js';

/**
 * The expansion/renewal request file (F-9.1): what an administrator sends to
 * the vendor to get more seats or a later expiry. It carries no secret.
 */
export const REQUEST_FORMAT = 'huitong-licence-request/1';
export const MAX_NOTE_CHARS = 2000;

export type RequestKind = 'expand' | 'renew';

/** What the administrator fills in. Checked field by field: it arrives from the console or the CLI as JSON. */
export interface RenewalRequestInput {
  /** expand: more seats (also how a trial asks for its first licence); renew: a later expiry. */
  kind: RequestKind;
  /** Seats wanted. Required to expand; to renew, defaults to the current seats. */
  seats?: number;
  /** Last day wanted, YYYY-MM-DD. Required to renew; optional to expand. */
  expiresAt?: string;
  /** Required while no licence is imported; otherwise defaults to the licence's company. */
  company?: string;
  contact: { name: string; phone?: string; email?: string };
  note?: string;
}

export interface LicenceRequest {
  format: typeof REQUEST_FORMAT;
  kind: RequestKind;
  /** ISO 8601 time the request was made. */
  createdAt: string;
  /** Random id of this appliance, the same in every request it makes. */
  installationId: string;
  company: string;
  /** The active licence, null in the trial. */
  licenceId: string | null;
  current: { state: LicenceState; seats: number; used: number; issuedAt: string | null; expiresAt: string | null };
  /** expiresAt null: the vendor decides. */
  requested: { seats: number; expiresAt: string | null };
  contact: { name: string; phone: string | null; email: string | null };
  note: string | null;
}

const UNPRINTABLE_RE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const PHONE_RE = /^\+?[0-9][0-9 ()-]{4,30}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const bad = (message: string) => new GatewayError('GW_BAD_REQUEST', message);

function text(v: unknown, field: string, max: number, required: boolean): string | null {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) throw bad(`${field} is required`);
    return null;
  }
  if (typeof v !== 'string') throw bad(`${field} must be a string`);
  const s = v.trim();
  if ([...s].length > max) throw bad(`${field} must be at most ${max} characters`);
  if (UNPRINTABLE_RE.test(s)) throw bad(`${field} contains control or text-direction characters`);
  return s;
}

function seatsValue(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SEATS) throw bad(`seats must be an integer from 1 to ${MAX_SEATS}`);
  return n;
}

/** Checks a request against the current licence; returns the values that go into the file. */
export function checkRequest(input: unknown, status: LicenceStatus, today: string) {
  if (!input || typeof input !== 'object') throw bad('the request is required');
  const i = input as Record<string, unknown>;
  if (i.kind !== 'expand' && i.kind !== 'renew') throw bad('kind must be expand or renew');
  const kind: RequestKind = i.kind;
  const licensed = status.state !== 'trial';

  let seats = seatsValue(i.seats);
  const expiresAt = i.expiresAt === undefined || i.expiresAt === null || i.expiresAt === '' ? null : i.expiresAt;
  if (expiresAt !== null && !isDay(expiresAt)) throw bad('expiresAt must be a date written YYYY-MM-DD');
  if (expiresAt !== null && expiresAt <= today) throw bad(`expiresAt must be after today (${today})`);

  if (kind === 'expand') {
    if (seats === null) throw bad('seats is required to ask for an expansion');
    if (licensed && seats <= status.seats) throw bad(`seats must be more than the ${status.seats} of the current licence`);
  } else {
    if (!licensed) throw bad('there is no licence to renew: ask for a first licence with kind expand');
    if (expiresAt === null) throw bad('expiresAt is required to ask for a renewal');
    if (status.expiresAt !== null && expiresAt <= status.expiresAt) throw bad(`expiresAt must be after the current expiry (${status.expiresAt})`);
    seats ??= status.seats;
  }

  const company = text(i.company, 'company', MAX_COMPANY_CHARS, !licensed) ?? (status.company as string);

  const c = i.contact;
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw bad('contact is required: name, and a phone number or an email address');
  const contactIn = c as Record<string, unknown>;
  const name = text(contactIn.name, 'contact.name', 64, true) as string;
  const phone = text(contactIn.phone, 'contact.phone', 32, false);
  const email = text(contactIn.email, 'contact.email', 254, false);
  if (phone === null && email === null) throw bad('contact needs a phone number or an email address');
  if (phone !== null && !PHONE_RE.test(phone)) throw bad('contact.phone must be a phone number (digits, spaces, + ( ) -)');
  if (email !== null && !EMAIL_RE.test(email)) throw bad('contact.email must be an email address');

  let note: string | null = null;
  if (i.note !== undefined && i.note !== null && i.note !== '') {
    if (typeof i.note !== 'string') throw bad('note must be a string');
    if ([...i.note].length > MAX_NOTE_CHARS) throw bad(`note must be at most ${MAX_NOTE_CHARS} characters`);
    // a note may have line breaks and tabs, nothing else unprintable
    if (UNPRINTABLE_RE.test(i.note.replace(/[\n\r\t]/g, ''))) throw bad('note contains control or text-direction characters');
    note = i.note.trim() || null;
  }

  return { kind, seats, expiresAt, company, contact: { name, phone, email }, note };
}
