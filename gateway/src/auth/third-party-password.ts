import type { UserRecord } from '../directory/types.js';

/**
 * The port AuthService uses for users whose password an outside system checks
 * (the open API's authType 2, "third-party login": wire spec §6 `auth`,
 * docs/apps-callbacks.md "Third-party login"). The apps module implements it
 * by asking an app's callback.
 *
 * `handles` says whether the user is checked this way (no fallback to a local
 * password for them). `verify` resolves true (right password) or false (wrong
 * password, or the system knows no such account); it rejects when the system
 * cannot be asked or answers anything else, which the caller reports as an
 * outage, not as a wrong password. Implementations refuse an empty password
 * without contacting anything, and never log or keep the password.
 */
export interface ThirdPartyPasswords {
  handles(user: UserRecord): boolean;
  verify(user: UserRecord, password: string): Promise<boolean>;
}
