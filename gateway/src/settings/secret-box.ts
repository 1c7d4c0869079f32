import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Secrets at rest (docs/sync.md "Secrets"): AES-256-GCM with a 256-bit key
 * kept in `<dataDir>/secret.key` (mode 0600, made on first use). A sealed
 * value is a string `sb1:<base64 of iv(12) | tag(16) | ciphertext>`, so it can
 * sit in a JSON config column. Whoever can read the data directory can read
 * the key: this keeps secrets out of database dumps, backups of the database
 * alone and the logs, not away from root. Losing the key file makes sealed
 * values unreadable (the admin enters them again); a backup must include it.
 */
export const SECRET_KEY_FILE = 'secret.key';
const PREFIX = 'sb1:';
const AAD = Buffer.from('huitong-secret-box-v1');

export class SecretBoxError extends Error {}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads the key from the data directory, creating it (0600) when absent. */
  static open(dataDir: string): SecretBox {
    const file = path.join(dataDir, SECRET_KEY_FILE);
    let key: Buffer;
    try {
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dataDir, { recursive: true });
      try {
        // wx: two processes starting at once cannot both write a key
        writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      } catch (w) {
        if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
      }
      chmodSync(file, 0o600);
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    }
    if (key.length !== 32) throw new SecretBoxError(`${file} does not hold a 256-bit key`);
    return new SecretBox(key);
  }

  static isSealed(v: unknown): v is string {
    return typeof v === 'string' && v.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(AAD);
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  }

  /** The plain text; throws SecretBoxError when the value was sealed with another key or altered. */
  open(sealed: string): string {
    if (!SecretBox.isSealed(sealed)) throw new SecretBoxError('not a sealed value');
    const b = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (b.length < 28) throw new SecretBoxError('sealed value too short');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12));
      d.setAAD(AAD);
      d.setAuthTag(b.subarray(12, 28));
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('the sealed value cannot be opened with this data directory\'s key (altered, or sealed elsewhere)');
    }
  }
}
