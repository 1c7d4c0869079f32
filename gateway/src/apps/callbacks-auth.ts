import type { ThirdPartyPasswords } from '../auth/third-party-password.js';
import type { UserRecord } from '../directory/types.js';
import { orgStore } from '../openapi/org/store.js';
import type { SettingsStore } from '../settings/settings.js';
import type { Db } from '../storage/sqlite.js';
import type { CallbackQueue } from './callback-queue.js';
import type { AppService } from './service.js';
import type { OpenApp } from './types.js';

/** The open API's authType of users whose password an app checks (wire spec §3.5 user/setauth). */
export const THIRD_PARTY_AUTH_TYPE = 2;
/** The reply errcodes of the `auth` callback (wire spec §6, DOC c01_00014). */
export const AUTH_REPLY = { OK: 0, NO_ACCOUNT: 300001, WRONG_PASSWORD: 300002, INTERNAL: -1 } as const;

export class ThirdPartyUnavailable extends Error {}

/**
 * The errcode of an `auth` reply: a JSON object with an integer (or decimal
 * string) errcode, whitespace around it ignored. Null for anything else.
 */
export function authReplyCode(answer: string): number | null {
  try {
    const j = JSON.parse(answer.trim()) as { errcode?: unknown } | null;
    if (!j || typeof j !== 'object' || Array.isArray(j)) return null;
    const c = typeof j.errcode === 'string' && /^-?\d{1,9}$/.test(j.errcode.trim()) ? Number(j.errcode) : j.errcode;
    return typeof c === 'number' && Number.isSafeInteger(c) ? c : null;
  } catch {
    return null;
  }
}

/**
 * Third-party login (wire spec §6 `auth`; docs/apps-callbacks.md
 * "Third-party login"): a user with authType 2 logs in by the gateway POSTing
 * `{fromUser: account, createTime, packageId, msgType: "auth", passwd:
 * <plaintext>}` (signed and encrypted like every callback) to the checking
 * app's callback, at once and outside the queue (nothing is stored), through
 * the outbound guard, within the per-attempt timeout (5 s). The reply's
 * errcode decides: 0 right, 300002 wrong password, 300001 no such account
 * (both a failed login); −1, any other errcode, another status, a body that
 * is not JSON with an errcode, a timeout or a refused address make verify
 * reject (the login is refused as "could not be checked", not counted as a
 * wrong password). The checking app is the one that set authType 2 (recorded
 * at user/setauth or org/replaceall), or the org-sync assistant of the
 * gateway's buin when none is recorded; a checking app without a callback
 * also makes verify reject.
 */
export function thirdPartyPasswords(deps: { db: Db; apps: AppService; callbacks: CallbackQueue; settings: SettingsStore }): ThirdPartyPasswords {
  const checker = (user: UserRecord): OpenApp | null => {
    const row = orgStore(deps.db).extra(user.id).authAppRow;
    const recorded = row === null ? null : deps.apps.get(row);
    if (recorded && recorded.origin !== 'deleted') return recorded;
    const buin = deps.settings.get().openApiBuin;
    return deps.apps.byAppId(buin, 'sysOrgAssistant');
  };
  return {
    handles: (user) => orgStore(deps.db).extra(user.id).authType === THIRD_PARTY_AUTH_TYPE,
    async verify(user, password) {
      if (!password) return false;
      const app = checker(user);
      if (!app) throw new ThirdPartyUnavailable('no app checks third-party passwords');
      const r = await deps.callbacks.call(app, user.account, 'auth', { passwd: password });
      if (!r) throw new ThirdPartyUnavailable(`the app ${app.appId ?? app.key} has no callback`);
      const code = r.httpStatus === 200 && r.answer !== undefined ? authReplyCode(r.answer) : null;
      if (code === AUTH_REPLY.OK) return true;
      if (code === AUTH_REPLY.WRONG_PASSWORD || code === AUTH_REPLY.NO_ACCOUNT) return false;
      throw new ThirdPartyUnavailable(code !== null ? `the app answered errcode ${code}` : `the app did not answer: ${r.outcome}`);
    },
  };
}
