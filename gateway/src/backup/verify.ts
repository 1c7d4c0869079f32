import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { GatewayError } from '../errors/gateway-error.js';
import {
  BACKUP_FORMAT, BACKUP_FORMAT_VERSION, BLOB_ENTRY_RE, CHECKSUM_EXT, DATABASE_ENTRY, HEADER_ENTRY, MANIFEST_ENTRY, MAX_HEADER_BYTES, MAX_MANIFEST_BYTES, MAX_SECRET_KEY_BYTES,
  SECRET_KEY_ENTRY,
  type BackupCounts, type BackupHeader, type Manifest, type ManifestEntry, type ProgressFn,
} from './format.js';
import { TarReader } from './tar.js';

export interface VerifyResult {
  file: string;
  bytes: number;
  /** SHA-256 of the whole archive. */
  sha256: string;
  /** 'ok' when `<file>.sha256` exists and matches, 'absent' when there is none (a mismatch is an error). */
  checksumFile: 'ok' | 'absent';
  header: BackupHeader;
  counts: BackupCounts;
  entries: number;
  missingFiles: Manifest['missingFiles'];
  /** schema_version of the running program; the archive's is header.schemaVersion (older ones are migrated forward on import). */
  knownSchemaVersion: number;
}

export interface ReadOptions {
  /** The newest schema this program knows; a newer archive is refused (GW_BACKUP_TOO_NEW). */
  knownSchemaVersion: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  /** Extract while verifying: the database to this file, the secret key to keyFile, each blob to blobDir/<sha256> (fsynced). Files are created, never replaced. */
  extract?: { dbFile: string; keyFile: string; blobDir: string };
  /** Tests: called before each entry's data is read (to fail mid-way). */
  beforeEntry?: (name: string) => void | Promise<void>;
}

const invalid = (message: string) => new GatewayError('GW_BACKUP_INVALID', message);

function parseJson(buf: Buffer, what: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

function checkHeader(raw: unknown, known: number): BackupHeader {
  const h = raw as Partial<BackupHeader> | null;
  if (!h || typeof h !== 'object' || h.format !== BACKUP_FORMAT) throw invalid('this is not a Huitong backup archive (its first entry is not a Huitong backup header)');
  if (!Number.isSafeInteger(h.formatVersion) || (h.formatVersion as number) < 1) throw invalid('the backup header has no valid formatVersion');
  if ((h.formatVersion as number) > BACKUP_FORMAT_VERSION) {
    throw new GatewayError('GW_BACKUP_TOO_NEW', `the archive is in backup format ${h.formatVersion}, newer than this program reads (${BACKUP_FORMAT_VERSION}); use Huitong ${h.productVersion ?? 'of the version that made it'} or newer`, { details: { formatVersion: h.formatVersion, supported: BACKUP_FORMAT_VERSION } });
  }
  if (!Number.isSafeInteger(h.schemaVersion) || (h.schemaVersion as number) < 1) throw invalid('the backup header has no valid schemaVersion');
  if ((h.schemaVersion as number) > known) {
    throw new GatewayError('GW_BACKUP_TOO_NEW', `the archive holds a database at schema version ${h.schemaVersion}, newer than this program knows (${known}); install Huitong ${h.productVersion ?? ''} or newer to import it`.replace('  ', ' '), { details: { schemaVersion: h.schemaVersion, known } });
  }
  if (typeof h.productVersion !== 'string' || typeof h.createdAt !== 'string') throw invalid('the backup header lacks productVersion or createdAt');
  return { format: BACKUP_FORMAT, formatVersion: h.formatVersion as number, productVersion: h.productVersion, schemaVersion: h.schemaVersion as number, createdAt: h.createdAt };
}

function checkManifest(raw: unknown, header: BackupHeader): Manifest {
  const m = raw as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || !Array.isArray(m.entries) || !m.counts || typeof m.counts !== 'object') throw invalid('the manifest lacks its entries or counts');
  for (const k of ['format', 'formatVersion', 'productVersion', 'schemaVersion', 'createdAt'] as const) {
    if (m[k] !== header[k]) throw invalid(`the manifest's ${k} differs from the archive header's`);
  }
  for (const k of ['users', 'departments', 'groups', 'messages', 'files', 'fileBytes'] as const) {
    if (!Number.isSafeInteger(m.counts[k])) throw invalid(`the manifest's counts.${k} is not a number`);
  }
  return { ...header, counts: m.counts, entries: m.entries, missingFiles: Array.isArray(m.missingFiles) ? m.missingFiles : [] };
}

async function readChecksumFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file + CHECKSUM_EXT, 'utf8');
  } catch {
    return null;
  }
  const m = /^([a-f0-9]{64})\b/i.exec(text.trim());
  if (!m) throw invalid(`${path.basename(file + CHECKSUM_EXT)} is not a SHA-256 checksum file`);
  return (m[1] as string).toLowerCase();
}

/**
 * Reads an archive front to back and checks all of it: the header (format,
 * versions) first, then every entry's size and SHA-256 against the manifest
 * (and each blob's against its name), the exact set of entries, the tar
 * structure, and `<file>.sha256` when present. Changes nothing unless
 * `extract` is given, and then only creates the files named there.
 * Throws GW_BACKUP_INVALID (corrupt, truncated, not an archive) or
 * GW_BACKUP_TOO_NEW with a message that says what is wrong.
 */
export async function readArchive(file: string, opts: ReadOptions): Promise<VerifyResult> {
  const progress: ProgressFn = opts.onProgress ?? (() => {});
  const phase = opts.extract ? 'extract' : 'verify';
  let fh: FileHandle;
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
    fh = await open(file, 'r');
  } catch {
    throw new GatewayError('GW_NOT_FOUND', `cannot read the archive ${file}`);
  }
  try {
    const expectedWhole = await readChecksumFile(file);
    const tar = new TarReader(fh, size);
    if (size < 1024) throw invalid('this is not a Huitong backup archive (the file is too small to be one)');
    let first;
    try {
      first = await tar.next();
    } catch (e) {
      if (e instanceof GatewayError && e.code === 'GW_BACKUP_INVALID') throw invalid('this is not a Huitong backup archive (it does not start with a valid tar header: another kind of file, or damaged)');
      throw e;
    }
    if (!first || first.name !== HEADER_ENTRY || first.size > MAX_HEADER_BYTES) throw invalid('this is not a Huitong backup archive (its first entry is not huitong-backup.json)');
    const headerChunks: Buffer[] = [];
    await tar.readData((c) => void headerChunks.push(c));
    const headerBytes = Buffer.concat(headerChunks);
    const header = checkHeader(parseJson(headerBytes, 'the backup header'), opts.knownSchemaVersion);

    const seen = new Map<string, ManifestEntry>([[HEADER_ENTRY, { name: HEADER_ENTRY, size: headerBytes.length, sha256: createHash('sha256').update(headerBytes).digest('hex') }]]);
    let manifest: Manifest | null = null;
    let entriesDone = 0;
    let lastTick = 0;
    const tick = (force = false) => {
      const now = Date.now();
      if (!force && now - lastTick < 100) return;
      lastTick = now;
      progress({ phase, bytesDone: tar.bytesRead, bytesTotal: size, entriesDone, entriesTotal: 0 });
    };
    if (opts.extract) {
      mkdirSync(opts.extract.blobDir, { recursive: true });
      mkdirSync(path.dirname(opts.extract.keyFile), { recursive: true, mode: 0o700 });
    }

    for (;;) {
      if (opts.signal?.aborted) throw new GatewayError('GW_BACKUP_ABORTED', 'the backup job was cancelled (the server is stopping)');
      const entry = await tar.next();
      if (!entry) break;
      if (manifest) throw invalid(`the archive has an entry after its manifest (${entry.name})`);
      if (seen.has(entry.name)) throw invalid(`the archive holds ${entry.name} twice`);
      await opts.beforeEntry?.(entry.name);
      if (entry.name === MANIFEST_ENTRY) {
        if (entry.size > MAX_MANIFEST_BYTES) throw invalid('the manifest is implausibly large');
        const chunks: Buffer[] = [];
        await tar.readData((c) => void chunks.push(c));
        manifest = checkManifest(parseJson(Buffer.concat(chunks), 'the manifest'), header);
        continue;
      }
      const blob = BLOB_ENTRY_RE.exec(entry.name);
      const isDb = entry.name === DATABASE_ENTRY;
      const isKey = entry.name === SECRET_KEY_ENTRY;
      if (!isDb && !isKey && !(blob && (blob[2] as string).startsWith(blob[1] as string))) throw invalid(`the archive holds an unexpected entry ${JSON.stringify(entry.name)}`);
      if (isKey && entry.size > MAX_SECRET_KEY_BYTES) throw invalid('the archive\'s secret key entry is implausibly large');
      if (isDb && seen.size !== 1) throw invalid('the database is not the archive\'s first data entry');
      if (!isDb && !seen.has(DATABASE_ENTRY)) throw invalid('the archive holds files before its database');
      const hash = createHash('sha256');
      let out: FileHandle | null = null;
      let outOffset = 0;
      if (opts.extract) out = await open(isDb ? opts.extract.dbFile : isKey ? opts.extract.keyFile : path.join(opts.extract.blobDir, blob?.[2] as string), 'wx', isKey ? 0o600 : 0o640);
      try {
        await tar.readData(async (c) => {
          hash.update(c);
          if (out) {
            let w = 0;
            while (w < c.length) w += (await out.write(c, w, c.length - w, outOffset + w)).bytesWritten;
            outOffset += c.length;
          }
          tick();
        });
        await out?.sync();
      } finally {
        await out?.close();
      }
      const sha256 = hash.digest('hex');
      if (blob && sha256 !== blob[2]) throw invalid(`${entry.name} is corrupt: its content does not match its SHA-256 name`);
      seen.set(entry.name, { name: entry.name, size: entry.size, sha256 });
      entriesDone++;
    }
    if (!manifest) throw invalid('the archive is truncated: it has no manifest');
    if (!seen.has(DATABASE_ENTRY)) throw invalid('the archive has no database');
    const listed = new Set<string>();
    for (const e of manifest.entries) {
      if (!e || typeof e.name !== 'string') throw invalid('the manifest has a malformed entry');
      listed.add(e.name);
      const got = seen.get(e.name);
      if (!got) throw invalid(`the archive lacks ${e.name}, which its manifest lists`);
      if (got.size !== e.size) throw invalid(`${e.name} has ${got.size} bytes; the manifest says ${e.size}`);
      if (got.sha256 !== e.sha256) throw invalid(`${e.name} is corrupt: its SHA-256 differs from the manifest's`);
    }
    for (const name of seen.keys()) if (!listed.has(name)) throw invalid(`the archive holds ${name}, which its manifest does not list`);
    const blobs = manifest.entries.filter((e) => BLOB_ENTRY_RE.test(e.name)).length;
    if (blobs + manifest.missingFiles.length !== manifest.counts.files) throw invalid(`the manifest counts ${manifest.counts.files} files but the archive holds ${blobs}`);
    const sha256 = tar.sha256();
    if (expectedWhole !== null && expectedWhole !== sha256) throw invalid(`the archive does not match ${path.basename(file + CHECKSUM_EXT)}: it was changed or damaged after it was written`);
    tick(true);
    return {
      file, bytes: size, sha256, checksumFile: expectedWhole === null ? 'absent' : 'ok', header, counts: manifest.counts,
      entries: seen.size + 1, missingFiles: manifest.missingFiles, knownSchemaVersion: opts.knownSchemaVersion,
    };
  } finally {
    await fh.close();
  }
}
