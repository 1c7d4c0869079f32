import type { KeyObject } from 'node:crypto';
import type { SeatGate } from '../auth/service.js';
import { GatewayError } from '../errors/gateway-error.js';
import { canonicalJson, daysLeft, LicenceError, licencePublicKey, localDay, readLicence, verifyLicence, type Licence } from './format.js';
import { licenceRefusal } from './errors.js';
import type { LicenceRepo } from './repo.js';
import { checkRequest, REQUEST_FORMAT, type LicenceRequest, type RenewalRequestInput } from './request.js';

/** Authorised users allowed while no licence is imported. The trial has no end date. */
export const TRIAL_SEATS = 50;
/** A licence is 'expiring' (and says so) from this many days before its last day. */
export const EXPIRY_WARNING_DAYS = 30;

export type LicenceState = 'trial' | 'valid' | 'expiring' | 'expired';

export interface LicenceStatus {
  state: LicenceState;
  /** null in the trial. */
  company: string | null;
  /** Authorised users allowed: the licence's seats, or TRIAL_SEATS. */
  seats: number;
  /** Users on the authorised list now. */
  used: number;
  issuedAt: string | null;
  /** Last valid day (YYYY-MM-DD, valid through its end in local time); null in the trial. */
  expiresAt: string | null;
  /** Whole days until expiresAt: 0 on the last day, negative once expired; null in the trial. */
  daysLeft: number | null;
  licenceId: string | null;
  /** Sentences for the administrator, empty when all is well. */
  warnings: string[];
}

export interface ImportResult {
  licenceId: string;
  /** false when this licence was already the active one (nothing was written). */
  changed: boolean;
  /** The id of the licence this one replaced, if another was active. */
  replaced: string | null;
  status: LicenceStatus;
}

export interface LicenceHistoryEntry {
  id: string;
  company: string | null;
  seats: number | null;
  issuedAt: string | null;
  expiresAt: string | null;
  importedAt: number;
  active: boolean;
}

export interface LicencePorts {
  /** The vendor's Ed25519 public key (SPKI PEM) that licences must be signed for. */
  publicKeyPem: string | KeyObject;
  /** Counts users on the authorised list. May throw on a storage failure. */
  countAuthorised(): Promise<number>;
  /** The clock; days are taken in the server's local time zone. */
  now?: () => Date;
}

type Standing =
  | { kind: 'trial'; problem: string | null }
  | { kind: 'licensed'; licence: Licence; daysLeft: number };

/**
 * The appliance's licence (F-2.3, F-9.1): which licence is active, how many
 * users may be authorised, and the expansion/renewal request.
 *
 * Without a licence the appliance runs as a trial of TRIAL_SEATS authorised
 * users with no end date. An expired licence allows no new authorisations;
 * users already authorised keep working. Having more authorised users than
 * seats (after importing a smaller licence) blocks new authorisations only.
 */
export class LicenceService implements SeatGate {
  private readonly key: KeyObject;
  private readonly now: () => Date;
  private cache: { body: string; licence: Licence } | null = null;
  private seatQueue: Promise<unknown> = Promise.resolve();

  /** Throws when the public key is not an Ed25519 public key, so a broken package fails at start. */
  constructor(
    private readonly repo: LicenceRepo,
    private readonly ports: LicencePorts,
  ) {
    this.key = licencePublicKey(ports.publicKeyPem);
    this.now = ports.now ?? (() => new Date());
  }

  private async standing(): Promise<Standing> {
    const stored = await this.repo.active();
    if (!stored) return { kind: 'trial', problem: null };
    let licence = this.cache?.body === stored.body ? this.cache.licence : null;
    if (!licence) {
      try {
        // checked again on every load: the database is not trusted to keep the seats honest
        licence = readLicence(stored.body, this.key).licence;
      } catch (e) {
        if (!(e instanceof LicenceError)) throw e;
        return { kind: 'trial', problem: `the stored licence ${stored.id} cannot be verified (${e.reason}): running as a trial until a valid licence is imported` };
      }
      this.cache = { body: stored.body, licence };
    }
    return { kind: 'licensed', licence, daysLeft: daysLeft(licence, this.now()) };
  }

  async status(): Promise<LicenceStatus> {
    const [st, used] = await Promise.all([this.standing(), this.ports.countAuthorised()]);
    const warnings: string[] = [];
    if (st.kind === 'trial') {
      warnings.push(st.problem ?? `no licence is imported: the appliance runs as a trial limited to ${TRIAL_SEATS} authorised users`);
      warnings.push(...seatWarnings(TRIAL_SEATS, used, false));
      return { state: 'trial', company: null, seats: TRIAL_SEATS, used, issuedAt: null, expiresAt: null, daysLeft: null, licenceId: null, warnings };
    }
    const { licence: l, daysLeft: left } = st;
    const state: LicenceState = left < 0 ? 'expired' : left <= EXPIRY_WARNING_DAYS ? 'expiring' : 'valid';
    if (state === 'expired') {
      warnings.push(`the licence expired on ${l.expiresAt}: users already authorised keep working, but no new user can be authorised until a renewed licence is imported`);
    } else if (state === 'expiring') {
      warnings.push(left === 0 ? `the licence expires at the end of today (${l.expiresAt}); request a renewal` : `the licence expires on ${l.expiresAt}, in ${left} day${left === 1 ? '' : 's'}; request a renewal`);
    }
    if (state !== 'expired') warnings.push(...seatWarnings(l.seats, used, true));
    return { state, company: l.company, seats: l.seats, used, issuedAt: l.issuedAt, expiresAt: l.expiresAt, daysLeft: left, licenceId: l.id, warnings };
  }

  /**
   * Verifies and imports a licence file, making it the active licence. Importing
   * the active licence again changes nothing; importing one imported before
   * makes it active again. Refusals (GW_LICENCE_INVALID with details.reason, or
   * GW_CONFLICT for a different licence under a known id) write nothing.
   */
  async importLicence(text: unknown): Promise<ImportResult> {
    if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw licenceRefusal('GW_LICENCE_INVALID', 'the licence file text is required', { reason: 'malformed' });
    let verified;
    try {
      verified = verifyLicence(text, this.key, this.now());
    } catch (e) {
      if (e instanceof LicenceError) throw licenceRefusal('GW_LICENCE_INVALID', e.message, { reason: e.reason });
      throw e;
    }
    const { licence } = verified;
    const body = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
    const [existing, active] = await Promise.all([this.repo.get(licence.id), this.repo.active()]);
    if (existing) {
      let same = false;
      let storedValid = true;
      try {
        same = canonicalJson(readLicence(existing.body, this.key).licence) === canonicalJson(licence);
      } catch (e) {
        if (!(e instanceof LicenceError)) throw e;
        storedValid = false; // a damaged stored copy is replaced by the valid one
      }
      if (same && existing.active) return { licenceId: licence.id, changed: false, replaced: null, status: await this.status() };
      if (!same && storedValid) {
        throw new GatewayError('GW_CONFLICT', `a different licence with the id ${licence.id} was imported on ${localDay(new Date(existing.importedAt))}; each licence needs its own id`);
      }
    }
    await this.repo.activate(licence.id, body, this.now().getTime());
    const replaced = active && active.id !== licence.id ? active.id : null;
    return { licenceId: licence.id, changed: true, replaced, status: await this.status() };
  }

  /** Every licence imported on this appliance, newest first. */
  async history(): Promise<LicenceHistoryEntry[]> {
    return (await this.repo.list()).map((s) => {
      let l: Licence | null = null;
      try {
        l = readLicence(s.body, this.key).licence;
      } catch {
        // listed without its content: status() reports a stored licence that fails verification
      }
      return { id: s.id, company: l?.company ?? null, seats: l?.seats ?? null, issuedAt: l?.issuedAt ?? null, expiresAt: l?.expiresAt ?? null, importedAt: s.importedAt, active: s.active };
    });
  }

  /** SeatGate: true when one more user may be authorised now. Never throws: a failure answers false. */
  async seatAvailable(): Promise<boolean> {
    try {
      const s = await this.status();
      return s.state !== 'expired' && s.used < s.seats;
    } catch {
      return false;
    }
  }

  /**
   * Throws unless `extra` more users may be authorised now: GW_LICENCE_EXPIRED
   * when the licence has expired, GW_LICENCE_SEATS_FULL (naming seats and used)
   * when they would not fit. Call it only for users not authorised yet.
   */
  async checkCanAuthorise(extra = 1): Promise<void> {
    if (!Number.isSafeInteger(extra) || extra < 0) throw new RangeError('extra must be a non-negative integer');
    if (extra === 0) return;
    const s = await this.status();
    if (s.state === 'expired') {
      throw licenceRefusal('GW_LICENCE_EXPIRED', `the licence ${s.licenceId} expired on ${s.expiresAt}: users already authorised keep working, but nobody new can be authorised until a renewed licence is imported`, { expiresAt: s.expiresAt });
    }
    if (s.used + extra > s.seats) {
      const who = s.state === 'trial' ? 'the trial' : 'licence';
      const more = extra === 1 ? '' : `, so ${extra} more do not fit`;
      const hint = s.state === 'trial' ? '; import a licence to authorise more' : '';
      throw licenceRefusal('GW_LICENCE_SEATS_FULL', `${who} allows ${s.seats} authorised users; ${s.used} are authorised${more}${hint}`, { seats: s.seats, used: s.used, requested: extra });
    }
  }

  /**
   * Checks that `extra` users fit and runs `authorise` with no other withSeats
   * call of this service in between, so two administrators cannot both take
   * the last seat. `authorise` should authorise at most `extra` users.
   */
  withSeats<T>(extra: number, authorise: () => Promise<T>): Promise<T> {
    const run = this.seatQueue.then(async () => {
      await this.checkCanAuthorise(extra);
      return authorise();
    });
    this.seatQueue = run.catch(() => undefined);
    return run;
  }

  /** Builds an expansion or renewal request file for the vendor. Throws GW_BAD_REQUEST naming the bad field. */
  async renewalRequest(input: RenewalRequestInput): Promise<LicenceRequest> {
    const status = await this.status();
    const now = this.now();
    const r = checkRequest(input, status, localDay(now));
    return {
      format: REQUEST_FORMAT,
      kind: r.kind,
      createdAt: now.toISOString(),
      installationId: await this.repo.installationId(),
      company: r.company,
      licenceId: status.licenceId,
      current: { state: status.state, seats: status.seats, used: status.used, issuedAt: status.issuedAt, expiresAt: status.expiresAt },
      requested: { seats: r.seats, expiresAt: r.expiresAt },
      contact: r.contact,
      note: r.note,
    };
  }
}

function seatWarnings(seats: number, used: number, licensed: boolean): string[] {
  const what = licensed ? 'the licence' : 'the trial';
  if (used > seats) return [`${used} users are authorised, more than the ${seats} ${what} allows: they keep working, but nobody new can be authorised until fewer than ${seats} are`];
  if (used === seats) return [`all ${seats} seats of ${what} are taken: authorising another user needs ${licensed ? 'an expansion' : 'a licence'}`];
  return [];
}
