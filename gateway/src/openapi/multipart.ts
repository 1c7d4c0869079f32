/**
 * A multipart/form-data reader for the open API's uploads (media/upload,
 * avatar/set; docs/open-api.md "Media"). Senders differ (wire spec §5): parts
 * come in any order, with or without a Content-Type, with any filename; the
 * boundary comes from the Content-Type header or, when a sender sets none,
 * from the body's first line. The body is already in memory (the dispatcher
 * limits its size), so parts are views into it, not copies.
 */

export interface FormPart {
  /** The field name as sent. */
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

export class MultipartError extends Error {}

const MAX_PARTS = 32;
const MAX_HEADER_BYTES = 8 * 1024;

/** The boundary of a `multipart/form-data; boundary=…` header value, or null. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,200})"|([^\s;]{1,200}))/i.exec(contentType);
  return m ? ((m[1] ?? m[2]) as string) : null;
}

/** The boundary named by the body's first line (`--boundary` CRLF), for senders without a Content-Type. */
function boundaryFromBody(body: Buffer): string | null {
  if (body.length < 4 || body[0] !== 0x2d || body[1] !== 0x2d) return null;
  const eol = body.indexOf('\r\n');
  if (eol < 3 || eol > 202) return null;
  return body.subarray(2, eol).toString('latin1');
}

function param(header: string, name: string): string | null {
  const re = new RegExp(`;\\s*${name}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i');
  const m = re.exec(header);
  if (!m) return null;
  const v = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
  return v;
}

/**
 * The parts of a multipart body. Throws MultipartError when there is no
 * boundary, a part has no Content-Disposition name, or the closing boundary
 * is missing.
 */
export function parseMultipart(body: Buffer, contentType: string | undefined): FormPart[] {
  const boundary = boundaryOf(contentType) ?? boundaryFromBody(body);
  if (!boundary) throw new MultipartError('the body is not multipart/form-data (no boundary)');
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  let pos = body.indexOf(delim);
  if (pos < 0) throw new MultipartError('the boundary does not occur in the body');
  const parts: FormPart[] = [];
  for (;;) {
    pos += delim.length;
    // "--" after a delimiter closes the body
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    else throw new MultipartError('a boundary is not followed by a line break');
    let headEnd = body.indexOf('\r\n\r\n', pos);
    let sepLen = 4;
    const lfEnd = body.indexOf('\n\n', pos);
    if (lfEnd >= 0 && (headEnd < 0 || lfEnd < headEnd)) {
      headEnd = lfEnd;
      sepLen = 2;
    }
    if (headEnd < 0 || headEnd - pos > MAX_HEADER_BYTES) throw new MultipartError('a part has no end of headers');
    const headers = body.subarray(pos, headEnd).toString('utf8').split(/\r?\n/);
    let disposition: string | null = null;
    let ctype: string | null = null;
    for (const h of headers) {
      const i = h.indexOf(':');
      if (i < 0) continue;
      const k = h.slice(0, i).trim().toLowerCase();
      if (k === 'content-disposition') disposition = h.slice(i + 1).trim();
      else if (k === 'content-type') ctype = h.slice(i + 1).trim();
    }
    const dataStart = headEnd + sepLen;
    const next = body.indexOf(delim, dataStart);
    if (next < 0) throw new MultipartError('the closing boundary is missing');
    // the line break before the next delimiter belongs to it
    let dataEnd = next;
    if (body[dataEnd - 1] === 0x0a) dataEnd -= 1;
    if (body[dataEnd - 1] === 0x0d) dataEnd -= 1;
    const name = disposition ? param(disposition, 'name') : null;
    if (!name) throw new MultipartError('a part has no Content-Disposition name');
    parts.push({ name, filename: disposition ? param(disposition, 'filename') : null, contentType: ctype, data: body.subarray(dataStart, Math.max(dataStart, dataEnd)) });
    if (parts.length > MAX_PARTS) throw new MultipartError(`more than ${MAX_PARTS} parts`);
    pos = next;
  }
}

/** The first part with this name, matched case-insensitively. */
export function part(parts: readonly FormPart[], name: string): FormPart | undefined {
  const lower = name.toLowerCase();
  return parts.find((p) => p.name.toLowerCase() === lower);
}
