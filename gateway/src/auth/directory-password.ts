import type { UserRecord } from '../directory/types.js';

/**
 * Users whose origin is one of these prefixes have no password of their own in
 * the gateway: their directory checks it (an LDAP bind as the user). There is
 * no fallback to a local password for them, even if a hash was ever stored.
 */
export const DIRECTORY_PASSWORD_ORIGINS = ['ldap:'] as const;

export const hasDirectoryPassword = (user: Pick<UserRecord, 'origin'>): boolean => DIRECTORY_PASSWORD_ORIGINS.some((p) => user.origin.startsWith(p));

/**
 * The port AuthService uses to check a directory-owned user's password. The
 * sync engine implements it over its sources (docs/sync-ldap.md, "Login").
 *
 * `verify` resolves true/false; it rejects when the directory cannot be asked
 * at all (network, TLS, service account), which the caller reports as an
 * outage, not as a wrong password. An unknown origin (source deleted) resolves
 * false. Implementations refuse an empty password without contacting anything.
 */
export interface DirectoryPasswords {
  verify(user: UserRecord, password: string): Promise<boolean>;
}

/** Something that checks one source's passwords (sync/src/source.ts PasswordAuthority). */
export interface OriginPasswordAuthority {
  verify(user: { account: string; loginDn?: string | null }, password: string): Promise<boolean>;
}

/**
 * Builds the port from a lookup of the authority per origin (`ldap:<id>` →
 * that source's LdapPasswordAuthority) and, when stored, the user's login DN.
 */
export function directoryPasswordsByOrigin(
  authorityFor: (origin: string) => OriginPasswordAuthority | null,
  loginDnOf: (user: UserRecord) => string | null = () => null,
): DirectoryPasswords {
  return {
    async verify(user, password) {
      if (!password) return false;
      const authority = authorityFor(user.origin);
      if (!authority) return false;
      return authority.verify({ account: user.account, loginDn: loginDnOf(user) }, password);
    },
  };
}
