import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt cost: N=2^15, r=8, p=1 (≈32 MiB, tens of ms), per OWASP's guidance for scrypt. */
const N = 32768;
const R = 8;
const P = 1;
const KEY_LEN = 32;
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 256;

/** Hash in the self-describing form `scrypt$N$r$p$salt$key` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_LEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time check; false for malformed hashes rather than throwing. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (!stored) return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || (parts[0] !== 'scrypt' && parts[0] !== MD5_SCRYPT)) return false;
  if (parts[0] === MD5_SCRYPT) password = md5Hex(password);
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  const key = await scrypt(password.normalize('NFC'), salt, expected.length, { N: n, r, p, maxmem: 128 * n * r * 2 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A password known only as its lower-case hex MD5 (the open API's
 * user/setauth): kept as `scrypt-md5$N$r$p$salt$key`, scrypt over that hex
 * text, so a login with the plain password is checked as scrypt(md5(password)).
 */
const MD5_SCRYPT = 'scrypt-md5';
const md5Hex = (password: string) => createHash('md5').update(password.normalize('NFC'), 'utf8').digest('hex');

export async function hashMd5Password(md5: string): Promise<string> {
  return (await hashPassword(md5.toLowerCase())).replace(/^scrypt\$/, `${MD5_SCRYPT}$`);
}

/** A clear reason when a new password is unacceptable, else null. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'password is required';
  if ([...password].length < MIN_PASSWORD_CHARS) return `password must have at least ${MIN_PASSWORD_CHARS} characters`;
  if ([...password].length > MAX_PASSWORD_CHARS) return `password must have at most ${MAX_PASSWORD_CHARS} characters`;
  return null;
}
