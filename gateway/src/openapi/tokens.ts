import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../storage/sqlite.js';

/** How long an access token lives (the spec's expireIn). */
export const TOKEN_TTL_S = 7200;

export type TokenCheck = { ok: true; appRow: number; tokenGen: number; expiresAt: number } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

/**
 * Access tokens (docs/open-api.md "Tokens"): stateless, so any number are
 * valid at once per app, each for TOKEN_TTL_S, and they survive restarts.
 * A token is 64 hex digits: appRow(4) ‖ expiresAt s(4) ‖ tokenGen(4) ‖
 * random(4) ‖ HMAC-SHA256(secret, those 16 bytes)[0..16]. The app's tokenGen
 * must still match when the token is used, so a new key, disabling or deleting
 * the app ends its tokens at once.
 */
export class TokenService {
  private secret: Buffer | null = null;

  constructor(
    private readonly db: Db,
    private readonly nowMs: () => number = Date.now,
  ) {}

  private key(): Buffer {
    if (this.secret) return this.secret;
    const row = this.db.prepare('SELECT secret FROM openapi_secret WHERE id = 1').get() as { secret: Buffer } | undefined;
    if (row) return (this.secret = row.secret);
    this.db.prepare('INSERT OR IGNORE INTO openapi_secret (id, secret, created_at) VALUES (1, ?, ?)').run(randomBytes(32), this.nowMs());
    return (this.secret = (this.db.prepare('SELECT secret FROM openapi_secret WHERE id = 1').get() as { secret: Buffer }).secret);
  }

  issue(appRow: number, tokenGen: number): { accessToken: string; expireIn: number } {
    const body = Buffer.alloc(16);
    body.writeUInt32BE(appRow, 0);
    body.writeUInt32BE(Math.floor(this.nowMs() / 1000) + TOKEN_TTL_S, 4);
    body.writeUInt32BE(tokenGen >>> 0, 8);
    randomBytes(4).copy(body, 12);
    const mac = createHmac('sha256', this.key()).update(body).digest().subarray(0, 16);
    return { accessToken: Buffer.concat([body, mac]).toString('hex'), expireIn: TOKEN_TTL_S };
  }

  check(token: string): TokenCheck {
    if (!/^[0-9a-f]{64}$/i.test(token)) return { ok: false, reason: 'malformed' };
    const raw = Buffer.from(token, 'hex');
    const body = raw.subarray(0, 16);
    const mac = createHmac('sha256', this.key()).update(body).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(16))) return { ok: false, reason: 'forged' };
    const expiresAt = body.readUInt32BE(4);
    if (expiresAt * 1000 <= this.nowMs()) return { ok: false, reason: 'expired' };
    return { ok: true, appRow: body.readUInt32BE(0), expiresAt, tokenGen: body.readUInt32BE(8) };
  }
}
