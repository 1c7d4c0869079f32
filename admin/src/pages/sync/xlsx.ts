/**
 * The spreadsheet (`xlsx`) source's config (gateway/src/sync/xlsx-source.ts)
 * as the form edits it, and the common set-ups offered as presets. No
 * `folder` means the file is uploaded in the console.
 */
export type XlsxMode = 'upload' | 'folder';

export interface XlsxForm {
  mode: XlsxMode;
  folder: string;
  pattern: string;
  after: 'archive' | 'keep';
  settleSeconds: number;
}

/** The server's defaults (XLSX_DEFAULTS). */
export const XLSX_DEFAULT_PATTERN = '*.xlsx';
export const XLSX_DEFAULT_SETTLE_SECONDS = 5;
export const MAX_SETTLE_SECONDS = 3600;
/** Mirrors normalizeXlsxConfig: a file name pattern ending in .xlsx, no folder part. */
export const PATTERN_RE = /^[^/\\\0]{1,59}\.xlsx$/i;

export function xlsxFormOf(config: Record<string, unknown> | undefined): XlsxForm {
  const c = config ?? {};
  const folder = typeof c.folder === 'string' ? c.folder : '';
  const mode: XlsxMode = folder.trim() ? 'folder' : 'upload';
  return {
    mode,
    folder,
    pattern: typeof c.pattern === 'string' ? c.pattern : XLSX_DEFAULT_PATTERN,
    after: c.after === 'keep' || c.after === 'archive' ? c.after : mode === 'folder' ? 'archive' : 'keep',
    settleSeconds: typeof c.settleSeconds === 'number' ? c.settleSeconds : XLSX_DEFAULT_SETTLE_SECONDS,
  };
}

/** The config to send: uploads have no folder and are kept (never archived). */
export function xlsxConfigOf(f: XlsxForm): Record<string, unknown> {
  const pattern = f.pattern?.trim() || XLSX_DEFAULT_PATTERN;
  const settleSeconds = typeof f.settleSeconds === 'number' ? f.settleSeconds : XLSX_DEFAULT_SETTLE_SECONDS;
  if (f.mode === 'upload') return { pattern, after: 'keep', settleSeconds };
  return { folder: f.folder.trim(), pattern, after: f.after, settleSeconds };
}

export type XlsxPresetKey = 'upload' | 'nightly' | 'shared';

/** Common set-ups: how the file arrives, what happens to it, and a schedule to match. */
export const XLSX_PRESETS: Record<XlsxPresetKey, { form: Partial<XlsxForm>; schedule: string }> = {
  // the console's upload: the file stays the source's file until the next upload; read each night
  upload: { form: { mode: 'upload', pattern: XLSX_DEFAULT_PATTERN, after: 'keep', settleSeconds: XLSX_DEFAULT_SETTLE_SECONDS }, schedule: '0 2 * * *' },
  // an HR export dropped each evening: read at night, archived once applied, a minute for the copy to finish
  nightly: { form: { mode: 'folder', pattern: XLSX_DEFAULT_PATTERN, after: 'archive', settleSeconds: 60 }, schedule: '0 2 * * *' },
  // one shared workbook edited in place: re-read hourly when it changed, left where it is, five minutes for a save to finish
  shared: { form: { mode: 'folder', pattern: 'org.xlsx', after: 'keep', settleSeconds: 300 }, schedule: '0 * * * *' },
};
