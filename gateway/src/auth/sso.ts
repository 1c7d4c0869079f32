import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DirectoryService } from '../directory/service.js';
import type { UserRecord } from '../directory/types.js';
import { SSO_SIGN_TTL_MS } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';

/** How long a GetSession.cgi session key stays valid. */
export const SSO_SESSION_KEY_TTL_MS = 5 * 60_000;
/** Most session keys held at once (older ones are dropped first). */
const MAX_SESSION_KEYS = 100_000;
const SIGN_RE = /^1\.(\d{1,12})\.([A-Za-z0-9+/]{43}=)$/;

export type SignCheck = 'ok' | 'expired' | 'bad';

/**
 * The gateway's own single-sign-on signatures, the successor of the signatures an RTX client
 * handed to web pages (SignAuth.cgi). A signature is
 *
 *     1.<expiry, Unix seconds>.<base64 HMAC-SHA256(secret, "huitong-sso/1\n" + account (lower case) + "\n" + expiry)>
 *
 * with a 32-byte secret made on first use and kept in the database (table sso_secret). It proves
 * that the gateway issued it for that account until the expiry; anyone holding it until then can
 * present it, so it travels only to the page that asked for it. Session keys (GetSession.cgi) are
 * random, held in memory for SSO_SESSION_KEY_TTL_MS, and verify like a signature of their user.
 * docs/protocol/rtx-sdk-compat.md#signauthcgi.
 */
export class SsoService {
  private key: Buffer | null = null;
  private readonly sessionKeys = new Map<string, { userId: number; expiresAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly directory: DirectoryService,
    private readonly now: () => number = Date.now,
  ) {}

  private secret(): Buffer {
    if (this.key) return this.key;
    this.db.prepare('INSERT OR IGNORE INTO sso_secret (id, secret, created_at) VALUES (1, ?, ?)').run(randomBytes(32), Date.now());
    this.key = this.db.prepare('SELECT secret FROM sso_secret WHERE id = 1').pluck().get() as Buffer;
    return this.key;
  }

  private mac(account: string, expiry: number): string {
    return createHmac('sha256', this.secret()).update(`huitong-sso/1\n${account.toLowerCase()}\n${expiry}`).digest('base64');
  }

  /** A signature for the user, valid for `ttlMs` (default SSO_SIGN_TTL_MS). */
  sign(user: Pick<UserRecord, 'account'>, ttlMs = SSO_SIGN_TTL_MS): { account: string; sign: string; expiresAt: number } {
    const expiry = Math.ceil((this.now() + ttlMs) / 1000);
    return { account: user.account, sign: `1.${expiry}.${this.mac(user.account, expiry)}`, expiresAt: expiry * 1000 };
  }

  /** Checks a signature (or a live session key) for an account. Never throws. */
  async verify(account: string, sign: string): Promise<SignCheck> {
    const user = account ? await this.directory.getUserByAccount(account) : null;
    if (!user || user.status !== 'active' || user.blocked) return 'bad';
    const session = this.sessionKeys.get(sign.toUpperCase());
    if (session && session.userId === user.id) return session.expiresAt > this.now() ? 'ok' : 'expired';
    const m = SIGN_RE.exec(sign);
    if (!m) return 'bad';
    const expiry = Number(m[1]);
    const want = Buffer.from(this.mac(user.account, expiry));
    const got = Buffer.from(m[2] as string);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'bad';
    return expiry * 1000 > this.now() ? 'ok' : 'expired';
  }

  /** A new session key for the user (32 hex digits), valid for SSO_SESSION_KEY_TTL_MS. */
  sessionKey(user: Pick<UserRecord, 'id'>): { key: string; expiresAt: number } {
    const now = this.now();
    if (this.sessionKeys.size >= MAX_SESSION_KEYS) {
      for (const [k, v] of this.sessionKeys) if (v.expiresAt <= now || this.sessionKeys.size >= MAX_SESSION_KEYS) this.sessionKeys.delete(k);
    }
    const key = randomBytes(16).toString('hex').toUpperCase();
    const expiresAt = now + SSO_SESSION_KEY_TTL_MS;
    this.sessionKeys.set(key, { userId: user.id, expiresAt });
    return { key, expiresAt };
  }
}
