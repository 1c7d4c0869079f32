import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../storage/sqlite.js';
import { licencePublicKey } from './format.js';

/**
 * The vendor's licence key pair. The private key stays with the vendor and
 * signs licences (`huitong license issue`); the public key ships with every
 * appliance in appliance/vendor-licence-public-key.pem and verifies them.
 */

export const VENDOR_PUBLIC_KEY_FILE = path.join(packageRoot(), 'appliance', 'vendor-licence-public-key.pem');
export const PRIVATE_KEY_FILE_NAME = 'huitong-licence-private.pem';
export const PUBLIC_KEY_FILE_NAME = 'huitong-licence-public.pem';

export interface VendorKeyPair {
  /** SPKI PEM: goes into appliance/vendor-licence-public-key.pem. */
  publicKeyPem: string;
  /** PKCS#8 PEM: secret, never leaves the vendor. */
  privateKeyPem: string;
}

export function generateVendorKeyPair(): VendorKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * A short fingerprint of a public key (SHA-256 of its DER, first 16 bytes, hex
 * in groups), so the vendor and an administrator can tell which key an
 * appliance trusts without comparing PEM text.
 */
export function keyFingerprint(publicKey: string | KeyObject): string {
  const der = licencePublicKey(publicKey).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 32).match(/.{4}/g)!.join(':');
}

/** Reads the vendor public key this build ships. Throws when the file is missing or not an Ed25519 public key. */
export function readVendorPublicKey(file = VENDOR_PUBLIC_KEY_FILE): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`the vendor licence key ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  licencePublicKey(pem);
  return pem;
}
