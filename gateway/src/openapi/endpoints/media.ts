import { MEDIA_TYPES, type MediaType } from '../../apps/media.js';
import type { OpenApp } from '../../apps/types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { appSenderId } from '../../messaging/repo.js';
import { CryptoError, type AppCipher } from '../crypto.js';
import { data, field, object, ok, present, type AppCall, type Endpoint, type OpenApiResult } from '../endpoint.js';
import { ERR, OpenApiError } from '../errors.js';
import { MultipartError, parseMultipart, part, type FormPart } from '../multipart.js';

/**
 * Largest upload body. The file travels as base64 ciphertext (4/3 of its
 * size plus the envelope), so this covers the default offline-file limit
 * (100 MB); the stored file is held to Settings' offlineFileMaxBytes.
 */
export const UPLOAD_BODY_LIMIT_BYTES = 200 * 1024 * 1024;

/** Decrypts a ciphertext made for the calling app; errcode 100006 otherwise. */
function decrypt(cipher: AppCipher, text: string, what: string): Buffer {
  let r: { msg: Buffer; appId: string };
  try {
    r = cipher.decrypt(text.replace(/\s+/g, ''));
  } catch (e) {
    if (e instanceof CryptoError) throw new OpenApiError(ERR.DECRYPT_FAILED, `${what} could not be decrypted: ${e.message}`);
    throw e;
  }
  if (r.appId !== cipher.appId) throw new OpenApiError(ERR.DECRYPT_FAILED, `${what} was made for another appId or with another key`);
  return r.msg;
}

function json(b: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch {
    throw new OpenApiError(ERR.BAD_JSON, `${what} is not JSON`);
  }
  return object(v);
}

interface Upload {
  parts: FormPart[];
  /** The decrypted `encrypt` part. */
  meta: Record<string, unknown>;
  /** The decrypted file bytes. */
  bytes: Buffer;
  filename: string | null;
}

/**
 * Reads an upload (wire spec §5): multipart fields buin (a string), appId,
 * encrypt and file in any order; the file part is the base64 ciphertext of
 * the bytes. buin and appId must be the token's app.
 */
function readUpload(call: AppCall, limitBytes: number): Upload {
  let parts: FormPart[];
  try {
    const ct = call.headers['content-type'];
    parts = parseMultipart(call.body, Array.isArray(ct) ? ct[0] : ct);
  } catch (e) {
    if (e instanceof MultipartError) throw new OpenApiError(ERR.BAD_MULTIPART, `bad multipart body: ${e.message}`);
    throw e;
  }
  const text = (name: string) => {
    const p = part(parts, name);
    const v = p ? p.data.toString('utf8').trim() : '';
    return v === '' ? undefined : v;
  };
  const buin = text('buin');
  if (buin === undefined) throw new OpenApiError(ERR.MISSING_BUIN, 'buin is missing');
  if (!/^\d{1,10}$/.test(buin)) throw new OpenApiError(ERR.BUIN_NOT_INT, 'buin must be an integer');
  if (Number(buin) !== call.app.buin) throw new OpenApiError(ERR.BAD_BUIN, `buin ${buin} is not the app's`);
  const appId = text('appId');
  if (appId === undefined) throw new OpenApiError(ERR.MISSING_APP_ID, 'appId is missing');
  if (appId !== call.app.appId) throw new OpenApiError(ERR.BAD_APP_ID, 'the accessToken belongs to another app');
  const enc = text('encrypt');
  if (enc === undefined) throw new OpenApiError(ERR.MISSING_ENCRYPT, 'encrypt is missing');
  const meta = json(decrypt(call.cipher, enc, 'encrypt'), 'the decrypted encrypt');
  const file = part(parts, 'file');
  const fileText = file?.data.toString('latin1').trim() ?? '';
  if (!file || fileText === '') throw new OpenApiError(ERR.BAD_MULTIPART, 'the file part is missing or empty');
  // base64 of the ciphertext is 4/3 of it; refuse before decrypting what cannot fit
  if (fileText.length * 0.75 > limitBytes + 1024) throw new OpenApiError(ERR.BAD_MULTIPART, `the file is larger than the limit of ${limitBytes} bytes`);
  const bytes = decrypt(call.cipher, fileText, 'the file');
  if (bytes.length === 0) throw new OpenApiError(ERR.BAD_MULTIPART, 'the file is empty');
  if (bytes.length > limitBytes) throw new OpenApiError(ERR.BAD_MULTIPART, `the file is larger than the limit of ${limitBytes} bytes`);
  return { parts, meta, bytes, filename: file.filename };
}

function nameOf(v: unknown, fallback: string | null): string {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (fallback && fallback.trim()) return fallback.trim();
  return 'file';
}

/** A download (wire spec §5): header `encrypt` = enc({name, size}), body = the base64 ciphertext of the bytes. */
function download(cipher: AppCipher, name: string, bytes: Buffer, head: Record<string, unknown>): OpenApiResult {
  return {
    kind: 'raw',
    headers: {
      encrypt: cipher.encrypt(JSON.stringify(head)),
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    },
    body: cipher.encrypt(bytes),
  };
}

function mediaIdOf(call: AppCall): string {
  const p = object(call.json());
  const id = present(p, 'mediaId') ?? present(p, 'media_id');
  if (id === undefined) throw new OpenApiError(ERR.BAD_REQUEST, 'mediaId is missing');
  if (typeof id !== 'string') throw new OpenApiError(ERR.BAD_REQUEST, 'mediaId must be a string');
  return id;
}

function userOf(deps: Parameters<Endpoint['handle']>[1], account: string | undefined) {
  if (!account) throw new OpenApiError(ERR.BAD_REQUEST, 'userId is missing');
  return deps.services.directory.getUserByAccount(account).then((u) => {
    if (!u) throw new OpenApiError(ERR.USER_NOT_EXIST, `user ${account.slice(0, 64)} does not exist`);
    return u;
  });
}

async function stored<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'GW_FILE_TOO_LARGE') throw new OpenApiError(ERR.BAD_MULTIPART, e.message);
    if (e instanceof GatewayError && e.code === 'GW_NOT_FOUND') throw new OpenApiError(ERR.MEDIA_NOT_FOUND, 'the stored file is gone');
    throw e;
  }
}

const appRecord = (app: OpenApp) => ({ rowId: app.rowId, key: app.key, name: app.name });

/** media/upload, media/get, media/search, avatar/get, avatar/set (docs/open-api.md "Media"). */
export const MEDIA_ENDPOINTS: Endpoint[] = [
  {
    path: '/cgi/media/upload',
    methods: ['POST'],
    auth: 'token',
    body: 'raw',
    rights: ['media'],
    bodyLimitBytes: UPLOAD_BODY_LIMIT_BYTES,
    handle: async (call, deps) => {
      const media = deps.services.appMedia;
      const u = readUpload(call, media.limitBytes());
      // the newest Go library names the field fileType in its struct but sends type
      const type = present(u.meta, 'type') ?? present(u.meta, 'fileType');
      if (typeof type !== 'string' || !(MEDIA_TYPES as readonly string[]).includes(type)) {
        throw new OpenApiError(ERR.BAD_FILE_TYPE, `type must be one of ${MEDIA_TYPES.join(', ')}`);
      }
      // the display name comes from encrypt, not from the multipart filename (a temporary name for some senders)
      const m = await stored(media.store(appRecord(call.app), u.bytes, nameOf(present(u.meta, 'name'), u.filename), type as MediaType));
      return data({ mediaId: m.mediaId });
    },
  },
  {
    path: '/cgi/media/get',
    methods: ['POST'],
    auth: 'token',
    rights: ['media'],
    handle: async (call, deps) => {
      const media = deps.services.appMedia;
      const id = mediaIdOf(call);
      const m = media.get(call.app, id);
      if (!m) throw new OpenApiError(ERR.MEDIA_NOT_FOUND, `media ${id.slice(0, 80)} does not exist`);
      const bytes = await stored(media.read(m.fileId));
      return download(call.cipher, m.name, bytes, { name: m.name, size: bytes.length });
    },
  },
  {
    path: '/cgi/media/search',
    methods: ['POST'],
    auth: 'token',
    rights: ['media'],
    handle: async (call, deps) => {
      const id = mediaIdOf(call);
      const m = deps.services.appMedia.get(call.app, id);
      if (!m) throw new OpenApiError(ERR.MEDIA_NOT_FOUND, `media ${id.slice(0, 80)} does not exist`);
      return data({ name: m.name, size: m.size });
    },
  },
  {
    path: '/cgi/avatar/get',
    methods: ['GET', 'POST'],
    auth: 'token',
    body: 'raw',
    rights: ['org.read', 'org.write', 'media'],
    handle: async (call, deps) => {
      const user = await userOf(deps, call.q('userId'));
      const a = deps.services.appMedia.avatar(user.id);
      if (!a) throw new OpenApiError(ERR.MEDIA_NOT_FOUND, `${user.account} has no avatar`);
      // one picture is kept; size=0 (large) and size=1 (small) both get it
      const bytes = await stored(deps.services.appMedia.read(a.fileId));
      return download(call.cipher, a.name, bytes, { size: bytes.length, name: a.name });
    },
  },
  {
    path: '/cgi/avatar/set',
    methods: ['POST'],
    auth: 'token',
    body: 'raw',
    rights: ['org.write'],
    bodyLimitBytes: UPLOAD_BODY_LIMIT_BYTES,
    handle: async (call, deps) => {
      const media = deps.services.appMedia;
      const u = readUpload(call, media.limitBytes());
      // the Java library puts the name in encrypt; a PHP library puts userId there and in a form field
      const formUser = part(u.parts, 'userId')?.data.toString('utf8').trim();
      const account = call.q('userId') ?? (formUser || undefined) ?? (present(u.meta, 'userId') as string | undefined);
      const user = await userOf(deps, typeof account === 'string' ? account : undefined);
      await stored(media.setAvatar(user.id, u.bytes, nameOf(field(u.meta, 'name'), u.filename), appSenderId(appRecord(call.app))));
      return ok();
    },
  },
];
