import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * The licence file (F-2.3): JSON signed with the vendor's Ed25519 key.
 *
 *   { "format": "huitong-licence/1",
 *     "licence": { "id", "company", "seats", "issuedAt": "YYYY-MM-DD", "expiresAt": "YYYY-MM-DD", "product": "huitong" },
 *     "signature": "<base64 Ed25519 signature of canonicalJson(licence)>" }
 *
 * Pure functions: no storage, no clock of their own (callers pass `now`).
 * docs/licence.md describes the format for the vendor.
 */

export const LICENCE_FORMAT = 'huitong-licence/1';
export const LICENCE_PRODUCT = 'huitong';
export const MAX_LICENCE_FILE_BYTES = 64 * 1024;
export const MAX_SEATS = 1_000_000;
export const MAX_COMPANY_CHARS = 128;
export const LICENCE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** An Ed25519 signature is 64 bytes: 88 characters of base64 with padding. */
const SIGNATURE_RE = /^[A-Za-z0-9+/]{86}==$/;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Control characters and bidirectional overrides, which would garble or spoof the company name on screen. */
const UNPRINTABLE_RE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const DAY_MS = 86_400_000;

/** The signed content of a licence. Every field is covered by the signature. */
export interface Licence {
  id: string;
  company: string;
  seats: number;
  /** First day of validity, YYYY-MM-DD. */
  issuedAt: string;
  /** Last day of validity (valid through the end of that day in the server's local time zone), YYYY-MM-DD. */
  expiresAt: string;
  product: string;
}

export interface LicenceFile {
  format: typeof LICENCE_FORMAT;
  licence: Licence;
  signature: string;
}

export type LicenceRefusalReason = 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'wrong_product';

/** Why a licence file is refused. `reason` is stable (machines may rely on it); the message is for people. */
export class LicenceError extends Error {
  constructor(readonly reason: LicenceRefusalReason, message: string) {
    super(message);
    this.name = 'LicenceError';
  }
}

export interface VerifiedLicence {
  licence: Licence;
  signature: string;
  /** Whole days from today to expiresAt: 0 on the last valid day, negative once expired. */
  daysLeft: number;
}

const malformed = (message: string) => new LicenceError('malformed', message);

/**
 * JSON with object keys sorted (by UTF-16 code units, as Array.prototype.sort does)
 * and no whitespace: the bytes that are signed. Objects' undefined members are left
 * out, as JSON.stringify does; non-finite numbers and other non-JSON values throw.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

// ---- days ----

/** True for a real calendar day written YYYY-MM-DD (years 1970–9999). */
export function isDay(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = DAY_RE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1970) return false;
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** The calendar day of `now` in the server's local time zone, YYYY-MM-DD. */
export function localDay(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(now.getFullYear(), 4)}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/** Days since 1970-01-01 of a YYYY-MM-DD day; calendar arithmetic, so daylight saving never shifts it. */
function dayNumber(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Math.round(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** Whole calendar days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

export function addDays(day: string, n: number): string {
  return new Date((dayNumber(day) + n) * DAY_MS).toISOString().slice(0, 10);
}

// ---- keys ----

function privateKey(pem: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof pem === 'string' ? createPrivateKey(pem) : pem;
  } catch {
    throw new Error('the private key is not a PEM private key');
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') throw new Error('the private key is not an Ed25519 private key');
  return key;
}

/** Parses the vendor public key; throws when it is not an Ed25519 public key (a packaging fault, not a licence fault). */
export function licencePublicKey(pem: string | KeyObject): KeyObject {
  // createPublicKey would derive the public half of a private key: refuse it, the private key must never ship
  if (typeof pem === 'string' && pem.includes('PRIVATE KEY')) throw new Error('the vendor licence key is a private key; only the public key may ship with the appliance');
  let key: KeyObject;
  try {
    key = typeof pem === 'string' ? createPublicKey(pem) : pem;
  } catch {
    throw new Error('the vendor licence key is not a PEM public key');
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') throw new Error('the vendor licence key is not an Ed25519 public key');
  return key;
}

// ---- structure ----

/** Checks the field values of a licence; throws LicenceError('malformed') naming the first bad field. */
export function checkLicenceFields(value: unknown): Licence {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw malformed('"licence" must be an object');
  const l = value as Record<string, unknown>;
  const known = ['id', 'company', 'seats', 'issuedAt', 'expiresAt', 'product'];
  const extra = Object.keys(l).filter((k) => !known.includes(k));
  if (extra.length) throw malformed(`licence has unknown field(s): ${extra.slice(0, 5).join(', ')}`);
  if (typeof l.id !== 'string' || !LICENCE_ID_RE.test(l.id)) throw malformed('licence.id must be 1–64 letters, digits, . _ - (starting with a letter or digit)');
  if (typeof l.company !== 'string' || l.company.trim() === '') throw malformed('licence.company must be a non-empty string');
  if ([...l.company].length > MAX_COMPANY_CHARS) throw malformed(`licence.company must be at most ${MAX_COMPANY_CHARS} characters`);
  if (UNPRINTABLE_RE.test(l.company)) throw malformed('licence.company contains control or text-direction characters');
  if (typeof l.seats !== 'number' || !Number.isInteger(l.seats) || l.seats < 1 || l.seats > MAX_SEATS) throw malformed(`licence.seats must be an integer from 1 to ${MAX_SEATS}`);
  if (!isDay(l.issuedAt)) throw malformed('licence.issuedAt must be a date written YYYY-MM-DD');
  if (!isDay(l.expiresAt)) throw malformed('licence.expiresAt must be a date written YYYY-MM-DD');
  if (l.expiresAt < l.issuedAt) throw malformed(`licence.expiresAt (${l.expiresAt}) is before licence.issuedAt (${l.issuedAt})`);
  if (typeof l.product !== 'string' || l.product === '' || l.product.length > 64) throw malformed('licence.product must be a non-empty string');
  return { id: l.id, company: l.company, seats: l.seats, issuedAt: l.issuedAt, expiresAt: l.expiresAt, product: l.product };
}

/** Refuses a licence file of more than MAX_LICENCE_FILE_BYTES (LicenceError 'malformed'). */
export function checkLicenceSize(bytes: number): void {
  if (bytes > MAX_LICENCE_FILE_BYTES) throw malformed(`the licence file is larger than ${MAX_LICENCE_FILE_BYTES / 1024} KiB; it is not a Huitong licence`);
}

/** The file's text: refuses more than MAX_LICENCE_FILE_BYTES and bytes that are not UTF-8 (LicenceError 'malformed'). */
export function decodeLicenceText(text: string | Uint8Array): string {
  checkLicenceSize(typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.byteLength);
  if (typeof text === 'string') return text;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    throw malformed('the licence file is not UTF-8 text');
  }
}

/** Parses the file's structure and field values, without checking the signature. */
export function parseLicenceFile(text: string | Uint8Array): LicenceFile {
  const s = decodeLicenceText(text).replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(s);
  } catch {
    throw malformed('the licence file is not JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw malformed('the licence file must be a JSON object');
  const f = json as Record<string, unknown>;
  if (f.format !== LICENCE_FORMAT) throw malformed(`the licence file must have "format": "${LICENCE_FORMAT}"`);
  const extra = Object.keys(f).filter((k) => !['format', 'licence', 'signature'].includes(k));
  if (extra.length) throw malformed(`the licence file has unknown field(s): ${extra.slice(0, 5).join(', ')}`);
  const licence = checkLicenceFields(f.licence);
  if (typeof f.signature !== 'string' || !SIGNATURE_RE.test(f.signature)) throw malformed('"signature" must be a base64 Ed25519 signature');
  return { format: LICENCE_FORMAT, licence, signature: f.signature };
}

// ---- sign and verify ----

/**
 * Signs a licence with the vendor's private key and returns the licence file text
 * (indented JSON; whitespace in the file does not matter, only the signed content).
 * Throws LicenceError('malformed') for bad fields and Error for a key that is not Ed25519.
 */
export function signLicence(licence: Licence, privateKeyPem: string | KeyObject): string {
  const l = checkLicenceFields(licence);
  const signature = sign(null, Buffer.from(canonicalJson(l), 'utf8'), privateKey(privateKeyPem)).toString('base64');
  const file: LicenceFile = { format: LICENCE_FORMAT, licence: l, signature };
  return JSON.stringify(file, null, 2) + '\n';
}

/**
 * Checks structure, signature and product, not dates: what holds for a licence
 * forever. Used for a stored licence, which may since have expired.
 */
export function readLicence(text: string | Uint8Array, publicKeyPem: string | KeyObject): { licence: Licence; signature: string } {
  const key = licencePublicKey(publicKeyPem);
  const file = parseLicenceFile(text);
  const ok = verify(null, Buffer.from(canonicalJson(file.licence), 'utf8'), key, Buffer.from(file.signature, 'base64'));
  if (!ok) throw new LicenceError('bad_signature', 'the licence signature does not match: the file was changed after it was issued, or it was not issued with the vendor key of this appliance');
  if (file.licence.product !== LICENCE_PRODUCT) throw new LicenceError('wrong_product', `the licence is for the product ${JSON.stringify(file.licence.product)}, not ${LICENCE_PRODUCT}`);
  return { licence: file.licence, signature: file.signature };
}

/** Days left of a licence on the local day of `now`: 0 on its last day, negative once expired. */
export function daysLeft(licence: Pick<Licence, 'expiresAt'>, now: Date): number {
  return daysBetween(localDay(now), licence.expiresAt);
}

/**
 * Verifies a licence file for import: structure (≤ 64 KiB, JSON, fields), the
 * Ed25519 signature, the product, and the dates on the local day of `now`.
 * A licence is valid from issuedAt (one day of clock slack is allowed) through
 * the end of expiresAt. Throws LicenceError with a stable reason; never returns
 * an unverified licence.
 */
export function verifyLicence(text: string | Uint8Array, publicKeyPem: string | KeyObject, now: Date): VerifiedLicence {
  const { licence, signature } = readLicence(text, publicKeyPem);
  const today = localDay(now);
  if (daysBetween(today, licence.issuedAt) > 1) {
    throw new LicenceError('not_yet_valid', `the licence is issued for ${licence.issuedAt}, later than today (${today}); check the server's date and time`);
  }
  const left = daysBetween(today, licence.expiresAt);
  if (left < 0) throw new LicenceError('expired', `the licence expired on ${licence.expiresAt}`);
  return { licence, signature, daysLeft: left };
}
