/**
 * The spreadsheet source's upload (PUT /sync/sources/:id/file?name=…, the
 * workbook as the body), which api() (JSON only) does not cover, and the
 * checks the console makes before sending a file.
 */
import { MAX_IMPORT_BYTES } from '../../../../gateway/src/excel/columns';
import { ApiError, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import type { Translate } from '../../i18n';
import { SYNC_API, type XlsxFileView } from './types';

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const MAX_FILE_MB = Math.round(MAX_IMPORT_BYTES / 1048576);

/** Problems the server would refuse without reading the file; null when it may be sent. */
export function localFileProblem(file: File, t: Translate): string | null {
  if (!/\.xlsx$/i.test(file.name)) return t('excel.check.extension', { name: file.name });
  if (file.size === 0) return t('excel.check.empty', { name: file.name });
  if (file.size > MAX_IMPORT_BYTES) return t('excel.check.size', { name: file.name, size: (file.size / 1048576).toFixed(1), mb: MAX_FILE_MB });
  return null;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** Details of a refused upload (GW_SYNC_FILE_INVALID). */
export interface FileRefusalDetails {
  problem?: string;
  problems?: { label: string; message: string; externalId?: string }[];
  problemCount?: number;
  rows?: number | null;
  badRows?: number | null;
}

/** Uploads the file as the source's spreadsheet; resolves to the source's file once stored. Throws ApiError (GW_SYNC_FILE_INVALID with details for a refused file). */
export async function uploadSourceFile(sourceId: string, file: File): Promise<XlsxFileView> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/admin${SYNC_API}/sources/${encodeURIComponent(sourceId)}/file?name=${encodeURIComponent(file.name)}`, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'content-type': XLSX_MIME, accept: 'application/json', 'x-csrf-token': token },
      body: file,
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details);
    if (res.status === 401 && err.code === 'GW_TOKEN_INVALID') sessionEnded();
    throw err;
  }
  return data as XlsxFileView;
}
