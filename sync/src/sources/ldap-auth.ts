import { InvalidCredentialsError, ResultCodeError } from 'ldapts';
import type { PasswordAuthority } from '../source.js';
import { classifyError, close, connect, safeBind, serviceClient } from './ldap-client.js';
import type { LdapConfig } from './ldap-config.js';
import { values } from './ldap-entry.js';
import { escapeFilterValue, isAtOrUnder, normalizeDn } from './ldap-escape.js';

/** The directory could not be asked (network, TLS, service account): not a wrong password. */
export class LdapUnavailableError extends Error {
  constructor(readonly kind: ReturnType<typeof classifyError>, options?: { cause?: unknown }) {
    super(`the directory could not be reached (${kind})`, options);
    this.name = 'LdapUnavailableError';
  }
}

const MAX_ACCOUNT_CHARS = 256;
const MAX_PASSWORD_CHARS = 1024;

/**
 * Checks a directory password by binding as the user (docs/sync-ldap.md,
 * "Login"). An empty password is refused before any network call: an LDAP
 * simple bind with a DN and no password is an *unauthenticated* bind that
 * servers answer with success. The account only ever reaches the server
 * escaped (RFC 4515), and a search must find exactly one user whose account
 * attribute equals it.
 *
 * `verify` resolves false for a wrong or empty password, an unknown or
 * ambiguous account, or a server refusal (disabled, locked); it rejects with
 * LdapUnavailableError when the directory cannot be reached, so callers can
 * tell an outage from a wrong password.
 */
export class LdapPasswordAuthority implements PasswordAuthority {
  /** Binds attempted (tests check that refused input never reaches the server). */
  bindAttempts = 0;

  constructor(private readonly cfg: Readonly<LdapConfig>) {}

  async verify(user: { account: string; loginDn?: string | null }, password: string): Promise<boolean> {
    if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_CHARS || password.includes('\0')) return false;
    const account = user?.account;
    if (typeof account !== 'string' || account.length === 0 || account.length > MAX_ACCOUNT_CHARS || account.includes('\0')) return false;
    let tried: string | null = null;
    if (user.loginDn && this.inScope(user.loginDn)) {
      tried = normalizeDn(user.loginDn);
      if (await this.bindAs(user.loginDn, password)) return true;
    }
    // no stored DN, or the bind failed: the entry may have moved or been renamed since the last sync
    const dn = await this.findDn(account);
    if (!dn || normalizeDn(dn) === tried) return false;
    return this.bindAs(dn, password);
  }

  private inScope(dn: string): boolean {
    try {
      return isAtOrUnder(normalizeDn(dn), normalizeDn(this.cfg.baseDn));
    } catch {
      return false;
    }
  }

  /** True when the bind succeeds; false when the server refuses it; throws when it cannot be asked. */
  private async bindAs(dn: string, password: string): Promise<boolean> {
    if (!dn || !password) return false;
    let client;
    try {
      client = await connect(this.cfg);
    } catch (e) {
      throw new LdapUnavailableError(classifyError(e), { cause: e });
    }
    try {
      this.bindAttempts += 1;
      await safeBind(client, dn, password);
      return true;
    } catch (e) {
      // 49 invalidCredentials (AD adds "data 52e/533/775" for wrong/disabled/locked), 53 unwilling (ppolicy lock)...
      if (e instanceof InvalidCredentialsError || e instanceof ResultCodeError) return false;
      throw new LdapUnavailableError(classifyError(e), { cause: e });
    } finally {
      await close(client);
    }
  }

  /** The DN of the one user whose account attribute equals `account`, found with the service account. */
  private async findDn(account: string): Promise<string | null> {
    const names = this.cfg.attributes.account;
    const esc = escapeFilterValue(account);
    const byAccount = names.length === 1 ? `(${names[0]}=${esc})` : `(|${names.map((n) => `(${n}=${esc})`).join('')})`;
    let client;
    try {
      client = await serviceClient(this.cfg);
    } catch (e) {
      throw new LdapUnavailableError(classifyError(e), { cause: e });
    }
    try {
      const r = await client.search(this.cfg.baseDn, { scope: 'sub', filter: `(&${this.cfg.userFilter}${byAccount})`, attributes: names, sizeLimit: 2 });
      if (r.searchEntries.length !== 1) return null;
      const e = r.searchEntries[0]!;
      // defence in depth: the entry must carry exactly this account, not something a filter trick matched
      const same = names.some((n) => values(e, n).some((v) => v.trim().toLowerCase() === account.trim().toLowerCase()));
      return same ? e.dn : null;
    } catch (e) {
      if ((e as Error).name === 'SizeLimitExceededError') return null;
      if (e instanceof ResultCodeError) return null;
      throw new LdapUnavailableError(classifyError(e), { cause: e });
    } finally {
      await close(client);
    }
  }
}
