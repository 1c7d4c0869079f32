import { directoryPasswordsByOrigin, type DirectoryPasswords, type OriginPasswordAuthority } from '../auth/directory-password.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/sqlite.js';
import { ldapPasswordAuthority } from '../../../sync/src/sources/ldap-kind.js';
import type { SyncService } from './service.js';

const LDAP_ORIGIN = 'ldap:';

/**
 * The DirectoryPasswords port of AuthService over the sync sources
 * (docs/sync-ldap.md "Login"): a user of origin `ldap:<id>` is checked by a
 * bind against source <id>, with that source's stored config (the bind
 * password opened with the data directory's secret box) and the login DN the
 * last sync stored (users.login_dn; null → the authority searches for the
 * account with the service account).
 *
 * One authority per source, kept while the source's stored config stays the
 * same: a changed config (also one changed by another process, the CLI) builds
 * a new one, a deleted source refuses its users (false, like a wrong password).
 * A source whose config cannot be opened or parsed makes verify reject, which
 * AuthService reports as the directory being unavailable.
 */
export function syncDirectoryPasswords(sync: SyncService, db: Db, log: Logger): DirectoryPasswords {
  const cache = new Map<string, { config: string; authority: OriginPasswordAuthority }>();
  sync.onSourcesChanged(() => cache.clear());
  const loginDn = db.prepare('SELECT login_dn FROM users WHERE id = ?').pluck();

  const authorityFor = (origin: string): OriginPasswordAuthority | null => {
    if (!origin.startsWith(LDAP_ORIGIN)) return null;
    const row = sync.store.source(origin.slice(LDAP_ORIGIN.length));
    if (!row || row.origin !== origin || row.kind !== 'ldap') {
      cache.delete(origin);
      return null;
    }
    const hit = cache.get(origin);
    if (hit && hit.config === row.config) return hit.authority;
    let authority: OriginPasswordAuthority;
    try {
      authority = ldapPasswordAuthority(sync.configs.plainConfig(row));
    } catch (e) {
      log.error({ err: e, syncSource: row.id }, 'directory login: the source config cannot be used');
      const failed = new Error(`the config of sync source ${row.id} cannot be used for login`, { cause: e });
      // reported as "the directory could not be reached", not as a wrong password (no lockout)
      return { verify: () => Promise.reject(failed) };
    }
    cache.set(origin, { config: row.config, authority });
    return authority;
  };

  return directoryPasswordsByOrigin(authorityFor, (user) => (loginDn.get(user.id) as string | null | undefined) ?? null);
}
