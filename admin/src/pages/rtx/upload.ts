/**
 * The RTX export upload: the file's raw bytes (application/octet-stream) to
 * POST /api/admin/rtx/import-xml as an XMLHttpRequest (for upload progress)
 * with the session's CSRF token. Errors are the gateway's envelope as ApiError.
 */
import { ApiError, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import type { ImportXmlAnswer } from './types';

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

/** Sends the export; `dryRun` plans without writing. `onUpload` gets the fraction sent (0–1). Throws ApiError. */
export async function uploadRtxExport(file: Blob, dryRun: boolean, onUpload: (fraction: number) => void, signal?: AbortSignal): Promise<ImportXmlAnswer> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  return new Promise<ImportXmlAnswer>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/admin/rtx/import-xml?dryRun=${dryRun ? 'true' : 'false'}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('x-csrf-token', token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onUpload(e.loaded / e.total);
    };
    xhr.upload.onload = () => onUpload(1);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as ImportXmlAnswer);
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
