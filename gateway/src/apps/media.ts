import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FileService } from '../files/service.js';
import { appSenderId } from '../messaging/repo.js';
import type { UserId } from '../protocol/client-v1.js';
import type { Db } from '../storage/sqlite.js';

export const MEDIA_TYPES = ['image', 'file', 'voice', 'video'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
/** The spec's mediaId: 32 hex digits, '-', the size in bytes. */
export const MEDIA_ID_RE = /^[0-9a-f]{32}-\d{1,15}$/;
/** Longest display name kept for a media file or avatar. */
export const MAX_MEDIA_NAME_CHARS = 255;

export interface AppMedia {
  mediaId: string;
  appRow: number;
  fileId: string;
  name: string;
  type: MediaType;
  size: number;
}

interface MediaRow { media_id: string; app_row: number; file_id: string; name: string; type: MediaType; size: number }

/**
 * Files apps upload and use (docs/open-api.md "Media"): the bytes live in the
 * files service (content-addressed, uploaded with appSenderId(app) as the
 * uploader, so the app's messages may carry them), the mediaId maps to them
 * with the name and type the app gave. A media id belongs to the app that
 * uploaded it. Avatars (avatar/set) are blobs of the files service too.
 */
export class AppMediaStore {
  private readonly s;

  constructor(
    private readonly db: Db,
    private readonly files: FileService,
    private readonly now: () => number = Date.now,
  ) {
    this.s = {
      insert: db.prepare('INSERT INTO openapi_media (media_id, app_row, file_id, name, type, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT * FROM openapi_media WHERE media_id = ?'),
      setAvatar: db.prepare(`INSERT INTO user_avatars (user_id, file_id, name, size, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (user_id) DO UPDATE SET file_id = excluded.file_id, name = excluded.name, size = excluded.size, updated_at = excluded.updated_at`),
      avatar: db.prepare('SELECT file_id, name, size FROM user_avatars WHERE user_id = ?'),
    };
  }

  /** The largest file an app may upload (the offline-transfer limit of Settings). */
  limitBytes(): number {
    return this.files.limitFor('offline');
  }

  /** Stores the bytes for the app and gives them a new mediaId. Throws GW_FILE_TOO_LARGE over the limit. */
  async store(app: { rowId: number; key: string; name: string }, bytes: Buffer, name: string, type: MediaType): Promise<AppMedia> {
    const { fileId, size } = await this.files.store(appSenderId(app), Readable.from([bytes]), bytes.length, 'offline');
    const media: AppMedia = { mediaId: `${randomBytes(16).toString('hex')}-${size}`, appRow: app.rowId, fileId, name: name.slice(0, MAX_MEDIA_NAME_CHARS), type, size };
    this.s.insert.run(media.mediaId, media.appRow, media.fileId, media.name, media.type, media.size, this.now());
    return media;
  }

  /**
   * Gives an already stored blob a new mediaId of the app (the session audit hands the monitor
   * the files of audited messages, docs/apps-callbacks.md), so media/get serves it to that app.
   */
  adopt(app: { rowId: number }, fileId: string, name: string, type: MediaType, size: number): AppMedia {
    const media: AppMedia = { mediaId: `${randomBytes(16).toString('hex')}-${size}`, appRow: app.rowId, fileId, name: name.slice(0, MAX_MEDIA_NAME_CHARS), type, size };
    this.s.insert.run(media.mediaId, media.appRow, media.fileId, media.name, media.type, media.size, this.now());
    return media;
  }

  /** The app's media with this id, or null (unknown, malformed, or another app's). */
  get(app: { rowId: number }, mediaId: string): AppMedia | null {
    if (typeof mediaId !== 'string' || !MEDIA_ID_RE.test(mediaId)) return null;
    const r = this.s.get.get(mediaId) as MediaRow | undefined;
    if (!r || r.app_row !== app.rowId) return null;
    return { mediaId: r.media_id, appRow: r.app_row, fileId: r.file_id, name: r.name, type: r.type, size: r.size };
  }

  /** The bytes of a stored blob. Throws GW_NOT_FOUND when it is gone. */
  async read(fileId: string): Promise<Buffer> {
    const { stream } = await this.files.open(fileId);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Replaces the user's avatar with these bytes. */
  async setAvatar(userId: UserId, bytes: Buffer, name: string, uploader: UserId): Promise<{ fileId: string; size: number }> {
    const stored = await this.files.store(uploader, Readable.from([bytes]), bytes.length, 'offline');
    this.s.setAvatar.run(userId, stored.fileId, name.slice(0, MAX_MEDIA_NAME_CHARS), stored.size, this.now());
    return stored;
  }

  /** The user's avatar, or null when none was set. */
  avatar(userId: UserId): { fileId: string; name: string; size: number } | null {
    const r = this.s.avatar.get(userId) as { file_id: string; name: string; size: number } | undefined;
    return r ? { fileId: r.file_id, name: r.name, size: r.size } : null;
  }
}
