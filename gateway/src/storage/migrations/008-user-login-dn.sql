-- Directory login (docs/sync-ldap.md "Login"): the DN an LDAP-synced user binds
-- as, written by the sync engine from the source. NULL for everyone else, and
-- until the next sync: the login then finds the DN with the service account.
ALTER TABLE users ADD COLUMN login_dn TEXT;
