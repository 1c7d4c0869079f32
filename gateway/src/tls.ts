import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import { ConfigError } from './config/load.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** True when the certificate was generated here (clients need --insecure or to trust it). */
  selfSigned: boolean;
  certFile: string;
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

/**
 * The configured certificate and key, or a self-signed pair under
 * <dataDir>/tls generated on first start (ECDSA P-256, ten years, SANs for
 * localhost, 127.0.0.1, ::1 and this host's name). docs/config.md says how to
 * install a real certificate.
 */
export async function ensureTls(dataDir: string, certFile: string, keyFile: string, publicHost: string): Promise<TlsMaterial> {
  if (certFile && keyFile) {
    const read = (file: string, key: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (e) {
        throw new ConfigError(`${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    };
    const cert = read(certFile, 'https.certFile');
    const key = read(keyFile, 'https.keyFile');
    try {
      createSecureContext({ cert, key });
    } catch (e) {
      throw new ConfigError(`https.certFile / https.keyFile: not a usable PEM certificate and matching key (${(e as Error).message})`);
    }
    return { cert, key, selfSigned: false, certFile };
  }
  const dir = path.join(dataDir, 'tls');
  const crt = path.join(dir, 'self-signed.crt');
  const key = path.join(dir, 'self-signed.key');
  if (existsSync(crt) && existsSync(key)) return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8'), selfSigned: true, certFile: crt };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = [...new Set(['localhost', hostname(), ...(publicHost && !/^[\d.:]+$/.test(publicHost) ? [publicHost] : [])])];
  const ips = [...new Set(['127.0.0.1', '::1', ...(publicHost && /^[\d.:]+$/.test(publicHost) ? [publicHost] : [])])];
  const notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: publicHost || hostname() }, { name: 'organizationName', value: 'Huitong' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  } as never);
  writeAtomic(key, pems.private, 0o600);
  writeAtomic(crt, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, selfSigned: true, certFile: crt };
}
