import iconv from 'iconv-lite';

/**
 * Reader of the RTX Manager export XML (docs/rtx-sdk.md §5, docs/protocol/rtx-files.md).
 * Streaming-friendly: push() byte chunks as they are read (a 20,000-user file need not sit in
 * memory as one string), end() returns the typed tables. The declared encoding is honoured,
 * with gb2312/gbk read as GB18030 (real exports carry characters outside GB2312). Tables it
 * does not know are reported (name, row count, attribute names), never silently dropped.
 */

export const RTX_EXPORT_ROOT = 'RTX2005OrLater_Exported_Data_9D373D5B-AA39-42e7-A819-BF5F7A8961FC';
/** Refuse a single markup token longer than this (a broken or hostile file). */
export const MAX_XML_TOKEN_CHARS = 1024 * 1024;

export interface RtxExportUser {
  /** Sys_User.ID (the key of RTX_DeptUser.UserID; the UIN on the servers we know). */
  id: number;
  account: string;
  name: string;
  /** 0 male, 1 female, null when absent */
  gender: 0 | 1 | null;
  mobile: string;
  email: string;
  phone: string;
  /** 1 = disabled; null when absent */
  accountState: number | null;
  /** from RTX_UserDetail */
  position: string | null;
}

export interface RtxExportDept {
  id: number;
  /** 0 = top level */
  parentId: number;
  name: string;
  sortId: number | null;
}

export interface RtxExportGroup {
  id: string;
  name: string;
  effective: boolean;
  /** Sys_User.ID values */
  memberIds: number[];
}

export interface RtxExportUnknownTable {
  name: string;
  rows: number;
  attributes: string[];
}

export interface RtxExport {
  encoding: string;
  users: RtxExportUser[];
  departments: RtxExportDept[];
  memberships: Array<{ deptId: number; userId: number }>;
  groups: RtxExportGroup[];
  unknownTables: RtxExportUnknownTable[];
  /** Rows skipped or repaired, each with a reason. */
  warnings: string[];
}

export class RtxXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtxXmlError';
  }
}

type Attrs = Map<string, string>;

const KNOWN_TABLES = new Set(['sys_user', 'rtx_userdetail', 'rtx_dept', 'rtx_deptuser', 'rtx_disgroup', 'rtx_disgroupuser', 'groupbasicinfo', 'groupuser']);

export class RtxExportReader {
  private head: Buffer[] = [];
  private headBytes = 0;
  private decoder: { write(b: Buffer): string; end(): string | undefined } | undefined;
  private text = '';
  private stack: string[] = [];
  private sawRoot = false;
  private encodingName = 'gb18030';
  private readonly out: RtxExport = { encoding: '', users: [], departments: [], memberships: [], groups: [], unknownTables: [], warnings: [] };
  private readonly usersById = new Map<number, RtxExportUser>();
  private readonly positions = new Map<number, string>();
  private readonly groupsById = new Map<string, RtxExportGroup>();
  private readonly unknown = new Map<string, { rows: number; attributes: Set<string> }>();
  private rowNo = 0;

  /** Feeds bytes. Throws RtxXmlError on malformed structure. */
  push(chunk: Uint8Array): void {
    if (!this.decoder) {
      this.head.push(Buffer.from(chunk));
      this.headBytes += chunk.length;
      const all = Buffer.concat(this.head);
      if (all.indexOf('?>') < 0 && this.headBytes < 1024 && all.indexOf('<', 1) < 0) return;
      this.startDecoding(all);
      return;
    }
    this.feed(this.decoder.write(Buffer.from(chunk)));
  }

  /** Completes parsing and returns the tables. */
  end(): RtxExport {
    if (!this.decoder) this.startDecoding(Buffer.concat(this.head));
    this.feed(this.decoder?.end() ?? '');
    if (this.text.trim().length > 0) throw new RtxXmlError('truncated document: unfinished markup at the end');
    if (!this.sawRoot) throw new RtxXmlError('not an RTX export: no root element');
    if (this.stack.length > 0) throw new RtxXmlError(`truncated document: <${this.stack[this.stack.length - 1]}> not closed`);
    for (const [id, pos] of this.positions) {
      const u = this.usersById.get(id);
      if (u) u.position = pos;
    }
    this.out.groups = [...this.groupsById.values()];
    this.out.unknownTables = [...this.unknown].map(([name, v]) => ({ name, rows: v.rows, attributes: [...v.attributes] }));
    this.out.encoding = this.encodingName;
    return this.out;
  }

  private startDecoding(all: Buffer): void {
    let enc = 'utf-8';
    let body = all;
    if (all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf) body = all.subarray(3);
    else if (all[0] === 0xff && all[1] === 0xfe) {
      enc = 'utf-16le';
      body = all.subarray(2);
    } else {
      const decl = /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']/.exec(all.subarray(0, 1024).toString('latin1'));
      const declared = decl?.[1]?.toLowerCase();
      if (declared && ['gb2312', 'gbk', 'gb18030', 'cp936', 'x-gbk', 'euc-cn'].includes(declared)) enc = 'gb18030';
      else if (declared && declared !== 'utf-8' && declared !== 'utf8') {
        if (!iconv.encodingExists(declared)) throw new RtxXmlError(`unsupported encoding "${declared}"`);
        enc = declared;
      }
    }
    this.encodingName = enc;
    this.decoder = iconv.getDecoder(enc) as unknown as { write(b: Buffer): string; end(): string | undefined };
    this.head = [];
    this.feed(this.decoder.write(body));
  }

  private feed(s: string): void {
    this.text += s;
    let pos = 0;
    const t = this.text;
    for (;;) {
      const lt = t.indexOf('<', pos);
      if (lt < 0) {
        if (t.slice(pos).trim().length > 0 && this.stack.length === 0 && this.sawRoot) throw new RtxXmlError('text after the root element');
        pos = t.length;
        break;
      }
      let close: number;
      let extra = 0;
      if (t.startsWith('<!--', lt)) {
        close = t.indexOf('-->', lt + 4);
        extra = 2;
      } else if (t.startsWith('<![CDATA[', lt)) {
        close = t.indexOf(']]>', lt + 9);
        extra = 2;
      } else if (t.startsWith('<?', lt)) {
        close = t.indexOf('?>', lt + 2);
        extra = 1;
      } else close = findTagEnd(t, lt + 1);
      const end = close < 0 ? -1 : close + extra;
      if (end < 0) {
        if (t.length - lt > MAX_XML_TOKEN_CHARS) throw new RtxXmlError('markup token too long');
        pos = lt;
        break;
      }
      this.token(t.slice(lt, end + 1));
      pos = end + 1;
    }
    this.text = t.slice(pos);
  }

  private token(tok: string): void {
    if (tok.startsWith('<!--') || tok.startsWith('<?') || tok.startsWith('<!')) return;
    if (tok.startsWith('</')) {
      const name = tok.slice(2, -1).trim();
      const open = this.stack.pop();
      if (open !== name) throw new RtxXmlError(`</${name}> does not close <${open ?? '(nothing)'}>`);
      return;
    }
    const selfClosing = tok.endsWith('/>');
    const inner = tok.slice(1, selfClosing ? -2 : -1);
    const m = /^([^\s/>]+)/.exec(inner);
    if (!m?.[1]) throw new RtxXmlError(`bad tag ${tok.slice(0, 40)}`);
    const name = m[1];
    const depth = this.stack.length;
    if (depth === 0) {
      if (this.sawRoot) throw new RtxXmlError('a second root element');
      if (name !== RTX_EXPORT_ROOT) throw new RtxXmlError(`not an RTX export: root element <${name}>`);
      this.sawRoot = true;
    } else if (depth === 1 && name !== 'Database') {
      this.out.warnings.push(`ignored <${name}> outside <Database>`);
    } else if (depth === 3 && this.stack[1] === 'Database') {
      this.row(this.stack[2] as string, parseAttrs(inner.slice(name.length)));
    }
    if (depth === 2 && this.stack[1] === 'Database' && !KNOWN_TABLES.has(name.toLowerCase())) {
      if (!this.unknown.has(name)) this.unknown.set(name, { rows: 0, attributes: new Set() });
    }
    if (!selfClosing) this.stack.push(name);
  }

  private row(table: string, a: Attrs): void {
    this.rowNo++;
    const num = (k: string): number | null => {
      const v = a.get(k.toLowerCase());
      if (v === undefined || v.trim() === '') return null;
      const n = Number(v);
      return Number.isFinite(n) ? n : null;
    };
    const str = (k: string): string => a.get(k.toLowerCase()) ?? '';
    switch (table.toLowerCase()) {
      case 'sys_user': {
        const id = num('ID');
        const account = str('UserName');
        if (id === null || account === '') {
          this.out.warnings.push(`Sys_User row ${this.rowNo}: missing ID or UserName, skipped`);
          return;
        }
        const g = num('Gender');
        const u: RtxExportUser = { id, account, name: str('Name'), gender: g === 0 || g === 1 ? g : null, mobile: str('Mobile'), email: str('Email'), phone: str('Phone'), accountState: num('AccountState'), position: null };
        this.usersById.set(id, u);
        this.out.users.push(u);
        return;
      }
      case 'rtx_userdetail': {
        const id = num('ID');
        if (id !== null && a.has('position')) this.positions.set(id, str('Position'));
        return;
      }
      case 'rtx_dept': {
        const id = num('DeptID');
        if (id === null) {
          this.out.warnings.push(`RTX_Dept row ${this.rowNo}: missing DeptID, skipped`);
          return;
        }
        this.out.departments.push({ id, parentId: num('PDeptID') ?? 0, name: str('DeptName'), sortId: num('SortID') });
        return;
      }
      case 'rtx_deptuser': {
        const deptId = num('DeptID');
        const userId = num('UserID');
        if (deptId === null || userId === null) this.out.warnings.push(`RTX_DeptUser row ${this.rowNo}: missing DeptID or UserID, skipped`);
        else this.out.memberships.push({ deptId, userId });
        return;
      }
      case 'rtx_disgroup':
      case 'groupbasicinfo': {
        const id = str('GroupID');
        if (!id) {
          this.out.warnings.push(`${table} row ${this.rowNo}: missing GroupID, skipped`);
          return;
        }
        const g = this.groupsById.get(id) ?? { id, name: '', effective: true, memberIds: [] };
        g.name = str('GroupName');
        g.effective = num('IsEffective') !== 0;
        this.groupsById.set(id, g);
        return;
      }
      case 'rtx_disgroupuser':
      case 'groupuser': {
        const id = str('GroupID');
        const userId = num('UserID');
        if (!id || userId === null) {
          this.out.warnings.push(`${table} row ${this.rowNo}: missing GroupID or UserID, skipped`);
          return;
        }
        const g = this.groupsById.get(id) ?? { id, name: '', effective: true, memberIds: [] };
        g.memberIds.push(userId);
        this.groupsById.set(id, g);
        return;
      }
      default: {
        const u = this.unknown.get(table) ?? { rows: 0, attributes: new Set<string>() };
        u.rows++;
        for (const k of a.keys()) u.attributes.add(k);
        this.unknown.set(table, u);
      }
    }
  }
}

function findTagEnd(t: string, from: number): number {
  let quote = '';
  for (let i = from; i < t.length; i++) {
    const c = t[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return -1;
}

/** Attribute names lower-cased (exports vary in case); values entity-decoded. */
function parseAttrs(s: string): Attrs {
  const out: Attrs = new Map();
  const re = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.set((m[1] as string).toLowerCase(), decodeEntities(m[2] ?? m[3] ?? ''));
  return out;
}

function decodeEntities(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '';
  });
}

/** Parses a whole export held in memory. */
export function parseRtxExport(bytes: Uint8Array): RtxExport {
  const r = new RtxExportReader();
  r.push(bytes);
  return r.end();
}

/** Parses an export from a byte stream (e.g. fs.createReadStream). */
export async function readRtxExport(source: AsyncIterable<Uint8Array>): Promise<RtxExport> {
  const r = new RtxExportReader();
  for await (const chunk of source) r.push(chunk);
  return r.end();
}
