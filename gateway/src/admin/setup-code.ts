import { randomInt, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The file in the data directory. */
export const SETUP_CODE_FILE = 'setup-code';

/** Crockford base32 without I, L, O, U: nothing to misread when typed from a screen. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** "K7Q2-M9XP-3WDA": 12 characters, 60 bits. */
function newCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

function normalise(v: string): string {
  return v.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** True for the loopback addresses (and a missing address: the CLI and in-process callers). */
export function isLoopback(address: string | null | undefined): boolean {
  if (!address) return true;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The one-time setup code (F-2.2): until the first administrator exists,
 * creating it from another machine needs this code, which only someone with
 * access to the appliance can read (dataDir/setup-code, mode 0600, or
 * `huitong admin setup-code`). Requests from the appliance itself (loopback)
 * need no code. The file is removed once setup is done.
 */
export class SetupCode {
  constructor(readonly file: string) {}

  /** The current code, creating it (atomically, 0600) when there is none. */
  ensure(): string {
    const existing = this.read();
    if (existing) return existing;
    const code = newCode();
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${code}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
    return code;
  }

  read(): string | null {
    try {
      const v = readFileSync(this.file, 'utf8').trim();
      return v || null;
    } catch {
      return null;
    }
  }

  /** Compares in constant time, ignoring case, spaces and dashes. */
  matches(given: unknown): boolean {
    const code = this.read();
    if (!code || typeof given !== 'string' || given.length > 64) return false;
    const a = Buffer.from(normalise(code));
    const b = Buffer.from(normalise(given));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}
