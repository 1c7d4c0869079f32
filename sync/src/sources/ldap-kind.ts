import { registerSourceKind } from '../engine/registry.js';
import { LdapPasswordAuthority } from './ldap-auth.js';
import { normalizeLdapConfigInput, parseLdapConfig } from './ldap-config.js';
import { LdapSource } from './ldap.js';

/**
 * Registers the `ldap` source kind (LDAP and Active Directory). The bind
 * password is a secret field: sealed at rest, never returned by the API.
 * Imported once by sync/src/kinds.ts.
 */
registerSourceKind('ldap', (config, deps) => new LdapSource(deps.sourceId, config, deps.origin), {
  label: { zh: 'LDAP / Active Directory', en: 'LDAP / Active Directory' },
  secretFields: ['bindPassword'],
  // LdapConfigError's message names the key and the problem and never contains the password
  validateConfig: (config) => normalizeLdapConfigInput(config) as unknown as Record<string, unknown>,
});

/**
 * The directory-password checker for users of an `ldap:<id>` source, from its
 * stored config (secrets in clear): what the gateway's DirectoryPasswords port
 * (gateway/src/auth/directory-password.ts) looks up per origin.
 */
export function ldapPasswordAuthority(config: Record<string, unknown>): LdapPasswordAuthority {
  return new LdapPasswordAuthority(parseLdapConfig(config));
}
