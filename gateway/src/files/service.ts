import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type ReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Db } from '../storage/sqlite.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UserId } from '../protocol/client-v1.js';
import type { SettingsStore } from '../settings/settings.js';

export const FILE_ID_RE = /^[a-f0-9]{64}$/;
export type TransferKind = 'offline' | 'p2p';

/** Records of stored blobs and their uploaders. */
export interface FileRepo {
  exists(fileId: string): Promise<boolean>;
  size(fileId: string): Promise<number | null>;
  record(fileId: string, size: number, uploader: UserId): Promise<void>;
}

export class SqliteFileRepo implements FileRepo {
  constructor(private readonly db: Db) {}

  async exists(fileId: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM files WHERE id = ?').get(fileId) !== undefined;
  }

  async size(fileId: string): Promise<number | null> {
    return (this.db.prepare('SELECT size FROM files WHERE id = ?').get(fileId) as { size: number } | undefined)?.size ?? null;
  }

  async record(fileId: string, size: number, uploader: UserId): Promise<void> {
    const now = Date.now();
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO files (id, size, created_at) VALUES (?, ?, ?)').run(fileId, size, now);
      this.db.prepare('INSERT OR IGNORE INTO file_uploads (file_id, user_id, created_at) VALUES (?, ?, ?)').run(fileId, uploader, now);
    })();
  }
}

/**
 * Content-addressed file storage: a blob lives at files/<2 hex>/<sha256> under
 * the data dir, written to a temporary file and renamed into place only after
 * its hash and size are known, so a half-written blob is never visible.
 */
export class FileService {
  private readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string, private readonly repo: FileRepo, private readonly settings: SettingsStore) {
    this.root = path.join(dataDir, 'files');
    this.tmp = path.join(dataDir, 'files', 'tmp');
    mkdirSync(this.tmp, { recursive: true });
  }

  limitFor(kind: TransferKind): number {
    const s = this.settings.get();
    return kind === 'p2p' ? s.p2pFileMaxBytes : s.offlineFileMaxBytes;
  }

  private blobPath(fileId: string): string {
    if (!FILE_ID_RE.test(fileId)) throw new GatewayError('GW_NOT_FOUND', 'no such file');
    return path.join(this.root, fileId.slice(0, 2), fileId);
  }

  exists(fileId: string): Promise<boolean> {
    return FILE_ID_RE.test(fileId) ? this.repo.exists(fileId) : Promise.resolve(false);
  }

  /** The stored size, or null when there is no such file. */
  size(fileId: string): Promise<number | null> {
    return FILE_ID_RE.test(fileId) ? this.repo.size(fileId) : Promise.resolve(null);
  }

  /**
   * Stores an upload. `declaredSize` (Content-Length) over the limit is refused
   * before reading; a stream that grows past the limit is cut off and removed.
   */
  async store(uploader: UserId, body: Readable, declaredSize: number | null, kind: TransferKind): Promise<{ fileId: string; size: number }> {
    const limit = this.limitFor(kind);
    const tooLarge = () => new GatewayError('GW_FILE_TOO_LARGE', `the file is larger than the ${kind === 'p2p' ? 'online' : 'offline'} transfer limit of ${limit} bytes`, { details: { limit } });
    if (declaredSize !== null && declaredSize > limit) throw tooLarge();
    const tmpFile = path.join(this.tmp, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit) return cb(tooLarge());
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmpFile, { flags: 'wx', mode: 0o640 }));
      const fileId = hash.digest('hex');
      const dest = this.blobPath(fileId);
      mkdirSync(path.dirname(dest), { recursive: true });
      await rename(tmpFile, dest);
      await this.repo.record(fileId, size, uploader);
      return { fileId, size };
    } catch (e) {
      await rm(tmpFile, { force: true });
      throw e;
    }
  }

  /** Opens a stored blob for reading; the caller has checked the reader's right. */
  async open(fileId: string): Promise<{ stream: ReadStream; size: number }> {
    const p = this.blobPath(fileId);
    const size = await this.repo.size(fileId);
    if (size === null) throw new GatewayError('GW_NOT_FOUND', 'no such file');
    await stat(p).catch(() => {
      throw new GatewayError('GW_NOT_FOUND', 'no such file');
    });
    return { stream: createReadStream(p), size };
  }
}
