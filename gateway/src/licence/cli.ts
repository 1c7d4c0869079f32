import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { EXIT_CODES } from '../errors/registry.js';
import { DatabaseTooNewError } from '../storage/sqlite.js';
import { checkLicenceSize, decodeLicenceText, isDay, LICENCE_ID_RE, LICENCE_PRODUCT, LicenceError, localDay, MAX_SEATS, readLicence, signLicence, type Licence } from './format.js';
import { generateVendorKeyPair, keyFingerprint, PRIVATE_KEY_FILE_NAME, PUBLIC_KEY_FILE_NAME, readVendorPublicKey, VENDOR_PUBLIC_KEY_FILE } from './keys.js';

export const LICENCE_USAGE = `Usage:
  huitong license keygen --out DIR
  huitong license issue --private-key FILE --company C --seats N --expires YYYY-MM-DD [--issued YYYY-MM-DD] [--id ID] [--out FILE]
  huitong license import FILE
  huitong license show
  huitong license history
  huitong license request expand --seats N [--expires YYYY-MM-DD] [--company C] --name NAME (--phone P | --email E) [--note TEXT] [--out FILE]
  huitong license request renew --expires YYYY-MM-DD [--seats N] --name NAME (--phone P | --email E) [--note TEXT] [--out FILE]

keygen and issue are the vendor's and need no server; import, show, history and
request act on the appliance (--data DIR, --config FILE as for every admin command).
`;

export interface LicenceCliContext {
  /** Runs a control command on the appliance (admin socket, or in-process). */
  control(name: string, args: Record<string, unknown>): Promise<unknown>;
  /** Where results go; process.stdout by default. */
  stdout?: (s: string) => void;
  /** Where messages go; process.stderr by default. */
  stderr?: (s: string) => void;
}

const OPTIONS = {
  config: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  'private-key': { type: 'string' },
  company: { type: 'string' },
  seats: { type: 'string' },
  expires: { type: 'string' },
  issued: { type: 'string' },
  id: { type: 'string' },
  name: { type: 'string' },
  phone: { type: 'string' },
  email: { type: 'string' },
  note: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** `huitong license …` (also spelled `licence`): args are what follows that word. Returns the exit code. */
export async function runLicence(args: string[], ctx: LicenceCliContext): Promise<number> {
  const out = ctx.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = ctx.stderr ?? ((s: string) => void process.stderr.write(s));
  const fail = (message: string, code: number) => (err(`huitong: ${message}\n`), code);
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${LICENCE_USAGE}`, EXIT_CODES.USAGE);
  }
  const { values: v, positionals: pos } = parsed;
  const [sub, arg] = pos;
  if (v.help || !sub) {
    out(LICENCE_USAGE);
    return v.help ? EXIT_CODES.OK : EXIT_CODES.USAGE;
  }
  const json = (x: unknown) => out(JSON.stringify(x, null, 2) + '\n');
  try {
    switch (sub) {
      case 'keygen':
        return keygen(v.out, out);
      case 'issue':
        return issue(v, out, err);
      case 'import': {
        if (!arg) throw new UsageError('license import takes the licence file');
        json(await ctx.control('licence.import', { text: readLicenceText(arg) }));
        return EXIT_CODES.OK;
      }
      case 'show':
        json(await ctx.control('licence.status', {}));
        return EXIT_CODES.OK;
      case 'history':
        json(await ctx.control('licence.history', {}));
        return EXIT_CODES.OK;
      case 'request': {
        if (arg !== 'expand' && arg !== 'renew') throw new UsageError('license request takes expand or renew');
        const request = await ctx.control('licence.request', {
          kind: arg,
          seats: v.seats === undefined ? undefined : Number(v.seats),
          expiresAt: v.expires,
          company: v.company,
          contact: { name: v.name, phone: v.phone, email: v.email },
          note: v.note,
        });
        const text = JSON.stringify(request, null, 2) + '\n';
        if (v.out) {
          writeNew(v.out, text, 0o644);
          out(`request written to ${v.out}; send it to your Huitong vendor\n`);
        } else {
          out(text);
        }
        return EXIT_CODES.OK;
      }
      default:
        throw new UsageError(`unknown license command: ${sub}`);
    }
  } catch (e) {
    if (e instanceof UsageError) return fail(`${e.message}\n\n${LICENCE_USAGE}`, EXIT_CODES.USAGE);
    if (e instanceof LicenceError) return fail(`GW_LICENCE_INVALID: ${e.message}`, EXIT_CODES.FAILURE);
    if (e instanceof ConfigError) return fail(e.message, EXIT_CODES.BAD_CONFIG);
    if (e instanceof DatabaseTooNewError) return fail(e.message, EXIT_CODES.DATABASE_TOO_NEW);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('GW_')) return fail(`${code}: ${(e as Error).message}`, EXIT_CODES.FAILURE);
    if (e instanceof FileError) return fail(e.message, EXIT_CODES.FAILURE);
    throw e;
  }
}

class FileError extends Error {}

function fsCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'error';
}

/** Writes a file that must not exist yet (a key or a licence is never overwritten by accident). */
function writeNew(file: string, text: string, mode: number): void {
  try {
    writeFileSync(file, text, { flag: 'wx', mode });
  } catch (e) {
    if (fsCode(e) === 'EEXIST') throw new FileError(`${file} already exists; choose another name or move it away first`);
    throw new FileError(`cannot write ${file} (${fsCode(e)})`);
  }
}

function readLicenceText(file: string): string {
  let bytes: Buffer;
  try {
    checkLicenceSize(statSync(file).size);
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof LicenceError) throw e;
    throw new FileError(`cannot read ${file} (${fsCode(e)})`);
  }
  return decodeLicenceText(bytes);
}

function keygen(dir: string | undefined, out: (s: string) => void): number {
  if (!dir) throw new UsageError('license keygen needs --out DIR');
  const priv = path.join(dir, PRIVATE_KEY_FILE_NAME);
  const pub = path.join(dir, PUBLIC_KEY_FILE_NAME);
  // never replace a vendor key: licences signed with it would stop verifying on new builds
  for (const f of [priv, pub]) if (existsSync(f)) throw new FileError(`${f} already exists; a vendor key is never overwritten`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new FileError(`cannot create ${dir} (${fsCode(e)})`);
  }
  const pair = generateVendorKeyPair();
  writeNew(priv, pair.privateKeyPem, 0o600);
  writeNew(pub, pair.publicKeyPem, 0o644);
  out(
    `private key  ${priv}\n` +
      `             secret: keep it offline and backed up; it signs every licence and cannot be recovered\n` +
      `public key   ${pub}\n` +
      `             copy it to appliance/vendor-licence-public-key.pem before a release\n` +
      `fingerprint  ${keyFingerprint(pair.publicKeyPem)}\n`,
  );
  return EXIT_CODES.OK;
}

function issue(v: { [k in keyof typeof OPTIONS]?: string | boolean }, out: (s: string) => void, err: (s: string) => void): number {
  const opt = (k: keyof typeof OPTIONS) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const keyFile = opt('private-key');
  if (!keyFile) throw new UsageError('license issue needs --private-key FILE');
  const company = opt('company')?.trim();
  if (!company) throw new UsageError('license issue needs --company');
  const seatsText = opt('seats') ?? '';
  if (!/^\d+$/.test(seatsText) || Number(seatsText) < 1 || Number(seatsText) > MAX_SEATS) throw new UsageError(`--seats must be an integer from 1 to ${MAX_SEATS}`);
  const expiresAt = opt('expires');
  if (!isDay(expiresAt)) throw new UsageError('--expires must be a date written YYYY-MM-DD');
  const today = localDay(new Date());
  const issuedAt = opt('issued') ?? today;
  if (!isDay(issuedAt)) throw new UsageError('--issued must be a date written YYYY-MM-DD');
  if (expiresAt < today) throw new UsageError(`--expires ${expiresAt} is in the past: the licence would be refused as expired`);
  const id = opt('id') ?? `HT-${issuedAt.replaceAll('-', '')}-${randomBytes(4).toString('hex').toUpperCase()}`;
  if (!LICENCE_ID_RE.test(id)) throw new UsageError('--id must be 1–64 letters, digits, . _ - (starting with a letter or digit)');

  let keyPem: string;
  try {
    keyPem = readFileSync(keyFile, 'utf8');
  } catch (e) {
    throw new FileError(`cannot read the private key ${keyFile} (${fsCode(e)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new FileError(`${keyFile} is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new FileError(`${keyFile} is not an Ed25519 private key (see huitong license keygen)`);
  const publicKey = createPublicKey(privateKey);

  const licence: Licence = { id, company, seats: Number(seatsText), issuedAt, expiresAt, product: LICENCE_PRODUCT };
  const text = signLicence(licence, privateKey);
  readLicence(text, publicKey); // the file verifies before it leaves the vendor

  let shipped: string | null = null;
  try {
    shipped = keyFingerprint(readVendorPublicKey());
  } catch {
    // not a full checkout: nothing to compare with
  }
  const mine = keyFingerprint(publicKey);
  if (shipped !== null && shipped !== mine) {
    err(`huitong: warning: this key (${mine}) is not the one in ${VENDOR_PUBLIC_KEY_FILE} (${shipped}); appliances of this build will refuse the licence\n`);
  }
  const out_ = opt('out');
  if (out_) {
    writeNew(out_, text, 0o644);
    out(JSON.stringify({ file: out_, ...licence, keyFingerprint: mine }, null, 2) + '\n');
  } else {
    out(text);
  }
  return EXIT_CODES.OK;
}
