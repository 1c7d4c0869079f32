import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * The open API's message crypto (docs/open-api.md "Crypto"; wire spec §2):
 * AES-256-CBC with the 32-byte key decoded from the 44-character
 * EncodingAESKey, IV = the key's first 16 bytes, PKCS#7-style padding to a
 * 32-byte block, plaintext `random(16) ‖ uint32be(len) ‖ msg ‖ appId`.
 * Decryption ignores the 16-byte prefix (some senders use a random IV, which
 * only damages that block) and never trusts the padding byte beyond 1..32.
 */
export const PAD_BLOCK_BYTES = 32;
const PREFIX_BYTES = 16;

export class CryptoError extends Error {}

/** The AES key of an EncodingAESKey: exactly 44 characters of standard base64 decoding to 32 bytes. */
export function decodeAesKey(encodingAesKey: string): Buffer {
  if (typeof encodingAesKey !== 'string' || encodingAesKey.length !== 44 || !/^[A-Za-z0-9+/]{43}=$/.test(encodingAesKey)) {
    throw new CryptoError('the EncodingAESKey must be 44 characters of base64');
  }
  const key = Buffer.from(encodingAesKey, 'base64');
  if (key.length !== 32) throw new CryptoError('the EncodingAESKey must decode to 32 bytes');
  return key;
}

/** A new EncodingAESKey (32 random bytes, base64). */
export function newEncodingAesKey(): string {
  return randomBytes(32).toString('base64');
}

/** One app's cipher: the decoded key and the appId every plaintext ends with. */
export class AppCipher {
  private readonly key: Buffer;
  private readonly iv: Buffer;
  private readonly appIdBytes: Buffer;

  constructor(encodingAesKey: string, readonly appId: string) {
    this.key = decodeAesKey(encodingAesKey);
    this.iv = this.key.subarray(0, 16);
    this.appIdBytes = Buffer.from(appId, 'latin1');
  }

  /** base64 ciphertext of `msg` (a string as UTF-8, or raw bytes). `prefix` is for test vectors only. */
  encrypt(msg: string | Buffer, prefix: Buffer = randomBytes(PREFIX_BYTES)): string {
    return this.encryptBytes(msg, prefix).toString('base64');
  }

  encryptBytes(msg: string | Buffer, prefix: Buffer = randomBytes(PREFIX_BYTES)): Buffer {
    const body = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const plain = Buffer.concat([prefix.subarray(0, PREFIX_BYTES), len, body, this.appIdBytes]);
    const n = PAD_BLOCK_BYTES - (plain.length % PAD_BLOCK_BYTES);
    const padded = Buffer.concat([plain, Buffer.alloc(n, n)]);
    const c = createCipheriv('aes-256-cbc', this.key, this.iv);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(padded), c.final()]);
  }

  /**
   * The message bytes and the appId suffix of a base64 ciphertext. Throws
   * CryptoError when the text is not base64, not whole AES blocks, or the
   * length field points outside the plaintext.
   */
  decrypt(b64: string): { msg: Buffer; appId: string } {
    if (typeof b64 !== 'string' || b64.length === 0 || !/^[A-Za-z0-9+/\r\n]+={0,2}$/.test(b64)) throw new CryptoError('not base64');
    const data = Buffer.from(b64, 'base64');
    if (data.length === 0 || data.length % 16 !== 0) throw new CryptoError('the ciphertext is not whole AES blocks');
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-cbc', this.key, this.iv);
      d.setAutoPadding(false);
      plain = Buffer.concat([d.update(data), d.final()]);
    } catch {
      throw new CryptoError('AES decryption failed');
    }
    const n = plain[plain.length - 1] as number;
    if (n >= 1 && n <= PAD_BLOCK_BYTES && n <= plain.length) plain = plain.subarray(0, plain.length - n);
    if (plain.length < PREFIX_BYTES + 4) throw new CryptoError('the plaintext is too short');
    const len = plain.readUInt32BE(PREFIX_BYTES);
    const end = PREFIX_BYTES + 4 + len;
    if (end > plain.length) throw new CryptoError('the length field points past the plaintext');
    return { msg: plain.subarray(PREFIX_BYTES + 4, end), appId: plain.subarray(end).toString('latin1') };
  }
}

/** The callback signature: lower-case hex SHA-1 of the four strings sorted and concatenated. */
export function signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}
