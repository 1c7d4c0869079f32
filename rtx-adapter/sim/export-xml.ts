import iconv from 'iconv-lite';
import type { SimOrg } from './model.js';

/**
 * Writes the RTX Manager "导出" XML (docs/rtx-sdk.md §5) as an RTX 2005+ server would:
 * declared `gb2312`, encoded with GB18030 (a superset) so that names holding characters outside
 * GB2312 survive byte-exactly. Group tables are named RTX_DisGroup / RTX_DisGroupUser (our
 * choice, docs/rtx-simulator.md). Sys_User.ID is the UIN.
 */

export const RTX_EXPORT_ROOT = 'RTX2005OrLater_Exported_Data_9D373D5B-AA39-42e7-A819-BF5F7A8961FC';

export function escapeXmlAttr(v: string | number): string {
  let out = '';
  for (const ch of String(v)) {
    const c = ch.codePointAt(0) as number;
    if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x22) out += '&quot;';
    else if (c === 0x09 || c === 0x0a || c === 0x0d) out += `&#x${c.toString(16).toUpperCase()};`;
    // characters XML 1.0 cannot carry at all are dropped
    else if (c < 0x20 || c === 0xfffe || c === 0xffff) continue;
    else out += ch;
  }
  return out;
}

function item(attrs: Array<[string, string | number]>): string {
  return `<Item ${attrs.map(([k, v]) => `${k}="${escapeXmlAttr(v)}"`).join(' ')}/>`;
}

/** Renders the document as text, table by table (each yielded chunk is a whole line). */
export function* renderRtxExportXml(org: SimOrg, opts: { extraTables?: Array<{ name: string; rows: Array<Array<[string, string]>> }> } = {}): Generator<string> {
  const nl = '\r\n';
  yield `<?xml version="1.0" encoding="gb2312"?>${nl}<${RTX_EXPORT_ROOT}>${nl}<Database>${nl}`;
  yield `<Sys_User>${nl}`;
  for (const u of org.users) {
    yield item([['ID', u.id], ['UserName', u.account], ['Name', u.name], ['Gender', u.gender], ['Mobile', u.mobile], ['Email', u.email], ['Phone', u.phone], ['AccountState', u.accountState]]) + nl;
  }
  yield `</Sys_User>${nl}<RTX_UserDetail>${nl}`;
  for (const u of org.users) yield item([['ID', u.id], ['Position', u.position]]) + nl;
  yield `</RTX_UserDetail>${nl}<RTX_Dept>${nl}`;
  for (const d of org.depts) yield item([['DeptID', d.id], ['PDeptID', d.parentId], ['DeptName', d.name], ['SortID', d.sortId]]) + nl;
  yield `</RTX_Dept>${nl}<RTX_DeptUser>${nl}`;
  for (const u of org.users) for (const d of u.deptIds) yield item([['DeptID', d], ['UserID', u.id]]) + nl;
  yield `</RTX_DeptUser>${nl}<RTX_DisGroup>${nl}`;
  for (const g of org.groups) yield item([['GroupID', g.id], ['GroupName', g.name], ['IsEffective', 1]]) + nl;
  yield `</RTX_DisGroup>${nl}<RTX_DisGroupUser>${nl}`;
  const uinOf = new Map(org.users.map((u) => [u.account.toLowerCase(), u.id]));
  for (const g of org.groups) {
    for (const m of g.members) {
      const uin = uinOf.get(m.toLowerCase());
      if (uin !== undefined) yield item([['GroupID', g.id], ['UserID', uin]]) + nl;
    }
  }
  yield `</RTX_DisGroupUser>${nl}`;
  for (const t of opts.extraTables ?? []) {
    yield `<${t.name}>${nl}`;
    for (const r of t.rows) yield item(r) + nl;
    yield `</${t.name}>${nl}`;
  }
  yield `</Database>${nl}</${RTX_EXPORT_ROOT}>${nl}`;
}

/** The export as bytes (GB18030 under a gb2312 declaration). */
export function encodeRtxExportXml(org: SimOrg, opts: Parameters<typeof renderRtxExportXml>[1] = {}): Buffer {
  const parts: Buffer[] = [];
  let pending = '';
  for (const chunk of renderRtxExportXml(org, opts)) {
    pending += chunk;
    if (pending.length > 64 * 1024) {
      parts.push(iconv.encode(pending, 'gb18030'));
      pending = '';
    }
  }
  parts.push(iconv.encode(pending, 'gb18030'));
  return Buffer.concat(parts);
}
