/**
 * Archive transfers, which api() (JSON only) does not cover: the download as
 * fetch → Blob → <a download> (a refusal arrives as the gateway's envelope
 * instead of being saved as the file), the upload as an XMLHttpRequest (fetch
 * reports no upload progress) with the session's CSRF token. Errors are
 * ApiError; a lost session sends the console back to the login page.
 */
import { ApiError, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import { fileNameOf, saveBlob } from '../excel/transfer';
import { BACKUP_API } from './types';

function refused(status: number, statusText: string, text: string): ApiError {
  let envelope: { code?: string; message?: string; details?: unknown } | undefined;
  try {
    envelope = (JSON.parse(text) as { error?: typeof envelope } | null)?.error;
  } catch {
    envelope = undefined;
  }
  const err = new ApiError(status, envelope?.code ?? `HTTP_${status}`, envelope?.message ?? `${status} ${statusText}`, envelope?.details);
  if (status === 401 && err.code === 'GW_TOKEN_INVALID') sessionEnded();
  return err;
}

/** GETs /backup/files/:name and saves it under the server's file name; resolves to the bytes saved. Throws ApiError. */
export async function downloadArchive(name: string): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${BACKUP_API}/files/${encodeURIComponent(name)}`, { credentials: 'same-origin', headers: { accept: 'application/x-tar, application/json' } });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) throw refused(res.status, res.statusText, await res.text());
  let blob: Blob;
  try {
    blob = await res.blob();
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  saveBlob(blob, fileNameOf(res.headers.get('content-disposition'), name));
  return blob.size;
}

/** PUTs `file` as /backup/files/:name; `onUpload` gets the fraction sent (0–1). Resolves to the server's {name, bytes}. Throws ApiError. */
export async function uploadArchive(name: string, file: Blob, onUpload: (fraction: number) => void, signal?: AbortSignal): Promise<{ name: string; bytes: number }> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${BACKUP_API}/files/${encodeURIComponent(name)}`);
    xhr.setRequestHeader('content-type', 'application/x-tar');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('x-csrf-token', token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onUpload(e.loaded / e.total);
    };
    xhr.upload.onload = () => onUpload(1);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as { name: string; bytes: number });
        } catch {
          reject(new ApiError(xhr.status, 'BAD_ANSWER', 'the server answered something that is not JSON'));
        }
      } else reject(refused(xhr.status, xhr.statusText, xhr.responseText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'the upload failed: the server could not be reached'));
    xhr.onabort = () => reject(new ApiError(0, 'ABORTED', 'the upload was cancelled'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
