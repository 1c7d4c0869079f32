/**
 * File transfers of the import/export page, which api() (JSON only) does not
 * cover: downloads as fetch → Blob → object URL → <a download>, and the
 * import upload as an XMLHttpRequest (fetch reports no upload progress) with
 * the session's CSRF token. Errors are the gateway's envelope as ApiError.
 */
import { ApiError, fetchMe, getCsrfToken, sessionEnded } from '../../api';

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const EXCEL_API = '/api/admin/excel';

/** One problem of a refused import (gateway/src/excel/import.ts RowError). */
export interface RowError {
  row: number;
  /** Header without "*"; empty when the whole row is meant. */
  column: string;
  /** The cell as read; empty for passwords (never echoed). Absent from older gateways. */
  value?: string;
  message: string;
}

/** POST /excel/import's answer (docs/excel.md). */
export type ImportAnswer =
  | { ok: true; created: number; authorised: number; deptsCreated: number }
  | { ok: false; errorCount: number; errors: RowError[]; reportId: string; reportExpiresAt: number };

/** GET /excel/import/progress. */
export type ImportProgressView =
  | { running: false }
  | { running: true; mine: false }
  | { running: true; mine: true; phase: 'reading' | 'parsed' | 'validated' | 'written'; done: number; total: number; startedAt: number };

function envelopeError(status: number, statusText: string, text: string): ApiError {
  let envelope: { code?: string; message?: string; details?: unknown } | undefined;
  try {
    envelope = (JSON.parse(text) as { error?: typeof envelope } | null)?.error;
  } catch {
    envelope = undefined;
  }
  return new ApiError(status, envelope?.code ?? `HTTP_${status}`, envelope?.message ?? `${status} ${statusText}`, envelope?.details);
}

/** The file name of a content-disposition header: filename* (UTF-8) first, then filename, else the fallback. */
export function fileNameOf(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // a bad encoding: try the plain name
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/i.exec(disposition) ?? /filename\s*=\s*([^;]+)/i.exec(disposition);
  return plain?.[1]?.trim() || fallback;
}

/** Hands a Blob to the browser as a download named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // revoking at once can cut the download short in some browsers
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** GETs an .xlsx under /api/admin/excel and saves it with the server's file name; resolves to that name. Throws ApiError. */
export async function downloadExcel(path: string, fallbackName: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${EXCEL_API}${path}`, { credentials: 'same-origin', headers: { accept: `${XLSX_MIME}, application/json` } });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) throw refused(res.status, res.statusText, await res.text());
  const name = fileNameOf(res.headers.get('content-disposition'), fallbackName);
  saveBlob(await res.blob(), name);
  return name;
}

/** The session's CSRF token (GET /me when the console has none yet). */
async function csrfToken(): Promise<string> {
  return getCsrfToken() ?? (await fetchMe()).csrfToken;
}

/** The gateway's error envelope as ApiError; a lost session sends the console back to the login page. */
function refused(status: number, statusText: string, text: string): ApiError {
  const err = envelopeError(status, statusText, text);
  if (status === 401 && err.code === 'GW_TOKEN_INVALID') sessionEnded();
  return err;
}

/**
 * Uploads the workbook to POST /excel/import; `onUpload` gets the fraction
 * sent (0–1). Resolves to the server's answer once the import has finished
 * (refused or written); throws ApiError for an unusable file or a refusal.
 */
export async function uploadWorkbook(file: Blob, onUpload: (fraction: number) => void, signal?: AbortSignal): Promise<ImportAnswer> {
  const token = await csrfToken();
  return new Promise<ImportAnswer>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${EXCEL_API}/import`);
    xhr.setRequestHeader('content-type', XLSX_MIME);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('x-csrf-token', token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onUpload(e.loaded / e.total);
    };
    xhr.upload.onload = () => onUpload(1);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as ImportAnswer);
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
